"""bench/pool_drift.py: the divergence it reports is TFDV's drift measure of the pool against
the labeled pictures, nothing for the same pictures and more as off-topic pictures fill the pool
(what docs/RESULTS.md's reading of its figures relies on)."""
import pathlib
import sys

import numpy as np

sys.path.append(str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
import pool_drift  # noqa: E402  (bench/pool_drift.py)

from sources import doodle_drawing  # noqa: E402


def test_nothing_for_the_same_pictures_and_more_as_noise_fills_the_pool():
  rng = np.random.default_rng(0)
  drawings = np.stack([doodle_drawing.draw(i % 10, rng) for i in range(900)])
  noise = rng.integers(0, 256, size=(900, 28, 28), dtype=np.uint8)
  labeled = pool_drift.statistics_of(drawings[:300])
  same = pool_drift.divergences(labeled, labeled)
  assert set(same) == set(pool_drift.FEATURES)
  assert all(value == 0.0 for value in same.values()), same
  by_share = [pool_drift.divergences(labeled, pool_drift.statistics_of(
      np.concatenate([drawings[300:], noise[:count]]))) for count in (0, 300, 900)]
  for name in (pool_drift.features.MEAN_INTENSITY_KEY, pool_drift.features.INK_FRACTION_KEY):
    values = [found[name] for found in by_share]
    assert values == sorted(values) and values[-1] > values[0] + 0.1, (name, values)
