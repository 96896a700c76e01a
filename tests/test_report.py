"""The per-run HTML report, opened in headless Chromium: it loads with its plots and tables."""
import pathlib
import re

import pytest

from tests import browser

pytestmark = pytest.mark.slow


def _report(summary) -> pathlib.Path:
  assert summary.report, "the run wrote no report"
  path = pathlib.Path(summary.report)
  assert path.is_file() and not path.with_name(path.name + ".tmp").exists()
  return path


def test_supervised_report_shows_accuracy_classes_confusion_data_and_curves(runs, tmp_path):
  summary = runs["good"]
  page = _report(summary)
  html = browser.dom(page, tmp_path / "profile")
  assert "Evaluation on the test split" in html and "BLESSED: pushed" in html
  accuracy = re.search(r"<td class=\"text\">test accuracy</td><td>([0-9.]+)</td>", html)
  assert accuracy and abs(float(accuracy.group(1)) - summary.test_accuracy) < 1e-4
  for class_name in ("airplane", "rainbow"):  # the per-class table names the classes
    assert f'<td class="text">{class_name}</td>' in html
  assert "Labeled examples per class" in html and "None found" in html  # data and anomalies
  images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', html)
  assert {"confusion matrix", "Fine-tuning"} <= set(images)
  assert "Quick, Draw!" in html  # attribution travels with every report
  pixels = browser.screenshot(page, tmp_path / "shot.png", tmp_path / "profile")
  assert browser.plot_pixels(pixels) > 5_000  # the plots were drawn, not broken images


def test_not_blessed_report_says_so_with_the_failed_threshold(runs, tmp_path):
  html = browser.dom(_report(runs["crippled"]), tmp_path / "profile")
  assert "NOT BLESSED: not pushed" in html
  assert "baseline (last blessed model)" in html and "none yet" not in html


def test_proposed_method_report_has_pretraining_stages_and_self_training_rounds(method_runs,
                                                                                 tmp_path):
  summary = method_runs["self_training_layerwise"]
  page = _report(summary)
  html = browser.dom(page, tmp_path / "profile")
  images = set(re.findall(r'<img alt="([^"]+)"', html))
  assert {"pre-training loss per stage", "pseudo-labels added per round",
          "confusion matrix"} <= images
  assert "Stopped:" in html and "pseudo-label accuracy (diagnostic)" in html
  pixels = browser.screenshot(page, tmp_path / "shot.png", tmp_path / "profile", height=7000)
  assert browser.plot_pixels(pixels) > 5_000


def test_the_report_shows_the_test_pictures_the_model_got_most_confidently_wrong(runs,
                                                                                tmp_path):
  from components.evaluation_report import pictures
  html = browser.dom(_report(runs["good"]), tmp_path / "profile")
  assert "Most confidently wrong, per class" in html
  images, stated = browser.thumbnails(html)
  assert len(stated) == 1 and stated[0] == len(images) > 0  # as many as the page says
  assert len(images) <= pictures.PER_CLASS * 10
  for image in images:  # each decodes to a drawing, scaled up
    assert image.size == (28 * 2, 28 * 2)
  captions = re.findall(r'<figcaption>([^<]+) as ([^<]+) ([0-9.]+)</figcaption>', html)
  assert len(captions) == len(images)
  assert all(true != predicted for true, predicted, _ in captions)  # mistakes only
