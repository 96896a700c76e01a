"""The input and output every architecture shares: uint8 rows in, class probabilities out."""
from typing import Tuple

import tensorflow as tf

from models import preprocessing
from sources import features

PROBABILITIES = "probabilities"


def image_input() -> Tuple[tf.Tensor, tf.Tensor]:
  """The models' input, uint8 image rows (Transform's pixels), and the rows scaled to [-1, 1]."""
  pixels = tf.keras.Input(shape=(features.IMAGE_SIZE, features.IMAGE_SIZE), dtype=tf.uint8,
                          name=preprocessing.PIXELS_KEY)
  return pixels, preprocessing.scaling_layer()(pixels)


def class_probabilities(x: tf.Tensor, num_classes: int) -> tf.Tensor:
  # float32 whatever the precision policy: under mixed precision the softmax and every loss
  # on it stay in float32, and the exported scores are float32.
  return tf.keras.layers.Dense(num_classes, activation="softmax", name=PROBABILITIES,
                               dtype="float32")(x)
