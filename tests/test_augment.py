"""Augmentations of drawings: kept shape, dtype and range; identity at zero; seeded; ink kept."""
import numpy as np
import pytest
import tensorflow as tf

from models import augment
from models.config import Augmentation, ConfigError
from models.methods.consistency import ConsistencyConfig


def _drawings(n=8):
  """Light strokes two pixels wide on a dark background, as Quick, Draw!: a box and a cross."""
  images = np.zeros((n, 28, 28), np.uint8)
  images[:, 4:24, 4:6] = images[:, 4:24, 22:24] = 255
  images[:, 4:6, 4:24] = images[:, 22:24, 4:24] = 255
  images[:, 4:24, 13:15] = images[:, 13:15, 4:24] = 255
  return tf.constant(images)


SEED = tf.constant([3, 4], tf.int64)
WEAK, STRONG = ConsistencyConfig().weak, ConsistencyConfig().strong


@pytest.mark.parametrize("spec", [WEAK, STRONG])
def test_shape_dtype_and_range_are_kept(spec):
  out = augment.augment(_drawings(), spec, SEED)
  assert out.shape == (8, 28, 28) and out.dtype == tf.uint8
  assert 0 <= int(tf.reduce_min(out)) and int(tf.reduce_max(out)) <= 255


def test_zero_strength_is_the_identity():
  images = _drawings()
  np.testing.assert_array_equal(augment.augment(images, Augmentation(), SEED), images)
  # Each part at zero inside a non-zero spec changes nothing either: only a shift of 0 pixels.
  shifted = augment.augment(images, Augmentation(translate_pixels=1e-9), SEED)
  np.testing.assert_array_equal(shifted, images)


@pytest.mark.parametrize("spec", [WEAK, STRONG])
def test_the_same_seed_gives_the_same_images(spec):
  a = augment.augment(_drawings(), spec, SEED)
  b = augment.augment(_drawings(), spec, SEED)
  c = augment.augment(_drawings(), spec, tf.constant([3, 5], tf.int64))
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_strong_augmentation_changes_pixels_but_keeps_ink():
  images = _drawings(64)
  out = augment.augment(images, STRONG, SEED).numpy()
  ink_before = images.numpy().astype(float).sum(axis=(1, 2))
  ink_after = out.astype(float).sum(axis=(1, 2))
  assert (np.abs(out.astype(int) - images.numpy()).sum(axis=(1, 2)) > 0).all()
  # Thinner strokes, shrinking and cutout together can take most of the ink of one drawing
  # (measured: at least 23% stays), never all of it; on average most stays.
  assert (ink_after > 0.15 * ink_before).all() and ink_after.mean() > 0.5 * ink_before.mean()


def test_thickness_dilates_or_erodes_the_strokes():
  images = _drawings(200)
  out = augment.augment(images, Augmentation(thickness=1.0), SEED).numpy()
  ink = (out > 0).sum(axis=(1, 2))
  before = int((images.numpy()[0] > 0).sum())
  assert (ink > before).any() and (ink < before).any() and (ink != before).all()
  assert (ink > 0.4 * before).all()  # thinner strokes are still there


@pytest.mark.parametrize("kwargs,fragment", [
    ({"rotation_degrees": -1}, "augmentation rotation_degrees -1 must be a number >= 0"),
    ({"scale": 1.5}, "augmentation scale 1.5 must be below 1"),
    ({"thickness": 2}, "augmentation thickness 2 is a probability"),
])
def test_bad_strengths_are_one_line_errors(kwargs, fragment):
  with pytest.raises(ConfigError, match=fragment):
    Augmentation(**kwargs)


@pytest.mark.parametrize("shape", [(8, 20, 36), (8, 32, 32, 3)])
def test_pictures_of_another_shape_keep_it_and_a_shift_moves_them(shape):
  images = np.zeros(shape, np.uint8)
  images[:, 8:12, 10:14] = 200
  out = augment.augment(tf.constant(images), STRONG, SEED)
  assert out.shape == shape and out.dtype == tf.uint8
  shifted = augment.augment(tf.constant(images), Augmentation(translate_pixels=3.0), SEED).numpy()
  assert shifted.shape == shape and not np.array_equal(shifted, images)
  assert int(shifted.astype(int).sum()) > 0  # the square moved, it did not vanish
