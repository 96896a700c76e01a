"""Fails the execution, and so the pipeline run, when the data cannot be trusted: any anomaly
ExampleValidator found, an empty labeled or test split, or a class of the schema's class list
with no example in the labeled or the test split.

TFDV flags values outside a schema's domain (a label above the class range, a class name it
does not know, a picture of another size) but not a domain value that never occurs, so a class
that disappeared is found here, from the statistics. An empty pool is allowed (the run then
learns from the labels alone): its split's anomalies (every feature "dropped") are not the
data's fault.
"""
import os
from typing import Any, Dict, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.components.schema_gen import executor as tfx_schema_gen_executor
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.schema_gen import executor as schema_gen_executor
from sources import features
from sources import splits

ANOMALIES_KEY = "anomalies"
STATISTICS_KEY = "statistics"
SCHEMA_KEY = "schema"
_ANOMALIES_FILE = "SchemaDiff.pb"
_MUST_HOLD_EXAMPLES = (splits.LABELED_SPLIT, splits.TEST_SPLIT)


class DataAnomaliesError(RuntimeError):
  """The data failed validation; the message names each split and anomaly."""


def anomalies_by_split(anomalies_artifact) -> Dict[str, List[str]]:
  """{split: ["feature: description", ...]} for the splits that have anomalies."""
  found = {}
  for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
    path = os.path.join(artifact_utils.get_split_uri([anomalies_artifact], split), _ANOMALIES_FILE)
    anomalies = anomalies_pb2.Anomalies()
    anomalies.ParseFromString(tf.io.gfile.GFile(path, "rb").read())
    problems = [f"{name}: {info.short_description or info.description}"
                for name, info in sorted(anomalies.anomaly_info.items())]
    if anomalies.HasField("dataset_anomaly_info"):
      problems.append(f"dataset: {anomalies.dataset_anomaly_info.description}")
    if problems:
      found[split] = problems
  return found


def class_domain(schema: schema_pb2.Schema) -> List[str]:
  """The class names a schema allows (its class_name domain), without "" (the pool's)."""
  for feature in schema.feature:
    if feature.name != features.CLASS_NAME_KEY:
      continue
    values = list(feature.string_domain.value)
    if feature.HasField("domain"):
      values = [v for d in schema.string_domain if d.name == feature.domain for v in d.value]
    return [v for v in values if v]
  return []


def classes_seen(statistics_artifact, split: str) -> List[str]:
  """The class names the split's statistics count (every one, from the rank histogram)."""
  seen = set()
  for dataset in stats_artifact_utils.load_statistics(statistics_artifact, split).proto().datasets:
    for feature in dataset.features:
      if feature.path.step == [features.CLASS_NAME_KEY] or feature.name == features.CLASS_NAME_KEY:
        stats = feature.string_stats
        seen.update(b.label for b in stats.rank_histogram.buckets)
        seen.update(v.value for v in stats.top_values)
  return sorted(seen)


def data_problems(anomalies_artifact, statistics_artifact=None, schema=None
                  ) -> Dict[str, List[str]]:
  """{split: problems} of everything the gate stops on."""
  found = anomalies_by_split(anomalies_artifact)
  if statistics_artifact is None:
    return found
  for split in schema_gen_executor.empty_splits(statistics_artifact):
    if split in _MUST_HOLD_EXAMPLES:
      found[split] = ["dataset: no examples"]
    else:
      found.pop(split, None)  # an empty pool
  if schema is not None:
    domain = class_domain(schema)
    splits = artifact_utils.decode_split_names(statistics_artifact.split_names)
    for split in (s for s in _MUST_HOLD_EXAMPLES if s in splits and s not in found):
      missing = sorted(set(domain) - set(classes_seen(statistics_artifact, split)))
      if missing:
        found.setdefault(split, []).append(
            f"{features.CLASS_NAME_KEY}: {len(missing)} of the schema's {len(domain)} classes "
            f"have no example ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})")
  return found


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    del output_dict, exec_properties
    statistics = input_dict.get(STATISTICS_KEY)
    schema = input_dict.get(SCHEMA_KEY)
    found = data_problems(
        artifact_utils.get_single_instance(input_dict[ANOMALIES_KEY]),
        artifact_utils.get_single_instance(statistics) if statistics else None,
        io_utils.SchemaReader().read(os.path.join(artifact_utils.get_single_uri(schema),
                                                  tfx_schema_gen_executor.DEFAULT_FILE_NAME)) if schema else None)
    if found:
      details = "; ".join(f"split {split}: {', '.join(problems)}"
                          for split, problems in sorted(found.items()))
      raise DataAnomaliesError(f"data validation found anomalies, stopping the run: {details}")
