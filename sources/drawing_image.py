"""Any picture to what the model reads: a grey drawing (uint8 [H, W], light ink on a dark
background; 28 x 28 for drawings and digits) or a colour picture (uint8 [H, W, 3]).

One conversion for every entry point that takes pictures: the image-folder source, the model's
image signature and `fewlabels predict` all call `picture_from_bytes` / `to_picture`, in
TensorFlow, so that TF Serving can run it inside the SavedModel and all three give the same
pixels for the same file. Grey pictures are read as drawings (`drawing_from_pixels`): decode
(`decode`: PNG, JPEG, GIF, BMP in TensorFlow; WebP and what TensorFlow cannot read by Pillow, on
the file side only), transparent parts composited over white paper, grayscale (ITU-R 601 luma),
16-bit scaled to 8, ink polarity made Quick, Draw!'s (light ink on dark; `auto` flips a picture
whose border is light, as scanned or drawn dark-on-light pictures are), then fitted into the
model's size with the aspect ratio kept (padding with the background, never stretching). Colour
pictures (`picture_from_pixels`) keep their colours and have no polarity. Files larger than
`MAX_PIXELS` are refused from their header, before decoding.
"""
import functools
import io
from typing import Tuple, Union

import numpy as np
import tensorflow as tf
from PIL import Image

from sources import features
from sources import image_files
from sources.errors import DataSourceError

MAX_PIXELS = 100_000_000  # 10,000 x 10,000: bigger pictures are refused, named, before decoding
POLARITIES = image_files.POLARITIES
# Pillow's own guard would refuse big pictures with a message that does not say their size;
# `to_picture` checks MAX_PIXELS from the header itself, before anything is decoded.
Image.MAX_IMAGE_PIXELS = None
_TF_FORMATS = ("PNG", "JPEG", "GIF", "BMP")  # what tf.io.decode_image reads (TF Serving too)
_GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # Pillow's


check_polarity = image_files.check_polarity


def luma(rgb: tf.Tensor) -> tf.Tensor:
  """float [..., 3] RGB -> [..., 1] grey, with the ITU-R 601 weights (as Pillow's "L")."""
  return tf.tensordot(rgb, tf.constant(features.LUMA), 1)[..., None]


