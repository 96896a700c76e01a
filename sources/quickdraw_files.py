"""TFDS builder `quickdraw_files`: Quick, Draw! from the official `numpy_bitmap` files.

The files (one `<class>.npy` per class, uint8, shape (N, 784); 55-120 MB each) are read from
the TFDS manual dir (`--manual-dir`), memory-mapped, so memory does not grow with their size.
Per class, the first `test` rows form the test split and the next `train` rows the training
split: deterministic, and the test set stays the same whatever the training cap.

Config names: `<classes>_train<N>_test<M>`, where <classes> is `default` (the 10 classes of the
research method) or names joined by `+` (`cat+dog+house`). Preset: `paper` =
default_train70000_test2500, the research scale. (All 345 classes: the TFDS catalog's
`quickdraw_bitmap`.)

Quick, Draw! data: Google, Creative Commons Attribution 4.0.
"""
import dataclasses
import os
import re
from typing import List, Tuple

import numpy as np
import tensorflow_datasets as tfds

from sources import features
from sources import image_builder
from sources.errors import DataSourceError

NAME = "quickdraw_files"
DEFAULT_CLASSES = ("airplane", "banana", "bird", "book", "cat",
                   "clock", "dog", "flower", "house", "rainbow")
_CONFIG_PATTERN = re.compile(r"^(?P<classes>[a-z0-9 +_-]+?)_train(?P<train>\d+)_test(?P<test>\d+)$")
_PIXELS = features.IMAGE_SIZE * features.IMAGE_SIZE
_OFFICIAL_LABELS = "datasets/quickdraw_bitmap/labels.txt"  # the 345 names, shipped with TFDS


def official_class_names() -> Tuple[str, ...]:
  path = tfds.core.tfds_path(_OFFICIAL_LABELS)
  return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())


@dataclasses.dataclass(eq=False)
class QuickdrawConfig(tfds.core.BuilderConfig):
  classes: str = "default"  # "default" or names joined by "+"
  train_per_class: int = 70_000
  test_per_class: int = 2_500


def class_names_of(classes: str) -> Tuple[str, ...]:
  names = DEFAULT_CLASSES if classes == "default" else tuple(classes.split("+"))
  official = set(official_class_names())
  for index, name in enumerate(names):
    if name not in official:
      raise DataSourceError(f"class {name!r} is not a Quick, Draw! class")
    if name in names[:index]:
      raise DataSourceError(f"class {name!r} is listed twice")
  return names


def _config(classes: str, train: int, test: int, name: str = "") -> QuickdrawConfig:
  return QuickdrawConfig(
      name=name or f"{classes}_train{train}_test{test}",
      description=f"classes {classes}: {train} train and {test} test images per class",
      classes=classes, train_per_class=train, test_per_class=test)


def open_class_file(path: str) -> np.ndarray:
  """The rows of one class file, memory-mapped; a DataSourceError naming the file otherwise."""
  if not os.path.isfile(path):
    raise DataSourceError(f"{path}: class file not found")
  if os.path.getsize(path) == 0:
    raise DataSourceError(f"{path}: the file is empty (0 bytes), expected a numpy_bitmap .npy "
                          "file")
  try:
    # allow_pickle=False: an object array would need unpickling, which runs code from the file.
    rows = np.load(path, mmap_mode="r", allow_pickle=False)
  except (ValueError, EOFError) as e:  # EOFError: cut short inside the header
    raise DataSourceError(f"{path}: not a readable numpy_bitmap file ({e})") from None
  except OSError as e:
    raise DataSourceError(f"{path}: cannot be read ({e})") from None
  if rows.dtype != np.uint8 or rows.ndim != 2 or rows.shape[1] != _PIXELS:
    raise DataSourceError(
        f"{path}: {rows.dtype} array of shape {rows.shape}, expected uint8 of shape (N, {_PIXELS})")
  if rows.shape[0] == 0:
    raise DataSourceError(f"{path}: the class has no images")
  return rows


def open_class_files(manual_dir: str, names: Tuple[str, ...]) -> List[np.ndarray]:
  if not os.path.isdir(manual_dir):
    raise DataSourceError(f"{manual_dir}: Quick, Draw! directory not found")
  return [open_class_file(os.path.join(manual_dir, f"{name}.npy")) for name in names]


def config_of(config_name: str) -> QuickdrawConfig:
  """The config a name stands for ('' and 'paper': the preset); a DataSourceError else."""
  if config_name in ("", "paper"):
    return QuickdrawFiles.BUILDER_CONFIGS[0]
  try:
    return QuickdrawFiles.config_from_name(config_name)
  except ValueError as e:
    raise DataSourceError(str(e)) from None


def check_files(config_name: str, manual_dir: str) -> None:
  """Opens every class file of the config (memory-mapped: cheap), so that a missing or broken
  file is named in a second, before TensorFlow loads."""
  open_class_files(manual_dir, class_names_of(config_of(config_name).classes))


class QuickdrawFiles(image_builder.ImageClassBuilder):
  """Quick, Draw! numpy bitmaps from local files, 28x28 grayscale."""

  BUILDER_CONFIGS = [_config("default", 70_000, 2_500, name="paper")]
  DEFAULT_CONFIG_NAME = "paper"
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Put the official numpy_bitmap files (<class>.npy, from "
      "gs://quickdraw_dataset/full/numpy_bitmap/) in the manual dir.")

  @classmethod
  def config_from_name(cls, name):
    match = _CONFIG_PATTERN.match(name)
    if not match:
      raise ValueError(f"quickdraw_files config {name!r} is not 'paper' nor of the form "
                       "<default|a+b+...>_train<N>_test<M>")
    class_names_of(match["classes"])  # unknown or duplicate names fail here, before any work
    return _config(match["classes"], int(match["train"]), int(match["test"]))

  def class_names(self) -> Tuple[str, ...]:
    return class_names_of(self.builder_config.classes)

  def _split_generators(self, dl_manager):
    files = open_class_files(str(dl_manager.manual_dir), self.class_names())
    return {
        "train": self._generate_examples(files, "train"),
        "test": self._generate_examples(files, "test"),
    }

  def _generate_examples(self, files: List[np.ndarray], split: str):
    test = self.builder_config.test_per_class
    for label, rows in enumerate(files):
      start, stop = (0, test) if split == "test" else (test, test + self.builder_config.train_per_class)
      for index in range(start, min(stop, rows.shape[0])):
        image = np.asarray(rows[index]).reshape(features.IMAGE_SIZE, features.IMAGE_SIZE, 1)
        yield f"{label}_{index}", {"image": image, "label": label}
