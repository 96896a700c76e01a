"""A small convolutional classifier: two blocks of two 3x3 convolutions, one more, average pool.

Widths w, 2w, 4w (`width`), batch norm and ReLU after each convolution. At w = 24 one epoch
over 35,000 drawings takes well under a minute on 2 cores (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from models import config as config_lib

if TYPE_CHECKING:
  import tensorflow as tf

# Few labels mean few steps: at Keras's 0.99 the moving statistics would still be mostly their
# initial values after a supervised fit on 100 images (measured: 0.10 test accuracy).
BN_MOMENTUM = 0.9
# (name, width multiple, max-pool after it): the trunk the denoising pretext pre-trains.
TRUNK = (("conv_1", 1, False), ("conv_2", 1, True), ("conv_3", 2, False), ("conv_4", 2, True),
         ("conv_5", 4, False))


@dataclasses.dataclass(frozen=True)
class Settings:
  """The CNN's width."""
  width: int = 24  # channels of the first block; 24 keeps an epoch of 35,000 images < 1 min

  def __post_init__(self):
    config_lib.require(isinstance(self.width, int) and not isinstance(self.width, bool)
                       and self.width > 0, f"cnn width {self.width!r} must be a positive integer")


def trunk(x: tf.Tensor, width: int, image_shape=config_lib.DRAWING_SHAPE) -> tf.Tensor:
  """Scaled pictures of `image_shape` -> [n, height / 4, width / 4, 4 * width] features (7 x 7
  for drawings)."""
  import tensorflow as tf  # not at the top: see the package's docstring
  x = tf.keras.layers.Reshape(tuple(image_shape), name="channels")(x)
  for name, multiple, pool in TRUNK:
    x = tf.keras.layers.Conv2D(width * multiple, 3, padding="same", use_bias=False, name=name)(x)
    x = tf.keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    x = tf.keras.layers.ReLU(name=f"{name}_relu")(x)
    if pool:
      x = tf.keras.layers.MaxPool2D(name=f"{name}_pool")(x)
  return x


def build(num_classes: int, settings: Settings, image_shape) -> tf.keras.Model:
  import tensorflow as tf
  from models import layers
  pixels, x = layers.image_input(image_shape)
  x = tf.keras.layers.GlobalAveragePooling2D(name="pool")(trunk(x, settings.width, image_shape))
  return tf.keras.Model(pixels, layers.class_probabilities(x, num_classes), name="cnn_classifier")


from models.architectures import ArchitectureSpec  # noqa: E402  (the registry imports this module)

SPEC = ArchitectureSpec(config_lib.CNN, build, ("denoise",), Settings)