def drawing_from_pixels(pixels: tf.Tensor, polarity: str = "auto",
                        size: Tuple[int, int] = features.DRAWING_SHAPE[:2]) -> tf.Tensor:
  """uint8 [H, W, C] (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) -> uint8 `size` (28 x 28)."""
  check_polarity(polarity)
  values = tf.cast(pixels, tf.float32)
  channels = tf.shape(values)[-1]
  has_alpha = tf.equal(channels % 2, 0)
  colors = tf.cond(has_alpha, lambda: values[..., :-1], lambda: values)
  alpha = tf.cond(has_alpha, lambda: values[..., -1:] / 255.0, lambda: tf.ones_like(values[..., :1]))
  lightness = tf.cond(tf.shape(colors)[-1] >= 3,
                      lambda: luma(colors[..., :3]),
                      lambda: colors[..., :1])
  gray = lightness * alpha + 255.0 * (1.0 - alpha)  # transparent parts are paper, as a viewer shows
  if polarity == "auto":
    border = tf.concat([gray[0], gray[-1], gray[:, 0], gray[:, -1]], axis=0)
    dark_on_light = tf.reduce_mean(border) > 127.5
  else:
    dark_on_light = tf.constant(polarity == "dark_on_light")
  ink = tf.where(dark_on_light, 255.0 - gray, gray)
  out_height, out_width = size
  shape = tf.cast(tf.shape(ink)[:2], tf.float32)
  scale = tf.minimum(out_height / shape[0], out_width / shape[1])
  fitted = tf.minimum(tf.maximum(1, tf.cast(tf.round(shape * scale), tf.int32)),
                      tf.constant([out_height, out_width]))
  resized = tf.image.resize(ink, fitted, method="bilinear", antialias=True)
  padded = tf.image.pad_to_bounding_box(resized, (out_height - fitted[0]) // 2,
                                        (out_width - fitted[1]) // 2, out_height, out_width)
  return tf.cast(tf.clip_by_value(tf.round(padded[..., 0]), 0, 255), tf.uint8)


def picture_from_pixels(pixels: tf.Tensor, size: Tuple[int, int]) -> tf.Tensor:
  """uint8 [H, W, C] (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) -> uint8 [height, width, 3]
  colour pictures of `size`: colours kept (grey made RGB, transparency on white), no polarity
  change, the aspect ratio kept and the rest padded with black."""
  height, width = size
  values = tf.cast(pixels, tf.float32)
  has_alpha = tf.equal(tf.shape(values)[-1] % 2, 0)
  colors = tf.cond(has_alpha, lambda: values[..., :-1], lambda: values)
  alpha = tf.cond(has_alpha, lambda: values[..., -1:] / 255.0, lambda: tf.ones_like(values[..., :1]))
  colors = colors * alpha + 255.0 * (1.0 - alpha)
  rgb = tf.cond(tf.shape(colors)[-1] >= 3, lambda: colors[..., :3],
                lambda: tf.tile(colors[..., :1], [1, 1, 3]))
  fitted = tf.image.resize_with_pad(rgb, height, width, antialias=True)
  return tf.cast(tf.clip_by_value(tf.round(fitted), 0, 255), tf.uint8)


def decode(encoded: tf.Tensor) -> tf.Tensor:
  """PNG, JPEG, GIF (first frame) or BMP bytes -> uint8 [H, W, C], in TensorFlow."""
  return tf.io.decode_image(encoded, dtype=tf.uint8, expand_animations=False)


def from_pixels(pixels: tf.Tensor, image_shape, polarity: str = "auto") -> tf.Tensor:
  """uint8 [H, W, C] -> a picture for a model of `image_shape`: a drawing (rows, [H, W]) for
  grey ones, a colour picture ([H, W, 3]) for RGB ones."""
  height, width, channels = image_shape
  if channels == 1:
    return drawing_from_pixels(pixels, polarity, (height, width))
  return picture_from_pixels(pixels, (height, width))


def picture_from_bytes(encoded: tf.Tensor, image_shape, polarity: str = "auto") -> tf.Tensor:
  """The image signature's conversion for a model of `image_shape`."""
  return from_pixels(decode(encoded), image_shape, polarity)


@functools.lru_cache(maxsize=None)
def _converters(image_shape: Tuple[int, int, int], polarity: str):
  """(from bytes, from pixels), traced once per geometry and polarity."""
  return (tf.function(lambda e: picture_from_bytes(e, image_shape, polarity),
                      input_signature=[tf.TensorSpec([], tf.string)]),
          tf.function(lambda x: from_pixels(x, image_shape, polarity),
                      input_signature=[tf.TensorSpec([None, None, None], tf.uint8)]))


def _pillow_pixels(image: Image.Image) -> np.ndarray:
  """A picture TensorFlow cannot decode (WebP, TIFF, CMYK JPEG...) as uint8 [H, W, C]."""
  image.seek(0)  # the first frame of an animation
  if image.mode.startswith("I;16") or image.mode in ("I", "F"):
    values = np.asarray(image, dtype=np.float64)
    top = values.max() or 1.0
    return np.round(values / top * 255).astype(np.uint8)[..., None]
  if image.mode == "P" and "transparency" in image.info:
    image = image.convert("RGBA")
  elif image.mode not in ("L", "LA", "RGB", "RGBA"):
    image = image.convert("RGBA" if "A" in image.mode else "RGB")
  pixels = np.asarray(image, dtype=np.uint8)
  return pixels[..., None] if pixels.ndim == 2 else pixels


def to_picture(source: Union[bytes, str], image_shape, polarity: str = "auto",
               name: str = "") -> np.ndarray:
  """Encoded image bytes or a file path -> a uint8 picture for a model of `image_shape`
  (picture_from_bytes' conversion); a DataSourceError naming it else."""
  return read_picture(source, image_shape, polarity, name)[0]


def read_picture(source: Union[bytes, str], image_shape, polarity: str = "auto",
                 name: str = "") -> Tuple[np.ndarray, bool]:
  """to_picture's picture, and whether the file itself was grey (its header's mode), so that a
  colour data set can count the grey files it made colour."""
  check_polarity(polarity)
  from_bytes, from_pixels_ = _converters(tuple(image_shape), polarity)
  name = name or (source if isinstance(source, str) else "image")
  try:
    encoded = source if isinstance(source, bytes) else open(source, "rb").read()
  except OSError as e:
    raise DataSourceError(f"{name}: cannot be read ({e.strerror or e})") from None
  try:
    with Image.open(io.BytesIO(encoded)) as image:  # the header only, so far
      if image.width * image.height > MAX_PIXELS:
        raise DataSourceError(f"{name}: {image.width} x {image.height} pixels, more than the "
                              f"{MAX_PIXELS:,} a picture may have")
      grey = image.mode in _GREY_MODES
      if image.format in _TF_FORMATS and image.mode != "CMYK":
        try:
          return from_bytes(tf.constant(encoded)).numpy(), grey
        except tf.errors.InvalidArgumentError:
          pass  # a variant TensorFlow does not read (16-bit BMP...): Pillow's turn
      image.load()
      pixels = _pillow_pixels(image)
  except DataSourceError:
    raise
  except Image.UnidentifiedImageError:
    raise DataSourceError(f"{name}: not a readable image (not PNG, JPEG, GIF, BMP, WebP or "
                          "another format Pillow reads)") from None
  except (OSError, ValueError, SyntaxError) as e:
    raise DataSourceError(f"{name}: not a readable image ({str(e).splitlines()[0]})") from None
  return from_pixels_(tf.constant(pixels)).numpy(), grey
