"""`fewlabels sweep`: the pipeline over label budgets x methods x repeats, the seed's figure.

Every cell is one LocalDagRunner run in one output dir and ml-metadata, so the data stage of a
(budget, repeat) is computed once and cached for every method. A cell counts as finished when
ml-metadata holds a run with its exact ExampleGen and Trainer settings and a report; a rerun
skips those. Results are read back from ml-metadata and TFMA, never from logs.
"""
import csv
import dataclasses
import json
import logging
import os
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np

from components.evaluation_report import render
from components.tfds_example_gen import label_budget
from components.tfds_example_gen import spec as example_gen_spec
from components.tfds_example_gen import split_plan
from models import methods as methods_lib
from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import run_results

SWEEP_DIR = "sweep"
CSV_FILE = "results.csv"
FIGURE_FILE = "accuracy_vs_labels.png"
SUMMARY_FILE = "index.html"
COLUMNS = ["budget", "percent_labels", "labels", "method", "repeat", "test_accuracy", "blessed",
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
  budgets = tuple(b for b in label_budget.expand_budgets(budgets) if b.strip())
  if not budgets:
    raise config_lib.ConfigError("the budget list is empty: give budgets such as 1% 5% or the "
                                 "preset 'paper'")
  for index, budget in enumerate(budgets):
    if budget in budgets[:index]:
      raise config_lib.ConfigError(f"label budget {budget!r} is listed twice")
  if not methods:
    raise config_lib.ConfigError(f"the method list is empty: expected some of "
                                 f"{', '.join(methods_lib.names())}")
  for index, method in enumerate(methods):
    methods_lib.check(method, base.model, base.training)
    if method in methods[:index]:
      raise config_lib.ConfigError(f"method {method!r} is listed twice")
  if not isinstance(repeats, int) or repeats < 1:
    raise config_lib.ConfigError(f"repeats {repeats!r} must be a positive integer")
  plan = local_runner.prepare(Cell(budgets[0], methods[0], 0).config(base))
  pool = plan.pool_labels()
  for budget in budgets:
    count = split_plan.budget_count(pool, budget, plan.class_names)
    if count == len(pool):
      for method in methods:
        local_runner.check_pool(method, 0)
  cells = [Cell(b, m, r) for r in range(repeats) for b in budgets for m in methods]
  return cells, plan.class_names


def _matches(components: Dict[str, run_results.ComponentRun], cell_config, trainer_config) -> bool:
  example_gen = components.get(pipeline_lib.EXAMPLE_GEN)
  trainer = components.get(pipeline_lib.TRAINER)
  report = components.get(pipeline_lib.REPORT)
  if not (example_gen and trainer and report) or report.state not in _FINISHED:
    return False
  props = example_gen.properties
  return (props.get(example_gen_spec.LABEL_BUDGET_KEY) == cell_config.data.label_budget
          and props.get(example_gen_spec.SEED_KEY) == cell_config.data.seed
          and props.get(example_gen_spec.DATASET_KEY) == cell_config.data.dataset
          and json.loads(trainer.properties.get("custom_config") or "{}") == trainer_config)


def find_finished(metadata_path: str, base: config_lib.PipelineConfig, cells: Sequence[Cell],
                  num_classes: int) -> Dict[Cell, str]:
  """{cell: run id} of the cells ml-metadata already holds a finished run for."""
  if not os.path.isfile(metadata_path):
    return {}
  store = run_results.open_store(metadata_path)
  runs = {run_id: run_results.component_runs(store, run_id)
          for run_id in run_results.run_ids(store, base.name)}
  code_version = pipeline_lib.model_code_version()
  found = {}
  for cell in cells:
    cell_config = cell.config(base)
    # Through JSON, as ml-metadata holds it (tuples become lists).
    expected = json.loads(json.dumps(
        pipeline_lib.trainer_custom_config(cell_config, num_classes, code_version)))
    for run_id, components in runs.items():
      if _matches(components, cell_config, expected):
        found[cell] = run_id  # the latest matching run wins
  return found


def _row(cell: Cell, summary: run_results.RunSummary, directory: str) -> Dict[str, object]:
  labeled = summary.split_counts.get(example_gen_spec.LABELED_SPLIT, 0)
  pool = labeled + summary.split_counts.get(example_gen_spec.UNLABELED_SPLIT, 0)
  return {"budget": cell.budget, "percent_labels": f"{100 * labeled / pool:.4f}",
          "labels": labeled, "method": cell.method, "repeat": cell.repeat,
          "test_accuracy": render.fmt(summary.test_accuracy), "blessed": int(summary.blessed),
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
    x = np.array(sorted(points))
    mean = np.array([np.mean(points[p]) for p in x])
    std = np.array([np.std(points[p]) for p in x])
    ax.plot(x, mean, marker="o", label=method)
    ax.fill_between(x, mean - std, mean + std, alpha=0.2)
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
  cells, class_names = plan_cells(base, budgets, methods, repeats)
  finished = find_finished(base.metadata_path, base, cells, len(class_names))
  todo = [c for c in cells if c not in finished]
  logging.info("sweep: %d cells, %d already finished in ml-metadata, %d to run", len(cells),
               len(finished), len(todo))
  started = time.monotonic()
  for index, cell in enumerate(todo, start=1):
    elapsed = time.monotonic() - started
    left = "unknown" if index == 1 else f"{elapsed / (index - 1) * (len(todo) - index + 1):.0f} s"
    logging.info("sweep: cell %d of %d (budget %s, method %s, repeat %d); %.0f s elapsed, "
                 "about %s left", index, len(todo), cell.budget, cell.method, cell.repeat,
                 elapsed, left)
    finished[cell] = local_runner.run(cell.config(base)).run_id
  directory = os.path.join(base.output_dir, SWEEP_DIR)
  rows = [_row(cell, run_results.summarize(base.metadata_path, base.name, finished[cell]),
               directory) for cell in cells]
  logging.info("sweep: done in %.0f s", time.monotonic() - started)
  return write_outputs(rows, methods, directory)

