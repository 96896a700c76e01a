"""The settings the model code reads: typed frozen dataclasses with one-line errors.

A leaf module (no TFDS, TFX or pipeline imports), so that `models/` never imports `pipeline/`.
Each method keeps its own settings beside its code (`models/methods/<name>.py`); the pipeline's
full configuration (`pipeline/config.py`) holds these and the data and push settings.

Defaults run on a laptop in minutes; the research method's scale (METHOD.md) is
ModelConfig(architecture="lstm", lstm_width=512, lstm_layers=3) and
TrainingConfig(batch_size="auto", base_learning_rate=0.001).
"""
import dataclasses
import math
from typing import Any, Dict, Mapping, Type, TypeVar, Union

AUTO = "auto"
BALANCED_BATCHES = "batches"
UNBALANCED = "none"
CLASS_BALANCES = (AUTO, UNBALANCED, BALANCED_BATCHES)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
LSTM, CNN = "lstm", "cnn"  # the architectures' registry names (models/architectures/)


class ConfigError(ValueError):
  """A setting with a value it cannot take; the message is one line for the user."""


def require(condition: bool, message: str) -> None:
  if not condition:
    raise ConfigError(message)


def to_dict(config: Any) -> Dict[str, Any]:
  return dataclasses.asdict(config)


T = TypeVar("T")


def _no_setting(what: str, key: str, names) -> str:
  return f"{what} has no setting {key!r}: " + (
      f"expected one of {', '.join(names)}" if names else
      "it has no settings of its own (the others are SECTION.FIELD, e.g. training.epochs)")


def from_dict(cls: Type[T], values: Mapping[str, Any], what: str) -> T:
  """cls(**values), with an unknown field named in one line instead of a TypeError."""
  names = [f.name for f in dataclasses.fields(cls)]
  for key in values:
    require(key in names, _no_setting(what, key, names))
  return cls(**values)


