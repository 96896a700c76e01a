"""Which split every source image goes to: labeled, unlabeled, test, or dropped.

Decided from the labels alone, before any image is read: an optional class filter (labels are
renumbered in the filter's order), an optional test hold-out carved per class from the
training split (for data sets such as `quickdraw_bitmap` that have no test split), and the
label budget.
"""
import dataclasses
import re
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow_datasets as tfds

from sources import extra_labels as extra_labels_lib
from sources import features
from sources import label_budget
from sources import split_order
from sources import splits
from sources import tfds_source
from sources.errors import DataSourceError

DROP = -1  # a role for images of classes outside the filter
DROPPED_LABEL = -2  # their label after the class filter (-1 is NO_LABEL: came without a label)
# Roles are indices into splits.SPLITS.
LABELED = splits.SPLITS.index(splits.LABELED_SPLIT)
UNLABELED = splits.SPLITS.index(splits.UNLABELED_SPLIT)
TEST = splits.SPLITS.index(splits.TEST_SPLIT)
_HOLDOUT = re.compile(r"^holdout:(\d+)$")
_LABEL_READ_BATCH = 8192


def holdout_per_class(test_split: str) -> Optional[int]:
  """N for a test split given as `holdout:N` (N test images per class from the train split)."""
  match = _HOLDOUT.match(test_split)
  return int(match.group(1)) if match else None


@dataclasses.dataclass
class SplitPlan:
  class_names: Tuple[str, ...]
  label_map: np.ndarray  # source label -> output label, DROPPED_LABEL for filtered-out classes
  train_roles: np.ndarray  # per image of the source train split: LABELED, UNLABELED, TEST, DROP
  test_roles: Optional[np.ndarray]  # per image of the source test split; None with a hold-out
  train_labels: np.ndarray  # output labels of the train split (DROPPED_LABEL, NO_LABEL)
  budget_note: str = ""  # label_budget.uneven_note: the budget could not be balanced
  image_shape: Tuple[int, int, int] = features.DRAWING_SHAPE  # the pictures', from the source

  def count(self, role: int) -> int:
    total = int((self.train_roles == role).sum())
    if self.test_roles is not None:
      total += int((self.test_roles == role).sum())
    return total

  def counts(self) -> Dict[str, int]:
    """Images per output split, by split name."""
    return {name: self.count(role) for role, name in enumerate(splits.SPLITS)}

  def labeled_per_class(self):
    return label_budget.per_class_counts(self.train_labels, self.train_roles == LABELED)

  def pool_labels(self) -> np.ndarray:
    """Labels of the images a label budget chooses from: all labeled training images not held
    out (pictures that came without a label are never chosen)."""
    return self.train_labels[np.isin(self.train_roles, (LABELED, UNLABELED))
                             & (self.train_labels != features.NO_LABEL)]

  def has_unlabeled_source(self) -> bool:
    """Whether some training pictures came without a label (no true labels to score against)."""
    return bool((self.train_labels == features.NO_LABEL).any())


def budget_count(pool_labels: np.ndarray, budget_text: str, class_names: Sequence[str]) -> int:
  """The number of labeled images `budget_text` gives this pool; BudgetError if impossible."""
  return label_budget.LabelBudget(budget_text).count(len(pool_labels), len(class_names))


def read_labels(builder: tfds.core.DatasetBuilder, split: str) -> np.ndarray:
  """All labels of a split in file order, without decoding the images."""
  image_key, label_key = builder.info.supervised_keys
  ds = split_order.read(builder, split, decoders={image_key: tfds.decode.SkipDecoding()})
  ds = ds.map(lambda ex: ex[label_key]).batch(_LABEL_READ_BATCH)
  return np.concatenate([batch for batch in tfds.as_numpy(ds)] or [np.zeros(0, np.int64)])


def label_map(source_names: Sequence[str], classes: Optional[Sequence[str]]) -> np.ndarray:
  if not classes:
    return np.arange(len(source_names))
  mapping = np.full(len(source_names), DROPPED_LABEL)
  for new, name in enumerate(classes):
    if name not in source_names:
      raise DataSourceError(f"class {name!r} is not in the data set's {len(source_names)} classes")
    mapping[list(source_names).index(name)] = new
  return mapping


