"""Off-topic pictures in the pool: the default method on the 10 classes' pool mixed with MNIST
digits, with the off-topic check (`off_topic=leave_out`, the default) and without it (`off`),
beside the same method on the clean pool and supervised training, same labels and seeds, one
cell after the other on one machine. Then the table and the goals of issue 39: with the check,
within 2 points of the clean pool (mean over the seeds measured in both) and above supervised.

Each group of cells is one `bench/methods.py` run with its own CSV in --out (clean, mix30,
mix30_off, ...), seed by seed, so a stopped run resumes with the same command and a partial one
already holds whole seeds. Flags this script does not know (`--set steps=1500`, `--epochs 20`,
...) go to every group's `bench/methods.py` run as they are.

  python bench/off_topic.py --out docs/results/off_topic [--budgets 0.33% 1.67%] \
      [--seeds 0 1 2] [--mixes 0.3 0.6] [--set steps=1500]
  python bench/off_topic.py --out docs/results/off_topic --report-only
Quick, Draw!: Google, CC BY 4.0. MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0.
"""
import argparse
import csv
import json
import pathlib
import statistics
import subprocess
import sys
from typing import Dict, List, Sequence

import measure  # bench/measure.py: no heavy imports

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
DEFAULT = "cnn:pretrained_consistency"
TOLERANCE = 0.02  # "within 2 points of the default on the clean pool"


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", type=pathlib.Path, required=True,
                      help="the directory of the groups' CSVs (and the encoders' work dir)")
  parser.add_argument("--budgets", nargs="+", default=["0.33%", "1.67%"])
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
  parser.add_argument("--mixes", type=float, nargs="+", default=[0.3, 0.6],
                      help="the digits' share of the pool in each mixed group")
  parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED / "quickdraw")
  parser.add_argument("--mix-dir", type=pathlib.Path, default=SHARED / "mnist")
  parser.add_argument("--report-only", action="store_true")
  args, passthrough = parser.parse_known_args(argv)
  for mix in args.mixes:
    if not 0 < mix < 1:
      parser.error(f"--mixes: {mix} is not a share of the pool in (0, 1)")
  return args, passthrough


def groups(mixes: Sequence[float]) -> Dict[str, List[str]]:
  """{group name: its bench/methods.py flags}, in the order they run."""
  out = {"clean": ["--cells", "cnn:supervised", DEFAULT]}
  for mix in mixes:
    name = f"mix{round(mix * 100)}"
    flags = ["--cells", DEFAULT, "--pool-mix", f"mnist:{mix}"]
    out[name] = flags
    out[f"{name}_off"] = flags + ["--set", "off_topic=off"]
  return out


def run(args, passthrough) -> None:
  for path, what in ((args.data_dir, "the Quick, Draw! files"), (args.mix_dir, "the MNIST files")):
    if not path.is_dir():
      sys.exit(f"off-topic bench: {what}: {path} is not a directory")
  args.out.mkdir(parents=True, exist_ok=True)
  for seed in args.seeds:
    for name, flags in groups(args.mixes).items():
      argv = [sys.executable, str(HERE / "methods.py"), "--budgets", *args.budgets,
              "--only-repeats", str(seed), "--data-dir", str(args.data_dir),
              "--mix-dir", str(args.mix_dir), "--work-dir", str(args.out / "work"),
              "--csv", str(args.out / f"off_topic_{name}.csv"), *flags, *passthrough]
      print(f"off-topic bench: seed {seed}, group {name}", flush=True)
      if subprocess.run(argv).returncode:
        sys.exit(f"off-topic bench: seed {seed}, group {name} failed (its command: "
                 f"{' '.join(argv)})")


def read_rows(out: pathlib.Path) -> Dict[str, List[dict]]:
  rows = {}
  for path in sorted(out.glob("off_topic_*.csv")):
    with path.open() as f:
      rows[path.stem[len("off_topic_"):]] = list(csv.DictReader(f))
  return rows


def accuracies(rows: List[dict], budget: str, method: str) -> Dict[int, float]:
  """{seed: test accuracy} of one method's cells at one budget."""
  return {int(r["repeat"]): float(r["test_accuracy"]) for r in rows
          if r["budget"] == budget and r["method"] == method}


def goals(by_group: Dict[str, List[dict]], budget: str, mix_names: Sequence[str],
          tolerance: float = TOLERANCE) -> List[str]:
  """One line per goal and mix: met or missed, over the seeds measured in every group it
  compares (paired: the same labels), or what is missing."""
  method = DEFAULT.partition(":")[2]
  clean = accuracies(by_group.get("clean", []), budget, method)
  supervised = accuracies(by_group.get("clean", []), budget, "supervised")
  lines = []
  for name in mix_names:
    checked = accuracies(by_group.get(name, []), budget, method)
    for what, against, passes in (
        (f"within {tolerance * 100:g} points of the clean pool", clean,
         lambda a, b: a >= b - tolerance),
        ("above supervised", supervised, lambda a, b: a > b)):
      seeds = sorted(set(checked) & set(against))
      if not seeds:
        lines.append(f"{budget}, {name} with the check, {what}: not measured yet")
        continue
      a = statistics.mean(checked[s] for s in seeds)
      b = statistics.mean(against[s] for s in seeds)
      lines.append(f"{budget}, {name} with the check, {what}: "
                   f"{'met' if passes(a, b) else 'missed'} ({a:.4f} against {b:.4f}, "
                   f"seeds {', '.join(map(str, seeds))})")
  return lines


def _flagged(row: dict) -> str:
  notes = json.loads(row.get("notes") or "{}")
  if "pool_mix" in notes:
    mix = notes["pool_mix"]
    return f"{mix['other_flagged']:.0%} / {mix['real_flagged']:.2%}"
  share = notes.get("off_topic", {}).get("share")
  return "- / -" if share is None else f"- / {share:.2%}"


def table(by_group: Dict[str, List[dict]]) -> str:
  lines = ["| budget (labels) | group | method | test accuracy by seed | mean | "
           "flagged: digits / real (last seed) |", "|---|---|---|---|---|---|"]
  for name, rows in by_group.items():
    for key in sorted({(r["budget"], r["labels"], r["method"]) for r in rows}):
      cells = sorted((int(r["repeat"]), r) for r in rows
                     if (r["budget"], r["labels"], r["method"]) == key)
      values = [float(r["test_accuracy"]) for _, r in cells]
      lines.append(f"| {key[0]} ({key[1]}) | {name} | {key[2]} | "
                   + " / ".join(f"{s}: {v:.4f}" for (s, _), v in zip(cells, values))
                   + f" | {statistics.mean(values):.4f} | "
                   + ("" if key[2] == "supervised" else _flagged(cells[-1][1]))
                   + (" (scored, kept in)" if name.endswith("_off") else "") + " |")
  return "\n".join(lines)


def report(args) -> None:
  by_group = read_rows(args.out)
  if not by_group:
    sys.exit(f"off-topic bench: no off_topic_*.csv in {args.out}")
  print(table(by_group))
  for budget in args.budgets:
    for line in goals(by_group, budget, [n for n in groups(args.mixes) if n.startswith("mix")
                                         and not n.endswith("_off")]):
      print(line)
  machines = sorted({r["machine"] for rows in by_group.values() for r in rows})
  print("rows measured on: " + "; ".join(machines))
  print(f"this machine: {measure.machine()}")


def main():
  args, passthrough = parse_args()
  if not args.report_only:
    run(args, passthrough)
  report(args)


if __name__ == "__main__":
  main()
