"""The settings the model code reads: typed frozen dataclasses with one-line errors.

A leaf module (no TFDS, TFX or pipeline imports), so that `models/` never imports `pipeline/`.
Each method keeps its own settings beside its code (`models/methods/<name>.py`); the pipeline's
full configuration (`pipeline/config.py`) holds these and the data and push settings.

Defaults run on a laptop in minutes; the research method's scale (METHOD.md) is
ModelConfig(architecture="lstm", settings=(("width", 512),)) (3 layers) and
TrainingConfig(batch_size="auto", base_learning_rate=0.001).
"""
import dataclasses
import math
from typing import Any, Dict, Mapping, Tuple, Type, TypeVar, Union

from sources import features  # names and the pictures' geometry: no imports of its own

AUTO = "auto"
BALANCED_BATCHES = "batches"
UNBALANCED = "none"
CLASS_BALANCES = (AUTO, UNBALANCED, BALANCED_BATCHES)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
LSTM, CNN = "lstm", "cnn"  # the architectures' registry names (models/architectures/)
DRAWING_SHAPE = features.DRAWING_SHAPE


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
  """The classifier: `architecture` names a module of models/architectures/."""
  architecture: str = CNN  # a module of models/architectures/ (the research method's: lstm)
  # The architecture's own settings (its module's Settings) that differ from their defaults,
  # as (field, value) pairs: `--cnn-width 32`, `--set model.width=32`.
  settings: Tuple[Tuple[str, Any], ...] = dataclasses.field(default=(), metadata={"flag": False})
  # The pictures' (height, width, channels): the data's, set by the pipeline from the source.
  image_shape: Tuple[int, int, int] = dataclasses.field(default=DRAWING_SHAPE,
                                                        metadata={"flag": False})

  def __post_init__(self):
    # Sorted pairs whatever they came as (JSON gives lists): one config, one cache key.
    object.__setattr__(self, "settings", tuple(sorted((str(k), v) for k, v in self.settings)))
    require(not isinstance(self.image_shape, str),
            f"model image_shape {self.image_shape!r} is the data's: the pipeline sets it")
    shape = tuple(self.image_shape)
    require(len(shape) == 3 and all(isinstance(v, int) and v > 0 for v in shape),
            f"model image_shape {shape!r} must be (height, width, channels)")
    check_image_shape(shape, "the pictures")
    object.__setattr__(self, "image_shape", shape)


def check_image_shape(shape: Tuple[int, ...], what: str) -> None:
  """A one-line error for pictures this project cannot train on."""
  problem = features.shape_problem(shape)
  require(not problem, f"{what} have {problem}")


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
class PhotoAugmentation:
  """A view of photos (models/photo_augment.py): flip and shift, then a RandAugment-style
  policy and cutout."""
  flip: bool = False  # horizontal, with probability 1/2
  translate: float = 0.0  # a shift of up to this fraction of each side, in whole pixels
  ops: int = 0  # policy operations per image (RandAugment's N)
  magnitude: float = 0.0  # each one's strength, drawn uniformly in [0, this]; 1: the strongest
  cutout: float = 0.0  # the side of one grey square, a fraction of the shorter side

  def __post_init__(self):
    require(isinstance(self.ops, int) and not isinstance(self.ops, bool) and 0 <= self.ops <= 4,
            f"photo augmentation ops {self.ops!r} must be an integer in [0, 4]")
    for name in ("translate", "magnitude", "cutout"):
      value = getattr(self, name)
      require(isinstance(value, (int, float)) and 0.0 <= value <= 1.0,
              f"photo augmentation {name} {value!r} must be in [0, 1]")

  @property
  def is_identity(self) -> bool:
    return not (self.flip or self.translate or self.ops or self.cutout)

