"""Architectures by name: one module each, exporting SPEC (an `ArchitectureSpec`).

Adding an architecture is one new module here; `names()` finds it. Like the methods, a module
here imports TensorFlow inside `build`, not at its top (models/methods/__init__.py says why).
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Tuple, Type

from models import config as config_lib
from models import registry

if TYPE_CHECKING:
  import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class NoSettings:
  """For the architectures that have no settings of their own."""


@dataclasses.dataclass(frozen=True)
class ArchitectureSpec:
  name: str
  # build(num_classes, settings, image_shape) -> a Keras model from uint8 pictures of that
  # (height, width, channels) (grey ones as rows: layers.image_input) to class probabilities.
  build: Callable[[int, Any, Tuple[int, int, int]], tf.keras.Model]
  pretexts: Tuple[str, ...]  # pre-training pretexts that fit it (models/pretexts.py); first: default
  # Its own frozen dataclass of settings (widths, depths), free of TensorFlow like the module's
  # top: every field is a flag --<name>-<field> and `--set model.<field>=VALUE`.
  settings: Type[Any] = NoSettings
  channels: Tuple[int, ...] = (1, 3)  # the pictures it can read: grey, colour


_SPECS = registry.load(__name__, __path__)


def register(spec: ArchitectureSpec) -> None:
  """Adds an architecture from outside this folder (tests, plug-ins)."""
  _SPECS[spec.name] = spec


def names() -> Tuple[str, ...]:
  return tuple(sorted(_SPECS))


def get(name: str) -> ArchitectureSpec:
  return registry.lookup(_SPECS, "architecture", name)


def pretext_name(name: str, model: config_lib.ModelConfig) -> str:
  """The pretext `name` ("auto": the architecture's default) if it fits the architecture; the
  pretexts themselves (models/pretexts.py) load TensorFlow, their names here do not."""
  spec = get(model.architecture)
  if name == config_lib.AUTO:
    return spec.pretexts[0]
  known = sorted({pretext for other in _SPECS.values() for pretext in other.pretexts})
  config_lib.require(name in known, f"pretext {name!r} does not exist: expected one of "
                                    f"{', '.join(known)} or auto")
  config_lib.require(name in spec.pretexts,
                     f"pretext {name!r} does not fit architecture {model.architecture!r}: it "
                     f"takes {', '.join(spec.pretexts)}")
  return name


def settings(model: config_lib.ModelConfig) -> Any:
  """The architecture's Settings with the model's values; one line naming a wrong one."""
  spec = get(model.architecture)
  return config_lib.from_dict(spec.settings, dict(model.settings),
                              f"architecture {model.architecture!r}")


def check(model: config_lib.ModelConfig) -> None:
  """An architecture that exists, with settings it has, for pictures it can read."""
  spec = get(model.architecture)
  settings(model)
  height, width, channels = model.image_shape
  config_lib.require(channels in spec.channels,
                     f"architecture {model.architecture!r} cannot read pictures of {channels} "
                     f"channels ({height} x {width} x {channels}): it reads "
                     f"{' or '.join(map(str, spec.channels))}-channel ones; use one of "
                     f"{', '.join(n for n in names() if channels in get(n).channels)}")


def build(num_classes: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  check(model)
  return get(model.architecture).build(num_classes, settings(model), model.image_shape)
