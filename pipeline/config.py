"""All settings of a fewlabels run, as typed dataclasses filled by the command line and runners.

Defaults run on a laptop in minutes. The research method's full scale (METHOD.md) is:
  DataConfig(dataset="quickdraw_files/paper", manual_dir=<official .npy files>,
             label_budget=one of label_budget.PRESETS["paper"] ("16.67%" ... "0.33%"))
  ModelConfig(architecture="lstm", settings=(("width", 512),)), method="self_training_layerwise"
  TrainingConfig(batch_size="auto", base_learning_rate=0.001)
"""
import dataclasses
import os
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

from models import architectures
from models import methods
from models.config import (AUTO, ConfigError, ModelConfig, PretrainingConfig, TrainingConfig,
                           parse_value, require as _require, to_dict)
from sources import image_files
from sources import label_budget
from sources.errors import DataSourceError

if TYPE_CHECKING:
  from sources import tfds_source

# What `fewlabels workers` runs on several processes.
TRAINER_JOB, PRETRAINER_JOB = "trainer", "pretrainer"
WORKER_JOBS = (TRAINER_JOB, PRETRAINER_JOB)
# The default learning method and architecture: the best at small budgets in docs/RESULTS.md.
DEFAULT_METHOD = "pretrained_consistency"
# The reference a pool method must beat (issue: "the pool's worth in every run"), or none.
REFERENCE, NO_REFERENCE = "supervised", "none"
# TFX's own image: the Dockerfile's base, without this package, so no task could import
# models.run_fn or the custom components. `fewlabels compile` refuses it.
STOCK_TFX_IMAGE = "gcr.io/tfx-oss-public/tfx"


def check_image(image: str) -> None:
  """The Kubeflow V2 tasks' image must hold this package: the Dockerfile's build of it."""
  _require(bool(image.strip()), "container image '' is empty: build the Dockerfile (docker "
                                "build -t IMAGE .) and pass --image IMAGE")
  _require(not image.startswith(STOCK_TFX_IMAGE),
           f"container image {image!r} is TFX's stock image, which lacks this package: every "
           "custom component would fail on the cluster; build the Dockerfile (docker build -t "
           "IMAGE .) and pass --image IMAGE")


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Where the images come from and how many keep their labels."""
  # The TFDS data set: `doodles[/CONFIG]` (generated offline; CONFIG is tiny, demo,
  # seed_scale, color or train<N>_test<M>_seed<S>[_color]);
  # `image_folder[/auto|light_on_dark|dark_on_light]` with manual_dir (your pictures, the ink
  # polarity of grey ones); `quickdraw_files` or `mnist_idx` with manual_dir; or a catalog name
  # such as `mnist` prepared in tfds_data_dir.
  dataset: str = "doodles/demo"
  tfds_data_dir: Optional[str] = None  # None: TFDS's default (~/tensorflow_datasets)
  # Source files for builders that read local files, e.g. the official Quick, Draw!
  # <class>.npy files for quickdraw_files, or the folder of an image_folder.
  manual_dir: Optional[str] = None
  # A count (700), a percentage of the training images (1.67%) or `all`; `default_label_budget`
  # gives each data set's default.
  label_budget: str = "5%"
  seed: int = 0  # chooses the labeled images; the same seed gives nested budgets
  train_split: str = "train"
  # Or `holdout:N`: N test images per class carved from the training split (for data sets
  # without a test split, such as the catalog's quickdraw_bitmap).
  test_split: str = "test"
  classes: Tuple[str, ...] = ()  # keep only these classes (e.g. 10 of quickdraw_bitmap's 345)
  skip_bad_images: bool = False  # image folders: skip unreadable pictures, counted (else fail)
  # Image folders: the side, in pixels, every picture is fitted into (aspect ratio kept,
  # padded); other data sets have their own.
  image_size: int = 28
  # Image folders: keep the pictures' colours (RGB, no ink polarity), for photos; else grey.
  color: bool = False
  # A labels.csv (`fewlabels suggest`, label.html): its examples move from unlabeled to labeled.
  extra_labels: Optional[str] = None
  # A schema the user keeps (`fewlabels schema --write FILE`): the data are validated against
  # it instead of a schema inferred from themselves, which nothing could ever contradict.
  schema_file: Optional[str] = None

  def __post_init__(self):
    label_budget.LabelBudget(self.label_budget)  # raises BudgetError naming the value
    if self.schema_file:
      from pipeline import kept_schema
      kept_schema.read(self.schema_file)  # one line naming the file if it is not one
    _require(bool(self.dataset.strip()), "dataset '' is empty: expected a TFDS name")
    if self.test_split.startswith("holdout:"):
      holdout = self.test_split[len("holdout:"):]
      _require(holdout.isdigit() and int(holdout) > 0,
               f"test split {self.test_split!r} must be holdout:N with N a positive count")
    for index, name in enumerate(self.classes):
      _require(name not in self.classes[:index], f"class {name!r} is listed twice in classes")
    if self.image_folder:
      self.source_name  # one line naming a bad image size, polarity or --color with one
    else:
      _require(self.image_size == DataConfig.image_size and not self.color,
               f"--image-size and --color apply to image folders: data set {self.dataset!r} "
               "has its own pictures' geometry")

  @property
  def image_folder(self) -> bool:
    return self.dataset.partition("/")[0] == image_files.NAME

  @property
  def source_name(self) -> str:
    """The data set's name as its builder is opened: an image folder's says how its pictures
    are made (`image_folder/color-64`)."""
    if not self.image_folder:
      return self.dataset
    polarity = self.dataset.partition("/")[2]
    try:
      _require(not (self.color and polarity), f"--color keeps the pictures' colours: the ink "
               f"polarity {polarity!r} of {self.dataset!r} applies to grey drawings only")
      return f"{image_files.NAME}/" + image_files.config_name(polarity or "auto",
                                                              self.image_size, self.color)
    except DataSourceError as e:
      raise ConfigError(str(e)) from None

  @property
  def picture_shape(self) -> Optional[Tuple[int, int, int]]:
    """The pictures' (height, width, channels) where the settings alone say it (image
    folders), before any file is read; None for data sets that hold their own."""
    if not self.image_folder:
      return None
    return image_files.parse_config(self.source_name.partition("/")[2])[1]

  @property
  def source(self) -> "tfds_source.SourceSpec":
    from sources import tfds_source  # TensorFlow: not before the command line is checked
    return tfds_source.SourceSpec(self.source_name, self.tfds_data_dir, self.manual_dir,
                                  self.train_split, self.test_split, self.classes,
                                  self.skip_bad_images)

  @property
  def image_polarity(self) -> str:
    """How pictures given to the model are read: an image folder's polarity, else `auto`."""
    return (self.dataset.partition("/")[2] or "auto") if self.image_folder else "auto"


