"""The input and output every architecture shares: uint8 rows in, class probabilities out."""
from typing import Tuple

import tensorflow as tf

from models import config as config_lib
from models import preprocessing

PROBABILITIES = "probabilities"


def image_input(image_shape: Tuple[int, int, int] = config_lib.DRAWING_SHAPE
                ) -> Tuple[tf.Tensor, tf.Tensor]:
  """The models' input, uint8 pictures (Transform's pixels), and them scaled to [-1, 1]."""
  pixels = tf.keras.Input(shape=preprocessing.pixels_shape(image_shape), dtype=tf.uint8,
                          name=preprocessing.PIXELS_KEY)
  return pixels, preprocessing.scaling_layer()(pixels)


def class_probabilities(x: tf.Tensor, num_classes: int) -> tf.Tensor:
  # float32 whatever the precision policy: under mixed precision the softmax and every loss
  # on it stay in float32, and the exported scores are float32.
  return tf.keras.layers.Dense(num_classes, activation="softmax", name=PROBABILITIES,
                               dtype="float32")(x)
