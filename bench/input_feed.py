"""Input-feed benchmark: the Trainer's tf.data input against the research code's feed.

On the real drawings of ../shared/data/quickdraw: runs the pipeline's data stage once
(ExampleGen -> Transform) and then, in the same run, measures
  1. the Trainer's input (models.input_fn over Transform's output): reading the files into
     memory (the streaming part), then the batches every epoch gathers from memory;
  2. the research code's feed, ../shared/bench/seed_feed_baseline.py on the same images;
  3. training throughput of the Trainer's fit loop (models.methods.train_classifier) against
     plain Keras fit on in-memory arrays, same model;
  4. the consistency step (the default's pool stage, CNN) with its pool streamed from
     Transform's files (input_fn.read, what the Trainer does) against the same pool in memory.
  python bench/input_feed.py [--quickdraw-dir DIR] [--work-dir bench_output/input_feed]
Quick, Draw! data: Google, CC BY 4.0.
"""
import argparse
import dataclasses
import logging
import os
import re
import shutil
import subprocess
import sys
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported
_HERE = os.path.dirname(os.path.abspath(__file__))

def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quickdraw-dir", default=os.path.join(_HERE, "..", "..", "shared", "data",
                                                              "quickdraw"))
  parser.add_argument("--work-dir", default="bench_output/input_feed")
  parser.add_argument("--lstm-width", type=int, default=64)
  return parser.parse_args()


# Before the heavy imports: `--help` and a bad flag answer at once.
ARGS = parse_args() if __name__ == "__main__" else None

import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.orchestration import metadata  # noqa: E402

from models import architectures, autograph_speedup, classifier, input_fn, lr_schedule  # noqa: E402
from pipeline import config as config_lib  # noqa: E402
from pipeline import pipeline as pipeline_lib  # noqa: E402
from pipeline import run_results  # noqa: E402
import measure  # noqa: E402  (bench/measure.py)
from architecture_speed import consistency_step_seconds  # noqa: E402

_SEED_FEED = os.path.join(_HERE, "..", "..", "shared", "bench", "seed_feed_baseline.py")
BATCH = 256
FIT_RUNS = 2
STREAM_RUNS = 3
FIT_EPOCHS = 3


def rate(batches: tf.data.Dataset, num_batches: int) -> float:
  iterator = iter(batches)
  started = time.perf_counter()
  seen = 0
  for _ in range(num_batches):
    seen += int(tf.shape(next(iterator)[1])[0])
  return seen / (time.perf_counter() - started)


def seed_feed_rate(quickdraw_dir: str) -> float:
  out = subprocess.run([sys.executable, _SEED_FEED, quickdraw_dir, "100"], check=True,
                       capture_output=True, text=True).stdout
  return float(re.search(r"seed from_generator feed: ([\d,]+)", out).group(1).replace(",", ""))


def pipeline_fit(labeled: input_fn.Examples, lstm_width: int, epochs: int, log_dir: str) -> float:
  """Seconds for the Trainer's fit loop (schedule, early stopping, checkpoints, TensorBoard)."""
  model = architectures.build(10, config_lib.ModelConfig(architecture="lstm",
                                                         settings=(("width", lstm_width),)))
  training = config_lib.TrainingConfig(epochs=epochs, batch_size=BATCH, early_stopping_patience=10)
  started = time.perf_counter()
  classifier.train_classifier(model, labeled, None, training, log_dir, tf.distribute.get_strategy())
  return time.perf_counter() - started


def plain_fit(labeled: input_fn.Examples, lstm_width: int, epochs: int, _: str) -> float:
  """Seconds for plain Keras fit on the same in-memory arrays, same model and learning rate."""
  model = architectures.build(10, config_lib.ModelConfig(architecture="lstm",
                                                         settings=(("width", lstm_width),)))
  model.compile(tf.keras.optimizers.Adam(lr_schedule.scaled_learning_rate(1e-3, BATCH, 32)),
                "sparse_categorical_crossentropy", ["accuracy"])
  started = time.perf_counter()
  model.fit(labeled.pixels, labeled.labels, batch_size=BATCH, epochs=epochs, verbose=0)
  return time.perf_counter() - started


