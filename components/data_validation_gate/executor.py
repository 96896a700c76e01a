"""Fails the execution, and so the pipeline run, when any split has anomalies."""
import os
from typing import Any, Dict, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

ANOMALIES_KEY = "anomalies"
_ANOMALIES_FILE = "SchemaDiff.pb"


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


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    del output_dict, exec_properties
    found = anomalies_by_split(artifact_utils.get_single_instance(input_dict[ANOMALIES_KEY]))
    if found:
      details = "; ".join(f"split {split}: {', '.join(problems)}"
                          for split, problems in sorted(found.items()))
      raise DataAnomaliesError(f"data validation found anomalies, stopping the run: {details}")
