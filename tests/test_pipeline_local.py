"""The whole pipeline on tiny doodles with LocalDagRunner; assertions read ml-metadata and files.

One session fixture makes three runs (they share one pipeline root and ml-metadata):
  good: trains, is blessed, pushes;  same: nothing changed, so the cache serves everything up to
  the Trainer;  crippled: zero epochs, so only the Trainer and what follows rerun, and the
  untrained model is not blessed and pushes nothing.
"""
import dataclasses
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from components.tfds_example_gen import spec as example_gen_spec
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results
from sources import doodle_drawing
from sources import features
from sources import label_budget
from sources import splits
from sources import tfds_source
from tests.conftest import LABELS, MIN_ACCURACY, TINY_DATA

pytestmark = pytest.mark.slow

MODEL_STAGE = (pipeline_lib.TRAINER, pipeline_lib.EVALUATOR, pipeline_lib.PUSHER)


def _records(examples_artifact, split):
  files = glob.glob(os.path.join(examples_artifact.uri, f"Split-{split}", "*.gz"))
  return [tf.train.Example.FromString(r.numpy())
          for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def _int(example, key):
  return example.features.feature[key].int64_list.value[0]


def test_every_component_ran_and_the_model_was_blessed_and_pushed(runs):
  good = runs["good"]
  expected = set(pipeline_lib.DATA_STAGE + MODEL_STAGE) | {pipeline_lib.BASELINE_RESOLVER}
  assert expected <= set(good.components)
  for component in pipeline_lib.DATA_STAGE + MODEL_STAGE:
    assert good.components[component].state == "COMPLETE", component
  assert good.test_accuracy is not None and good.test_accuracy >= MIN_ACCURACY
  assert good.blessed
  assert good.pushed_to and os.path.isfile(os.path.join(good.pushed_to, "saved_model.pb"))


def test_a_run_leaves_no_copy_of_tfx_in_the_temp_dir(runs):
  # 42 MB for each Beam component of each run, never deleted, had filled a disk.
  assert runs["tfx_copies_left"] == []


def test_pushed_model_serves_raw_examples(runs, tfds_dir):
  builder = tfds_source.load_builder(tfds_source.SourceSpec(TINY_DATA, tfds_dir))
  images, labels = next(iter(builder.as_dataset(split="test", batch_size=64, as_supervised=True)))
  serialized = [
      tf.train.Example(features=tf.train.Features(feature={
          features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(
              value=[image.numpy().tobytes()]))})).SerializeToString()
      for image in images]
  serve = tf.saved_model.load(runs["good"].pushed_to).signatures["serving_default"]
  probabilities = serve(examples=tf.constant(serialized))["probabilities"].numpy()
  assert probabilities.shape == (64, 10)
  assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
  # Better than chance, on images given as a client would (image feature only).
  assert (probabilities.argmax(axis=1) == labels.numpy()).mean() > 0.2


def test_the_pushed_model_passed_the_serving_check_recorded_in_ml_metadata(runs):
  from components.serving_check import executor as serving_check
  good, crippled = runs["good"], runs["crippled"]
  assert good.serving_check == "passed (64 test examples through every signature)"
  decision = good.components[pipeline_lib.SERVING_CHECK].output(serving_check.DECISION_KEY)
  assert run_results.custom_value(decision, serving_check.PUSH_CHOICE_PROPERTY) == 1
  assert "serving check: passed" in run_results.format_summary(good)
  assert crippled.serving_check == "not checked: nothing to push"  # not blessed


def test_a_classification_request_gets_the_classes_and_scores_of_serving_default(runs, tfds_dir):
  from tensorflow.core.protobuf import saved_model_pb2
  from tensorflow_serving.apis import classification_pb2
  from models import export
  builder = tfds_source.load_builder(tfds_source.SourceSpec(TINY_DATA, tfds_dir))
  images, _ = next(iter(builder.as_dataset(split="test", batch_size=8, as_supervised=True)))
  request = classification_pb2.ClassificationRequest()
  request.model_spec.name, request.model_spec.signature_name = "fewlabels", "classify"
  for image in images:
    request.input.example_list.examples.add().features.feature[
        features.IMAGE_KEY].bytes_list.value.append(image.numpy().tobytes())
  model_dir = runs["good"].pushed_to
  # What TF Serving checks before it answers :classify from a signature.
  with open(os.path.join(model_dir, "saved_model.pb"), "rb") as f:
    signature = saved_model_pb2.SavedModel.FromString(f.read()).meta_graphs[0].signature_def[
        request.model_spec.signature_name]
  assert signature.method_name == "tensorflow/serving/classify"
  assert list(signature.inputs) == ["inputs"]
  assert signature.inputs["inputs"].dtype == tf.string.as_datatype_enum
  assert sorted(signature.outputs) == ["classes", "scores"]
  loaded = tf.saved_model.load(model_dir)
  serialized = tf.constant([e.SerializeToString() for e in request.input.example_list.examples])
  classified = loaded.signatures[request.model_spec.signature_name](inputs=serialized)
  served = loaded.signatures[export.SERVING_SIGNATURE](examples=serialized)
  assert classified["classes"].shape == (8, 10)
  assert (classified["classes"].numpy() == served["classes"].numpy()).all()
  np.testing.assert_allclose(classified["scores"].numpy(), served["scores"].numpy(), atol=1e-6)