def first_per_class(labels: np.ndarray, per_class: int, num_classes: int) -> np.ndarray:
  """Mask of the first `per_class` images of each class, in file order."""
  mask = np.zeros(len(labels), dtype=bool)
  for cls in range(num_classes):
    members = np.flatnonzero(labels == cls)
    if len(members) <= per_class:
      raise DataSourceError(f"test hold-out of {per_class} per class leaves no training images "
                            f"of class {cls} ({len(members)} in all)")
    mask[members[:per_class]] = True
  return mask


def _train_labels(builder: tfds.core.DatasetBuilder,
                  source: tfds_source.SourceSpec) -> Tuple[np.ndarray, Tuple[str, ...], np.ndarray]:
  """(label map, output class names, output labels of the training split by id); pictures that
  came without a label (an image folder's unlabeled/) keep NO_LABEL."""
  source_names = tfds_source.builder_class_names(builder, source.dataset)
  mapping = label_map(source_names, source.classes)
  names = tuple(source.classes) if source.classes else tuple(source_names)
  raw = read_labels(builder, source.train_split)
  return mapping, names, np.where(raw == features.NO_LABEL, features.NO_LABEL,
                                  mapping[np.maximum(raw, 0)])


def output_train_labels(source: tfds_source.SourceSpec) -> np.ndarray:
  """The training split's labels as the examples carry them (after the class filter), by id."""
  return _train_labels(tfds_source.load_builder(source), source)[2]


def add_extra_labels(roles: np.ndarray, labels: np.ndarray, extra: Dict[int, str],
                     names: Sequence[str], path: str) -> None:
  """Moves the examples of `extra` ({id: class name}) from the unlabeled pool to labeled."""
  where = {LABELED: "already labeled", TEST: "in the test split", DROP: "of a filtered-out class"}
  for example_id, name in sorted(extra.items()):
    if name not in names:
      raise DataSourceError(f"{path}: class {name!r} (example {example_id}) is not one of the "
                            f"{len(names)} classes: {', '.join(names[:10])}"
                            f"{', ...' if len(names) > 10 else ''}")
    if example_id >= len(roles):
      raise DataSourceError(f"{path}: example id {example_id} is not in the training split "
                            f"(ids 0-{len(roles) - 1})")
    if roles[example_id] != UNLABELED:
      raise DataSourceError(f"{path}: example {example_id} is not in the unlabeled pool: it is "
                            f"{where[int(roles[example_id])]}")
    roles[example_id] = LABELED
    labels[example_id] = list(names).index(name)


def make_plan(builder: tfds.core.DatasetBuilder, source: tfds_source.SourceSpec,
              budget_text: str, seed: int, extra_labels: Optional[str] = None) -> SplitPlan:
  """The split of every image; `extra_labels`: a labels.csv whose examples move from the
  unlabeled pool to labeled, with its classes (after the budget's choice)."""
  mapping, names, labels = _train_labels(builder, source)
  unlabeled_source = labels == features.NO_LABEL  # never labeled, never held out as test
  roles = np.where(labels == DROPPED_LABEL, DROP, UNLABELED)
  holdout = holdout_per_class(source.test_split)
  test_roles = None
  if holdout is not None:
    roles[first_per_class(labels, holdout, len(names))] = TEST
  else:
    test_labels = mapping[read_labels(builder, source.test_split)]
    test_roles = np.where(test_labels == DROPPED_LABEL, DROP, TEST)
  pool = np.flatnonzero((roles == UNLABELED) & ~unlabeled_source)
  count = budget_count(labels[pool], budget_text, names)
  roles[pool[label_budget.select_labeled(labels[pool], count, seed)]] = LABELED
  if extra_labels:
    add_extra_labels(roles, labels, extra_labels_lib.read(extra_labels), names, extra_labels)
  plan = SplitPlan(names, mapping, roles, test_roles, labels,
                   label_budget.uneven_note(labels[pool], count, names),
                   tfds_source.image_shape(builder))
  if not plan.count(TEST):
    raise DataSourceError(f"the test split {source.test_split!r} of {source.dataset} holds no "
                          "image of the chosen classes: the Evaluator needs test images")
  return plan
