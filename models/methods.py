"""The four learning methods on in-memory examples; the Trainer and the benchmarks call `train`."""
import dataclasses
import os
from typing import Any, Callable, Dict, Optional

import numpy as np
import tensorflow as tf

from models import autoencoder
from models import classifier
from models import input_fn
from models import self_training
from models import training_loop
from pipeline import config as config_lib
from sources import features

_PREDICT_BATCH = 1024


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
  of a multi-worker run takes the same self-training decisions."""
  predict = tf.function(lambda pixels: model(pixels, training=False), input_signature=[
      tf.TensorSpec([None, features.IMAGE_SIZE, features.IMAGE_SIZE], tf.uint8)])
  out = [predict(tf.constant(examples.pixels[start:start + _PREDICT_BATCH])).numpy()
         for start in range(0, len(examples), _PREDICT_BATCH)]
  return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)


def accuracy(model: tf.keras.Model, examples: input_fn.Examples) -> float:
  return float((predict_probabilities(model, examples).argmax(axis=1) == examples.labels).mean())


@dataclasses.dataclass
class Trained:
  model: tf.keras.Model
  history: Dict[str, Any]  # fit history; for self-training also the rounds
  outcome: Optional[self_training.Outcome] = None


def train(method: str, examples: input_fn.Examples, model_config: config_lib.ModelConfig,
          training: config_lib.TrainingConfig, self_config: config_lib.SelfTrainingConfig,
          num_classes: int, encoder: Optional[tf.keras.Model], encoder_path: str, log_dir: str,
          strategy: tf.distribute.Strategy) -> Trained:
  """Trains a classifier by `method` from the labeled (and, for self-training, unlabeled)
  examples; `encoder` is the layer-wise pre-trained encoder for the methods that use one."""
  config_lib.check_method(method, training)
  if (method in config_lib.PRETRAINED_METHODS) != (encoder is not None):
    raise autoencoder.BaseModelError(
        f"method {method!r} {'needs' if encoder is None else 'takes no'} pre-trained base model "
        f"(got {encoder_path or 'none'})")
  labeled = input_fn.labeled_only(examples)
  validation = None
  if training.validation_fraction > 0:
    labeled, validation = input_fn.split_validation(labeled, training.validation_fraction)

  def fresh_model() -> tf.keras.Model:
    with strategy.scope():
      model = classifier.build_classifier(model_config.lstm_width, model_config.lstm_layers,
                                          model_config.dense_width, num_classes)
      if encoder is not None:
        autoencoder.init_from_encoder(model, encoder, encoder_path)
    return model

  if method not in config_lib.SELF_TRAINING_METHODS:
    model = fresh_model()
    initial = autoencoder.lstm_fingerprints(model)
    history = train_classifier(model, labeled, validation, training, log_dir, strategy)
    return Trained(model, dict(history, initial_lstm_fingerprints=initial))

  histories = {}

  def train_round(round_labeled: input_fn.Examples, number: int) -> tf.keras.Model:
    # Every round starts afresh (from the pre-trained encoder for the proposed method).
    model = fresh_model()
    initial = autoencoder.lstm_fingerprints(model)
    histories[number] = dict(
        train_classifier(model, round_labeled, validation, training,
                         os.path.join(log_dir, f"round_{number}"), strategy,
                         stage=f"self-training round {number}"),
        initial_lstm_fingerprints=initial)
    return model

  outcome = self_training.run_rounds(
      train_round, lambda model: accuracy(model, validation), predict_probabilities, labeled,
      input_fn.unlabeled_only(examples), self_config, num_classes, training.seed)
  return Trained(outcome.best_model, histories[outcome.best_round], outcome)


def self_training_report(trained: Trained) -> Dict[str, Any]:
  """What the history file records of the rounds."""
  outcome = trained.outcome
  return {"best_round": outcome.best_round, "stop_reason": outcome.stop_reason,
          "rounds": [dataclasses.asdict(r) for r in outcome.rounds]}


def score_against(true_labels: Callable[[np.ndarray], np.ndarray], trained: Trained) -> None:
  if trained.outcome is not None:
    self_training.score_pseudo_labels(trained.outcome, true_labels)
