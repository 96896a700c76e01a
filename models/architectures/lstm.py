"""The research method's classifier: stacked LSTMs over image rows, Dense, softmax."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from models import config as config_lib

if TYPE_CHECKING:
  import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Settings:
  """The stacked LSTMs' size."""
  width: int = 64  # units per layer; the research method uses 512 (about 10x slower on CPU)
  layers: int = 3
  dense_width: int = 28  # the Dense layer before the softmax

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      config_lib.require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
                         f"lstm {field.name} {value!r} must be a positive integer")


def lstm_layer_name(index: int) -> str:
  """Layer names shared by the classifier and the pre-training models, which move weights by
  layer name."""
  return f"lstm_{index + 1}"


def build(num_classes: int, settings: Settings, image_shape) -> tf.keras.Model:
  import tensorflow as tf  # not at the top: see the package's docstring
  from models import layers
  pixels, x = layers.image_input(image_shape)  # grey: rows, one timestep each
  for index in range(settings.layers):
    x = tf.keras.layers.LSTM(settings.width, return_sequences=index < settings.layers - 1,
                             name=lstm_layer_name(index))(x)
  x = tf.keras.layers.Dense(settings.dense_width, name="dense")(x)
  return tf.keras.Model(pixels, layers.class_probabilities(x, num_classes),
                        name="lstm_classifier")


from models.architectures import ArchitectureSpec  # noqa: E402  (the registry imports this module)

SPEC = ArchitectureSpec(config_lib.LSTM, build, ("reconstruct", "sequence_autoencoder", "next_row"),
                        Settings, channels=(1,))
