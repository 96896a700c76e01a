"""Runs the pipeline on this machine: LocalDagRunner, SQLite ml-metadata under the output dir."""
import logging
import os

from tfx import v1 as tfx
from tfx.orchestration import metadata

from components.tfds_example_gen import label_budget
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from sources import tfds_source


def run(config: config_lib.PipelineConfig) -> run_results.RunSummary:
  """Checks the data and budget first (clear errors before any work), runs, summarizes."""
  data = config.data
  source = tfds_source.describe(data.source)
  count = label_budget.LabelBudget(data.label_budget).count(source.num_train, source.num_classes)
  logging.info("Data %s: %d training images (%d labeled), %d test images, %d classes",
               source.name, source.num_train, count, source.num_test, source.num_classes)
  os.makedirs(config.output_dir, exist_ok=True)
  tfx.orchestration.LocalDagRunner().run(pipeline_lib.create_pipeline(
      config, source.num_classes,
      metadata.sqlite_metadata_connection_config(config.metadata_path)))
  return run_results.summarize(config.metadata_path, config.name)
