"""Compiles the pipeline for the Kubeflow V2 runner (Vertex AI Pipelines): a JSON spec.

The tasks run in `config.image`, which must contain this package (see Dockerfile): the
Transform and Trainer code is referenced by import path, not uploaded as a module file.
"""
import json
import os

from tfx import v1 as tfx

from components.serving_check import executor as serving_check_executor
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from sources import tfds_source


def compile_pipeline(config: config_lib.PipelineConfig, output_file: str) -> str:
  """Writes the pipeline spec to `output_file` and returns its path. Needs no cluster."""
  if config.evaluation.tf_serving_check != "none":
    raise config_lib.ConfigError(
        f"evaluation tf_serving_check {config.evaluation.tf_serving_check!r} cannot compile: "
        "the Kubeflow V2 compiler has no InfraValidator; expected none (the ServingCheck still "
        "serves every model in a fresh process before the Pusher)")
  if config.data.schema_file and "://" not in config.data.schema_file:
    raise config_lib.ConfigError(
        f"--schema {config.data.schema_file!r} is a path on this machine: a compiled pipeline "
        "reads it on the cluster; expected a gs:// path")
  builder = tfds_source.open_builder(config.data.source_name, config.data.tfds_data_dir,
                                    config.data.manual_dir)
  class_names = config.data.classes or tfds_source.builder_class_names(builder,
                                                                       config.data.dataset)
  config = config_lib.for_pictures(config, tfds_source.image_shape(builder))
  output_file = os.path.abspath(output_file)
  runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
      config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.image),
      output_dir=os.path.dirname(output_file), output_filename=os.path.basename(output_file))
  pipeline = pipeline_lib.create_pipeline(config, class_names)
  runner.run(pipeline)
  if any(node.id == pipeline_lib.SERVING_CHECK for node in pipeline.components):
    _baseline_from_the_serving_check(output_file)
  return output_file


# What KubeflowV2DagRunner compiles the latest-blessed-model resolver's blessing query to.
_BLESSING_QUERY = 'schema_title="tfx.ModelBlessing"'


def _baseline_from_the_serving_check(output_file: str) -> None:
  """Locally the baseline resolver reads only the ServingCheck's decisions (the channel's
  producer): what the Pusher was cleared to push. The compiled query knows no producer and would
  also take the Evaluator's and the ReferenceEvaluator's blessings, such as a candidate's that
  the gate then refused. Only the check's decisions have PUSH_CHOICE_PROPERTY: the query asks
  for it."""
  with open(output_file) as f:
    spec = json.load(f)
  executors = spec.get("pipelineSpec", spec)["deploymentSpec"]["executors"]
  narrowed = 0
  for executor in executors.values():
    for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values():
      if query["filter"].startswith(_BLESSING_QUERY):
        query["filter"] += (f" AND metadata.{serving_check_executor.PUSH_CHOICE_PROPERTY}"
                            ".number_value=1")
        narrowed += 1
  if narrowed != 1:
    raise RuntimeError(f"expected one baseline blessing query in {output_file}, found {narrowed}")
  with open(output_file, "w") as f:
    json.dump(spec, f, indent=2, sort_keys=True)
