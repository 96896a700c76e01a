"""TFDS builder `fewlabels_doodles`: the project's embedded default data, generated offline.

Config names give the size and seed, so any size is reachable without editing code:
`train<N>_test<M>_seed<S>` (e.g. `fewlabels_doodles/train6000_test1000_seed0`), with `_color`
for the colour kind (32 x 32 x 3: coloured strokes on coloured, textured backgrounds), plus
the named presets below. The same name always yields the same images.
"""
import dataclasses
import re
from typing import Optional

import tensorflow_datasets as tfds

from sources import doodle_drawing
from sources import image_builder

NAME = "fewlabels_doodles"
_CONFIG_PATTERN = re.compile(r"^train(\d+)_test(\d+)_seed(\d+)(_color)?$")
_SPLIT_INDEX = {"train": 0, "test": 1}


@dataclasses.dataclass(eq=False)
class DoodlesConfig(tfds.core.BuilderConfig):
  num_train: int = 0
  num_test: int = 0
  seed: int = 0
  color: bool = False


def _config(num_train: int, num_test: int, seed: int, name: Optional[str] = None,
            color: bool = False) -> DoodlesConfig:
  kind = "colour doodles" if color else "doodles"
  return DoodlesConfig(
      name=name or f"train{num_train}_test{num_test}_seed{seed}{'_color' if color else ''}",
      description=f"{num_train} train and {num_test} test {kind} drawn with seed {seed}.",
      num_train=num_train, num_test=num_test, seed=seed, color=color)


# Presets: `tiny` for tests, `demo` for `make demo`, `seed_scale` matches the research data
# size; `color` and `color_tiny` are the colour kind's demo and test sizes.
PRESETS = (
    _config(1_000, 300, 0, name="tiny"),
    _config(8_000, 2_000, 0, name="demo"),
    _config(700_000, 25_000, 0, name="seed_scale"),
    _config(8_000, 2_000, 0, name="color", color=True),
    _config(600, 150, 0, name="color_tiny", color=True),
)


class FewlabelsDoodles(image_builder.ImageClassBuilder):
  """Procedural Quick, Draw!-style doodles, 10 classes: 28x28 grayscale, or 32x32 colour."""

  BUILDER_CONFIGS = list(PRESETS)
  DEFAULT_CONFIG_NAME = "demo"

  @classmethod
  def config_from_name(cls, name):
    match = _CONFIG_PATTERN.match(name)
    if not match:
      raise ValueError(
          f"doodles config {name!r} is not a preset ({', '.join(c.name for c in PRESETS)}) "
          "nor of the form train<N>_test<M>_seed<S>")
    num_train, num_test, seed = (int(g) for g in match.groups()[:3])
    for what, count in (("train", num_train), ("test", num_test)):
      if count < 1:
        raise ValueError(f"doodles config {name!r}: {what} must be at least 1 image, not {count}")
    return _config(num_train, num_test, seed, color=bool(match.group(4)))

  def class_names(self):
    return doodle_drawing.CLASS_NAMES

  def image_shape(self):
    side = doodle_drawing.COLOUR_SIDE
    return (side, side, 3) if self.builder_config.color else super().image_shape()

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
      image = (doodle_drawing.draw_colour(label, rng) if self.builder_config.color
               else doodle_drawing.draw(label, rng)[..., None])
      yield index, {"image": image, "label": label}
