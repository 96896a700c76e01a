"""Compiles the pipeline for the Kubeflow V2 runner (Vertex AI Pipelines): a JSON spec.

The tasks run in `config.image`, which must contain this package (see Dockerfile): the
Transform and Trainer code is referenced by import path, not uploaded as a module file.
"""
import os

from tfx import v1 as tfx

from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from sources import tfds_source


def compile_pipeline(config: config_lib.PipelineConfig, output_file: str) -> str:
  """Writes the pipeline spec to `output_file` and returns its path. Needs no cluster."""
  class_names = config.data.classes or tfds_source.class_names(
      config.data.dataset, config.data.tfds_data_dir, config.data.manual_dir)
  output_file = os.path.abspath(output_file)
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.image),
      output_dir=os.path.dirname(output_file), output_filename=os.path.basename(output_file))
  runner.run(pipeline_lib.create_pipeline(config, class_names))
  return output_file
