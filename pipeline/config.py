"""All settings of a fewlabels run, as typed dataclasses filled by the command line and runners.

Defaults run on a laptop in minutes. The research method's full scale (METHOD.md) is:
  DataConfig(dataset="quickdraw_files/paper", manual_dir=<official .npy files>,
             label_budget=one of label_budget.PRESETS["paper"] ("16.67%" ... "0.33%"))
  ModelConfig(lstm_width=512, lstm_layers=3)
  TrainingConfig(batch_size="auto", base_learning_rate=0.001)
"""
import dataclasses
import math
import os
from typing import Any, Dict, Optional, Tuple, Union

from components.tfds_example_gen import label_budget
from sources import tfds_source

AUTO = "auto"
# The research method's four ways to learn from few labels (METHOD.md).
SUPERVISED = "supervised"  # the labeled split only
LAYERWISE = "layerwise"  # layer-wise autoencoder pre-training on the pool, then fine-tuning
SELF_TRAINING = "self_training"  # rounds of pseudo-labels from the pool
SELF_TRAINING_LAYERWISE = "self_training_layerwise"  # both: the proposed method
METHODS = (SUPERVISED, LAYERWISE, SELF_TRAINING, SELF_TRAINING_LAYERWISE)
PRETRAINED_METHODS = (LAYERWISE, SELF_TRAINING_LAYERWISE)
SELF_TRAINING_METHODS = (SELF_TRAINING, SELF_TRAINING_LAYERWISE)
# What `fewlabels workers` runs on several processes.
TRAINER_JOB, PRETRAINER_JOB = "trainer", "pretrainer"
WORKER_JOBS = (TRAINER_JOB, PRETRAINER_JOB)
DEFAULT_IMAGE = "gcr.io/tfx-oss-public/tfx:1.16.0"


class ConfigError(ValueError):
  """A setting with a value it cannot take; the message is one line for the user."""


