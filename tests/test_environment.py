"""TensorFlow's process environment: tf-keras and oneDNN, wherever this package runs."""
import os
import pathlib
import re
import subprocess
import sys

import pipeline

ROOT = pathlib.Path(__file__).resolve().parent.parent
_PROBE = ("import pipeline, tensorflow as tf; "
          "from tensorflow.python.util import _pywrap_util_port as port; "
          "print(tf.keras.__name__, port.IsMklEnabled())")


def _probe(**overrides):
  env = {k: v for k, v in os.environ.items() if k not in pipeline.TENSORFLOW_ENVIRONMENT}
  env.update(overrides)
  return subprocess.Popen([sys.executable, "-c", _PROBE], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_tensorflow_gets_tf_keras_and_onednn_unless_the_user_says_otherwise():
  default, turned_off = _probe(), _probe(TF_ENABLE_ONEDNN_OPTS="0")
  assert default.communicate(timeout=300)[0].split() == ["tf_keras.api._v2.keras", "True"]
  assert turned_off.communicate(timeout=300)[0].split()[-1] == "False"


def test_the_task_image_sets_the_same_environment():
  # In a Kubeflow task TFX imports TensorFlow before this package: the image must set it.
  image_env = dict(re.findall(r"(\w+)=(\S+)", " ".join(
      line for line in (ROOT / "Dockerfile").read_text().splitlines()
      if line.startswith("ENV "))))
  assert pipeline.TENSORFLOW_ENVIRONMENT.items() <= image_env.items()
