"""The Trainer's in-memory input: every labeled image once per epoch, reshuffled, whole batches."""
import numpy as np

from models import input_fn
from sources import features


def _examples(n=100, unlabeled=20):
  rng = np.random.default_rng(0)
  labels = np.concatenate([rng.integers(0, 10, n), np.full(unlabeled, features.NO_LABEL)])
  rows = np.arange(n + unlabeled, dtype=np.float32)[:, None, None] * np.ones((1, 28, 28), np.float32)
  return input_fn.Examples(rows, labels.astype(np.int64), np.arange(n + unlabeled, dtype=np.int64))


def test_each_epoch_holds_every_labeled_image_once_in_a_new_order():
  labeled = input_fn.labeled_only(_examples())
  assert len(labeled) == 100 and (labeled.labels != features.NO_LABEL).all()
  batches = input_fn.training_batches(labeled, batch_size=25, seed=1).take(8)
  epochs = [[], []]
  for step, (rows, labels) in enumerate(batches.as_numpy_iterator()):
    assert rows.shape == (25, 28, 28) and labels.shape == (25,)
    ids = rows[:, 0, 0].astype(int)
    assert (labels == labeled.labels[ids]).all()  # rows and labels stay paired
    epochs[step // 4].extend(ids.tolist())
  assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(100))
  assert epochs[0] != epochs[1]


def test_evaluation_batches_keep_order_and_the_last_partial_batch():
  labeled = input_fn.labeled_only(_examples())
  sizes = [len(l) for _, l in input_fn.evaluation_batches(labeled, 32).as_numpy_iterator()]
  assert sizes == [32, 32, 32, 4]


def test_validation_split_is_deterministic_disjoint_and_sized():
  examples = input_fn.labeled_only(_examples(n=2000, unlabeled=0))
  train, validation = input_fn.split_validation(examples, 0.2)
  again_train, _ = input_fn.split_validation(examples, 0.2)
  assert np.array_equal(train.ids, again_train.ids)
  assert not set(train.ids) & set(validation.ids)
  assert len(train) + len(validation) == 2000
  assert 300 < len(validation) < 500
