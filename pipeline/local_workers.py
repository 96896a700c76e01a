"""`fewlabels workers`: the Trainer's run_fn or the pre-training job on N local processes under
MultiWorkerMirroredStrategy.

For developing and testing multi-worker training on one machine (a cluster uses Vertex AI or
Kubeflow instead): takes the Transform output and settings of the last run in an output
directory, starts worker 0 (the chief) and workers 1..N-1 on 127.0.0.1 with free ports and
TF_CONFIG, streams their logs, and stops them all if one fails. The job's directory is fixed, so
a rerun after a failure resumes from the last finished epoch (BackupAndRestore).
"""
import dataclasses
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence

from tfx.utils import path_utils

from components.layerwise_pretrainer import executor as pretrainer_executor
from models import config as model_config
from models import distribution
from models import methods
from models import pretexts
from models import run_fn as run_fn_lib
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from pipeline import worker_process
from sources import splits

WORKERS_DIR = "workers"
TRAINER, PRETRAINER = worker_process.TRAINER, worker_process.PRETRAINER
_ARGS_FILE = "job_args.json"
_POLL_SECONDS = 0.5


class WorkerError(RuntimeError):
  """A worker failed or never joined; the message is one line."""


def free_ports(count: int) -> List[int]:
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


def _last_run(output_dir: str, pipeline_name: str) -> Dict[str, run_results.ComponentRun]:
  store = run_results.open_store(os.path.join(output_dir, "metadata.sqlite"))
  return run_results.component_runs(store, run_results.latest_run_id(store, pipeline_name))


def _split_files(transform: run_results.ComponentRun, *names: str) -> List[str]:
  examples = transform.output("transformed_examples").uri
  return [os.path.join(examples, f"Split-{split}", "*") for split in names]


def _job_dir(output_dir: str, job: str) -> str:
  return os.path.join(output_dir, WORKERS_DIR, job)


def workers_encoder_dir(output_dir: str) -> str:
  """Where `fewlabels workers --job pretrainer` leaves the encoder (the Trainer's base model)."""
  return path_utils.serving_model_dir(_job_dir(output_dir, PRETRAINER))


def _trainer_settings(custom_config: Dict, sets: Sequence[str]) -> Dict:
  """The run's Trainer settings with `--set` values applied, as `fewlabels run --set` would."""
  config = config_lib.apply_sets(config_lib.PipelineConfig(
      method=custom_config[run_fn_lib.METHOD_KEY],
      method_settings=tuple(sorted(custom_config[run_fn_lib.METHOD_SETTINGS_KEY].items())),
      model=model_config.from_dict(model_config.ModelConfig,
                                   custom_config[run_fn_lib.MODEL_CONFIG_KEY], "model"),
      training=model_config.from_dict(model_config.TrainingConfig,
                                      custom_config[run_fn_lib.TRAINING_CONFIG_KEY], "training")),
      list(sets), readable=("model", "training"), reader=f"the {TRAINER} job")
  return {**custom_config,
          run_fn_lib.METHOD_SETTINGS_KEY: model_config.to_dict(config.settings),
          run_fn_lib.MODEL_CONFIG_KEY: model_config.to_dict(config.model),
          run_fn_lib.TRAINING_CONFIG_KEY: model_config.to_dict(config.training)}


def trainer_inputs(output_dir: str, pipeline_name: str, epochs: Optional[int],
                   sets: Sequence[str] = ()) -> Dict:
  """FnArgs fields for run_fn from the last run's Transform output and Trainer settings (with
  `sets` applied); the base model is the encoder pre-trained on workers when there is one, else
  the run's."""
  runs = _last_run(output_dir, pipeline_name)
  transform, trainer = runs[pipeline_lib.TRANSFORM], runs[pipeline_lib.TRAINER]
  custom_config = _trainer_settings(json.loads(trainer.properties["custom_config"]), sets)
  if epochs is not None:
    custom_config["training"]["epochs"] = epochs
  train_splits = [splits.LABELED_SPLIT]
  if methods.get(custom_config["method"]).uses_unlabeled:
    train_splits.append(splits.UNLABELED_SPLIT)
  base_model = None
  if pipeline_lib.PRETRAINER in runs:
    base_model = workers_encoder_dir(output_dir)
    if not os.path.isfile(os.path.join(base_model, pretexts.ENCODER_FILE)):
      base_model = path_utils.serving_model_dir(runs[pipeline_lib.PRETRAINER].output("model").uri)
  elif pipeline_lib.REFERENCE_TRAINER in runs and methods.starts_from_reference(
      custom_config["method"],
      methods.settings(custom_config["method"], custom_config["method_settings"])):
    base_model = path_utils.serving_model_dir(
        runs[pipeline_lib.REFERENCE_TRAINER].output("model").uri)
  if base_model:
    logging.info("base model: %s", base_model)
  work = _job_dir(output_dir, TRAINER)
  return {
      "train_files": _split_files(transform, *train_splits),
      "base_model": base_model,
      "transform_output": transform.output("transform_graph").uri,
      "serving_model_dir": os.path.join(work, "serving_model"),
      "model_run_dir": os.path.join(work, "model_run"),
      "custom_config": custom_config,
  }


