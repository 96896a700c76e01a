"""Which pictures the report shows: per class the most confident mistakes, and a sample of the
pool pictures above their class's pseudo-label threshold."""
import numpy as np

from components.evaluation_report import pictures


def _probabilities(rows):
  return np.array(rows, dtype=np.float64)


def test_confident_mistakes_are_wrong_and_ordered_by_confidence_per_true_class():
  labels = np.array([0, 0, 0, 1, 1, 2])
  probabilities = _probabilities([
      [0.1, 0.9, 0.0],  # class 0 as 1, 0.9
      [0.8, 0.2, 0.0],  # right
      [0.3, 0.0, 0.7],  # class 0 as 2, 0.7
      [0.6, 0.4, 0.0],  # class 1 as 0, 0.6
      [0.0, 1.0, 0.0],  # right
      [0.0, 0.0, 1.0],  # right
  ])
  assert pictures.confident_mistakes(labels, probabilities) == {0: [0, 2], 1: [3]}
  assert pictures.confident_mistakes(labels, probabilities, per_class=1) == {0: [0], 1: [3]}


def test_the_pseudo_label_sample_holds_only_pictures_above_their_classes_threshold():
  rng = np.random.default_rng(1)
  probabilities = rng.dirichlet(np.ones(3) * 0.3, size=500)
  thresholds = [0.95, 0.6, 0.8]
  chosen = pictures.accepted_sample(probabilities, thresholds, per_class=5, seed=3)
  for cls, indices in chosen.items():
    assert 0 < len(indices) <= 5 and len(set(indices)) == len(indices)
    assert all(probabilities[i].argmax() == cls and probabilities[i].max() >= thresholds[cls]
               for i in indices)
  assert chosen == pictures.accepted_sample(probabilities, thresholds, per_class=5, seed=3)
  assert pictures.accepted_sample(probabilities, [1.01] * 3) == {}  # nothing reaches it


def test_a_thumbnail_is_a_png_of_the_picture_dark_ink_on_light():
  import base64
  import io
  import re

  from PIL import Image
  drawing = np.zeros((28, 28), np.uint8)
  drawing[10:12, :] = 255  # a line of ink
  html = pictures.thumbnail(drawing, "line as cat 0.99")
  data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
  image = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
  assert image.shape == (56, 56) and image[0, 0] == 255 and image[21, 5] == 0
  assert "<figcaption>line as cat 0.99</figcaption>" in html


def test_the_pseudo_label_gallery_renders_in_chromium_with_as_many_pictures_as_it_says(tmp_path):
  from components.evaluation_report import render
  from tests import browser
  rng = np.random.default_rng(2)
  probabilities = rng.dirichlet(np.ones(3) * 0.2, size=200)
  pixels = rng.integers(0, 256, (200, 16, 16, 3)).astype(np.uint8)  # colour pictures too
  page = tmp_path / "report.html"
  page.write_text(render.page("report", [pictures.pseudo_label_section(
      probabilities, pixels, [0.9, 0.7, 0.8], ("a", "b", "c"))]), encoding="utf-8")
  images, [stated] = browser.thumbnails(browser.dom(page, tmp_path / "profile"))
  assert stated == len(images) == 3 * pictures.PER_CLASS  # each class has enough above its bar
  assert all(image.size == (32, 32) and image.mode == "RGB" for image in images)
