"""Label next on real drawings: labels chosen by `suggest` against the same number at random.

A simulated labeler (the true labels of ../shared/data/quickdraw answer): start from --start
labels (class-balanced, the pipeline's choice), then --rounds rounds of --add labels, chosen
by each of --arms: a `suggest` strategy (pipeline/suggest.py: margin, entropy, diverse; each
with its class cap and no near-duplicates) from the model trained on the labels so far, or
`random`, at random from the pool. Same method, architecture and seed for every arm, trained
with `fewlabels run`'s settings and the same flags (`--epochs`, `--validation-fraction`,
`--cnn-width`, `--set ...`); the test split is read once per trained model, for the table only. One CSV row per trained model as it finishes, with the settings, a hash of the code
and the machine (a rerun resumes only a CSV of the same settings and code), then the table.

  python bench/label_next.py [--repeats 3] [--method supervised] [--arms margin diverse random]
                             [--model cnn] [--epochs 60] [--set training.min_epochs=10]

Quick, Draw! data: Google, CC BY 4.0.
"""
import argparse
import csv
import dataclasses
import pathlib
import sys
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import cell_settings  # noqa: E402  (bench/cell_settings.py: no heavy imports)
import measure  # noqa: E402  (bench/measure.py: no heavy imports)

from models import config as config_lib  # noqa: E402  (no TensorFlow)

ROOT = pathlib.Path(__file__).resolve().parent.parent
COLUMNS = ["repeat", "arm", "round", "labels", "test_accuracy",
           "seconds"] + measure.PROVENANCE_COLUMNS
# The code a row runs: training (models/), suggest (pipeline/), the data and the first labels.
ROW_CODE = ("models", "pipeline", "sources", "components/tfds_example_gen")


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data-dir", type=pathlib.Path,
                      default=ROOT.parent / "shared" / "data" / "quickdraw")
  parser.add_argument("--start", type=int, default=115)
  parser.add_argument("--add", type=int, default=115)
  parser.add_argument("--rounds", type=int, default=4)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--method", default="supervised")
  parser.add_argument("--arms", nargs="+", default=["margin", "diverse", "random"],
                      help="suggest strategies, and random (a plain draw from the pool)")
  measure.add_result_args(parser, "label_next.csv")
  cell_settings.add_flags(parser)
  return parser.parse_args()


def settings(args):
  """The trained models' settings: `fewlabels run`'s for the same flags."""
  return cell_settings.cell_config(args, getattr(args, "model.architecture", config_lib.CNN),
                                   args.method, "label_next bench")


def provenance(args):
  """measure.provenance of the flags that change a row's result."""
  config = settings(args)
  return measure.provenance({"start": args.start, "add": args.add, "method": args.method,
                             "model": dataclasses.asdict(config.model),
                             "training": dataclasses.asdict(config.training),
                             "method_settings": dict(config.method_settings)}, ROW_CODE)


# Before the heavy imports: `--help`, a bad flag and a CSV it must not resume answer at once.
ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and not ARGS.report_only:
  measure.check_resumable(ARGS.csv, COLUMNS, provenance(ARGS), "label_next bench")

import logging  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

from components.evaluation_report import render  # noqa: E402
from models import classifier  # noqa: E402
from models import input_fn  # noqa: E402
from models import methods  # noqa: E402
from models import run_fn  # noqa: E402
from pipeline import suggest  # noqa: E402
from sources import features  # noqa: E402
from sources import label_budget  # noqa: E402
from sources import tfds_source  # noqa: E402

def load(args):
  source = tfds_source.SourceSpec("quickdraw_files/default_train3499_test500",
                                  data_dir=str(args.work_dir / "tfds"), manual_dir=str(args.data_dir))
  builder = tfds_source.load_builder(source)
  out = []
  for split in ("train", "test"):
    images, labels = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1,
                                                      as_supervised=True))
    out += [images.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.int64)]
  return out


def train(args, x, y, labeled, repeat, num_classes, log_dir):
  """A model trained on the `labeled` mask (the rest is the method's pool)."""
  strategy = tf.distribute.get_strategy()
  tf.keras.utils.set_random_seed(repeat)
  config = settings(args)
  examples, pool = input_fn.in_memory(
      input_fn.Examples(x, np.where(labeled, y, features.NO_LABEL), np.arange(len(y))))
  request = methods.TrainRequest(
      labeled=examples, pool=pool,
      build_model=run_fn.model_builder(config.model, num_classes, None, "", strategy),
      training=dataclasses.replace(config.training, seed=repeat),
      settings=config.settings, num_classes=num_classes, log_dir=log_dir, strategy=strategy)
  return methods.train(args.method, request, has_encoder=False).model