def default_label_budget(dataset: str) -> str:
  """`all` for an image folder (its unlabeled pool is real: every label is kept); else the
  simulated budget of DataConfig's default."""
  return "all" if dataset.partition("/")[0] == image_files.NAME else DataConfig.label_budget


TF_SERVING_CHECKS = ("none", "docker")
GAIN_RULES = ("estimate", "interval")

@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
  """When a model is good enough to push."""
  min_accuracy: float = 0.5  # on the test split
  max_regression: float = 0.01  # allowed accuracy drop against the last pushed model
  # Allowed accuracy drop against the supervised reference trained in the same run (runs whose
  # method learns from the pool): 0 pushes no semi-supervised model that the labels alone beat.
  max_loss_to_reference: float = 0.0
  # When the candidate fails only the reference test, push the reference (if it passes the rest
  # of the gate) instead of nothing.
  push_reference_if_better: bool = True
  # What the reference test reads: "estimate", the gain measured on `test`; "interval", the low
  # end of its 95% paired interval, so that a gain within the test split's noise does not count
  # as one (shown either way).
  gain_rule: str = "estimate"
  # Beside the ServingCheck (a fresh process, always): "docker" adds TFX's InfraValidator, which
  # serves the model in TF Serving's own container before the Pusher (`fewlabels run` on a
  # machine that runs Docker; the Kubeflow V2 compiler has no InfraValidator); "none": not.
  tf_serving_check: str = "none"

  def __post_init__(self):
    _require(self.gain_rule in GAIN_RULES,
             f"evaluation gain_rule {self.gain_rule!r} must be one of {', '.join(GAIN_RULES)}")
    _require(self.tf_serving_check in TF_SERVING_CHECKS,
             f"evaluation tf_serving_check {self.tf_serving_check!r} must be one of "
             f"{', '.join(TF_SERVING_CHECKS)}")
    _require(0.0 <= self.min_accuracy <= 1.0,
             f"evaluation min_accuracy {self.min_accuracy!r} must be in [0, 1]")
    _require(0.0 <= self.max_regression <= 1.0,
             f"evaluation max_regression {self.max_regression!r} must be in [0, 1]")
    _require(isinstance(self.max_loss_to_reference, (int, float))
             and 0.0 <= self.max_loss_to_reference <= 1.0,
             f"evaluation max_loss_to_reference {self.max_loss_to_reference!r} must be in [0, 1]")


def vertex_accelerator_types() -> Tuple[str, ...]:
  """The accelerator types Vertex AI's own client knows (its AcceleratorType enum)."""
  from google.cloud.aiplatform_v1.types import accelerator_type  # ~2 s, no TensorFlow
  return tuple(member.name for member in accelerator_type.AcceleratorType
               if member.name != "ACCELERATOR_TYPE_UNSPECIFIED")


