"""The research method's classifier: stacked LSTMs over image rows, Dense, softmax."""
from __future__ import annotations

from typing import TYPE_CHECKING

from models import config as config_lib

if TYPE_CHECKING:
  import tensorflow as tf


def lstm_layer_name(index: int) -> str:
  """Layer names shared by the classifier and the pre-training models, which move weights by
  layer name."""
  return f"lstm_{index + 1}"


def build(num_classes: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  import tensorflow as tf  # not at the top: see the package's docstring
  from models import layers
  pixels, x = layers.image_input()
  for index in range(model.lstm_layers):
    x = tf.keras.layers.LSTM(model.lstm_width, return_sequences=index < model.lstm_layers - 1,
                             name=lstm_layer_name(index))(x)
  x = tf.keras.layers.Dense(model.dense_width, name="dense")(x)
  return tf.keras.Model(pixels, layers.class_probabilities(x, num_classes),
                        name="lstm_classifier")


from models.architectures import ArchitectureSpec  # noqa: E402  (the registry imports this module)

SPEC = ArchitectureSpec(config_lib.LSTM, build, ("reconstruct", "sequence_autoencoder", "next_row"))
