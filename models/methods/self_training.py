"""The research method's self-training: rounds of train -> pseudo-label the most confident
predictions of a window of the pool -> train again (rules in models/self_training.py)."""
import dataclasses
import os
from typing import Optional

from models import methods
from models.config import require


@dataclasses.dataclass(frozen=True)
class SelfTrainingConfig:
  """Rounds of pseudo-labels. The seed's values are the defaults but max_rounds (it had none)."""
  window: int = 50_000  # unlabeled images predicted per round, refilled from the pool
  min_pool: int = 5_000  # stop when fewer unlabeled images than this are left
  max_accuracy_drop: float = 0.10  # stop when validation accuracy falls this far below round 1
  max_rounds: int = 5  # 0: until a stop rule fires (the seed's setting)
  per_class: int = 0  # pseudo-labels per class and round; 0: the seed's rule (see self_training)

  def __post_init__(self):
    require(isinstance(self.window, int) and self.window > 0,
             f"self_training window {self.window!r} must be a positive integer")
    for name in ("min_pool", "max_rounds", "per_class"):
      value = getattr(self, name)
      require(isinstance(value, int) and value >= 0,
               f"self_training {name} {value!r} must be an integer >= 0")
    require(0.0 < self.max_accuracy_drop <= 1.0,
             f"self_training max_accuracy_drop {self.max_accuracy_drop!r} must be in (0, 1]")


def train(request: methods.TrainRequest) -> methods.Trained:
  # TensorFlow: see models/methods/__init__.py
  from models import classifier, self_training, weights
  labeled, validation = classifier.labeled_parts(request.labeled, request.training)
  histories = {}

  def train_round(round_labeled, number: int):
    # Every round starts afresh (from the pre-trained encoder for the proposed method).
    model = request.build_model()
    initial = weights.fingerprints(model)
    histories[number] = dict(
        classifier.train_classifier(model, round_labeled, validation, request.training,
                                    os.path.join(request.log_dir, f"round_{number}"),
                                    request.strategy, stage=f"self-training round {number}"),
        initial_fingerprints=initial)
    return model

  outcome = self_training.run_rounds(
      train_round, lambda model: classifier.accuracy(model, validation),
      classifier.predict_probabilities, labeled,
      request.pool.chunks(request.settings.window, request.training.seed,
                          request.training.shuffle_buffer),
      len(request.pool), request.settings, request.num_classes)
  if request.true_labels is not None:
    self_training.score_pseudo_labels(outcome, request.true_labels)
  history = dict(histories[outcome.best_round], self_training={
      "best_round": outcome.best_round, "stop_reason": outcome.stop_reason,
      "rounds": [dataclasses.asdict(r) for r in outcome.rounds]},
                 pool_labels_known=request.true_labels is not None)
  return methods.Trained(outcome.best_model, history)


def report(history: dict) -> Optional[methods.ReportSection]:
  """Per round: labels, pool left, pseudo-labels added per class, validation accuracy."""
  rounds = history.get("self_training", {}).get("rounds")
  if not rounds:
    return None
  scored = history.get("pool_labels_known", True)
  best = history["self_training"]
  return methods.ReportSection(
      "Self-training",
      (f"Stopped: {best['stop_reason']}; kept round {best['best_round']} (best validation "
       "accuracy).",),
      ("round", "labels", "pool left", "added", "validation accuracy",
       "pseudo-label accuracy (diagnostic)"),
      tuple((r["round"], r["num_labeled"], r["pool"], sum(r["added_per_class"]),
             r["validation_accuracy"],
             r["pseudo_label_accuracy"] if scored else methods.NO_POOL_LABELS) for r in rounds),
      bars=tuple(tuple(r["added_per_class"]) for r in rounds),
      bars_x=tuple(r["round"] for r in rounds), x_label="round", y_label="pseudo-labels added",
      line=tuple(r["validation_accuracy"] for r in rounds), line_label="validation accuracy")


SPEC = methods.MethodSpec(
    name="self_training", description="rounds of confident pseudo-labels from the pool",
    uses_unlabeled=True, needs_encoder=False, train=train,
    settings=SelfTrainingConfig, needs_validation=True, report=report)
