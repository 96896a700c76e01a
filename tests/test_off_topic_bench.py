"""bench/off_topic.py: which groups of cells it runs, and how it reads the goals of issue 39 off
their rows (the decision a reader of docs/RESULTS.md relies on)."""
import pathlib
import sys

import pytest

sys.path.append(str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
import off_topic as off_topic_bench  # noqa: E402  (bench/off_topic.py)


def _rows(method, budget="0.33%", **by_seed):
  return [{"repeat": seed[1:], "budget": budget, "labels": "115", "method": method,
           "test_accuracy": str(value), "notes": "{}"} for seed, value in by_seed.items()]


def test_each_mix_runs_with_and_without_the_check_beside_the_clean_pool():
  groups = off_topic_bench.groups([0.3, 0.6])
  assert list(groups) == ["clean", "mix30", "mix30_off", "mix60", "mix60_off"]
  assert "cnn:supervised" in groups["clean"] and "--pool-mix" not in groups["clean"]
  assert groups["mix60"][groups["mix60"].index("--pool-mix") + 1] == "mnist:0.6"
  assert "off_topic=off" in groups["mix30_off"] and "off_topic=off" not in groups["mix30"]


def test_goals_compare_the_same_seeds_and_say_what_is_missing():
  by_group = {
      "clean": (_rows("pretrained_consistency", s0=0.83, s1=0.85, s2=0.90)
                + _rows("supervised", s0=0.66, s1=0.67)),
      # seed 2 of the clean pool is not measured in the mix: it must not count
      "mix30": _rows("pretrained_consistency", s0=0.82, s1=0.83),
      "mix60": _rows("pretrained_consistency", s0=0.80, s1=0.81),
  }
  lines = off_topic_bench.goals(by_group, "0.33%", ["mix30", "mix60", "mix90"])
  assert lines[0].startswith("0.33%, mix30 with the check, within 2 points of the clean pool: met")
  assert "0.8250 against 0.8400, seeds 0, 1" in lines[0]
  assert "above supervised: met" in lines[1]
  assert "within 2 points of the clean pool: missed (0.8050 against 0.8400" in lines[2]
  assert "above supervised: met" in lines[3]
  assert lines[4].endswith("not measured yet") and lines[5].endswith("not measured yet")
  # a budget with no rows is not measured, not met
  assert all(line.endswith("not measured yet")
             for line in off_topic_bench.goals(by_group, "1.67%", ["mix30"]))


def test_bad_input_is_one_line(tmp_path):
  with pytest.raises(SystemExit):
    off_topic_bench.parse_args(["--out", str(tmp_path), "--mixes", "1.5"])
  args, passthrough = off_topic_bench.parse_args(
      ["--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "missing"),
       "--set", "steps=10"])
  assert passthrough == ["--set", "steps=10"]  # for every group's bench/methods.py
  with pytest.raises(SystemExit, match=r"Quick, Draw! files: .*missing is not a directory"):
    off_topic_bench.run(args, passthrough)
  assert not (tmp_path / "out").exists()  # nothing written before the check
  with pytest.raises(SystemExit, match="no off_topic_"):
    off_topic_bench.report(args)


def test_a_pool_mix_written_two_ways_is_one_setting_and_a_bad_one_is_refused():
  import argparse
  import methods as methods_bench  # bench/methods.py
  # bench/off_topic.py passes mnist:0.3; a hand-run cell of mnist:0.30 must resume alongside it.
  assert methods_bench.pool_mix("mnist:0.30") == methods_bench.pool_mix("mnist:0.3") == (
      "mnist:0.3")
  for bad in ("mnist:abc", "mnist:1.5", "mnist:0", "cifar:0.3", "mnist"):
    with pytest.raises(argparse.ArgumentTypeError, match="mnist:FRACTION"):
      methods_bench.pool_mix(bad)
