"""A pipeline run killed mid-way (kill -9 during Transform, an exit in the Trainer, kill -9 in
the middle of the push) and started again reuses what had finished, and serving_model/ never
shows a partial version; the rerun's console is one line per component, in an output path with
spaces and non-ASCII letters, with every other log line in the run's log file."""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest

from components.atomic_pusher import executor as atomic_pusher
from components.atomic_pusher.versions import versions
from models import fault_injection
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from tests.conftest import LABELS, TINY_DATA

pytestmark = pytest.mark.slow


def _killed_when(argv, env, happened):
  """Starts a run and kill -9s its whole process group once `happened()`."""
  run = subprocess.Popen([sys.executable, "-m", "pipeline.cli"] + argv, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
  deadline = time.monotonic() + 900
  while not happened():
    assert run.poll() is None and time.monotonic() < deadline, "the run ended first"
    time.sleep(0.5)
  os.killpg(run.pid, signal.SIGKILL)
  run.wait()


def _logged(output, text):
  def happened():
    for path in glob.glob(os.path.join(output, "logs", "*.log")):
      with open(path, encoding="utf-8", errors="replace") as f:
        if text in f.read():
          return True
    return False
  return happened


def test_rerun_after_a_killed_run_reuses_the_finished_components(tfds_dir, tmp_path):
  output = str(tmp_path / "out dir é")
  argv = ["run", "--data", TINY_DATA, "--tfds-data-dir", tfds_dir, "--output", output,
          "--labels", LABELS, "--method", "supervised", "--model", "cnn", "--cnn-width", "8",
          "--epochs", "3", "--min-accuracy", "0.1"]
  metadata_path = os.path.join(output, "metadata.sqlite")
  _killed_when(argv, dict(os.environ), _logged(output, "Component Transform is running."))
  store = run_results.open_store(metadata_path)
  killed = run_results.component_runs(store, run_results.latest_run_id(store, "fewlabels"))
  assert killed[pipeline_lib.EXAMPLE_GEN].state == "COMPLETE"
  assert pipeline_lib.TRAINER not in killed
  assert pipeline_lib.TRANSFORM not in killed or killed[pipeline_lib.TRANSFORM].state != "COMPLETE"
  # The process dies after the Trainer's first epoch, as a machine that goes away would.
  env = dict(os.environ, **{fault_injection.ENV_VAR: "1"})
  killed = subprocess.run([sys.executable, "-m", "pipeline.cli"] + argv, env=env,
                          capture_output=True, text=True, timeout=900)
  assert killed.returncode == fault_injection.EXIT_CODE, killed.stderr[-2000:]
  first = run_results.component_runs(store, run_results.latest_run_id(store, "fewlabels"))
  assert all(first[c].state == "CACHED" for c in pipeline_lib.DATA_STAGE[:-1])
  assert first[pipeline_lib.TRANSFORM].state == "COMPLETE"  # the killed one ran again
  assert first[pipeline_lib.TRAINER].state != "COMPLETE"
  assert pipeline_lib.EVALUATOR not in first

  # Again, and kill -9 the whole process group while the Pusher copies the model.
  serving = os.path.join(output, "serving_model")
  _killed_when(argv, dict(os.environ, **{atomic_pusher.PAUSE_ENV: "300"}),
               lambda: glob.glob(os.path.join(serving, atomic_pusher.PARTIAL_PREFIX + "*")))
  assert versions(serving) == []  # the partial copy is not a version

  rerun = subprocess.run([sys.executable, "-m", "pipeline.cli"] + argv,
                         capture_output=True, text=True, timeout=900)
  assert rerun.returncode == 0, rerun.stderr[-2000:]
  again = run_results.summarize(metadata_path, "fewlabels")
  for component in pipeline_lib.DATA_STAGE + (pipeline_lib.TRAINER,):
    assert again.components[component].state == "CACHED", component
  for component in (pipeline_lib.PUSHER, pipeline_lib.REPORT):
    assert again.components[component].state == "COMPLETE", component
  assert again.test_accuracy is not None and os.path.isfile(again.report)
  assert os.listdir(serving) == [os.path.basename(again.pushed_to)]  # the leftover is gone
  assert os.path.isfile(os.path.join(again.pushed_to, "saved_model.pb"))

  console = (rerun.stdout + rerun.stderr).splitlines()
  assert len(console) <= 40, "\n".join(console)
  for component in again.components:  # one line each, as it finished
    lines = [line for line in console if line.split()[:1] == [component]]
    assert len(lines) == 1, (component, console)
  for component in pipeline_lib.DATA_STAGE:
    assert "reused from cache" in next(l for l in console if l.split()[:1] == [component])
  evaluator = next(l for l in console if l.split()[:1] == [pipeline_lib.EVALUATOR])
  assert f"test accuracy {again.test_accuracy:.4f}" in evaluator
  # The killed run's lock is taken over, saying so; nothing else but the console's own lines.
  assert sum("taking over the lock left by a run" in line for line in console) == 1
  for noise in ("tensorflow/core", "cuda", "oneDNN", "absl", "Traceback", "WARNING"):
    assert not any(noise in line for line in console if "taking over the lock" not in line), (
        noise, console)
  log = os.path.join(output, "logs", again.run_id.replace(":", "-") + ".log")
  assert any(log in line for line in console)
  with open(log, encoding="utf-8") as f:
    text = f.read()
  assert "Component Trainer is finished." in text and "tensorflow" in text
