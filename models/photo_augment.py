"""Augmentations of photos as TensorFlow ops, for consistency training inside the train step.

The weak view is a horizontal flip and a shift; the strong view a RandAugment-style policy
(Cubuk et al. 2020, as FixMatch uses it): per image, `ops` operations drawn at random from
colour, contrast, brightness, solarize, posterize, sharpness and affine (rotate, shear,
translate), each at a magnitude drawn uniformly up to `magnitude`, then cutout. Every op takes
and returns uint8 [n, height, width, channels] (1 or 3 channels; the colour op leaves grey
pictures as they are) and draws its randomness from a stateless seed pair: the same seed gives
the same images on every worker. Every strength at 0 is the identity, op by op.
"""
import math

import tensorflow as tf

from models.config import PhotoAugmentation
from sources import drawing_image

GREY = 128.0  # what shifted-in borders and cutout squares are filled with
# The policy's operations, by index: each maps (float images in [0, 255], per-image magnitude
# in [0, 1], seed) to images; at magnitude 0 each is the identity.
OPS = ("colour", "contrast", "brightness", "solarize", "posterize", "sharpness", "rotate",
       "shear_x", "shear_y", "translate")
_MAX_ROTATE_DEGREES = 30.0
_MAX_SHEAR = 0.3
_MAX_TRANSLATE = 0.3  # of the side
_MAX_ENHANCE = 0.9  # colour, contrast, brightness, sharpness: factor in 1 +- this


def _sub_seed(seed: tf.Tensor, index: int) -> tf.Tensor:
  return tf.random.experimental.stateless_fold_in(seed, index)


def _per_image(values: tf.Tensor) -> tf.Tensor:
  return tf.reshape(values, [-1, 1, 1, 1])


