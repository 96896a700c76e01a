"""How hard the embedded doodles are: supervised test accuracy against the label budget.

Trains the pipeline's own classifier (models.run_fn.train_classifier, the Trainer's code) on
budgets chosen by the pipeline's own label-budget selection, and prints test accuracy per
budget, so the README's figures can be reproduced:
  python bench/label_curve.py [--data doodles/demo] [--budgets 1% 5% 20%] [--repeats 2]
"""
import argparse
import logging
import os
import platform
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

from components.tfds_example_gen import label_budget  # noqa: E402
from models import autograph_speedup, classifier, input_fn, preprocessing  # noqa: E402
from models import run_fn  # noqa: E402
from pipeline import config as config_lib  # noqa: E402
from sources import features, tfds_source  # noqa: E402


def load_split(builder, split):
  images, labels = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1,
                                                    as_supervised=True))
  rows = preprocessing.scale_pixels(images.reshape(-1, features.IMAGE_SIZE, features.IMAGE_SIZE))
  return rows.numpy(), labels.astype(np.int64)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data", default="doodles/demo")
  parser.add_argument("--tfds-data-dir", default=None)
  parser.add_argument("--budgets", nargs="+", default=["1%", "5%", "20%"])
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--lstm-width", type=int, default=config_lib.ModelConfig().lstm_width)
  parser.add_argument("--epochs", type=int, default=config_lib.TrainingConfig().epochs)
  args = parser.parse_args()
  logging.basicConfig(level=logging.WARNING)
  autograph_speedup.skip_autograph_for_tf_keras()
  builder = tfds_source.load_builder(tfds_source.SourceSpec(args.data, args.tfds_data_dir))
  train_x, train_y = load_split(builder, "train")
  test_x, test_y = load_split(builder, "test")
  strategy = tf.distribute.get_strategy()
  training = config_lib.TrainingConfig(epochs=args.epochs)
  print(f"machine: {platform.node()} {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
  print(f"data: {args.data} ({len(train_y)} train, {len(test_y)} test), LSTM width {args.lstm_width}")
  print("| label budget | labeled images | test accuracy (mean +- std) | seconds |")
  print("|---|---|---|---|")
  for budget_text in args.budgets:
    count = label_budget.LabelBudget(budget_text).count(len(train_y), 10)
    accuracies, started = [], time.monotonic()
    for repeat in range(args.repeats):
      mask = label_budget.select_labeled(train_y, count, seed=repeat)
      tf.keras.utils.set_random_seed(repeat)
      examples = input_fn.Examples(train_x[mask], train_y[mask], np.flatnonzero(mask))
      model = classifier.build_classifier(args.lstm_width, 3, 28, 10)
      run_fn.train_classifier(model, examples, training, "/tmp/label_curve_logs", strategy)
      accuracies.append(model.evaluate(test_x, test_y, verbose=0)[1])
    print(f"| {budget_text} | {count} | {np.mean(accuracies):.3f} +- {np.std(accuracies):.3f} "
          f"| {time.monotonic() - started:.0f} |", flush=True)


if __name__ == "__main__":
  main()
