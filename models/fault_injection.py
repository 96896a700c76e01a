"""Deliberate worker failure, to test that training resumes: FEWLABELS_FAIL_AFTER_EPOCH=N.

When the variable is set, the process exits (code 3) right after finishing epoch N, as a
killed worker would. `fewlabels workers --fail-after-epoch N` sets it for one worker.
"""
import logging
import os
from typing import List

import tensorflow as tf

ENV_VAR = "FEWLABELS_FAIL_AFTER_EPOCH"
EXIT_CODE = 3


class _ExitAfterEpoch(tf.keras.callbacks.Callback):

  def __init__(self, epoch: int):
    super().__init__()
    self._epoch = epoch

  def on_epoch_end(self, epoch, logs=None):
    if epoch + 1 == self._epoch:
      logging.error("fault injection: exiting after epoch %d", self._epoch)
      os._exit(EXIT_CODE)  # no cleanup, like a killed process


def callbacks() -> List[tf.keras.callbacks.Callback]:
  value = os.environ.get(ENV_VAR)
  return [_ExitAfterEpoch(int(value))] if value else []
