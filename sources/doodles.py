"""TFDS builder `fewlabels_doodles`: the project's embedded default data, generated offline.

Config names give the size and seed, so any size is reachable without editing code:
`train<N>_test<M>_seed<S>` (e.g. `fewlabels_doodles/train6000_test1000_seed0`), plus the
named presets below. The same name always yields the same images.
"""
import dataclasses
import re
from typing import Optional

import tensorflow_datasets as tfds

from sources import doodle_drawing
from sources import image_builder

NAME = "fewlabels_doodles"
_CONFIG_PATTERN = re.compile(r"^train(\d+)_test(\d+)_seed(\d+)$")
_SPLIT_INDEX = {"train": 0, "test": 1}


@dataclasses.dataclass(eq=False)
class DoodlesConfig(tfds.core.BuilderConfig):
  num_train: int = 0
  num_test: int = 0
  seed: int = 0


def _config(num_train: int, num_test: int, seed: int, name: Optional[str] = None) -> DoodlesConfig:
  return DoodlesConfig(
      name=name or f"train{num_train}_test{num_test}_seed{seed}",
      description=f"{num_train} train and {num_test} test doodles drawn with seed {seed}.",
      num_train=num_train, num_test=num_test, seed=seed)


# Presets: `tiny` for tests, `demo` for `make demo`, `seed_scale` matches the research data size.
PRESETS = (
    _config(1_000, 300, 0, name="tiny"),
    _config(8_000, 2_000, 0, name="demo"),
    _config(700_000, 25_000, 0, name="seed_scale"),
)


class FewlabelsDoodles(image_builder.ImageClassBuilder):
  """Procedural Quick, Draw!-style doodles, 28x28 grayscale, 10 classes."""

  BUILDER_CONFIGS = list(PRESETS)
  DEFAULT_CONFIG_NAME = "demo"

  @classmethod
  def config_from_name(cls, name):
    match = _CONFIG_PATTERN.match(name)
    if not match:
      raise ValueError(
          f"doodles config {name!r} is not a preset ({', '.join(c.name for c in PRESETS)}) "
          "nor of the form train<N>_test<M>_seed<S>")
    num_train, num_test, seed = (int(g) for g in match.groups())
    for what, count in (("train", num_train), ("test", num_test)):
      if count < 1:
        raise ValueError(f"doodles config {name!r}: {what} must be at least 1 image, not {count}")
    return _config(num_train, num_test, seed)

  def class_names(self):
    return doodle_drawing.CLASS_NAMES

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download: everything is drawn here.
    return {
        "train": self._generate_examples("train", self.builder_config.num_train),
        "test": self._generate_examples("test", self.builder_config.num_test),
    }

  def _generate_examples(self, split: str, count: int):
    num_classes = len(doodle_drawing.CLASS_NAMES)
    for index in range(count):
      rng = doodle_drawing.example_rng(self.builder_config.seed, _SPLIT_INDEX[split], index)
      label = index % num_classes
      yield index, {"image": doodle_drawing.draw(label, rng)[..., None], "label": label}
