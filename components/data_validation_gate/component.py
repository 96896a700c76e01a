"""DataValidationGate: a gate after ExampleValidator; the model stages wait for it."""
from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.data_validation_gate import executor


class DataValidationGateSpec(component_spec.ComponentSpec):
  PARAMETERS = {}
  INPUTS = {
      executor.ANOMALIES_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ExampleAnomalies),
      executor.STATISTICS_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ExampleStatistics, optional=True),
      # Only a schema the user keeps: its class list must be found in the data.
      executor.SCHEMA_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.Schema, optional=True),
  }
  OUTPUTS = {}


class DataValidationGate(base_component.BaseComponent):
  """Fails on any anomaly, an empty labeled or test split (with the statistics), or a class of
  a kept schema that the labeled or test split lacks; passes otherwise."""

  SPEC_CLASS = DataValidationGateSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, anomalies: types.BaseChannel,
               statistics: Optional[types.BaseChannel] = None,
               kept_schema: Optional[types.BaseChannel] = None):
    super().__init__(spec=DataValidationGateSpec(anomalies=anomalies, statistics=statistics,
                                                 schema=kept_schema))
