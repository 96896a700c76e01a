"""`fewlabels sweep`: the pipeline over label budgets x methods x repeats, the seed's figure.

Every cell is one LocalDagRunner run in one output dir and ml-metadata, so the data stage of a
(budget, repeat) is computed once and cached for every method. A cell is keyed by everything
that changes its result (`cell_key`): every setting of the cell's pipeline, the data source's
local files, and the code's version. `sweep/cells.json` maps finished keys to their runs; a
rerun skips a cell only when its key is there and ml-metadata holds that run with a report.
Results are read back from ml-metadata and TFMA, never from logs.
"""
import csv
import dataclasses
import hashlib
import json
import os
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np

from components.evaluation_report import render
from models import methods as methods_lib
from models import progress
from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from pipeline.code_version import ROOT, code_hash
from sources import extra_labels
from sources import local_files
from sources import split_plan
from sources import splits

SWEEP_DIR = "sweep"
CSV_FILE = "results.csv"
FIGURE_FILE = "accuracy_vs_labels.png"
SUMMARY_FILE = "index.html"
INDEX_FILE = "cells.json"  # {cell key: run id} of the finished cells
# The code whose change changes a result; models/ alone is the Trainer's cache key.
_CODE_DIRS = ("models", "components", "sources")
_ROOT = ROOT
COLUMNS = ["budget", "percent_labels", "labels", "method", "repeat", "test_accuracy",
           "reference_accuracy", "gain_points", "gain_low_points", "gain_high_points", "blessed",
           "run_id", "report"]
_FINISHED = ("COMPLETE", "CACHED")


@dataclasses.dataclass(frozen=True)
class Cell:
  budget: str
  method: str
  repeat: int

  def config(self, base: config_lib.PipelineConfig) -> config_lib.PipelineConfig:
    """The repeat seeds both the labeled selection and training; nothing is pushed."""
    # The base's method settings go to each method that has such a field (a sweep may mix them).
    fields = {f.name for f in dataclasses.fields(methods_lib.get(self.method).settings)}
    return dataclasses.replace(
        base, method=self.method, push=False,
        method_settings=tuple((k, v) for k, v in base.method_settings if k in fields),
        data=dataclasses.replace(base.data, label_budget=self.budget, seed=self.repeat),
        training=dataclasses.replace(base.training, seed=self.repeat))


def plan_cells(base: config_lib.PipelineConfig, budgets: Sequence[str], methods: Sequence[str],
               repeats: int) -> Tuple[List[Cell], Tuple[str, ...]]:
  """Every cell and the class names, after checking every value against the data: one-line
  errors, before any work."""
  budgets = config_lib.check_sweep(base, budgets, methods, repeats)
  plan = local_runner.prepare(Cell(budgets[0], methods[0], 0).config(base))
  pool = plan.pool_labels()
  for budget in budgets:
    count = split_plan.budget_count(pool, budget, plan.class_names)
    if count == len(pool):
      for method in methods:
        local_runner.check_pool(method, 0)
  cells = [Cell(b, m, r) for r in range(repeats) for b in budgets for m in methods]
  return cells, plan.class_names


def code_version() -> str:
  """A hash of the code that makes a cell's result: models/, components/, sources/."""
  return code_hash(_ROOT, _CODE_DIRS)


def cell_key(config: config_lib.PipelineConfig, code: str) -> str:
  """A hash of everything that changes a cell's result: every setting of its pipeline (data,
  split, pre-training, training, method, evaluation, Beam), its source files and the code. Only
  where outputs go is left out."""
  settings = dataclasses.asdict(dataclasses.replace(config, output_dir=""))
  files = local_files.fingerprint(config.data.dataset, config.data.manual_dir)
  extra = config.data.extra_labels
  labels = extra_labels.digest(extra) if extra and os.path.isfile(extra) else ""
  text = json.dumps({"settings": settings, "files": files, "extra_labels": labels, "code": code},
                    sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:24]


def _index_path(base: config_lib.PipelineConfig) -> str:
  return os.path.join(base.output_dir, SWEEP_DIR, INDEX_FILE)


def _read_index(base: config_lib.PipelineConfig) -> Dict[str, str]:
  try:
    with open(_index_path(base), encoding="utf-8") as f:
      return json.load(f)
  except FileNotFoundError:
    return {}
  except (OSError, ValueError) as e:
    raise config_lib.ConfigError(f"{_index_path(base)}: unreadable sweep index ({e}); remove it "
                                 "to run every cell again") from None


def _record(base: config_lib.PipelineConfig, key: str, run_id: str) -> None:
  index = _read_index(base)
  index[key] = run_id
  os.makedirs(os.path.dirname(_index_path(base)), exist_ok=True)
  _write_atomically(_index_path(base), lambda f: json.dump(index, f, indent=1, sort_keys=True))


def find_finished(base: config_lib.PipelineConfig, cells: Sequence[Cell]) -> Dict[Cell, str]:
  """{cell: run id} of the cells whose key is in the index, with a finished run in ml-metadata."""
  index = _read_index(base)
  if not index or not os.path.isfile(base.metadata_path):
    return {}
  store = run_results.open_store(base.metadata_path)
  known = set(run_results.run_ids(store, base.name))
  code = code_version()
  found = {}
  for cell in cells:
    run_id = index.get(cell_key(cell.config(base), code))
    if run_id in known:
      report = run_results.component_runs(store, run_id).get(pipeline_lib.REPORT)
      if report and report.state in _FINISHED:
        found[cell] = run_id
  return found


