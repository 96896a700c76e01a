"""Self-training's rules: which pseudo-labels join, how many, and when the rounds stop."""
import numpy as np
import pytest

from models import input_fn
from models import self_training
from models.methods.self_training import SelfTrainingConfig
from sources import features


@pytest.mark.parametrize("num_labeled,expected", [
    (5, 1), (99, 1), (100, 10), (999, 10), (1_000, 100), (23_310, 1_000), (99_999, 1_000),
    (100_000, 2_000), (116_690, 2_000)])
def test_pseudo_labels_per_class_follows_the_seed_rule(num_labeled, expected):
  assert self_training.pseudo_labels_per_class(num_labeled) == expected


def test_a_configured_count_overrides_the_rule():
  assert self_training.pseudo_labels_per_class(100_000, override=7) == 7


def test_selection_takes_each_class_most_confident_once():
  rng = np.random.default_rng(0)
  probabilities = rng.dirichlet(np.ones(4), size=200)
  positions, labels = self_training.select_pseudo_labels(probabilities, per_class=5)
  assert len(set(positions.tolist())) == len(positions)  # no image twice
  predicted, confidence = probabilities.argmax(1), probabilities.max(1)
  assert (labels == predicted[positions]).all()
  for cls in range(4):
    members = np.flatnonzero(predicted == cls)
    chosen = positions[labels == cls]
    assert len(chosen) == min(5, len(members))
    # Nothing left behind in this class is more confident than what was chosen.
    rest = np.setdiff1d(members, chosen)
    assert confidence[chosen].min() >= confidence[rest].max()


def test_a_class_with_fewer_predictions_than_n_gives_what_it_has():
  probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6]])
  positions, labels = self_training.select_pseudo_labels(probabilities, per_class=2)
  assert sorted(zip(positions.tolist(), labels.tolist())) == [(0, 0), (1, 0), (3, 1)]


def _examples(n, labeled: bool, start=0):
  ids = np.arange(start, start + n, dtype=np.int64)
  labels = ids % 3 if labeled else np.full(n, features.NO_LABEL)
  return input_fn.Examples(np.zeros((n, 28, 28), np.uint8), labels.astype(np.int64), ids)


class _Fake:
  """Stands in for training: records what each round trained on; scripted accuracies."""

  def __init__(self, accuracies):
    self.accuracies, self.trained_on, self.windows = list(accuracies), [], []

  def train_round(self, labeled, number):
    self.trained_on.append(labeled)
    return number  # the "model" is the round number

  def accuracy(self, model):
    return self.accuracies[model - 1]

  def predict(self, model, window):
    self.windows.append(window.ids)
    # Confidence grows with the id, class = id % 3: selection order is fully determined.
    probabilities = np.full((len(window), 3), 0.0)
    probabilities[np.arange(len(window)), window.ids % 3] = window.ids / 1e4
    return probabilities


_ORDER = np.random.default_rng(0).permutation(600)  # the pool's refill order in these tests


def _chunks(pool, size=37):
  """The pool streamed in _ORDER, in chunks of a size that is no window's."""
  for start in range(0, len(pool), size):
    yield pool.subset(_ORDER[start:start + size])


def _run(accuracies, **config):
  fake = _Fake(accuracies)
  labeled, pool = _examples(30, True), _examples(600, False, start=1000)
  outcome = self_training.run_rounds(
      fake.train_round, fake.accuracy, fake.predict, labeled, _chunks(pool), len(pool),
      SelfTrainingConfig(**config), num_classes=3)
  return fake, outcome


def test_rounds_add_n_per_class_from_the_window_only_and_never_twice():
  fake, outcome = _run([0.5] * 4, window=100, min_pool=0, max_rounds=4)
  assert outcome.stop_reason == self_training.STOP_MAX_ROUNDS and len(outcome.rounds) == 4
  all_ids = np.concatenate(outcome.added_ids)
  assert len(set(all_ids.tolist())) == len(all_ids)
  assert set(all_ids.tolist()) <= set(range(1000, 1600))  # only the pool, never anything else
  for number, (ids, labels) in enumerate(zip(outcome.added_ids, outcome.added_labels), start=2):
    per_class = self_training.pseudo_labels_per_class(len(fake.trained_on[number - 2]))
    assert np.bincount(labels, minlength=3).tolist() == [per_class] * 3
    assert outcome.rounds[number - 1].added_per_class == [per_class] * 3
    assert (labels == ids % 3).all()
  # Round 2 trained on round 1's labels plus exactly what was added.
  assert len(fake.trained_on[1]) == 30 + len(outcome.added_ids[0])
  assert [r.pool for r in outcome.rounds] == [600 - sum(map(len, outcome.added_ids[:i]))
                                              for i in range(4)]


def test_the_window_is_a_part_of_the_pool_refilled_in_order():
  fake, outcome = _run([0.5] * 3, window=50, min_pool=0, max_rounds=3)
  first = _ORDER[:50] + 1000
  assert np.array_equal(fake.windows[0], first)
  # The next window: the first one's images not picked, then the pool's next in order.
  kept = first[~np.isin(first, outcome.added_ids[0])]
  assert np.array_equal(fake.windows[1], np.concatenate([kept, _ORDER[50:53] + 1000]))


def test_stops_when_the_pool_falls_below_min_pool():
  _, outcome = _run([0.5] * 50, window=600, min_pool=597, max_rounds=0)
  # Round 1 adds 3 pseudo-labels (1 per class, 30 labels): 597 left, round 2 adds 3 more.
  assert outcome.stop_reason == self_training.STOP_POOL
  assert [r.pool for r in outcome.rounds] == [600, 597, 594]


def test_stops_when_validation_accuracy_falls_by_max_drop_and_keeps_the_best_round():
  _, outcome = _run([0.60, 0.70, 0.55, 0.49, 0.9], window=100, min_pool=0, max_rounds=0,
                    max_accuracy_drop=0.10)
  assert outcome.stop_reason == self_training.STOP_ACCURACY
  assert len(outcome.rounds) == 4  # 0.49 < 0.60 - 0.10
  assert outcome.best_round == 2 and outcome.best_model == 2


def test_pseudo_label_accuracy_is_scored_after_the_fact():
  _, outcome = _run([0.5] * 3, window=100, min_pool=0, max_rounds=3)
  assert all(r.pseudo_label_accuracy is None for r in outcome.rounds)
  # The true labels by example id (the pool's ids are 1000 to 1599).
  self_training.score_pseudo_labels(outcome, np.arange(1600) % 3)
  assert [r.pseudo_label_accuracy for r in outcome.rounds] == [None, 1.0, 1.0]
  self_training.score_pseudo_labels(outcome, np.zeros(1600, np.int64))
  assert 0 < outcome.rounds[1].pseudo_label_accuracy < 1
  # Ids beyond the table (pictures of another source mixed in) have no true label.
  self_training.score_pseudo_labels(outcome, np.arange(1000) % 3)
  assert outcome.rounds[1].pseudo_label_accuracy == 0.0
