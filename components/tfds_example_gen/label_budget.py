"""Which training images keep their labels: an exact, stratified, nested, seeded choice.

Every image gets a place in one fixed order per seed; a budget of B takes the first B places.
So a smaller budget's labeled set is always inside a larger one's (a sweep compares like with
like), and within the order the classes take turns in proportion to their size.
"""
import dataclasses
import re
from typing import Dict

import numpy as np

_COUNT = re.compile(r"^\d+$")
_PERCENT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)%$")


class BudgetError(ValueError):
  """A label budget that cannot be met; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class LabelBudget:
  """A count of images, or a percentage of the training images."""
  text: str

  def __post_init__(self):
    if not (_COUNT.match(self.text) or _PERCENT.match(self.text)):
      raise BudgetError(
          f"label budget {self.text!r} is not a count (e.g. 700) or a percentage (e.g. 1.5%)")
    if self.is_percent and not 0 < float(self.text[:-1]) <= 100:
      raise BudgetError(f"label budget {self.text!r} must be a percentage in (0%, 100%]")
    if not self.is_percent and int(self.text) <= 0:
      raise BudgetError(f"label budget {self.text!r} must be a positive count of images")

  @property
  def is_percent(self) -> bool:
    return self.text.endswith("%")

  def count(self, num_train: int, num_classes: int) -> int:
    """The number of labeled images for a training set of this size."""
    if self.is_percent:
      count = int(round(float(self.text[:-1]) / 100.0 * num_train))
    else:
      count = int(self.text)
    if count > num_train:
      raise BudgetError(
          f"label budget {self.text} is larger than the {num_train} training images")
    if count < num_classes:
      raise BudgetError(
          f"label budget {self.text} gives {count} labeled images, fewer than the "
          f"{num_classes} classes: every class needs at least one label")
    return count


def labeling_order(labels: np.ndarray, seed: int) -> np.ndarray:
  """Indices of all images in the order they receive labels as the budget grows."""
  labels = np.asarray(labels)
  shuffled = np.random.default_rng(seed).permutation(len(labels))
  rank = np.empty(len(labels), dtype=np.float64)
  position = np.zeros(len(labels), dtype=np.float64)
  for cls in np.unique(labels):
    members = shuffled[labels[shuffled] == cls]
    rank[members] = np.arange(len(members))
    # Midpoint of the image's share of its class: classes advance in proportion to size.
    position[members] = (np.arange(len(members)) + 0.5) / len(members)
  # Every class's first image comes before anything else, so no class is left without a label
  # as long as the budget covers the number of classes.
  position[rank == 0] = -1.0
  return np.lexsort((labels, position))


def select_labeled(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
  """Boolean mask of the `count` images that keep their labels."""
  mask = np.zeros(len(labels), dtype=bool)
  mask[labeling_order(labels, seed)[:count]] = True
  return mask


def per_class_counts(labels: np.ndarray, mask: np.ndarray) -> Dict[int, int]:
  values, counts = np.unique(np.asarray(labels)[mask], return_counts=True)
  return {int(v): int(c) for v, c in zip(values, counts)}
