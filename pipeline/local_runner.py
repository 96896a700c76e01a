"""Runs the pipeline on this machine: LocalDagRunner, SQLite ml-metadata under the output dir."""
import logging
import os
from typing import Optional

from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.local import local_dag_runner

from models import methods
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from sources import split_plan
from sources import tfds_source


def check_pool(method: str, unlabeled: int, data: config_lib.DataConfig = None) -> None:
  """The methods that learn from the unlabeled pool need one."""
  spec = methods.get(method)
  if unlabeled == 0 and (spec.uses_unlabeled or spec.needs_encoder):
    why = ("the label budget leaves none: lower --labels" if data is None or
           data.label_budget != "all" else
           f"{data.manual_dir or 'the data'} has no unlabeled pictures: add some to unlabeled/")
    raise config_lib.ConfigError(f"method {method!r} learns from unlabeled images but {why} or "
                                 "use --method supervised")


def prepare(config: config_lib.PipelineConfig) -> split_plan.SplitPlan:
  """The same plan as ExampleGen's: every data and budget error shows before the pipeline starts."""
  data = config.data
  plan = split_plan.make_plan(tfds_source.load_builder(data.source), data.source,
                              data.label_budget, data.seed, data.extra_labels)
  logging.info("Data %s: %s images, %d classes", data.dataset, plan.counts(),
               len(plan.class_names))
  check_pool(config.method, plan.count(split_plan.UNLABELED), data)
  return plan


def run(config: config_lib.PipelineConfig,
        run_options: Optional[tfx_pipeline.RunOptions] = None) -> run_results.RunSummary:
  """Checks the data and budget first (clear errors before any work), runs, summarizes.
  `run_options`: TFX's partial run, e.g. `RunOptions(to_nodes=[EXAMPLE_GEN])` to see the splits
  a labels file makes without training."""
  plan = prepare(config)
  config = config_lib.for_pictures(config, plan.image_shape)
  os.makedirs(config.output_dir, exist_ok=True)
  local_dag_runner.LocalDagRunner().run(pipeline_lib.create_pipeline(
      config, plan.class_names,
      metadata.sqlite_metadata_connection_config(config.metadata_path)), run_options=run_options)
  return run_results.summarize(config.metadata_path, config.name)
