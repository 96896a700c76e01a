"""SchemaGen: TFX's, with an executor that leaves empty splits out of the inference; and
KeptSchemaGen, which brings in the schema a user keeps."""
from tfx import types
from tfx.components.schema_gen import component as tfx_component
from tfx.components.schema_gen.import_schema_gen import component as import_schema_gen
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from components.schema_gen import executor


class SchemaGen(tfx_component.SchemaGen):
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)


SCHEMA_SHA256_KEY = "schema_sha256"


class KeptSchemaGenSpec(standard_component_specs.ImportSchemaGenSpec):
  PARAMETERS = {
      **standard_component_specs.ImportSchemaGenSpec.PARAMETERS,
      # Part of TFX's cache key: the path alone would reuse the old copy of an edited file.
      SCHEMA_SHA256_KEY: ExecutionParameter(type=str),
  }


class KeptSchemaGen(import_schema_gen.ImportSchemaGen):
  """TFX's ImportSchemaGen (the user's schema file, copied into the run), run again whenever
  the file's content changes."""

  SPEC_CLASS = KeptSchemaGenSpec

  def __init__(self, schema_file: str, schema_sha256: str):
    base_component.BaseComponent.__init__(self, spec=KeptSchemaGenSpec(
        schema_file=schema_file, schema_sha256=schema_sha256,
        schema=types.Channel(type=standard_artifacts.Schema)))
