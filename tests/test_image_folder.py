"""Your own pictures in folders: the source reads them in a fixed order with their class names and
paths, keeps the unlabeled pile without labels, and refuses a bad folder in one line."""
import os
import struct
import zlib

import numpy as np
import pytest

from sources import drawing_image
from sources import features
from sources import image_files
from sources import image_folder
from sources import local_files
from sources import split_plan
from sources import tfds_source
from sources.errors import DataSourceError
from tests import image_folder_data


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("pictures") / "my pictures")
  image_folder_data.write(root, labeled=6, unlabeled=10, test=3)
  return root


def _source(root, data_dir, **changes):
  return tfds_source.SourceSpec(changes.pop("dataset", "image_folder"), str(data_dir), root,
                                **changes)


def test_classes_paths_and_the_unlabeled_pile(folder, tmp_path):
  source = _source(folder, tmp_path)
  builder = tfds_source.load_builder(source)
  assert tfds_source.builder_class_names(builder, "image_folder") == image_folder_data.CLASSES
  paths = image_folder.paths_by_id(builder)
  assert len(paths) == 2 * 6 + 10
  plan = split_plan.make_plan(builder, source, "all", seed=0)
  assert plan.counts() == {"labeled": 12, "unlabeled": 10, "test": 6}
  assert plan.has_unlabeled_source()
  # Every id points back to its file, and the pile never gets a label.
  labels = split_plan.read_labels(builder, "train")
  for path, label in zip(paths, labels):
    assert os.path.isfile(os.path.join(folder, path))
    part, *rest = path.split(os.sep)
    assert (label == -1) == (part == "unlabeled")
    if part == "labeled":
      assert image_folder_data.CLASSES[label] == rest[0]
  # The stored pixels are the one conversion's, for every file.
  for (pixels, _), path in zip(builder.as_dataset(split="train", as_supervised=True,
                                                  shuffle_files=False).take(5), paths):
    np.testing.assert_array_equal(pixels.numpy()[..., 0], drawing_image.to_picture(
        os.path.join(folder, path), features.DRAWING_SHAPE))


def test_a_budget_still_simulates_a_study_and_never_labels_the_pile(folder, tmp_path):
  source = _source(folder, tmp_path)
  plan = split_plan.make_plan(tfds_source.load_builder(source), source, "4", seed=0)
  assert plan.counts() == {"labeled": 4, "unlabeled": 8 + 10, "test": 6}
  assert len(plan.pool_labels()) == 12  # the budget chooses among labeled pictures only


def test_the_order_is_the_same_and_a_changed_folder_is_new_data(tmp_path):
  root = str(tmp_path / "pictures")
  image_folder_data.write(root, labeled=3, unlabeled=2, test=1)
  first = list(image_files.walk(root))
  assert first == sorted(first) and first == list(image_files.walk(root))
  before = image_files.fingerprint(root)
  image_folder_data.write(os.path.join(root, "unlabeled", "more"), labeled=0, unlabeled=1, test=0)
  assert image_files.fingerprint(root) != before


def test_a_symlink_loop_in_the_pile_is_walked_once(tmp_path):
  root = str(tmp_path / "pictures")
  image_folder_data.write(root, labeled=2, unlabeled=2, test=1)
  deeper = os.path.join(root, "unlabeled", "batch 1", "deeper")
  os.symlink(os.path.join(root, "unlabeled"), os.path.join(deeper, "loop"))
  assert len(list(image_files.files_of(root, "unlabeled", ()))) == 2


def _one_line(error):
  message = str(error.value)
  assert "\n" not in message
  return message


@pytest.mark.parametrize("layout,fragment", [
    ("no labeled", "no 'labeled' folder"),
    ("one class", "1 class folder(s), expected at least 2"),
    ("empty class", "the class folder 'bar across' is empty"),
    ("no test", "no 'test' folder: add test/<class name>/ or pass --test-split holdout:N"),
    ("unknown test class", "class 'cat' is not one of the labeled/ classes"),
    ("empty test", "the test folder holds no picture in a class folder"),
])
def test_a_bad_layout_is_one_line_before_any_picture_is_read(tmp_path, layout, fragment):
  root = str(tmp_path / "pictures")
  image_folder_data.write(root, labeled=2, unlabeled=1, test=1)
  labeled = os.path.join(root, "labeled")
  if layout == "no labeled":
    os.rename(labeled, os.path.join(root, "labelled"))
  elif layout == "one class":
    for name in os.listdir(os.path.join(labeled, image_folder_data.CLASSES[1])):
      os.remove(os.path.join(labeled, image_folder_data.CLASSES[1], name))
    os.rmdir(os.path.join(labeled, image_folder_data.CLASSES[1]))
  elif layout == "empty class":
    for name in os.listdir(os.path.join(labeled, "bar across")):
      os.remove(os.path.join(labeled, "bar across", name))
  elif layout == "no test":
    os.rename(os.path.join(root, "test"), os.path.join(root, "tests"))
  elif layout == "empty test":
    for folder, _, files in os.walk(os.path.join(root, "test")):
      for name in files:
        os.remove(os.path.join(folder, name))
  else:
    os.makedirs(os.path.join(root, "test", "cat"))
  with pytest.raises(DataSourceError) as error:
    local_files.check("image_folder", root, "test")
  assert fragment in _one_line(error)


def test_a_missing_folder_and_a_bad_polarity_are_named(tmp_path):
  with pytest.raises(DataSourceError, match="needs the folder: --manual-dir DIR"):
    local_files.check("image_folder", None)
  with pytest.raises(DataSourceError, match=f"{tmp_path / 'nowhere'}: image folder not found"):
    local_files.check("image_folder", str(tmp_path / "nowhere"))
  with pytest.raises(DataSourceError, match="polarity 'inverted' must be one of"):
    local_files.check("image_folder/inverted", str(tmp_path))


