"""Learning methods by name: one module each, exporting SPEC (a `MethodSpec`).

Adding a method is one new module here (a SPEC whose `train` takes a `TrainRequest`), plus its
test: the pipeline, `fewlabels workers`, the CLI, the sweep, the benchmark and the report read
the specs. `train(name, request)` checks the request against the spec and trains.

A method module imports TensorFlow-backed code inside `train`, never at its top, and keeps its
settings class beside it, free of TensorFlow: the CLI reads every SPEC to check a command line before
TensorFlow loads, so that a mistake is answered in about a second (a test holds this).
"""
from __future__ import annotations

import dataclasses
from typing import (TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Sequence, Tuple,
                    Type)

from models import architectures
from models import config as config_lib
from models import registry

if TYPE_CHECKING:
  import numpy as np
  import tensorflow as tf

  from models import input_fn


# The research method's four (METHOD.md), kept faithful: the baseline the others are compared to.
RESEARCH = ("supervised", "layerwise", "self_training", "self_training_layerwise")


class MethodError(ValueError):
  """A method that cannot train on what it was given; one line naming both."""


@dataclasses.dataclass(frozen=True)
class NoSettings:
  """For the methods that have no settings of their own."""


@dataclasses.dataclass
class TrainRequest:
  """Everything a method trains from; the same on every worker of a multi-worker run."""
  labeled: input_fn.Examples  # the labeled split, in memory (small by nature)
  build_model: Callable[[], tf.keras.Model]  # a fresh classifier in the strategy's scope (from
  # the pre-trained encoder for the methods that need one)
  training: config_lib.TrainingConfig
  settings: Any  # the method's own config dataclass
  num_classes: int
  log_dir: str
  strategy: tf.distribute.Strategy
  # The unlabeled pool as a stream (never held whole); empty for the methods that do not read it.
  pool: input_fn.Pool
  # The true label of each example id (input_fn.true_labels_of), for diagnostics only (how
  # right pseudo-labels were); None when the pool has no true labels. Never used for a decision.
  true_labels: Optional["np.ndarray"] = None
  # A trained classifier of the same architecture to start from instead of training a warm
  # start: the supervised reference's (methods whose spec takes_reference_warm_start).
  warm_start: Optional[tf.keras.Model] = None
  # Keras callbacks for the method's pool stage (benchmarks: test accuracy over time, for a
  # figure only); never a decision.
  callbacks: Sequence[tf.keras.callbacks.Callback] = ()


@dataclasses.dataclass
class Trained:
  model: tf.keras.Model
  history: Dict[str, Any]  # written to the Trainer's history.json; shown in the report


NO_POOL_LABELS = "no labels"  # a diagnostic the pool's missing labels cannot give


@dataclasses.dataclass(frozen=True)
class ReportSection:
  """What a method shows of its own training in the run's report, as data that the report
  draws (models never import the report): plain-text paragraphs, a table (None: "n/a", an int
  with thousands separators, a float to 4 digits, text as it is) and a figure of counts per
  class at each step (`bars[step][class]`), stacked, with an optional line on its own axis."""
  title: str
  paragraphs: Tuple[str, ...] = ()
  columns: Tuple[str, ...] = ()
  rows: Tuple[Tuple[Any, ...], ...] = ()
  bars: Tuple[Tuple[float, ...], ...] = ()
  bars_x: Tuple[int, ...] = ()  # each step's number
  x_label: str = ""
  y_label: str = ""
  line: Tuple[float, ...] = ()
  line_label: str = ""


@dataclasses.dataclass(frozen=True)
class MethodSpec:
  name: str
  description: str  # one line, for --help and the report
  uses_unlabeled: bool  # reads the unlabeled split
  needs_encoder: bool  # starts from the pre-training component's encoder
  train: Callable[[TrainRequest], Trained]
  settings: Type[Any] = NoSettings  # its own config dataclass
  needs_validation: bool = False  # decides on a validation part of the labeled split
  architectures: Tuple[str, ...] = ()  # the architectures it can train; empty: every one
  # Its warm start is the supervised fit that the run's ReferenceTrainer makes: with a
  # reference in the run, the Trainer starts from the reference's classifier instead
  # (TrainRequest.warm_start) and trains one supervised fit fewer.
  takes_reference_warm_start: bool = False
  # Its section of the run's report, from the history.json its `train` wrote (None: nothing
  # beyond the training curves every method gets).
  report: Optional[Callable[[Dict[str, Any]], Optional[ReportSection]]] = None


_SPECS = registry.load(__name__, __path__)


def register(spec: MethodSpec) -> None:
  """Adds a method from outside this folder (tests, plug-ins)."""
  _SPECS[spec.name] = spec


def names() -> Tuple[str, ...]:
  return tuple(sorted(_SPECS))


def get(name: str) -> MethodSpec:
  return registry.lookup(_SPECS, "method", name)


def settings(name: str, values: Mapping[str, Any]) -> Any:
  """The method's config dataclass from {field: value}; an unknown field is a one-line error."""
  return config_lib.from_dict(get(name).settings, values, f"method {name!r}")


def starts_from_reference(name: str, settings: Any) -> bool:
  """Whether the method, with these settings, starts from the supervised reference's
  classifier when the run trains one (its warm start is that very fit)."""
  return get(name).takes_reference_warm_start and bool(getattr(settings, "warm_start", False))


def check(name: str, model: config_lib.ModelConfig, training: config_lib.TrainingConfig) -> None:
  """A method x architecture x training combination that cannot work: one line naming it."""
  spec = get(name)
  architectures.check(model)  # one that exists, with settings it has, for these pictures
  config_lib.require(not spec.architectures or model.architecture in spec.architectures,
                     f"method {name!r} does not train architecture {model.architecture!r}: "
                     f"it trains {', '.join(spec.architectures)}")
  config_lib.require(not spec.needs_encoder or architectures.get(model.architecture).pretexts,
                     f"method {name!r} starts from an encoder that a pretext pre-trains, and "
                     f"architecture {model.architecture!r} has no pretext: use a method that "
                     f"does not ({', '.join(n for n in names() if not get(n).needs_encoder)})")
  config_lib.require(not spec.needs_validation or training.validation_fraction > 0,
                     f"method {name!r} decides on a validation part of the labeled split: "
                     f"training validation_fraction {training.validation_fraction!r} must be > 0")


def train(name: str, request: TrainRequest, has_encoder: bool = False) -> Trained:
  from models import input_fn  # TensorFlow: see the module's docstring
  spec = get(name)
  if spec.needs_encoder != has_encoder:
    raise MethodError(f"method {name!r} {'needs' if spec.needs_encoder else 'takes no'} "
                      "pre-trained base model")
  if spec.uses_unlabeled and len(request.pool) == 0:
    raise MethodError(f"method {name!r} learns from the unlabeled split, which is empty: use a "
                      "label budget below 100% or the method 'supervised'")
  # "auto" is decided once, on the labels people gave: self-training's pseudo-labels do not
  # switch a round to balanced batches.
  balanced = input_fn.balances_classes(request.training, request.labeled.labels)
  resolved = config_lib.BALANCED_BATCHES if balanced else config_lib.UNBALANCED
  request = dataclasses.replace(request, training=dataclasses.replace(
      request.training, class_balance=resolved))
  trained = spec.train(request)
  trained.history["method"] = name
  trained.history["class_balanced"] = balanced
  return trained
