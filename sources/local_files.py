"""Checks of the data that need no TensorFlow: the CLI runs them first, so that a missing or
broken file (--manual-dir), or a label budget the data set cannot meet where its size is known
from its name or its files' headers, is named in a second, before TensorFlow and TFX load."""
import hashlib
import os
from typing import Optional, Tuple

from sources import doodle_drawing
from sources import doodles
from sources import image_files
from sources import label_budget
from sources import mnist_idx
from sources import quickdraw_files
from sources.errors import DataSourceError

_DOODLES = ("doodles", doodles.NAME)


def check(dataset: str, manual_dir: Optional[str], test_split: str = "test") -> None:
  """A DataSourceError naming the file, for the builders that read local files."""
  name, _, config = dataset.partition("/")
  if name == image_files.NAME:
    if not manual_dir:
      raise DataSourceError("data set 'image_folder' needs the folder: --manual-dir DIR")
    image_files.parse_config(config)
    image_files.check(manual_dir, test_split)
    return
  if not manual_dir:
    return
  if name == quickdraw_files.NAME:
    quickdraw_files.check_files(config, manual_dir)
  elif name == mnist_idx.NAME:
    for split in ("train", "test"):
      mnist_idx.read_images_and_labels(manual_dir, split)


def fingerprint(dataset: str, manual_dir: Optional[str]) -> str:
  """A hash of the local source files' names, sizes and times ('' without a manual dir): a
  replaced file is new data, so no cached result of the old one is reused."""
  if not manual_dir or not os.path.isdir(manual_dir):
    return ""
  if dataset.partition("/")[0] == image_files.NAME:
    return image_files.fingerprint(manual_dir)
  digest = hashlib.sha256()
  for entry in sorted(os.scandir(manual_dir), key=lambda e: e.name):
    if entry.is_file():
      stat = entry.stat()
      digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
  return digest.hexdigest()[:16]


def training_size(dataset: str, manual_dir: Optional[str]) -> Optional[Tuple[int, int]]:
  """(training images, classes) when known without preparing the data, else None."""
  name, _, config = dataset.partition("/")
  if name in _DOODLES:
    presets = {preset.name: preset for preset in doodles.PRESETS}
    try:
      spec = presets.get(config or doodles.FewlabelsDoodles.DEFAULT_CONFIG_NAME) or (
          doodles.FewlabelsDoodles.config_from_name(config))
    except ValueError as e:
      raise DataSourceError(f"data set {dataset!r}: {e}") from None
    return spec.num_train, len(doodle_drawing.CLASS_NAMES)
  if name == quickdraw_files.NAME and manual_dir:
    spec = quickdraw_files.config_of(config)
    names = quickdraw_files.class_names_of(spec.classes)
    rows = quickdraw_files.open_class_files(manual_dir, names)
    train = sum(min(max(len(r) - spec.test_per_class, 0), spec.train_per_class) for r in rows)
    return train, len(names)
  return None


def check_budget(dataset: str, manual_dir: Optional[str], budget: str,
                 classes: Tuple[str, ...], test_split: str) -> None:
  """A BudgetError when the budget cannot be met, where the size is known this early (a class
  selection or a holdout test split change the counts: the full check after loading decides)."""
  if classes or test_split != "test":
    return
  size = training_size(dataset, manual_dir)
  if size is not None:
    label_budget.LabelBudget(budget).count(*size)