def test_a_corrupt_picture_fails_naming_it_or_is_skipped_and_counted(tmp_path):
  root = str(tmp_path / "pictures")
  image_folder_data.write(root, labeled=3, unlabeled=2, test=1)
  bad = sorted(image_files.walk(os.path.join(root, "labeled", "bar across")))[0]
  with open(bad, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # a PNG cut short
  notes = os.path.join(root, "unlabeled", "batch 1", "notes.txt")
  with open(notes, "w") as f:
    f.write("not a picture")
  with pytest.raises(DataSourceError) as error:
    tfds_source.load_builder(_source(root, tmp_path / "strict"))
  assert f"{bad}: not a readable image" in _one_line(error)
  assert "--skip-bad-images" in str(error.value)
  assert not list((tmp_path / "strict").rglob("dataset_info.json"))  # nothing looks prepared
  builder = tfds_source.load_builder(_source(root, tmp_path / "skip", skip_bad_images=True))
  assert sorted(image_folder.skipped_images(builder)) == sorted(
      [os.path.relpath(bad, root), os.path.relpath(notes, root)])
  assert builder.info.splits["train"].num_examples == 2 * 3 + 2 - 1


def _png_header(width, height):
  def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
  return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                             0, 0))
          + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))


def test_a_20000_pixel_square_is_refused_with_its_size_before_decoding(tmp_path):
  path = tmp_path / "huge.png"
  path.write_bytes(_png_header(20_000, 20_000))  # 100 bytes claiming 400 million pixels
  with pytest.raises(DataSourceError, match=r"huge.png: 20000 x 20000 pixels, more than"):
    drawing_image.to_picture(str(path), features.DRAWING_SHAPE)


def test_a_pool_method_on_a_folder_without_unlabeled_pictures_is_one_line(tmp_path):
  import shutil
  from models.config import ConfigError
  from pipeline import config as config_lib
  from pipeline import local_runner
  root = str(tmp_path / "pictures")
  image_folder_data.write(root, labeled=3, unlabeled=1, test=1)
  shutil.rmtree(os.path.join(root, "unlabeled"))
  data = config_lib.DataConfig(dataset="image_folder", tfds_data_dir=str(tmp_path / "tfds"),
                               manual_dir=root, label_budget="all")
  with pytest.raises(ConfigError) as error:
    local_runner.prepare(config_lib.PipelineConfig(data=data, method="consistency",
                                                   output_dir=str(tmp_path / "out")))
  assert f"{root} has no unlabeled pictures: add some to unlabeled/" in _one_line(error)
  plan = local_runner.prepare(config_lib.PipelineConfig(data=data, method="supervised",
                                                        output_dir=str(tmp_path / "out")))
  assert plan.counts() == {"labeled": 6, "unlabeled": 0, "test": 2}


def test_the_report_counts_and_names_the_skipped_pictures():
  import json
  from tfx.types import standard_artifacts
  from components.evaluation_report import executor as report
  from components.tfds_example_gen import spec
  examples = standard_artifacts.Examples()
  examples.set_string_custom_property(spec.SKIPPED_IMAGES_PROPERTY,
                                      json.dumps(["labeled/bar across/x é.png"]))
  html = report._data_section(examples, {}, {}, image_folder_data.CLASSES)
  assert "1 unreadable pictures were skipped" in html and "labeled/bar across/x é.png" in html


def test_a_colour_folder_keeps_its_colours_at_the_size_asked_and_counts_its_grey_files(
    tmp_path, caplog):
  root = str(tmp_path / "photos")
  image_folder_data.write_colour(root, labeled=3, unlabeled=6, test=2, grey_unlabeled=2)
  source = _source(root, tmp_path / "tfds", dataset="image_folder/color-24")
  with caplog.at_level("WARNING"):
    builder = tfds_source.load_builder(source)
  assert tfds_source.image_shape(builder) == (24, 24, 3)
  assert "2 of 15 pictures (labeled/unlabeled) were grey: made colour" in caplog.text
  paths = image_folder.paths_by_id(builder)
  for (pixels, label), path in zip(builder.as_dataset(split="train", as_supervised=True,
                                                      shuffle_files=False), paths):
    expected = drawing_image.to_picture(os.path.join(root, path), (24, 24, 3))
    np.testing.assert_array_equal(pixels.numpy(), expected)  # the one conversion's pixels
  red = [pixels.numpy() for pixels, label in builder.as_dataset(split="test", as_supervised=True)
         if int(label) == sorted(image_folder_data.COLOURS).index("red")]  # classes by name
  assert max(int((p[..., 0] > 200).sum()) for p in red) > 20  # red is still red
  grey = _source(root, tmp_path / "tfds", dataset="image_folder/dark_on_light-40")
  assert tfds_source.image_shape(tfds_source.load_builder(grey)) == (40, 40, 1)


@pytest.mark.parametrize("config,fragment", [
    ("color-0", "image size 0 must be a whole number of pixels from 8 to 512"),
    ("color-600", "image size 600 must be"), ("auto-big", "the size 'big' is not a number"),
    ("sepia", "polarity 'sepia' must be one of")])
def test_a_bad_geometry_in_the_config_name_is_one_line(tmp_path, config, fragment):
  root = str(tmp_path / "photos")
  image_folder_data.write_colour(root, labeled=1, unlabeled=0, test=1)
  with pytest.raises(DataSourceError, match=fragment):
    local_files.check(f"image_folder/{config}", root)
