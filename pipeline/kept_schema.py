"""The schema a user keeps in version control: written from a run's inferred one and made strict
(`fewlabels schema --write FILE`), read back and checked against the examples' features
(`fewlabels run --schema FILE`).

Strict where the data allow: the label in -1 (the pool's "no label") .. N-1, the class names as
the class_name domain, every feature present exactly once in every example, the pictures' size
and channels as the run saw them, their intensity and ink figures in their ranges. With such a
schema, ExampleValidator finds a label beyond the classes, a class name or a picture size it
does not know, and the data gate a class of the list that no longer has examples.
"""
import hashlib
import os
from typing import Sequence

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

from models.config import ConfigError
from sources import features

_UNIT_RANGE = (features.MEAN_INTENSITY_KEY, features.INK_FRACTION_KEY)
_SIZE_OF = {features.INK_HEIGHT_KEY: features.IMAGE_HEIGHT_KEY,
            features.INK_WIDTH_KEY: features.IMAGE_WIDTH_KEY}
_AS_SEEN = (features.IMAGE_HEIGHT_KEY, features.IMAGE_WIDTH_KEY, features.IMAGE_CHANNELS_KEY)


def _read_text(path: str) -> str:
  if "://" in path:
    import tensorflow as tf  # a bucket's file: only TensorFlow's file system reads it
    with tf.io.gfile.GFile(path) as f:
      return f.read()
  if not os.path.isfile(path):
    raise ConfigError(f"schema file {path!r} does not exist: expected a schema.pbtxt "
                      "(`fewlabels schema --write FILE` writes one)")
  with open(path, encoding="utf-8") as f:
    return f.read()


def read(path: str) -> schema_pb2.Schema:
  """The schema in `path`, checked: it parses, and it describes these examples' features."""
  schema = schema_pb2.Schema()
  try:
    text_format.Parse(_read_text(path), schema)
  except (text_format.ParseError, UnicodeDecodeError) as e:
    raise ConfigError(f"schema file {path!r} does not parse as a text schema: "
                      f"{str(e).splitlines()[0]}") from None
  names = {feature.name for feature in schema.feature}
  missing = [key for key in features.ALL_KEYS if key not in names]
  extra = sorted(names - set(features.ALL_KEYS))
  if missing or extra:
    parts = ([f"it lacks {', '.join(missing)}"] if missing else []) + (
        [f"it has {', '.join(extra)}, which the examples do not"] if extra else [])
    raise ConfigError(f"schema file {path!r} belongs to other data: {'; '.join(parts)} "
                      f"(expected the features {', '.join(features.ALL_KEYS)})")
  return schema


def sha256(path: str) -> str:
  return hashlib.sha256(_read_text(path).encode("utf-8")).hexdigest()


def _numeric_range(statistics: Sequence[statistics_pb2.DatasetFeatureStatisticsList],
                   name: str):
  """(min, max) of a numeric feature over every split's statistics, or None if never seen."""
  found = []
  for per_split in statistics:
    for dataset in per_split.datasets:
      for feature in dataset.features:
        if (feature.name or ".".join(feature.path.step)) == name and feature.HasField(
            "num_stats") and dataset.num_examples:
          found.append((feature.num_stats.min, feature.num_stats.max))
  if not found:
    return None
  return min(low for low, _ in found), max(high for _, high in found)


