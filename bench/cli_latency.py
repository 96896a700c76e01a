"""How fast the `fewlabels` command answers help and mistakes (issue: under 3 s on 2 cores).

Runs each command line as a fresh process, several times, and prints the median wall time;
as the reference from the same run, the time to import TensorFlow, which the command used to
load before checking anything.

  python bench/cli_latency.py [--repeats 5]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import measure  # noqa: E402  (bench/measure.py)

COMMANDS = [
    ["--help"],
    ["run", "--help"],
    ["run", "--labels", "0"],
    ["run", "--set", "threshold=2"],
    ["run", "--method", "magic"],
    ["sweep", "--methods", "supervised,magic"],
]


def seconds(argv, env) -> float:
  started = time.monotonic()
  subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  return time.monotonic() - started


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
  fewlabels = shutil.which("fewlabels") or os.path.join(os.path.dirname(sys.executable),
                                                        "fewlabels")
  with tempfile.TemporaryDirectory() as work:
    os.chdir(work)  # a failed run must not leave anything in the repository
    print(f"{'command':<45} median s (of {args.repeats})")
    for command in COMMANDS:
      times = [seconds([fewlabels] + command, env) for _ in range(args.repeats)]
      print(f"{'fewlabels ' + ' '.join(command):<45} {statistics.median(times):.2f}")
    reference = [seconds([sys.executable, "-c", "import tensorflow"], env)
                 for _ in range(args.repeats)]
    label = "reference: python -c 'import tensorflow'"
    print(f"{label:<45} {statistics.median(reference):.2f}")
  print(f"machine: {measure.machine()}")


if __name__ == "__main__":
  main()
