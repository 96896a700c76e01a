"""What every benchmark prints and measures the same way: the machine, peak and sampled memory."""
import argparse
import os
import pathlib
import platform
import resource
import subprocess
import time
from typing import List, Tuple


def machine() -> str:
  memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
  return (f"{platform.node()}, {os.cpu_count()} cores, {memory:.0f} GB, "
          f"{platform.platform()}, Python {platform.python_version()}")


def peak_memory_gib(who=resource.RUSAGE_SELF) -> float:
  return resource.getrusage(who).ru_maxrss / 1024 / 1024  # ru_maxrss is in KiB on Linux


def sample_memory(child: subprocess.Popen, every: float = 0.25) -> List[Tuple[float, int]]:
  """(wall time, resident bytes) of the child every `every` seconds until it exits: the peak of
  each component is the largest sample inside its execution's times in ml-metadata."""
  samples = []
  while child.poll() is None:
    try:
      with open(f"/proc/{child.pid}/statm") as f:
        samples.append((time.time(), int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")))
    except (OSError, IndexError, ValueError):
      pass  # exiting
    time.sleep(every)
  return samples


RESULTS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "results"


def add_result_args(parser: argparse.ArgumentParser, csv_name: str) -> None:
  """--csv (one row per finished unit: a stopped run resumes), --work-dir, --report-only."""
  parser.add_argument("--csv", type=pathlib.Path, default=RESULTS / csv_name)
  parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("/tmp/fewlabels_grid"))
  parser.add_argument("--report-only", action="store_true",
                      help="train nothing: the table and the figure from the CSV")
