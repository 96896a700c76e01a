"""Pictures in the report: per class, the test pictures the model got most confidently wrong,
and a sample of the pool pictures it accepts as pseudo-labels (its top probability at least the
last threshold of consistency training: what the final model would teach itself). Thumbnails
are inline PNGs, dark ink on light as people draw; the selection is pure and tested apart."""
import base64
import io
from typing import Dict, List, Sequence, Tuple

import numpy as np

from components.evaluation_report import render
from sources import examples as examples_lib
from sources import features

PER_CLASS = 4  # thumbnails per class and section
POOL_SCORED = 4096  # pool pictures scored for the pseudo-label sample
TEST_SCORED = 20_000  # test pictures scored for the mistakes (the first ones of the split)
_SCALE = 2  # thumbnail pixels per picture pixel


def confident_mistakes(labels: np.ndarray, probabilities: np.ndarray,
                       per_class: int = PER_CLASS) -> Dict[int, List[int]]:
  """{true class: indices of its wrongly predicted pictures, most confident first}."""
  predicted = probabilities.argmax(axis=1)
  confidence = probabilities.max(axis=1)
  chosen = {}
  for cls in range(probabilities.shape[1]):
    wrong = np.flatnonzero((labels == cls) & (predicted != cls))
    if wrong.size:
      chosen[cls] = wrong[np.argsort(-confidence[wrong], kind="stable")][:per_class].tolist()
  return chosen


def accepted_sample(probabilities: np.ndarray, thresholds: Sequence[float],
                    per_class: int = PER_CLASS, seed: int = 0) -> Dict[int, List[int]]:
  """{pseudo-label: a seeded sample of the pictures whose top probability reaches that class's
  threshold}."""
  predicted = probabilities.argmax(axis=1)
  accepted = probabilities.max(axis=1) >= np.asarray(thresholds)[predicted]
  rng = np.random.default_rng(seed)
  chosen = {}
  for cls in range(probabilities.shape[1]):
    members = np.flatnonzero(accepted & (predicted == cls))
    if members.size:
      chosen[cls] = sorted(rng.choice(members, min(per_class, members.size),
                                      replace=False).tolist())
  return chosen


def read_split(split_dir: str, limit: int) -> Tuple[List[bytes], np.ndarray, np.ndarray]:
  """(serialized examples, uint8 pictures [n, H, W], labels) of a split's first `limit`."""
  import tensorflow as tf

  from components.serving_check import executor as serving_check_executor
  serialized = serving_check_executor.sample(split_dir, limit)
  pixels, labels = [], []
  for record in serialized:
    example = tf.train.Example.FromString(record).features.feature
    pixels.append(examples_lib.picture(example))
    labels.append(example[features.LABEL_KEY].int64_list.value[0])
  return (serialized, np.stack(pixels) if pixels else np.zeros((0,) + features.DRAWING_SHAPE[:2]),
          np.array(labels, dtype=np.int64))


def score(model_dir: str, serialized: List[bytes], batch: int = 512) -> np.ndarray:
  """Class probabilities from the exported model's serving_default, as a server answers."""
  import tensorflow as tf

  from models import export
  serve = tf.saved_model.load(model_dir).signatures[export.SERVING_SIGNATURE]
  parts = [serve(**{export.EXAMPLES_INPUT: tf.constant(serialized[i:i + batch])})[
      export.PREDICTION_KEY].numpy() for i in range(0, len(serialized), batch)]
  return np.concatenate(parts) if parts else np.zeros((0, 0))


