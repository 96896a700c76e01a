"""Every registered method x architecture pair in a tiny LocalDagRunner run (the pairs of the
research methods on the LSTM run in test_methods_pipeline.py, the tiny config's own in
test_pipeline_local.py), or refused in one line; the report shows the pretext and consistency
training's pseudo-labels."""
import json
import os
import pathlib
import re

import pytest

from models import methods
from models import run_fn
from models.config import ConfigError
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from tests import browser
from tests.conftest import registry_pairs

pytestmark = pytest.mark.slow
def _history(summary):
  with open(os.path.join(summary.components[pipeline_lib.TRAINER].output("model_run").uri,
                         run_fn.HISTORY_FILE)) as f:
    return json.load(f)


def test_every_pair_trains_to_an_evaluation_or_is_refused_in_one_line(pair_runs):
  assert set(pair_runs) == set(registry_pairs())
  for (architecture, method), result in pair_runs.items():
    if isinstance(result, ConfigError):
      assert "\n" not in str(result) and method in str(result), result
      continue
    evaluator = result.components[pipeline_lib.EVALUATOR]
    assert evaluator.state == "COMPLETE", (architecture, method)
    assert os.listdir(evaluator.output("evaluation").uri), (architecture, method)
    trainer = json.loads(result.components[pipeline_lib.TRAINER].properties["custom_config"])
    assert trainer["method"] == method and trainer["model"]["architecture"] == architecture
    assert (pipeline_lib.PRETRAINER in result.components) == methods.get(method).needs_encoder


def test_the_pretext_is_recorded_in_ml_metadata_and_shown_in_the_report(pair_runs, tmp_path):
  summary = pair_runs[("cnn", "pretrained_consistency")]
  encoder = summary.components[pipeline_lib.PRETRAINER].output("model")
  assert run_results.custom_value(encoder, "pretext") == "denoise"
  assert run_results.custom_value(encoder, "stage_1_loss") > 0
  html = browser.dom(pathlib.Path(summary.report), tmp_path / "profile")
  assert "pretext <b>denoise</b>" in html
  assert "Consistency training" in html and "share above threshold" in html
  assert "pseudo-labels accepted per epoch" in html  # the figure's alt text


def test_the_pool_galleries_render_in_chromium_with_pictures_that_decode(pair_runs, tmp_path):
  summary = pair_runs[("cnn", "consistency")]
  html = browser.dom(pathlib.Path(summary.report), tmp_path / "profile")
  for title in ("Pseudo-labels the final model accepts, per class", "Off-topic pool pictures"):
    part = html.split(f"<h3>{title}</h3>")[1].split("<h3>")[0]
    images, [stated] = browser.thumbnails(part)
    assert len(images) == stated  # as many pictures as the page says
    assert all(image.size == (28 * 2, 28 * 2) for image in images)  # drawings, scaled up
  off_topic = html.split("<h3>Off-topic pool pictures</h3>")[1].split("<h3>")[0]
  assert browser.thumbnails(off_topic)[0]  # the most off-topic pictures, shown


def test_consistency_reads_the_pool_and_logs_pseudo_labels_per_epoch(pair_runs, tiny_config):
  summary = pair_runs[("cnn", "consistency")]
  trainer = summary.components[pipeline_lib.TRAINER]
  assert sorted(json.loads(trainer.properties["train_args"])["splits"]) == ["labeled", "unlabeled"]
  history = _history(summary)
  # The whole pool was checked; what the off-topic check flagged (few doodles) is left out.
  assert history["off_topic"]["scored"] == 700 and history["off_topic"]["flagged"] <= 14
  assert history["pool"] == 700 - history["off_topic"]["flagged"]
  with open(summary.report, encoding="utf-8") as f:
    part = f.read().split("<h3>Off-topic pool pictures</h3>")[1].split("</div>")[0]
  assert f"{history['off_topic']['flagged']:,} of 700 pool pictures" in part
  assert part.count('<img class="thumb"') == int(re.search(
      r'<span class="shown">(\d+)</span>', part).group(1)) == len(history["off_topic"]["shown"])
  assert len(history["accepted_per_class"]) == len(history["epochs"])
  assert all(len(counts) == 10 for counts in history["accepted_per_class"])
  # The doodles' true labels are readable here: the diagnostics are filled, within [0, 1].
  assert all(0.0 <= e[name] <= 1.0 for e in history["epochs"]
             for name in ("pseudo_label_accuracy", "pool_accuracy"))
