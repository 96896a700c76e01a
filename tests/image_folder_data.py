"""A folder of your own pictures, as a user would have it: PNG and JPEG, mixed sizes and modes,
dark-on-light and light-on-dark, class names with spaces and non-ASCII letters, and an
unlabeled pile at some depth. Classes a small model learns in seconds: a bar across, a bar
down and (with UNEVEN_CLASSES) a hollow box."""
import os
from typing import Sequence, Union

import numpy as np
from PIL import Image

CLASSES = ("bar across", "barre verticale é")
UNEVEN_CLASSES = CLASSES + ("box",)


def picture(label: int, rng: np.random.Generator, dark_on_light: bool, mode: str) -> Image.Image:
  height, width = (int(v) for v in rng.integers(24, 120, 2))
  pixels = np.zeros((height, width), np.uint8)
  thick = max(2, min(height, width) // 8)
  offset = int(rng.integers(-3, 4))
  if label == 0:
    middle = height // 2 + offset
    pixels[middle - thick:middle + thick, width // 8:width - width // 8] = 255
  elif label == 1:
    middle = width // 2 + offset
    pixels[height // 8:height - height // 8, middle - thick:middle + thick] = 255
  else:
    top, left = height // 6, width // 6
    pixels[top:height - top, left:width - left] = 255
    pixels[top + thick:height - top - thick, left + thick:width - left - thick] = 0
  if dark_on_light:
    pixels = 255 - pixels
  return Image.fromarray(pixels).convert(mode)


def write(root: str, labeled: Union[int, Sequence[int]] = 40, unlabeled: int = 120,
          test: int = 20, seed: int = 0, classes: Sequence[str] = CLASSES) -> None:
  """`labeled` (one count for every class, or one per class) and `test` pictures per class;
  `unlabeled` in unlabeled/batch 1/deeper/ (an empty unlabeled/ for 0)."""
  per_labeled = [labeled] * len(classes) if isinstance(labeled, int) else list(labeled)
  rng = np.random.default_rng(seed)
  count = 0

  def save(folder, label):
    nonlocal count
    os.makedirs(folder, exist_ok=True)
    mode = ("L", "RGB", "RGBA", "P")[count % 4]
    fmt = "png" if count % 3 else "jpg"
    image = picture(label, rng, dark_on_light=bool(count % 2), mode=mode)
    if fmt == "jpg" and mode in ("RGBA", "P"):
      image = image.convert("RGB")
    image.save(os.path.join(folder, f"picture {count:04d}.{fmt}"))
    count += 1

  for part, counts in (("labeled", per_labeled), ("test", [test] * len(classes))):
    for label, (name, per_class) in enumerate(zip(classes, counts)):
      for _ in range(per_class):
        save(os.path.join(root, part, name), label)
  os.makedirs(os.path.join(root, "unlabeled"), exist_ok=True)
  for index in range(unlabeled):
    save(os.path.join(root, "unlabeled", "batch 1", "deeper"), index % len(classes))


COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 70, 220)}


def colour_picture(label: int, rng: np.random.Generator) -> Image.Image:
  """A photo-like file: a square of the class's colour on grey noise, of a random size and
  aspect ratio."""
  height, width = (int(v) for v in rng.integers(20, 90, 2))
  pixels = rng.integers(90, 160, (height, width, 3)).astype(np.uint8)
  side = max(4, min(height, width) // 2)
  top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
  pixels[top:top + side, left:left + side] = list(COLOURS.values())[label]
  return Image.fromarray(pixels)


def write_colour(root: str, labeled: int = 30, unlabeled: int = 30, test: int = 15,
                 grey_unlabeled: int = 0, seed: int = 0) -> None:
  """Colour pictures of COLOURS as PNG and JPEG files; the last `grey_unlabeled` of the pile
  are grey files, as a folder of photos may hold."""
  rng = np.random.default_rng(seed)
  count = 0

  def save(folder, label, grey=False):
    nonlocal count
    os.makedirs(folder, exist_ok=True)
    image = colour_picture(label, rng)
    image.convert("L" if grey else "RGB").save(
        os.path.join(folder, f"photo {count:04d}.{'jpg' if count % 2 else 'png'}"))
    count += 1

  for part, per_class in (("labeled", labeled), ("test", test)):
    for label, name in enumerate(COLOURS):
      for _ in range(per_class):
        save(os.path.join(root, part, name), label)
  os.makedirs(os.path.join(root, "unlabeled"), exist_ok=True)
  for index in range(unlabeled):
    save(os.path.join(root, "unlabeled"), index % len(COLOURS),
         grey=index >= unlabeled - grey_unlabeled)
