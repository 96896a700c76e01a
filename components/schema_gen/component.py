"""SchemaGen: TFX's, with an executor that leaves empty splits out of the inference."""
from tfx.components.schema_gen import component as tfx_component
from tfx.dsl.components.base import executor_spec

from components.schema_gen import executor


class SchemaGen(tfx_component.SchemaGen):
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)
