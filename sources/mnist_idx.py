"""TFDS builder `mnist_idx`: MNIST-format IDX files from a local directory (the TFDS manual dir).

Reads `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
`t10k-labels-idx1-ubyte`, each plain or `.gz`: the format of MNIST and of Fashion-MNIST.
Configs `mnist` (digits) and `fashion_mnist` (clothing) differ only in their class names.

MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0. Fashion-MNIST: Zalando Research, MIT.
"""
import dataclasses
import gzip
import os
from typing import Tuple

import numpy as np
import tensorflow_datasets as tfds

from sources import features
from sources import image_builder
from sources.errors import DataSourceError

NAME = "mnist_idx"
IMAGES_MAGIC = 2051  # unsigned byte, 3 dimensions
LABELS_MAGIC = 2049  # unsigned byte, 1 dimension
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot")


@dataclasses.dataclass(eq=False)
class IdxConfig(tfds.core.BuilderConfig):
  class_names: Tuple[str, ...] = ()


def _read_idx(directory: str, stem: str) -> Tuple[str, bytes]:
  for name in (stem, stem + ".gz"):
    path = os.path.join(directory, name)
    if os.path.isfile(path):
      try:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as f:
          return path, f.read()
      except (OSError, EOFError) as e:
        raise DataSourceError(f"{path}: cannot be read ({e})") from None
  raise DataSourceError(f"{os.path.join(directory, stem)}[.gz]: IDX file not found")


def _header(path: str, data: bytes, magic: int, dims: int) -> Tuple[int, ...]:
  if len(data) < 4 + 4 * dims:
    raise DataSourceError(f"{path}: too short for an IDX header")
  found = int.from_bytes(data[:4], "big")
  if found != magic:
    raise DataSourceError(f"{path}: IDX magic number {found}, expected {magic}")
  return tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))


def read_images_and_labels(directory: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
  """(images uint8 [N, 28, 28], labels uint8 [N]) of one split, checked against each other."""
  if not os.path.isdir(directory):
    raise DataSourceError(f"{directory}: IDX directory not found")
  images_path, images = _read_idx(directory, _FILES[split][0])
  labels_path, labels = _read_idx(directory, _FILES[split][1])
  count, rows, cols = _header(images_path, images, IMAGES_MAGIC, 3)
  if (rows, cols) != (features.IMAGE_SIZE, features.IMAGE_SIZE):
    raise DataSourceError(f"{images_path}: images of {rows}x{cols}, expected 28x28")
  (label_count,) = _header(labels_path, labels, LABELS_MAGIC, 1)
  if count != label_count:
    raise DataSourceError(
        f"{images_path}: {count} images but {labels_path} has {label_count} labels")
  if len(images) != 16 + count * rows * cols or len(labels) != 8 + count:
    raise DataSourceError(f"{images_path}: size does not match its header (truncated?)")
  pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(count, rows, cols)
  return pixels, np.frombuffer(labels, dtype=np.uint8, offset=8)


class MnistIdx(image_builder.ImageClassBuilder):
  """MNIST-format images from local IDX files."""

  BUILDER_CONFIGS = [
      IdxConfig(name="mnist", description="MNIST digits",
                class_names=tuple(str(d) for d in range(10))),
      IdxConfig(name="fashion_mnist", description="Fashion-MNIST", class_names=_FASHION),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Put the four IDX files (plain or .gz) in the manual dir."

  def class_names(self):
    return self.builder_config.class_names

  def _split_generators(self, dl_manager):
    directory = str(dl_manager.manual_dir)
    # Read and check both splits before writing anything.
    splits = {split: read_images_and_labels(directory, split) for split in _FILES}
    return {split: self._generate_examples(*arrays) for split, arrays in splits.items()}

  def _generate_examples(self, images: np.ndarray, labels: np.ndarray):
    num_classes = len(self.builder_config.class_names)
    if labels.size and labels.max() >= num_classes:
      raise DataSourceError(f"label {labels.max()} is beyond the {num_classes} classes")
    for index, (image, label) in enumerate(zip(images, labels)):
      yield index, {"image": image[..., None], "label": int(label)}
