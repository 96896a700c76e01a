"""Greedy layer-wise pre-training models: stacked-LSTM autoencoders and the encoder they leave.

Stage k reconstructs the 28 image rows, scaled to [-1, 1], through k LSTM layers (all returning
sequences) and a per-timestep Dense(28). Its LSTM layers share names with the classifier's
(`classifier.lstm_layer_name`), so weights move between the models by layer name.
"""
import hashlib
import os
from typing import List

import numpy as np
import tensorflow as tf

from models import classifier
from sources import features

ENCODER_FILE = "encoder.keras"  # inside the Model artifact's serving dir (the Trainer's base_model)
RECONSTRUCTION = "reconstruction"


class BaseModelError(ValueError):
  """A pre-trained encoder that cannot initialise the classifier; one line naming it."""


def lstm_layers(model: tf.keras.Model) -> List[tf.keras.layers.LSTM]:
  return [layer for layer in model.layers if isinstance(layer, tf.keras.layers.LSTM)]


def lstm_fingerprints(model: tf.keras.Model) -> List[str]:
  """A digest of each LSTM layer's weights: shows where a layer's weights came from."""
  return [hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in layer.get_weights()))
          .hexdigest()[:16] for layer in lstm_layers(model)]


def build_autoencoder(lstm_width: int, depth: int) -> tf.keras.Model:
  """Stage `depth`: LSTM x depth (sequences out) -> Dense(28) per timestep."""
  pixels, x = classifier.image_input()
  for index in range(depth):
    x = tf.keras.layers.LSTM(lstm_width, return_sequences=True,
                             name=classifier.lstm_layer_name(index))(x)
  out = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(features.IMAGE_SIZE),
                                        name=RECONSTRUCTION)(x)
  return tf.keras.Model(pixels, out, name=f"autoencoder_{depth}")


def carry_lstm_weights(source: tf.keras.Model, target: tf.keras.Model) -> int:
  """Copies the source's LSTM weights into the target's first LSTM layers; returns how many."""
  carried = lstm_layers(source)
  for from_layer, to_layer in zip(carried, lstm_layers(target)):
    to_layer.set_weights(from_layer.get_weights())
  return len(carried)


def encoder_of(autoencoder: tf.keras.Model) -> tf.keras.Model:
  """The autoencoder without its reconstruction head."""
  return tf.keras.Model(autoencoder.input, lstm_layers(autoencoder)[-1].output, name="encoder")


def save_encoder(encoder: tf.keras.Model, directory: str) -> str:
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, ENCODER_FILE)
  encoder.save(path)
  return path


def load_encoder(directory: str) -> tf.keras.Model:
  path = os.path.join(directory, ENCODER_FILE)
  if not tf.io.gfile.exists(path):
    raise BaseModelError(f"base model {directory!r} holds no {ENCODER_FILE}: expected the "
                         "output of the LayerwisePretrainer component")
  return tf.keras.models.load_model(path, compile=False)


def _shape(model: tf.keras.Model) -> str:
  widths = [layer.units for layer in lstm_layers(model)]
  return f"{len(widths)} LSTM layers of widths {widths}"


def init_from_encoder(model: tf.keras.Model, encoder: tf.keras.Model, where: str) -> None:
  """Initialises the classifier's LSTM layers from the encoder's, which must match exactly."""
  source, target = lstm_layers(encoder), lstm_layers(model)
  same = len(source) == len(target) and all(
      a.units == b.units and a.input_shape[-1] == b.input_shape[-1]
      for a, b in zip(source, target))
  if not same:
    raise BaseModelError(f"base model {where!r} has {_shape(encoder)}; the classifier needs "
                         f"{_shape(model)}: pre-train with the same lstm_width and lstm_layers")
  carry_lstm_weights(encoder, model)
