"""PushGate: after the Evaluator and the ReferenceEvaluator, before TFX's own Pusher."""
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.push_gate import executor


class PushGateSpec(component_spec.ComponentSpec):
  PARAMETERS = {
      executor.MIN_ACCURACY_KEY: component_spec.ExecutionParameter(type=float),
      executor.MAX_REGRESSION_KEY: component_spec.ExecutionParameter(type=float),
      executor.MAX_LOSS_KEY: component_spec.ExecutionParameter(type=float),
      executor.PUSH_REFERENCE_KEY: component_spec.ExecutionParameter(type=int),
      executor.GAIN_RULE_KEY: component_spec.ExecutionParameter(type=str),
  }
  INPUTS = {
      executor.EVALUATION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelEvaluation),
      executor.BLESSING_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing),
      executor.REFERENCE_EVALUATION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelEvaluation),
      executor.MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
      executor.REFERENCE_MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
  }
  OUTPUTS = {
      executor.CHOSEN_MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
      executor.DECISION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelBlessing),
  }


class PushGate(base_component.BaseComponent):
  """Chooses the model to push (the candidate or the reference) or none; records why."""

  SPEC_CLASS = PushGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, evaluation: types.BaseChannel, blessing: types.BaseChannel,
               reference_evaluation: types.BaseChannel, model: types.BaseChannel,
               reference_model: types.BaseChannel, min_accuracy: float, max_regression: float,
               max_loss_to_reference: float, push_reference_if_better: bool,
               gain_rule: str = "estimate"):
    super().__init__(spec=PushGateSpec(
        evaluation=evaluation, blessing=blessing, reference_evaluation=reference_evaluation,
        model=model, reference_model=reference_model, min_accuracy=float(min_accuracy),
        max_regression=float(max_regression), max_loss_to_reference=float(max_loss_to_reference),
        push_reference_if_better=int(push_reference_if_better), gain_rule=gain_rule,
        chosen_model=types.Channel(type=standard_artifacts.Model),
        decision=types.Channel(type=standard_artifacts.ModelBlessing)))
