"""One process of `fewlabels workers` (pipeline/local_workers.py starts N of them): the Trainer's
run_fn or the pre-training job, with the job's arguments from a file and TF_CONFIG from the
environment.

It imports the job's code and nothing of the pipeline's definition: a worker that imported the
whole `pipeline.local_workers` (TFX's components and extensions) took 69 s to start on 2 cores
against 18 s now (docs/BENCHMARKS.md, `bench/startup.py`).
"""
import json
import logging
import sys
import types

from pipeline import config as config_lib

TRAINER, PRETRAINER = config_lib.TRAINER_JOB, config_lib.PRETRAINER_JOB


def main(job: str, args_file: str) -> None:
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                      force=True)  # imports before this may have set up absl's handler
  with open(args_file) as f:
    job_args = json.load(f)
  if job == TRAINER:
    from models import run_fn
    # run_fn reads FnArgs' attributes only; TFX's FnArgs class would load every TFX component
    # (its package imports them all), doubling the start-up.
    run_fn.run_fn(types.SimpleNamespace(**job_args))
  else:
    from components.layerwise_pretrainer import executor as pretrainer_executor
    pretrainer_executor.run_pretraining(pretrainer_executor.PretrainingArgs(**job_args))


if __name__ == "__main__":
  main(sys.argv[1], sys.argv[2])