def _row(cell: Cell, summary: run_results.RunSummary, directory: str) -> Dict[str, object]:
  labeled = summary.split_counts.get(splits.LABELED_SPLIT, 0)
  pool = labeled + summary.split_counts.get(splits.UNLABELED_SPLIT, 0)
  return {"budget": cell.budget, "percent_labels": f"{100 * labeled / pool:.4f}",
          "labels": labeled, "method": cell.method, "repeat": cell.repeat,
          "test_accuracy": render.fmt(summary.test_accuracy),
          # The supervised reference of the same run (pool methods only): what the pool bought.
          "reference_accuracy": ("" if summary.reference_accuracy is None
                                 else render.fmt(summary.reference_accuracy)),
          "gain_points": "" if summary.gain is None else f"{summary.gain:+.1f}",
          # Its paired 95% interval over the test images.
          "gain_low_points": ("" if summary.gain_interval is None
                              else f"{summary.gain_interval.low * 100:+.1f}"),
          "gain_high_points": ("" if summary.gain_interval is None
                               else f"{summary.gain_interval.high * 100:+.1f}"),
          "blessed": int(summary.blessed),
          "run_id": summary.run_id,
          "report": os.path.relpath(summary.report, directory) if summary.report else ""}


def _write_atomically(path: str, write) -> None:
  """A file that is there is complete: written under another name, then renamed."""
  with open(path + ".tmp", "w", newline="") as f:
    write(f)
  os.replace(path + ".tmp", path)


def _figure(rows: List[Dict[str, object]], methods: Sequence[str]):
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(7.5, 4.5))
  for method in methods:
    points = {}
    for row in rows:
      if row["method"] == method and row["test_accuracy"] != "n/a":
        points.setdefault(float(row["percent_labels"]), []).append(float(row["test_accuracy"]))
    if not points:
      continue
    x = sorted(points)
    render.mean_and_spread(ax, x, [points[p] for p in x], label=method)
  ax.set_xscale("log")
  ax.set_xlabel("% of training images labeled (log scale)")
  ax.set_ylabel("test accuracy")
  ax.set_title("Test accuracy against label budget (mean, +-1 std band)")
  ax.grid(True, which="both", alpha=0.3)
  ax.legend()
  return fig


def _summary_page(rows, methods, figure_html: str, title: str) -> str:
  budgets = list(dict.fromkeys(r["budget"] for r in rows))
  table_rows = []
  for budget in budgets:
    cells = [r for r in rows if r["budget"] == budget]
    out = [render.escape(budget), str(cells[0]["labels"])]
    for method in methods:
      acc = [float(r["test_accuracy"]) for r in cells
             if r["method"] == method and r["test_accuracy"] != "n/a"]
      out.append(f"{np.mean(acc):.4f} +- {np.std(acc):.4f} (n={len(acc)})" if acc else "-")
    table_rows.append(out)
  run_rows = [[render.escape(r["budget"]), render.escape(r["method"]), r["repeat"],
               r["test_accuracy"], "yes" if r["blessed"] else "no",
               f'<a href="{render.escape(r["report"])}">report</a>' if r["report"] else "-"]
              for r in rows]
  return render.page(title, [
      "<h2>Test accuracy against label budget</h2>", figure_html,
      render.table(["budget", "labels"] + list(methods), table_rows, text_columns=1),
      "<h2>Runs</h2>",
      render.table(["budget", "method", "repeat", "test accuracy", "passes the gate", "report"],
                   run_rows, text_columns=2)],
      footer="Each report is read from the run's TFMA output. Quick, Draw! data: Google, "
             "CC BY 4.0, where the sweep used it.")


def write_outputs(rows: List[Dict[str, object]], methods: Sequence[str], directory: str) -> str:
  os.makedirs(directory, exist_ok=True)

  def write_csv(f):
    writer = csv.DictWriter(f, COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
  _write_atomically(os.path.join(directory, CSV_FILE), write_csv)
  fig = _figure(rows, methods)
  fig.savefig(os.path.join(directory, FIGURE_FILE + ".tmp.png"), dpi=110, bbox_inches="tight")
  os.replace(os.path.join(directory, FIGURE_FILE + ".tmp.png"),
             os.path.join(directory, FIGURE_FILE))
  page = _summary_page(rows, methods, render.figure_tag(fig, "test accuracy against labels"),
                       "fewlabels sweep")
  _write_atomically(os.path.join(directory, SUMMARY_FILE), lambda f: f.write(page))
  return directory


def run_sweep(base: config_lib.PipelineConfig, budgets: Sequence[str], methods: Sequence[str],
              repeats: int) -> str:
  """Runs the missing cells, then writes the CSV, the figure and the summary page."""
  cells, _ = plan_cells(base, budgets, methods, repeats)
  finished = find_finished(base, cells)
  todo = [c for c in cells if c not in finished]
  progress.log.info("sweep: %d cells, %d already finished with the same settings, data and "
                    "code, %d to run", len(cells), len(finished), len(todo))
  started = time.monotonic()
  tracker = progress.Tracker("sweep", len(todo), unit="cell")
  code = code_version()
  for number, cell in enumerate(todo, start=1):
    config = cell.config(base)
    finished[cell] = local_runner.run(config).run_id
    _record(base, cell_key(config, code), finished[cell])
    tracker.done(number, f"(budget {cell.budget}, method {cell.method}, repeat {cell.repeat})")
  directory = os.path.join(base.output_dir, SWEEP_DIR)
  rows = [_row(cell, run_results.summarize(base.metadata_path, base.name, finished[cell]),
               directory) for cell in cells]
  progress.log.info("sweep: done in %.0f s", time.monotonic() - started)
  return write_outputs(rows, methods, directory)

