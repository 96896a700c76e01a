"""`make demo`'s pipeline, timed: the default beside its supervised reference on the embedded
doodles, seed by seed, with the demo's settings and with variants of them.

Each cell is one `fewlabels run` with the Makefile's DEMO_ARGS (the one place for them), a
`--seed` and a variant's extra flags, in a fresh output directory. The doodles are prepared once
before the first cell, so what is timed is the pipeline, as in a user's second `make demo`:
its seconds from the first component's start to the last one's end, and the Trainer's, the
ReferenceTrainer's and the pre-trainer's as ml-metadata recorded them. One CSV row per cell as
it finishes (a stopped run resumes after the last one), then the table and the machine.

  python bench/demo.py [--seeds 0 1 2] [--variant NAME "FLAGS" ...]
  python bench/demo.py --variant demo "" --variant cosine "--set lr_decay=cosine"
"""
import argparse
import pathlib
import re
import shlex
import shutil
import statistics
import sys
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import measure  # noqa: E402  (bench/measure.py: no heavy imports)

ROOT = pathlib.Path(__file__).resolve().parent.parent
COLUMNS = ["variant", "flags", "seed", "labels", "default_accuracy", "reference_accuracy",
           "gain_points", "interval_low", "interval_high", "pushed", "pipeline_seconds",
           "trainer_seconds", "reference_trainer_seconds", "pretrainer_seconds",
           ] + measure.PROVENANCE_COLUMNS
CODE = ("models", "sources", "pipeline", "components")


def demo_args() -> list:
  """`make demo`'s flags, read from the Makefile's DEMO_ARGS line."""
  text = (ROOT / "Makefile").read_text()
  match = re.search(r"^DEMO_ARGS := ((?:.*\\\n)*.*)$", text, re.MULTILINE)
  if not match:
    sys.exit("demo bench: the Makefile has no DEMO_ARGS line")
  return match.group(1).replace("\\\n", " ").split()


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "FLAGS"),
                      help="a name and the flags added to the demo's (repeatable; default: the "
                           "demo as it is, named 'demo')")
  measure.add_result_args(parser, "demo.csv")
  args = parser.parse_args()
  args.variant = args.variant or [["demo", ""]]
  names = [name for name, _ in args.variant]
  if len(set(names)) != len(names):
    parser.error(f"--variant: each name once, got {' '.join(names)}")
  return args


def run_pipeline(argv: list, output: pathlib.Path):
  """Runs `fewlabels run ARGV` in-process into `output`: (its config, its RunSummary)."""
  from pipeline import cli
  from pipeline import local_runner
  config = cli.config_from_args(cli.build_parser().parse_args(["run", *argv]), str(output))
  return config, local_runner.run(config)


def figures(summary) -> dict:
  """What a run bought: the default's and the reference's test accuracy, the gain and its
  interval in points, and what was pushed."""
  interval = summary.gain_interval
  return {"labels": summary.split_counts.get("labeled"),
          "default_accuracy": round(summary.test_accuracy, 4),
          "reference_accuracy": round(summary.reference_accuracy, 4),
          "gain_points": round(summary.gain, 1),
          "interval_low": round(100 * interval.low, 1) if interval else "",
          "interval_high": round(100 * interval.high, 1) if interval else "",
          "pushed": summary.pushed_model or "nothing"}


def run_cell(argv: list, output: pathlib.Path) -> dict:
  """Runs `fewlabels run ARGV` in-process into `output`; its figures and seconds, by COLUMNS."""
  from pipeline import pipeline as pipeline_lib
  from pipeline import run_results
  config, summary = run_pipeline(argv, output)
  store = run_results.open_store(config.metadata_path)
  spans = {c: run_results.latest_span(store, config.name, c) for c in summary.components}
  spans = {c: span for c, span in spans.items() if span}

  def seconds(component):
    span = spans.get(component)
    return round(span[1] - span[0]) if span else ""
  return {**figures(summary),
          "pipeline_seconds": round(max(e for _, e in spans.values())
                                    - min(b for b, _ in spans.values())),
          "trainer_seconds": seconds(pipeline_lib.TRAINER),
          "reference_trainer_seconds": seconds(pipeline_lib.REFERENCE_TRAINER),
          "pretrainer_seconds": seconds(pipeline_lib.PRETRAINER)}


def table(rows) -> str:
  lines = ["| variant | pipeline seconds (each seed) | test accuracy | supervised reference | "
           "the pool bought (points) |", "|---|---|---|---|---|"]
  for variant in dict.fromkeys(r["variant"] for r in rows):
    mine = [r for r in rows if r["variant"] == variant]

    def each(key):
      return " / ".join(str(r[key]) for r in mine)

    def mean(key):
      return statistics.mean(float(r[key]) for r in mine)
    flags = mine[0]["flags"]
    lines.append(
        f"| {variant}{f' (`{flags}`)' if flags else ''} | {each('pipeline_seconds')} | "
        f"{each('default_accuracy')} | {each('reference_accuracy')} | "
        f"{each('gain_points')} (mean {mean('gain_points'):+.1f}) |")
  return "\n".join(lines) + f"\n\n{len(rows)} runs, seeds in the order of the columns."


def main(args) -> None:
  demo = demo_args()
  if not args.report_only:  # a table may be read from any code's rows; new rows join only ours
    tfds_dir = args.work_dir / "tfds"
    from sources import tfds_source
    data = demo[demo.index("--data") + 1]
    started = time.monotonic()
    tfds_source.load_builder(tfds_source.SourceSpec(data, str(tfds_dir)))
    print(f"demo bench: {data} ready in {time.monotonic() - started:.0f} s", flush=True)

    def run(cell):
      output = args.work_dir / "runs" / f"{cell['variant']}_seed{cell['seed']}"
      if output.exists():  # a run stopped midway: start it over, not from its cache
        shutil.rmtree(output)
      return run_cell([*demo, *shlex.split(cell["flags"]), "--seed", str(cell["seed"]),
                       "--tfds-data-dir", str(tfds_dir)], output)
    measure.run_missing_rows(
        args.csv, COLUMNS, measure.provenance({"demo_args": demo}, CODE), "demo bench",
        ("variant", "flags", "seed"),
        ({"variant": name, "flags": flags, "seed": seed}
         for seed in args.seeds for name, flags in args.variant), run)
  print(table(measure.read_rows(args.csv)))
  print(f"machine: {measure.machine()}")


if __name__ == "__main__":
  main(parse_args())
