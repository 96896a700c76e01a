"""What every benchmark prints and measures the same way: the machine, peak and sampled memory."""
import argparse
import csv
import hashlib
import json
import os
import pathlib
import platform
import resource
import shutil
import subprocess
import sys
import time
from typing import Dict, Iterable, List, Optional, Sequence, TextIO, Tuple

from pipeline.code_version import ROOT, code_hash


def _cpu() -> str:
  """The CPU's model name and whether it has AVX-512 (TensorFlow's kernels differ with it)."""
  try:
    info = pathlib.Path("/proc/cpuinfo").read_text()
  except OSError:
    return platform.processor() or "CPU unknown"
  model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                if line.startswith("model name")), "CPU unknown")
  flags = next((line.split(":", 1)[1].split() for line in info.splitlines()
                if line.startswith("flags")), [])
  extensions = ["AVX-512" if "avx512f" in flags else "no AVX-512"] + [
      name for flag, name in (("avx512_bf16", "AVX512_BF16"), ("amx_bf16", "AMX")) if flag in flags]
  return f"{model} ({', '.join(extensions)})"


def _onednn() -> str:
  """Whether TensorFlow runs oneDNN's kernels (about 1.7x faster on an AVX2-only CPU); asked of
  TensorFlow where this process has imported it, else read off the environment."""
  state = f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}"
  if "tensorflow" in sys.modules:
    try:
      from tensorflow.python.util import _pywrap_util_port
      state = "oneDNN on" if _pywrap_util_port.IsMklEnabled() else "oneDNN off"
    except ImportError:  # a private module: it may move in another TensorFlow
      pass
  # oneDNN's kernels capped at an older instruction set (ONEDNN_MAX_CPU_ISA=AVX2 runs a CPU
  # with AVX-512 as one without would, for its convolutions): a figure must say so.
  cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
  return f"{state}, oneDNN capped at {cap}" if cap else state


def machine() -> str:
  memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
  return (f"{platform.node()}, {_cpu()}, {os.cpu_count()} cores, {memory:.0f} GB, "
          f"{platform.platform()}, Python {platform.python_version()}, {_onednn()}")


def peak_memory_gib(who=resource.RUSAGE_SELF) -> float:
  return resource.getrusage(who).ru_maxrss / 1024 / 1024  # ru_maxrss is in KiB on Linux


def sample_memory(child: subprocess.Popen, every: float = 0.25) -> List[Tuple[float, int]]:
  """(wall time, resident bytes) of the child every `every` seconds until it exits: the peak of
  each component is the largest sample inside its execution's times in ml-metadata."""
  samples = []
  while child.poll() is None:
    rss = _resident_bytes(child.pid)
    if rss is not None:
      samples.append((time.time(), rss))
    time.sleep(every)
  return samples


def _resident_bytes(pid: int) -> Optional[int]:
  try:
    with open(f"/proc/{pid}/statm") as f:
      return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
  except (OSError, IndexError, ValueError):
    return None  # exiting


def _children(pid: int) -> List[int]:
  try:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
      return [int(child) for child in f.read().split()]
  except OSError:
    return []


def peak_memory_of_children(parent: subprocess.Popen, every: float = 0.5) -> Dict[int, int]:
  """Peak resident bytes of each direct child of `parent` (worker processes, say), by pid,
  sampled every `every` seconds until `parent` exits."""
  peaks: Dict[int, int] = {}
  while parent.poll() is None:
    for pid in _children(parent.pid):
      rss = _resident_bytes(pid)
      if rss is not None:
        peaks[pid] = max(peaks.get(pid, 0), rss)
    time.sleep(every)
  return peaks


RESULTS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "results"


def add_result_args(parser: argparse.ArgumentParser, csv_name: str) -> None:
  """--csv (one row per finished unit: a stopped run resumes), --work-dir, --report-only."""
  parser.add_argument("--csv", type=pathlib.Path, default=RESULTS / csv_name)
  parser.add_argument("--work-dir", type=pathlib.Path, default=pathlib.Path("/tmp/fewlabels_grid"))
  parser.add_argument("--report-only", action="store_true",
                      help="train nothing: the table and the figure from the CSV")


