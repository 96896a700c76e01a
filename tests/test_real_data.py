"""Builders for local files: the official Quick, Draw! numpy bitmaps and MNIST-format IDX files.

Real-data tests read ../shared/data and skip when it is absent; the bad-input tests make their
own broken files.
"""
import gzip
import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from sources import mnist_idx
from sources import quickdraw_files
from sources import tfds_source
from sources.errors import DataSourceError
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow

ROWS_PER_CLASS = 3_999  # rows per class in ../shared/data/quickdraw
TEST_PER_CLASS = 999


def _arrays(builder, split):
  return tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, as_supervised=True))


def test_quickdraw_files_split_rows_exactly(quickdraw_dir, tmp_path):
  source = tfds_source.SourceSpec(
      f"quickdraw_files/default_train10000_test{TEST_PER_CLASS}", str(tmp_path), str(quickdraw_dir))
  builder = tfds_source.load_builder(source)
  names = builder.info.features["label"].names
  assert tuple(names) == quickdraw_files.DEFAULT_CLASSES
  train_x, train_y = _arrays(builder, "train")
  test_x, test_y = _arrays(builder, "test")
  # The train cap (10,000) is above what the files hold: train takes the rest of each class.
  assert np.bincount(test_y).tolist() == [TEST_PER_CLASS] * 10
  assert np.bincount(train_y).tolist() == [ROWS_PER_CLASS - TEST_PER_CLASS] * 10
  for label in (0, 9):
    rows = np.load(quickdraw_dir / f"{names[label]}.npy", allow_pickle=False)
    expected_test = {r.tobytes() for r in rows[:TEST_PER_CLASS]}
    assert {x.tobytes() for x in test_x[test_y == label]} == expected_test
    expected_train = {r.tobytes() for r in rows[TEST_PER_CLASS:]}
    assert {x.tobytes() for x in train_x[train_y == label]} == expected_train
  # The same data set read again gives the same order.
  again_x, again_y = _arrays(builder, "train")
  assert np.array_equal(again_y, train_y) and np.array_equal(again_x, train_x)


def test_mnist_idx_reads_the_files(tmp_path):
  directory = SHARED_DATA / "mnist"
  if not directory.is_dir():
    pytest.skip(f"MNIST IDX files not found at {directory}")
  builder = tfds_source.load_builder(
      tfds_source.SourceSpec("mnist_idx/mnist", str(tmp_path), str(directory)))
  for split in ("train", "test"):
    x, y = _arrays(builder, split)
    file_x, file_y = mnist_idx.read_images_and_labels(str(directory), split)
    assert len(y) == {"train": 60_000, "test": 10_000}[split]
    assert np.array_equal(np.bincount(y), np.bincount(file_y))
    # Same images with the same labels, whatever order TFDS stored them in.
    assert sorted(zip(y.tolist(), map(bytes, x.reshape(len(y), -1)))) == sorted(
        zip(file_y.tolist(), map(bytes, file_x.reshape(len(file_y), -1))))


class _Tripwire:
  """Unpickling this object would create a file: proof that nothing was unpickled."""

  path = ""

  def __reduce__(self):
    return (pathlib.Path.touch, (pathlib.Path(self.path),))


@pytest.mark.parametrize("make,problem", [
    (lambda p: np.save(p, np.zeros((5, 784), np.float32)), "float32 array of shape (5, 784)"),
    (lambda p: np.save(p, np.zeros((5, 28, 28), np.uint8)), "uint8 array of shape (5, 28, 28)"),
    (lambda p: np.save(p, np.zeros((0, 784), np.uint8)), "the class has no images"),
    (lambda p: p.write_bytes(b"not a numpy file"), "not a readable numpy_bitmap file"),
])
def test_bad_class_files_are_refused_naming_the_file(tmp_path, make, problem):
  path = tmp_path / "cat.npy"
  make(path)
  with pytest.raises(DataSourceError) as error:
    quickdraw_files.open_class_file(str(path))
  assert str(error.value).startswith(str(path)) and problem in str(error.value)


def test_truncated_class_file_is_refused(tmp_path):
  path = tmp_path / "cat.npy"
  np.save(path, np.zeros((100, 784), np.uint8))
  path.write_bytes(path.read_bytes()[:5000])
  with pytest.raises(DataSourceError, match=f"{path}: not a readable numpy_bitmap file"):
    quickdraw_files.open_class_file(str(path))


def test_object_array_is_refused_and_never_unpickled(tmp_path):
  path, tripwire = tmp_path / "cat.npy", tmp_path / "unpickled"
  _Tripwire.path = str(tripwire)
  np.save(path, np.array([_Tripwire(), _Tripwire()], dtype=object), allow_pickle=True)
  with pytest.raises(DataSourceError, match="not a readable numpy_bitmap file"):
    quickdraw_files.open_class_file(str(path))
  assert not tripwire.exists()


