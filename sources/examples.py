"""The tf.Example every source is written as (sources/features.py names its features): made by
ExampleGen, and by `predict` for the model's serving_default."""
import numpy as np
import tensorflow as tf

from sources import features


def image_example(image: np.ndarray, label: int = features.NO_LABEL, example_id: int = 0,
                  class_name: str = "") -> bytes:
  """One serialized tf.Example of a uint8 [28, 28] (or [28, 28, 1]) drawing."""
  feature = {
      features.CLASS_NAME_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[class_name.encode("utf-8")])),
      features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[np.ascontiguousarray(image, dtype=np.uint8).tobytes()])),
      features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
      features.EXAMPLE_ID_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[example_id])),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
