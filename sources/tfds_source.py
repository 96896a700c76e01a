"""Opening a TFDS data set by name, preparing the project's own builders offline."""
import dataclasses
import logging
from typing import Optional, Tuple

import numpy as np
import tensorflow_datasets as tfds

from sources import doodles
from sources import features

# Short names a user may type for the project's own builders.
ALIASES = {"doodles": doodles.NAME}
# Builders that need no download, so they can be prepared wherever the pipeline runs.
_OFFLINE_BUILDERS = (doodles.FewlabelsDoodles,)
IMAGE_SHAPE = (features.IMAGE_SIZE, features.IMAGE_SIZE, 1)


class DataSourceError(ValueError):
  """A data set that cannot be opened; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class SourceInfo:
  """What the pipeline needs to know about a data set before it runs."""
  name: str
  num_train: int
  num_test: int
  class_names: Tuple[str, ...]

  @property
  def num_classes(self) -> int:
    return len(self.class_names)


def canonical_name(dataset: str) -> str:
  """`doodles/tiny` -> `fewlabels_doodles/tiny`; catalog names pass through."""
  name, _, config = dataset.partition("/")
  name = ALIASES.get(name, name)
  return f"{name}/{config}" if config else name


def open_builder(dataset: str, data_dir: Optional[str]) -> tfds.core.DatasetBuilder:
  """The builder, prepared or not: its features (classes, shapes) are known either way."""
  try:
    return tfds.builder(canonical_name(dataset), data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise DataSourceError(
        f"unknown data set {dataset!r}: expected 'doodles[/CONFIG]' or a TensorFlow Datasets "
        "catalog name such as 'mnist'") from None
  except ValueError as e:  # A bad config name; TFDS's message spans lines.
    raise DataSourceError(f"data set {dataset!r}: {str(e).splitlines()[0]}") from None


def class_names(dataset: str, data_dir: Optional[str]) -> Tuple[str, ...]:
  """The class names, without preparing the data (enough to compile for a cluster)."""
  info = open_builder(dataset, data_dir).info
  if info.supervised_keys is None or not hasattr(info.features[info.supervised_keys[1]], "names"):
    raise DataSourceError(f"data set {dataset!r} has no (image, class label) supervised keys")
  return tuple(info.features[info.supervised_keys[1]].names)


def load_builder(dataset: str, data_dir: Optional[str], train_split: str = "train",
                 test_split: str = "test") -> tfds.core.DatasetBuilder:
  """Returns a prepared builder, or raises DataSourceError saying what to do."""
  name = canonical_name(dataset)
  builder = open_builder(dataset, data_dir)
  if not builder.is_prepared():
    if not isinstance(builder, _OFFLINE_BUILDERS):
      raise DataSourceError(
          f"data set {name!r} is not prepared in TFDS data dir {builder.data_dir_root!r}: "
          "prepare it there (`tfds build` where the internet is reachable) or pass "
          "--tfds-data-dir")
    logging.info("Generating %s into %s", name, builder.data_dir)
    builder.download_and_prepare()
  _check_layout(dataset, builder, train_split, test_split)
  return builder


def _check_layout(dataset: str, builder: tfds.core.DatasetBuilder, train_split: str,
                  test_split: str) -> None:
  info = builder.info
  for split in (train_split, test_split):
    if split not in info.splits:
      raise DataSourceError(
          f"data set {dataset!r} has no split {split!r}: it has {sorted(info.splits)}")
  class_names(dataset, builder.data_dir_root)
  image = info.features[info.supervised_keys[0]]
  if tuple(image.shape) != IMAGE_SHAPE or image.np_dtype != np.uint8:
    raise DataSourceError(f"data set {dataset!r} has {image.np_dtype} images of shape "
                          f"{tuple(image.shape)}: expected uint8 of shape {IMAGE_SHAPE}")


def describe(dataset: str, data_dir: Optional[str], train_split: str = "train",
             test_split: str = "test") -> SourceInfo:
  builder = load_builder(dataset, data_dir, train_split, test_split)
  info = builder.info
  return SourceInfo(
      name=canonical_name(dataset),
      num_train=info.splits[train_split].num_examples,
      num_test=info.splits[test_split].num_examples,
      class_names=class_names(dataset, data_dir))