def _write_class(directory, name, rows=20):
  np.save(directory / f"{name}.npy", np.random.default_rng(0).integers(0, 256, (rows, 784), np.uint8))


@pytest.mark.parametrize("config,files,fragment", [
    ("cat+dog_train10_test5", ["cat"], "dog.npy: class file not found"),
    ("cat+unicorn_train10_test5", ["cat"], "class 'unicorn' is not a Quick, Draw! class"),
    ("cat+dog+cat_train10_test5", ["cat", "dog"], "class 'cat' is listed twice"),
])
def test_bad_class_lists_are_refused_before_anything_is_prepared(tmp_path, config, files, fragment):
  manual = tmp_path / "files"
  manual.mkdir()
  for name in files:
    _write_class(manual, name)
  source = tfds_source.SourceSpec(f"quickdraw_files/{config}", str(tmp_path / "tfds"), str(manual))
  with pytest.raises(DataSourceError, match=fragment):
    tfds_source.load_builder(source)
  assert not any((tmp_path / "tfds").rglob("dataset_info.json"))  # nothing looks prepared


def test_missing_directory_is_refused(tmp_path):
  source = tfds_source.SourceSpec("quickdraw_files/cat_train10_test5", str(tmp_path),
                                  str(tmp_path / "nowhere"))
  with pytest.raises(DataSourceError, match="--manual-dir .*nowhere' is not a directory"):
    tfds_source.load_builder(source)


def _write_idx(directory, split, images, labels, image_magic=mnist_idx.IMAGES_MAGIC,
               label_count=None):
  stems = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
  header = b"".join(int(v).to_bytes(4, "big") for v in (image_magic, len(images), 28, 28))
  with gzip.open(directory / (stems[0] + ".gz"), "wb") as f:
    f.write(header + images.tobytes())
  count = len(labels) if label_count is None else label_count
  (directory / stems[1]).write_bytes(
      b"".join(int(v).to_bytes(4, "big") for v in (mnist_idx.LABELS_MAGIC, count)) + labels.tobytes())


def test_idx_files_are_read_plain_or_gzipped(tmp_path):
  images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), np.uint8)
  labels = np.arange(7, dtype=np.uint8)
  _write_idx(tmp_path, "test", images, labels)
  read_images, read_labels = mnist_idx.read_images_and_labels(str(tmp_path), "test")
  assert np.array_equal(read_images, images) and np.array_equal(read_labels, labels)


@pytest.mark.parametrize("kwargs,fragment", [
    ({"image_magic": 2049}, "IDX magic number 2049, expected 2051"),
    ({"label_count": 6}, "7 images but"),
])
def test_bad_idx_files_are_refused_naming_the_file(tmp_path, kwargs, fragment):
  images = np.zeros((7, 28, 28), np.uint8)
  labels = np.zeros(7, np.uint8)
  _write_idx(tmp_path, "train", images, labels, **kwargs)
  with pytest.raises(DataSourceError) as error:
    mnist_idx.read_images_and_labels(str(tmp_path), "train")
  assert fragment in str(error.value)
  assert "train-images-idx3-ubyte" in str(error.value)


# The labeled ids the research method's budgets chose on the shared classes before uneven
# classes were allowed (commit 0327917; sha256 of the sorted ids as little-endian int64): a seed
# must keep selecting the same pictures, or no published figure could be reproduced.
RESEARCH_SELECTIONS = {
    ("0.33%", 0): "9f3ec6a735505ba3", ("0.33%", 1): "d5fb04a1b9b85490",
    ("0.33%", 2): "9bc05e957c93e515", ("1.67%", 0): "70f3962dcf73c1a5",
    ("1.67%", 1): "a153fde138d64f71", ("1.67%", 2): "59b79d4cd55f5dac",
    ("16.67%", 0): "7e160e8615a09dd5", ("16.67%", 1): "7b759b5ecf72f1e2",
    ("16.67%", 2): "52dd14ca5189c5ad",
}


def test_the_research_budgets_select_the_same_pictures_as_before(quickdraw_dir, tfds_dir):
  import hashlib

  from sources import split_plan
  source = tfds_source.SourceSpec("quickdraw_files/default_train3499_test500", tfds_dir,
                                  str(quickdraw_dir))
  builder = tfds_source.load_builder(source)
  for (budget, seed), expected in RESEARCH_SELECTIONS.items():
    plan = split_plan.make_plan(builder, source, budget, seed)
    ids = np.flatnonzero(plan.train_roles == split_plan.LABELED)
    assert hashlib.sha256(ids.astype("<i8").tobytes()).hexdigest()[:16] == expected, (budget, seed)
    assert plan.budget_note == ""  # balanced data, balanced budgets: nothing to say
