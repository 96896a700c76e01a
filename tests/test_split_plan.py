"""The split plan on a real (tiny, generated) data set: class filter, test hold-out, budget."""
import numpy as np
import pytest

from sources import split_plan
from sources import tfds_source
from sources.errors import DataSourceError
from tests.conftest import TINY_DATA


@pytest.fixture(scope="module")
def builder(tfds_dir):
  return tfds_source.load_builder(tfds_source.SourceSpec(TINY_DATA, tfds_dir))


def _plan(builder, tfds_dir, budget="100", **source):
  return split_plan.make_plan(
      builder, tfds_source.SourceSpec(TINY_DATA, tfds_dir, **source), budget, seed=0)


def test_plain_plan_uses_the_test_split_and_the_exact_budget(builder, tfds_dir):
  plan = _plan(builder, tfds_dir)
  assert (plan.count(split_plan.LABELED), plan.count(split_plan.UNLABELED),
          plan.count(split_plan.TEST)) == (100, 900, 300)
  assert plan.labeled_per_class() == {c: 10 for c in range(10)}


def test_class_filter_keeps_and_renumbers_the_named_classes(builder, tfds_dir):
  plan = _plan(builder, tfds_dir, budget="20", classes=("house", "cat", "book"))
  assert plan.class_names == ("house", "cat", "book")
  source_labels = split_plan.read_labels(builder, "train")
  names = builder.info.features["label"].names
  kept = plan.train_roles != split_plan.DROP
  assert set(np.asarray(names)[source_labels[kept]]) == {"house", "cat", "book"}
  assert sorted(set(plan.train_labels[kept])) == [0, 1, 2]
  assert plan.train_labels[kept][source_labels[kept] == names.index("house")][0] == 0
  assert plan.count(split_plan.LABELED) == 20
  assert plan.count(split_plan.TEST) == 90  # 30 test doodles per class


def test_holdout_carves_the_first_images_of_each_class_from_train(builder, tfds_dir):
  plan = _plan(builder, tfds_dir, test_split="holdout:25")
  assert plan.test_roles is None
  test = plan.train_roles == split_plan.TEST
  assert np.bincount(plan.train_labels[test]).tolist() == [25] * 10
  for cls in range(10):
    members = np.flatnonzero(plan.train_labels == cls)
    assert test[members[:25]].all() and not test[members[25:]].any()
  assert not (test & (plan.train_roles == split_plan.LABELED)).any()
  assert plan.count(split_plan.UNLABELED) == 1000 - 250 - 100


def test_unknown_filter_class_is_refused(builder, tfds_dir):
  with pytest.raises(DataSourceError, match="class 'zebra' is not in the data set's 10 classes"):
    _plan(builder, tfds_dir, classes=("cat", "zebra"))



def test_a_test_split_left_empty_by_the_class_filter_is_one_line(builder, tfds_dir, monkeypatch):
  # As a data set whose test split lacks the chosen classes: every test image of another class.
  read = split_plan.read_labels
  monkeypatch.setattr(split_plan, "read_labels", lambda b, split: (
      np.where(read(b, split) == 0, 1, read(b, split)) if split == "test" else read(b, split)))
  with pytest.raises(DataSourceError, match="the test split 'test' of doodles/tiny holds no image "
                                            "of the chosen classes"):
    _plan(builder, tfds_dir, budget="5", classes=("airplane",))
