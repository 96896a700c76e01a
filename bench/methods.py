"""Test accuracy of the four learning methods against the label budget, on real drawings.

Runs the pipeline's own code (models.pretraining.pretrain, the LayerwisePretrainer's function,
and models.methods.train, the Trainer's) on in-memory data so that dozens of cells fit on a
laptop. Per repeat, pre-training runs once and serves every budget: it sees all training images
without labels, which is the same set whatever the budget. Labeled sets are the pipeline's
class-balanced nested selection; decisions use a validation part of the labeled set; the test
part is read once per trained model, for the table only.

  python bench/methods.py [--quickdraw-dir ../shared/data/quickdraw] [--repeats 3]
  python bench/methods.py --data doodles/demo --methods supervised --budgets 1% 5% 20%

Writes one CSV row per cell as it finishes (a rerun skips the cells already in the CSV), then
prints the Markdown table for docs/RESULTS.md. Data: Quick, Draw! (Google, CC BY 4.0).
"""
import argparse
import csv
import dataclasses
import logging
import os
import pathlib
import platform
import shutil
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

from components.tfds_example_gen import label_budget  # noqa: E402
from models import autograph_speedup, input_fn, methods, pretraining  # noqa: E402
from pipeline import config as config_lib  # noqa: E402
from sources import features, tfds_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_QUICKDRAW = ROOT.parent / "shared" / "data" / "quickdraw"
COLUMNS = ["repeat", "budget", "labels", "method", "test_accuracy", "best_round", "rounds",
           "seconds"]


def load_split(builder, split):
  images, labels = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1,
                                                    as_supervised=True))
  return (images.reshape(-1, features.IMAGE_SIZE, features.IMAGE_SIZE).astype(np.uint8),
          labels.astype(np.int64))


def done_cells(path):
  if not path.exists():
    return {}
  with path.open() as f:
    return {(int(r["repeat"]), r["budget"], r["method"]): r for r in csv.DictReader(f)}


