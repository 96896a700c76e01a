"""The `fewlabels` command: run the pipeline locally, or compile it for Kubeflow V2.

Everything this module imports at its top is light (no TensorFlow, TFX or Beam): the command
line, the configuration and the local data files are checked first, in about a second, and
only then does the heavy machinery load (~10 s for TensorFlow, ~35 s with TFX).
"""
import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
import time
import warnings
from typing import Iterator, List, Optional

from models import architectures
from models import methods
from pipeline import config as config_lib
from pipeline import console as console_lib
from pipeline import flags
from pipeline import run_lock
from pipeline import suggest as suggest_lib  # numpy at its top; TensorFlow only when it runs
from sources.errors import DataSourceError
from sources.label_budget import BudgetError

BEAM_RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner", "PortableRunner")


class _Parser(argparse.ArgumentParser):
  """Usage mistakes as one line naming the bad value, like every other error here."""

  def error(self, message):
    self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
  value = int(text)
  if value <= 0:
    raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
  return value


def _batch_size(text: str):
  return text if text == config_lib.AUTO else _positive_int(text)


def _add_earlier_run_flags(parser: argparse.ArgumentParser) -> None:
  """--output and --name: which earlier run a command reads."""
  parser.add_argument("--output", default=config_lib.PipelineConfig().output_dir, metavar="DIR",
                      help="output dir of an earlier `fewlabels run` (default: %(default)s)")
  parser.add_argument("--name", default=config_lib.PipelineConfig().name,
                      help="pipeline name (default: %(default)s)")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
  d = config_lib.PipelineConfig()
  method = parser.add_argument_group("learning method")
  method.add_argument("--method", default=d.method, metavar="NAME",
                      help=f"one of {', '.join(methods.names())} (default: %(default)s)")
  method.add_argument("--set", action="append", default=[], metavar="[SECTION.]FIELD=VALUE",
                      help="any setting: the method's own (e.g. threshold=0.9, max_rounds=3) "
                           "or SECTION.FIELD of model, training, pretraining, evaluation (e.g. "
                           "training.translate_pixels=0); repeatable")
  method.add_argument("--reference", default=d.reference, metavar="supervised|none",
                      help="train a supervised model on the same labels alongside a method "
                           "that learns from the pool, and gate on it; none: no reference "
                           "(ignored for methods that do not use the pool) (default: "
                           "%(default)s)")
  flags.add_section_flags(parser, config_lib.SECTIONS, more_help={
      "model.architecture": f"One of {', '.join(architectures.names())}.",
      "data.label_budget": "For an image folder the default is all."})
  flags.add_section_flags(parser, _architecture_settings(), title="{} settings (with --model {})")
  run = parser.add_argument_group("pipeline")
  run.add_argument("--name", default=d.name, help="pipeline name (default: %(default)s)")
  run.add_argument("--beam-runner", default=None, metavar="NAME",
                   help=f"Beam runner for the data components: one of {', '.join(BEAM_RUNNERS)} "
                        "(default: DirectRunner, in memory)")
  run.add_argument("--beam-arg", action="append", default=[], metavar="ARG",
                   help="extra Beam pipeline option, repeatable, e.g. --beam-arg=--project=P")
  _add_verbose(run)


def _add_verbose(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--verbose", action="store_true",
                      help="stream every log line (TensorFlow, Beam, TFX) to the console; by "
                           "default they go to OUTPUT/logs/<run id>.log and the console shows "
                           "one line per component, progress and the summary")


def _beam_args(args) -> tuple:
  if args.beam_runner is None:
    return config_lib.PipelineConfig().beam_pipeline_args + tuple(args.beam_arg)
  if args.beam_runner not in BEAM_RUNNERS:
    raise config_lib.ConfigError(
        f"beam runner {args.beam_runner!r} is unknown: expected one of {', '.join(BEAM_RUNNERS)}")
  return (f"--runner={args.beam_runner}",) + tuple(args.beam_arg)


