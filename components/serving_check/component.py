"""ServingCheck: the model about to be pushed, served in a fresh process before the Pusher."""
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.serving_check import executor


class ServingCheckSpec(component_spec.ComponentSpec):
  PARAMETERS = {executor.SAMPLE_SIZE_KEY: component_spec.ExecutionParameter(type=int)}
  INPUTS = {
      executor.MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
      executor.BLESSING_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing),
      executor.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
  }
  OUTPUTS = {
      executor.DECISION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelBlessing),
  }


class ServingCheck(base_component.BaseComponent):
  """Clears the push decision's model for the Pusher only if every signature serves test
  examples in a fresh process (components/serving_check/executor.py)."""

  SPEC_CLASS = ServingCheckSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, model: types.BaseChannel, blessing: types.BaseChannel,
               examples: types.BaseChannel, sample_size: int = 64):
    super().__init__(spec=ServingCheckSpec(
        model=model, blessing=blessing, examples=examples, sample_size=sample_size,
        decision=types.Channel(type=standard_artifacts.ModelBlessing)))
