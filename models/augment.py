"""Augmentations of drawings as TensorFlow ops, for consistency training inside the train step.

Every op takes and returns uint8 [n, 28, 28] images (light ink on dark, as Quick, Draw!; any
other size, and [n, height, width, channels], alike), so
the model's own first layer still does the scaling, and draws its randomness from a stateless
seed pair: the same seed gives the same images, on every worker of a multi-worker run.
Strength 0 for every part is the identity.
"""
import math

import tensorflow as tf

from models.config import Augmentation


def _sub_seed(seed: tf.Tensor, index: int) -> tf.Tensor:
  return tf.random.experimental.stateless_fold_in(seed, index)


def _affine_transforms(n: tf.Tensor, height: int, width: int, spec: Augmentation,
                       seed: tf.Tensor) -> tf.Tensor:
  """[n, 8] projective transforms mapping output to input pixels, about the image centre."""
  def uniform(index, bound):
    return tf.random.stateless_uniform([n], seed=_sub_seed(seed, index), minval=-bound, maxval=bound)
  angle = uniform(1, spec.rotation_degrees * math.pi / 180)
  shear = uniform(2, spec.shear_degrees * math.pi / 180)
  zoom = 1.0 + uniform(3, spec.scale)
  tx, ty = uniform(4, spec.translate_pixels), uniform(5, spec.translate_pixels)
  # Forward map M = zoom * R(angle) * Shear(shear); the op wants the inverse, output -> input.
  cos, sin, tan = tf.cos(angle), tf.sin(angle), tf.tan(shear)
  m00, m01 = zoom * cos, zoom * (cos * tan - sin)
  m10, m11 = zoom * sin, zoom * (sin * tan + cos)
  det = m00 * m11 - m01 * m10
  i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
  cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
  ox, oy = cx + tx, cy + ty  # where the centre moves to
  a2 = cx - (i00 * ox + i01 * oy)
  b2 = cy - (i10 * ox + i11 * oy)
  zeros = tf.zeros_like(angle)
  return tf.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)


def _thickness(images: tf.Tensor, probability: float, seed: tf.Tensor) -> tf.Tensor:
  """Per image: dilate or erode the strokes (each with probability/2), else keep them."""
  grey = images.shape.rank == 3
  x = images[..., None] if grey else images
  dilated = tf.nn.max_pool2d(x, 3, 1, "SAME")
  eroded = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
  if grey:
    dilated, eroded = dilated[..., 0], eroded[..., 0]
  draw = tf.random.stateless_uniform([tf.shape(images)[0]] + [1] * (images.shape.rank - 1),
                                     seed=_sub_seed(seed, 6))
  return tf.where(draw < probability / 2, dilated,
                  tf.where(draw < probability, eroded, images))


def _cutout(images: tf.Tensor, side: int, seed: tf.Tensor) -> tf.Tensor:
  """One side x side square per image, centred anywhere in it, set to background (0)."""
  n, size = tf.shape(images)[0], min(images.shape[1], images.shape[2])
  centres = tf.random.stateless_uniform([n, 2], seed=_sub_seed(seed, 7), minval=0, maxval=size,
                                        dtype=tf.int32)
  half = side // 2
  rows = tf.abs(tf.range(images.shape[1])[None, :] - centres[:, :1]) <= half - (1 - side % 2)
  cols = tf.abs(tf.range(images.shape[2])[None, :] - centres[:, 1:]) <= half - (1 - side % 2)
  inside = rows[:, :, None] & cols[:, None, :]
  if images.shape.rank == 4:
    inside = inside[..., None]
  return tf.where(inside, tf.zeros_like(images), images)


def augment(images: tf.Tensor, spec: Augmentation, seed: tf.Tensor) -> tf.Tensor:
  """uint8 [n, 28, 28] -> uint8 [n, 28, 28] (or any [n, height, width(, channels)]); `seed` an
  int32/int64 pair (stateless ops)."""
  if spec.is_identity:
    return images
  seed = tf.cast(seed, tf.int64)
  height, width, grey = images.shape[1], images.shape[2], images.shape.rank == 3
  x = tf.cast(images, tf.float32)
  if spec.rotation_degrees or spec.scale or spec.shear_degrees or spec.translate_pixels:
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x[..., None] if grey else x,
        transforms=_affine_transforms(tf.shape(x)[0], height, width, spec, seed),
        output_shape=tf.constant([height, width]), fill_value=0.0, interpolation="BILINEAR",
        fill_mode="CONSTANT")
    x = x[..., 0] if grey else x
  if spec.thickness:
    x = _thickness(x, spec.thickness, seed)
  if spec.cutout_pixels:
    x = _cutout(x, spec.cutout_pixels, seed)
  return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
