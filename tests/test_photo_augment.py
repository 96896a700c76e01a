"""Augmentations of photos: kept shape, dtype and range; zero strength is the identity, op by op;
seeded; and the policy the data's kind chooses."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from models import photo_augment
from models.config import ConfigError, PhotoAugmentation
from models.methods.consistency import ConsistencyConfig


def _photos(n=6, size=32, channels=3, width=None):
  """Smooth colour gradients with a bright square: every op has something to change."""
  rng = np.random.default_rng(0)
  y, x = np.mgrid[0:size, 0:width or size] / (size - 1)
  base = np.stack([x, y, 1 - x * y][:channels], axis=-1)
  images = (base[None] * rng.uniform(80, 255, (n, 1, 1, channels))).astype(np.uint8)
  images[:, 8:16, 20:28] = 250
  return tf.constant(images)


SEED = tf.constant([5, 6], tf.int64)
WEAK, STRONG = ConsistencyConfig().views(3)


@pytest.mark.parametrize("spec", [WEAK, STRONG])
@pytest.mark.parametrize("shape", [(32, 32, 3), (24, 40, 3), (28, 28, 1)])
def test_shape_dtype_and_range_are_kept(spec, shape):
  images = _photos(size=shape[0], width=shape[1], channels=shape[2])
  out = photo_augment.augment(images, spec, SEED)
  assert out.shape == images.shape and out.dtype == tf.uint8
  assert not np.array_equal(out, images)  # it did something


def test_zero_strength_is_the_identity_op_by_op():
  images = _photos()
  np.testing.assert_array_equal(photo_augment.augment(images, PhotoAugmentation(), SEED), images)
  # Every operation of the policy at magnitude 0 (ops drawn, but of no strength): the identity.
  np.testing.assert_array_equal(
      photo_augment.augment(images, PhotoAugmentation(ops=4, magnitude=0.0), SEED), images)
  for index in range(len(photo_augment.OPS)):
    out = photo_augment._op(index, tf.cast(images, tf.float32), tf.zeros([6]), SEED)
    np.testing.assert_allclose(out.numpy(), tf.cast(images, tf.float32).numpy(), atol=1e-3,
                               err_msg=photo_augment.OPS[index])


def test_the_same_seed_gives_the_same_images_and_another_seed_others():
  images = _photos()
  first = photo_augment.augment(images, STRONG, SEED)
  np.testing.assert_array_equal(first, photo_augment.augment(images, STRONG, SEED))
  assert not np.array_equal(first, photo_augment.augment(images, STRONG, SEED + 1))


def test_each_operation_changes_a_colour_picture_at_full_strength():
  images = tf.cast(_photos(), tf.float32)
  for index, name in enumerate(photo_augment.OPS):
    out = photo_augment._op(index, images, tf.ones([6]), SEED)
    assert float(tf.reduce_max(tf.abs(out - images))) > 10, name


def test_a_flip_mirrors_and_a_shift_moves_whole_pixels():
  images = _photos(n=64)
  flipped = photo_augment.augment(images, PhotoAugmentation(flip=True), SEED).numpy()
  mirrored = [np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images.numpy())]
  kept = [np.array_equal(f, i) for f, i in zip(flipped, images.numpy())]
  assert all(m or k for m, k in zip(mirrored, kept)) and 16 < sum(mirrored) < 48
  shifted = photo_augment.augment(images, PhotoAugmentation(translate=0.125), SEED).numpy()
  # A whole-pixel shift keeps the picture's own values (no blur): every pixel is an original
  # one or the grey border.
  for out, image in zip(shifted[:8], images.numpy()[:8]):
    values = {tuple(p) for p in image.reshape(-1, 3)} | {(128, 128, 128)}
    assert {tuple(p) for p in out.reshape(-1, 3)} <= values


def test_the_kind_of_pictures_chooses_the_views_unless_a_setting_does():
  drawing_weak, drawing_strong = ConsistencyConfig().views(1)
  assert (drawing_weak, drawing_strong) == (ConsistencyConfig().weak, ConsistencyConfig().strong)
  weak, strong = ConsistencyConfig().views(3)
  assert isinstance(weak, PhotoAugmentation) and weak.flip and not weak.ops
  assert strong.ops == 2 and strong.cutout == 0.5
  assert isinstance(ConsistencyConfig(augmentation="photo").views(1)[1], PhotoAugmentation)
  assert ConsistencyConfig(augmentation="drawing").views(3) == (drawing_weak, drawing_strong)


@pytest.mark.parametrize("kwargs,message", [
    ({"augmentation": "fancy"}, "consistency augmentation 'fancy' must be one of auto, drawing"),
    ({"photo_ops": 9}, "photo augmentation ops 9 must be an integer in [0, 4]"),
    ({"photo_cutout": 1.5}, "photo augmentation cutout 1.5 must be in [0, 1]"),
])
def test_a_bad_photo_setting_is_one_line(kwargs, message):
  with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
    ConsistencyConfig(**kwargs)


def test_consistency_trains_drawings_with_the_photo_policy_when_asked(tmp_path):
  from models import consistency
  from models.architectures import cnn
  classifier = cnn.build(3, cnn.Settings(width=4), (28, 28, 1))
  settings = dataclasses.replace(ConsistencyConfig(threshold=0.0), augmentation="photo")
  model = consistency.ConsistencyModel(classifier, settings, 3, seed=0)
  model.compile(optimizer=tf.keras.optimizers.Adam(1e-3))
  rng = np.random.default_rng(0)
  labeled = (tf.constant(rng.integers(0, 256, (4, 28, 28)), tf.uint8), tf.constant([0, 1, 2, 0]))
  unlabeled = (tf.constant(rng.integers(0, 256, (8, 28, 28)), tf.uint8), tf.constant([-1] * 8))
  logs = model.train_step((labeled, unlabeled))
  assert np.isfinite(float(logs["loss"]))
