"""Stops TensorFlow's autograph from rewriting tf-keras's own Python on every first trace.

Autograph skips the `keras` package but not `tf_keras`, so each new `fit` spends 20-30 s
converting tf-keras's training loop. tf-keras's training code needs no conversion when
steps_per_execution is 1 (its multi-step loop is the only Python loop over tensors), so skipping
it changes no result; tests/test_preprocessing_and_model.py checks that training gives the same losses.
Uses autograph's rule list, a private API of TensorFlow 2.16: if it moves, nothing breaks,
training is only slower to start.
"""
import logging

_PACKAGE = "tf_keras"


def skip_autograph_for_tf_keras() -> bool:
  """Returns whether the rule is in place (idempotent)."""
  try:
    from tensorflow.python.autograph.core import config
    from tensorflow.python.autograph.core import config_lib
  except ImportError:
    logging.warning("autograph config not found: tf-keras traces will be slow")
    return False
  if not any(isinstance(rule, config_lib.DoNotConvert) and rule.matches(_PACKAGE)
             for rule in config.CONVERSION_RULES):
    config.CONVERSION_RULES = (config_lib.DoNotConvert(_PACKAGE),) + tuple(config.CONVERSION_RULES)
  return True