def _blend(degenerate: tf.Tensor, x: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
  """PIL's ImageEnhance: factor 1 is the image, 0 the degenerate one, > 1 extrapolates."""
  return degenerate + _per_image(factor) * (x - degenerate)


def _signed(magnitude: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  """The magnitude with a random sign per image."""
  sign = tf.where(tf.random.stateless_uniform(tf.shape(magnitude), seed=seed) < 0.5, -1.0, 1.0)
  return magnitude * sign


def _grey(x: tf.Tensor) -> tf.Tensor:
  if x.shape[-1] == 1:
    return x
  return drawing_image.luma(x)


def _transform(x: tf.Tensor, transforms: tf.Tensor) -> tf.Tensor:
  return tf.raw_ops.ImageProjectiveTransformV3(
      images=x, transforms=transforms, output_shape=tf.shape(x)[1:3], fill_value=GREY,
      interpolation="BILINEAR", fill_mode="CONSTANT")


def _affine(x: tf.Tensor, angle=None, shear_x=None, shear_y=None, dx=None, dy=None):
  """[n, 8] output-to-input maps about the centre: rotation, shears, then a shift in pixels."""
  n = tf.shape(x)[0]
  zeros = tf.zeros([n])
  angle = zeros if angle is None else angle
  sx = zeros if shear_x is None else shear_x
  sy = zeros if shear_y is None else shear_y
  dx = zeros if dx is None else dx
  dy = zeros if dy is None else dy
  cos, sin = tf.cos(angle), tf.sin(angle)
  # Output -> input: rotate by -angle, then the shears, about the centre; then the shift.
  a00, a01 = cos + sx * sin, -sin + sx * cos
  a10, a11 = sin + sy * cos, cos - sy * sin
  cy = (tf.cast(tf.shape(x)[1], tf.float32) - 1) / 2
  cx = (tf.cast(tf.shape(x)[2], tf.float32) - 1) / 2
  b0 = cx - a00 * cx - a01 * cy - dx
  b1 = cy - a10 * cx - a11 * cy - dy
  return _transform(x, tf.stack([a00, a01, b0, a10, a11, b1, zeros, zeros], axis=1))


def _op(index: int, x: tf.Tensor, m: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  name = OPS[index]
  side = tf.cast(tf.shape(x)[2], tf.float32)
  if name == "colour":
    return x if x.shape[-1] == 1 else _blend(_grey(x), x, 1 + _signed(m * _MAX_ENHANCE, seed))
  if name == "contrast":
    mean = tf.reduce_mean(_grey(x), axis=[1, 2, 3], keepdims=True)
    return _blend(mean, x, 1 + _signed(m * _MAX_ENHANCE, seed))
  if name == "brightness":
    return _blend(tf.zeros_like(x), x, 1 + _signed(m * _MAX_ENHANCE, seed))
  if name == "solarize":  # pixels above the threshold are inverted; 256 at magnitude 0
    threshold = _per_image(256.0 - 256.0 * m)
    return tf.where(x >= threshold, 255.0 - x, x)
  if name == "posterize":  # keep 8 - 4m bits (rounded): 8 at magnitude 0
    shift = _per_image(tf.round(4.0 * m))
    step = tf.pow(2.0, shift)
    return tf.floor(x / step) * step
  if name == "sharpness":
    kernel = tf.constant([[1, 1, 1], [1, 5, 1], [1, 1, 1]], tf.float32) / 13.0
    channels = x.shape[-1]
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
    smooth = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")
    # The border keeps its pixels, as PIL does.
    inner = tf.pad(tf.ones_like(smooth[:, 1:-1, 1:-1]), [[0, 0], [1, 1], [1, 1], [0, 0]])
    smooth = inner * smooth + (1 - inner) * x
    return _blend(smooth, x, 1 + _signed(m * _MAX_ENHANCE, seed))
  if name == "rotate":
    return _affine(x, angle=_signed(m * _MAX_ROTATE_DEGREES * math.pi / 180, seed))
  if name == "shear_x":
    return _affine(x, shear_x=_signed(m * _MAX_SHEAR, seed))
  if name == "shear_y":
    return _affine(x, shear_y=_signed(m * _MAX_SHEAR, seed))
  return _affine(x, dx=_signed(m * _MAX_TRANSLATE * side, seed),
                 dy=_signed(m * _MAX_TRANSLATE * side, _sub_seed(seed, 1)))


def _flip(x: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
  flip = tf.random.stateless_uniform([tf.shape(x)[0], 1, 1, 1], seed=seed) < 0.5
  return tf.where(flip, tf.reverse(x, axis=[2]), x)


def _shift(x: tf.Tensor, fraction: float, seed: tf.Tensor) -> tf.Tensor:
  """A shift of up to `fraction` of each side, in whole pixels (no blur of the picture)."""
  n = tf.shape(x)[0]
  bound = [fraction * tf.cast(tf.shape(x)[2], tf.float32),
           fraction * tf.cast(tf.shape(x)[1], tf.float32)]
  dx = tf.round(tf.random.stateless_uniform([n], seed=seed, minval=-bound[0], maxval=bound[0]))
  dy = tf.round(tf.random.stateless_uniform([n], seed=_sub_seed(seed, 1), minval=-bound[1],
                                            maxval=bound[1]))
  return _affine(x, dx=dx, dy=dy)


def _cutout(x: tf.Tensor, fraction: float, seed: tf.Tensor) -> tf.Tensor:
  """One square per image, its side `fraction` of the shorter side, centred anywhere, grey."""
  n, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
  half = tf.cast(tf.round(fraction * tf.cast(tf.minimum(height, width), tf.float32) / 2),
                 tf.int32)
  cy = tf.random.stateless_uniform([n, 1], seed=seed, maxval=height, dtype=tf.int32)
  cx = tf.random.stateless_uniform([n, 1], seed=_sub_seed(seed, 1), maxval=width,
                                   dtype=tf.int32)
  rows = tf.abs(tf.range(height)[None] - cy) < half
  cols = tf.abs(tf.range(width)[None] - cx) < half
  inside = (rows[:, :, None] & cols[:, None, :])[..., None]
  return tf.where(inside, tf.fill(tf.shape(x), GREY), x)


def augment(images: tf.Tensor, spec: PhotoAugmentation, seed: tf.Tensor) -> tf.Tensor:
  """uint8 [n, height, width, channels] -> the same shape and dtype; `seed` an int pair."""
  if spec.is_identity:
    return images
  seed = tf.cast(seed, tf.int64)
  x = tf.cast(images, tf.float32)
  if spec.flip:
    x = _flip(x, _sub_seed(seed, 1))
  if spec.translate:
    x = _shift(x, spec.translate, _sub_seed(seed, 2))
  n = tf.shape(x)[0]
  for round_ in range(spec.ops):
    round_seed = _sub_seed(seed, 10 + round_)
    chosen = tf.random.stateless_uniform([n], seed=_sub_seed(round_seed, 0), maxval=len(OPS),
                                         dtype=tf.int32)
    magnitude = tf.random.stateless_uniform([n], seed=_sub_seed(round_seed, 1),
                                            maxval=spec.magnitude)
    out = x
    for index in range(len(OPS)):
      applied = tf.clip_by_value(_op(index, x, magnitude, _sub_seed(round_seed, 2 + index)),
                                 0.0, 255.0)
      out = tf.where(tf.reshape(chosen == index, [-1, 1, 1, 1]), applied, out)
    x = out
  if spec.cutout:
    x = _cutout(x, spec.cutout, _sub_seed(seed, 3))
  return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
