"""`make demo`'s own settings (the Makefile's DEMO_ARGS) through the whole pipeline, on tiny data.

How long the demo takes belongs in docs/BENCHMARKS.md; here: that its settings still make a run
that trains the default method beside the supervised reference, gates and pushes.
"""
import json
import os
import pathlib
import re
import shlex

import pytest

from models import methods
from pipeline import cli
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from tests.conftest import TINY_DATA

pytestmark = pytest.mark.slow

MAKEFILE = pathlib.Path(__file__).resolve().parent.parent / "Makefile"


def demo_args():
  match = re.search(r"^DEMO_ARGS := ((?:.*\\\n)*.*)$", MAKEFILE.read_text(), re.MULTILINE)
  assert match, "the Makefile has no DEMO_ARGS line"
  return shlex.split(match.group(1).replace("\\\n", " "))


def _with_data(args, data):
  out = list(args)
  out[out.index("--data") + 1] = data
  return out


def test_the_demos_settings_train_the_default_beside_the_reference_and_push(tmp_path, tfds_dir):
  # The gate's accuracy floor is the demo's; ten labels of tiny doodles are not meant to reach it.
  # A fraction of its training (one epoch of its steps_per_epoch, 4 supervised epochs for the
  # reference and the warm start), every other setting of the demo whole: what is tested is that
  # they make the run, not how well it trains (docs/BENCHMARKS.md measures the demo itself).
  argv = ["run", *_with_data(demo_args(), TINY_DATA), "--tfds-data-dir", tfds_dir,
          "--min-accuracy", "0", "--set", "steps=30", "--epochs", "4"]
  args = cli.build_parser().parse_args(argv)
  config = cli.config_from_args(args, str(tmp_path / "demo_output"))
  assert config.method == cli.config_lib.PipelineConfig().method  # the default method
  summary = local_runner.run(config)
  for component in (pipeline_lib.TRAINER, pipeline_lib.REFERENCE_TRAINER,
                    pipeline_lib.EVALUATOR, pipeline_lib.PUSHER):
    assert summary.components[component].state == "COMPLETE", component
  assert summary.reference_accuracy is not None and summary.test_accuracy is not None
  assert summary.pushed_model in ("candidate", "reference")
  assert os.path.isfile(os.path.join(summary.pushed_to, "saved_model.pb"))
  trainer = summary.components[pipeline_lib.TRAINER].output("model_run")
  with open(os.path.join(trainer.uri, "history.json")) as f:
    history = json.load(f)
  settings = methods.settings(config.method, dict(config.method_settings))
  assert history["method"] == config.method
  assert history["planned_steps"] == settings.epochs * settings.steps_per_epoch
  # The report shows a sample of the pool pictures the final model accepts, as many as it says.
  with open(summary.report, encoding="utf-8") as f:
    html = f.read()
  assert "Pseudo-labels the final model accepts, per class" in html
  pool_part = re.split(r"<h[23]>", html.split("Pseudo-labels the final model accepts")[1])[0]
  stated = int(re.search(r'<span class="shown">(\d+)</span> pictures shown', pool_part).group(1))
  assert pool_part.count('<img class="thumb"') == stated
