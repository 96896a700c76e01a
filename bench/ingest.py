"""Ingest benchmark: the research method's data size through the pipeline's data stage, or
through the whole pipeline (`--whole-pipeline`).

Builds official-format Quick, Draw! class files by repeating the real rows of
../shared/data/quickdraw up to 72,500 per class (700,000 train + 25,000 test over 10 classes),
prepares them with the `quickdraw_files` builder, then runs ExampleGen, StatisticsGen, SchemaGen,
ExampleValidator, the data gate and Transform with LocalDagRunner. Prints rows/s per component
(from ml-metadata's execution times), total wall time and peak memory, and as a reference from
the same run, the rate of a plain TFDS read of the same prepared data. The data stage runs in
a process of its own (this script, `--data-stage-only`), so that its peak memory is measured
apart from the one-off TFDS preparation, as a pipeline run would see it. With
`--whole-pipeline` that process runs every component after the data stage too (the default
method and its supervised reference, `fewlabels run`'s pipeline): the research scale trained.

  python bench/ingest.py [--quickdraw-dir ../shared/data/quickdraw] [--per-class 72500]
                         [--work-dir bench_output/ingest] [--beam-arg=--direct_num_workers=2 ...]
  python bench/ingest.py --whole-pipeline --labels 5833
  python bench/ingest.py --workers 1 2 --set steps=600   # after --whole-pipeline, same --work-dir
With `--workers`, no pipeline runs: `fewlabels workers --job trainer` trains on the last
whole-pipeline run in --work-dir with each number of local workers in turn (`--set` its
settings), and the peak memory of each worker process, TensorFlow's fixed cost (a process that
only imports the Trainer's code) and the consistency steps per second of the chief are printed.
Accuracy on repeated rows means little (the test rows repeat training rows' drawings).
Quick, Draw! data: Google, CC BY 4.0.
"""
import argparse
import dataclasses
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from typing import Optional

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported
_HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quickdraw-dir", default=os.path.join(_HERE, "..", "..", "shared", "data",
                                                              "quickdraw"))
  parser.add_argument("--per-class", type=int, default=72_500)
  parser.add_argument("--labels", default="16.67%")
  parser.add_argument("--work-dir", default="bench_output/ingest")
  parser.add_argument("--beam-arg", action="append", default=[])
  parser.add_argument("--set", action="extend", nargs="+", default=[],
                      metavar="[SECTION.]FIELD=VALUE",
                      help="with --whole-pipeline or --workers: settings, as `fewlabels run --set` "
                           "(repeatable)")
  parser.add_argument("--whole-pipeline", action="store_true",
                      help="train, evaluate and push too (the default method and its reference)")
  parser.add_argument("--workers", type=int, nargs="+", default=None, metavar="N",
                      help="train on N local workers after a --whole-pipeline run (see above)")
  parser.add_argument("--data-stage-only", action="store_true",
                      help="(internal) run the pipeline in this process, on data already prepared")
  return parser.parse_args()


# Before the heavy imports: `--help` and a bad flag answer at once, not after TFX loads (~35 s).
ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from tfx import v1 as tfx  # noqa: E402
from tfx.orchestration import metadata  # noqa: E402

import measure  # noqa: E402  (bench/measure.py)
from pipeline import config as config_lib  # noqa: E402
from pipeline import pipeline as pipeline_lib  # noqa: E402
from pipeline import run_results  # noqa: E402
from sources import quickdraw_files  # noqa: E402
from sources import tfds_source  # noqa: E402

TEST_PER_CLASS = 2_500


def write_repeated_class_files(source_dir: str, target_dir: str, per_class: int) -> None:
  """Each class file's real rows, repeated to `per_class` rows, written in the official format."""
  os.makedirs(target_dir, exist_ok=True)
  for name in quickdraw_files.DEFAULT_CLASSES:
    rows = np.load(os.path.join(source_dir, f"{name}.npy"), mmap_mode="r", allow_pickle=False)
    out = np.lib.format.open_memmap(os.path.join(target_dir, f"{name}.npy"), mode="w+",
                                    dtype=np.uint8, shape=(per_class, rows.shape[1]))
    for start in range(0, per_class, len(rows)):
      stop = min(start + len(rows), per_class)
      out[start:stop] = rows[:stop - start]
    out.flush()
    del out


