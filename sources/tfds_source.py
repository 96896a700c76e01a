"""Opening a TFDS data set by name, preparing the project's own builders offline."""
import dataclasses
import logging
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from sources import doodles
from sources import image_folder
from sources import mnist_idx
from sources import quickdraw_files
from sources.errors import DataSourceError
from sources import features

# Short names a user may type for the project's own builders.
ALIASES = {"doodles": doodles.NAME}
# Builders that need no download (generated, or read from local files in the manual dir), so
# they can be prepared wherever the pipeline runs.
_OFFLINE_BUILDERS = (doodles.FewlabelsDoodles, quickdraw_files.QuickdrawFiles,
                     mnist_idx.MnistIdx, image_folder.ImageFolder)


def canonical_name(dataset: str) -> str:
  """`doodles/tiny` -> `fewlabels_doodles/tiny`; catalog names pass through."""
  name, _, config = dataset.partition("/")
  name = ALIASES.get(name, name)
  return f"{name}/{config}" if config else name


def open_builder(dataset: str, data_dir: Optional[str], manual_dir: Optional[str] = None,
                 skip_bad_images: bool = False) -> tfds.core.DatasetBuilder:
  """The builder, prepared or not: its features (classes, shapes) are known either way."""
  try:
    if dataset.partition("/")[0] == image_folder.NAME:  # its classes are the folder's
      return tfds.builder(canonical_name(dataset), data_dir=data_dir, folder=manual_dir,
                          skip_bad_images=skip_bad_images)
    return tfds.builder(canonical_name(dataset), data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise DataSourceError(
        f"unknown data set {dataset!r}: expected 'doodles[/CONFIG]' or a TensorFlow Datasets "
        "catalog name such as 'mnist'") from None
  except ValueError as e:  # A bad config name; TFDS wraps the builder's own message.
    while e.__cause__ is not None:
      e = e.__cause__
    raise DataSourceError(f"data set {dataset!r}: {str(e).splitlines()[0]}") from None


def class_names(dataset: str, data_dir: Optional[str],
                manual_dir: Optional[str] = None) -> Tuple[str, ...]:
  """The class names, without preparing the data (enough to compile for a cluster)."""
  return builder_class_names(open_builder(dataset, data_dir, manual_dir), dataset)


def builder_class_names(builder: tfds.core.DatasetBuilder, dataset: str) -> Tuple[str, ...]:
  info = builder.info
  if info.supervised_keys is None or not hasattr(info.features[info.supervised_keys[1]], "names"):
    raise DataSourceError(f"data set {dataset!r} has no (image, class label) supervised keys")
  return tuple(info.features[info.supervised_keys[1]].names)


@dataclasses.dataclass(frozen=True)
class SourceSpec:
  """Which data set, and where its prepared data and its source files are."""
  dataset: str
  data_dir: Optional[str] = None  # TFDS data dir; None: TFDS's default
  manual_dir: Optional[str] = None  # local source files, for builders that read them
  train_split: str = "train"
  test_split: str = "test"  # or `holdout:N`: N test images per class taken from train_split
  classes: Tuple[str, ...] = ()  # keep only these classes, renumbered in this order
  skip_bad_images: bool = False  # image folders: skip unreadable pictures (else fail naming one)

  @property
  def holdout(self) -> bool:
    return self.test_split.startswith("holdout:")


def load_builder(source: SourceSpec) -> tfds.core.DatasetBuilder:
  """Returns a prepared builder, or raises DataSourceError saying what to do."""
  name = canonical_name(source.dataset)
  builder = open_builder(source.dataset, source.data_dir, source.manual_dir,
                         source.skip_bad_images)
  if not builder.is_prepared():
    if not isinstance(builder, _OFFLINE_BUILDERS):
      raise DataSourceError(
          f"data set {name!r} is not prepared in TFDS data dir {builder.data_dir_root!r}: "
          "prepare it there (`tfds build` where the internet is reachable) or pass "
          "--tfds-data-dir")
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS and not (
        source.manual_dir and tf.io.gfile.isdir(source.manual_dir)):
      raise DataSourceError(
          f"data set {name!r} reads local files: --manual-dir {source.manual_dir!r} is not a "
          "directory")
    logging.info("Preparing %s into %s", name, builder.data_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=source.manual_dir))
  _check_layout(source, builder)
  return builder


def _check_layout(source: SourceSpec, builder: tfds.core.DatasetBuilder) -> None:
  info = builder.info
  for split in (source.train_split,) + (() if source.holdout else (source.test_split,)):
    if split not in info.splits:
      raise DataSourceError(
          f"data set {source.dataset!r} has no split {split!r}: it has {sorted(info.splits)}")
  builder_class_names(builder, source.dataset)
  image = info.features[info.supervised_keys[0]]
  shape = tuple(image.shape)
  if image.np_dtype != np.uint8 or len(shape) not in (2, 3) or None in shape:
    raise DataSourceError(f"data set {source.dataset!r} has {image.np_dtype} images of shape "
                          f"{shape}: expected uint8 pictures of one (height, width, channels)")
  problem = features.shape_problem(image_shape(builder))
  if problem:
    raise DataSourceError(f"data set {source.dataset!r}: its pictures have {problem}")


def image_shape(builder: tfds.core.DatasetBuilder) -> Tuple[int, int, int]:
  """(height, width, channels) of the data set's pictures: what every stage is built for."""
  info = builder.info
  shape = tuple(int(v) for v in info.features[info.supervised_keys[0]].shape)
  return shape if len(shape) == 3 else shape + (1,)