def parse_value(cls: Type[Any], key: str, text: str, what: str) -> Any:
  """A command-line string as the type of field `key` of `cls` (int, float, bool or str)."""
  fields = {f.name: f for f in dataclasses.fields(cls)}
  require(key in fields, _no_setting(what, key, fields))
  default = getattr(cls(), key)
  try:
    if isinstance(default, bool):
      require(text.lower() in ("true", "false", "1", "0"),
              f"{what} {key} {text!r} must be true or false")
      return text.lower() in ("true", "1")
    if isinstance(default, int) and not (key.endswith("batch_size") and text == AUTO):
      return int(text)
    if isinstance(default, float):
      return float(text)
  except ValueError:
    kind = "an integer" if isinstance(default, int) else "a number"
    raise ConfigError(f"{what} {key} {text!r} must be {kind}") from None
  return text


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The classifier: `architecture` names a module of models/architectures/.

  lstm: stacked LSTMs over the 28 rows, then Dense(dense_width), then softmax (the research
  method's). cnn: a small convolutional net of widths cnn_width, 2x and 4x it.
  """
  architecture: str = CNN
  lstm_width: int = 64  # the seed uses 512 (about 10x slower on CPU)
  lstm_layers: int = 3
  dense_width: int = 28
  cnn_width: int = 24  # channels of the first block; 24 keeps an epoch of 35,000 images < 1 min

  def __post_init__(self):
    for name in ("lstm_width", "lstm_layers", "dense_width", "cnn_width"):
      value = getattr(self, name)
      require(isinstance(value, int) and value > 0,
              f"model {name} {value!r} must be a positive integer")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
  """Fine-tuning on the labeled split, with the seed's LEGW warmup and decay."""
  epochs: int = 40  # 0 exports the untrained model (a smoke test of the gate)
  batch_size: Union[int, str] = AUTO  # "auto": 32 up to 5,000 labels, else 2^floor(log2(n/120))
  base_learning_rate: float = 1e-3  # at the base batch; scaled by sqrt(batch / base_batch)
  base_batch_size: int = 32
  warmup_epochs: float = 2.0  # at the base batch; scaled by batch / base_batch (LEGW)
  decay_epochs: float = 25.0  # after warmup the rate falls as exp(-epochs_since_warmup / this)
  early_stopping_patience: int = 8  # epochs without improvement of the monitored value
  # Early stopping watches epochs from this one on: a few labeled images give a noisy
  # validation score that would otherwise stop training before the warmup is over.
  min_epochs: int = 10
  # Held out of the labeled split (never the test split) for early stopping on its accuracy
  # and for the methods' decisions. 0 stops on the training loss, as the seed did.
  validation_fraction: float = 0.1
  # A supervised fit (the reference, `supervised`, a warm start) chooses its epoch on the
  # validation part only from this many images on: fewer cannot tell a trained epoch from a
  # lucky one (standard error 0.5 / sqrt(n): 3.2 points at 250; on Fashion-MNIST at 100 labels
  # the reference kept epoch 17 on 10 images and tested 4 points below all 60 epochs on all
  # labels). Below it the reference and `supervised` train on every label, validation part
  # included, stopping on the training loss as the research method did, and a warm start on
  # the training part does the same. 0: always choose on validation.
  min_validation_to_select: int = 250
  # Labeled training images are shifted at random by up to this many pixels, in every method
  # (the research method had no augmentation: 0 trains as it did).
  translate_pixels: float = 2.0
  # An epoch is at least this many steps: 100 labels at batch 32 would otherwise be 3 steps an
  # epoch, too few for early stopping's epochs to mean anything (0: one pass, as the seed).
  min_steps_per_epoch: int = 20
  # How the labeled batches treat classes of different sizes: "batches" draws every class
  # equally often (a small class's images come round more often), "none" draws every image
  # equally often, "auto" balances only when the labeled classes are uneven (more than one
  # image apart: a budget's balanced choice never is), so balanced data trains as before.
  class_balance: str = AUTO
  # The Keras precision policy of the Trainer's training (models/precision.py): float32, or
  # mixed_bfloat16 (CPUs with AVX512_BF16 or AMX, TPUs) and mixed_float16 (GPUs), which compute
  # in 16 bits and keep float32 weights, softmax and losses.
  precision: str = "float32"
  # Images of the unlabeled pool held at once to shuffle its stream (models/input_fn.py Pool):
  # memory stays the same whatever the pool's size (16,384 images are 13 MB).
  shuffle_buffer: int = 16_384
  seed: int = 0

  def __post_init__(self):
    require(isinstance(self.epochs, int) and self.epochs >= 0,
            f"training epochs {self.epochs!r} must be an integer >= 0")
    require(self.batch_size == AUTO or (isinstance(self.batch_size, int) and self.batch_size > 0),
            f"training batch_size {self.batch_size!r} must be a positive integer or 'auto'")
    require(self.base_learning_rate > 0 and math.isfinite(self.base_learning_rate),
            f"training base_learning_rate {self.base_learning_rate!r} must be > 0")
    require(self.base_batch_size > 0, f"training base_batch_size {self.base_batch_size!r} must be > 0")
    require(self.warmup_epochs >= 0, f"training warmup_epochs {self.warmup_epochs!r} must be >= 0")
    require(self.decay_epochs > 0, f"training decay_epochs {self.decay_epochs!r} must be > 0")
    require(self.early_stopping_patience >= 1,
            f"training early_stopping_patience {self.early_stopping_patience!r} must be >= 1")
    require(isinstance(self.min_epochs, int) and self.min_epochs >= 0,
            f"training min_epochs {self.min_epochs!r} must be an integer >= 0")
    require(isinstance(self.min_steps_per_epoch, int) and self.min_steps_per_epoch >= 0,
            f"training min_steps_per_epoch {self.min_steps_per_epoch!r} must be an integer >= 0")
    require(0.0 <= self.translate_pixels <= 14,
            f"training translate_pixels {self.translate_pixels!r} must be in [0, 14]")
    require(0.0 <= self.validation_fraction < 1.0,
            f"training validation_fraction {self.validation_fraction!r} must be in [0, 1)")
    require(isinstance(self.min_validation_to_select, int)
            and self.min_validation_to_select >= 0,
            f"training min_validation_to_select {self.min_validation_to_select!r} must be an "
            "integer >= 0")
    require(isinstance(self.shuffle_buffer, int) and self.shuffle_buffer >= 1,
            f"training shuffle_buffer {self.shuffle_buffer!r} must be an integer >= 1")
    require(self.precision in PRECISIONS,
            f"training precision {self.precision!r} must be one of {', '.join(PRECISIONS)}")
    require(self.class_balance in CLASS_BALANCES,
            f"training class_balance {self.class_balance!r} must be one of "
            f"{', '.join(CLASS_BALANCES)}")



@dataclasses.dataclass(frozen=True)
class PretrainingConfig:
  """Unsupervised pre-training of the encoder (the LayerwisePretrainer component).

  `pretext` names what the encoder learns to do (models/pretexts.py): for the LSTM, greedy
  stage by stage, `reconstruct` (the research method's), `sequence_autoencoder` or `next_row`;
  for the CNN, `denoise`. "auto": the architecture's default.
  """
  pretext: str = AUTO
  # Training steps per stage, the same whatever the pool's size (a pool 20 times larger is not
  # 20 times slower): 700 batches of 256 are about the 5 passes over the 35,105 images (pool
  # and labels) that were measured (690 steps), so the figures measured there hold.
  steps_per_stage: int = 700
  # Every this many steps is an "epoch": the progress line, early stopping on the loss and one
  # row of history (fewer if the stage is shorter).
  steps_per_epoch: int = 140
  batch_size: Union[int, str] = 256  # "auto": the seed's rule (4,096 on its 583,310 images)
  base_learning_rate: float = 1e-3  # scaled like fine-tuning: sqrt(batch / 32)
  warmup_epochs: float = 0.25  # at batch 32, scaled by batch / 32
  early_stopping_patience: int = 3
  include_labeled_images: bool = True  # the labeled split's images too, labels ignored
  max_images: int = 0  # 0: the whole pool; else a seeded sample of this many (laptop runs)

  def __post_init__(self):
    for name in ("steps_per_stage", "steps_per_epoch"):
      value = getattr(self, name)
      require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
              f"pretraining {name} {value!r} must be an integer >= 1")
    require(isinstance(self.max_images, int) and self.max_images >= 0,
            f"pretraining max_images {self.max_images!r} must be an integer >= 0")
    self.as_training()  # the schedule's own checks

  @property
  def epoch_steps(self) -> int:
    return min(self.steps_per_epoch, self.steps_per_stage)

  @property
  def epochs(self) -> int:
    """Epochs of epoch_steps per stage: the steps rounded up to whole epochs."""
    return -(-self.steps_per_stage // self.epoch_steps)

  def as_training(self, seed: int = 0) -> TrainingConfig:
    """The fit settings of one stage, in the form the shared fit loop takes."""
    try:
      return TrainingConfig(epochs=self.epochs, batch_size=self.batch_size,
                            base_learning_rate=self.base_learning_rate,
                            warmup_epochs=self.warmup_epochs,
                            early_stopping_patience=self.early_stopping_patience,
                            min_epochs=0, validation_fraction=0.0, translate_pixels=0.0,
                            min_steps_per_epoch=0, seed=seed)
    except ConfigError as e:
      raise ConfigError(str(e).replace("training ", "pretraining ", 1)) from None


@dataclasses.dataclass(frozen=True)
class Augmentation:
  """Random affine (rotation, scale, shear, translation), stroke thickness and cutout."""
  rotation_degrees: float = 0.0  # uniform in +-this
  scale: float = 0.0  # zoom factor uniform in [1 - scale, 1 + scale]
  shear_degrees: float = 0.0
  translate_pixels: float = 0.0  # uniform in +-this, each axis
  # Probability that strokes are made thicker (3x3 maximum) or thinner (2x2 minimum: a 3x3
  # one would wipe out strokes two pixels wide).
  thickness: float = 0.0
  cutout_pixels: int = 0  # side of one square set to background; 0: none

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      require(isinstance(value, (int, float)) and value >= 0,
                         f"augmentation {field.name} {value!r} must be a number >= 0")
    require(self.scale < 1, f"augmentation scale {self.scale!r} must be below 1")
    require(self.thickness <= 1,
                       f"augmentation thickness {self.thickness!r} is a probability in [0, 1]")

  @property
  def is_identity(self) -> bool:
    return not any(dataclasses.astuple(self))


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


OFF_TOPIC_MODES = ("off", "report", "leave_out")  # models/off_topic.py


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
  # points at 5,833 labels, one repeat of two); the model that does better on validation is kept.
  keep_better_on_validation: bool = True
  ema_momentum: float = 0.99  # weights averaged over steps, taken at each epoch's end; 0: off
  # A later epoch (and consistency over its warm start) is kept unless validation says worse by
  # more than its standard error, 0.5 / sqrt(validation images): at 115 labels 23 images tell
  # 10 points apart at best, while the pool's accuracy was measured rising epoch after epoch.
  # False: the best validation value wins, however small the difference.
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

  def __post_init__(self):
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

  @property
  def weak(self) -> Augmentation:
    return Augmentation(translate_pixels=self.weak_translate)

  @property
  def strong(self) -> Augmentation:
    return Augmentation(
        rotation_degrees=self.strong_rotation, scale=self.strong_scale,
        shear_degrees=self.strong_shear, translate_pixels=self.strong_translate,
        thickness=self.strong_thickness, cutout_pixels=self.strong_cutout)