def _architecture_settings() -> dict:
  return {name: architectures.get(name).settings for name in architectures.names()}


def _model(args, base: config_lib.ModelConfig) -> config_lib.ModelConfig:
  """The model section's flags, and the chosen architecture's own (`--cnn-width`); another
  architecture's setting is refused rather than ignored."""
  model = dataclasses.replace(base, **flags.given(args, "model", config_lib.ModelConfig))
  for name, settings in _architecture_settings().items():
    values = flags.given(args, name, settings)
    if values and name != model.architecture:
      raise config_lib.ConfigError(
          f"{flags.flag_names(name, next(iter(values)))[0]} is a setting of architecture "
          f"{name!r}, and the run's is {model.architecture!r}: add --model {name}")
    if values:
      model = dataclasses.replace(model, settings=tuple(values.items()))
  return model


def config_from_args(args, output_dir: str, **overrides) -> config_lib.PipelineConfig:
  base = config_lib.PipelineConfig()
  data = flags.given(args, "data", config_lib.DataConfig)
  data.setdefault("label_budget", config_lib.default_label_budget(
      data.get("dataset", base.data.dataset)))
  for field in ("extra_labels", "schema_file"):  # read by components in other directories
    if data.get(field) and "://" not in data[field]:
      data[field] = os.path.abspath(data[field])
  config = dataclasses.replace(
      base, name=args.name, output_dir=output_dir, method=args.method, reference=args.reference,
      data=dataclasses.replace(base.data, **data), model=_model(args, base.model),
      **{section: dataclasses.replace(getattr(base, section), **flags.given(args, section, cls))
         for section, cls in config_lib.SECTIONS.items() if section not in ("data", "model")},
      beam_pipeline_args=_beam_args(args), **overrides)
  return config_lib.apply_sets(config, args.set)


