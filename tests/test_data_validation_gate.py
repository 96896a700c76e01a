"""The data gate fails the run on anomalies and passes clean data."""
import os

import pytest
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from components.data_validation_gate import executor as gate


def _anomalies_artifact(tmp_path, per_split):
  artifact = standard_artifacts.ExampleAnomalies()
  artifact.uri = str(tmp_path)
  artifact.split_names = artifact_utils.encode_split_names(list(per_split))
  for split, problems in per_split.items():
    anomalies = anomalies_pb2.Anomalies()
    for feature, description in problems.items():
      anomalies.anomaly_info[feature].short_description = description
    path = os.path.join(str(tmp_path), f"Split-{split}")
    os.makedirs(path)
    with open(os.path.join(path, "SchemaDiff.pb"), "wb") as f:
      f.write(anomalies.SerializeToString())
  return artifact


def test_gate_stops_on_anomalies_naming_split_and_feature(tmp_path):
  artifact = _anomalies_artifact(tmp_path, {
      "labeled": {}, "test": {"image": "Unexpected string values"}})
  with pytest.raises(gate.DataAnomaliesError) as error:
    gate.Executor().Do({gate.ANOMALIES_KEY: [artifact]}, {}, {})
  message = str(error.value)
  assert "split test: image: Unexpected string values" in message
  assert "labeled" not in message and "\n" not in message


def test_gate_passes_clean_data(tmp_path):
  artifact = _anomalies_artifact(tmp_path, {"labeled": {}, "unlabeled": {}, "test": {}})
  gate.Executor().Do({gate.ANOMALIES_KEY: [artifact]}, {}, {})


def _statistics_artifact(tmp_path, per_split):
  """StatisticsGen's artifact: {split: {class name: count}} (an empty dict: an empty split)."""
  from tensorflow_metadata.proto.v0 import statistics_pb2
  artifact = standard_artifacts.ExampleStatistics()
  artifact.uri = str(tmp_path / "statistics")
  artifact.split_names = artifact_utils.encode_split_names(list(per_split))
  for split, classes in per_split.items():
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = stats.datasets.add(num_examples=sum(classes.values()))
    if classes:
      feature = dataset.features.add()
      feature.path.step.append("class_name")
      for name, count in classes.items():
        feature.string_stats.rank_histogram.buckets.add(label=name, sample_count=count)
    path = os.path.join(artifact.uri, f"Split-{split}")
    os.makedirs(path)
    with open(os.path.join(path, "FeatureStats.pb"), "wb") as f:
      f.write(stats.SerializeToString())
  return artifact


def _schema(*classes):
  from tensorflow_metadata.proto.v0 import schema_pb2
  schema = schema_pb2.Schema()
  feature = schema.feature.add(name="class_name")
  feature.string_domain.value.extend(("",) + classes)
  return schema


def test_an_empty_labeled_or_test_split_stops_the_run_an_empty_pool_does_not(tmp_path):
  anomalies = _anomalies_artifact(tmp_path / "a", {
      "labeled": {}, "unlabeled": {"image": "Column dropped"}, "test": {}})
  statistics = _statistics_artifact(tmp_path, {"labeled": {"cat": 3}, "unlabeled": {},
                                               "test": {}})
  found = gate.data_problems(anomalies, statistics)
  assert found == {"test": ["dataset: no examples"]}  # the empty pool's "dropped" is forgiven


def test_a_class_of_the_kept_schema_without_examples_stops_the_run(tmp_path):
  anomalies = _anomalies_artifact(tmp_path / "a", {"labeled": {}, "unlabeled": {}, "test": {}})
  statistics = _statistics_artifact(tmp_path, {"labeled": {"cat": 3, "dog": 2},
                                               "unlabeled": {"": 9}, "test": {"cat": 4}})
  found = gate.data_problems(anomalies, statistics, _schema("cat", "dog"))
  assert found == {"test": ["class_name: 1 of the schema's 2 classes have no example (dog)"]}
  # Without a kept schema (an inferred one knows only what it saw) nothing is asked of classes.
  assert gate.data_problems(anomalies, statistics) == {}
