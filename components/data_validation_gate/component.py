"""DataValidationGate: a gate after ExampleValidator; the model stages wait for it."""
from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.data_validation_gate import executor


class DataValidationGateSpec(component_spec.ComponentSpec):
  PARAMETERS = {}
  INPUTS = {executor.ANOMALIES_KEY: component_spec.ChannelParameter(
      type=standard_artifacts.ExampleAnomalies)}
  OUTPUTS = {}


class DataValidationGate(base_component.BaseComponent):
  """Fails when the anomalies artifact lists any anomaly; passes otherwise."""

  SPEC_CLASS = DataValidationGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, anomalies: types.BaseChannel):
    super().__init__(spec=DataValidationGateSpec(anomalies=anomalies))