def strict(inferred: schema_pb2.Schema,
           statistics: Sequence[statistics_pb2.DatasetFeatureStatisticsList],
           class_names: Sequence[str]) -> schema_pb2.Schema:
  """The inferred schema, made strict where the data allow (see the module's docstring)."""
  schema = schema_pb2.Schema()
  schema.CopyFrom(inferred)
  del schema.string_domain[:]  # inferred domains of values seen; the class list replaces them
  for feature in schema.feature:
    feature.ClearField("domain_info")
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    if not feature.HasField("shape"):  # TFDV writes a fixed shape [1]: a dense feature
      feature.shape.dim.add(size=1)
    feature.ClearField("deprecated")
    if feature.name == features.LABEL_KEY:
      feature.int_domain.min, feature.int_domain.max = features.NO_LABEL, len(class_names) - 1
    elif feature.name == features.CLASS_NAME_KEY:
      feature.string_domain.name = features.CLASS_NAME_KEY
      feature.string_domain.value.extend([""] + list(class_names))  # "": the pool's
    elif feature.name == features.EXAMPLE_ID_KEY:
      feature.int_domain.min = 0
    elif feature.name in _UNIT_RANGE:
      feature.float_domain.min, feature.float_domain.max = 0.0, 1.0
    elif feature.name in _AS_SEEN:
      seen = _numeric_range(statistics, feature.name)
      if seen:
        feature.int_domain.min, feature.int_domain.max = int(seen[0]), int(seen[1])
    elif feature.name in _SIZE_OF:
      seen = _numeric_range(statistics, _SIZE_OF[feature.name])
      feature.int_domain.min = 0
      if seen:
        feature.int_domain.max = int(seen[1])
  return schema


def write(schema: schema_pb2.Schema, path: str) -> str:
  """Written whole or not at all; returns the path."""
  path = os.path.abspath(path)
  if os.path.isdir(path):
    raise ConfigError(f"--write {path!r} is a directory: expected the schema file to write")
  if not os.path.isdir(os.path.dirname(path)):
    raise ConfigError(f"--write {path!r}: its folder does not exist")
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.write(text_format.MessageToString(schema))
  os.replace(path + ".tmp", path)
  return path


def from_last_run(output_dir: str, pipeline_name: str) -> schema_pb2.Schema:
  """The last run's schema made strict, from what ml-metadata says it wrote."""
  import json

  from components.tfds_example_gen import spec as example_gen_spec
  from pipeline import pipeline as pipeline_lib
  from pipeline import run_results
  from tfx.components.schema_gen import executor as schema_gen_executor
  from tfx.components.statistics_gen import stats_artifact_utils
  from tfx.utils import io_utils

  metadata_path = os.path.join(output_dir, "metadata.sqlite")
  if not os.path.isfile(metadata_path):
    raise ConfigError(f"--output {output_dir!r} holds no pipeline run: run `fewlabels run "
                      "--output DIR` first")
  store = run_results.open_store(metadata_path)
  try:
    run_id = run_results.latest_run_id(store, pipeline_name)
  except LookupError as e:
    raise ConfigError(f"--output {output_dir!r}: {e}") from None
  runs = run_results.component_runs(store, run_id)
  needed = {pipeline_lib.SCHEMA_GEN: "schema", pipeline_lib.STATISTICS_GEN: "statistics",
            pipeline_lib.EXAMPLE_GEN: "examples"}
  outputs = {}
  for component, key in needed.items():
    run = runs.get(component)
    if run is None or run.output(key) is None:
      raise ConfigError(f"the last run {run_id} of {output_dir!r} has no {component} output: "
                        "expected a run that got past its data stage")
    outputs[component] = run.output(key)
  inferred = io_utils.SchemaReader().read(
      os.path.join(outputs[pipeline_lib.SCHEMA_GEN].uri, schema_gen_executor.DEFAULT_FILE_NAME))
  statistics = []
  uri = outputs[pipeline_lib.STATISTICS_GEN].uri
  for split_dir in sorted(d for d in os.listdir(uri) if d.startswith("Split-")):
    per_split = statistics_pb2.DatasetFeatureStatisticsList()
    with open(os.path.join(uri, split_dir, stats_artifact_utils.BINARY_PB_BASENAME), "rb") as f:
      per_split.ParseFromString(f.read())
    statistics.append(per_split)
  class_names = json.loads(run_results.custom_value(
      outputs[pipeline_lib.EXAMPLE_GEN], example_gen_spec.CLASS_NAMES_PROPERTY) or "[]")
  return strict(inferred, statistics, class_names)