def build_parser() -> argparse.ArgumentParser:
  parser = _Parser(prog="fewlabels", description=__doc__)
  commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
  run = commands.add_parser("run", help="run the whole pipeline here (LocalDagRunner)",
                            description="Run the pipeline with LocalDagRunner and print a summary.")
  run.add_argument("--output", default=config_lib.PipelineConfig().output_dir, metavar="DIR",
                   help="pipeline root, ml-metadata and pushed models (default: %(default)s)")
  _add_config_flags(run)
  compile_ = commands.add_parser(
      "compile", help="write the Kubeflow V2 (Vertex AI Pipelines) pipeline spec",
      description="Write the Kubeflow V2 pipeline JSON; no cluster needed.")
  compile_.add_argument("--output", required=True, metavar="FILE", help="pipeline JSON to write")
  compile_.add_argument("--pipeline-root", required=True, metavar="URI",
                        help="where the cluster writes artifacts, e.g. gs://bucket/fewlabels")
  compile_.add_argument("--image", required=True,
                        help="container image with this package installed: build the "
                             "Dockerfile (docker build -t IMAGE .); TFX's stock image is "
                             "refused, it lacks this package")
  vertex = compile_.add_argument_group("training on Vertex AI (optional)")
  v = config_lib.VertexTrainingConfig()
  vertex.add_argument("--vertex-project", default=v.project, metavar="PROJECT",
                      help="train as a Vertex AI custom job in this project (default: inside "
                           "the pipeline task)")
  vertex.add_argument("--vertex-region", default=v.region, help="(default: %(default)s)")
  pools = v.trainers
  vertex.add_argument("--replica-count", type=_positive_int, default=pools.replica_count,
                      help="the Trainer's and the ReferenceTrainer's workers in all, chief "
                           "included (default: %(default)s)")
  vertex.add_argument("--machine-type", default=pools.machine_type, help="(default: %(default)s)")
  vertex.add_argument("--accelerator-type", default=pools.accelerator_type,
                      help="e.g. NVIDIA_TESLA_T4 (default: none)")
  vertex.add_argument("--accelerator-count", type=int, default=pools.accelerator_count,
                      help="accelerators per worker (default: %(default)s)")
  for flag in ("replica-count", "machine-type", "accelerator-type", "accelerator-count"):
    vertex.add_argument(f"--pretrainer-{flag}", default=None,
                        type=int if flag.endswith("count") else str,
                        help=f"the LayerwisePretrainer's --{flag} (default: the trainers')")
  _add_config_flags(compile_)
  sweep = commands.add_parser(
      "sweep", help="run label budgets x methods x repeats; CSV, figure and summary page",
      description="Run the pipeline (LocalDagRunner) for every label budget, method and repeat "
                  "in one output dir; cells already finished in its ml-metadata are skipped. "
                  "Writes DIR/sweep/results.csv, accuracy_vs_labels.png and index.html.")
  sweep.add_argument("--output", default="sweep_output", metavar="DIR",
                     help="pipeline root, ml-metadata and the sweep's results (default: "
                          "%(default)s)")
  sweep.add_argument("--budgets", nargs="+", default=["paper"], metavar="BUDGET",
                     help="label budgets (counts or percentages), or the preset 'paper' (the "
                          "research method's 18, 16.67%% down to 0.33%%) (default: paper)")
  sweep.add_argument("--methods", default=",".join(methods.RESEARCH), metavar="A,B,...",
                     help=f"methods to compare, of {', '.join(methods.names())} (default: "
                           "the research method's four)")
  sweep.add_argument("--repeats", type=int, default=3,
                     help="runs per budget and method, seeds 0..N-1 (default: %(default)s)")
  _add_config_flags(sweep)
  predict = commands.add_parser(
      "predict", help="class names for pictures, from a pushed model",
      description="One line per picture: its path and the top classes with their "
                  "probabilities. PATH: picture files (PNG, JPEG, GIF, BMP, WebP), folders of "
                  "them, or .npy files of numpy_bitmap rows. Exit status 1 if any failed.")
  predict.add_argument("paths", nargs="+", metavar="PATH")
  where = predict.add_mutually_exclusive_group()
  where.add_argument("--model", default=None, metavar="DIR",
                     help="a pushed SavedModel, or a serving dir of numbered versions (the "
                          "latest is used)")
  where.add_argument("--output", default=config_lib.PipelineConfig().output_dir, metavar="DIR",
                     help="run dir whose latest pushed model answers (default: %(default)s)")
  predict.add_argument("--top", type=_positive_int, default=3,
                       help="classes per picture (default: %(default)s)")
  predict.add_argument("--json", action="store_true", help="one JSON object per line")
  predict.add_argument("--polarity", default="auto", choices=("auto", "light_on_dark",
                                                              "dark_on_light"),
                       help="the ink of the pictures (default: %(default)s: from the border)")
  predict.add_argument("--batch-size", type=_positive_int, default=256,
                       help="pictures per model call (default: %(default)s)")
  suggest = commands.add_parser(
      "suggest", help="which unlabeled pictures to label next, and a page to label them",
      description="Scores every unlabeled picture of the last run with its trained model and "
                  "picks --count to label: uncertain ones, spread over clusters of what they "
                  "look like and over the predicted classes, no near-duplicates. Writes "
                  "suggestions.csv and label.html (open it in a browser, label, download "
                  "labels.csv, then `fewlabels run ... --extra-labels labels.csv`).")
  _add_earlier_run_flags(suggest)
  suggest.add_argument("--count", type=_positive_int, default=100,
                       help="pictures to label (default: %(default)s)")
  suggest.add_argument("--strategy", default="diverse", choices=suggest_lib.STRATEGIES,
                       help="diverse (the most uncertain by margin, spread over clusters of "
                            "what they look like), margin between the two best classes, "
                            "entropy, or random (default: %(default)s)")
  suggest.add_argument("--to", default=None, metavar="DIR",
                       help="where to write (default: OUTPUT/suggestions)")
  suggest.add_argument("--seed", type=int, default=0,
                       help="for --strategy random and diverse (default: 0)")
  schema = commands.add_parser(
      "schema", help="write the last run's schema, made strict, to keep and pass to --schema",
      description="Reads the schema the last run inferred and writes it made strict: the label "
                  "in -1..N-1, the class names as a domain, every feature exactly once, the "
                  "pictures' size as seen. Keep the file in version control and pass it to "
                  "`fewlabels run --schema FILE`: data that break it stop at the data gate.")
  _add_earlier_run_flags(schema)
  schema.add_argument("--write", required=True, metavar="FILE", help="the schema file to write")
  workers = commands.add_parser(
      "workers", help="train on N local processes with MultiWorkerMirroredStrategy",
      description="Run the Trainer's run_fn or the layer-wise pre-training on N local worker "
                  "processes (127.0.0.1, TF_CONFIG) over the Transform output of the last "
                  "`fewlabels run` in --output; a rerun after a failure resumes from the last "
                  "finished epoch. The trainer starts from the encoder that `--job pretrainer` "
                  "left, if any, else from the run's.")
  workers.add_argument("--job", choices=config_lib.WORKER_JOBS, default=config_lib.TRAINER_JOB,
                       help="what the workers run (default: %(default)s)")
  workers.add_argument("--output", default=config_lib.PipelineConfig().output_dir, metavar="DIR",
                       help="output dir of an earlier `fewlabels run` (default: %(default)s)")
  workers.add_argument("--name", default=config_lib.PipelineConfig().name,
                       help="pipeline name (default: %(default)s)")
  workers.add_argument("--num-workers", type=_positive_int, default=2, help="(default: %(default)s)")
  workers.add_argument("--epochs", type=int, default=None,
                       help="override the run's training epochs (pretrainer: epochs per stage)")
  workers.add_argument("--set", action="append", default=[], metavar="[SECTION.]FIELD=VALUE",
                       help="override a setting of the run, as `fewlabels run --set` (e.g. "
                            "steps=600, training.batch_size=64, pretraining.steps_per_stage=140); "
                            "repeatable")
  workers.add_argument("--join-timeout", type=float, default=300.0,
                       help="seconds for every worker to start training (default: %(default)s)")
  workers.add_argument("--fail-after-epoch", type=_positive_int, default=None,
                       help="fault injection: the last worker exits after this epoch")
  _add_verbose(workers)
  return parser


