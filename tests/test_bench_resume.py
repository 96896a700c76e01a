"""The resumable benchmarks (bench/methods.py, bench/label_next.py) resume a stopped run only where
the CSV's rows came from the same settings and code, so that a table never mixes two versions;
each row records them and the machine. A unit stopped mid-training resumes in its own directory
only, and a cached encoder serves only what it was trained on. The figure shows every cell the
CSV holds."""
import csv
import pathlib
import sys

import pytest

sys.path.append(str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
import label_next as label_next_bench  # noqa: E402  (bench/label_next.py)
import measure  # noqa: E402  (bench/measure.py)
import methods as methods_bench  # noqa: E402  (bench/methods.py)


def _provenance(bench, monkeypatch, *argv):
  monkeypatch.setattr(sys, "argv", ["bench.py", *argv])
  return bench.provenance(bench.parse_args())


def _csv(path, columns, **values):
  with path.open("w", newline="") as f:
    writer = csv.DictWriter(f, columns)
    writer.writeheader()
    writer.writerow({c: values.get(c, "0") for c in columns})
  return path


def test_methods_bench_settings_hold_every_flag_that_changes_a_result(monkeypatch):
  def settings(*argv):
    return _provenance(methods_bench, monkeypatch, *argv)["settings"]
  base = settings("--set", "steps=10", "threshold=0.9")
  assert base == settings("--set", "threshold=0.9", "steps=10")
  assert base != settings("--set", "steps=10")
  assert base != settings("--set", "steps=10", "threshold=0.9",
                          "--epochs", "20")
  assert base != settings("--set", "steps=10", "threshold=0.9",
                          "--reference-warm-start")
  # The CLI's settings are the bench's: a flag of theirs is a setting of the row.
  assert base != settings("--set", "steps=10", "threshold=0.9", "--training-min-epochs", "3")
  # Where the CSV goes and which cells run do not change a cell's result.
  assert base == settings("--csv", "other.csv", "--cells", "cnn:supervised",
                          "--set", "steps=10", "threshold=0.9")


def test_label_next_bench_settings_follow_its_labels_and_method(monkeypatch):
  base = _provenance(label_next_bench, monkeypatch)
  assert base != _provenance(label_next_bench, monkeypatch, "--add", "230")
  assert base != _provenance(label_next_bench, monkeypatch, "--method", "consistency")
  assert base == _provenance(label_next_bench, monkeypatch, "--arms", "random", "--repeats", "5")
  # The models are trained with `fewlabels run`'s settings: its flags are the bench's.
  assert base != _provenance(label_next_bench, monkeypatch, "--epochs", "7")
  assert base != _provenance(label_next_bench, monkeypatch, "--cnn-width", "16")
  assert base != _provenance(label_next_bench, monkeypatch, "--set", "training.min_epochs=2")


def test_the_code_hash_follows_the_code_a_row_runs(monkeypatch, tmp_path):
  (tmp_path / "models").mkdir()
  (tmp_path / "models" / "a.py").write_text("x = 1\n")
  monkeypatch.setattr(measure, "ROOT", tmp_path)
  before = measure.provenance({}, ["models"])["code"]
  (tmp_path / "models" / "a.py").write_text("x = 2\n")
  assert measure.provenance({}, ["models"])["code"] != before


def test_a_csv_resumes_only_with_the_same_settings_and_code(tmp_path):
  columns = ["key", "result"] + measure.PROVENANCE_COLUMNS
  ours = {"settings": '{"epochs":40}', "code": "abc"}
  path = _csv(tmp_path / "same.csv", columns, **ours)
  measure.check_resumable(path, columns, ours, "bench")  # resumes
  measure.check_resumable(tmp_path / "new.csv", columns, ours, "bench")  # a new file
  for column, value in (("settings", '{"epochs":10}'), ("code", "def")):
    with pytest.raises(SystemExit, match=rf"^bench: .*same.csv holds a row of {column} .*"
                                         r"pass another --csv$"):
      measure.check_resumable(path, columns, dict(ours, **{column: value}), "bench")
  with pytest.raises(SystemExit, match="old.csv has other columns.*pass another --csv"):
    measure.check_resumable(_csv(tmp_path / "old.csv", ["key", "result"]), columns, ours, "bench")


def test_a_results_csv_has_its_header_on_disk_before_the_first_row(tmp_path):
  path = tmp_path / "new" / "rows.csv"
  f, writer = measure.appending_rows(path, ["key", "result"])
  # Read before any row or close, as a run killed in its first cell leaves it.
  assert path.read_text().splitlines() == ["key,result"]
  writer.writerow({"key": "a", "result": "1"})
  f.close()
  path.write_text("")  # what a run killed before its header reached the disk left
  f, writer = measure.appending_rows(path, ["key", "result"])
  writer.writerow({"key": "b", "result": "2"})
  f.close()
  f, writer = measure.appending_rows(path, ["key", "result"])
  writer.writerow({"key": "c", "result": "3"})
  f.close()
  assert path.read_text().splitlines() == ["key,result", "b,2", "c,3"]


def test_a_unit_resumes_only_its_own_stopped_training(tmp_path):
  ours, other = {"settings": '{"epochs":40}', "code": "abc"}, {"settings": '{"epochs":40}',
                                                               "code": "def"}
  path, resumed = measure.unit_dir(tmp_path, ours, ("mnist", 0, "100"), "backup")
  assert not resumed and not path.exists()
  (path / "consistency" / "backup").mkdir(parents=True)  # what a stopped fit leaves
  (path / "events").write_text("")
  assert measure.unit_dir(tmp_path, ours, ("mnist", 0, "100"), "backup") == (path, True)
  assert (path / "events").exists()
  # Another key, other code, or a bench whose units start over: a fresh directory.
  assert measure.unit_dir(tmp_path, ours, ("mnist", 1, "100"), "backup")[1] is False
  elsewhere, resumed = measure.unit_dir(tmp_path, other, ("mnist", 0, "100"), "backup")
  assert elsewhere != path and not resumed
  assert measure.unit_dir(tmp_path, ours, ("mnist", 0, "100")) == (path, False)
  assert not path.exists()
  (path / "events").parent.mkdir(parents=True)
  (path / "events").write_text("")  # a finished fit removes its backup: nothing to resume
  assert measure.unit_dir(tmp_path, ours, ("mnist", 0, "100"), "backup") == (path, False)
  assert not path.exists()


def test_a_cached_encoder_serves_only_the_images_settings_and_code_it_was_trained_with(
    monkeypatch, tmp_path):
  def cache(*argv):
    monkeypatch.setattr(sys, "argv", ["methods.py", *argv])
    return methods_bench.encoder_cache(methods_bench.parse_args())
  base = cache()
  # Every budget and every fine-tuning setting shares the encoder ...
  assert base == cache("--budgets", "100", "--epochs", "10", "--set", "steps=10")
  # ... which follows the images, the pre-training, the widths and the code.
  for argv in (["--train-per-class", "1000"], ["--pretrain-steps", "10"],
               ["--cnn-width", "16"], ["--lstm-width", "32"]):
    assert cache(*argv) != base, argv
  (tmp_path / "models").mkdir()
  (tmp_path / "models" / "a.py").write_text("x = 1\n")
  monkeypatch.setattr(measure, "ROOT", tmp_path)
  assert cache() != base


@pytest.mark.parametrize("budgets", [["100"], ["100", "1000"]])
def test_the_methods_figure_draws_every_cell_even_at_a_single_budget(tmp_path, budgets):
  import matplotlib.image
  from tests import browser
  rows = [{"data": "mnist", "architecture": "cnn", "method": method, "pretext": "",
           "budget": budget, "labels": budget, "test_accuracy": str(accuracy + 0.01 * repeat)}
          for method, accuracy in (("supervised", 0.85), ("consistency", 0.97))
          for budget in budgets for repeat in range(3)]
  path = tmp_path / "figure.png"
  methods_bench.figure(rows, "mnist", path)
  with_cells = browser.plot_pixels(matplotlib.image.imread(path)[..., :3])
  methods_bench.figure([], "mnist", tmp_path / "empty.png")
  assert with_cells > browser.plot_pixels(
      matplotlib.image.imread(tmp_path / "empty.png")[..., :3]) + 100


def test_the_methods_table_leaves_a_resumed_cells_partial_time_out_of_its_cpu_column():
  def row(repeat, cpu, notes):
    return {"data": "mnist", "architecture": "cnn", "method": "consistency", "pretext": "",
            "budget": "100", "labels": "100", "test_accuracy": "0.97", "cpu_minutes": str(cpu),
            "notes": notes}
  whole = [row(0, 80.0, '{"kept":"consistency"}'), row(1, 90.0, "")]
  assert methods_bench.table(whole + [row(2, 5.0, '{"resumed":true}')], "mnist").endswith(
      "(n=3) | 85.0 |")
  assert methods_bench.table([row(2, 5.0, '{"resumed":true}')], "mnist").endswith("| - |")


def test_a_stopped_bench_resumes_after_its_last_finished_cell(tmp_path):
  path = tmp_path / "cells.csv"
  columns = ["variant", "seed", "accuracy"] + measure.PROVENANCE_COLUMNS
  ours = {"settings": '{"demo_args":[]}', "code": "abc"}
  cells = [{"variant": v, "seed": s} for s in (0, 1) for v in ("demo", "cosine")]
  ran = []

  def stopped_after_two(cell):
    if len(ran) == 2:
      raise KeyboardInterrupt  # the user's Ctrl-C in the third cell
    ran.append((cell["variant"], cell["seed"]))
    return {"accuracy": 0.5 + cell["seed"]}
  with pytest.raises(KeyboardInterrupt):
    measure.run_missing_rows(path, columns, ours, "bench", ("variant", "seed"), cells,
                             stopped_after_two)
  assert [(r["variant"], r["seed"]) for r in measure.read_rows(path)] == [("demo", "0"),
                                                                          ("cosine", "0")]
  ran.clear()
  measure.run_missing_rows(path, columns, ours, "bench", ("variant", "seed"), cells,
                           lambda cell: ran.append(cell["variant"]) or {"accuracy": 1.5})
  assert ran == ["demo", "cosine"]  # seed 1's cells only
  rows = measure.read_rows(path)
  assert [(r["variant"], r["seed"], r["accuracy"]) for r in rows] == [
      ("demo", "0", "0.5"), ("cosine", "0", "0.5"), ("demo", "1", "1.5"), ("cosine", "1", "1.5")]
  assert all(r["code"] == "abc" and r["machine"] == measure.machine() for r in rows)
  with pytest.raises(SystemExit, match="holds a row of code abc"):  # other code: not mixed in
    measure.run_missing_rows(path, columns, dict(ours, code="def"), "bench", ("variant", "seed"),
                             cells, lambda cell: {"accuracy": 0})
