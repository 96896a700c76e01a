"""Image-folder benchmark: PNG files through the source and the data stage, and `predict`.

Writes N PNG files (the project's doodles, drawn dark on light and upscaled to 84-168 pixels
a side, as a scan or an export would be): 100 labeled per class for 10 classes, the rest in
unlabeled/. Then, each in a process of its own with its memory sampled: the image folder's
preparation (decode and convert every file) plus the data stage (ExampleGen ... Transform), and,
as the reference in the same run, a plain Pillow loop over the same files (open, grayscale,
resize to 28 x 28); both timed from the end of their imports. Repeated at a second, smaller N
to show whether peak memory grows with the number of files. Last, `predict` over `--predict`
of the files, with a model trained one epoch for it (not measured).

  python bench/image_folder.py [--files 20000] [--small 5000] [--predict 10000]
                               [--work-dir bench_output/image_folder]
"""
import argparse
import os
import sys
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

_HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--files", type=int, default=20_000)
  parser.add_argument("--small", type=int, default=5_000,
                      help="a second, smaller folder: does peak memory grow with the files?")
  parser.add_argument("--predict", type=int, default=10_000, help="pictures for `predict`")
  parser.add_argument("--work-dir", default="bench_output/image_folder")
  parser.add_argument("--stage", choices=["pillow", "data", "model"], default=None,
                      help="(internal) run one measured step in this process")
  parser.add_argument("--folder", default=None, help="(internal) the folder of that step")
  parser.add_argument("--seconds-to", default=None, help="(internal) where it writes its time")
  return parser.parse_args()


# Before the heavy imports: `--help` and a bad flag answer at once.
ARGS = parse_args() if __name__ == "__main__" else None

import subprocess  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import measure  # noqa: E402  (bench/measure.py)

LABELED_PER_CLASS = 100
TEST_PER_CLASS = 20  # held out of labeled/ (--test-split holdout:20)


def write_folder(root: str, count: int) -> None:
  """`count` PNG files; kept between runs (writing is not what is measured)."""
  from sources import doodle_drawing
  done_marker = os.path.join(root, ".complete")
  if os.path.exists(done_marker):
    return
  rng = np.random.default_rng(0)
  classes = doodle_drawing.CLASS_NAMES
  for index in range(count):
    label = index % len(classes)
    if index < LABELED_PER_CLASS * len(classes):
      folder = os.path.join(root, "labeled", classes[label])
    else:
      folder = os.path.join(root, "unlabeled", f"batch {index // 1000:03d}")
    os.makedirs(folder, exist_ok=True)
    side = int(rng.integers(84, 169))
    picture = Image.fromarray(255 - doodle_drawing.draw(label, rng)).resize((side, side))
    picture.save(os.path.join(folder, f"{index:06d}.png"))
  open(done_marker, "w").close()


def pillow_loop(folder: str) -> None:
  from sources import image_files
  for path in image_files.walk(folder):
    with Image.open(path) as image:
      np.asarray(image.convert("L").resize((28, 28)))


def pipeline_stage(folder: str, work: str, data_stage_only: bool) -> None:
  """Preparation (every picture decoded and converted) and the data stage, as `fewlabels run`
  (then, unless `data_stage_only`, one epoch of training and the push, for `predict`)."""
  import dataclasses
  from tfx import v1 as tfx
  from tfx.orchestration import metadata
  from pipeline import config as config_lib
  from pipeline import local_runner
  from pipeline import pipeline as pipeline_lib
  base = config_lib.PipelineConfig()
  config = dataclasses.replace(
      base, name="fewlabels-image-folder", output_dir=os.path.join(work, "pipeline"),
      method="supervised", reference=config_lib.NO_REFERENCE,
      data=config_lib.DataConfig(dataset="image_folder", tfds_data_dir=os.path.join(work, "tfds"),
                                 manual_dir=folder, label_budget="all",
                                 test_split=f"holdout:{TEST_PER_CLASS}"),
      model=dataclasses.replace(base.model, architecture="cnn"),
      training=dataclasses.replace(base.training, epochs=1, min_epochs=0),
      # One epoch is for a model that answers, not a good one: push whatever it reaches.
      evaluation=dataclasses.replace(base.evaluation, min_accuracy=0.0))
  plan = local_runner.prepare(config)  # preparation: decode and convert every file
  os.makedirs(config.output_dir, exist_ok=True)
  tfx.orchestration.LocalDagRunner().run(pipeline_lib.create_pipeline(
      config, plan.class_names, metadata.sqlite_metadata_connection_config(config.metadata_path),
      data_stage_only=data_stage_only))


