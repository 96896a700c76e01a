"""Any picture to a drawing the model reads: uint8 [28, 28], light ink on a dark background.

One function for every entry point that takes pictures (issue 13: the image-folder source, the
model's image signature, `fewlabels predict`), so that all of them give the same pixels for the
same file. Steps: decode (PNG, JPEG, GIF, BMP, WebP; the first frame), to 8-bit grayscale
whatever the mode (RGB, RGBA over white, palette, 16-bit), ink polarity made Quick, Draw!'s
(light ink on dark; `auto` flips a picture whose border is light, as scanned or drawn dark-on-
light pictures are), then fitted into 28 x 28 with its aspect ratio kept (padding with the
background, never stretching). Pictures larger than `MAX_PIXELS` are refused before decoding.
"""
import io
from typing import Union

import numpy as np
from PIL import Image

from sources import features
from sources.errors import DataSourceError

SIZE = features.IMAGE_SIZE
MAX_PIXELS = 100_000_000  # 10,000 x 10,000: bigger pictures are refused, named, before decoding
POLARITIES = ("auto", "light_on_dark", "dark_on_light")


def _grayscale(image: Image.Image) -> np.ndarray:
  if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
    # Transparent parts are paper: composite over white, as a viewer shows them.
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    image = Image.alpha_composite(background, rgba)
  if image.mode in ("I;16", "I;16B", "I;16L", "I"):
    values = np.asarray(image, dtype=np.float64)
    top = values.max() or 1.0
    return np.round(values / top * 255).astype(np.uint8)
  return np.asarray(image.convert("L"), dtype=np.uint8)


def _light_on_dark(pixels: np.ndarray, polarity: str) -> np.ndarray:
  if polarity == "auto":
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    polarity = "dark_on_light" if border.mean() > 127 else "light_on_dark"
  return 255 - pixels if polarity == "dark_on_light" else pixels


def _fit(pixels: np.ndarray) -> np.ndarray:
  """Scaled so that the longer side is 28, centred on a dark square."""
  height, width = pixels.shape
  scale = SIZE / max(height, width)
  size = (max(1, round(width * scale)), max(1, round(height * scale)))
  resized = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))
  out = np.zeros((SIZE, SIZE), np.uint8)
  top, left = (SIZE - resized.shape[0]) // 2, (SIZE - resized.shape[1]) // 2
  out[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
  return out


def to_drawing(source: Union[bytes, str], polarity: str = "auto", name: str = "") -> np.ndarray:
  """Encoded image bytes or a file path -> uint8 [28, 28]; a DataSourceError naming it else."""
  if polarity not in POLARITIES:
    raise DataSourceError(f"polarity {polarity!r} must be one of {', '.join(POLARITIES)}")
  name = name or (source if isinstance(source, str) else "image")
  try:
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
      if image.width * image.height > MAX_PIXELS:
        raise DataSourceError(f"{name}: {image.width} x {image.height} pixels, more than the "
                              f"{MAX_PIXELS:,} a drawing may have")
      image.seek(0)  # the first frame of an animation
      pixels = _grayscale(image)
  except DataSourceError:
    raise
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise DataSourceError(f"{name}: not a readable image ({e})") from None
  return _fit(_light_on_dark(pixels, polarity))
