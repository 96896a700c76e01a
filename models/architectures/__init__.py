"""Architectures by name: one module each, exporting SPEC (an `ArchitectureSpec`).

Adding an architecture is one new module here; `names()` finds it.
"""
import dataclasses
import importlib
import pkgutil
from typing import Callable, Dict, Tuple

import tensorflow as tf

from models import config as config_lib


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
  name: str
  # build(num_classes, ModelConfig) -> a Keras model from uint8 [n, 28, 28] pixels to softmax.
  build: Callable[[int, config_lib.ModelConfig], tf.keras.Model]
  pretexts: Tuple[str, ...]  # pre-training pretexts that fit it (models/pretexts.py); first: default


def _load() -> Dict[str, ArchitectureSpec]:
  specs = {}
  for module in pkgutil.iter_modules(__path__):
    spec = importlib.import_module(f"{__name__}.{module.name}").SPEC
    specs[spec.name] = spec
  return specs


_SPECS = _load()


def names() -> Tuple[str, ...]:
  return tuple(sorted(_SPECS))


def get(name: str) -> ArchitectureSpec:
  config_lib.require(name in _SPECS, f"architecture {name!r} does not exist: expected one of "
                                     f"{', '.join(names())}")
  return _SPECS[name]


def build(num_classes: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  return get(model.architecture).build(num_classes, model)