def test_example_gen_writes_the_budgeted_splits(runs, tfds_dir):
  examples = runs["good"].components[pipeline_lib.EXAMPLE_GEN].output("examples")
  labeled = _records(examples, splits.LABELED_SPLIT)
  unlabeled = _records(examples, splits.UNLABELED_SPLIT)
  test = _records(examples, splits.TEST_SPLIT)
  source = tfds_source.load_builder(tfds_source.SourceSpec(TINY_DATA, tfds_dir)).info.splits
  num_train, num_test = source["train"].num_examples, source["test"].num_examples
  budget = label_budget.LabelBudget(LABELS).count(num_train, 10)
  assert (len(labeled), len(unlabeled), len(test)) == (budget, num_train - budget, num_test)
  labeled_ids = {_int(e, features.EXAMPLE_ID_KEY) for e in labeled}
  unlabeled_ids = {_int(e, features.EXAMPLE_ID_KEY) for e in unlabeled}
  assert not labeled_ids & unlabeled_ids
  assert labeled_ids | unlabeled_ids == set(range(num_train))
  assert {_int(e, features.LABEL_KEY) for e in unlabeled} == {features.NO_LABEL}
  per_class = np.bincount([_int(e, features.LABEL_KEY) for e in labeled], minlength=10)
  assert per_class.max() - per_class.min() <= 1
  # The images are the data set's own bytes, compact (one 784-byte feature).
  builder = tfds_source.load_builder(tfds_source.SourceSpec(TINY_DATA, tfds_dir))
  first = next(iter(builder.as_dataset(split="train[0:1]", as_supervised=True)))[0].numpy()
  stored = next(e for e in labeled + unlabeled if _int(e, features.EXAMPLE_ID_KEY) == 0)
  assert stored.features.feature[features.IMAGE_KEY].bytes_list.value[0] == first.tobytes()
  assert run_results.custom_value(examples, example_gen_spec.SPLIT_COUNTS_PROPERTY)


def test_evaluation_has_accuracy_per_class_by_name(runs):
  import tensorflow_model_analysis as tfma
  evaluation = runs["good"].components[pipeline_lib.EVALUATOR].output("evaluation")
  result = tfma.load_eval_result(evaluation.uri)
  class_slices = {key for key, _ in result.slicing_metrics if key}
  assert class_slices == {((features.CLASS_NAME_KEY, name),) for name in doodle_drawing.CLASS_NAMES}


def test_rerun_with_nothing_changed_reuses_the_cache(runs):
  same = runs["same"]
  for component in pipeline_lib.DATA_STAGE + (pipeline_lib.TRAINER,):
    assert same.components[component].state == "CACHED", component
  assert same.blessed  # the same model against itself: no regression


def test_changed_training_setting_reruns_only_the_model_stage(runs, tiny_config):
  crippled = runs["crippled"]
  for component in pipeline_lib.DATA_STAGE:
    assert crippled.components[component].state == "CACHED", component
  assert crippled.components[pipeline_lib.TRAINER].state == "COMPLETE"
  assert crippled.test_accuracy < MIN_ACCURACY
  assert not crippled.blessed
  assert crippled.pushed_to is None
  # Only blessed runs added versions; each push went to a new directory.
  versions = {os.path.join(tiny_config.serving_dir, v) for v in os.listdir(tiny_config.serving_dir)}
  assert versions == {runs["good"].pushed_to, runs["same"].pushed_to}


def test_a_failed_push_leaves_no_partial_version(runs, tiny_config, monkeypatch):
  from components.atomic_pusher import executor as atomic_pusher
  from components.atomic_pusher.versions import versions
  from pipeline import local_runner
  serving = tiny_config.serving_dir
  before = versions(serving)
  # What a push killed mid-copy leaves: a hidden partial copy, which no server loads.
  leftover = os.path.join(serving, atomic_pusher.PARTIAL_PREFIX + "123")
  os.makedirs(os.path.join(leftover, "variables"))
  monkeypatch.setenv(atomic_pusher.FAIL_ENV, "1")  # the disk fills up during the copy
  # A new gate (the Evaluator runs again and blesses), so that the Pusher runs.
  lenient = dataclasses.replace(tiny_config, evaluation=config_lib.EvaluationConfig(
      min_accuracy=0.0, max_regression=1.0))
  with pytest.raises(atomic_pusher.PushError, match=f"pushing the model to {serving} failed "
                                                    r"\(No space left on device\)"):
    local_runner.run(lenient)
  assert versions(serving) == before
  assert sorted(os.listdir(serving)) == before  # the leftover and the failed copy are gone
  for version in before:  # every listed version is whole
    assert os.path.isfile(os.path.join(serving, version, "saved_model.pb"))
    assert os.path.isdir(os.path.join(serving, version, "variables"))
