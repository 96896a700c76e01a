"""Transform's preprocessing_fn: raw image bytes -> 28 timesteps of 28 features in [-1, 1]."""
import tensorflow as tf

from sources import features

# Transformed features the model reads.
SEQUENCE_KEY = "image_rows"  # float32 [28, 28]: one timestep per image row
LABEL_KEY = features.LABEL_KEY  # int64; features.NO_LABEL in the unlabeled split
EXAMPLE_ID_KEY = features.EXAMPLE_ID_KEY


def scale_pixels(pixels: tf.Tensor) -> tf.Tensor:
  """uint8 [0, 255] -> float32 [-1, 1], as the research method: ((p / 255) - 0.5) * 2."""
  return (tf.cast(pixels, tf.float32) / 255.0 - 0.5) * 2.0


def _flat(values: tf.Tensor) -> tf.Tensor:
  return tf.reshape(values, [-1])


def preprocessing_fn(inputs):
  pixels = tf.io.decode_raw(_flat(inputs[features.IMAGE_KEY]), tf.uint8)
  rows = tf.reshape(scale_pixels(pixels), [-1, features.IMAGE_SIZE, features.IMAGE_SIZE])
  # Serving feeds only the image: TFT then drops the outputs that need the other features.
  return {SEQUENCE_KEY: rows,
          EXAMPLE_ID_KEY: _flat(inputs[features.EXAMPLE_ID_KEY]),
          LABEL_KEY: _flat(inputs[features.LABEL_KEY])}
