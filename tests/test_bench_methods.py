"""bench/methods.py resumes a stopped grid only where its rows came from the same settings and
model code, so that one table never mixes two versions."""
import csv
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
sys.path.append(str(BENCH))
import methods as bench  # noqa: E402  (bench/methods.py)


def _settings(monkeypatch, *argv):
  monkeypatch.setattr(sys, "argv", ["methods.py", *argv])
  return bench.run_settings(bench.parse_args())


def _csv(path, columns, **values):
  with path.open("w", newline="") as f:
    writer = csv.DictWriter(f, columns)
    writer.writeheader()
    writer.writerow({c: values.get(c, "0") for c in columns})
  return path


def test_settings_record_every_result_changing_flag_and_ignore_order(monkeypatch):
  base = _settings(monkeypatch, "--set", "consistency.epochs=10", "consistency.threshold=0.9")
  assert base == _settings(monkeypatch, "--set", "consistency.threshold=0.9",
                           "consistency.epochs=10")
  assert base != _settings(monkeypatch, "--set", "consistency.epochs=10")
  assert base != _settings(monkeypatch, "--set", "consistency.epochs=10",
                           "consistency.threshold=0.9", "--epochs", "20")
  # Where the CSV goes and which cells run do not change a cell's result.
  assert base == _settings(monkeypatch, "--csv", "other.csv", "--cells", "cnn:supervised",
                           "--set", "consistency.epochs=10", "consistency.threshold=0.9")


def test_a_csv_resumes_only_with_the_same_settings_and_model_code(tmp_path):
  ours = {"settings": '{"epochs":40}', "model_code": "abc"}
  path = _csv(tmp_path / "same.csv", bench.COLUMNS, **ours)
  bench.check_resumable(path, ours)  # resumes
  bench.check_resumable(tmp_path / "new.csv", ours)  # a new file
  for column, value in (("settings", '{"epochs":10}'), ("model_code", "def")):
    with pytest.raises(SystemExit, match=rf"holds a row of {column} .*pass another --csv$"):
      bench.check_resumable(path, dict(ours, **{column: value}))
  before = [c for c in bench.COLUMNS if c not in ("settings", "model_code", "machine")]
  with pytest.raises(SystemExit, match="old.csv has other columns.*pass another --csv"):
    bench.check_resumable(_csv(tmp_path / "old.csv", before), ours)
