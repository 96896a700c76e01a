"""The serving check before every push: every signature of the model about to be pushed answers
test examples in a fresh process, agreeing on the scores, and refuses malformed requests; a
model that fails is not cleared for the Pusher and the reason names the signature."""
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.serving_check import executor
from models import export
from sources import examples as examples_lib
from sources import features

NAMES = ["circle", "line", "square"]


class _Model(tf.Module):
  """A stand-in for the exported model, with the same signatures; `broken` names the one
  that misbehaves."""

  def __init__(self, broken: str = "", polarity: str = "auto"):
    super().__init__()
    self.broken, self.dark_on_light = broken, polarity == "dark_on_light"
    self.names_variable = tf.Variable(NAMES, trainable=False)
    self.polarity = tf.Variable(polarity, trainable=False)

  def _answer(self, pixels, flip=False):
    ink = tf.reduce_mean(tf.cast(pixels, tf.float32), axis=[1, 2]) / 255.0
    logits = tf.stack([ink, 1.0 - ink, tf.fill(tf.shape(ink), 0.5)], axis=1) * 4.0
    probabilities = tf.nn.softmax(logits[:, ::-1] if flip else logits)
    best = tf.math.top_k(probabilities, k=3)
    return {export.PREDICTION_KEY: probabilities, export.SCORES_KEY: best.values,
            export.CLASSES_KEY: tf.gather(self.names_variable, best.indices)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=export.EXAMPLES_INPUT)])
  def serve(self, examples):
    raw = tf.io.parse_example(examples, {features.IMAGE_KEY: tf.io.FixedLenFeature([], tf.string)})
    pixels = tf.reshape(tf.io.decode_raw(raw[features.IMAGE_KEY], tf.uint8), [-1, 28, 28])
    return self._answer(pixels)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=export.IMAGES_INPUT)])
  def serve_images(self, images):
    pixels = tf.map_fn(lambda one: tf.io.decode_png(one, channels=1)[..., 0], images,
                       fn_output_signature=tf.TensorSpec([28, 28], tf.uint8))
    if self.dark_on_light:  # what the pipeline's model does for pictures of dark ink
      pixels = 255 - pixels
    return self._answer(pixels, flip=self.broken == export.IMAGE_SIGNATURE)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=export.CLASSIFY_INPUT)])
  def classify(self, inputs):
    answer = self.serve(inputs)
    return {export.CLASSES_KEY: answer[export.CLASSES_KEY],
            export.SCORES_KEY: answer[export.SCORES_KEY]}

  @tf.function(input_signature=[])
  def names(self):
    return {export.NAMES_SIGNATURE: tf.identity(self.names_variable)}

  def save(self, directory):
    signatures = {export.SERVING_SIGNATURE: self.serve, export.IMAGE_SIGNATURE: self.serve_images,
                  export.NAMES_SIGNATURE: self.names}
    if self.broken != export.CLASSIFY_SIGNATURE:
      signatures[export.CLASSIFY_SIGNATURE] = self.classify
    tf.saved_model.save(self, directory, signatures=signatures)


def _test_examples(count=12):
  rng = np.random.default_rng(0)
  return [examples_lib.image_example(rng.integers(0, 256, (28, 28), dtype=np.uint8), label=i % 3)
          for i in range(count)]


def _saved(tmp_path, broken="", polarity="auto"):
  directory = str(tmp_path / f"model_{broken or 'good'}_{polarity}" / "Format-Serving")
  _Model(broken, polarity).save(directory)
  return directory


@pytest.mark.parametrize("polarity", ["auto", "dark_on_light"])
def test_a_model_whose_signatures_agree_passes(tmp_path, polarity):
  # A model that reads pictures as dark ink on light is sent its pictures so.
  assert executor.probe(_saved(tmp_path, polarity=polarity), _test_examples()) is None


