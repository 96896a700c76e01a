"""Label next: `suggest` picks the pictures to label, label.html labels them in a browser, and
`--extra-labels` folds the labels into the next run."""
import csv
import pathlib
import re

import numpy as np
import pytest

from pipeline import label_page
from pipeline import suggest
from sources import extra_labels
from sources import split_plan
from sources import tfds_source
from sources.errors import DataSourceError
from tests import browser
from tests.conftest import TINY_DATA

CLASSES = 10


def _pool(n=400, uncertain=(), seed=0):
  """Batches of (ids, pixels, ids): a model certain of every picture but `uncertain` ones."""
  rng = np.random.default_rng(seed)
  ids = np.arange(1000, 1000 + n)
  pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
  probabilities = np.full((n, CLASSES), 0.001, np.float32)
  probabilities[np.arange(n), ids % CLASSES] = 0.991
  for rank, example_id in enumerate(uncertain):  # the more uncertain, the earlier in the list
    row = example_id - 1000
    probabilities[row] = 0.1
    probabilities[row, example_id % CLASSES] += 0.001 * rank
    probabilities[row] /= probabilities[row].sum()
  table = dict(zip(ids, probabilities))
  batches = [(ids[i:i + 64], pixels[i:i + 64], ids[i:i + 64]) for i in range(0, n, 64)]
  return batches, (lambda batch_ids: np.stack([table[i] for i in batch_ids]))


@pytest.mark.parametrize("strategy", suggest.STRATEGIES)
def test_exactly_count_distinct_pool_ids(strategy):
  batches, score = _pool()
  pool, picked = suggest.suggest(iter(batches), score, CLASSES, 37, strategy)
  ids = pool.ids[picked]
  assert len(ids) == 37 == len(set(ids.tolist()))
  assert set(ids.tolist()) <= set(range(1000, 1400))


def test_the_pictures_the_model_is_unsure_of_come_first_most_unsure_first():
  unsure = [1003, 1017, 1250, 1399, 1101]
  batches, score = _pool(uncertain=unsure)
  for strategy in ("margin", "entropy"):
    pool, picked = suggest.suggest(iter(batches), score, CLASSES, 20, strategy)
    assert pool.ids[picked][:5].tolist() == unsure


def test_no_class_takes_more_than_twice_its_share_and_no_near_duplicates():
  batches, score = _pool()
  _, pixels, _ = batches[0]
  pixels[1] = pixels[0]  # the same drawing twice, both equally uncertain
  def equally_unsure(ids):
    probabilities = np.full((len(ids), CLASSES), 0.099)
    probabilities[np.arange(len(ids)), ids % CLASSES] = 0.109
    return probabilities

  pool, picked = suggest.suggest(iter(batches), equally_unsure, CLASSES, 10, "margin")
  chosen = pool.ids[picked].tolist()
  assert not {1000, 1001} <= set(chosen)
  predicted = pool.probabilities[picked].argmax(axis=1)
  assert np.bincount(predicted, minlength=CLASSES).max() <= 2  # 2 x 10 / 10


def test_diverse_spreads_its_picks_over_groups_of_look_alike_uncertain_pictures():
  """Five groups of ten similar (not duplicate) uncertain drawings, group 0 the most uncertain,
  among 350 certain ones; group g's are predicted as class 2g or 2g + 1. Margin goes by
  uncertainty, as far as the class cap (one a class here) lets it; diverse takes one a group."""
  rng = np.random.default_rng(3)
  n, groups = 400, 5
  ids = np.arange(1000, 1000 + n)
  pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
  bases = rng.integers(40, 216, (groups, 28, 28))
  probabilities = np.full((n, CLASSES), 0.001, np.float32)
  probabilities[np.arange(n), ids % CLASSES] = 0.991
  group_of = {}
  for row in range(groups * 10):
    group = row // 10
    pixels[row] = np.clip(bases[group] + rng.integers(-40, 41, (28, 28)), 0, 255)
    top = 0.30 + 0.05 * group + 0.001 * (row % 10)  # group 0: the smallest margins
    probabilities[row] = (1.0 - top) / (CLASSES - 1)
    probabilities[row, 2 * group + row % 2] = top
    group_of[ids[row]] = group
  table = dict(zip(ids, probabilities))
  batches = [(ids[i:i + 64], pixels[i:i + 64], ids[i:i + 64]) for i in range(0, n, 64)]
  score = lambda batch_ids: np.stack([table[i] for i in batch_ids])  # noqa: E731

  def groups_picked(strategy):
    pool, picked = suggest.suggest(iter(batches), score, CLASSES, groups, strategy)
    return sorted(group_of.get(i, -1) for i in pool.ids[picked].tolist())

  assert groups_picked("margin") == [0, 0, 1, 1, 2]
  assert groups_picked("diverse") == [0, 1, 2, 3, 4]


def test_a_count_larger_than_the_pool_and_a_bad_strategy_are_one_line():
  batches, score = _pool(n=30)
  with pytest.raises(suggest.SuggestError, match="--count 31 is larger than the 30 unlabeled"):
    suggest.suggest(iter(batches), score, CLASSES, 31, "margin")
  with pytest.raises(suggest.SuggestError, match="--strategy 'smart' must be one of"):
    suggest.suggest(iter(batches), score, CLASSES, 3, "smart")


def test_suggest_on_a_run_dir_without_a_run_says_so_and_writes_nothing(tmp_path):
  with pytest.raises(suggest.SuggestError, match="holds no run .no metadata.sqlite.: run"):
    suggest.run(str(tmp_path), "fewlabels", 5, "margin", str(tmp_path / "to"))
  assert list(tmp_path.iterdir()) == []


