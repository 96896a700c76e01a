"""The Trainer's run_fn: fine-tune the LSTM classifier on the labeled split, export for serving."""
import json
import logging
import math
import os
from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs

from models import autograph_speedup
from models import classifier
from models import distribution
from models import export
from models import fault_injection
from models import input_fn
from models import lr_schedule
from models import progress
from pipeline import config as config_lib

# Keys of the Trainer's custom_config, written by pipeline.pipeline.create_pipeline.
MODEL_CONFIG_KEY = "model"
TRAINING_CONFIG_KEY = "training"
NUM_CLASSES_KEY = "num_classes"
CODE_VERSION_KEY = "code_version"  # only there so that a code change invalidates the cache
HISTORY_FILE = "history.json"
BACKUP_DIR = "backup"


def _compile(model: tf.keras.Model, schedule: tf.keras.optimizers.schedules.LearningRateSchedule):
  model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])


def train_classifier(model: tf.keras.Model, examples: input_fn.Examples,
                     training: config_lib.TrainingConfig, log_dir: str,
                     strategy: tf.distribute.Strategy) -> Dict[str, Any]:
  """Fits `model` on the labeled examples with LEGW warmup; returns the training history."""
  labeled = input_fn.labeled_only(examples)
  validation = None
  if training.validation_fraction > 0:
    labeled, validation = input_fn.split_validation(labeled, training.validation_fraction)
  num_train = len(labeled)
  if num_train == 0:
    raise ValueError("the labeled split has no training examples left to train on")
  batch_size = (lr_schedule.auto_batch_size(num_train) if training.batch_size == config_lib.AUTO
                else training.batch_size)
  per_replica = distribution.check_global_batch(batch_size, strategy)
  steps_per_epoch = math.ceil(num_train / batch_size)
  schedule = lr_schedule.LegwSchedule.for_batch(
      training.base_learning_rate, batch_size, training.base_batch_size, training.warmup_epochs,
      steps_per_epoch, training.decay_epochs)
  logging.info("Training on %d labeled images: global batch %d (%d per replica, %d replicas), "
               "%d steps/epoch, peak LR %.5f, warmup %d steps", num_train, batch_size,
               per_replica, strategy.num_replicas_in_sync, steps_per_epoch,
               schedule.peak_learning_rate, schedule.warmup_steps)
  with strategy.scope():
    _compile(model, schedule)
  if training.epochs == 0:
    return {"num_train": num_train, "batch_size": batch_size, "epochs": []}
  monitor = "val_loss" if validation is not None else "loss"
  history = model.fit(
      input_fn.training_batches(labeled, batch_size, training.seed),
      epochs=training.epochs, steps_per_epoch=steps_per_epoch, verbose=0,
      validation_data=(None if validation is None
                       else input_fn.evaluation_batches(validation, batch_size)),
      callbacks=[
          tf.keras.callbacks.EarlyStopping(monitor=monitor,
                                           patience=training.early_stopping_patience,
                                           restore_best_weights=True),
          tf.keras.callbacks.TensorBoard(log_dir=log_dir),
          # A worker restarted in the same run directory resumes from the last finished epoch.
          tf.keras.callbacks.BackupAndRestore(backup_dir=os.path.join(log_dir, BACKUP_DIR)),
          progress.ProgressLogger("fine-tune", training.epochs),
      ] + fault_injection.callbacks())
  return {"num_train": num_train, "batch_size": batch_size,
          "epochs": [dict(zip(history.history, values))
                     for values in zip(*history.history.values())]}


def run_fn(fn_args: FnArgs) -> None:
  autograph_speedup.skip_autograph_for_tf_keras()
  custom = fn_args.custom_config
  model_config = config_lib.ModelConfig(**custom[MODEL_CONFIG_KEY])
  training = config_lib.TrainingConfig(**custom[TRAINING_CONFIG_KEY])
  tf.keras.utils.set_random_seed(training.seed)

  strategy = distribution.create_strategy()
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  examples = input_fn.load(fn_args.train_files, tft_output)
  with strategy.scope():
    model = classifier.build_classifier(model_config.lstm_width, model_config.lstm_layers,
                                        model_config.dense_width, int(custom[NUM_CLASSES_KEY]))
  history = train_classifier(model, examples, training, fn_args.model_run_dir, strategy)
  export.export_serving_model(model, tft_output, fn_args.serving_model_dir, strategy)
  if export.is_chief(strategy):
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, HISTORY_FILE), "w") as f:
      json.dump(history, f, indent=1)