@pytest.mark.parametrize("broken,fragment", [
    (export.IMAGE_SIGNATURE, "serving_image: scores of the same pictures as PNG differ from "
                             "serving_default's"),
    (export.CLASSIFY_SIGNATURE, "classify: the model has no such signature"),
])
def test_a_broken_signature_is_named(tmp_path, broken, fragment):
  failure = executor.probe(_saved(tmp_path, broken), _test_examples())
  assert failure and failure.startswith(fragment), failure


def test_a_directory_that_is_no_model_fails_in_the_fresh_process_not_here(tmp_path):
  failure = executor.probe(str(tmp_path), _test_examples())
  assert failure.startswith("loading the model failed in a fresh process (exit status 1"), failure


def _artifacts(tmp_path, model_dir, blessed):
  model = standard_artifacts.Model()
  model.uri = os.path.dirname(model_dir)
  blessing = standard_artifacts.ModelBlessing()
  blessing.uri = str(tmp_path / "blessing")
  blessing.set_int_custom_property("blessed", int(blessed))
  blessing.set_string_custom_property("chosen", "candidate" if blessed else "")
  blessing.set_int_custom_property("current_model_id", 7)
  examples = standard_artifacts.Examples()
  examples.uri = str(tmp_path / "examples")
  examples.split_names = '["test"]'
  os.makedirs(os.path.join(examples.uri, "Split-test"))
  with tf.io.TFRecordWriter(os.path.join(examples.uri, "Split-test", "part-0.gz"),
                            "GZIP") as writer:
    for record in _test_examples():
      writer.write(record)
  decision = standard_artifacts.ModelBlessing()
  decision.uri = str(tmp_path / "decision")
  os.makedirs(decision.uri)
  return ({executor.MODEL_KEY: [model], executor.BLESSING_KEY: [blessing],
           executor.EXAMPLES_KEY: [examples]}, {executor.DECISION_KEY: [decision]}, decision)


def test_a_model_that_fails_is_not_cleared_for_the_pusher_and_the_decision_says_why(tmp_path):
  inputs, outputs, decision = _artifacts(tmp_path, _saved(tmp_path, export.IMAGE_SIGNATURE), True)
  executor.Executor().Do(inputs, outputs, {executor.SAMPLE_SIZE_KEY: 8})
  assert decision.get_int_custom_property("blessed") == 0
  assert decision.get_int_custom_property(executor.PUSH_CHOICE_PROPERTY) == 0
  assert decision.get_string_custom_property(executor.RESULT_PROPERTY).startswith(
      "failed: serving_image:")
  assert decision.get_string_custom_property("chosen") == ""
  assert decision.get_string_custom_property("reason").startswith("serving check failed")
  assert os.listdir(decision.uri) == ["NOT_BLESSED"]


def test_a_good_model_is_cleared_and_keeps_the_decision_it_checked(tmp_path):
  inputs, outputs, decision = _artifacts(tmp_path, _saved(tmp_path), True)
  executor.Executor().Do(inputs, outputs, {executor.SAMPLE_SIZE_KEY: 8})
  assert decision.get_int_custom_property("blessed") == 1
  assert decision.get_int_custom_property(executor.PUSH_CHOICE_PROPERTY) == 1
  assert decision.get_string_custom_property(executor.RESULT_PROPERTY) == (
      "passed (8 test examples through every signature)")
  assert decision.get_int_custom_property("current_model_id") == 7  # what the resolver reads
  assert decision.get_string_custom_property("chosen") == "candidate"


def test_nothing_to_push_is_not_checked(tmp_path):
  inputs, outputs, decision = _artifacts(tmp_path, str(tmp_path / "none" / "Format-Serving"),
                                         False)
  executor.Executor().Do(inputs, outputs, {executor.SAMPLE_SIZE_KEY: 8})
  assert decision.get_int_custom_property("blessed") == 0
  assert decision.get_string_custom_property(executor.RESULT_PROPERTY) == (
      "not checked: nothing to push")
