"""Pretexts: what the encoder learns from unlabeled images in the pre-training component.

Each pretext builds the model of every pre-training stage and the (inputs, targets) it learns
from a batch of uint8 pixels. The encoder it leaves has the classifier's layer names, so the
classifier starts from it by name (`weights.transfer`).

LSTM, greedy stage by stage (stage k trains layers 1..k, started from stage k-1's):
- reconstruct: row t from the state after row t (the research method's; near-identity: the
  LSTM can copy its input);
- sequence_autoencoder: the last layer's final state alone seeds a decoder LSTM that rebuilds
  all 28 rows (Dai & Le 2015): the drawing must pass through one state;
- next_row: row t+1 from the rows up to t (a language model over rows).
CNN, one stage: denoise: the trunk sees the drawing with pixels dropped and a square cut out,
and a small decoder rebuilds the clean drawing.
"""
import dataclasses
import os
from typing import Callable, Tuple

import tensorflow as tf

from models import architectures
from models import config as config_lib
from models import layers
from models import preprocessing
from models import weights
from models.architectures import cnn
from models.architectures import lstm

ENCODER_FILE = "encoder.keras"  # inside the Model artifact's serving dir (the Trainer's base_model)
HEAD = "pretext_head"
DENOISE_DROP = 0.3  # share of ink pixels dropped
DENOISE_CUTOUT = 8


@dataclasses.dataclass(frozen=True)
class Pretext:
  name: str
  architecture: str
  stages: Callable[[config_lib.ModelConfig], int]
  build: Callable[[int, config_lib.ModelConfig], tf.keras.Model]  # stage (1-based) -> model
  targets: Callable[[tf.Tensor], Tuple[tf.Tensor, tf.Tensor]]  # uint8 pixels -> (inputs, targets)
  encoder_output: Callable[[int], str]  # the layer whose output is the encoder's, at a stage


def _lstm_stack(x: tf.Tensor, model: config_lib.ModelConfig, depth: int,
                last_returns_sequences: bool) -> tf.Tensor:
  for index in range(depth):
    x = tf.keras.layers.LSTM(
        architectures.settings(model).width,
        return_sequences=last_returns_sequences or index < depth - 1,
        name=lstm.lstm_layer_name(index))(x)
  return x


def _per_row(depth: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  """LSTM x depth (sequences out) -> Dense(width) per row."""
  pixels, x = layers.image_input(model.image_shape)
  x = _lstm_stack(x, model, depth, last_returns_sequences=True)
  out = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(model.image_shape[1]), name=HEAD)(x)
  return tf.keras.Model(pixels, out, name=f"pretext_stage_{depth}")


def _sequence_autoencoder(depth: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  """LSTM x depth, the last one's final state only -> decoder LSTM over the rows -> rows."""
  pixels, x = layers.image_input(model.image_shape)
  height, width, _ = model.image_shape
  state = _lstm_stack(x, model, depth, last_returns_sequences=False)
  # The decoder's every step and its initial state see the final state and nothing else.
  repeated = tf.keras.layers.RepeatVector(height, name="repeat_state")(state)
  decoded = tf.keras.layers.LSTM(architectures.settings(model).width, return_sequences=True,
                                 name="decoder_lstm")(
      repeated, initial_state=[state, tf.zeros_like(state)])
  out = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(width), name=HEAD)(decoded)
  return tf.keras.Model(pixels, out, name=f"sequence_autoencoder_{depth}")


def _denoiser(depth: int, model: config_lib.ModelConfig) -> tf.keras.Model:
  """CNN trunk -> two transposed convolutions back to the pictures' size."""
  height, image_width, channels = model.image_shape
  pixels, x = layers.image_input(model.image_shape)
  width = architectures.settings(model).width
  x = cnn.trunk(x, width, model.image_shape)
  for index, width in enumerate((2 * width, width)):
    x = tf.keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu",
                                        name=f"decoder_{index + 1}")(x)
  x = tf.keras.layers.Conv2D(channels, 3, padding="same", name="decoder_out")(x)
  if (x.shape[1], x.shape[2]) != (height, image_width):  # a side that 4 does not divide
    x = tf.keras.layers.Resizing(height, image_width, name="decoder_resize")(x)
  out = tf.keras.layers.Reshape(preprocessing.pixels_shape(model.image_shape), name=HEAD)(x)
  return tf.keras.Model(pixels, out, name="denoiser")


