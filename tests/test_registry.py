"""The method and architecture registries: one module each, found by name; a new method is one
spec, and every consumer (config, pipeline, CLI) takes it."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from models import architectures
from models import classifier
from models import input_fn
from models import methods
from models.config import ConfigError, ModelConfig, TrainingConfig
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from sources import image_builder


def test_the_registries_hold_the_research_methods_and_the_new_ones():
  assert set(methods.RESEARCH) <= set(methods.names())
  assert {"consistency", "pretrained_consistency"} <= set(methods.names())
  assert set(architectures.names()) == {"cnn", "lstm", "resnet"}
  for name in methods.names():
    spec = methods.get(name)
    assert spec.name == name and spec.description
    spec.settings()  # every method's settings have defaults


_TINY = {"cnn": (("width", 4),), "lstm": (("layers", 1), ("width", 4)),
         "resnet": (("blocks", 1), ("width", 4))}


@pytest.mark.parametrize("architecture", ["cnn", "lstm", "resnet"])
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (30, 44, 3), (45, 21, 1)])
def test_every_architecture_maps_pictures_of_the_datas_shape_to_class_probabilities(
    architecture, shape):
  model = ModelConfig(architecture=architecture, settings=_TINY[architecture], image_shape=shape)
  if shape[2] not in architectures.get(architecture).channels:
    with pytest.raises(ConfigError, match=f"architecture '{architecture}' cannot read pictures "
                                          f"of 3 channels .* use one of cnn, resnet"):
      architectures.build(7, model)
    return
  built = architectures.build(7, model)
  pictures = np.zeros((3,) + (shape[:2] if shape[2] == 1 else shape), np.uint8)
  out = built(pictures).numpy()
  assert out.shape == (3, 7) and np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("method", ["consistency", "self_training"])  # consistency warm-starts supervised
def test_the_residual_network_trains_by_every_method_without_a_pretext(method, tmp_path):
  """In memory, on colour pictures whose class is their colour: what the pipeline's CNN path
  does for it (tests/test_registry_pipeline.py refuses its pretext methods in one line)."""
  rng = np.random.default_rng(0)
  colours = np.array([[220, 40, 40], [40, 200, 60]], np.uint8)
  labels = np.array([0, 1] * 10 + [-1] * 40)
  truth = np.arange(60) % 2
  pictures = np.clip(colours[truth][:, None, None, :] + rng.integers(-30, 30, (60, 16, 16, 3)),
                     0, 255).astype(np.uint8)
  labeled, pool = input_fn.in_memory(input_fn.Examples(pictures, labels, np.arange(60)))
  model = ModelConfig(architecture="resnet", settings=_TINY["resnet"], image_shape=(16, 16, 3))
  settings = methods.settings(method, {"consistency": {"steps": 2, "steps_per_epoch": 2, "photo_ops": 1,
                                                       "batch_norm_images": 32},
                                       "self_training": {"max_rounds": 1, "min_pool": 0,
                                                         "window": 40}}.get(method, {}))
  request = methods.TrainRequest(
      labeled=labeled, pool=pool, build_model=lambda: architectures.build(2, model),
      training=TrainingConfig(epochs=1, min_epochs=0, validation_fraction=0.2,
                              min_validation_to_select=0, translate_pixels=0.0,
                              min_steps_per_epoch=2),
      settings=settings, num_classes=2, log_dir=str(tmp_path),
      strategy=tf.distribute.get_strategy())
  trained = methods.train(method, request)
  assert trained.model.input_shape == (None, 16, 16, 3)
  assert trained.model.predict(pictures[:4], verbose=0).shape == (4, 2)


def test_a_method_that_cannot_train_an_architecture_is_refused_naming_both():
  spec = dataclasses.replace(methods.get("supervised"), name="lstm_only", architectures=("lstm",))
  methods.register(spec)
  try:
    with pytest.raises(ConfigError, match="method 'lstm_only' does not train architecture 'cnn'"):
      config_lib.PipelineConfig(method="lstm_only", model=ModelConfig(architecture="cnn"))
  finally:
    methods._SPECS.pop("lstm_only")


@dataclasses.dataclass(frozen=True)
class _MajoritySettings:
  rounds: int = 1


def _train_majority(request: methods.TrainRequest) -> methods.Trained:
  """A new method: the classifier's bias is set to the labeled split's class frequencies."""
  model = request.build_model()
  labeled, _ = classifier.labeled_parts(request.labeled, request.training)
  counts = np.bincount(labeled.labels, minlength=request.num_classes) + 1
  bias = model.get_layer("probabilities")
  kernel, _ = bias.get_weights()
  bias.set_weights([np.zeros_like(kernel), np.log(counts / counts.sum()).astype(np.float32)])
  return methods.Trained(model, {"rounds": request.settings.rounds})


def test_a_new_method_is_one_spec_and_every_consumer_takes_it(tmp_path):
  spec = methods.MethodSpec(name="majority", description="the most frequent class",
                            uses_unlabeled=True, needs_encoder=False, train=_train_majority,
                            settings=_MajoritySettings)
  methods.register(spec)
  try:
    config = config_lib.PipelineConfig(method="majority", method_settings=(("rounds", 3),),
                                       output_dir=str(tmp_path))
    assert config.settings == _MajoritySettings(rounds=3)
    custom = pipeline_lib.trainer_custom_config(config, [str(c) for c in range(10)], "v")
    assert custom["method"] == "majority" and custom["method_settings"] == {"rounds": 3}
    with pytest.raises(ConfigError, match="method 'majority' has no setting 'epochs'"):
      config_lib.PipelineConfig(method="majority", method_settings=(("epochs", 3),))
    rng = np.random.default_rng(0)
    labels = np.array([0] * 30 + [1] * 10 + [-1] * 20)
    examples = input_fn.Examples(rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
                                         labels, np.arange(60))
    labeled, pool = input_fn.in_memory(examples)
    request = methods.TrainRequest(
        labeled=labeled, pool=pool, build_model=lambda: architectures.build(2, ModelConfig(settings=(("width", 4),))),
        training=TrainingConfig(validation_fraction=0.0), settings=config.settings,
        num_classes=2, log_dir=str(tmp_path), strategy=tf.distribute.get_strategy())
    trained = methods.train("majority", request)
    # The labels are 30 and 10: uneven, so the method was handed class-balanced batches.
    assert trained.history == {"rounds": 3, "method": "majority", "class_balanced": True}
    assert (trained.model(examples.pixels).numpy().argmax(axis=1) == 0).all()
  finally:
    methods._SPECS.pop("majority")


def test_the_model_code_version_covers_the_method_and_architecture_folders(monkeypatch, tmp_path):
  before = pipeline_lib.model_code_version()
  fake = tmp_path / "models"
  (fake / "methods").mkdir(parents=True)
  for path in pipeline_lib._MODEL_CODE.rglob("*.py"):
    target = fake / path.relative_to(pipeline_lib._MODEL_CODE)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(path.read_bytes())
  monkeypatch.setattr(pipeline_lib, "_MODEL_CODE", fake)
  assert pipeline_lib.model_code_version() == before
  (fake / "methods" / "consistency.py").write_text("# changed\n")
  assert pipeline_lib.model_code_version() != before


def test_models_never_import_the_pipeline_or_tfds():
  import pathlib
  root = pathlib.Path(methods.__file__).resolve().parents[1]
  for path in root.rglob("*.py"):
    text = path.read_text()
    assert "from pipeline" not in text and "import pipeline" not in text, path
  config_text = (root / "config.py").read_text()
  assert "tensorflow_datasets" not in config_text and "tfx" not in config_text


@dataclasses.dataclass(frozen=True)
class _FlatSettings:
  """A contributor's architecture settings."""
  hidden: int = 8  # units of the hidden layer