def thumbnail(pixels: np.ndarray, caption: str) -> str:
  """A picture as the report shows it: grey drawings (light ink) as dark ink on white, colour
  pictures as they are."""
  from PIL import Image
  pixels = pixels.astype(np.uint8)
  picture = Image.fromarray(255 - pixels if pixels.ndim == 2 else pixels).resize(
      (pixels.shape[1] * _SCALE, pixels.shape[0] * _SCALE), Image.NEAREST)
  buffer = io.BytesIO()
  picture.save(buffer, format="PNG")
  data = base64.b64encode(buffer.getvalue()).decode("ascii")
  return (f'<figure class="thumb"><img class="thumb" alt="{render.escape(caption)}" '
          f'src="data:image/png;base64,{data}"><figcaption>{render.escape(caption)}'
          "</figcaption></figure>")


def gallery(title: str, note: str, chosen: Dict[int, List[int]], pixels: np.ndarray,
            caption, names: Sequence[str]) -> str:
  """One row per class of `chosen`; `caption(index)` labels each picture."""
  shown = sum(len(v) for v in chosen.values())
  rows = "".join(
      f'<div class="gallery-row"><span class="gallery-class">{render.escape(names[cls])}</span>'
      + "".join(thumbnail(pixels[i], caption(i)) for i in indices) + "</div>"
      for cls, indices in sorted(chosen.items()))
  return (f"<h3>{render.escape(title)}</h3><p>{note} <span class=\"shown\">{shown}</span> "
          f"pictures shown.</p>{rows}")


def mistakes_section(labels: np.ndarray, probabilities: np.ndarray, pixels: np.ndarray,
                     names: Sequence[str]) -> str:
  chosen = confident_mistakes(labels, probabilities)
  predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
  wrong = int((predicted != labels).sum())
  return gallery(
      "Most confidently wrong, per class",
      f"Of {len(labels):,} test pictures scored, {wrong:,} are wrong; per true class, up to "
      f"{PER_CLASS} of those the model was surest of, with the class it chose.",
      chosen, pixels,
      lambda i: f"{names[labels[i]]} as {names[predicted[i]]} {confidence[i]:.2f}", names)


def pseudo_label_section(probabilities: np.ndarray, pixels: np.ndarray,
                         thresholds: Sequence[float], names: Sequence[str]) -> str:
  chosen = accepted_sample(probabilities, thresholds)
  predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
  accepted = int((confidence >= np.asarray(thresholds)[predicted]).sum())
  return gallery(
      "Pseudo-labels the final model accepts, per class",
      f"Of {len(probabilities):,} pool pictures scored by the final model, {accepted:,} reach "
      f"the last threshold of consistency training ({min(thresholds):.2f}"
      f"{'' if min(thresholds) == max(thresholds) else f' to {max(thresholds):.2f}'}); a "
      f"sample of up to {PER_CLASS} per pseudo-label.",
      chosen, pixels, lambda i: f"{names[predicted[i]]} {confidence[i]:.2f}", names)


def off_topic_section(found: dict) -> str:
  """What the off-topic check of the pool found (models/off_topic.py), with its most
  off-topic pictures."""
  if not found.get("scored"):
    return ""
  done = {"leave_out": "left out of consistency training", "report": "reported only, "
          "trained on"}.get(found["mode"], found["mode"])
  shown = found.get("shown", [])
  rows = "".join(thumbnail(np.frombuffer(bytes.fromhex(pixels), np.uint8).reshape(
      shape[0] if shape else features.DRAWING_SHAPE[:2]), f"id {example_id}, {distance:.1f}")
                 for distance, example_id, pixels, *shape in shown)
  return (f"<h3>Off-topic pool pictures</h3><p>{found['flagged']:,} of {found['scored']:,} pool "
          f"pictures ({found['share']:.1%}) lie further from the labeled pictures' figures "
          f"(intensity, ink, the ink's box) than the labeled pictures do themselves: {done}. At "
          f"most about {found['promised_false_share']:.1%} of real pool pictures are flagged so; "
          "pictures of the same kind that show other objects are not seen. The most off-topic "
          f"(distance over the cut {found['cut']:.1f}): <span class=\"shown\">{len(shown)}"
          f'</span> pictures shown.</p><div class="gallery-row">{rows}</div>')