def reconstruct_targets(pixels: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  return pixels, preprocessing.scale_pixels(pixels)


def next_row_targets(pixels: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Target of row t is row t+1; after the last row comes background."""
  scaled = preprocessing.scale_pixels(pixels)
  background = tf.fill(tf.shape(scaled[:, :1]), preprocessing.PIXEL_OFFSET)
  return pixels, tf.concat([scaled[:, 1:], background], axis=1)


def denoise_targets(pixels: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """(corrupted picture, the clean picture scaled): pixels dropped, and a square cut out."""
  keep = tf.random.uniform(tf.shape(pixels)) >= DENOISE_DROP
  corrupted = tf.where(keep, pixels, tf.zeros_like(pixels))
  n, height, width = tf.shape(pixels)[0], tf.shape(pixels)[1], tf.shape(pixels)[2]
  # Within the shorter side's square (all of a drawing): one draw of both corners, as before.
  corner = tf.random.uniform([n, 2], 0, tf.minimum(height, width) - DENOISE_CUTOUT,
                             dtype=tf.int32)
  rows = (tf.range(height)[None] >= corner[:, :1]) & (
      tf.range(height)[None] < corner[:, :1] + DENOISE_CUTOUT)
  cols = (tf.range(width)[None] >= corner[:, 1:]) & (
      tf.range(width)[None] < corner[:, 1:] + DENOISE_CUTOUT)
  inside = rows[:, :, None] & cols[:, None, :]
  if pixels.shape.rank == 4:  # colour: every channel of the square
    inside = inside[..., None]
  corrupted = tf.where(inside, tf.zeros_like(pixels), corrupted)
  return corrupted, preprocessing.scale_pixels(pixels)


def _layers(model: config_lib.ModelConfig) -> int:
  return architectures.settings(model).layers


def _last_lstm(depth: int) -> str:
  return lstm.lstm_layer_name(depth - 1)


PRETEXTS = {p.name: p for p in (
    Pretext("reconstruct", config_lib.LSTM, _layers, _per_row, reconstruct_targets, _last_lstm),
    Pretext("sequence_autoencoder", config_lib.LSTM, _layers, _sequence_autoencoder,
            reconstruct_targets, _last_lstm),
    Pretext("next_row", config_lib.LSTM, _layers, _per_row, next_row_targets, _last_lstm),
    Pretext("denoise", config_lib.CNN, lambda model: 1, _denoiser, denoise_targets,
            lambda depth: f"{cnn.TRUNK[-1][0]}_relu"),
)}


def resolve(name: str, model: config_lib.ModelConfig) -> Pretext:
  """The pretext `name` ("auto": the architecture's default) if it fits the architecture."""
  return PRETEXTS[architectures.pretext_name(name, model)]


def encoder_of(pretext: Pretext, stage_model: tf.keras.Model, depth: int) -> tf.keras.Model:
  """The stage model up to the encoder's output: the layers the classifier starts from."""
  return tf.keras.Model(stage_model.input, stage_model.get_layer(pretext.encoder_output(depth)).output,
                        name="encoder")


def save_encoder(encoder: tf.keras.Model, directory: str) -> str:
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, ENCODER_FILE)
  encoder.save(path)
  return path


def load_encoder(directory: str) -> tf.keras.Model:
  path = os.path.join(directory, ENCODER_FILE)
  if not tf.io.gfile.exists(path):
    raise weights.BaseModelError(f"base model {directory!r} holds no {ENCODER_FILE}: expected "
                                 "the output of the LayerwisePretrainer component")
  return tf.keras.models.load_model(path, compile=False)
