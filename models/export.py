"""SavedModel export with a serving signature over serialized tf.Examples (Transform inside)."""
import tempfile

import tensorflow as tf
import tensorflow_transform as tft

from models import preprocessing
from sources import features

SERVING_SIGNATURE = "serving_default"
PREDICTION_KEY = "probabilities"


class _ServingModule(tf.Module):
  """Raw tf.Example bytes -> class probabilities; only the image feature is needed."""

  def __init__(self, model: tf.keras.Model, tft_output: tft.TFTransformOutput):
    super().__init__()
    self.model = model
    self.transform_layer = tft_output.transform_features_layer()
    raw_spec = tft_output.raw_feature_spec()
    self._serving_spec = {features.IMAGE_KEY: raw_spec[features.IMAGE_KEY]}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
  def serve(self, serialized):
    raw = tf.io.parse_example(serialized, self._serving_spec)
    pixels = preprocessing.decode_pixels(self.transform_layer(raw)[preprocessing.PIXELS_KEY])
    return {PREDICTION_KEY: self.model(pixels, training=False)}


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == "chief":
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return not has_chief and resolver.task_type == "worker" and resolver.task_id == 0


def export_serving_model(model: tf.keras.Model, tft_output: tft.TFTransformOutput,
                         serving_model_dir: str, strategy: tf.distribute.Strategy) -> None:
  """Every worker must save (the save runs collective ops); only the chief's copy is kept."""
  module = _ServingModule(model, tft_output)
  if is_chief(strategy):
    tf.saved_model.save(module, serving_model_dir, signatures={SERVING_SIGNATURE: module.serve})
    return
  scratch = tempfile.mkdtemp(prefix="worker_export_")
  try:
    tf.saved_model.save(module, scratch, signatures={SERVING_SIGNATURE: module.serve})
  finally:
    tf.io.gfile.rmtree(scratch)
