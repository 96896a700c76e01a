"""The pictures' geometry is read from the data: a data set of 16 x 16 colour pictures runs
through the same pipeline as the 28 x 28 drawings (every other pipeline test), with a model
built for it, and the pushed model's image signature and `predict` take a colour PNG."""
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from models.config import ConfigError
from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import predict as predict_lib
from sources import image_builder
from tests.conftest import TINY_MODEL

COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 70, 220)}
SIDE = 16


def _picture(rng, colour):
  """A square of the class's colour on grey noise, somewhere in the picture."""
  picture = rng.integers(90, 160, (SIDE, SIDE, 3)).astype(np.uint8)
  top, left = rng.integers(0, SIDE - 8, 2)
  picture[top:top + 8, left:left + 8] = colour
  return picture


class FewlabelsTestColours(image_builder.ImageClassBuilder):
  """16 x 16 RGB pictures of three colours: a colour data set as a catalog one is prepared."""

  def class_names(self):
    return tuple(COLOURS)

  def _info(self):
    import tensorflow_datasets as tfds
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(SIDE, SIDE, 3), dtype=np.uint8),
            "label": tfds.features.ClassLabel(names=list(COLOURS))}),
        supervised_keys=("image", "label"))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(300, 0), "test": self._generate_examples(90, 1)}

  def _generate_examples(self, count, seed):
    rng = np.random.default_rng(seed)
    for index in range(count):
      label = index % 3
      yield index, {"image": _picture(rng, list(COLOURS.values())[label]), "label": label}


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
  data_dir = str(tmp_path_factory.mktemp("colour_tfds"))
  FewlabelsTestColours(data_dir=data_dir).download_and_prepare()
  config = config_lib.PipelineConfig(
      name="fewlabels-colour", output_dir=str(tmp_path_factory.mktemp("colour_run")),
      method="supervised", model=TINY_MODEL,
      data=config_lib.DataConfig(dataset="fewlabels_test_colours", tfds_data_dir=data_dir,
                                 label_budget="60"),
      training=config_lib.TrainingConfig(epochs=3, min_epochs=0),
      evaluation=config_lib.EvaluationConfig(min_accuracy=0.5))
  return config, local_runner.run(config)


def test_a_colour_data_set_trains_a_model_of_its_shape_and_pushes_it(colour_run):
  config, summary = colour_run
  trainer = json.loads(summary.components[pipeline_lib.TRAINER].properties["custom_config"])
  assert trainer["model"]["image_shape"] == [SIDE, SIDE, 3]  # from the data, not a setting
  assert summary.test_accuracy > 0.5 and summary.pushed_to
  assert summary.serving_check.startswith("passed"), summary.serving_check  # every signature


def test_the_pushed_models_image_signature_and_predict_take_a_colour_png(colour_run, tmp_path):
  config, summary = colour_run
  rng = np.random.default_rng(7)
  path = tmp_path / "green.png"
  # A photo-like file: larger than the data's pictures and not square.
  Image.fromarray(np.kron(_picture(rng, COLOURS["green"]), np.ones((3, 2, 1), np.uint8))).save(path)
  loaded = tf.saved_model.load(summary.pushed_to)
  served = loaded.signatures["serving_image"](images=tf.constant([path.read_bytes()]))
  assert served["probabilities"].shape == (1, 3)
  [answer] = list(predict_lib.predict(summary.pushed_to, [str(path)]))
  assert not answer.error and set(answer.classes) == set(COLOURS)
  assert answer.classes[0] == "green"


def test_an_architecture_that_reads_grey_pictures_is_refused_before_any_work(tmp_path):
  with pytest.raises(ConfigError, match="architecture 'lstm' cannot read pictures of 3 channels"):
    config_lib.for_pictures(config_lib.PipelineConfig(
        method="supervised", model=config_lib.ModelConfig(architecture="lstm")), (SIDE, SIDE, 3))
