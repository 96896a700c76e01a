"""A residual network sized for CPUs: a stem, three stages of pre-activation residual blocks
(He et al. 2016) of widths w, 2w and 4w, the last two halving the size, average pooling.

For photos and other pictures of any size and channel count (grey ones are read as one
channel). At the defaults (w = 16, 2 blocks a stage: 14 layers, 0.18 M weights) it is the
CPU-sized cousin of FixMatch's Wide ResNet-28-2 (1.5 M weights); docs/BENCHMARKS.md gives its
seconds per epoch on 2 cores. It has no pre-training pretext: methods that start from an
encoder refuse it in one line.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from models import config as config_lib
from models.architectures import cnn

if TYPE_CHECKING:
  import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Settings:
  """The residual network's size."""
  width: int = 16  # channels of the first stage; the second and third have 2x and 4x
  blocks: int = 2  # residual blocks a stage (two 3x3 convolutions each)

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      config_lib.require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
                         f"resnet {field.name} {value!r} must be a positive integer")


def _block(x: tf.Tensor, width: int, stride: int, name: str) -> tf.Tensor:
  """Pre-activation: BN, ReLU, conv, BN, ReLU, conv, plus the shortcut (projected where the
  size or the width changes)."""
  import tensorflow as tf  # not at the top: see the package's docstring
  layers = tf.keras.layers
  pre = layers.ReLU(name=f"{name}_relu_1")(
      layers.BatchNormalization(momentum=cnn.BN_MOMENTUM, name=f"{name}_bn_1")(x))
  shortcut = x
  if stride != 1 or x.shape[-1] != width:
    shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f"{name}_project")(pre)
  y = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False,
                    name=f"{name}_conv_1")(pre)
  y = layers.ReLU(name=f"{name}_relu_2")(
      layers.BatchNormalization(momentum=cnn.BN_MOMENTUM, name=f"{name}_bn_2")(y))
  y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv_2")(y)
  return layers.Add(name=f"{name}_add")([shortcut, y])


def build(num_classes: int, settings: Settings, image_shape) -> tf.keras.Model:
  import tensorflow as tf
  from models import layers
  pixels, x = layers.image_input(image_shape)
  x = tf.keras.layers.Reshape(tuple(image_shape), name="channels")(x)
  x = tf.keras.layers.Conv2D(settings.width, 3, padding="same", use_bias=False, name="stem")(x)
  for stage, multiple in enumerate((1, 2, 4), start=1):
    for block in range(settings.blocks):
      stride = 2 if stage > 1 and block == 0 else 1
      x = _block(x, settings.width * multiple, stride, f"stage_{stage}_block_{block + 1}")
  x = tf.keras.layers.BatchNormalization(momentum=cnn.BN_MOMENTUM, name="final_bn")(x)
  x = tf.keras.layers.ReLU(name="final_relu")(x)
  x = tf.keras.layers.GlobalAveragePooling2D(name="pool")(x)
  return tf.keras.Model(pixels, layers.class_probabilities(x, num_classes), name="resnet")


from models.architectures import ArchitectureSpec  # noqa: E402  (the registry imports this module)

SPEC = ArchitectureSpec("resnet", build, (), Settings)
