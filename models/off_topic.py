"""Pool pictures that do not belong with the labeled ones, found before consistency training
(which assumes they show the same classes) and, by default, left out of it.

Each picture is described by figures that no training touches (sources/examples.py: mean
intensity, ink fraction, the height, width and longer side of the box around the ink, as
shares of the picture). A pool picture is off-topic when its figures lie further from the labeled pictures'
(a Mahalanobis distance) than those of all but a share `alpha` of the labeled pictures do, each
measured against the others. The labeled pictures come from the same source as the pool's real
ones, so this is a conformal test: about `alpha` of the real pool pictures are flagged, and at
no fewer than 1 / (labels + 1) can be promised (with 115 labels: flagged only beyond every
labeled picture). Pictures of another source, such as digits among drawings, blank scans or photos,
differ in these figures. What it cannot see: pictures drawn the same way that show other
objects.
"""
import heapq
from typing import Dict, List, Tuple

import numpy as np

from sources import examples as examples_lib
from sources import features

SHOWN = 24  # the most off-topic pictures kept for the report
_CALIBRATION_MAX = 2_000  # labeled pictures each scored against the others
_CHUNK = 8_192
# Floors on each figure's spread (one pixel of the box, a point of intensity): labeled
# drawings that all touch the border would otherwise make any other box infinitely far.
_SPREAD_FLOOR = np.array([0.01, 0.01, 1 / 28, 1 / 28, 1 / 28])


def figures(pixels: np.ndarray) -> np.ndarray:
  """[n, 5]: mean intensity, ink fraction, the ink box's height, width and longer side over
  the picture's. The longer side tells how a source scales its pictures: Quick, Draw!'s
  bitmaps span 24 of 28 pixels, MNIST's digits 20."""
  found = examples_lib.picture_figures(pixels)
  height = found[features.INK_HEIGHT_KEY] / found[features.IMAGE_HEIGHT_KEY]
  width = found[features.INK_WIDTH_KEY] / found[features.IMAGE_WIDTH_KEY]
  return np.stack([found[features.MEAN_INTENSITY_KEY], found[features.INK_FRACTION_KEY],
                   height, width, np.maximum(height, width)], axis=1).astype(np.float64)


def _fit(rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(centre, spread, inverse covariance of the scaled rows, ridged)."""
  mean = rows.mean(axis=0)
  spread = np.maximum(rows.std(axis=0), _SPREAD_FLOOR)
  covariance = np.atleast_2d(np.cov((rows - mean) / spread, rowvar=False)) + 0.05 * np.eye(
      rows.shape[1])
  return mean, spread, np.linalg.inv(covariance)


def _distance(rows: np.ndarray, fitted) -> np.ndarray:
  mean, spread, inverse = fitted
  scaled = (rows - mean) / spread
  return np.sqrt(np.einsum("ij,jk,ik->i", scaled, inverse, scaled))


class Detector:
  """The labeled pictures' figures: their centre and spread, and the distance beyond which a
  picture is off-topic."""

  def __init__(self, labeled: np.ndarray, alpha: float, seed: int = 0):
    if len(labeled) < 2:
      raise ValueError(f"the off-topic check needs at least 2 labeled pictures, got "
                       f"{len(labeled)}")
    self.alpha = alpha
    self._fitted = _fit(labeled)
    calibration = labeled
    if len(labeled) > _CALIBRATION_MAX:
      calibration = labeled[np.random.default_rng(seed).choice(
          len(labeled), _CALIBRATION_MAX, replace=False)]
    left_out = []
    for row in calibration:  # each against the others (its duplicates left out with it)
      others = labeled[~np.all(labeled == row, axis=1)]
      left_out.append(_distance(row[None], _fit(others if len(others) >= 2 else labeled))[0])
    # The conformal quantile: rank ceil((1 - alpha)(n + 1)) of n, or the largest when that
    # rank is beyond n (too few labels to promise alpha).
    rank = min(int(np.ceil((1 - alpha) * (len(left_out) + 1))), len(left_out))
    self.cut = float(np.sort(left_out)[rank - 1])
    self.promised = max(alpha, 1 / (len(left_out) + 1))

  def distance(self, rows: np.ndarray) -> np.ndarray:
    return _distance(rows, self._fitted)


def check(labeled_pixels: np.ndarray, pool, mode: str, alpha: float, seed: int = 0
          ) -> Tuple[object, Dict[str, object]]:
  """(the pool to train on, what the check found). `pool` is models.input_fn.Pool; in mode
  `leave_out` the flagged pictures are left out of it, in `report` only counted."""
  if mode == "off" or not len(pool) or len(labeled_pixels) < 2:
    return pool, {"mode": mode, "scored": 0}
  detector = Detector(figures(labeled_pixels), alpha, seed)
  flagged: List[np.ndarray] = []
  worst: List[Tuple[float, int, bytes]] = []  # a min-heap of the SHOWN largest distances
  scored, shape = 0, list(labeled_pixels.shape[1:])
  for pixels, ids in pool.records().batch(_CHUNK).as_numpy_iterator():
    distance = detector.distance(figures(pixels))
    off = distance > detector.cut
    flagged.append(ids[off])
    for i in np.flatnonzero(off):
      item = (float(distance[i]), int(ids[i]), pixels[i].astype(np.uint8).tobytes())
      (heapq.heappush if len(worst) < SHOWN else heapq.heappushpop)(worst, item)
    scored += len(ids)
  off_ids = np.concatenate(flagged) if flagged else np.zeros(0, np.int64)
  found = {"mode": mode, "scored": scored, "flagged": int(len(off_ids)),
           "share": len(off_ids) / max(scored, 1), "alpha": alpha,
           "promised_false_share": detector.promised, "cut": detector.cut,
           # The most off-topic, furthest first: (distance, example id, raw pixels as hex, the
           # pictures' shape).
           "shown": [[round(d, 3), i, p.hex(), shape] for d, i, p in sorted(worst, reverse=True)]}
  return (pool.without(off_ids) if mode == "leave_out" else pool), found