# Per row of a resumable CSV: what its result depends on besides its own key (the settings and a
# hash of the code it ran; a CSV resumes only where both are this run's) and where it ran.
PROVENANCE_COLUMNS = ["settings", "code", "machine"]


def provenance(settings: Dict[str, object], code_folders: Iterable[str]) -> Dict[str, str]:
  """{"settings": canonical JSON, "code": hash of the Python files under `code_folders`}."""
  return {"settings": json.dumps(settings, sort_keys=True, separators=(",", ":")),
          "code": code_hash(ROOT, tuple(code_folders))}


def digest(settings_and_code: Dict[str, str]) -> str:
  """A short name for one `provenance(...)`: work files kept under it serve only its settings and
  code."""
  return hashlib.sha256(json.dumps(settings_and_code, sort_keys=True).encode()).hexdigest()[:12]


def unit_dir(root: pathlib.Path, settings_and_code: Dict[str, str], key: Sequence[object],
             backup_name: Optional[str] = None) -> Tuple[pathlib.Path, bool]:
  """The training directory of one unit of a resumable benchmark (a cell, a round), and whether
  the fit loop will resume in it: given `backup_name`, a run stopped mid-unit that left that
  backup (at any depth) resumes, as units of an hour on 2 cores should not start over. Anything
  else left there is cleared. The path holds the digest of `settings_and_code`, so no other
  settings or code ever resume it."""
  path = root / digest(settings_and_code) / "_".join(map(str, key))
  if backup_name and path.is_dir() and any(p.is_dir() for p in path.rglob(backup_name)):
    return path, True
  shutil.rmtree(path, ignore_errors=True)
  return path, False


def appending_rows(path: pathlib.Path, columns: List[str]) -> Tuple[TextIO, csv.DictWriter]:
  """The open file and a writer that appends rows to the CSV at `path`. A new or empty file gets
  the header at once, on disk: a run killed before its first row must not leave a file that
  the next run appends rows to without one."""
  path.parent.mkdir(parents=True, exist_ok=True)
  f = path.open("a", newline="")
  writer = csv.DictWriter(f, columns)
  if f.tell() == 0:
    writer.writeheader()
    f.flush()
  return f, writer


def check_resumable(path: pathlib.Path, columns: List[str], expected: Dict[str, str],
                    who: str) -> None:
  """Exits with one line if the CSV at `path` has other columns than `columns` or a row whose
  provenance differs from `expected`: a resumed table must not mix settings or code."""
  if not path.exists():
    return
  with path.open() as f:
    reader = csv.DictReader(f)
    if reader.fieldnames is not None and reader.fieldnames != columns:
      sys.exit(f"{who}: {path} has other columns than this version writes (written before "
               "settings and code were recorded per row?): pass another --csv")
    rows = list(reader)
  for row in rows:
    for column, ours in expected.items():
      if row[column] != ours:
        sys.exit(f"{who}: {path} holds a row of {column} {row[column]} and this run's is "
                 f"{ours}: pass another --csv")


def read_rows(path: pathlib.Path) -> List[Dict[str, str]]:
  with path.open() as f:
    return list(csv.DictReader(f))


def run_missing_rows(path: pathlib.Path, columns: List[str], expected: Dict[str, str], who: str,
                     key_columns: Sequence[str], cells: Iterable[Dict[str, object]],
                     run) -> None:
  """Runs, in order, each cell (its `key_columns`' values) that no row of the CSV at `path` holds
  yet: `run(cell)` gives the row's other values, appended at once with `expected` and the
  machine, so a stopped benchmark resumes after its last finished cell with the same command."""
  check_resumable(path, columns, expected, who)

  def key(row):
    return tuple(str(row[column]) for column in key_columns)
  done = {key(row) for row in read_rows(path)} if path.exists() else set()
  f, writer = appending_rows(path, columns)
  with f:
    for cell in cells:
      if key(cell) in done:
        continue
      print(f"{who}: {', '.join(f'{c} {cell[c]}' for c in key_columns)} ...", flush=True)
      row = {**cell, **run(cell)}
      writer.writerow({**row, **expected, "machine": machine()})
      f.flush()
      print(f"{who}: {row}", flush=True)
