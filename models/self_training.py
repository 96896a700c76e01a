"""Self-training: rounds of train -> predict a window of the pool -> add confident pseudo-labels.

The research method's rules (METHOD.md), except that every decision reads a validation part
of the labeled split, never the test split:
- per class, the N most confident predictions of the window join the labeled set, where
  N = 10^(floor(log10(n_labeled)) - 1), at most 2,000 (the seed's value in the 10^5 range);
- the window is refilled from the pool in a fixed seeded order (streamed: only the window is
  held);
- stop when fewer than `min_pool` unlabeled images are left, when validation accuracy falls
  `max_accuracy_drop` below the first round's, or after `max_rounds`;
- the round with the best validation accuracy is the model kept.
"""
import dataclasses
import math
import time
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from models import input_fn
from models import progress
from models.methods import self_training as self_training_method

MAX_PER_CLASS = 2_000  # the seed's N from 100,000 labels up, in place of 10,000

# Why the rounds ended.
STOP_MAX_ROUNDS = "max_rounds reached"
STOP_POOL = "pool below min_pool"
STOP_ACCURACY = "validation accuracy fell below the first round's by max_accuracy_drop"
STOP_NOTHING_ADDED = "no pseudo-label left to add"


def pseudo_labels_per_class(num_labeled: int, override: int = 0) -> int:
  """N: how many pseudo-labels each class gains in a round with `num_labeled` labels."""
  if override:
    return override
  if num_labeled < 1:
    return 1
  return max(1, min(10 ** (int(math.floor(math.log10(num_labeled))) - 1), MAX_PER_CLASS))


def select_pseudo_labels(probabilities: np.ndarray, per_class: int) -> Tuple[np.ndarray, np.ndarray]:
  """(positions, predicted labels) of each class's `per_class` most confident predictions.

  Every position is predicted as exactly one class, so none is selected twice.
  """
  predicted = probabilities.argmax(axis=1)
  confidence = probabilities.max(axis=1)
  positions = []
  for cls in range(probabilities.shape[1]):
    members = np.flatnonzero(predicted == cls)
    # Stable: among equal confidences the earlier position wins, so reruns agree.
    positions.append(members[np.argsort(-confidence[members], kind="stable")[:per_class]])
  chosen = np.concatenate(positions).astype(np.int64)
  return chosen, predicted[chosen]


@dataclasses.dataclass
class Round:
  round: int  # 1 is the labeled split alone
  num_labeled: int  # training labels this round: true ones plus pseudo-labels
  pool: int  # unlabeled images not yet pseudo-labeled
  added_per_class: List[int]  # pseudo-labels added before this round's training
  validation_accuracy: float
  # Diagnostics only, after the fact: how many of this round's new pseudo-labels are right.
  pseudo_label_accuracy: Optional[float] = None
  seconds: float = 0.0


@dataclasses.dataclass
class Outcome:
  best_model: tf.keras.Model
  best_round: int
  rounds: List[Round]
  stop_reason: str
  added_ids: List[np.ndarray]  # per round, the source ids of the images pseudo-labeled
  added_labels: List[np.ndarray]  # per round, their pseudo-labels


def run_rounds(train_round: Callable[[input_fn.Examples, int], tf.keras.Model],
               accuracy: Callable[[tf.keras.Model], float],
               predict: Callable[[tf.keras.Model, input_fn.Examples], np.ndarray],
               labeled: input_fn.Examples, pool: Iterator[input_fn.Examples], pool_size: int,
               config: self_training_method.SelfTrainingConfig, num_classes: int) -> Outcome:
  """Self-training over a pool of `pool_size` images that `pool` yields in its refill order
  (chunks of any size); only the current window is held. train_round(examples, round)
  returns a model trained on them."""
  stream = _Stream(pool)
  window = input_fn.Examples.empty()  # the images predicted next: the last window's unpicked
  left = pool_size  # images not yet pseudo-labeled, the window's included
  rounds, added_ids, added_labels = [], [], []
  best_model, best_round, best_accuracy = None, 0, -1.0
  added_per_class = [0] * num_classes
  stop_reason, number = STOP_MAX_ROUNDS, 1
  while True:
    started = time.monotonic()
    model = train_round(labeled, number)
    record = Round(number, len(labeled), left, added_per_class, float(accuracy(model)))
    record.seconds = time.monotonic() - started
    rounds.append(record)
    progress.log.info("self-training round %d: %d labels (%s added per class), pool %d, "
                      "validation accuracy %.4f (%.0f s)", number, record.num_labeled,
                      added_per_class, record.pool, record.validation_accuracy, record.seconds)
    if record.validation_accuracy > best_accuracy:
      best_model, best_round, best_accuracy = model, number, record.validation_accuracy
    if record.validation_accuracy < rounds[0].validation_accuracy - config.max_accuracy_drop:
      stop_reason = STOP_ACCURACY
      break
    if config.max_rounds and number >= config.max_rounds:
      stop_reason = STOP_MAX_ROUNDS
      break
    if left < config.min_pool:
      stop_reason = STOP_POOL
      break
    window = input_fn.concatenate([window, stream.take(config.window - len(window))])
    per_class = pseudo_labels_per_class(len(labeled), config.per_class)
    chosen, labels = select_pseudo_labels(predict(model, window), per_class)
    if len(chosen) == 0:
      stop_reason = STOP_NOTHING_ADDED
      break
    new = window.subset(chosen)
    new.labels = labels.astype(np.int64)
    labeled = input_fn.concatenate([labeled, new])
    added_ids.append(new.ids)
    added_labels.append(new.labels)
    added_per_class = np.bincount(labels, minlength=num_classes).tolist()
    kept = np.ones(len(window), bool)
    kept[chosen] = False
    window = window.subset(kept)  # keeps the order, so the window refills from the pool
    left -= len(chosen)
    number += 1
  progress.log.info("self-training stopped after round %d: %s; keeping round %d (validation "
                    "accuracy %.4f)", number, stop_reason, best_round, best_accuracy)
  return Outcome(best_model, best_round, rounds, stop_reason, added_ids, added_labels)


class _Stream:
  """An iterator of Examples chunks, taken from in any amount."""

  def __init__(self, chunks: Iterator[input_fn.Examples]):
    self._chunks, self._rest = chunks, input_fn.Examples.empty()

  def take(self, count: int) -> input_fn.Examples:
    parts, have = [self._rest], len(self._rest)
    while have < count:
      chunk = next(self._chunks, None)
      if chunk is None:
        break
      parts.append(chunk)
      have += len(chunk)
    joined = input_fn.concatenate(parts)
    first = np.arange(len(joined)) < count
    self._rest = joined.subset(~first)  # first in line next time
    return joined.subset(first)


def score_pseudo_labels(outcome: Outcome, true_labels: np.ndarray) -> None:
  """Fills each round's pseudo_label_accuracy from the true labels of the pool (by example id,
  input_fn.true_labels_of), after the fact."""
  for record, ids, labels in zip(outcome.rounds[1:], outcome.added_ids, outcome.added_labels):
    record.pseudo_label_accuracy = float(
        (input_fn.true_labels_of(true_labels, ids) == labels).mean())
