"""Any picture to a drawing the model reads: uint8 [28, 28], light ink on a dark background.

One conversion for every entry point that takes pictures: the image-folder source, the model's
image signature and `fewlabels predict` all call `drawing_from_pixels`, in TensorFlow, so that
TF Serving can run it inside the SavedModel and all three give the same pixels for the same file.
Steps: decode (`decode`: PNG, JPEG, GIF, BMP in TensorFlow; WebP and what TensorFlow cannot read
by Pillow, on the file side only), transparent parts composited over white paper, grayscale
(ITU-R 601 luma), 16-bit scaled to 8, ink polarity made Quick, Draw!'s (light ink on dark;
`auto` flips a picture whose border is light, as scanned or drawn dark-on-light pictures are),
then fitted into 28 x 28 with its aspect ratio kept (padding with the background, never
stretching). Files larger than `MAX_PIXELS` are refused from their header, before decoding.
"""
import io
from typing import Union

import numpy as np
import tensorflow as tf
from PIL import Image

from sources import features
from sources import image_files
from sources.errors import DataSourceError

SIZE = features.IMAGE_SIZE
MAX_PIXELS = 100_000_000  # 10,000 x 10,000: bigger pictures are refused, named, before decoding
POLARITIES = image_files.POLARITIES
# Pillow's own guard would refuse big pictures with a message that does not say their size;
# `to_drawing` checks MAX_PIXELS from the header itself, before anything is decoded.
Image.MAX_IMAGE_PIXELS = None
_TF_FORMATS = ("PNG", "JPEG", "GIF", "BMP")  # what tf.io.decode_image reads (TF Serving too)


check_polarity = image_files.check_polarity


def luma(rgb: tf.Tensor) -> tf.Tensor:
  """float [..., 3] RGB -> [..., 1] grey, with the ITU-R 601 weights (as Pillow's "L")."""
  return tf.tensordot(rgb, tf.constant([0.299, 0.587, 0.114]), 1)[..., None]


def drawing_from_pixels(pixels: tf.Tensor, polarity: str = "auto") -> tf.Tensor:
  """uint8 [H, W, C] (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) -> uint8 [28, 28]."""
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
  height, width = tf.shape(ink)[0], tf.shape(ink)[1]
  scale = SIZE / tf.cast(tf.maximum(height, width), tf.float32)
  size = tf.maximum(1, tf.cast(tf.round(tf.cast(tf.stack([height, width]), tf.float32) * scale),
                               tf.int32))
  resized = tf.image.resize(ink, size, method="bilinear", antialias=True)
  padded = tf.image.pad_to_bounding_box(resized, (SIZE - size[0]) // 2, (SIZE - size[1]) // 2,
                                        SIZE, SIZE)
  return tf.cast(tf.clip_by_value(tf.round(padded[..., 0]), 0, 255), tf.uint8)


def picture_from_pixels(pixels: tf.Tensor, image_shape) -> tf.Tensor:
  """uint8 [H, W, C] (C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) -> uint8 pictures of
  `image_shape` (height, width, channels) for data that are not drawings: colours kept (grey
  made RGB or RGB made grey as the data's channels want, transparency on white), no polarity
  change, the aspect ratio kept and the rest padded with black."""
  height, width, channels = image_shape
  values = tf.cast(pixels, tf.float32)
  has_alpha = tf.equal(tf.shape(values)[-1] % 2, 0)
  colors = tf.cond(has_alpha, lambda: values[..., :-1], lambda: values)
  alpha = tf.cond(has_alpha, lambda: values[..., -1:] / 255.0, lambda: tf.ones_like(values[..., :1]))
  colors = colors * alpha + 255.0 * (1.0 - alpha)
  rgb = tf.cond(tf.shape(colors)[-1] >= 3, lambda: colors[..., :3],
                lambda: tf.tile(colors[..., :1], [1, 1, 3]))
  picture = (rgb if channels == 3 else
             luma(rgb))
  fitted = tf.image.resize_with_pad(picture, height, width, antialias=True)
  out = tf.cast(tf.clip_by_value(tf.round(fitted), 0, 255), tf.uint8)
  return out[..., 0] if channels == 1 else out  # grey pictures as rows, as the models take them


def decode(encoded: tf.Tensor) -> tf.Tensor:
  """PNG, JPEG, GIF (first frame) or BMP bytes -> uint8 [H, W, C], in TensorFlow."""
  return tf.io.decode_image(encoded, dtype=tf.uint8, expand_animations=False)


def drawing_from_bytes(encoded: tf.Tensor, polarity: str = "auto") -> tf.Tensor:
  """The image signature's conversion: encoded bytes -> uint8 [28, 28]."""
  return drawing_from_pixels(decode(encoded), polarity)


def picture_from_bytes(encoded: tf.Tensor, image_shape, polarity: str = "auto") -> tf.Tensor:
  """The image signature's conversion for a model of `image_shape`: a drawing's for 28 x 28
  grey pictures, picture_from_pixels' for any other."""
  if tuple(image_shape) == features.DRAWING_SHAPE:
    return drawing_from_bytes(encoded, polarity)
  return picture_from_pixels(decode(encoded), image_shape)


_CONVERT = {polarity: tf.function(lambda e, p=polarity: drawing_from_bytes(e, p),
                                  input_signature=[tf.TensorSpec([], tf.string)])
            for polarity in POLARITIES}
_CONVERT_PIXELS = {polarity: tf.function(lambda x, p=polarity: drawing_from_pixels(x, p),
                                         input_signature=[tf.TensorSpec([None, None, None],
                                                                        tf.uint8)])
                   for polarity in POLARITIES}


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


def to_drawing(source: Union[bytes, str], polarity: str = "auto", name: str = "") -> np.ndarray:
  """Encoded image bytes or a file path -> uint8 [28, 28]; a DataSourceError naming it else."""
  return to_picture(source, features.DRAWING_SHAPE, polarity, name)


def to_picture(source: Union[bytes, str], image_shape, polarity: str = "auto",
               name: str = "") -> np.ndarray:
  """Encoded image bytes or a file path -> a uint8 picture for a model of `image_shape`
  (picture_from_bytes' conversion); a DataSourceError naming it else."""
  check_polarity(polarity)
  drawing = tuple(image_shape) == features.DRAWING_SHAPE
  from_bytes = _CONVERT[polarity] if drawing else (
      lambda e: picture_from_bytes(e, image_shape, polarity))
  from_pixels = _CONVERT_PIXELS[polarity] if drawing else (
      lambda x: picture_from_pixels(x, image_shape))
  name = name or (source if isinstance(source, str) else "image")
  try:
    encoded = source if isinstance(source, bytes) else open(source, "rb").read()
  except OSError as e:
    raise DataSourceError(f"{name}: cannot be read ({e.strerror or e})") from None
  try:
    with Image.open(io.BytesIO(encoded)) as image:  # the header only, so far
      if image.width * image.height > MAX_PIXELS:
        raise DataSourceError(f"{name}: {image.width} x {image.height} pixels, more than the "
                              f"{MAX_PIXELS:,} a drawing may have")
      if image.format in _TF_FORMATS and image.mode != "CMYK":
        try:
          return from_bytes(tf.constant(encoded)).numpy()
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
  return from_pixels(tf.constant(pixels)).numpy()
