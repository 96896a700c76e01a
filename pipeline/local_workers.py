"""`fewlabels workers`: the Trainer's run_fn on N local processes under MultiWorkerMirroredStrategy.

For developing and testing multi-worker training on one machine (a cluster uses Vertex AI or
Kubeflow instead): takes the Transform output and Trainer settings of the last run in an output
directory, starts worker 0 (the chief) and workers 1..N-1 on 127.0.0.1 with free ports and
TF_CONFIG, streams their logs, and stops them all if one fails. The run directory is fixed, so
a rerun after a failure resumes from the last finished epoch (BackupAndRestore).
"""
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from tfx.utils import path_utils

from components.tfds_example_gen import spec as example_gen_spec
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results

WORKERS_DIR = "workers"
_POLL_SECONDS = 0.5


class WorkerError(RuntimeError):
  """A worker failed or never joined; the message is one line."""


def _free_ports(count: int) -> List[int]:
  sockets = []
  try:
    for _ in range(count):
      s = socket.socket()
      s.bind(("127.0.0.1", 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def trainer_inputs(output_dir: str, pipeline_name: str, epochs: Optional[int]) -> Dict:
  """FnArgs fields for run_fn from the last run's Transform output and Trainer settings."""
  store = run_results.open_store(os.path.join(output_dir, "metadata.sqlite"))
  runs = run_results.component_runs(store, run_results.latest_run_id(store, pipeline_name))
  transform, trainer = runs[pipeline_lib.TRANSFORM], runs[pipeline_lib.TRAINER]
  examples = transform.output("transformed_examples")
  custom_config = json.loads(trainer.properties["custom_config"])
  if epochs is not None:
    custom_config["training"]["epochs"] = epochs
  splits = [example_gen_spec.LABELED_SPLIT]
  if custom_config["method"] in config_lib.SELF_TRAINING_METHODS:
    splits.append(example_gen_spec.UNLABELED_SPLIT)
  base_model = None
  if pipeline_lib.PRETRAINER in runs:
    base_model = path_utils.serving_model_dir(runs[pipeline_lib.PRETRAINER].output("model").uri)
  work = os.path.join(output_dir, WORKERS_DIR)
  return {
      "train_files": [os.path.join(examples.uri, f"Split-{split}", "*") for split in splits],
      "base_model": base_model,
      "transform_output": transform.output("transform_graph").uri,
      "serving_model_dir": os.path.join(work, "serving_model"),
      "model_run_dir": os.path.join(work, "model_run"),
      "custom_config": custom_config,
  }


def _stream(name: str, process: subprocess.Popen, joined: threading.Event) -> None:
  for line in process.stdout:
    line = line.rstrip()
    if "global batch" in line:  # the fit loop's first line: this worker joined
      joined.set()
    logging.info("[%s] %s", name, line)


def launch(fn_args: Dict, num_workers: int, join_timeout: float = 300.0,
           fail_after_epoch: Optional[int] = None) -> str:
  """Runs run_fn on `num_workers` processes; returns the exported model's directory."""
  if num_workers < 1:
    raise WorkerError(f"number of workers {num_workers} must be at least 1")
  os.makedirs(fn_args["model_run_dir"], exist_ok=True)
  args_file = os.path.join(fn_args["model_run_dir"], "fn_args.json")
  with open(args_file, "w") as f:
    json.dump(fn_args, f)
  addresses = [f"127.0.0.1:{port}" for port in _free_ports(num_workers)]
  processes, threads, joined = [], [], []
  for index in range(num_workers):
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CONFIG=json.dumps({
        "cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}))
    if fail_after_epoch is not None and index == num_workers - 1:
      env["FEWLABELS_FAIL_AFTER_EPOCH"] = str(fail_after_epoch)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.local_workers", args_file], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    event = threading.Event()
    thread = threading.Thread(target=_stream, args=(f"worker {index}", process, event), daemon=True)
    thread.start()
    processes.append(process), threads.append(thread), joined.append(event)
  logging.info("Started %d workers on %s", num_workers, ", ".join(addresses))
  started = time.monotonic()
  try:
    while any(p.poll() is None for p in processes):
      for index, process in enumerate(processes):
        if process.poll() not in (None, 0):
          raise WorkerError(f"worker {index} exited with code {process.returncode}: stopped the "
                            "others; run again to resume from the last finished epoch")
      late = [i for i, event in enumerate(joined) if not event.is_set()]
      if late and time.monotonic() - started > join_timeout:
        raise WorkerError(f"worker(s) {late} did not start training within {join_timeout:.0f} s")
      time.sleep(_POLL_SECONDS)
    for index, process in enumerate(processes):
      if process.returncode:
        raise WorkerError(f"worker {index} exited with code {process.returncode}")
  finally:
    for process in processes:
      if process.poll() is None:
        process.kill()
    for thread in threads:
      thread.join(timeout=5)
  return fn_args["serving_model_dir"]


def _worker_main(args_file: str) -> None:
  """One worker: run_fn with the FnArgs in `args_file` and TF_CONFIG from the environment."""
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                      force=True)  # imports before this may have set up absl's handler
  from tfx.components.trainer.fn_args_utils import FnArgs
  from models import run_fn
  with open(args_file) as f:
    run_fn.run_fn(FnArgs(**json.load(f)))


if __name__ == "__main__":
  _worker_main(sys.argv[1])
