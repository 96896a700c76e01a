"""The tf.Example every source is written as (sources/features.py names its features): made by
ExampleGen, and by `predict` for the model's serving_default."""
import numpy as np
import tensorflow as tf

from sources import features


def picture_features(image: np.ndarray) -> dict:
  """The figures of features.PICTURE_KEYS of one uint8 picture [H, W] or [H, W, C]: what
  statistics, a schema and the off-topic check see of a picture."""
  pixels = np.asarray(image, dtype=np.uint8)
  plane = pixels if pixels.ndim == 2 else pixels.max(axis=-1)
  ink = plane >= 128
  rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
  return {
      features.IMAGE_HEIGHT_KEY: plane.shape[0], features.IMAGE_WIDTH_KEY: plane.shape[1],
      features.IMAGE_CHANNELS_KEY: 1 if pixels.ndim == 2 else pixels.shape[-1],
      features.MEAN_INTENSITY_KEY: float(pixels.sum()) / (pixels.size * 255.0),
      features.INK_FRACTION_KEY: int(np.count_nonzero(ink)) / ink.size,
      features.INK_HEIGHT_KEY: int(rows[-1] - rows[0] + 1) if rows.size else 0,
      features.INK_WIDTH_KEY: int(columns[-1] - columns[0] + 1) if columns.size else 0,
  }


def picture_figures(pixels: np.ndarray) -> dict:
  """picture_features of each of n pictures, as arrays of n."""
  rows = [picture_features(p) for p in pixels]
  return {key: np.array([row[key] for row in rows]) for key in features.PICTURE_KEYS}


def picture(feature) -> np.ndarray:
  """The picture of one example's features (a tf.train.Example's feature map), by the sizes
  written beside it: uint8 [height, width] for grey ones, [height, width, channels] else."""
  height, width, channels = (feature[key].int64_list.value[0] for key in (
      features.IMAGE_HEIGHT_KEY, features.IMAGE_WIDTH_KEY, features.IMAGE_CHANNELS_KEY))
  pixels = np.frombuffer(feature[features.IMAGE_KEY].bytes_list.value[0], np.uint8)
  return pixels.reshape((height, width) if channels == 1 else (height, width, channels))


def image_example(image: np.ndarray, label: int = features.NO_LABEL, example_id: int = 0,
                  class_name: str = "") -> bytes:
  """One serialized tf.Example of a uint8 picture [H, W] or [H, W, C] (a drawing: [28, 28])."""
  example = tf.train.Example()
  feature = example.features.feature  # filled in place: a third of the cost of Feature objects
  feature[features.CLASS_NAME_KEY].bytes_list.value.append(class_name.encode("utf-8"))
  feature[features.IMAGE_KEY].bytes_list.value.append(
      np.ascontiguousarray(image, dtype=np.uint8).tobytes())
  feature[features.LABEL_KEY].int64_list.value.append(label)
  feature[features.EXAMPLE_ID_KEY].int64_list.value.append(example_id)
  for key, value in picture_features(image).items():
    (feature[key].float_list if isinstance(value, float) else feature[key].int64_list
     ).value.append(value)
  return example.SerializeToString()
