"""The one fit loop every training step uses: LEGW schedule, early stopping, checkpoints.

The Trainer's classifier, each pre-training stage and each self-training round call `fit`, so
they share the large-batch rules, the multi-worker batch split and the fault tolerance.
"""
import logging
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from models import autograph_speedup
from models import distribution
from models import fault_injection
from models import input_fn
from models import lr_schedule
from models import progress
from models import config as config_lib

BACKUP_DIR = "backup"


def batch_size_for(training: config_lib.TrainingConfig, num_examples: int) -> int:
  if training.batch_size == config_lib.AUTO:
    return lr_schedule.auto_batch_size(num_examples)
  return training.batch_size


class _EpochProgress(tf.keras.callbacks.Callback):
  """Which epoch, the losses, time spent and time left (models/progress.py)."""

  def __init__(self, stage: str, epochs: int):
    super().__init__()
    self._tracker = progress.Tracker(stage, epochs, unit="epoch")

  def on_train_begin(self, logs=None):
    self._tracker.restart()

  def on_epoch_end(self, epoch, logs=None):
    self._tracker.done(epoch + 1, " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items())))


class KeepBest(tf.keras.callbacks.Callback):
  """Keeps the best epoch's weights, counted from the first epoch; stops after `patience` epochs
  without improvement, but never before `min_epochs`.

  Keras's EarlyStopping(start_from_epoch=...) ignores the epochs before it for the best weights
  too, so a stage shorter than min_epochs (consistency's 10 epochs) kept its last epoch, however
  much worse than its best. A tie goes to the later epoch: with a few dozen validation images,
  ties are common and the later model has trained longer. `tolerance` widens the tie: a later
  epoch within it of the best value so far is kept (and counts as an improvement); an infinite
  one keeps the last epoch and never stops.
  """

  def __init__(self, monitor: str, mode: str, patience: int, min_epochs: int,
               tolerance: float = 0.0):
    super().__init__()
    self.monitor, self.patience, self.min_epochs = monitor, patience, min_epochs
    self.tolerance = tolerance
    self._sign = 1.0 if mode == "max" else -1.0

  def on_train_begin(self, logs=None):
    self.best, self.best_epoch, self.best_weights = -math.inf, -1, None

  def on_epoch_end(self, epoch, logs=None):
    value = (logs or {}).get(self.monitor)
    if value is None or not math.isfinite(value):
      return
    if self._sign * value >= self.best - self.tolerance:
      self.best, self.best_epoch = max(self.best, self._sign * value), epoch
      self.best_weights = self.model.get_weights()
    elif epoch + 1 >= self.min_epochs and epoch - self.best_epoch >= self.patience:
      self.model.stop_training = True

  def on_train_end(self, logs=None):
    if self.best_weights is not None:
      self.model.set_weights(self.best_weights)


def fit(model: tf.keras.Model, train: Union[input_fn.Examples, input_fn.Pool],
        validation: Optional[input_fn.Examples],
        training: config_lib.TrainingConfig, loss: str, metrics: List[str], log_dir: str,
        strategy: tf.distribute.Strategy, stage: str,
        batches: Optional[input_fn.Batches] = None, steps_per_epoch: Optional[int] = None,
        ema_momentum: float = 0.0, keep_tolerance: float = 0.0, cosine_decay: bool = False,
        callbacks: Sequence[tf.keras.callbacks.Callback] = ()) -> Dict[str, Any]:
  """Compiles and fits `model`; returns {"num_train", "batch_size", "epochs": [per-epoch logs],
  "best_epoch": the kept epoch, counted from 1}.

  With a validation part, early stopping watches its accuracy (its loss rises with confidence
  long before its accuracy falls) and the best epoch's weights are kept; without, it watches
  the training loss (the research method's rule). Pre-training's `train` is a streamed Pool and
  its `batches` are input_fn.pretext_batches (a function of the worker's input
  context, input_fn.Batches). Loss and metrics are Keras names, so that
  Keras creates them inside the strategy's scope. A method with its own train step passes its
  `batches` and `steps_per_epoch` (the labeled batch size still follows `training`).
  `ema_momentum` > 0: the weights become their exponential moving average at the end of every
  epoch, before validation, so the validated and kept model is the averaged one.
  `keep_tolerance`: see KeepBest. `cosine_decay`: the rate follows the cosine over the stage's
  planned steps (training.epochs x steps_per_epoch) instead of the exponential decay.
  """
  # Every caller of the one fit loop gains these.
  autograph_speedup.skip_autograph_for_tf_keras()
  input_fn.per_device_streams_without_autotuning()
  num_train = len(train)
  batch_size = batch_size_for(training, num_train)
  per_replica = distribution.check_global_batch(batch_size, strategy)
  steps_per_epoch = steps_per_epoch or max(math.ceil(num_train / batch_size),
                                            training.min_steps_per_epoch)
  schedule = lr_schedule.LegwSchedule.for_batch(
      training.base_learning_rate, batch_size, training.base_batch_size, training.warmup_epochs,
      steps_per_epoch, training.decay_epochs,
      cosine_steps=training.epochs * steps_per_epoch if cosine_decay else 0)
  logging.info("%s: %d images, global batch %d (%d per replica, %d replicas), %d steps/epoch, "
               "peak LR %.5f, warmup %d steps", stage, num_train, batch_size, per_replica,
               strategy.num_replicas_in_sync, steps_per_epoch, schedule.peak_learning_rate,
               schedule.warmup_steps)
  with strategy.scope():
    optimizer = tf.keras.optimizers.Adam(
        schedule, use_ema=ema_momentum > 0, ema_momentum=ema_momentum or 0.99,
        ema_overwrite_frequency=steps_per_epoch if ema_momentum > 0 else None)
    # Weighted: the blank images that fill a last validation batch (evaluation_batches) count
    # for nothing; training batches carry no weights.
    model.compile(optimizer=optimizer, loss=loss, weighted_metrics=metrics)
  balanced = (isinstance(train, input_fn.Examples)
              and input_fn.balances_classes(training, train.labels))
  result = {"num_train": num_train, "batch_size": batch_size, "epochs": [],
            "class_balanced": balanced}
  if training.epochs == 0:
    return result
  has_metric = validation is not None and metrics
  monitor, mode = (f"val_{metrics[0]}", "max") if has_metric else (
      "val_loss" if validation is not None else "loss", "min")
  keep_best = KeepBest(monitor, mode, training.early_stopping_patience, training.min_epochs,
                       keep_tolerance)
  if batches is None and balanced:
    logging.info("%s: class-balanced batches over %s labeled images per class", stage,
                 np.bincount(train.labels[train.labels >= 0]).tolist())
  if batches is None:
    data = input_fn.training_stream(input_fn.training_batches(
        train, batch_size, training.seed, training.translate_pixels, balanced))
  elif strategy.num_replicas_in_sync > 1:
    data = tf.keras.utils.experimental.DatasetCreator(  # each worker reads its own part
        lambda context: input_fn.training_stream(batches(context)))
  else:
    data = input_fn.training_stream(batches(tf.distribute.InputContext()))
  history = model.fit(
      data,
      epochs=training.epochs, steps_per_epoch=steps_per_epoch, verbose=0,
      validation_data=(None if validation is None
                       else input_fn.evaluation_batches(validation, batch_size,
                                                    strategy.num_replicas_in_sync)),
      callbacks=[
          keep_best,
          tf.keras.callbacks.TensorBoard(log_dir=log_dir),
          # A worker restarted in the same run directory resumes from the last finished epoch.
          tf.keras.callbacks.BackupAndRestore(backup_dir=os.path.join(log_dir, BACKUP_DIR)),
          _EpochProgress(stage, training.epochs),
      ] + list(callbacks) + fault_injection.callbacks())
  result["epochs"] = [dict(zip(history.history, map(float, values)))
                      for values in zip(*history.history.values())]
  result["best_epoch"] = keep_best.best_epoch + 1 if keep_best.best_weights is not None else None
  return result
