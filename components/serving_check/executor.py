"""The serving check, between the push decision and the Pusher.

The model about to be pushed is loaded in a fresh process (components/serving_check/probe.py),
as TF Serving would load it, and every signature answers a sample of the `test` examples:
serving_default, classify and serving_image (the same pictures as PNG) must agree on the
scores, class_names must name every class, and malformed requests must be refused with an
error. A model that fails is not pushed: the output decision (a ModelBlessing, which the Pusher
reads) is not blessed and says which signature failed and why; the check's result is on it in
ml-metadata either way, for the summary and the report.
"""
import json
import os
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional

import tensorflow as tf
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils
from tfx.utils import path_utils

from sources import splits

MODEL_KEY = "model"
BLESSING_KEY = "blessing"  # the push decision: PushGate's, or the Evaluator's without a gate
EXAMPLES_KEY = "examples"
DECISION_KEY = "decision"
SAMPLE_SIZE_KEY = "sample_size"
RESULT_PROPERTY = "serving_check"  # "passed", or the one line of what failed
# Only the check's decisions carry it, 1 when the model was cleared for the Pusher: the compiled
# baseline query (pipeline/kubeflow_v2_runner.py) selects by it, since there every
# ModelBlessing of a run answers the blessed query (the Evaluators' too).
PUSH_CHOICE_PROPERTY = "push_choice"
# What the check's decision carries over from the decision it checked.
_CARRIED = ("current_model_id", "current_model", "chosen", "reason")
PROBE_TIMEOUT_SECONDS = 600


def sample(split_dir: str, count: int) -> List[bytes]:
  """The first `count` serialized examples of a split's files."""
  files = sorted(tf.io.gfile.glob(os.path.join(split_dir, "*")))
  records = tf.data.TFRecordDataset(files, compression_type="GZIP").take(count)
  return [r.numpy() for r in records]


def probe(model_dir: str, serialized: List[bytes]) -> Optional[str]:
  """None when every signature serves `serialized`, else one line saying what failed."""
  with tempfile.TemporaryDirectory(prefix="serving_check_") as scratch:
    path = os.path.join(scratch, "examples.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
      for record in serialized:
        writer.write(record)
    try:
      out = subprocess.run([sys.executable, "-m", "components.serving_check.probe", model_dir,
                            path], capture_output=True, text=True, errors="replace",
                           timeout=PROBE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
      return f"the model did not answer within {PROBE_TIMEOUT_SECONDS} s"
  lines = out.stdout.strip().splitlines()
  if out.returncode != 0 or not lines:
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1][:200]
    return f"loading the model failed in a fresh process (exit status {out.returncode}: {tail})"
  return json.loads(lines[-1])["failure"]


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    decision = artifact_utils.get_single_instance(input_dict[BLESSING_KEY])
    out = artifact_utils.get_single_instance(output_dict[DECISION_KEY])
    for key in _CARRIED:
      if key in decision.mlmd_artifact.custom_properties:
        out.mlmd_artifact.custom_properties[key].CopyFrom(
            decision.mlmd_artifact.custom_properties[key])
    cleared = bool(decision.get_int_custom_property("blessed"))
    result = "not checked: nothing to push"
    if cleared:
      model = artifact_utils.get_single_instance(input_dict[MODEL_KEY])
      serialized = sample(artifact_utils.get_split_uri(
          input_dict[EXAMPLES_KEY], splits.TEST_SPLIT),
          int(exec_properties[SAMPLE_SIZE_KEY]))
      failure = probe(path_utils.serving_model_dir(model.uri), serialized)
      if failure is None:
        result = f"passed ({len(serialized)} test examples through every signature)"
        logging.info("serving check %s", result)
      else:
        cleared, result = False, f"failed: {failure}"
        logging.error("serving check %s: not pushed", result)
        out.set_string_custom_property("chosen", "")
        out.set_string_custom_property("reason", f"serving check {result}")
    out.set_int_custom_property("blessed", int(cleared))
    out.set_int_custom_property(PUSH_CHOICE_PROPERTY, int(cleared))
    out.set_string_custom_property(RESULT_PROPERTY, result)
    io_utils.write_string_file(os.path.join(out.uri, "BLESSED" if cleared else "NOT_BLESSED"), "")
