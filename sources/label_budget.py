"""Which training images keep their labels: an exact, class-balanced, nested, seeded choice.

Every image gets a place in one fixed order per seed; a budget of B takes the first B places.
So a smaller budget's labeled set is always inside a larger one's (a sweep compares like with
like). In the order the classes take turns, one image each, so every class gets B / classes
labels (the first B mod classes classes of a round get one more), as the research method did.
A class with fewer images than its share drops out of the turns once it has given them all, so
on uneven data a budget takes every image of the short classes and fills the rest from the
others as evenly as they allow; `all` keeps every image, whatever the class sizes.
"""
import dataclasses
import re
from typing import Dict

import numpy as np

ALL = "all"
_COUNT = re.compile(r"^\d+$")
_PERCENT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)%$")


class BudgetError(ValueError):
  """A label budget that cannot be met; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class LabelBudget:
  """A count of images, a percentage of the training images, or `all` (every labeled image:
  the natural choice when the unlabeled pool is real, not simulated)."""
  text: str

  def __post_init__(self):
    if not (_COUNT.match(self.text) or _PERCENT.match(self.text) or self.text == ALL):
      raise BudgetError(f"label budget {self.text!r} is not a count (e.g. 700), a percentage "
                        "(e.g. 1.5%) or 'all'")
    if self.is_percent and not 0 < float(self.text[:-1]) <= 100:
      raise BudgetError(f"label budget {self.text!r} must be a percentage in (0%, 100%]")
    if _COUNT.match(self.text) and int(self.text) <= 0:
      raise BudgetError(f"label budget {self.text!r} must be a positive count of images")

  @property
  def is_percent(self) -> bool:
    return self.text.endswith("%")

  def count(self, num_train: int, num_classes: int) -> int:
    """The number of labeled images for a training set of this size."""
    if self.text == ALL:
      count = num_train
    elif self.is_percent:
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
  turn = np.empty(len(labels), dtype=np.int64)
  for cls in np.unique(labels):
    members = shuffled[labels[shuffled] == cls]
    turn[members] = np.arange(len(members))
  # Round r gives each class its r-th image; within a round classes keep their index order.
  return np.lexsort((labels, turn))


def short_classes(labels: np.ndarray, count: int) -> Dict[int, int]:
  """{class: its number of images} for the classes with fewer images than their balanced share
  of `count`: they give all their images and the others fill the rest."""
  values, sizes = np.unique(np.asarray(labels), return_counts=True)
  share = -(-count // len(values))  # ceil: the classes that get one more
  return {int(v): int(n) for v, n in zip(values, sizes) if n < share}


def uneven_note(labels: np.ndarray, count: int, class_names) -> str:
  """One line for the log and the report when the budget could not be balanced, else ''."""
  short = short_classes(labels, count)
  if not short:
    return ""
  share = -(-count // len(np.unique(labels)))
  named = ", ".join(f"{class_names[c]!r} {n}" for c, n in sorted(short.items())[:10])
  more = f" and {len(short) - 10} more" if len(short) > 10 else ""
  if count == len(labels):
    return (f"every one of the {count} labeled images is kept; the classes are uneven, below "
            f"an even share of {share}: {named}{more}")
  return (f"label budget {count}: {len(short)} of {len(class_names)} classes have fewer than "
          f"their balanced share of {share} and gave all their images ({named}{more}); the other "
          "classes filled the rest as evenly as they allow")


def select_labeled(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
  """Boolean mask of the `count` images that keep their labels."""
  mask = np.zeros(len(labels), dtype=bool)
  mask[labeling_order(labels, seed)[:count]] = True
  return mask


def per_class_counts(labels: np.ndarray, mask: np.ndarray) -> Dict[int, int]:
  values, counts = np.unique(np.asarray(labels)[mask], return_counts=True)
  return {int(v): int(c) for v, c in zip(values, counts)}


# The research method's 18 label budgets: counts of its 700,000 training images (16.67% down to
# 0.33%). As percentages they apply to a training set of any size; at 700,000 they give exactly
# these counts.
PAPER_TRAIN_SIZE = 700_000
PAPER_BUDGET_COUNTS = (116_690, 105_000, 93_310, 81_690, 70_000, 58_310, 46_690, 35_000, 23_310,
                       11_690, 10_500, 9_310, 8_190, 7_000, 5_810, 4_690, 3_500, 2_310)
PRESETS = {"paper": tuple(f"{100 * c / PAPER_TRAIN_SIZE:.2f}%" for c in PAPER_BUDGET_COUNTS)}


def expand_budgets(texts) -> tuple:
  """Budget texts with preset names (e.g. `paper`) replaced by their budgets."""
  return tuple(b for text in texts for b in PRESETS.get(text, (text,)))
