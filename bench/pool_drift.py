"""Can a drift check on the per-picture features tell a pool with off-topic pictures from a clean
one? TFDV's approximate Jensen-Shannon divergence between the labeled pictures' statistics and the
pool's, feature by feature (the call TFX's DistributionValidator makes: validate_statistics with
the labeled split as the previous statistics and a drift comparator on each feature), for the 10
shared Quick, Draw! classes' pool clean and mixed with MNIST digits, several labeled sets each.
Prints, per feature, the clean pools' largest divergence against each mix's smallest: a threshold
between them would stop every mixed run here and no clean one.

  python bench/pool_drift.py [--labels 115 584 4000] [--seeds 0 1 2] [--mixes 0.1 0.3 0.6]
Quick, Draw!: Google, CC BY 4.0. MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0.
"""
import argparse
import collections
import pathlib
import sys

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import measure  # noqa: E402  (bench/measure.py: no heavy imports)
from sources import features  # noqa: E402  (names only)

SHARED = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data"
# The figures that differ between pictures of one size (height, width, channels do not).
FEATURES = (features.MEAN_INTENSITY_KEY, features.INK_FRACTION_KEY, features.INK_HEIGHT_KEY,
            features.INK_WIDTH_KEY)


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--labels", type=int, nargs="+", default=[115, 584, 4000])
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--mixes", type=float, nargs="+", default=[0.1, 0.3, 0.6],
                      help="the digits' share of each mixed pool")
  parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED / "quickdraw")
  parser.add_argument("--mix-dir", type=pathlib.Path, default=SHARED / "mnist")
  args = parser.parse_args()
  for mix in args.mixes:
    if not 0 < mix < 1:
      parser.error(f"--mixes: {mix} is not a share of the pool in (0, 1)")
  return args


ARGS = parse_args() if __name__ == "__main__" else None

# After the arguments: `--help` answers without loading TensorFlow.
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow_data_validation as tfdv  # noqa: E402

from sources import examples  # noqa: E402
from sources import label_budget  # noqa: E402
from sources import mnist_idx  # noqa: E402
from sources import quickdraw_files  # noqa: E402
from sources.errors import DataSourceError  # noqa: E402


def statistics_of(pictures: np.ndarray):
  figures = examples.picture_figures(pictures)
  return tfdv.generate_statistics_from_dataframe(pd.DataFrame({k: figures[k] for k in FEATURES}))


def divergences(labeled, pool) -> dict:
  """{feature: Jensen-Shannon divergence of the pool's statistics from the labeled ones'}."""
  schema = tfdv.infer_schema(labeled)
  for name in FEATURES:
    # Threshold 0: every divergence is measured and reported, however small.
    tfdv.get_feature(schema, name).drift_comparator.jensen_shannon_divergence.threshold = 0.0
  found = tfdv.validate_statistics(pool, schema, previous_statistics=labeled)
  return {info.path.step[-1]: info.drift_measurements[0].value
          for info in found.drift_skew_info if info.drift_measurements}


def main(args) -> None:
  try:
    files = quickdraw_files.open_class_files(str(args.data_dir),
                                             quickdraw_files.DEFAULT_CLASSES)
    digits, _ = mnist_idx.read_images_and_labels(str(args.mix_dir), "train")
  except DataSourceError as e:  # names the path and what is wrong with it
    sys.exit(f"pool drift bench: {e}")
  drawings = np.concatenate(files).reshape(-1, features.IMAGE_SIZE, features.IMAGE_SIZE)
  classes = np.repeat(np.arange(len(files)), [len(f) for f in files])
  digits = digits.reshape(-1, features.IMAGE_SIZE, features.IMAGE_SIZE)
  print(f"machine: {measure.machine()}")
  print(f"{len(drawings):,} drawings of {len(files)} classes, {len(digits):,} digits; "
        "Jensen-Shannon divergence of the pool from the labeled pictures, by seed:")
  seen = collections.defaultdict(list)  # (labels, mix, feature) -> divergences
  for labels in args.labels:
    for seed in args.seeds:
      labeled = label_budget.select_labeled(classes, labels, seed=seed)
      reference, pool = statistics_of(drawings[labeled]), drawings[~labeled]
      for mix in [0.0] + list(args.mixes):
        extra = digits[np.random.default_rng(seed).permutation(len(digits))[
            :int(round(len(pool) * mix / (1 - mix)))]]
        found = divergences(reference, statistics_of(np.concatenate([pool, extra])))
        for name, value in found.items():
          seen[(labels, mix, name)].append(value)
        print(f"  {labels:>5} labels, seed {seed}, {mix:4.0%} digits: " + "  ".join(
            f"{name} {value:.3f}" for name, value in found.items()), flush=True)
  print("per feature, the clean pools' largest divergence against each mix's smallest "
        "(all labeled sizes and seeds):")
  for name in FEATURES:
    clean = max(v for labels in args.labels for v in seen[(labels, 0.0, name)])
    cells = []
    for mix in args.mixes:
      low = min(v for labels in args.labels for v in seen[(labels, mix, name)])
      verdict = ("a threshold between finds every one" if low > clean
                 else "no threshold tells it from clean")
      cells.append(f"{mix:.0%}: {low:.3f} ({verdict})")
    print(f"  {name}: clean up to {clean:.3f}; " + "; ".join(cells))


if __name__ == "__main__":
  main(ARGS)