def _preflight(output_dir: str, data: config_lib.DataConfig) -> None:
  """The checks that need no TensorFlow: the output dir, the local data files, and the budget
  where the data set's size is known from its name or files."""
  if os.path.exists(output_dir) and not os.path.isdir(output_dir):
    raise config_lib.ConfigError(f"--output {output_dir!r} is a file: expected a directory "
                                 "(new, or the output of an earlier run)")
  from sources import local_files  # TFDS's builders, without TensorFlow: about a second
  local_files.check(data.source_name, data.manual_dir, data.test_split)
  local_files.check_budget(data.dataset, data.manual_dir, data.label_budget, data.classes,
                           data.test_split)
  if data.extra_labels:
    from sources import extra_labels
    extra_labels.read(data.extra_labels)


@contextlib.contextmanager
def _removed_if_nothing_ran(output_dir: str) -> Iterator[None]:
  """A run refused before the pipeline starts (a one-line error) leaves no output dir that could
  pass for a result; once ml-metadata exists, what finished stays (a rerun reuses it). After
  an unexpected failure the dir stays: it holds the log."""
  created = not os.path.exists(output_dir)
  try:
    yield
  except _known_errors():
    if created and not os.path.exists(os.path.join(output_dir, "metadata.sqlite")):
      shutil.rmtree(output_dir, ignore_errors=True)
    raise