@dataclasses.dataclass(frozen=True)
class WorkerPoolConfig:
  """The machines of one training stage's Vertex AI custom job."""
  replica_count: int = 1  # workers in all: one chief plus replica_count - 1 workers
  machine_type: str = "n1-standard-8"
  accelerator_type: str = ""  # e.g. NVIDIA_TESLA_T4; empty: CPU only
  accelerator_count: int = 0  # per worker

  def check(self, stage: str) -> None:
    """One line naming the stage's bad value; the accelerator type checked against Vertex's
    list (which loads its client, so only when one is given)."""
    _require(self.replica_count >= 1,
             f"vertex {stage} replica_count {self.replica_count!r} must be at least 1")
    _require(bool(self.machine_type.strip()),
             f"vertex {stage} machine_type {self.machine_type!r} must name a machine type, "
             "e.g. n1-standard-8")
    _require(self.accelerator_count >= 0,
             f"vertex {stage} accelerator_count {self.accelerator_count!r} must be >= 0")
    _require(bool(self.accelerator_type) == (self.accelerator_count > 0),
             f"vertex {stage} accelerator_type {self.accelerator_type!r} and accelerator_count "
             f"{self.accelerator_count} must be given together")
    if self.accelerator_type:
      known = vertex_accelerator_types()
      _require(self.accelerator_type in known,
               f"vertex {stage} accelerator_type {self.accelerator_type!r} is not one Vertex AI "
               f"knows: expected one of {', '.join(known)}")

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
class VertexTrainingConfig:
  """Every training stage (Trainer, ReferenceTrainer, LayerwisePretrainer) as a Vertex AI
  custom job with worker pools (Kubeflow V2 only)."""
  project: str = ""  # empty: each stage trains inside its own pipeline task
  region: str = "us-central1"
  trainers: WorkerPoolConfig = WorkerPoolConfig()  # the Trainer and the ReferenceTrainer
  pretrainer: Optional[WorkerPoolConfig] = None  # None: the trainers' pools

  def __post_init__(self):
    self.trainers.check("trainer")
    if self.pretrainer is not None:
      self.pretrainer.check("pretrainer")

  @property
  def enabled(self) -> bool:
    return bool(self.project)

  @property
  def pretrainer_pools(self) -> WorkerPoolConfig:
    return self.pretrainer or self.trainers

  def job_args(self, pools: WorkerPoolConfig, image: str) -> dict:
    """A CustomJob's arguments as TFX's Vertex AI training launcher takes them."""
    return {"project": self.project, "job_spec": {"worker_pool_specs": pools.worker_pool_specs(
        image)}}


def check_sweep(base: "PipelineConfig", budgets, chosen_methods, repeats) -> Tuple[str, ...]:
  """A sweep's lists, checked without data (before TensorFlow loads); the budgets expanded."""
  budgets = tuple(b for b in label_budget.expand_budgets(budgets) if b.strip())
  _require(bool(budgets), "the budget list is empty: give budgets such as 1% 5% or the preset "
                          "'paper'")
  for index, budget in enumerate(budgets):
    label_budget.LabelBudget(budget)
    _require(budget not in budgets[:index], f"label budget {budget!r} is listed twice")
  _require(bool(chosen_methods), f"the method list is empty: expected some of "
                                 f"{', '.join(methods.names())}")
  for index, method in enumerate(chosen_methods):
    methods.check(method, base.model, base.training)
    _require(method not in chosen_methods[:index], f"method {method!r} is listed twice")
  _require(isinstance(repeats, int) and repeats >= 1,
           f"repeats {repeats!r} must be a positive integer")
  return budgets


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  name: str = "fewlabels"
  output_dir: str = "pipeline_output"  # pipeline root, ml-metadata and pushed models live here
  method: str = DEFAULT_METHOD  # a module of models/methods/ (methods.names())
  # The method's own settings (its spec's config dataclass) that differ from their defaults.
  method_settings: Tuple[Tuple[str, Any], ...] = ()
  data: DataConfig = DataConfig()
  model: ModelConfig = ModelConfig()
  training: TrainingConfig = TrainingConfig()
  pretraining: PretrainingConfig = PretrainingConfig()
  evaluation: EvaluationConfig = EvaluationConfig()
  vertex: VertexTrainingConfig = VertexTrainingConfig()
  # Beam options for the data components, e.g. ("--runner=DataflowRunner", "--project=...").
  beam_pipeline_args: Tuple[str, ...] = ("--direct_running_mode=in_memory", "--direct_num_workers=1")
  image: str = ""  # the container image the Kubeflow V2 tasks run in (the Dockerfile's build)
  # False (sweeps): evaluate and report only; no baseline comparison, nothing pushed.
  push: bool = True
  # A model trained alongside on the labels alone, that a pool method must beat to be pushed:
  # "supervised" or "none". A no-op for methods that do not use the pool (nothing to compare).
  reference: str = REFERENCE

  def __post_init__(self):
    _require(bool(self.name) and all(c.isalnum() or c in "-_" for c in self.name),
             f"pipeline name {self.name!r} must be letters, digits, '-' or '_'")
    if self.data.picture_shape:  # known before any file is read: checked against the model now
      object.__setattr__(self, "model", dataclasses.replace(
          self.model, image_shape=self.data.picture_shape))
    methods.check(self.method, self.model, self.training)
    self.settings  # the method's own checks
    _require(self.reference in (REFERENCE, NO_REFERENCE),
             f"reference {self.reference!r} does not exist: expected {REFERENCE} or "
             f"{NO_REFERENCE}")
    if self.method_spec.needs_encoder:  # the pretext must fit the architecture
      architectures.pretext_name(self.pretraining.pretext, self.model)

  @property
  def has_reference(self) -> bool:
    """A reference is trained when the method learns from the pool."""
    spec = self.method_spec
    return (self.reference != NO_REFERENCE and self.method != self.reference
            and (spec.uses_unlabeled or spec.needs_encoder))

  @property
  def reference_config(self) -> "PipelineConfig":
    """The reference's settings: this run's, with the reference method and no settings of its
    own, so that runs of other pool methods share (and cache) it."""
    return dataclasses.replace(self, method=self.reference, method_settings=())

  @property
  def method_spec(self) -> methods.MethodSpec:
    return methods.get(self.method)

  @property
  def settings(self) -> Any:
    """The method's config dataclass."""
    return methods.settings(self.method, dict(self.method_settings))

  @property
  def pipeline_root(self) -> str:
    return os.path.join(self.output_dir, "root")

  @property
  def metadata_path(self) -> str:
    return os.path.join(self.output_dir, "metadata.sqlite")

  @property
  def serving_dir(self) -> str:
    return os.path.join(self.output_dir, "serving_model")


