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