@contextlib.contextmanager
def _pipeline_session(config: config_lib.PipelineConfig, verbose: bool,
                      state: dict) -> Iterator[console_lib.Console]:
  """What `run` and `sweep` hold while they work: the output dir's lock and the console (its
  lines name each finished component's key figure, read from ml-metadata)."""
  def describe(component_id: str) -> str:
    from pipeline import run_results
    return run_results.describe_component(config.metadata_path, config.name, component_id)

  with _removed_if_nothing_ran(config.output_dir), run_lock.hold(config.output_dir), \
      console_lib.session(config.output_dir, verbose, describe) as console:
    state["console"] = console
    yield console


def _run(args, state: dict) -> None:
  config = config_from_args(args, os.path.abspath(args.output))
  _preflight(config.output_dir, config.data)
  started = time.monotonic()
  with _pipeline_session(config, args.verbose, state) as console:
    console.say(f"fewlabels run: method {config.method}, model {config.model.architecture}, "
                f"data {config.data.dataset}, labels {config.data.label_budget}; "
                f"log: {console.log_path}")
    from pipeline import local_runner  # TFX: ~35 s, only once the flags and files are good
    from pipeline import run_results
    summary = local_runner.run(config)
    console.rename_log(summary.run_id)
    console.say(run_results.format_summary(summary))
    console.say(f"  outputs under: {config.output_dir}  ({time.monotonic() - started:.0f} s)")
    console.say(f"  log: {console.log_path}")


def _vertex_config(args) -> config_lib.VertexTrainingConfig:
  trainers = config_lib.WorkerPoolConfig(
      replica_count=args.replica_count, machine_type=args.machine_type,
      accelerator_type=args.accelerator_type, accelerator_count=args.accelerator_count)
  given = {field: getattr(args, f"pretrainer_{field}") for field in (
      "replica_count", "machine_type", "accelerator_type", "accelerator_count")
      if getattr(args, f"pretrainer_{field}") is not None}
  return config_lib.VertexTrainingConfig(
      project=args.vertex_project, region=args.vertex_region, trainers=trainers,
      pretrainer=dataclasses.replace(trainers, **given) if given else None)


def _compile(args, state: dict) -> None:
  config = config_from_args(
      args, args.pipeline_root, image=args.image,
      vertex=_vertex_config(args))
  config_lib.check_image(config.image)
  output = os.path.abspath(args.output)
  if os.path.isdir(output):
    raise config_lib.ConfigError(f"--output {output!r} is a directory: expected the pipeline "
                                 "JSON file to write")
  with console_lib.session(os.path.dirname(output), args.verbose) as console:
    state["console"] = console
    from pipeline import kubeflow_v2_runner
    console.say(f"wrote {kubeflow_v2_runner.compile_pipeline(config, output)}")


def _sweep(args, state: dict) -> None:
  config = config_from_args(args, os.path.abspath(args.output))
  chosen = [m for m in args.methods.split(",") if m]
  config_lib.check_sweep(config, args.budgets, chosen, args.repeats)
  _preflight(config.output_dir, config.data)
  with _pipeline_session(config, args.verbose, state) as console:
    from pipeline import sweep
    directory = sweep.run_sweep(config, args.budgets, chosen, args.repeats)
    console.say(f"sweep results: {os.path.join(directory, sweep.CSV_FILE)}, "
                f"{os.path.join(directory, sweep.FIGURE_FILE)}, "
                f"{os.path.join(directory, sweep.SUMMARY_FILE)}")


def _predict(args, state: dict) -> None:
  from pipeline import predict as predict_lib  # TensorFlow: ~8 s
  model_dir = predict_lib.find_model(args.model, None if args.model else args.output)
  failed = 0
  for answer in predict_lib.predict(model_dir, args.paths, args.polarity, args.batch_size):
    failed += bool(answer.error)
    print(json.dumps(answer.json(args.top), ensure_ascii=False) if args.json
          else answer.text(args.top), flush=True)
  state["exit_status"] = 1 if failed else 0