def _config(args, source):
  base = config_lib.PipelineConfig()
  return config_lib.apply_sets(dataclasses.replace(
      base, name="fewlabels-ingest", output_dir=os.path.join(os.path.abspath(args.work_dir),
                                                             "pipeline"),
      data=config_lib.DataConfig(dataset=source.dataset, tfds_data_dir=source.data_dir,
                                 manual_dir=source.manual_dir, label_budget=args.labels),
      beam_pipeline_args=base.beam_pipeline_args + tuple(args.beam_arg)), args.set)


def _source(args):
  work = os.path.abspath(args.work_dir)
  return tfds_source.SourceSpec(
      f"quickdraw_files/default_train{args.per_class - TEST_PER_CLASS}_test{TEST_PER_CLASS}",
      os.path.join(work, "tfds"), os.path.join(work, "files"))


def data_stage(args) -> None:
  """The data stage (or the whole pipeline) in this process (the parent measures its memory)."""
  source = _source(args)
  config = _config(args, source)
  names = (tfds_source.class_names(source.dataset, source.data_dir, source.manual_dir)
           if args.whole_pipeline else ())
  tfx.orchestration.LocalDagRunner().run(pipeline_lib.create_pipeline(
      config, names, metadata.sqlite_metadata_connection_config(config.metadata_path),
      data_stage_only=not args.whole_pipeline))


def main(args) -> None:
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
  for chatty in ("apache_beam", "tensorflow_transform"):
    logging.getLogger(chatty).setLevel(logging.WARNING)
  if args.data_stage_only:
    return data_stage(args)
  if args.workers:
    return workers_stage(args)
  if not os.path.isdir(args.quickdraw_dir):
    sys.exit(f"ingest: Quick, Draw! files not found at {args.quickdraw_dir}")
  work = os.path.abspath(args.work_dir)
  # The prepared data is reused across runs (preparing is a one-off); the pipeline is not.
  shutil.rmtree(os.path.join(work, "pipeline"), ignore_errors=True)
  started = time.monotonic()

  if not os.path.isdir(os.path.join(work, "files")):
    write_repeated_class_files(args.quickdraw_dir, os.path.join(work, "files"), args.per_class)
  source = _source(args)
  prepare_started = time.monotonic()
  builder = tfds_source.load_builder(source)
  prepare_seconds = time.monotonic() - prepare_started

  read_started = time.monotonic()
  read_rows = sum(len(batch[1]) for batch in tfds.as_numpy(
      builder.as_dataset(split="train", batch_size=4096, as_supervised=True)))
  read_rate = read_rows / (time.monotonic() - read_started)
  peak_before_stage = measure.peak_memory_gib()  # preparing and reading the data set, not the pipeline

  config = _config(args, source)
  stage_started = time.monotonic()
  child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--data-stage-only"]
                           + sys.argv[1:])
  samples = measure.sample_memory(child)
  if child.returncode:
    sys.exit(f"ingest: the data stage failed (exit status {child.returncode})")
  stage_seconds = time.monotonic() - stage_started

  store = run_results.open_store(config.metadata_path)
  info = builder.info.splits
  total_rows = info["train"].num_examples + info["test"].num_examples
  rows = {pipeline_lib.EXAMPLE_GEN: total_rows, pipeline_lib.STATISTICS_GEN: total_rows,
          pipeline_lib.TRANSFORM: info["train"].num_examples}
  print(f"\nmachine: {measure.machine()}")
  print(f"data: {info['train'].num_examples:,} train + {info['test'].num_examples:,} test images "
        f"(real Quick, Draw! rows repeated), labels {args.labels}, beam args "
        f"{' '.join(config.beam_pipeline_args)}")
  print(f"one-off TFDS preparation: {prepare_seconds:.0f} s "
        f"({total_rows / prepare_seconds:,.0f} rows/s)")
  print(f"reference, plain TFDS read of the train split: {read_rate:,.0f} rows/s\n")
  print("| component | seconds | rows/s | rows/s vs plain TFDS read | peak RSS while it ran |")
  print("|---|---|---|---|---|")
  for component in pipeline_lib.DATA_STAGE + (_MODEL_STAGE if args.whole_pipeline else ()):
    span = run_results.latest_span(store, config.name, component)
    if span is None:  # not in this pipeline (a setting turned it off)
      continue
    begin, end = span
    seconds = end - begin
    rate = rows.get(component)
    rate_text = f"{rate / seconds:,.0f}" if rate else "-"
    ratio = f"{rate / seconds / read_rate:.2f}x" if rate else "-"
    during = [rss for when, rss in samples if begin <= when <= end]
    peak = f"{max(during) / 2**30:.2f} GiB" if during else "-"
    print(f"| {component} | {seconds:.0f} | {rate_text} | {ratio} | {peak} |")
  what = "pipeline" if args.whole_pipeline else "data stage"
  print(f"\n{what} wall time: {stage_seconds:.0f} s; whole benchmark "
        f"{time.monotonic() - started:.0f} s; peak memory of the {what} in its own "
        f"process {measure.peak_memory_gib(resource.RUSAGE_CHILDREN):.2f} GiB; of the preparation and "
        f"the reference read in this process {peak_before_stage:.2f} GiB")
  if args.whole_pipeline:
    print("\n" + run_results.format_summary(run_results.summarize(config.metadata_path,
                                                                   config.name)))
  print(f"outputs under {work} (delete when done)")


