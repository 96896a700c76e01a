"""The research method's classifier: stacked LSTMs over image rows, Dense, softmax."""
from typing import Tuple

import tensorflow as tf

from models import preprocessing
from sources import features


def lstm_layer_name(index: int) -> str:
  """Layer names shared by the classifier and the pre-training autoencoders."""
  return f"lstm_{index + 1}"


def image_input() -> Tuple[tf.Tensor, tf.Tensor]:
  """The models' input, uint8 image rows (Transform's pixels), and the rows scaled to [-1, 1]."""
  pixels = tf.keras.Input(shape=(features.IMAGE_SIZE, features.IMAGE_SIZE), dtype=tf.uint8,
                          name=preprocessing.PIXELS_KEY)
  return pixels, preprocessing.scaling_layer()(pixels)


def build_classifier(lstm_width: int, lstm_layers: int, dense_width: int,
                     num_classes: int) -> tf.keras.Model:
  pixels, x = image_input()
  for index in range(lstm_layers):
    x = tf.keras.layers.LSTM(lstm_width, return_sequences=index < lstm_layers - 1,
                             name=lstm_layer_name(index))(x)
  x = tf.keras.layers.Dense(dense_width, name="dense")(x)
  probabilities = tf.keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
  return tf.keras.Model(pixels, probabilities, name="lstm_classifier")
