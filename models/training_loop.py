"""The one fit loop every training step uses: LEGW schedule, early stopping, checkpoints.

The Trainer's classifier, each pre-training stage and each self-training round call `fit`, so
they share the large-batch rules, the multi-worker batch split and the fault tolerance.
"""
import logging
import math
import os
from typing import Any, Dict, List, Optional

import tensorflow as tf

from models import distribution
from models import fault_injection
from models import input_fn
from models import lr_schedule
from models import progress
from pipeline import config as config_lib

BACKUP_DIR = "backup"


def batch_size_for(training: config_lib.TrainingConfig, num_examples: int) -> int:
  if training.batch_size == config_lib.AUTO:
    return lr_schedule.auto_batch_size(num_examples)
  return training.batch_size


def fit(model: tf.keras.Model, train: input_fn.Examples, validation: Optional[input_fn.Examples],
        training: config_lib.TrainingConfig, loss: str, metrics: List[str], log_dir: str,
        strategy: tf.distribute.Strategy,
        stage: str, autoencode: bool = False) -> Dict[str, Any]:
  """Compiles and fits `model`; returns {"num_train", "batch_size", "epochs": [per-epoch logs]}.

  With a validation part, early stopping watches its accuracy (its loss rises with confidence
  long before its accuracy falls) and the best epoch's weights are kept; without, it watches
  the training loss (the research method's rule). `autoencode`
  makes the rows their own targets (pre-training). Loss and metrics are Keras names, so that
  Keras creates them inside the strategy's scope.
  """
  num_train = len(train)
  batch_size = batch_size_for(training, num_train)
  per_replica = distribution.check_global_batch(batch_size, strategy)
  steps_per_epoch = math.ceil(num_train / batch_size)
  schedule = lr_schedule.LegwSchedule.for_batch(
      training.base_learning_rate, batch_size, training.base_batch_size, training.warmup_epochs,
      steps_per_epoch, training.decay_epochs)
  logging.info("%s: %d images, global batch %d (%d per replica, %d replicas), %d steps/epoch, "
               "peak LR %.5f, warmup %d steps", stage, num_train, batch_size, per_replica,
               strategy.num_replicas_in_sync, steps_per_epoch, schedule.peak_learning_rate,
               schedule.warmup_steps)
  with strategy.scope():
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule), loss=loss, metrics=metrics)
  result = {"num_train": num_train, "batch_size": batch_size, "epochs": []}
  if training.epochs == 0:
    return result
  has_metric = validation is not None and metrics
  monitor, mode = (f"val_{metrics[0]}", "max") if has_metric else (
      "val_loss" if validation is not None else "loss", "min")
  history = model.fit(
      input_fn.training_batches(train, batch_size, training.seed, autoencode),
      epochs=training.epochs, steps_per_epoch=steps_per_epoch, verbose=0,
      validation_data=(None if validation is None
                       else input_fn.evaluation_batches(validation, batch_size, autoencode)),
      callbacks=[
          tf.keras.callbacks.EarlyStopping(monitor=monitor, mode=mode,
                                           patience=training.early_stopping_patience,
                                           start_from_epoch=training.min_epochs,
                                           restore_best_weights=True),
          tf.keras.callbacks.TensorBoard(log_dir=log_dir),
          # A worker restarted in the same run directory resumes from the last finished epoch.
          tf.keras.callbacks.BackupAndRestore(backup_dir=os.path.join(log_dir, BACKUP_DIR)),
          progress.ProgressLogger(stage, training.epochs),
      ] + fault_injection.callbacks())
  result["epochs"] = [dict(zip(history.history, map(float, values)))
                      for values in zip(*history.history.values())]
  return result