def measured(argv, label):
  """Runs this script with `argv` in a child; returns (seconds of its work, after its imports,
  and its peak GiB)."""
  out = os.path.join(ARGS.work_dir, "seconds.txt")
  child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--seconds-to", out]
                           + argv, stdout=subprocess.DEVNULL)
  samples = measure.sample_memory(child)
  if child.returncode:
    sys.exit(f"image_folder bench: {label} failed (exit status {child.returncode})")
  with open(out) as f:
    return float(f.read()), max(rss for _, rss in samples) / 2**30


def main(args) -> None:
  import shutil
  if args.stage:
    if args.stage != "pillow":
      from pipeline import local_runner  # noqa: F401  (TFX: imported before the clock starts)
    started = time.monotonic()
    if args.stage == "pillow":
      pillow_loop(args.folder)
    else:
      pipeline_stage(args.folder, os.path.join(args.work_dir, "run", os.path.basename(
          args.folder)), data_stage_only=args.stage == "data")
    with open(args.seconds_to, "w") as f:
      f.write(str(time.monotonic() - started))
    return
  work = args.work_dir = os.path.abspath(args.work_dir)
  rows = []
  for count in (args.small, args.files):
    folder = os.path.join(work, f"files_{count}")
    write_folder(folder, count)
    shutil.rmtree(os.path.join(work, "run", os.path.basename(folder)), ignore_errors=True)
    pillow_seconds, pillow_peak = measured(["--stage", "pillow", "--folder", folder], "Pillow")
    stage_seconds, stage_peak = measured(
        ["--stage", "data", "--folder", folder, "--work-dir", work], "the data stage")
    rows.append((count, pillow_seconds, pillow_peak, stage_seconds, stage_peak))
  measured(["--stage", "model", "--folder", folder, "--work-dir", work], "training")

  predict_rate = predict_rows(work, args)
  print(f"\nmachine: {measure.machine()}")
  print("| files | Pillow loop s | Pillow rows/s | source + data stage s | rows/s | vs Pillow | "
        "peak GiB (data stage process) |")
  print("|---|---|---|---|---|---|---|")
  for count, p_s, _, s_s, s_peak in rows:
    print(f"| {count:,} | {p_s:.0f} | {count / p_s:,.0f} | {s_s:.0f} | {count / s_s:,.0f} | "
          f"{p_s / s_s:.2f}x | {s_peak:.2f} |")
  print(f"\npredict: {predict_rate:,.0f} pictures/s over {args.predict:,} files "
        "(decode, convert, model), batches of 256")


def predict_rows(work: str, args) -> float:
  """`predict` over the first `--predict` files with the model the big run pushed."""
  from pipeline import predict
  from sources import image_files
  folder = os.path.join(work, f"files_{args.files}")
  model = predict.find_model(None, os.path.join(work, "run", os.path.basename(folder),
                                                "pipeline"))
  paths = [p for _, p in zip(range(args.predict), image_files.walk(folder))]
  started = time.monotonic()
  answered = sum(1 for _ in predict.predict(model, paths))
  return answered / (time.monotonic() - started)


if __name__ == "__main__":
  main(ARGS)
