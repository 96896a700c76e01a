"""The pushed SavedModel: answers with class names, from tf.Examples or from picture files.

Signatures (`classes` and `scores` aligned, best first, as TF Serving's Classify API has them):
  serving_default(examples: serialized tf.Examples) -> probabilities (class-index order, what
      the Evaluator reads), scores, classes
  serving_image(images: encoded PNG/JPEG/GIF/BMP bytes; REST: {"b64": ...}) -> the same, after
      the one picture conversion of sources/drawing_image.py
  classify(inputs: serialized tf.Examples) -> classes, scores: a Classify signature (method
      tensorflow/serving/classify), for TF Serving's `:classify` and its ClassificationRequest
  class_names() -> class_names
The class names live in the model (`class_names`, a variable), so no side file can drift from it.
"""
import os
import tempfile
from typing import Callable, Sequence

import tensorflow as tf
import tensorflow_transform as tft
# tf-keras' own switch (what `Model.save(save_traces=False)` sets); pinned with the lock.
from tensorflow.core.protobuf import saved_model_pb2
from tf_keras.src.saving.legacy.saved_model import utils as keras_saved_model

from models import preprocessing
from sources import drawing_image
from sources import features

SERVING_SIGNATURE = "serving_default"
IMAGE_SIGNATURE = "serving_image"
NAMES_SIGNATURE = "class_names"
CLASSIFY_SIGNATURE = "classify"
# What TF Serving's Classify API requires of a signature: this method name, one string input
# `inputs` of serialized tf.Examples, and no outputs but `classes` and `scores`.
CLASSIFY_METHOD = "tensorflow/serving/classify"
CLASSIFY_INPUT = "inputs"
PREDICTION_KEY = "probabilities"
SCORES_KEY = "scores"
CLASSES_KEY = "classes"
EXAMPLES_INPUT = "examples"
IMAGES_INPUT = "images"


class _ServingModule(tf.Module):
  """Raw tf.Example bytes or encoded pictures -> probabilities, and names best first."""

  def __init__(self, model: tf.keras.Model, tft_output: tft.TFTransformOutput,
               class_names: Sequence[str], polarity: str):
    super().__init__()
    self.model = model
    shape = tuple(int(v) for v in model.input.shape[1:])
    self._image_shape = shape if len(shape) == 3 else shape + (1,)  # grey pictures come as rows
    self.transform_layer = tft_output.transform_features_layer()
    raw_spec = tft_output.raw_feature_spec()
    self._serving_spec = {features.IMAGE_KEY: raw_spec[features.IMAGE_KEY]}
    self.class_names = tf.Variable(list(class_names), trainable=False, dtype=tf.string,
                                   name="class_names")
    self._polarity = drawing_image.check_polarity(polarity)
    # Kept in the model: how `serving_image` reads pictures (the serving check feeds it so).
    self.polarity = tf.Variable(polarity, trainable=False, dtype=tf.string, name="polarity")
    # And the pictures it takes (height, width, channels): what `predict` converts files to.
    self.image_shape = tf.Variable(list(self._image_shape), trainable=False, dtype=tf.int64,
                                   name="image_shape")

  def _answer(self, pixels: tf.Tensor):
    probabilities = self.model(pixels, training=False)
    best = tf.math.top_k(probabilities, k=tf.shape(probabilities)[-1])
    return {PREDICTION_KEY: probabilities, SCORES_KEY: best.values,
            CLASSES_KEY: tf.gather(self.class_names, best.indices)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES_INPUT)])
  def serve(self, serialized):
    raw = tf.io.parse_example(serialized, self._serving_spec)
    return self._answer(preprocessing.decode_pixels(
        self.transform_layer(raw)[preprocessing.PIXELS_KEY], self._image_shape))

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=IMAGES_INPUT)])
  def serve_images(self, encoded):
    pixels = tf.map_fn(
        lambda one: drawing_image.picture_from_bytes(one, self._image_shape, self._polarity),
        encoded, fn_output_signature=tf.TensorSpec(
            preprocessing.pixels_shape(self._image_shape), tf.uint8))
    return self._answer(pixels)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=CLASSIFY_INPUT)])
  def classify(self, serialized):
    answer = self.serve(serialized)
    return {CLASSES_KEY: answer[CLASSES_KEY], SCORES_KEY: answer[SCORES_KEY]}

  @tf.function(input_signature=[])
  def names(self):
    return {NAMES_SIGNATURE: tf.identity(self.class_names)}

  def signatures(self):
    return {SERVING_SIGNATURE: self.serve, IMAGE_SIGNATURE: self.serve_images,
            CLASSIFY_SIGNATURE: self.classify, NAMES_SIGNATURE: self.names}


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == "chief":
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return not has_chief and resolver.task_type == "worker" and resolver.task_id == 0


def export_serving_model(model: tf.keras.Model, tft_output: tft.TFTransformOutput,
                         serving_model_dir: str, strategy: tf.distribute.Strategy,
                         class_names: Sequence[str], polarity: str = "auto") -> None:
  """The serving SavedModel, written on every worker (see on_every_worker)."""
  module = _ServingModule(model, tft_output, class_names, polarity)
  on_every_worker(lambda directory: save(module, directory), serving_model_dir, strategy)


def on_every_worker(write: Callable[[str], None], directory: str,
                    strategy: tf.distribute.Strategy) -> None:
  """`write(directory)` on the chief; every other worker writes into a scratch directory it
  then deletes. Every worker must write: reading distributed variables runs collective ops,
  and a worker that left early would leave the chief waiting for it."""
  if is_chief(strategy):
    write(directory)
    return
  scratch = tempfile.mkdtemp(prefix="worker_export_")
  try:
    write(scratch)
  finally:
    tf.io.gfile.rmtree(scratch)


def save(module: tf.Module, directory: str) -> None:
  """The model answers through its signatures only. Without this scope Keras also traces every
  layer's call, for reviving the model as Keras, which nothing does: 5-18 s of an export on 2
  cores against about 2 s (`bench/startup.py`)."""
  with keras_saved_model.keras_option_scope(save_traces=False, in_tf_saved_model_scope=True):
    tf.saved_model.save(module, directory, signatures=module.signatures())
  _mark_classify(directory)


def _mark_classify(directory: str) -> None:
  """tf.saved_model.save writes every signature as a Predict one; TF Serving answers `:classify`
  only from a signature whose method name says Classify."""
  path = os.path.join(directory, "saved_model.pb")
  saved = saved_model_pb2.SavedModel.FromString(tf.io.gfile.GFile(path, "rb").read())
  marked = False
  for meta_graph in saved.meta_graphs:
    if CLASSIFY_SIGNATURE in meta_graph.signature_def:
      meta_graph.signature_def[CLASSIFY_SIGNATURE].method_name = CLASSIFY_METHOD
      marked = True
  if marked:
    with tf.io.gfile.GFile(path, "wb") as f:
      f.write(saved.SerializeToString())