def _build_flat(num_classes: int, settings: _FlatSettings, image_shape) -> tf.keras.Model:
  from models import layers
  pixels, x = layers.image_input(image_shape)
  x = tf.keras.layers.Flatten()(x)
  x = tf.keras.layers.Dense(settings.hidden, activation="relu", name="hidden")(x)
  return tf.keras.Model(pixels, layers.class_probabilities(x, num_classes), name="flat")


def test_a_new_architecture_is_one_spec_and_its_settings_are_flags():
  from pipeline import cli
  architectures.register(architectures.ArchitectureSpec("flat", _build_flat, (), _FlatSettings))
  try:
    args = cli.build_parser().parse_args(["run", "--model", "flat", "--flat-hidden", "5",
                                          "--method", "supervised"])
    config = cli.config_from_args(args, "out")
    assert architectures.settings(config.model) == _FlatSettings(hidden=5)
    model = architectures.build(3, config.model)
    assert model.get_layer("hidden").units == 5 and model.output_shape == (None, 3)
    assert "units of the hidden layer" in cli.build_parser()._subparsers._group_actions[
        0].choices["run"].format_help()
    with pytest.raises(ConfigError, match="architecture 'flat' has no setting 'width'"):
      architectures.settings(ModelConfig(architecture="flat", settings=(("width", 3),)))
  finally:
    architectures._SPECS.pop("flat")