def _require(condition: bool, message: str) -> None:
  if not condition:
    raise ConfigError(message)


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Where the images come from and how many keep their labels."""
  # `doodles[/CONFIG]` (generated offline) or a TFDS catalog name prepared in tfds_data_dir.
  dataset: str = "doodles/demo"
  tfds_data_dir: Optional[str] = None  # None: TFDS's default (~/tensorflow_datasets)
  manual_dir: Optional[str] = None  # source files for builders that read local files
  label_budget: str = "5%"  # a count (700) or a percentage of the training images (1.67%)
  seed: int = 0  # chooses the labeled images; the same seed gives nested budgets
  train_split: str = "train"
  # Or `holdout:N`: N test images per class carved from the training split (for data sets
  # without a test split, such as the catalog's quickdraw_bitmap).
  test_split: str = "test"
  classes: Tuple[str, ...] = ()  # keep only these classes (e.g. 10 of quickdraw_bitmap's 345)

  def __post_init__(self):
    label_budget.LabelBudget(self.label_budget)  # raises BudgetError naming the value
    _require(bool(self.dataset.strip()), "dataset '' is empty: expected a TFDS name")
    if self.test_split.startswith("holdout:"):
      holdout = self.test_split[len("holdout:"):]
      _require(holdout.isdigit() and int(holdout) > 0,
               f"test split {self.test_split!r} must be holdout:N with N a positive count")
    for index, name in enumerate(self.classes):
      _require(name not in self.classes[:index], f"class {name!r} is listed twice in classes")

  @property
  def source(self) -> tfds_source.SourceSpec:
    return tfds_source.SourceSpec(self.dataset, self.tfds_data_dir, self.manual_dir,
                                  self.train_split, self.test_split, self.classes)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The classifier: stacked LSTMs over the 28 rows, then Dense(dense_width), then softmax."""
  lstm_width: int = 64  # the seed uses 512 (about 10x slower on CPU)
  lstm_layers: int = 3
  dense_width: int = 28

  def __post_init__(self):
    for name in ("lstm_width", "lstm_layers", "dense_width"):
      value = getattr(self, name)
      _require(isinstance(value, int) and value > 0,
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
  # and for self-training's decisions. 0 stops on the training loss, as the seed did.
  validation_fraction: float = 0.1
  seed: int = 0

  def __post_init__(self):
    _require(isinstance(self.epochs, int) and self.epochs >= 0,
             f"training epochs {self.epochs!r} must be an integer >= 0")
    _require(self.batch_size == AUTO or (isinstance(self.batch_size, int) and self.batch_size > 0),
             f"training batch_size {self.batch_size!r} must be a positive integer or 'auto'")
    _require(self.base_learning_rate > 0 and math.isfinite(self.base_learning_rate),
             f"training base_learning_rate {self.base_learning_rate!r} must be > 0")
    _require(self.base_batch_size > 0, f"training base_batch_size {self.base_batch_size!r} must be > 0")
    _require(self.warmup_epochs >= 0, f"training warmup_epochs {self.warmup_epochs!r} must be >= 0")
    _require(self.decay_epochs > 0, f"training decay_epochs {self.decay_epochs!r} must be > 0")
    _require(self.early_stopping_patience >= 1,
             f"training early_stopping_patience {self.early_stopping_patience!r} must be >= 1")
    _require(isinstance(self.min_epochs, int) and self.min_epochs >= 0,
             f"training min_epochs {self.min_epochs!r} must be an integer >= 0")
    _require(0.0 <= self.validation_fraction < 1.0,
             f"training validation_fraction {self.validation_fraction!r} must be in [0, 1)")


@dataclasses.dataclass(frozen=True)
class PretrainingConfig:
  """Greedy layer-wise autoencoder pre-training: one stage per LSTM layer of the model."""
  epochs_per_stage: int = 5
  batch_size: Union[int, str] = 256  # "auto": the seed's rule (4,096 on its 583,310 images)
  base_learning_rate: float = 1e-3  # scaled like fine-tuning: sqrt(batch / 32)
  warmup_epochs: float = 0.25  # at batch 32, scaled by batch / 32
  early_stopping_patience: int = 3
  include_labeled_images: bool = True  # the labeled split's images too, labels ignored
  max_images: int = 0  # 0: the whole pool; else a seeded sample of this many (laptop runs)

  def __post_init__(self):
    _require(isinstance(self.max_images, int) and self.max_images >= 0,
             f"pretraining max_images {self.max_images!r} must be an integer >= 0")
    self.as_training()  # the schedule's own checks

  def as_training(self, seed: int = 0) -> "TrainingConfig":
    """The fit settings of one stage, in the form the shared fit loop takes."""
    try:
      return TrainingConfig(epochs=self.epochs_per_stage, batch_size=self.batch_size,
                            base_learning_rate=self.base_learning_rate,
                            warmup_epochs=self.warmup_epochs,
                            early_stopping_patience=self.early_stopping_patience,
                            min_epochs=0, validation_fraction=0.0, seed=seed)
    except ConfigError as e:
      raise ConfigError(str(e).replace("training ", "pretraining ", 1)) from None


@dataclasses.dataclass(frozen=True)
class SelfTrainingConfig:
  """Rounds of pseudo-labels. The seed's values are the defaults but max_rounds (it had none)."""
  window: int = 50_000  # unlabeled images predicted per round, refilled from the pool
  min_pool: int = 5_000  # stop when fewer unlabeled images than this are left
  max_accuracy_drop: float = 0.10  # stop when validation accuracy falls this far below round 1
  max_rounds: int = 5  # 0: until a stop rule fires (the seed's setting)
  per_class: int = 0  # pseudo-labels per class and round; 0: the seed's rule (see self_training)

  def __post_init__(self):
    _require(isinstance(self.window, int) and self.window > 0,
             f"self_training window {self.window!r} must be a positive integer")
    for name in ("min_pool", "max_rounds", "per_class"):
      value = getattr(self, name)
      _require(isinstance(value, int) and value >= 0,
               f"self_training {name} {value!r} must be an integer >= 0")
    _require(0.0 < self.max_accuracy_drop <= 1.0,
             f"self_training max_accuracy_drop {self.max_accuracy_drop!r} must be in (0, 1]")


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
  """When a model is good enough to push."""
  min_accuracy: float = 0.5  # on the test split
  max_regression: float = 0.01  # allowed accuracy drop against the last pushed model

  def __post_init__(self):
    _require(0.0 <= self.min_accuracy <= 1.0,
             f"evaluation min_accuracy {self.min_accuracy!r} must be in [0, 1]")
    _require(0.0 <= self.max_regression <= 1.0,
             f"evaluation max_regression {self.max_regression!r} must be in [0, 1]")


@dataclasses.dataclass(frozen=True)
class VertexTrainingConfig:
  """Training as a Vertex AI custom job with a worker pool (Kubeflow V2 only)."""
  project: str = ""  # empty: the Trainer trains inside its own pipeline task
  region: str = "us-central1"
  replica_count: int = 1  # workers in all: one chief plus replica_count - 1 workers
  machine_type: str = "n1-standard-8"
  accelerator_type: str = ""  # e.g. NVIDIA_TESLA_T4; empty: CPU only
  accelerator_count: int = 0

  def __post_init__(self):
    _require(self.replica_count >= 1,
             f"vertex replica_count {self.replica_count!r} must be at least 1")
    _require(self.accelerator_count >= 0,
             f"vertex accelerator_count {self.accelerator_count!r} must be >= 0")
    _require(bool(self.accelerator_type) == (self.accelerator_count > 0),
             f"vertex accelerator_type {self.accelerator_type!r} and accelerator_count "
             f"{self.accelerator_count} must be given together")

  @property
  def enabled(self) -> bool:
    return bool(self.project)

  def worker_pool_specs(self, image: str) -> list:
    """Vertex AI CustomJob worker pools: the chief, then the other workers."""
    machine = {"machine_type": self.machine_type}
    if self.accelerator_count:
      machine.update(accelerator_type=self.accelerator_type,
                     accelerator_count=self.accelerator_count)
    pool = {"machine_spec": machine, "container_spec": {"image_uri": image}}
    pools = [dict(pool, replica_count=1)]
    if self.replica_count > 1:
      pools.append(dict(pool, replica_count=self.replica_count - 1))
    return pools


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  name: str = "fewlabels"
  output_dir: str = "pipeline_output"  # pipeline root, ml-metadata and pushed models live here
  method: str = SELF_TRAINING_LAYERWISE  # one of METHODS
  data: DataConfig = DataConfig()
  model: ModelConfig = ModelConfig()
  training: TrainingConfig = TrainingConfig()
  pretraining: PretrainingConfig = PretrainingConfig()
  self_training: SelfTrainingConfig = SelfTrainingConfig()
  evaluation: EvaluationConfig = EvaluationConfig()
  vertex: VertexTrainingConfig = VertexTrainingConfig()
  # Beam options for the data components, e.g. ("--runner=DataflowRunner", "--project=...").
  beam_pipeline_args: Tuple[str, ...] = ("--direct_running_mode=in_memory", "--direct_num_workers=1")
  image: str = DEFAULT_IMAGE  # the container image the Kubeflow V2 tasks run in
  # False (sweeps): evaluate and report only; no baseline comparison, nothing pushed.
  push: bool = True

  def __post_init__(self):
    _require(bool(self.name) and all(c.isalnum() or c in "-_" for c in self.name),
             f"pipeline name {self.name!r} must be letters, digits, '-' or '_'")
    check_method(self.method, self.training)

  @property
  def pipeline_root(self) -> str:
    return os.path.join(self.output_dir, "root")

  @property
  def metadata_path(self) -> str:
    return os.path.join(self.output_dir, "metadata.sqlite")

  @property
  def serving_dir(self) -> str:
    return os.path.join(self.output_dir, "serving_model")


def check_method(method: str, training: TrainingConfig) -> None:
  _require(method in METHODS, f"method {method!r} does not exist: expected one of "
                              f"{', '.join(METHODS)}")
  _require(method not in SELF_TRAINING_METHODS or training.validation_fraction > 0,
           f"method {method!r} decides on a validation part of the labeled split: training "
           f"validation_fraction {training.validation_fraction!r} must be > 0")


def to_dict(config: Any) -> Dict[str, Any]:
  return dataclasses.asdict(config)