def next_labels(arm, model, x, labeled, count, num_classes, rng):
  """Indices of `count` pool images to label next."""
  pool = np.flatnonzero(~labeled)
  if arm == "random":
    return rng.choice(pool, count, replace=False)
  batches = ((pool[i:i + 2048], x[pool[i:i + 2048]], x[pool[i:i + 2048]])
             for i in range(0, len(pool), 2048))
  def score(pixels):
    blank = np.zeros(len(pixels), np.int64)
    return classifier.predict_probabilities(model, input_fn.Examples(pixels, blank, blank))

  candidates, picked = suggest.suggest(batches, score, num_classes, count, arm,
                                       seed=int(rng.integers(2 ** 31)))
  return candidates.ids[picked]


def main(args):
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
  for arm in set(args.arms) - {"random"}:
    suggest.check_strategy(arm)
  if args.report_only:
    return report(args)
  if not args.data_dir.is_dir():
    sys.exit(f"label_next bench: Quick, Draw! files not found at {args.data_dir}")
  x, y, test_x, test_y = load(args)
  test = input_fn.Examples(test_x, test_y, np.arange(len(test_y)))
  num_classes = int(y.max()) + 1
  run_provenance = provenance(args)  # the code this run imported
  recorded = dict(run_provenance, machine=measure.machine())
  done = set()
  if args.csv.exists():
    with args.csv.open() as f:
      done = {(int(r["repeat"]), r["arm"], int(r["round"])) for r in csv.DictReader(f)}
  f, writer = measure.appending_rows(args.csv, COLUMNS)
  with f:
    for repeat in range(args.repeats):
      start = label_budget.select_labeled(y, args.start, seed=repeat)
      for arm in args.arms:
        labeled = start.copy()
        rng = np.random.default_rng(1000 + repeat)
        for round_number in range(args.rounds + 1):
          needed = any((repeat, arm, r) not in done for r in range(round_number, args.rounds + 1))
          if not needed:
            break
          started = time.monotonic()
          # Rounds take minutes: one stopped mid-way starts over (no row notes a resumed one).
          log_dir, _ = measure.unit_dir(args.work_dir / "label_next_logs", run_provenance,
                                        (repeat, arm, round_number))
          model = train(args, x, y, labeled, repeat, num_classes, str(log_dir))
          if (repeat, arm, round_number) not in done:
            writer.writerow({"repeat": repeat, "arm": arm, "round": round_number,
                             "labels": int(labeled.sum()),
                             "test_accuracy": f"{classifier.accuracy(model, test):.4f}",
                             "seconds": f"{time.monotonic() - started:.0f}", **recorded})
            f.flush()
          if round_number < args.rounds:
            labeled[next_labels(arm, model, x, labeled, args.add, num_classes, rng)] = True
  report(args)


def report(args):
  with args.csv.open() as f:
    rows = list(csv.DictReader(f))
  arms = list(dict.fromkeys(r["arm"] for r in rows))
  mean = {(arm, labels): np.mean(acc) for arm in arms
          for labels in {int(r["labels"]) for r in rows}
          for acc in [[float(r["test_accuracy"]) for r in rows
                       if r["arm"] == arm and int(r["labels"]) == labels]] if acc}
  print(f"\nmachine: {measure.machine()}\nmethod {args.method}, {settings(args).model.architecture}; "
        f"start {args.start} labels, "
        f"+{args.add} a round; Quick, Draw! (Google, CC BY 4.0)")
  print("| labels | " + " | ".join(f"{arm} (mean of n)" for arm in arms) + " |")
  print("|---|" + "---|" * len(arms))
  for labels in sorted({int(r["labels"]) for r in rows}):
    cells = []
    for arm in arms:
      n = sum(1 for r in rows if r["arm"] == arm and int(r["labels"]) == labels)
      cells.append(f"{mean[arm, labels]:.4f} (n={n})" if n else "-")
    print(f"| {labels:,} | " + " | ".join(cells) + " |")
  # The goal: chosen labels reach random's accuracy with at most half as many added labels.
  for arm in arms:
    for added in sorted({int(r["labels"]) - args.start for r in rows if r["arm"] == arm}):
      twice = args.start + 2 * added
      if arm != "random" and added and ("random", twice) in mean:
        print(f"{arm} +{added}: {mean[arm, args.start + added]:.4f} against random "
              f"+{2 * added}: {mean['random', twice]:.4f}")
  figure(rows, arms, args.csv.with_suffix(".png"))


def figure(rows, arms, path):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6.5, 4))
  for arm, style in zip(arms, ("o-", "s--", "^-.", "d:")):
    counts = sorted({int(r["labels"]) for r in rows if r["arm"] == arm})
    acc = [[float(r["test_accuracy"]) for r in rows
            if r["arm"] == arm and int(r["labels"]) == n] for n in counts]
    render.mean_and_spread(ax, counts, acc, style,
                           f"{arm} (mean +- std, {min(map(len, acc))} repeats)")
  ax.set_xlabel("labeled images")
  ax.set_ylabel("test accuracy")
  ax.set_title("Labels chosen by `suggest` strategies against random (Quick, Draw!, CNN)")
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  print(f"figure: {path}")


if __name__ == "__main__":
  main(ARGS)
