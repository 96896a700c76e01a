"""Label-budget selection: exact, stratified, nested, deterministic, and clear about bad budgets."""
import numpy as np
import pytest

from sources import label_budget as lb


@pytest.fixture
def labels():
  # 10 balanced classes plus an uneven tail, shuffled as a data set would be.
  values = np.concatenate([np.repeat(np.arange(10), 100), np.full(37, 3)])
  return np.random.default_rng(7).permutation(values)


@pytest.mark.parametrize("count", [10, 11, 99, 250, 1037])
def test_selects_exactly_the_budget(labels, count):
  assert lb.select_labeled(labels, count, seed=0).sum() == count


def test_balanced_classes_get_equal_shares(labels):
  counts = lb.per_class_counts(labels, lb.select_labeled(labels, 90, seed=1))
  assert counts == {c: 9 for c in range(10)}


def test_uneven_classes_still_get_equal_shares(labels):
  counts = lb.per_class_counts(labels, lb.select_labeled(labels, 273, seed=0))
  assert sorted(counts.values()) == [27] * 7 + [28] * 3
  assert sum(counts.values()) == 273


@pytest.fixture
def uneven():
  # Three classes of 30, 80 and 45 images, shuffled: every real folder is uneven.
  return np.random.default_rng(3).permutation(np.repeat([0, 1, 2], [30, 80, 45]))


def test_a_budget_the_short_classes_cannot_fill_takes_all_of_them_and_fills_from_the_rest(uneven):
  counts = lb.per_class_counts(uneven, lb.select_labeled(uneven, 120, seed=0))
  # An even share would be 40 each: class 0 gives its 30, the other 90 split evenly (45 / 45).
  assert counts == {0: 30, 1: 45, 2: 45}
  counts = lb.per_class_counts(uneven, lb.select_labeled(uneven, 140, seed=0))
  assert counts == {0: 30, 1: 65, 2: 45}
  assert lb.short_classes(uneven, 140) == {0: 30, 2: 45}
  assert lb.short_classes(uneven, 90) == {}  # 30 each: balanced, nothing to say
  note = lb.uneven_note(uneven, 140, ["apple", "banana", "cherry"])
  assert "'apple' 30" in note and "'cherry' 45" in note and "banana" not in note


def test_uneven_budgets_stay_nested_and_deterministic(uneven):
  previous = np.zeros(len(uneven), dtype=bool)
  for count in (3, 60, 100, 120, 150, 155):
    mask = lb.select_labeled(uneven, count, seed=4)
    assert mask.sum() == count
    assert not (previous & ~mask).any()
    assert np.array_equal(mask, lb.select_labeled(uneven, count, seed=4))
    previous = mask


def test_all_keeps_every_labeled_image_whatever_the_class_sizes(uneven):
  count = lb.LabelBudget("all").count(len(uneven), 3)
  assert count == 155 and lb.select_labeled(uneven, count, seed=0).all()
  assert "every one of the 155 labeled images" in lb.uneven_note(uneven, 155, ["a", "b", "c"])


def test_a_budget_above_every_labeled_image_is_refused(uneven):
  with pytest.raises(lb.BudgetError, match="label budget 156 is larger than the 155 training"):
    lb.LabelBudget("156").count(len(uneven), 3)


def test_every_class_labeled_at_the_smallest_budget(labels):
  counts = lb.per_class_counts(labels, lb.select_labeled(labels, 10, seed=3))
  assert counts == {c: 1 for c in range(10)}


def test_deterministic_for_a_seed_and_different_across_seeds(labels):
  a = lb.select_labeled(labels, 100, seed=5)
  assert np.array_equal(a, lb.select_labeled(labels, 100, seed=5))
  assert not np.array_equal(a, lb.select_labeled(labels, 100, seed=6))


def test_smaller_budget_is_inside_larger_one(labels):
  previous = np.zeros(len(labels), dtype=bool)
  for count in (10, 23, 100, 333, 800):
    mask = lb.select_labeled(labels, count, seed=2)
    assert not (previous & ~mask).any()
    previous = mask


@pytest.mark.parametrize("text,count", [("1%", 10), ("16.67%", 167), ("250", 250), ("100%", 1000)])
def test_budget_text_resolves_to_a_count(text, count):
  assert lb.LabelBudget(text).count(num_train=1000, num_classes=10) == count


@pytest.mark.parametrize("text,fragment", [
    ("0", "must be a positive count"),
    ("-5", "is not a count"),
    ("0%", "must be a percentage in (0%, 100%]"),
    ("150%", "must be a percentage in (0%, 100%]"),
    ("lots", "is not a count"),
])
def test_malformed_budgets_are_refused(text, fragment):
  with pytest.raises(lb.BudgetError, match=None) as error:
    lb.LabelBudget(text)
  assert fragment in str(error.value) and repr(text) in str(error.value)


def test_budget_larger_than_training_set_is_refused():
  with pytest.raises(lb.BudgetError, match="larger than the 1000 training images"):
    lb.LabelBudget("1001").count(num_train=1000, num_classes=10)


def test_budget_below_class_count_is_refused():
  with pytest.raises(lb.BudgetError, match="fewer than the 10 classes"):
    lb.LabelBudget("0.5%").count(num_train=1000, num_classes=10)


def test_paper_preset_gives_the_research_counts_at_its_scale():
  budgets = lb.expand_budgets(["paper"])
  assert len(budgets) == 18
  counts = [lb.LabelBudget(b).count(lb.PAPER_TRAIN_SIZE, 10) for b in budgets]
  assert counts == list(lb.PAPER_BUDGET_COUNTS)
  assert budgets[0] == "16.67%" and budgets[-1] == "0.33%"
  assert lb.expand_budgets(["5%", "paper", "700"])[::19] == ("5%", "700")