def _report_majority(history):
  return methods.ReportSection("Majority vote", ("One class & its share.",), ("round", "share"),
                               ((1, 0.75), (2, None)), bars=((3, 1), (2, 2)), bars_x=(1, 2),
                               x_label="round", y_label="votes")


def test_a_new_methods_report_section_is_drawn_from_its_spec():
  from components.evaluation_report import executor as report
  spec = methods.MethodSpec(name="majority", description="the most frequent class",
                            uses_unlabeled=False, needs_encoder=False, train=_train_majority,
                            report=_report_majority)
  methods.register(spec)
  try:
    page = report._training_section({"method": "majority"}, None)
  finally:
    methods._SPECS.pop("majority")
  assert "<h3>Majority vote</h3>" in page and "<p>One class &amp; its share.</p>" in page
  assert "<td>0.7500</td>" in page and "<td>n/a</td>" in page  # the report formats the values
  assert page.count("<img") == 1  # the bars
  # A method without a section of its own: only the curves every method gets.
  assert "<h3>" not in report._training_section({"method": "supervised"}, None)


class RegistryStripes(image_builder.ImageClassBuilder):
  """A contributor's data source: horizontal or vertical stripes."""

  def class_names(self):
    return ("horizontal", "vertical")

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(60, 0), "test": self._generate_examples(20, 1)}

  def _generate_examples(self, count, seed):
    rng = np.random.default_rng(seed)
    for index in range(count):
      label = index % 2
      image = np.zeros((28, 28), np.uint8)
      lines = slice(int(rng.integers(0, 4)), None, 4)
      image[lines] = 255
      yield index, {"image": (image.T if label else image)[..., None], "label": label}


def test_a_new_data_source_is_a_tfds_builder_and_example_gen_reads_it(tmp_path):
  from tfx.types import standard_artifacts
  from components.tfds_example_gen import executor, spec
  from sources import splits
  RegistryStripes(data_dir=str(tmp_path / "tfds")).download_and_prepare()  # as `tfds build`
  output = standard_artifacts.Examples()
  output.uri = str(tmp_path / "examples")
  executor.Executor().Do({}, {spec.EXAMPLES_KEY: [output]}, {
      spec.DATASET_KEY: "registry_stripes", spec.TFDS_DATA_DIR_KEY: str(tmp_path / "tfds"),
      spec.LABEL_BUDGET_KEY: "10", spec.SEED_KEY: 0, spec.TRAIN_SPLIT_KEY: "train",
      spec.TEST_SPLIT_KEY: "test"})
  counts = json.loads(output.get_string_custom_property(spec.SPLIT_COUNTS_PROPERTY))
  assert counts == {splits.LABELED_SPLIT: 10, splits.UNLABELED_SPLIT: 50, splits.TEST_SPLIT: 20}
  assert json.loads(output.get_string_custom_property(spec.CLASS_NAMES_PROPERTY)) == [
      "horizontal", "vertical"]
