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
Accuracy on repeated rows means little (the test rows repeat training rows' drawings).
Quick, Draw! data: Google, CC BY 4.0.
"""
import argparse
import dataclasses
import logging
import os
import resource
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
  parser.add_argument("--per-class", type=int, default=72_500)
  parser.add_argument("--labels", default="16.67%")
  parser.add_argument("--work-dir", default="bench_output/ingest")
  parser.add_argument("--beam-arg", action="append", default=[])
  parser.add_argument("--set", nargs="*", default=[], metavar="[SECTION.]FIELD=VALUE",
                      help="with --whole-pipeline: a setting, as `fewlabels run --set`")
  parser.add_argument("--whole-pipeline", action="store_true",
                      help="train, evaluate and push too (the default method and its reference)")
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
from pipeline import cli  # noqa: E402
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
  return cli.apply_sets(dataclasses.replace(
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
    execution = _latest_execution(store, config.name, component)
    if execution is None:  # not in this pipeline (a setting turned it off)
      continue
    begin, end = (execution.create_time_since_epoch / 1000,
                  execution.last_update_time_since_epoch / 1000)
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


_MODEL_STAGE = (pipeline_lib.PRETRAINER, pipeline_lib.REFERENCE_TRAINER, pipeline_lib.TRAINER,
                pipeline_lib.BASELINE_RESOLVER, pipeline_lib.EVALUATOR,
                pipeline_lib.REFERENCE_EVALUATOR, pipeline_lib.PUSH_GATE, pipeline_lib.PUSHER,
                pipeline_lib.REPORT)


def _latest_execution(store, pipeline_name, component):
  context = store.get_context_by_type_and_name("node", f"{pipeline_name}.{component}")
  executions = store.get_executions_by_context(context.id) if context else []
  return max(executions, key=lambda e: e.id) if executions else None


if __name__ == "__main__":
  main(ARGS)
