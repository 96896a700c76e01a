"""What every method does with a classifier: fit it on labels, predict, score it."""
from typing import Any, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from models import config as config_lib
from models import input_fn
from models import training_loop

_PREDICT_BATCH = 1024


def labeled_parts(labeled: input_fn.Examples, training: config_lib.TrainingConfig
                  ) -> Tuple[input_fn.Examples, Optional[input_fn.Examples]]:
  """(training part, validation part or None) of the labeled examples; the validation part
  makes every decision (early stopping, rounds, thresholds), never the test split."""
  if training.validation_fraction > 0:
    return input_fn.split_validation(labeled, training.validation_fraction)
  return labeled, None


def selects_on(validation: Optional[input_fn.Examples],
               training: config_lib.TrainingConfig) -> bool:
  """Whether a supervised fit may choose its epoch on this validation part (large enough)."""
  return validation is not None and len(validation) >= max(training.min_validation_to_select, 1)


def supervised_parts(labeled: input_fn.Examples, training: config_lib.TrainingConfig
                     ) -> Tuple[input_fn.Examples, Optional[input_fn.Examples]]:
  """labeled_parts for a fit that decides nothing else on validation (the reference,
  `supervised`): every label and no validation part when it is too small to choose an epoch."""
  train, validation = labeled_parts(labeled, training)
  if validation is not None and not selects_on(validation, training):
    return labeled, None
  return train, validation


def train_classifier(model: tf.keras.Model, train: input_fn.Examples,
                     validation: Optional[input_fn.Examples], training: config_lib.TrainingConfig,
                     log_dir: str, strategy: tf.distribute.Strategy,
                     stage: str = "fine-tune") -> Dict[str, Any]:
  """Fits the classifier on labeled examples; returns the fit history."""
  if len(train) == 0:
    raise ValueError("the labeled split has no training examples left to train on")
  return training_loop.fit(
      model, train, validation, training, "sparse_categorical_crossentropy", ["accuracy"], log_dir,
      strategy, stage)


def predict_probabilities(model: tf.keras.Model, examples: input_fn.Examples) -> np.ndarray:
  """Class probabilities for every example, computed whole on each worker so that every worker
  of a multi-worker run takes the same decisions. The signature is the pictures' own: a model
  may be a training wrapper (consistency training's), which has no input of its own."""
  predict = tf.function(lambda pixels: model(pixels, training=False), input_signature=[
      tf.TensorSpec((None, *examples.pixels.shape[1:]), tf.uint8)])
  out = [predict(tf.constant(examples.pixels[start:start + _PREDICT_BATCH])).numpy()
         for start in range(0, len(examples), _PREDICT_BATCH)]
  return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)


def accuracy(model: tf.keras.Model, examples: input_fn.Examples) -> float:
  return float((predict_probabilities(model, examples).argmax(axis=1) == examples.labels).mean())
