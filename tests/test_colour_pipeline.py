"""The pictures' geometry is read from the data: a folder of colour photos (PNG and JPEG of
several sizes and aspect ratios, `--color --image-size 32`) runs through the same pipeline as
the 28 x 28 drawings (every other pipeline test), with a model built for 32 x 32 x 3, and the
pushed model's image signature and `predict` take a colour PNG."""
import json

import numpy as np
import pytest
import tensorflow as tf

from models.config import ConfigError
from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import predict as predict_lib
from tests import image_folder_data
from tests.conftest import TINY_MODEL

SIDE = 32


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("photos"))
  image_folder_data.write_colour(root, labeled=30, unlabeled=0, test=20)
  config = config_lib.PipelineConfig(
      name="fewlabels-colour", output_dir=str(tmp_path_factory.mktemp("colour_run")),
      method="supervised", model=TINY_MODEL,
      data=config_lib.DataConfig(dataset="image_folder", manual_dir=root, color=True,
                                 image_size=SIDE,
                                 tfds_data_dir=str(tmp_path_factory.mktemp("colour_tfds"))),
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
  path = tmp_path / "green.png"
  green = list(image_folder_data.COLOURS).index("green")
  image_folder_data.colour_picture(green, np.random.default_rng(7)).resize((150, 70)).save(path)
  loaded = tf.saved_model.load(summary.pushed_to)
  served = loaded.signatures["serving_image"](images=tf.constant([path.read_bytes()]))
  assert served["probabilities"].shape == (1, 3)
  [answer] = list(predict_lib.predict(summary.pushed_to, [str(path)]))
  assert not answer.error and set(answer.classes) == set(image_folder_data.COLOURS)
  assert answer.classes[0] == "green"


def test_an_architecture_that_reads_grey_pictures_is_refused_before_any_work(tmp_path):
  with pytest.raises(ConfigError, match="architecture 'lstm' cannot read pictures of 3 channels"):
    config_lib.for_pictures(config_lib.PipelineConfig(
        method="supervised", model=config_lib.ModelConfig(architecture="lstm")), (SIDE, SIDE, 3))
  with pytest.raises(ConfigError, match="architecture 'lstm' cannot read pictures of 3 channels"):
    config_lib.PipelineConfig(method="supervised", model=config_lib.ModelConfig(architecture="lstm"),
                              data=config_lib.DataConfig(dataset="image_folder", color=True))


def test_a_catalog_data_set_of_colour_pictures_gives_its_geometry_and_a_huge_one_is_refused(
    tmp_path):
  import tensorflow_datasets as tfds
  from sources import image_builder
  from sources import tfds_source
  from sources.errors import DataSourceError
  colour = tfds_source.load_builder(tfds_source.SourceSpec("doodles/color_tiny", str(tmp_path)))
  assert tfds_source.image_shape(colour) == (SIDE, SIDE, 3)

  class FewlabelsTestPosters(image_builder.ImageClassBuilder):
    """Two 600 x 600 colour pictures: larger than the project sizes its models for."""

    def class_names(self):
      return ("a", "b")

    def image_shape(self):
      return (600, 600, 3)

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples(), "test": self._generate_examples()}

    def _generate_examples(self):
      for index in range(2):
        yield index, {"image": np.zeros((600, 600, 3), np.uint8), "label": index}

  FewlabelsTestPosters(data_dir=str(tmp_path)).download_and_prepare()
  assert "fewlabels_test_posters" in tfds.list_builders()
  with pytest.raises(DataSourceError, match="600 x 600 pixels: at most 512 a side"):
    tfds_source.load_builder(tfds_source.SourceSpec("fewlabels_test_posters", str(tmp_path)))
