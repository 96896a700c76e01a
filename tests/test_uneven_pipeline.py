"""Every labeled picture counts, through the whole pipeline (LocalDagRunner): folders whose classes
differ in size (30, 80 and 45 labeled pictures) keep every picture with `--labels all`, and a run
with an empty unlabeled split (every picture labeled, or an empty `unlabeled/`) trains, evaluates
and pushes the supervised method; trained under mixed bfloat16, the pushed model still answers in
float32 through every signature."""
import dataclasses
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from components.tfds_example_gen import spec as example_gen_spec
from models import run_fn
from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from sources import features
from tests import image_folder_data
from tests.conftest import TINY_DATA, TINY_MODEL, with_method

pytestmark = pytest.mark.slow

UNEVEN = (30, 80, 45)
TRAINING = config_lib.TrainingConfig(epochs=4, min_epochs=0)


def _folder_config(name, root, output, tfds_dir, method):
  return with_method(config_lib.PipelineConfig(
      name=name, output_dir=output,
      data=config_lib.DataConfig(dataset="image_folder", tfds_data_dir=tfds_dir, manual_dir=root,
                                 label_budget="all"),
      model=TINY_MODEL, training=TRAINING,
      pretraining=config_lib.PretrainingConfig(steps_per_stage=8, batch_size=128),
      evaluation=config_lib.EvaluationConfig(min_accuracy=0.0)), method)


@pytest.fixture(scope="module")
def uneven_runs(tmp_path_factory, tfds_dir):
  """The default method on an uneven folder with a pool; supervised on an uneven folder whose
  unlabeled/ is empty; supervised on the tiny doodles with every training picture labeled,
  under mixed bfloat16."""
  result = {}
  for key, pool, method in (("default", 90, config_lib.DEFAULT_METHOD),
                            ("no_pool", 0, "supervised")):
    root = str(tmp_path_factory.mktemp(key) / "pictures")
    image_folder_data.write(root, labeled=UNEVEN, unlabeled=pool, test=10,
                            classes=image_folder_data.UNEVEN_CLASSES)
    result[key] = local_runner.run(_folder_config(
        f"fewlabels-uneven-{key}", root, str(tmp_path_factory.mktemp(f"{key}_run")), tfds_dir,
        method))
  result["all_labeled"] = local_runner.run(config_lib.PipelineConfig(
      name="fewlabels-all-labeled", output_dir=str(tmp_path_factory.mktemp("all_labeled")),
      method="supervised",
      data=config_lib.DataConfig(dataset=TINY_DATA, tfds_data_dir=tfds_dir, label_budget="100%"),
      model=TINY_MODEL, training=dataclasses.replace(TRAINING, precision="mixed_bfloat16"),
      evaluation=config_lib.EvaluationConfig(min_accuracy=0.0)))
  return result


def _examples(summary):
  return summary.components[pipeline_lib.EXAMPLE_GEN].output("examples")


def _split_labels(summary, split):
  """The labels of the examples ExampleGen wrote to `split`, read from its files."""
  files = glob.glob(os.path.join(_examples(summary).uri, f"Split-{split}", "*.gz"))
  labels = []
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    example = tf.train.Example.FromString(record.numpy())
    labels.append(example.features.feature[features.LABEL_KEY].int64_list.value[0])
  return np.array(labels, np.int64)


@pytest.mark.parametrize("key", ["default", "no_pool"])
def test_every_labeled_picture_of_uneven_folders_is_in_the_labeled_split(uneven_runs, key):
  summary = uneven_runs[key]
  assert summary.split_counts["labeled"] == sum(UNEVEN)
  assert np.bincount(_split_labels(summary, "labeled")).tolist() == list(UNEVEN)
  per_class = json.loads(_examples(summary).custom_properties[
      example_gen_spec.LABELED_PER_CLASS_PROPERTY].string_value)
  assert per_class == {str(c): n for c, n in enumerate(UNEVEN)}
  note = _examples(summary).custom_properties[example_gen_spec.BUDGET_NOTE_PROPERTY].string_value
  assert "every one of the 155 labeled images is kept" in note and "'bar across' 30" in note
  with open(summary.report, encoding="utf-8") as f:
    report = f.read()
  assert "every one of the 155 labeled images is kept" in report
  assert summary.pushed_to and os.path.isdir(summary.pushed_to), summary.push_reason


