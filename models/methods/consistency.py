"""Consistency training (models/consistency.py): a weak view's confident class teaches the
strong view of the same unlabeled image, every step, alongside the labels."""
import dataclasses
import math
import os
from typing import Any, Optional, Tuple

from absl import logging

from models import config as config_lib
from models import methods
from models.config import require

OFF_TOPIC_MODES = ("off", "report", "leave_out")  # what the off-topic check does with its finds
DRAWING, PHOTO = "drawing", "photo"
AUGMENTATIONS = (config_lib.AUTO, DRAWING, PHOTO)
LR_DECAYS = ("exponential", "cosine")


@dataclasses.dataclass(frozen=True)
class ConsistencyConfig:
  """Consistency training's settings (tau, mu, lambda of FixMatch) and augmentation strengths."""
  threshold: float = 0.95  # tau: weak-view confidence a pseudo-label needs
  unlabeled_ratio: int = 7  # mu: unlabeled images per labeled image in a step
  unlabeled_weight: float = 1.0  # lambda
  # Training steps (each a labeled batch and mu times as many pool images), the same whatever
  # the pool's size: a pool 20 times larger is not 20 times slower. 4,500 is about the 30
  # passes over the 35,000-image pool that were measured (4,620 steps at 584 labels;
  # docs/RESULTS.md), so the figures measured there hold.
  steps: int = 4_500
  # Every this many steps is an "epoch": the EMA snapshot, validation, the kept-epoch rule, the
  # progress line and one row of history.json. The steps are rounded up to whole epochs.
  steps_per_epoch: int = 150
  # How the learning rate falls after the warmup: "exponential", the training section's
  # exp(-epoch / decay_epochs) (at 4,500 steps it ends at a third of the peak, at 1,500 at 70%),
  # or "cosine", FixMatch's cos(7 pi k / 16 K) over the step budget (a fifth of the peak at the
  # last step, whatever the budget).
  lr_decay: str = "exponential"
  # Per-class thresholds that adapt to the model's confidence (self-adaptive, after FreeMatch,
  # Wang et al. 2023): a moving average of the weak views' top probability, scaled per class by
  # the moving average of that class's probability over its maximum, clipped into
  # [min_threshold, threshold]; a class the model is unsure of gets more pseudo-labels. False:
  # one fixed threshold.
  adaptive_threshold: bool = False
  min_threshold: float = 0.5
  # Distribution alignment (after ReMixMatch, Berthelot et al. 2020): each weak view's
  # probabilities are multiplied by the labeled classes' share over a moving average of the
  # model's predictions on the pool, and renormalised, before the pseudo-label and its threshold
  # are taken; a class the model over-predicts loses pseudo-labels to the ones it neglects.
  distribution_alignment: bool = False
  # Of the moving averages that the adaptive thresholds and distribution alignment keep, per step.
  average_momentum: float = 0.999
  # Train supervised first (the `supervised` method's fit) and start consistency from it: from
  # scratch the pseudo-labels collapse onto one class for minutes (measured).
  warm_start: bool = True
  # Consistency training can lose to its own warm start where labels are plentiful (measured: -3
  # points at 5,833 labels, one repeat of two); the model that does better on validation is kept
  # where validation may choose (training.min_validation_to_select; below it, consistency).
  keep_better_on_validation: bool = True
  ema_momentum: float = 0.99  # weights averaged over steps, taken at each epoch's end; 0: off
  # A later epoch (and consistency over its warm start) is kept unless validation says worse by
  # more than its standard error, 0.5 / sqrt(validation images): 250 images (the least that may
  # choose) tell 3 points apart at best, while the pool's accuracy was measured rising epoch
  # after epoch. False: the best validation value wins, however small the difference.
  prefer_later_epochs: bool = True
  # After training, batch-norm statistics are recomputed on up to this many clean pool images
  # (no labels): training's moving statistics come from mixed weak/strong batches under the
  # weights before averaging (measured: +1.0 and +2.2 test points). 0: keep them.
  batch_norm_images: int = 10_240
  weak_translate: float = 2.0
  strong_rotation: float = 20.0  # degrees
  strong_scale: float = 0.2
  strong_shear: float = 15.0  # degrees
  strong_translate: float = 3.0
  strong_thickness: float = 0.5  # probability of thicker or thinner strokes
  strong_cutout: int = 10  # pixels
  # Pool pictures whose figures lie beyond the labeled pictures' (models/off_topic.py):
  # "leave_out" of consistency training, "report" only, or "off"; alpha: the share of real
  # pool pictures the test may flag (at least 1 / (labels + 1)).
  off_topic: str = "leave_out"
  off_topic_alpha: float = 0.01
  # Which views: "drawing" (the strengths above), "photo" (a flip and a shift of up to
  # photo_translate of the side for both; for the strong one also photo_ops RandAugment-style
  # operations of magnitude up to photo_magnitude, and a cutout of photo_cutout of the side, as
  # FixMatch), or "auto": photo for colour pictures, drawing for grey ones.
  augmentation: str = "auto"
  photo_translate: float = 0.125
  photo_ops: int = 2
  photo_magnitude: float = 1.0
  photo_cutout: float = 0.5

  def __post_init__(self):
    require(self.augmentation in AUGMENTATIONS,
            f"consistency augmentation {self.augmentation!r} must be one of "
            f"{', '.join(AUGMENTATIONS)}")
    self.views(1), self.views(3)  # the photo strengths' own checks
    require(self.lr_decay in LR_DECAYS,
            f"consistency lr_decay {self.lr_decay!r} must be one of {', '.join(LR_DECAYS)}")
    require(self.off_topic in OFF_TOPIC_MODES,
            f"consistency off_topic {self.off_topic!r} must be one of "
            f"{', '.join(OFF_TOPIC_MODES)}")
    require(0.0 < self.off_topic_alpha < 1.0,
            f"consistency off_topic_alpha {self.off_topic_alpha!r} must be in (0, 1)")
    require(0.0 <= self.threshold <= 1.0,
                       f"consistency threshold {self.threshold!r} must be in [0, 1]")
    require(isinstance(self.unlabeled_ratio, int) and self.unlabeled_ratio >= 1,
                       f"consistency unlabeled_ratio {self.unlabeled_ratio!r} must be an "
                       "integer >= 1")
    require(self.unlabeled_weight >= 0,
                       f"consistency unlabeled_weight {self.unlabeled_weight!r} must be >= 0")
    for name in ("steps", "steps_per_epoch"):
      value = getattr(self, name)
      require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
              f"consistency {name} {value!r} must be an integer >= 1")
    require(0.0 <= self.min_threshold <= (self.threshold if self.adaptive_threshold else 1.0),
            f"consistency min_threshold {self.min_threshold!r} must be in [0, threshold "
            f"{self.threshold!r}]" if self.adaptive_threshold else
            f"consistency min_threshold {self.min_threshold!r} must be in [0, 1]")
    require(0.0 <= self.average_momentum < 1.0,
            f"consistency average_momentum {self.average_momentum!r} must be in [0, 1)")
    require(0.0 <= self.ema_momentum < 1.0,
                       f"consistency ema_momentum {self.ema_momentum!r} must be in [0, 1)")
    require(isinstance(self.batch_norm_images, int) and self.batch_norm_images >= 0,
            f"consistency batch_norm_images {self.batch_norm_images!r} must be an integer >= 0")
    self.weak, self.strong  # the augmentations' own checks

  @property
  def epochs(self) -> int:
    """Validation rounds: the steps in whole epochs of steps_per_epoch."""
    return -(-self.steps // self.steps_per_epoch)

  def views(self, channels: int) -> Tuple[Any, Any]:
    """(weak, strong) for pictures of `channels` channels: Augmentation or PhotoAugmentation."""
    kind = self.augmentation
    if kind == config_lib.AUTO:
      kind = PHOTO if channels == 3 else DRAWING
    if kind == DRAWING:
      return self.weak, self.strong
    weak = config_lib.PhotoAugmentation(flip=True, translate=self.photo_translate)
    return weak, dataclasses.replace(weak, ops=self.photo_ops, magnitude=self.photo_magnitude,
                                     cutout=self.photo_cutout)

  @property
  def weak(self) -> config_lib.Augmentation:
    return config_lib.Augmentation(translate_pixels=self.weak_translate)

  @property
  def strong(self) -> config_lib.Augmentation:
    return config_lib.Augmentation(
        rotation_degrees=self.strong_rotation, scale=self.strong_scale,
        shear_degrees=self.strong_shear, translate_pixels=self.strong_translate,
        thickness=self.strong_thickness, cutout_pixels=self.strong_cutout)


def train(request: methods.TrainRequest) -> methods.Trained:
  import numpy as np  # TensorFlow below: see models/methods/__init__.py

  from models import classifier, consistency, input_fn, off_topic, training_loop, weights
  settings: ConsistencyConfig = request.settings
  training = request.training
  # Validation too small to tell epochs apart chooses nothing here either: it is trained on, the
  # fit keeps its last epoch and no fallback is judged on it (at 115 labels, 9 images kept the
  # first of 30 epochs: 0.68 against 0.83).
  labeled, validation = classifier.supervised_parts(request.labeled, training)
  # Every labeled picture describes the classes' pictures: the check trains nothing on them.
  pool, found = off_topic.check(request.labeled.pixels, request.pool, settings.off_topic,
                                settings.off_topic_alpha, training.seed)
  if found["scored"]:
    logging.info("consistency: %d of %d pool pictures are off-topic (%.1f%%): %s",
                 found["flagged"], found["scored"], 100 * found["share"],
                 "left out" if settings.off_topic == "leave_out" else "reported only")
  model = request.build_model()
  from_reference = settings.warm_start and request.warm_start is not None
  if from_reference:
    weights.transfer(request.warm_start, model, "the supervised reference")
  history = {"initial_fingerprints": weights.fingerprints(model),
             "warm_start_from_reference": from_reference, "off_topic": found}
  if settings.warm_start and not from_reference:
    history["warm_start"] = classifier.train_classifier(
        model, labeled, validation, training, os.path.join(request.log_dir, "warm_start"),
        request.strategy, stage="consistency warm start (supervised)")
  history["selected_on_validation"] = validation is not None
  fallback = (settings.warm_start and settings.keep_better_on_validation
              and validation is not None)
  if not len(pool) and len(request.pool):
    reason = (f"every one of the {len(request.pool):,} pool pictures was judged off-topic "
              "(models/off_topic.py)")
    if not (settings.warm_start and (from_reference or "warm_start" in history)):
      raise methods.MethodError(f"{reason}: consistency training has nothing to learn from; "
                                "run with --set off_topic=report to train on them anyway")
    logging.warning("consistency: %s; consistency training skipped, the model is the "
                    "supervised warm start", reason)
    history["consistency_skipped"] = f"{reason}; the model is the supervised warm start"
    return methods.Trained(model, history)
  if fallback:
    warm_weights = model.get_weights()
    history["warm_start_validation_accuracy"] = classifier.accuracy(model, validation)
  tolerance = (0.5 / math.sqrt(len(validation))
               if settings.prefer_later_epochs and validation is not None else 0.0)
  # Without validation the monitored value is the training loss, which the pool's term makes
  # rise as more pseudo-labels pass the threshold: the last epoch is kept instead.
  keep_tolerance = tolerance if validation is not None else math.inf
  batch_size = training_loop.batch_size_for(training, len(labeled))
  balanced = input_fn.balances_classes(training, labeled.labels)
  with request.strategy.scope():
    trainer = consistency.ConsistencyModel(
        model, settings, request.num_classes, training.seed,
        pool_labels_known=request.true_labels is not None,
        # What the labeled batches show the model: every class alike when they are balanced.
        target_distribution=None if balanced else np.bincount(
            labeled.labels, minlength=request.num_classes) + 1.0)
  log = consistency.PseudoLabelLog(trainer.class_counts, trainer.thresholds)
  fitted = training_loop.fit(
      trainer, labeled, validation, dataclasses.replace(training, epochs=settings.epochs),
      "sparse_categorical_crossentropy", ["accuracy"], os.path.join(request.log_dir, "consistency"),
      request.strategy, stage="consistency training",
      batches=input_fn.paired_batches(labeled, pool, request.true_labels, batch_size,
                                      settings.unlabeled_ratio, training.seed,
                                      training.shuffle_buffer, balanced),
      steps_per_epoch=settings.steps_per_epoch, ema_momentum=settings.ema_momentum,
      keep_tolerance=keep_tolerance, cosine_decay=settings.lr_decay == "cosine",
      callbacks=[log, *request.callbacks])
  fitted["keep_tolerance"] = tolerance
  fitted["steps"] = len(fitted["epochs"]) * settings.steps_per_epoch
  fitted["planned_steps"] = settings.epochs * settings.steps_per_epoch
  fitted["threshold"] = settings.threshold
  if settings.adaptive_threshold:
    fitted["thresholds_per_class"] = log.thresholds
  fitted["accepted_per_class"] = log.per_epoch
  fitted["pool"] = len(pool)
  fitted["pool_labels_known"] = request.true_labels is not None
  history.update(fitted)
  if fitted["epochs"]:
    # The strategy's scope ended with the fit: the copy it makes holds plain variables.
    history["batch_norm_images"] = consistency.recalibrate_batch_norm(
        model, pool.sample(settings.batch_norm_images, training.seed,
                           training.shuffle_buffer).pixels,
        settings.batch_norm_images, training.seed)
    if history["batch_norm_images"]:
      logging.info("consistency: batch-norm statistics recomputed on %d clean pool images",
                   history["batch_norm_images"])
  if fallback:
    history["consistency_validation_accuracy"] = classifier.accuracy(model, validation)
    history["kept"] = "consistency"
    if (history["warm_start_validation_accuracy"]
        > history["consistency_validation_accuracy"] + tolerance):
      model.set_weights(warm_weights)
      history["kept"] = "warm start"
    logging.info("consistency: validation accuracy %.4f after the warm start, %.4f after "
                 "consistency training; keeping the %s model",
                 history["warm_start_validation_accuracy"],
                 history["consistency_validation_accuracy"], history["kept"])
  return methods.Trained(model, history)


def report(history: dict) -> Optional[methods.ReportSection]:
  """Per epoch: share of the pool above the threshold, their pseudo-labels' accuracy where the
  pool's labels are known, and the classes they went to (a collapse shows as one colour)."""
  if not history.get("accepted_per_class"):
    return None
  counts = history["accepted_per_class"]
  scored = history.get("pool_labels_known", True)
  rows = tuple(
      (number, e.get("above_threshold"),
       (e.get("pseudo_label_accuracy") if scored else methods.NO_POOL_LABELS)
       if sum(counts[number - 1]) else "-",
       e.get("pool_accuracy") if scored else methods.NO_POOL_LABELS,
       int(sum(counts[number - 1])), e.get("val_accuracy"))
      for number, e in enumerate(history["epochs"], start=1))
  paragraphs = [f"Pool of {history['pool']:,} unlabeled images; the pseudo-label accuracy (of "
                "the accepted pseudo-labels) and the pool accuracy (of the weak view's class "
                "over the whole pool, during training) are diagnostics against the pool's true "
                "labels where the source has them, never used for a decision."]
  if "kept" in history:
    paragraphs.append(
        f"Validation accuracy {history['warm_start_validation_accuracy']:.4f} after the warm "
        f"start, {history['consistency_validation_accuracy']:.4f} after consistency training: "
        f"the {history['kept']} model is the one trained.")
  return methods.ReportSection(
      "Consistency training", tuple(paragraphs),
      ("epoch", "share above threshold", "pseudo-label accuracy (diagnostic)",
       "pool accuracy (diagnostic)", "accepted", "validation accuracy"), rows,
      bars=tuple(map(tuple, counts)), bars_x=tuple(range(1, len(counts) + 1)),
      x_label="epoch", y_label="pseudo-labels accepted")


SPEC = methods.MethodSpec(
    name="consistency",
    description="supervised warm start, then weak-view pseudo-labels teach strong views (FixMatch)",
    uses_unlabeled=True, needs_encoder=False, train=train,
    settings=ConsistencyConfig, needs_validation=False,
    takes_reference_warm_start=True, report=report)