def pretrainer_inputs(output_dir: str, pipeline_name: str, epochs: Optional[int],
                      sets: Sequence[str] = ()) -> Dict:
  """PretrainingArgs fields from the last run's Transform output and pre-training settings
  (with `sets`, `pretraining.FIELD=VALUE`, applied)."""
  runs = _last_run(output_dir, pipeline_name)
  if pipeline_lib.PRETRAINER not in runs:
    raise WorkerError(f"the last run of {pipeline_name!r} in {output_dir} has no pre-training: "
                      "run it with a method that starts from a pre-trained encoder first ("
                      f"{', '.join(n for n in methods.names() if methods.get(n).needs_encoder)})")
  transform, pretrainer = runs[pipeline_lib.TRANSFORM], runs[pipeline_lib.PRETRAINER]
  pretraining = config_lib.apply_sets(config_lib.PipelineConfig(pretraining=model_config.from_dict(
      model_config.PretrainingConfig,
      json.loads(pretrainer.properties[pretrainer_executor.PRETRAINING_CONFIG_KEY]),
      "pretraining")), list(sets), readable=("pretraining",), method_settings_read=False,
      reader=f"the {PRETRAINER} job").pretraining
  pretraining_config = model_config.to_dict(pretraining)
  if epochs is not None:
    pretraining_config["steps_per_stage"] = epochs * pretraining.epoch_steps
  return dataclasses.asdict(pretrainer_executor.PretrainingArgs(
      labeled_files=_split_files(transform, splits.LABELED_SPLIT),
      unlabeled_files=_split_files(transform, splits.UNLABELED_SPLIT),
      transform_output=transform.output("transform_graph").uri,
      model_dir=_job_dir(output_dir, PRETRAINER),
      model_config=json.loads(pretrainer.properties[pretrainer_executor.MODEL_CONFIG_KEY]),
      pretraining_config=pretraining_config,
      seed=int(pretrainer.properties[pretrainer_executor.SEED_KEY])))


def job_inputs(job: str, output_dir: str, pipeline_name: str, epochs: Optional[int],
               sets: Sequence[str] = ()) -> Dict:
  return {TRAINER: trainer_inputs, PRETRAINER: pretrainer_inputs}[job](
      output_dir, pipeline_name, epochs, sets)


def _result_dir(job: str, job_args: Dict) -> str:
  if job == TRAINER:
    return job_args["serving_model_dir"]
  return path_utils.serving_model_dir(job_args["model_dir"])


def _args_file(job: str, job_args: Dict) -> str:
  directory = job_args["model_run_dir"] if job == TRAINER else job_args["model_dir"]
  return os.path.join(directory, _ARGS_FILE)


def _stream(name: str, process: subprocess.Popen, joined: threading.Event) -> None:
  for line in process.stdout:
    line = line.rstrip()
    if "global batch" in line:  # the fit loop's first line: this worker joined
      joined.set()
    logging.info("[%s] %s", name, line)


def launch(job: str, job_args: Dict, num_workers: int, join_timeout: float = 300.0,
           fail_after_epoch: Optional[int] = None) -> str:
  """Runs `job` (TRAINER or PRETRAINER) on `num_workers` processes; returns the directory of
  the exported model (TRAINER) or of the encoder (PRETRAINER)."""
  if num_workers < 1:
    raise WorkerError(f"number of workers {num_workers} must be at least 1")
  args_file = _args_file(job, job_args)
  os.makedirs(os.path.dirname(args_file), exist_ok=True)
  with open(args_file, "w") as f:
    json.dump(job_args, f)
  addresses = [f"127.0.0.1:{port}" for port in free_ports(num_workers)]
  processes, threads, joined = [], [], []
  for index in range(num_workers):
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CONFIG=json.dumps({
        "cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}))
    # A worker that waits longer than the launcher for the others exits by itself too.
    env[distribution.JOIN_TIMEOUT_ENV] = str(join_timeout)
    if fail_after_epoch is not None and index == num_workers - 1:
      env["FEWLABELS_FAIL_AFTER_EPOCH"] = str(fail_after_epoch)
    process = subprocess.Popen(
        [sys.executable, "-m", worker_process.__name__, job, args_file], env=env,
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
  return _result_dir(job, job_args)