_STEPS_LINE = re.compile(r"\[worker 0\] .*consistency training: .* (\d+) steps/epoch")
_EPOCH_LINE = re.compile(r"\[worker 0\] .*consistency training: epoch (\d+)/\d+ .*\((\d+) s elapsed")


def consistency_steps_per_second(log_text: str) -> Optional[float]:
  """The chief's steady consistency step rate, from its progress lines: epochs after the first
  (which holds tracing and the input's start) over the seconds they took."""
  steps = _STEPS_LINE.findall(log_text)
  epochs = [(int(number), float(seconds)) for number, seconds in _EPOCH_LINE.findall(log_text)]
  if not steps or len(epochs) < 2:
    return None
  (first, first_seconds), (last, last_seconds) = epochs[0], epochs[-1]
  return int(steps[-1]) * (last - first) / max(last_seconds - first_seconds, 1e-9)


def workers_stage(args) -> None:
  """`fewlabels workers --job trainer` on 1, 2, ... local workers over the last pipeline run."""
  output = os.path.join(os.path.abspath(args.work_dir), "pipeline")
  if not os.path.isfile(os.path.join(output, "metadata.sqlite")):
    sys.exit(f"ingest: no pipeline run in {output}: run with --whole-pipeline first")
  fixed = subprocess.run(  # TensorFlow's and the Trainer code's own cost, before any data
      [sys.executable, "-c", "import resource, models.run_fn; "
       "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
      capture_output=True, text=True, check=True)
  fixed_gib = int(fixed.stdout.split()[-1]) / 2**20
  rows = []
  for count in args.workers:
    log_path = os.path.join(os.path.abspath(args.work_dir), f"workers_{count}.log")
    command = [sys.executable, "-m", "pipeline.cli", "workers", "--job", "trainer", "--output",
               output, "--name", "fewlabels-ingest", "--num-workers", str(count), "--verbose"]
    command += [f"--set={item}" for item in args.set]
    logging.info("%s workers: %s (log %s)", count, " ".join(command), log_path)
    shutil.rmtree(os.path.join(output, "workers"), ignore_errors=True)  # no resume from before
    started = time.monotonic()
    with open(log_path, "w") as log:
      launcher = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
      peaks = measure.peak_memory_of_children(launcher)
    seconds = time.monotonic() - started
    if launcher.returncode:
      sys.exit(f"ingest: {count} workers failed (exit status {launcher.returncode}); see {log_path}")
    with open(log_path) as log:
      rate = consistency_steps_per_second(log.read())
    rows.append((count, seconds, [peaks[pid] / 2**30 for pid in sorted(peaks)], rate))
  print(f"\nmachine: {measure.machine()}")
  print(f"fewlabels workers --job trainer --set {' '.join(args.set) or '(none)'}; TensorFlow's "
        f"fixed cost (a process importing the Trainer's code): {fixed_gib:.2f} GiB\n")
  print("| workers | wall s | peak RSS per worker process | beyond the fixed cost | "
        "consistency steps/s (global, chief) |")
  print("|---|---|---|---|---|")
  for count, seconds, gib, rate in rows:
    print(f"| {count} | {seconds:.0f} | {', '.join(f'{g:.2f} GiB' for g in gib)} | "
          f"{', '.join(f'{g - fixed_gib:.2f} GiB' for g in gib)} | "
          f"{f'{rate:.2f}' if rate else '-'} |")


_MODEL_STAGE = (pipeline_lib.PRETRAINER, pipeline_lib.REFERENCE_TRAINER, pipeline_lib.TRAINER,
                pipeline_lib.BASELINE_RESOLVER, pipeline_lib.EVALUATOR,
                pipeline_lib.REFERENCE_EVALUATOR, pipeline_lib.PUSH_GATE, pipeline_lib.PUSHER,
                pipeline_lib.REPORT)


if __name__ == "__main__":
  main(ARGS)