def main(args) -> None:
  logging.basicConfig(level=logging.WARNING, force=True)
  if not os.path.isdir(args.quickdraw_dir):
    sys.exit(f"input_feed: Quick, Draw! files not found at {args.quickdraw_dir}")
  work = os.path.abspath(args.work_dir)
  shutil.rmtree(work, ignore_errors=True)
  base = config_lib.PipelineConfig()
  config = dataclasses.replace(
      base, name="fewlabels-feed", output_dir=os.path.join(work, "pipeline"),
      data=config_lib.DataConfig(dataset="quickdraw_files/default_train3000_test999",
                                 tfds_data_dir=os.path.join(work, "tfds"),
                                 manual_dir=os.path.abspath(args.quickdraw_dir),
                                 label_budget="50%"))
  tfx.orchestration.LocalDagRunner().run(pipeline_lib.create_pipeline(
      config, (), metadata.sqlite_metadata_connection_config(config.metadata_path),
      data_stage_only=True))
  store = run_results.open_store(config.metadata_path)
  transform = run_results.component_runs(
      store, run_results.latest_run_id(store, config.name))[pipeline_lib.TRANSFORM]
  examples_uri = transform.output("transformed_examples").uri
  tft_output = tft.TFTransformOutput(transform.output("transform_graph").uri)
  files = [os.path.join(examples_uri, f"Split-{s}", "*") for s in ("labeled", "unlabeled")]

  streamed = 0.0
  for _ in range(STREAM_RUNS):  # what the first epoch waits for: the files; best run
    started = time.perf_counter()
    examples = input_fn.load(files, tft_output)
    streamed = max(streamed, len(examples) / (time.perf_counter() - started))
  labeled = input_fn.labeled_only(examples)
  num = len(labeled)
  cached = rate(input_fn.training_batches(labeled, BATCH, 0), 20 * (num // BATCH))
  seed = seed_feed_rate(args.quickdraw_dir)

  autograph_speedup.skip_autograph_for_tf_keras()
  # Each side runs FIT_RUNS times, alternating, after one unmeasured warm-up run each (the
  # first run in a process pays one-off costs); the best run of each side is compared.
  fit_rates = {"pipeline": [], "plain": []}
  for run in range(FIT_RUNS + 1):
    for side, fit in (("pipeline", pipeline_fit), ("plain", plain_fit)):
      epochs = 1 if run == 0 else FIT_EPOCHS
      seconds = fit(labeled, args.lstm_width, epochs, os.path.join(work, f"logs_{run}"))
      if run:
        fit_rates[side].append(epochs * num / seconds)
  pipeline_rate, plain_rate = max(fit_rates["pipeline"]), max(fit_rates["plain"])

  # Alternating, best of each: what streaming costs the train step.
  labeled_split, pool = input_fn.read(files, tft_output)
  in_memory = input_fn.Pool.from_examples(input_fn.unlabeled_only(examples))
  step_seconds = {"streamed": [], "memory": []}
  for _ in range(FIT_RUNS):
    for side, side_pool in (("streamed", pool), ("memory", in_memory)):
      step_seconds[side].append(consistency_step_seconds(
          config_lib.ModelConfig(architecture="cnn"), 32, labeled=labeled_split, pool=side_pool))
  streamed_step, memory_step = min(step_seconds["streamed"]), min(step_seconds["memory"])

  print(f"\nmachine: {measure.machine()}")
  print(f"data: {num:,} real Quick, Draw! training images through the pipeline's Transform; "
        f"batch {BATCH}")
  print("| feed | images/s | vs research feed |")
  print("|---|---|---|")
  print(f"| research code's feed (seed_feed_baseline.py) | {seed:,.0f} | 1.0x |")
  print(f"| Trainer input, reading Transform's files into memory | {streamed:,.0f} | "
        f"{streamed / seed:.0f}x |")
  print(f"| Trainer input, batches from memory | {cached:,.0f} | {cached / seed:.0f}x |")
  print(f"\nfit throughput, LSTM width {args.lstm_width}, best of {FIT_RUNS} runs of "
        f"{FIT_EPOCHS} epochs each:")
  print(f"| Trainer fit loop | {pipeline_rate:,.0f} images/s | {pipeline_rate / plain_rate:.2f}x |")
  print(f"| plain Keras fit on arrays | {plain_rate:,.0f} images/s | 1.00x |")
  print(f"\nconsistency step (CNN, 32 labeled + 224 pool images), pool of {len(pool):,}, best of "
        f"{FIT_RUNS} alternating runs:")
  print(f"| pool streamed from Transform's files | {1 / streamed_step:.2f} steps/s | "
        f"{memory_step / streamed_step:.2f}x |")
  print(f"| pool in memory | {1 / memory_step:.2f} steps/s | 1.00x |")


if __name__ == "__main__":
  main(ARGS)
