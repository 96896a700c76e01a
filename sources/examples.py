"""The tf.Example every source is written as (sources/features.py names its features): made by
ExampleGen, and by `predict` for the model's serving_default."""
import numpy as np
import tensorflow as tf

from sources import features


def picture_features(image: np.ndarray) -> dict:
  """The per-picture figures of features.PICTURE_KEYS, for statistics and a schema."""
  pixels = np.asarray(image, dtype=np.uint8)
  if pixels.ndim == 2:
    pixels = pixels[..., None]
  height, width, channels = pixels.shape
  ink = pixels.max(axis=-1) >= 128
  rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
  return {
      features.IMAGE_HEIGHT_KEY: height, features.IMAGE_WIDTH_KEY: width,
      features.IMAGE_CHANNELS_KEY: channels,
      features.MEAN_INTENSITY_KEY: float(pixels.mean()) / 255.0,
      features.INK_FRACTION_KEY: float(ink.mean()),
      features.INK_HEIGHT_KEY: int(rows[-1] - rows[0] + 1) if rows.size else 0,
      features.INK_WIDTH_KEY: int(columns[-1] - columns[0] + 1) if columns.size else 0,
  }


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
  for key, value in picture_features(image).items():
    feature[key] = (tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
                    if isinstance(value, float) else
                    tf.train.Feature(int64_list=tf.train.Int64List(value=[value])))
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
