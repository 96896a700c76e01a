"""The schema a user keeps: `fewlabels schema --write FILE` makes a run's inferred schema strict;
`--schema FILE` validates the data against it, and the data gate stops a run whose data break it
(end to end through LocalDagRunner: a label beyond the classes, a class gone, pictures of
another size), with one line naming the anomaly and the split, before anything after the gate."""
import dataclasses

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.orchestration import pipeline as tfx_pipeline

from components.data_validation_gate import executor as gate_executor
from models.config import ConfigError
from pipeline import cli
from pipeline import config as config_lib
from pipeline import kept_schema
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from sources import doodle_drawing
from sources import features

ALL = doodle_drawing.CLASS_NAMES
FEWER = ALL[:-1]  # "rainbow" gone


def test_a_file_that_does_not_parse_is_one_line_naming_it(tmp_path):
  bad = tmp_path / "schema.pbtxt"
  bad.write_text("feature { name: 'image' type: BYTES\n")  # unclosed
  with pytest.raises(ConfigError, match=f"schema file '{bad}' does not parse as a text schema"):
    kept_schema.read(str(bad))
  with pytest.raises(ConfigError, match="does not exist"):
    config_lib.DataConfig(schema_file=str(tmp_path / "none.pbtxt"))


def test_a_schema_of_other_data_is_one_line_naming_what_does_not_match(tmp_path):
  other = schema_pb2.Schema()
  for name in ("pixels", features.LABEL_KEY):
    other.feature.add(name=name)
  path = tmp_path / "other.pbtxt"
  path.write_text(text_format.MessageToString(other))
  with pytest.raises(ConfigError) as error:
    kept_schema.read(str(path))
  message = str(error.value)
  assert message.startswith(f"schema file '{path}' belongs to other data: it lacks image, ")
  assert "it has pixels, which the examples do not" in message and "\n" not in message


def _data_stage(config, schema_file=None, classes=()):
  """A run through the data gate (and Transform, when the gate passes)."""
  from pipeline import local_runner
  config = dataclasses.replace(config, data=dataclasses.replace(
      config.data, schema_file=schema_file, classes=classes))
  try:
    local_runner.run(config, run_options=tfx_pipeline.RunOptions(
        to_nodes=[pipeline_lib.TRANSFORM]))
    error = None
  except gate_executor.DataAnomaliesError as e:
    error = str(e)
  return error, run_results.summarize(config.metadata_path, config.name)


def _kept(config, tmp_path, name):
  path = tmp_path / name
  assert cli.main(["schema", "--output", config.output_dir, "--name", config.name,
                   "--write", str(path)]) == 0
  return path


@pytest.fixture(scope="module")
def kept(tiny_config, tmp_path_factory):
  tmp_path = tmp_path_factory.mktemp("kept_schema")
  base = dataclasses.replace(tiny_config, output_dir=str(tmp_path / "run"))
  _data_stage(base, classes=FEWER)
  fewer = _kept(base, tmp_path, "fewer.pbtxt")
  _data_stage(base)
  every = _kept(base, tmp_path, "every.pbtxt")
  larger = kept_schema.read(str(every))
  for feature in larger.feature:
    if feature.name in (features.IMAGE_HEIGHT_KEY, features.IMAGE_WIDTH_KEY):
      feature.int_domain.min = feature.int_domain.max = 32  # kept from pictures of 32 x 32
  (tmp_path / "larger.pbtxt").write_text(text_format.MessageToString(larger))
  return {"base": base, "every": every, "cases": {
      "kept": _data_stage(base, str(every)),
      "new class": _data_stage(base, str(fewer)),
      "class gone": _data_stage(base, str(every), classes=FEWER),
      "other size": _data_stage(base, str(tmp_path / "larger.pbtxt")),
  }}


@pytest.mark.slow
def test_the_written_schema_is_strict_where_the_data_allow(kept):
  schema = {f.name: f for f in kept_schema.read(str(kept["every"])).feature}
  label = schema[features.LABEL_KEY].int_domain
  assert (label.min, label.max) == (features.NO_LABEL, len(ALL) - 1)
  assert list(schema[features.CLASS_NAME_KEY].string_domain.value) == [""] + list(ALL)
  assert all(f.presence.min_fraction == 1.0 and [d.size for d in f.shape.dim] == [1]
             for f in schema.values())
  height = schema[features.IMAGE_HEIGHT_KEY].int_domain
  assert (height.min, height.max) == (features.IMAGE_SIZE, features.IMAGE_SIZE)
  assert schema[features.INK_FRACTION_KEY].float_domain.max == 1.0


@pytest.mark.slow
def test_with_the_kept_schema_clean_data_pass_the_gate_and_transform_reads_them(kept):
  error, summary = kept["cases"]["kept"]
  assert error is None
  assert summary.components[pipeline_lib.SCHEMA_GEN].state == "COMPLETE"  # the kept file
  assert summary.components[pipeline_lib.TRANSFORM].state == "COMPLETE"


@pytest.mark.slow
@pytest.mark.parametrize("case,fragments", [
    ("new class", ["split labeled: ", "class_name: Unexpected string values",
                   "label: Out-of-range values"]),
    ("class gone", ["split labeled: class_name: 1 of the schema's 10 classes have no example "
                    "(rainbow)", "split test: class_name: 1 of the schema's 10 classes"]),
    ("other size", ["split labeled: ", "image_height: Out-of-range values",
                    "image_width: Out-of-range values"]),
])
def test_data_that_break_the_kept_schema_stop_at_the_gate_and_nothing_after_runs(
    kept, case, fragments):
  error, summary = kept["cases"][case]
  assert error.startswith("data validation found anomalies, stopping the run: ")
  assert "\n" not in error
  for fragment in fragments:
    assert fragment in error, (fragment, error)
  assert summary.components[pipeline_lib.DATA_GATE].state == "FAILED"
  assert pipeline_lib.TRANSFORM not in summary.components or (
      summary.components[pipeline_lib.TRANSFORM].state != "COMPLETE")
