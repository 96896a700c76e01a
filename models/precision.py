"""The Keras precision policy a training runs under (TrainingConfig.precision).

Layers compute in the policy's dtype and keep float32 weights; the classifier's softmax is
float32 whatever the policy (models/layers.py), so losses and exported scores stay float32.
"""
import contextlib
import logging

import tensorflow as tf

_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bfloat16() -> bool:
  """Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX); else oneDNN emulates it."""
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
  except OSError:
    return False
  return any(flag in flags for flag in _BFLOAT16_FLAGS)


@contextlib.contextmanager
def policy(name: str):
  """Runs the block under the precision policy `name` and restores the one before: the
  components of a local run share one process."""
  previous = tf.keras.mixed_precision.global_policy()
  if name == "mixed_bfloat16" and not tf.config.list_physical_devices("GPU") and not (
      cpu_has_bfloat16()):
    logging.warning("precision mixed_bfloat16 on a CPU without AVX512_BF16 or AMX: emulated, "
                    "likely slower than float32")
  tf.keras.mixed_precision.set_global_policy(name)
  try:
    yield
  finally:
    tf.keras.mixed_precision.set_global_policy(previous)