def test_the_default_trains_uneven_classes_on_class_balanced_batches(uneven_runs):
  summary = uneven_runs["default"]
  assert summary.split_counts["unlabeled"] == 90
  model_run = summary.components[pipeline_lib.TRAINER].output("model_run")
  with open(os.path.join(model_run.uri, run_fn.HISTORY_FILE)) as f:
    history = json.load(f)
  assert history["method"] == config_lib.DEFAULT_METHOD
  assert history["class_balanced"] is True
  assert summary.components[pipeline_lib.PRETRAINER].state == "COMPLETE"


@pytest.mark.parametrize("key", ["no_pool", "all_labeled"])
def test_a_run_with_an_empty_pool_trains_evaluates_and_pushes_supervised(uneven_runs, key):
  summary = uneven_runs[key]
  assert summary.split_counts["unlabeled"] == 0
  assert summary.split_counts["labeled"] == (sum(UNEVEN) if key == "no_pool" else 1000)
  for component in (pipeline_lib.TRANSFORM, pipeline_lib.TRAINER, pipeline_lib.EVALUATOR,
                    pipeline_lib.PUSHER):
    assert summary.components[component].state == "COMPLETE", component
  # The schema comes from the splits that hold examples: the image is a live feature.
  schema = summary.components[pipeline_lib.SCHEMA_GEN].output("schema")
  text = open(os.path.join(schema.uri, "schema.pbtxt")).read()
  assert "DEPRECATED" not in text and f'name: "{features.IMAGE_KEY}"' in text
  assert summary.test_accuracy is not None and summary.blessed
  assert summary.pushed_to and os.listdir(summary.pushed_to)


def test_a_model_trained_under_mixed_precision_answers_in_float32_through_every_signature(uneven_runs):
  from models import export
  from sources import examples as examples_lib
  summary = uneven_runs["all_labeled"]
  model_run = summary.components[pipeline_lib.TRAINER].output("model_run")
  with open(os.path.join(model_run.uri, run_fn.HISTORY_FILE)) as f:
    assert json.load(f)["compute_dtype"] == "bfloat16"
  loaded = tf.saved_model.load(summary.pushed_to)
  pixels = np.zeros((28, 28), np.uint8)
  pixels[10:18, 4:24] = 255
  by_examples = loaded.signatures[export.SERVING_SIGNATURE](examples=tf.constant(
      [examples_lib.image_example(pixels[..., None])] * 2))
  png = tf.io.encode_png(tf.constant(pixels[..., None])).numpy()
  by_bytes = loaded.signatures[export.IMAGE_SIGNATURE](images=tf.constant([png]))
  for out in (by_examples, by_bytes):
    assert out[export.PREDICTION_KEY].dtype == tf.float32
    assert out[export.SCORES_KEY].dtype == tf.float32
    np.testing.assert_allclose(out[export.PREDICTION_KEY].numpy().sum(axis=1), 1.0, atol=1e-5)
  np.testing.assert_allclose(by_bytes[export.PREDICTION_KEY].numpy()[0],
                             by_examples[export.PREDICTION_KEY].numpy()[0], atol=1e-5)
  names = loaded.signatures[export.NAMES_SIGNATURE]()[export.NAMES_SIGNATURE].numpy()
  assert len(names) == 10
  # The Trainer's process went back to float32 afterwards: the components share it.
  assert tf.keras.mixed_precision.global_policy().name == "float32"
