"""An image folder's layout, read without TensorFlow (the CLI checks it in a second):

  DIR/labeled/<class name>/...   pictures of each class (subfolders allowed)
  DIR/unlabeled/...              pictures without a label, at any depth (optional)
  DIR/test/<class name>/...      a test set (optional; else --test-split holdout:N)

Walks are streamed, in sorted order (the same order on every machine), follow symbolic links
and visit each real folder once (a link loop is walked once, not forever). Hidden files
(`.DS_Store`, `._x.png`) are not pictures and are passed over.
"""
import hashlib
import os
from typing import Iterator, List, Tuple

from sources import features
from sources.errors import DataSourceError

NAME = "image_folder"
LABELED, UNLABELED, TEST = "labeled", "unlabeled", "test"
POLARITIES = ("auto", "light_on_dark", "dark_on_light")  # the ink; `auto`: from the border
# The prepared data's config name says how the pictures were made: POLARITY (28 x 28 grey
# drawings), POLARITY-SIDE (grey drawings of that side) or color-SIDE (colour pictures).
COLOR = "color"
MIN_SIDE = 8  # the architectures' pooling needs at least this many pixels a side
EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")


def is_picture(name: str) -> bool:
  return name.lower().endswith(EXTENSIONS)


def walk(folder: str) -> Iterator[str]:
  """Every file under `folder` (hidden ones excepted), as absolute paths, in sorted order."""
  seen = set()

  def visit(path: str) -> Iterator[str]:
    real = os.path.realpath(path)
    if real in seen:
      return  # a symbolic link back into a folder already walked
    seen.add(real)
    try:
      entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as e:
      raise DataSourceError(f"{path}: cannot be listed ({e.strerror or e})") from None
    for entry in entries:
      if entry.name.startswith("."):
        continue
      if entry.is_dir():
        yield from visit(entry.path)
      elif entry.is_file():
        yield entry.path

  yield from visit(folder)


def class_folders(root: str, part: str = LABELED) -> List[Tuple[str, str]]:
  """(class name, folder) of DIR/<part>, sorted by name; names are kept exactly."""
  base = os.path.join(root, part)
  return [(entry.name, entry.path) for entry in sorted(os.scandir(base), key=lambda e: e.name)
          if entry.is_dir() and not entry.name.startswith(".")]


def class_names(root: str) -> Tuple[str, ...]:
  """The class names of DIR/labeled, checked: a DataSourceError naming what is wrong."""
  if not os.path.isdir(root):
    raise DataSourceError(f"{root}: image folder not found")
  if not os.path.isdir(os.path.join(root, LABELED)):
    raise DataSourceError(f"{root}: no '{LABELED}' folder: expected {LABELED}/<class name>/ "
                          "holding each class's pictures")
  classes = class_folders(root)
  if len(classes) < 2:
    raise DataSourceError(f"{os.path.join(root, LABELED)}: {len(classes)} class folder(s), "
                          "expected at least 2 (one folder per class)")
  return tuple(name for name, _ in classes)


def check(root: str, test_split: str) -> None:
  """The layout, before any picture is decoded: every class folder has a picture, the test
  folder (when it is the test split) has the same classes."""
  names = class_names(root)
  for name, folder in class_folders(root):
    if not any(True for _ in walk(folder)):
      raise DataSourceError(f"{folder}: the class folder {name!r} is empty")
  has_test = os.path.isdir(os.path.join(root, TEST))
  if test_split == "test":
    if not has_test:
      raise DataSourceError(f"{root}: no '{TEST}' folder: add {TEST}/<class name>/ or pass "
                            "--test-split holdout:N (N test pictures per class from labeled/)")
    if not any(True for _, folder in class_folders(root, TEST) for _ in walk(folder)):
      raise DataSourceError(f"{os.path.join(root, TEST)}: the test folder holds no picture in a "
                            f"class folder: add {TEST}/<class name>/ pictures or pass "
                            "--test-split holdout:N")
    extra = [name for name, _ in class_folders(root, TEST) if name not in names]
    if extra:
      raise DataSourceError(f"{os.path.join(root, TEST, extra[0])}: class {extra[0]!r} is not "
                            f"one of the {LABELED}/ classes")


def files_of(root: str, part: str, names: Tuple[str, ...]) -> Iterator[Tuple[str, int]]:
  """(path, label) of every file of DIR/<part>: labels index `names`; -1 in unlabeled/."""
  if part == UNLABELED:
    folder = os.path.join(root, UNLABELED)
    if os.path.isdir(folder):
      yield from ((path, -1) for path in walk(folder))
    return
  for name, folder in class_folders(root, part):
    label = names.index(name)
    yield from ((path, label) for path in walk(folder))


def fingerprint(root: str, extra: str = "") -> str:
  """A hash of every file's path, size and modification time: a changed folder is a new data
  set (prepared anew; ExampleGen's cache is not reused)."""
  digest = hashlib.sha256(extra.encode())
  for part in (LABELED, UNLABELED, TEST):
    if os.path.isdir(os.path.join(root, part)):
      for path in walk(os.path.join(root, part)):
        stat = os.stat(path)
        digest.update(f"{os.path.relpath(path, root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
                      .encode("utf-8", "surrogateescape"))
  return digest.hexdigest()[:16]


def check_side(side) -> int:
  """An image size the models can be built for: a whole number from MIN_SIDE to the cap."""
  if isinstance(side, bool) or not isinstance(side, int) or not (
      MIN_SIDE <= side <= features.MAX_IMAGE_SIDE):
    raise DataSourceError(f"image size {side!r} must be a whole number of pixels from "
                          f"{MIN_SIDE} to {features.MAX_IMAGE_SIDE}")
  return side


def config_name(polarity: str, side: int = features.IMAGE_SIZE, color: bool = False) -> str:
  """The prepared data's config name for pictures made this way (parse_config reads it)."""
  check_side(side)
  if color:
    return f"{COLOR}-{side}"
  check_polarity(polarity)
  return polarity if side == features.IMAGE_SIZE else f"{polarity}-{side}"


def parse_config(name: str) -> Tuple[str, Tuple[int, int, int]]:
  """A config name -> (polarity, the pictures' (height, width, channels))."""
  kind, dash, side_text = (name or "auto").partition("-")
  side = features.IMAGE_SIZE
  if dash:
    if not side_text.isdigit():
      raise DataSourceError(f"image folder config {name!r}: the size {side_text!r} is not a "
                            "number of pixels")
    side = check_side(int(side_text))
  if kind == COLOR:
    return "auto", (side, side, 3)
  return check_polarity(kind), (side, side, 1)


def check_polarity(polarity: str) -> str:
  if polarity not in POLARITIES:
    raise DataSourceError(f"polarity {polarity!r} must be one of {', '.join(POLARITIES)}")
  return polarity