def _suggest(args, state: dict) -> None:
  del state
  written = suggest_lib.run(os.path.abspath(args.output), args.name, args.count, args.strategy,
                            args.to or os.path.join(args.output, "suggestions"), args.seed)
  print(f"fewlabels suggest: {args.count} pictures to label: {written[0]}\n"
        f"  open {written[1]} in a browser, label them, download labels.csv, then: "
        "fewlabels run ... --extra-labels labels.csv")


def _schema(args, state: dict) -> None:
  del state
  from pipeline import kept_schema
  schema = kept_schema.from_last_run(os.path.abspath(args.output), args.name)
  print(f"fewlabels schema: wrote {kept_schema.write(schema, args.write)} "
        f"({len(schema.feature)} features); run with --schema {args.write}")


def _workers(args, state: dict) -> None:
  output = os.path.abspath(args.output)
  if not os.path.isfile(os.path.join(output, "metadata.sqlite")):
    raise config_lib.ConfigError(f"--output {output!r} holds no pipeline run: run `fewlabels run "
                                 "--output DIR` first")
  with console_lib.session(output, args.verbose) as console:
    state["console"] = console
    from pipeline import local_workers
    job_args = local_workers.job_inputs(args.job, output, args.name, args.epochs, args.set)
    exported = local_workers.launch(args.job, job_args, args.num_workers, args.join_timeout,
                                    args.fail_after_epoch)
    what = "model exported" if args.job == config_lib.TRAINER_JOB else "encoder written"
    console.say(f"{args.job} ran on {args.num_workers} workers; {what} to {exported}")


# The errors that carry a one-line message for the user, by module: those of modules not loaded
# yet cannot have been raised, and loading them to find out would cost seconds.
_ONE_LINE_ERRORS = (
    ("components.atomic_pusher.executor", "PushError"),
    ("components.data_validation_gate.executor", "DataAnomaliesError"),
    ("models.distribution", "DistributionError"),
    ("models.weights", "BaseModelError"),
    ("models.pretraining", "PretrainingError"),
    ("pipeline.local_workers", "WorkerError"),
    ("pipeline.predict", "PredictError"),
    ("pipeline.suggest", "SuggestError"),
)


def _known_errors() -> tuple:
  loaded = tuple(getattr(sys.modules[module], name) for module, name in _ONE_LINE_ERRORS
                 if module in sys.modules)
  return (config_lib.ConfigError, BudgetError, DataSourceError, methods.MethodError) + loaded


def _configure_logging() -> None:
  logging.basicConfig(level=logging.INFO, format=console_lib.LOG_FORMAT, force=True)
  for chatty in ("apache_beam", "tensorflow_transform"):  # thousands of lines of internals
    logging.getLogger(chatty).setLevel(logging.WARNING)
  warnings.filterwarnings("ignore", category=FutureWarning)  # google-cloud's Python 3.10 notices


def _log_note(state: dict) -> str:
  console = state.get("console")
  return f" (full log: {console.log_path})" if console and os.path.exists(console.log_path) else ""


def main(argv: Optional[List[str]] = None) -> int:
  _configure_logging()
  args = build_parser().parse_args(argv)
  state: dict = {}
  try:
    {"run": _run, "compile": _compile, "sweep": _sweep, "workers": _workers,
     "predict": _predict, "suggest": _suggest, "schema": _schema}[args.command](args, state)
  except _known_errors() as e:
    print(f"fewlabels: error: {e}{_log_note(state)}", file=sys.stderr)
    return 1
  except Exception as e:
    console = state.get("console")
    if console is None or args.verbose:
      raise
    where = f" in {console.failed_in}" if console.failed_in else ""
    lines = [f"fewlabels: error{where}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
             "  last lines of the log:"]
    lines += [f"    {line[:200]}" for line in console_lib.last_lines(console.log_path)]
    lines.append(f"  full log: {console.log_path}")
    print("\n".join(lines), file=sys.stderr)
    return 1
  return state.get("exit_status", 0)


if __name__ == "__main__":
  sys.exit(main())
