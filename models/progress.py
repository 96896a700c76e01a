"""Training progress through logging: which epoch, the losses, time spent and time left."""
import logging
import time

import tensorflow as tf


class ProgressLogger(tf.keras.callbacks.Callback):

  def __init__(self, stage: str, epochs: int):
    super().__init__()
    self._stage, self._epochs = stage, epochs
    self._started = time.monotonic()

  def on_train_begin(self, logs=None):
    self._started = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    elapsed = time.monotonic() - self._started
    left = elapsed / (epoch + 1) * (self._epochs - epoch - 1)
    metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()))
    logging.info("%s: epoch %d/%d %s (%.0f s elapsed, at most %.0f s left)",
                 self._stage, epoch + 1, self._epochs, metrics, elapsed, left)
