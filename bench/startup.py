"""Fixed costs of every run: a process's imports and the served model's export.

  python bench/startup.py [--repeats 3]

Imports: each line is a fresh Python process (median wall seconds of --repeats), with the
import a `fewlabels run` makes once its flags are checked (pipeline.local_runner), what each
process of `fewlabels workers` imports, and as references from the same run what the run
imported before (tfx.v1, TFX with every extension) and TensorFlow alone; each once with the
bytecode `make` compiles at install and once compiled from source, as every process did
before where PYTHONDONTWRITEBYTECODE is set (an empty PYTHONPYCACHEPREFIX hides the .pyc
files). Export: each architecture (default sizes) inside a module with one serving
signature, saved the way the Trainer saves it (models/export.py) against a plain
tf.saved_model.save, which also traces every Keras layer; the first save of a process pays
one-off tracing, so each is timed after a warm-up save of its own kind. Prints the machine.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import measure  # noqa: E402  (bench/measure.py: no heavy imports)

IMPORTS = [
    ("fewlabels run: pipeline.local_runner", "from pipeline import local_runner"),
    ("a worker: pipeline.worker_process + run_fn",
     "from pipeline import worker_process; from models import run_fn"),
    ("reference: tfx.v1 (the run's import before)", "from tfx import v1"),
    ("reference: tensorflow", "import tensorflow"),
]


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  if args.repeats < 1:
    parser.error(f"--repeats {args.repeats} must be a positive integer")
  return args


def import_seconds(statement: str, env: dict) -> float:
  started = time.monotonic()
  done = subprocess.run([sys.executable, "-c", statement], env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  if done.returncode:
    sys.exit(f"startup bench: {statement!r} failed: {done.stderr.strip().splitlines()[-1]}")
  return time.monotonic() - started


def print_export_seconds(repeats: int) -> None:
  """Median seconds of saving a served module, per architecture and way."""
  import tensorflow as tf
  from models import architectures, export
  from models import config as config_lib
  from sources import features

  class Served(tf.Module):
    def __init__(self, model):
      super().__init__()
      self.model = model

    @tf.function(input_signature=[tf.TensorSpec(
        [None, features.IMAGE_SIZE, features.IMAGE_SIZE], tf.uint8)])
    def serve(self, pixels):
      return {export.PREDICTION_KEY: self.model(pixels, training=False)}

    def signatures(self):
      return {export.SERVING_SIGNATURE: self.serve}

  ways = {"Trainer's export": export.save,
          "plain tf.saved_model.save": lambda module, directory: tf.saved_model.save(
              module, directory, signatures=module.signatures())}
  for architecture in architectures.names():
    model = architectures.build(10, config_lib.ModelConfig(architecture=architecture))
    for how, save in ways.items():
      times = []
      for _ in range(repeats + 1):  # the first: warm-up
        module = Served(model)
        with tempfile.TemporaryDirectory() as directory:
          started = time.monotonic()
          save(module, directory)
          times.append(time.monotonic() - started)
      print(f"  export {architecture:<5} {how:<28} {statistics.median(times[1:]):6.1f} s",
            flush=True)


def main() -> None:
  args = parse_args()
  print(f"imports (median of {args.repeats} fresh processes): compiled bytecode | from source")
  with tempfile.TemporaryDirectory() as no_bytecode:
    envs = (dict(os.environ), dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                                   PYTHONPYCACHEPREFIX=no_bytecode))
    for label, statement in IMPORTS:
      medians = [statistics.median(import_seconds(statement, env) for _ in range(args.repeats))
                 for env in envs]
      print(f"  {label:<48} {medians[0]:6.1f} s | {medians[1]:6.1f} s", flush=True)
  print(f"export of the served model (median of {args.repeats}, after a warm-up):")
  print_export_seconds(args.repeats)
  print(f"machine: {measure.machine()}")


if __name__ == "__main__":
  main()