def for_pictures(config: "PipelineConfig", image_shape) -> "PipelineConfig":
  """`config` with its model built for the data's pictures; an architecture that cannot read
  them is a one-line error (the PipelineConfig's own checks run again)."""
  return dataclasses.replace(config, model=dataclasses.replace(config.model,
                                                               image_shape=tuple(image_shape)))


# The config sections whose every field is a command-line flag (pipeline/flags.py).
SECTIONS = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig,
            "pretraining": PretrainingConfig, "evaluation": EvaluationConfig}
# The sections `--set` reaches; the data's fields are flags alone (a label budget's default
# follows the data set, decided before any other setting is read).
_SECTIONS = ("model", "training", "pretraining", "evaluation")


def apply_sets(config: "PipelineConfig", items: List[str], readable: Sequence[str] = _SECTIONS,
               method_settings_read: bool = True, reader: str = "") -> "PipelineConfig":
  """`--set` values: SECTION.FIELD=VALUE into that config section, FIELD=VALUE into the
  method's own settings; each value parsed as its field's type. A part that `reader` (a job
  that reads only `readable` sections, and the method's settings if `method_settings_read`)
  would ignore is refused rather than silently dropped."""
  method_settings = dict(config.method_settings)
  sections = {}
  for item in items:
    key, equals, text = item.partition("=")
    if not equals:
      raise ConfigError(f"--set {item!r} must be [SECTION.]FIELD=VALUE")
    section, dot, field = key.rpartition(".")
    if (section in _SECTIONS and section not in readable) or (not dot and not method_settings_read):
      reads = [f"{name}.FIELD" for name in readable] + (["FIELD (the method's settings)"]
                                                         if method_settings_read else [])
      raise ConfigError(f"--set {item!r}: {reader} reads only {', '.join(reads)}")
    if not dot:
      settings_class = config.method_spec.settings
      method_settings[field] = parse_value(settings_class, field, text, f"method {config.method!r}")
      continue
    if section not in _SECTIONS:
      raise ConfigError(f"--set {item!r}: section {section!r} must be one of "
                        f"{', '.join(_SECTIONS)}")
    current = sections.get(section, getattr(config, section))
    if section == "model" and field not in {f.name for f in dataclasses.fields(ModelConfig)}:
      # The architecture's own setting (models/architectures/<name>.py Settings).
      value = parse_value(architectures.get(current.architecture).settings, field, text,
                          f"architecture {current.architecture!r}")
      sections[section] = dataclasses.replace(
          current, settings=tuple({**dict(current.settings), field: value}.items()))
      continue
    sections[section] = dataclasses.replace(current, **{field: parse_value(
        type(current), field, text, section)})
  return dataclasses.replace(config, method_settings=tuple(sorted(method_settings.items())),
                             **sections)
