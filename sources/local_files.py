"""Checks of a data set's local source files (--manual-dir) that need no TensorFlow: the CLI
runs them first, so that a missing or broken file is named in a second, not after TensorFlow
and TFX have loaded."""
from typing import Optional

from sources import mnist_idx
from sources import quickdraw_files


def check(dataset: str, manual_dir: Optional[str]) -> None:
  """A DataSourceError naming the file, for the builders that read local files."""
  if not manual_dir:
    return
  name, _, config = dataset.partition("/")
  if name == quickdraw_files.NAME:
    quickdraw_files.check_files(config, manual_dir)
  elif name == mnist_idx.NAME:
    for split in ("train", "test"):
      mnist_idx.read_images_and_labels(manual_dir, split)