def table(rows, budgets, method_names):
  lines = ["| label budget | labels | " + " | ".join(method_names) + " |",
           "|---|---|" + "---|" * len(method_names)]
  for budget in budgets:
    cells = [r for r in rows if r["budget"] == budget]
    if not cells:
      continue
    out = []
    for method in method_names:
      acc = [float(r["test_accuracy"]) for r in cells if r["method"] == method]
      out.append(f"{np.mean(acc):.3f} +- {np.std(acc):.3f} (n={len(acc)})" if acc else "-")
    lines.append(f"| {budget} | {cells[0]['labels']} | " + " | ".join(out) + " |")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quickdraw-dir", type=pathlib.Path, default=DEFAULT_QUICKDRAW)
  parser.add_argument("--data", default=None,
                      help="another TFDS data set instead, e.g. doodles/demo")
  parser.add_argument("--train-per-class", type=int, default=3_499)
  parser.add_argument("--test-per-class", type=int, default=500)
  parser.add_argument("--budgets", nargs="+", default=["0.33%", "1.67%", "16.67%"])
  parser.add_argument("--methods", nargs="+", default=list(config_lib.METHODS))
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--only-repeats", type=int, nargs="+", default=None,
                      help="run just these repeats (e.g. one process per core, one CSV)")
  parser.add_argument("--lstm-width", type=int, default=32)
  parser.add_argument("--epochs", type=int, default=40)
  parser.add_argument("--pretrain-epochs", type=int, default=5)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--window", type=int, default=5_000)
  parser.add_argument("--validation-fraction", type=float, default=0.2)
  parser.add_argument("--csv", type=pathlib.Path, default=ROOT / "docs" / "results" / "methods.csv")
  parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("/tmp/fewlabels_methods"))
  args = parser.parse_args()
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
  for method in args.methods:
    config_lib.check_method(method, config_lib.TrainingConfig(validation_fraction=0.1))
  if args.data is None and not args.quickdraw_dir.is_dir():
    sys.exit(f"methods bench: Quick, Draw! files not found at {args.quickdraw_dir}: pass "
             "--quickdraw-dir")
  autograph_speedup.skip_autograph_for_tf_keras()

  source = tfds_source.SourceSpec(
      args.data or f"quickdraw_files/default_train{args.train_per_class}_test{args.test_per_class}",
      data_dir=str(args.work_dir / "tfds"), manual_dir=str(args.quickdraw_dir))
  builder = tfds_source.load_builder(source)
  train_x, train_y = load_split(builder, "train")
  test_x, test_y = load_split(builder, "test")
  test = input_fn.Examples(test_x, test_y, np.arange(len(test_y)))
  num_classes = len(tfds_source.class_names(source.dataset, source.data_dir))
  model = config_lib.ModelConfig(lstm_width=args.lstm_width)
  training = config_lib.TrainingConfig(epochs=args.epochs, early_stopping_patience=10,
                                       min_epochs=15,
                                       validation_fraction=args.validation_fraction)
  pretraining_config = config_lib.PretrainingConfig(epochs_per_stage=args.pretrain_epochs)
  self_config = config_lib.SelfTrainingConfig(window=args.window, max_rounds=args.rounds)
  strategy = tf.distribute.get_strategy()
  machine = f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}"
  logging.info("machine: %s; data: %d train, %d test images; %s", machine, len(train_y),
               len(test), model)

  args.csv.parent.mkdir(parents=True, exist_ok=True)
  done = done_cells(args.csv)
  new_file = not args.csv.exists()
  repeats = args.only_repeats if args.only_repeats is not None else range(args.repeats)
  cells = [(r, b, m) for r in repeats for b in args.budgets for m in args.methods]
  started = time.monotonic()
  with args.csv.open("a", newline="") as f:
    writer = csv.DictWriter(f, COLUMNS)
    if new_file:
      writer.writeheader()
    encoders = {}
    for index, (repeat, budget, method) in enumerate(cells, start=1):
      if (repeat, budget, method) in done:
        continue
      count = label_budget.LabelBudget(budget).count(len(train_y), num_classes)
      mask = label_budget.select_labeled(train_y, count, seed=repeat)
      examples = input_fn.Examples(train_x, np.where(mask, train_y, features.NO_LABEL),
                                   np.arange(len(train_y)))
      cell_started = time.monotonic()
      tf.keras.utils.set_random_seed(repeat)
      encoder = None
      if method in config_lib.PRETRAINED_METHODS:
        if repeat not in encoders:
          images = pretraining.pretraining_images(input_fn.labeled_only(examples),
                                                  input_fn.unlabeled_only(examples),
                                                  pretraining_config, repeat)
          pretrain_dir = args.work_dir / f"pretrain_{repeat}"
          shutil.rmtree(pretrain_dir, ignore_errors=True)
          encoders[repeat] = pretraining.pretrain(images, model, pretraining_config, repeat,
                                                  str(pretrain_dir), strategy)[0]
        encoder = encoders[repeat]
      # Each cell its own log dir: BackupAndRestore must never resume another cell's training.
      log_dir = args.work_dir / "logs" / f"{repeat}_{budget}_{method}"
      shutil.rmtree(log_dir, ignore_errors=True)
      trained = methods.train(method, examples, model, dataclasses.replace(training, seed=repeat),
                              self_config, num_classes, encoder, "pre-trained encoder",
                              str(log_dir), strategy)
      methods.score_against(lambda ids: train_y[ids], trained)
      outcome = trained.outcome
      row = {"repeat": repeat, "budget": budget, "labels": count, "method": method,
             "test_accuracy": f"{methods.accuracy(trained.model, test):.4f}",
             "best_round": outcome.best_round if outcome else "",
             "rounds": ";".join(f"{r.num_labeled}:{r.validation_accuracy:.3f}:"
                                f"{r.pseudo_label_accuracy or 0:.3f}" for r in outcome.rounds)
                       if outcome else "",
             "seconds": f"{time.monotonic() - cell_started:.0f}"}
      writer.writerow(row)
      f.flush()
      elapsed = time.monotonic() - started
      logging.info("cell %d/%d %s: test accuracy %s (%.0f s elapsed)", index, len(cells),
                   row, row["test_accuracy"], elapsed)
  rows = list(done_cells(args.csv).values())
  print(f"\nmachine: {machine}")
  print(f"data: {source.dataset} ({'Quick, Draw!, Google, CC BY 4.0, ' if args.data is None else ''}"
        f"{num_classes} classes), {len(train_y):,} train / {len(test):,} test images; "
        f"LSTM width {args.lstm_width}, 3 layers")
  print(table(rows, args.budgets, args.methods))


if __name__ == "__main__":
  main()
