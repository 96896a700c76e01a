"""`fewlabels predict`: class names for pictures, from a pushed model.

Pictures go through the one conversion of sources/drawing_image.py (what the image folder
source stored and what the model's image signature does), `.npy` files of numpy_bitmap rows are
drawings already; both reach the model's `serving_default` as tf.Examples, in batches. A file
that cannot be read is an answer of its own (an error naming it); the others still get theirs.
"""
import dataclasses
import os
import time
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from sources import features
from sources import image_files
from sources.errors import DataSourceError

NUMPY_SUFFIX = ".npy"


class PredictError(ValueError):
  """A model or an input that cannot be used at all; one line."""


@dataclasses.dataclass
class Answer:
  path: str  # the file, with [row] for a row of a .npy file
  classes: Tuple[str, ...] = ()  # best first
  scores: Tuple[float, ...] = ()
  error: str = ""

  def text(self, top: int) -> str:
    if self.error:
      return f"{self.path}: error: {self.error}"
    return f"{self.path}: " + ", ".join(
        f"{name} {score:.3f}" for name, score in zip(self.classes[:top], self.scores[:top]))

  def json(self, top: int) -> dict:
    if self.error:
      return {"path": self.path, "error": self.error}
    return {"path": self.path, "classes": list(self.classes[:top]),
            "scores": [round(s, 6) for s in self.scores[:top]]}


def find_model(model: Optional[str], output: Optional[str]) -> str:
  """The SavedModel directory: --model (a model, or a serving dir of numbered versions) or the
  latest version pushed under the run dir --output."""
  from components.atomic_pusher.versions import versions
  if model:
    if not os.path.isdir(model):
      raise PredictError(f"--model {model!r} is not a directory")
    latest = versions(model)
    directory = os.path.join(model, latest[-1]) if latest else model
  else:
    serving = os.path.join(output, "serving_model")
    latest = versions(serving)
    if not latest:
      raise PredictError(f"--output {output!r} has no pushed model (no {serving}/<version>): "
                         "run `fewlabels run` first, or pass --model DIR")
    directory = os.path.join(serving, latest[-1])
  if not os.path.isfile(os.path.join(directory, "saved_model.pb")):
    raise PredictError(f"{directory}: not a pushed model (no saved_model.pb)")
  return directory


def _inputs(paths: Sequence[str]) -> Iterator[Tuple[str, object]]:
  """(name, file path or a uint8 [28, 28] drawing) of every picture, in the order given; a
  folder's pictures and .npy files in sorted order. Errors are yielded as DataSourceError."""
  from sources import quickdraw_files
  for path in paths:
    if os.path.isdir(path):
      files = [p for p in image_files.walk(path)
               if image_files.is_picture(p) or p.endswith(NUMPY_SUFFIX)]
    elif os.path.exists(path):
      files = [path]
    else:
      yield path, DataSourceError(f"{path}: no such file or folder")
      continue
    for file in files:
      if not file.endswith(NUMPY_SUFFIX):
        yield file, file
        continue
      try:
        rows = quickdraw_files.open_class_file(file)  # never unpickles: allow_pickle=False
      except DataSourceError as e:
        yield file, e
        continue
      for index in range(rows.shape[0]):
        yield f"{file}[{index}]", np.asarray(rows[index]).reshape(28, 28)


class Predictor:
  """A loaded model answering batches of drawings."""

  def __init__(self, model_dir: str):
    import tensorflow as tf
    from models import export
    self._tf, self._export = tf, export
    loaded = tf.saved_model.load(model_dir)
    missing = [s for s in (export.SERVING_SIGNATURE, export.NAMES_SIGNATURE)
               if s not in loaded.signatures]
    if missing:
      raise PredictError(f"{model_dir}: not a model pushed by fewlabels (no {missing[0]!r} "
                         "signature; models pushed before class names were kept need a new run)")
    self._loaded = loaded
    # The pictures it takes (models exported before they kept it take drawings).
    self.image_shape = (tuple(int(v) for v in loaded.image_shape.numpy())
                        if hasattr(loaded, "image_shape") else features.DRAWING_SHAPE)
    self._serve = loaded.signatures[export.SERVING_SIGNATURE]
    self.class_names = tuple(n.decode("utf-8") for n in loaded.signatures[
        export.NAMES_SIGNATURE]()[export.NAMES_SIGNATURE].numpy())

  def answer(self, drawings: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 pictures of the model's shape ([n, 28, 28] drawings) -> (class names best first
    [n, C], scores [n, C])."""
    from sources import examples as examples_lib
    examples = [examples_lib.image_example(d) for d in drawings]
    out = self._serve(**{self._export.EXAMPLES_INPUT: self._tf.constant(examples)})
    return out[self._export.CLASSES_KEY].numpy(), out[self._export.SCORES_KEY].numpy()


def predict(model_dir: str, paths: Sequence[str], polarity: str = "auto",
            batch_size: int = 256) -> Iterator[Answer]:
  """Answers in input order, a batch at a time (the pool is never loaded whole)."""
  from models import progress
  from sources import drawing_image
  predictor = Predictor(model_dir)
  started = time.monotonic()
  pending: List[Answer] = []
  drawings: List[np.ndarray] = []
  done = 0

  def flush() -> Iterator[Answer]:
    nonlocal done
    if drawings:
      classes, scores = predictor.answer(np.stack(drawings))
      answered = iter(zip(classes, scores))
      for answer in pending:
        if not answer.error:
          names, values = next(answered)
          answer.classes = tuple(n.decode("utf-8") for n in names)
          answer.scores = tuple(float(v) for v in values)
    done += len(drawings)
    progress.log.info("predict: %d pictures answered (%.0f/s)", done,
                      done / max(time.monotonic() - started, 1e-9))
    yield from pending
    pending.clear()
    drawings.clear()

  for name, item in _inputs(paths):
    if isinstance(item, np.ndarray) and predictor.image_shape != features.DRAWING_SHAPE:
      item = DataSourceError(f"{name}: a numpy_bitmap row is a 28 x 28 drawing; the model takes "
                             f"{' x '.join(map(str, predictor.image_shape))} pictures")
    if isinstance(item, DataSourceError):
      pending.append(Answer(name, error=str(item).split(": ", 1)[-1]))
    else:
      try:
        drawing = item if isinstance(item, np.ndarray) else drawing_image.to_picture(
            item, predictor.image_shape, polarity, name=name)
      except DataSourceError as e:
        pending.append(Answer(name, error=str(e).split(": ", 1)[-1]))
      else:
        pending.append(Answer(name))
        drawings.append(drawing)
    if len(drawings) >= batch_size:
      yield from flush()
  yield from flush()
