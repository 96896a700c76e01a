"""Moving weights between models by layer name, and digests that show where weights came from."""
import hashlib
from typing import Dict

import numpy as np
import tensorflow as tf


class BaseModelError(ValueError):
  """A pre-trained encoder that cannot initialise the classifier; one line naming it."""


def fingerprints(model: tf.keras.Model) -> Dict[str, str]:
  """{layer name: digest of its weights} for every layer that has weights."""
  return {layer.name: hashlib.sha256(b"".join(np.asarray(w).tobytes()
                                              for w in layer.get_weights())).hexdigest()[:16]
          for layer in model.layers if layer.weights}


def _shapes(layer: tf.keras.layers.Layer) -> list:
  return [tuple(w.shape) for w in layer.weights]


def transfer(source: tf.keras.Model, target: tf.keras.Model, where: str) -> int:
  """Copies every weighted layer of `source` into the layer of `target` with its name; each
  must exist there with the same shapes. Returns how many layers were copied."""
  copied = 0
  target_layers = {layer.name: layer for layer in target.layers}
  for layer in source.layers:
    if not layer.weights:
      continue
    into = target_layers.get(layer.name)
    if into is None or _shapes(into) != _shapes(layer):
      have = _shapes(into) if into is not None else "no such layer"
      raise BaseModelError(
          f"base model {where!r} has layer {layer.name!r} of shapes {_shapes(layer)}; the "
          f"classifier {target.name!r} has {have}: pre-train with the same architecture and sizes")
    into.set_weights(layer.get_weights())
    copied += 1
  return copied
