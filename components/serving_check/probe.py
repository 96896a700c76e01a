"""Run in a fresh process by the serving check: loads a pushed-to-be SavedModel as a server
would and calls every signature on the test examples in a file; prints one JSON line,
{"failure": null} or {"failure": "<signature>: <why>"}.

  python -m components.serving_check.probe MODEL_DIR EXAMPLES_FILE

EXAMPLES_FILE is a TFRecord file of serialized tf.Examples (the check's sample of `test`).
"""
import json
import sys

import numpy as np

# The scores every signature gives for the same images agree to this (the same graph on the
# same pixels; PNG is lossless for 8-bit pixels).
TOLERANCE = 1e-5


class Failure(Exception):
  """One line: which signature failed and why."""


def _call(signatures, name, **inputs):
  import tensorflow as tf
  if name not in signatures:
    raise Failure(f"{name}: the model has no such signature")
  try:
    return {key: value.numpy() for key, value in signatures[name](**inputs).items()}
  except (tf.errors.OpError, TypeError, ValueError) as e:
    raise Failure(f"{name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None


def _refuses(signatures, name, **inputs) -> None:
  """A malformed request must be an error the server returns, not an answer or a crash."""
  import tensorflow as tf
  try:
    signatures[name](**inputs)
  except tf.errors.OpError:
    return
  raise Failure(f"{name}: answered a malformed request instead of refusing it")


def check(model_dir: str, serialized) -> None:
  """Raises Failure naming the first signature that does not serve these examples."""
  import tensorflow as tf
  from models import export
  from sources import examples as examples_lib
  loaded = tf.saved_model.load(model_dir)
  signatures = loaded.signatures
  # The examples hold light ink on dark; a model reading pictures as dark ink on light gets
  # them so, as its users send them.
  polarity = loaded.polarity.numpy().decode() if hasattr(loaded, "polarity") else "auto"
  examples = tf.constant(serialized)
  served = _call(signatures, export.SERVING_SIGNATURE, **{export.EXAMPLES_INPUT: examples})
  probabilities = served[export.PREDICTION_KEY]
  if not (np.isfinite(probabilities).all()
          and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)):
    raise Failure(f"{export.SERVING_SIGNATURE}: the probabilities are not a distribution")
  names = _call(signatures, export.NAMES_SIGNATURE)[export.NAMES_SIGNATURE]
  if len(names) != probabilities.shape[1]:
    raise Failure(f"{export.NAMES_SIGNATURE}: {len(names)} names for {probabilities.shape[1]} "
                  "classes")
  if not (served[export.CLASSES_KEY][:, 0] == names[probabilities.argmax(axis=1)]).all():
    raise Failure(f"{export.SERVING_SIGNATURE}: the best class is not the most probable one")
  classified = _call(signatures, export.CLASSIFY_SIGNATURE, **{export.CLASSIFY_INPUT: examples})
  if not ((classified[export.CLASSES_KEY] == served[export.CLASSES_KEY]).all() and np.allclose(
      classified[export.SCORES_KEY], served[export.SCORES_KEY], atol=TOLERANCE)):
    raise Failure(f"{export.CLASSIFY_SIGNATURE}: answers differ from {export.SERVING_SIGNATURE}'s")
  pixels = [examples_lib.picture(tf.train.Example.FromString(s).features.feature)
            for s in serialized]
  pixels = [p[..., None] if p.ndim == 2 else p for p in pixels]
  if polarity == "dark_on_light" and pixels[0].shape[-1] == 1:
    pixels = [255 - p for p in pixels]  # only grey pictures (drawings) are read with a polarity
  pictures = tf.constant([tf.io.encode_png(p).numpy() for p in pixels])
  by_picture = _call(signatures, export.IMAGE_SIGNATURE, **{export.IMAGES_INPUT: pictures})
  worst = float(np.abs(by_picture[export.PREDICTION_KEY] - probabilities).max())
  if worst > TOLERANCE:
    raise Failure(f"{export.IMAGE_SIGNATURE}: scores of the same pictures as PNG differ from "
                  f"{export.SERVING_SIGNATURE}'s by up to {worst:.2g} (tolerance {TOLERANCE})")
  _refuses(signatures, export.SERVING_SIGNATURE,
           **{export.EXAMPLES_INPUT: tf.constant([b"not a tf.Example"])})
  _refuses(signatures, export.IMAGE_SIGNATURE,
           **{export.IMAGES_INPUT: tf.constant([b"not a picture"])})


def main(argv) -> int:
  import tensorflow as tf
  model_dir, examples_file = argv[1:3]
  serialized = [r.numpy() for r in tf.data.TFRecordDataset(examples_file)]
  try:
    check(model_dir, serialized)
    failure = None
  except Failure as e:
    failure = str(e)
  print(json.dumps({"failure": failure, "examples": len(serialized)}))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
