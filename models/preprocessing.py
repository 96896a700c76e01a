"""Transform's preprocessing_fn and the pixel encoding shared by the data stage and the model.

Transform checks each image and passes its uint8 pixels on as bytes (784 for a drawing: the
size of the data's pictures, ModelConfig.image_shape, comes in its custom_config); the model
scales them
itself (its first layer). Bytes are a quarter of the float32 rows to write, inflate and parse,
so the Trainer reads Transform's output several times faster and holds the whole unlabeled pool
in memory at one byte per pixel, and serving cannot scale differently from training.
"""
import tensorflow as tf

from sources import features

# Transformed features the model reads.
PIXELS_KEY = "image_pixels"  # bytes: height x width x channels uint8, row-major
LABEL_KEY = features.LABEL_KEY  # int64; features.NO_LABEL in the unlabeled split
EXAMPLE_ID_KEY = features.EXAMPLE_ID_KEY
IMAGE_SHAPE_KEY = "image_shape"  # of Transform's custom_config: [height, width, channels]
# The research method's scaling ((p / 255) - 0.5) * 2, as p * scale + offset: [0, 255] -> [-1, 1].
PIXEL_SCALE = 2.0 / 255.0
PIXEL_OFFSET = -1.0


def scale_pixels(pixels: tf.Tensor) -> tf.Tensor:
  """uint8 [0, 255] -> float32 [-1, 1] (the model's first layer does the same)."""
  return tf.cast(pixels, tf.float32) * PIXEL_SCALE + PIXEL_OFFSET


def scaling_layer() -> tf.keras.layers.Layer:
  return tf.keras.layers.Rescaling(PIXEL_SCALE, PIXEL_OFFSET, name="scale_pixels")


def pixels_shape(image_shape) -> tuple:
  """One picture as the models take it: grey ones as rows [height, width] (the LSTM reads
  them row by row), colour ones [height, width, channels]."""
  height, width, channels = image_shape
  return (height, width) if channels == 1 else (height, width, channels)


def decode_pixels(encoded: tf.Tensor, image_shape=features.DRAWING_SHAPE) -> tf.Tensor:
  """[n] strings of height x width x channels bytes -> uint8 [n, height, width(, channels)]."""
  return tf.reshape(tf.io.decode_raw(encoded, tf.uint8), (-1,) + pixels_shape(image_shape))


def _flat(values: tf.Tensor) -> tf.Tensor:
  return tf.reshape(values, [-1])


def preprocessing_fn(inputs, custom_config=None):
  height, width, channels = (custom_config or {}).get(IMAGE_SHAPE_KEY, features.DRAWING_SHAPE)
  size = height * width * channels
  images = _flat(inputs[features.IMAGE_KEY])
  # An image of another size fails the Transform run here, not the Trainer later.
  size_check = tf.debugging.assert_equal(
      tf.strings.length(images), size,
      message=f"every image must hold {size} bytes ({height} x {width} x {channels} uint8 "
              "pixels, the data set's)")
  with tf.control_dependencies([size_check]):
    images = tf.identity(images)
  # Serving feeds only the image: TFT then drops the outputs that need the other features.
  return {PIXELS_KEY: images,
          EXAMPLE_ID_KEY: _flat(inputs[features.EXAMPLE_ID_KEY]),
          LABEL_KEY: _flat(inputs[features.LABEL_KEY])}
