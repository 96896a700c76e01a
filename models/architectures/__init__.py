"""Architectures by name: one module each, exporting SPEC (an `ArchitectureSpec`).

Adding an architecture is one new module here; `names()` finds it.
"""
import dataclasses
from typing import Callable, Tuple

import tensorflow as tf

from models import config as config_lib
from models import registry


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
  name: str
  # build(num_classes, ModelConfig) -> a Keras model from uint8 [n, 28, 28] pixels to softmax.
  build: Callable[[int, config_lib.ModelConfig], tf.keras.Model]
  pretexts: Tuple[str, ...]  # pre-training pretexts that fit it (models/pretexts.py); first: default


_SPECS = registry.load(__name__, __path__)


def names() -> Tuple[str, ...]:
  return tuple(sorted(_SPECS))


def get(name: str) -> ArchitectureSpec:
  return registry.lookup(_SPECS, "architecture", name)


def build(num_classes: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  return get(model.architecture).build(num_classes, model)
