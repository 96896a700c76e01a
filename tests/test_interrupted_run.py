"""A pipeline run killed mid-way (in the Trainer) and started again reuses what had finished."""
import os
import subprocess
import sys

import pytest

from models import fault_injection
from pipeline import cli
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from tests.conftest import LABELS, TINY_DATA

pytestmark = pytest.mark.slow


def test_rerun_after_a_killed_run_reuses_the_finished_components(tfds_dir, tmp_path):
  output = str(tmp_path / "out")
  argv = ["run", "--data", TINY_DATA, "--tfds-data-dir", tfds_dir, "--output", output,
          "--labels", LABELS, "--method", "supervised", "--lstm-width", "16", "--lstm-layers",
          "2", "--epochs", "3", "--min-accuracy", "0.1"]
  # The process dies after the Trainer's first epoch, as a machine that goes away would.
  env = dict(os.environ, **{fault_injection.ENV_VAR: "1"})
  killed = subprocess.run([sys.executable, "-m", "pipeline.cli"] + argv, env=env,
                          capture_output=True, text=True, timeout=900)
  assert killed.returncode == fault_injection.EXIT_CODE, killed.stderr[-2000:]
  metadata_path = os.path.join(output, "metadata.sqlite")
  store = run_results.open_store(metadata_path)
  first = run_results.component_runs(store, run_results.latest_run_id(store, "fewlabels"))
  assert all(first[c].state == "COMPLETE" for c in pipeline_lib.DATA_STAGE)
  assert first[pipeline_lib.TRAINER].state != "COMPLETE"
  assert pipeline_lib.EVALUATOR not in first

  args = cli.build_parser().parse_args(argv)
  again = local_runner.run(cli.config_from_args(args, output))
  for component in pipeline_lib.DATA_STAGE:
    assert again.components[component].state == "CACHED", component
  for component in (pipeline_lib.TRAINER, pipeline_lib.EVALUATOR, pipeline_lib.REPORT):
    assert again.components[component].state == "COMPLETE", component
  assert again.test_accuracy is not None and os.path.isfile(again.report)