def test_the_label_page_labels_with_keys_and_exports_the_csv(tmp_path):
  names = ["cat", "dog, big", 'say "hi"'] + [f"class {i}" for i in range(3, 12)]
  rng = np.random.default_rng(0)
  rows = [{"example_id": 10 + i, "source_file": f"unlabeled/p{i}.png", "predicted_class": "cat",
           "confidence": "0.41"} for i in range(6)]
  pictures = [np.zeros((28, 28), np.uint8) for _ in rows]
  for picture in pictures:  # light ink on dark, as drawings are
    picture[rng.integers(4, 24), 4:24] = 255
  page = label_page.render(rows, pictures, names)
  # Keys as a person would press them: 2 for the first, skip the second, 3 for the third, go
  # back and give the second class 1, then a click on the last button of the fifth card.
  presses = ["2", " ", "3", "ArrowLeft", "ArrowLeft", "1"]
  script = ("<script>" + "".join(
      f'document.dispatchEvent(new KeyboardEvent("keydown", {{key: "{k}"}}));' for k in presses)
      + 'document.querySelectorAll(".card")[4].querySelectorAll("button.class")[11].click();'
      + 'const out = document.createElement("pre"); out.id = "exported";'
      + 'out.textContent = exportCsv(); document.body.appendChild(out);</script>')
  tested = tmp_path / "label_tested.html"
  tested.write_text(page.replace("</body>", script + "</body>"), encoding="utf-8")
  dom = browser.dom(tested, tmp_path / "profile")
  exported = dom.split('<pre id="exported">')[1].split("</pre>")[0]
  import html
  lines = list(csv.reader(html.unescape(exported).splitlines()))
  assert lines == [["example_id", "class_name"], ["10", "dog, big"], ["11", "cat"],
                   ["12", 'say "hi"'], ["14", "class 11"]]
  assert "4 labeled" in dom and "of 6" in dom
  (tmp_path / "label.html").write_text(page, encoding="utf-8")
  shot = browser.screenshot(tmp_path / "label.html", tmp_path / "label.png",
                            tmp_path / "profile", height=900)
  assert (shot.max(axis=2) < 0.05).sum() > 6 * 112 * 112 * 0.3  # the six dark drawings show


@pytest.mark.parametrize("content,fragment", [
    (None, "no such file"),
    ("", "the file is empty"),
    ("example_id,class_name\n", "no labels in the file"),
    ("id,label\n3,cat\n", "no column 'example_id'"),
    ("example_id,class_name\nseven,cat\n", "line 2: example id 'seven' is not"),
    ("example_id,class_name\n3,cat\n3,dog\n", "line 3: example 3 is labeled twice, 'cat' and 'dog'"),
    ("example_id,class_name\n3,\n", "line 2: example 3 has no class name"),
])
def test_a_bad_labels_file_is_one_line_naming_it(tmp_path, content, fragment):
  path = tmp_path / "labels.csv"
  if content is not None:
    path.write_text(content, encoding="utf-8")
  with pytest.raises(DataSourceError) as error:
    extra_labels.read(str(path))
  assert fragment in str(error.value) and "\n" not in str(error.value)
  assert str(path) in str(error.value)


def _labels_file(tmp_path, rows, name="labels.csv"):
  path = tmp_path / name
  path.write_text("example_id,class_name\n" + "".join(f"{i},{c}\n" for i, c in rows),
                  encoding="utf-8")
  return str(path)


def test_the_labeled_examples_move_from_the_pool_with_their_classes(tfds_dir, tmp_path):
  source = tfds_source.SourceSpec(TINY_DATA, tfds_dir)
  builder = tfds_source.load_builder(source)
  before = split_plan.make_plan(builder, source, "30%", 0)
  pool = np.flatnonzero(before.train_roles == split_plan.UNLABELED)
  rows = [(int(pool[0]), "cat"), (int(pool[5]), "house"), (int(pool[9]), "cat")]
  after = split_plan.make_plan(builder, source, "30%", 0, _labels_file(tmp_path, rows))
  assert after.counts()["labeled"] == before.counts()["labeled"] + 3
  assert after.counts()["unlabeled"] == before.counts()["unlabeled"] - 3
  names = list(before.class_names)
  for example_id, name in rows:
    assert after.train_roles[example_id] == split_plan.LABELED
    assert after.train_labels[example_id] == names.index(name)
  labeled = np.flatnonzero(before.train_roles == split_plan.LABELED)
  for rows, fragment in (([(int(pool[0]), "zebra")], "class 'zebra' (example"),
                         ([(10 ** 6, "cat")], "example id 1000000 is not in the training split"),
                         ([(int(labeled[0]), "cat")], "is not in the unlabeled pool: it is "
                                                       "already labeled")):
    with pytest.raises(DataSourceError, match=re.escape(fragment)):
      split_plan.make_plan(builder, source, "30%", 0, _labels_file(tmp_path, rows, "bad.csv"))


def test_page_and_csv_are_written_whole(tmp_path):
  pool = suggest.Pool(np.array([7, 8]), np.zeros((2, 28, 28), np.uint8),
                      np.array([[0.6, 0.4], [0.2, 0.8]], np.float32), np.zeros(2))
  csv_path, page_path = suggest.write(str(tmp_path), pool, [1, 0], ("a", "b"), None)
  with open(csv_path) as f:
    rows = list(csv.DictReader(f))
  assert [(r["example_id"], r["predicted_class"], r["confidence"], r["margin"]) for r in rows] == [
      ("8", "b", "0.8000", "0.6000"), ("7", "a", "0.6000", "0.2000")]
  assert pathlib.Path(page_path).read_text(encoding="utf-8").count('class="card"') == 2
  assert sorted(p.name for p in tmp_path.iterdir()) == ["label.html", "suggestions.csv"]
