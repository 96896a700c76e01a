"""`fewlabels sweep` on tiny doodles: results, figure and summary page; a rerun trains nothing."""
import csv
import dataclasses
import pathlib

import pytest

from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from pipeline import sweep
from tests import browser
from tests.test_cli_errors import _fails
from tests.conftest import TINY_DATA

pytestmark = pytest.mark.slow

BUDGETS = ["20%", "40%"]
METHODS = ["supervised", "self_training"]


def _trainer_executions(metadata_path):
  """Trainer executions that trained (not served from the cache), over all runs."""
  store = run_results.open_store(metadata_path)
  runs = [run_results.component_runs(store, run_id)
          for run_id in run_results.run_ids(store, "fewlabels-test")]
  return sum(1 for components in runs
             if pipeline_lib.TRAINER in components
             and components[pipeline_lib.TRAINER].state == "COMPLETE")


@pytest.fixture(scope="module")
def swept(tiny_config, tmp_path_factory):
  base = dataclasses.replace(tiny_config, output_dir=str(tmp_path_factory.mktemp("sweep")),
                             training=dataclasses.replace(tiny_config.training, epochs=2))
  directory = pathlib.Path(sweep.run_sweep(base, BUDGETS, METHODS, repeats=1))
  first_csv = (directory / sweep.CSV_FILE).read_text()
  trained = _trainer_executions(base.metadata_path)
  sweep.run_sweep(base, BUDGETS, METHODS, repeats=1)
  return {"base": base, "dir": directory, "first_csv": first_csv, "trained": trained,
          "trained_after_rerun": _trainer_executions(base.metadata_path)}


def test_sweep_writes_one_row_per_cell_read_from_ml_metadata(swept):
  with open(swept["dir"] / sweep.CSV_FILE) as f:
    rows = list(csv.DictReader(f))
  assert sorted((r["budget"], r["method"]) for r in rows) == sorted(
      (b, m) for b in BUDGETS for m in METHODS)
  store = run_results.open_store(swept["base"].metadata_path)
  for row in rows:
    summary = run_results.summarize(swept["base"].metadata_path, "fewlabels-test", row["run_id"])
    assert abs(float(row["test_accuracy"]) - summary.test_accuracy) < 1e-4
    if row["method"] == "supervised":  # nothing to compare with
      assert row["reference_accuracy"] == row["gain_points"] == row["gain_low_points"] == ""
    else:  # the pool method's own reference, trained in the same run
      assert abs(float(row["reference_accuracy"]) - summary.reference_accuracy) < 1e-4
      gain = 100 * (float(row["test_accuracy"]) - float(row["reference_accuracy"]))
      assert abs(float(row["gain_points"]) - gain) < 0.06
      # The paired interval holds the gain, in the CSV as in ml-metadata's evaluation.
      assert float(row["gain_low_points"]) <= float(row["gain_points"]) <= float(
          row["gain_high_points"])
      assert abs(float(row["gain_low_points"]) - 100 * summary.gain_interval.low) < 0.06
    components = run_results.component_runs(store, row["run_id"])
    assert components[pipeline_lib.EXAMPLE_GEN].properties["label_budget"] == row["budget"]
    assert row["method"] in components[pipeline_lib.TRAINER].properties["custom_config"]
    assert pipeline_lib.PUSHER not in components  # a sweep evaluates; it pushes nothing
    assert (swept["dir"] / row["report"]).is_file()
  assert {int(r["labels"]) for r in rows} == {200, 400}  # 20% and 40% of 1,000


def test_each_budget_computes_its_data_stage_once(swept):
  store = run_results.open_store(swept["base"].metadata_path)
  states = [run_results.component_runs(store, run_id)[pipeline_lib.TRANSFORM].state
            for run_id in run_results.run_ids(store, "fewlabels-test")]
  assert states.count("COMPLETE") == len(BUDGETS)
  assert states.count("CACHED") == len(BUDGETS) * (len(METHODS) - 1)


def test_rerun_trains_nothing_and_gives_the_same_csv(swept):
  assert swept["trained"] == len(BUDGETS) * len(METHODS)
  assert swept["trained_after_rerun"] == swept["trained"]
  assert (swept["dir"] / sweep.CSV_FILE).read_text() == swept["first_csv"]


def test_summary_page_shows_the_figure_and_links_every_report(swept, tmp_path):
  figure = swept["dir"] / sweep.FIGURE_FILE
  assert figure.is_file() and figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  page = swept["dir"] / sweep.SUMMARY_FILE
  html = browser.dom(page, tmp_path / "profile")
  links = [a for a in html.split('href="')[1:]]
  assert len(links) == len(BUDGETS) * len(METHODS)
  for link in links:
    assert (swept["dir"] / link.split('"')[0]).is_file()
  pixels = browser.screenshot(page, tmp_path / "shot.png", tmp_path / "profile", height=2000)
  assert browser.plot_pixels(pixels) > 2_000


@pytest.mark.parametrize("argv,fragment", [
    (["--budgets", "5%", "--methods", "magic"], "method 'magic' does not exist"),
    (["--budgets", "5%", "10%", "5%"], "label budget '5%' is listed twice"),
    (["--budgets", "5%", "--methods", ""], "the method list is empty"),
    (["--budgets", "5000"], "label budget 5000 is larger than the 1000 training images"),
    (["--budgets", "5%", "--repeats", "0"], "repeats 0 must be a positive integer"),
])
def test_sweep_refuses_bad_values(capsys, tmp_path, tfds_dir, argv, fragment):
  output = tmp_path / "out"
  _fails(capsys, ["sweep", "--data", TINY_DATA, "--tfds-data-dir", tfds_dir, "--output",
                  str(output)] + argv, fragment)
  assert not output.exists()


def test_empty_budget_list_is_refused(tiny_config):
  with pytest.raises(config_lib.ConfigError, match="the budget list is empty"):
    sweep.plan_cells(tiny_config, [], METHODS, 1)
  with pytest.raises(config_lib.ConfigError, match="the budget list is empty"):
    sweep.plan_cells(tiny_config, [""], METHODS, 1)
