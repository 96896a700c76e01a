"""LayerwisePretrainer: the pipeline's unsupervised pre-training of the encoder, by a pretext."""
import json
from typing import Any, Dict, Optional

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.layerwise_pretrainer import executor
from models import config as config_lib


class LayerwisePretrainerSpec(component_spec.ComponentSpec):
  PARAMETERS = {
      executor.MODEL_CONFIG_KEY: component_spec.ExecutionParameter(type=str),
      executor.PRETRAINING_CONFIG_KEY: component_spec.ExecutionParameter(type=str),
      executor.SEED_KEY: component_spec.ExecutionParameter(type=int),
      executor.CODE_VERSION_KEY: component_spec.ExecutionParameter(type=str),
      executor.VERTEX_JOB_KEY: component_spec.ExecutionParameter(type=str, optional=True),
  }
  INPUTS = {
      executor.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
      executor.TRANSFORM_GRAPH_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.TransformGraph),
  }
  OUTPUTS = {executor.MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model)}


class LayerwisePretrainer(base_component.BaseComponent):
  """Trains the encoder on the `unlabeled` split (and the labeled split's images) by the
  pretext that `pretraining.pretext` names (models/pretexts.py), greedy stage by stage for the
  LSTM; outputs the encoder as a Model that the Trainer takes as its base_model, with the
  pretext and each stage's loss as custom properties in ml-metadata."""

  SPEC_CLASS = LayerwisePretrainerSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel,
               model: config_lib.ModelConfig, pretraining: config_lib.PretrainingConfig,
               seed: int, code_version: str, vertex_job: Optional[Dict[str, Any]] = None):
    """`vertex_job`: {"region", "job_args"} to pre-train as a Vertex AI custom job."""
    super().__init__(spec=LayerwisePretrainerSpec(
        examples=examples, transform_graph=transform_graph,
        model_config=json.dumps(config_lib.to_dict(model), sort_keys=True),
        pretraining_config=json.dumps(config_lib.to_dict(pretraining), sort_keys=True),
        seed=seed, code_version=code_version,
        vertex_job=json.dumps(vertex_job, sort_keys=True) if vertex_job else None,
        model=types.Channel(type=standard_artifacts.Model)))
