"""The embedded doodles: a config name always yields the same pictures, any example can be
drawn alone, and the colour kind's class is in the strokes' shape, not in their colours."""
import numpy as np
import pytest

from sources import doodle_drawing
from sources import doodles
from sources import features


@pytest.mark.parametrize("colour", [False, True])
def test_a_name_yields_the_same_pictures_and_a_larger_set_starts_with_a_smaller_one(colour):
  draw = doodle_drawing.draw_colour if colour else doodle_drawing.draw
  first = [draw(i % 10, doodle_drawing.example_rng(3, 0, i)) for i in range(20)]
  again = [draw(i % 10, doodle_drawing.example_rng(3, 0, i)) for i in range(20)]
  np.testing.assert_array_equal(np.stack(first), np.stack(again))
  other_seed = draw(0, doodle_drawing.example_rng(4, 0, 0))
  assert not np.array_equal(first[0], other_seed)


def test_colour_doodles_are_32x32x3_strokes_that_stand_out_in_any_colour():
  rng_of = lambda i: doodle_drawing.example_rng(0, 0, i)  # noqa: E731
  pictures = np.stack([doodle_drawing.draw_colour(i % 10, rng_of(i)) for i in range(300)])
  labels = np.arange(300) % 10
  assert pictures.shape == (300, 32, 32, 3) and pictures.dtype == np.uint8
  # The strokes' lightness stands out of the background's: the few most unusual pixels of
  # every picture are far from its median, lighter or darker.
  luma = pictures.reshape(300, -1, 3) @ np.array(features.LUMA)
  median = np.median(luma, axis=1)
  contrast = np.maximum(np.percentile(luma, 98, axis=1) - median,
                        median - np.percentile(luma, 2, axis=1))
  assert np.mean(contrast > 40) > 0.95, np.sort(contrast)[:10]
  # The colours say nothing of the class: a nearest-mean classifier on the mean colour is
  # near chance (0.1 for ten classes), where one on the pixels of the shapes would not be.
  mean_colour = pictures.reshape(300, -1, 3).mean(axis=1)
  centres = np.stack([mean_colour[labels == c].mean(axis=0) for c in range(10)])
  nearest = np.linalg.norm(mean_colour[:, None] - centres[None], axis=2).argmin(axis=1)
  assert (nearest == labels).mean() < 0.25


def test_the_colour_presets_and_names_are_colour_builders(tmp_path):
  builder = doodles.FewlabelsDoodles(config="color_tiny", data_dir=str(tmp_path))
  assert builder.image_shape() == (32, 32, 3)
  named = doodles.FewlabelsDoodles.config_from_name("train50_test10_seed2_color")
  assert named.color and (named.num_train, named.num_test, named.seed) == (50, 10, 2)
  assert not doodles.FewlabelsDoodles.config_from_name("train50_test10_seed2").color
  with pytest.raises(ValueError, match="nor of the form train<N>_test<M>_seed<S>"):
    doodles.FewlabelsDoodles.config_from_name("train50_test10_seed2_sepia")
