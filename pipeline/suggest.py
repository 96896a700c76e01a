"""`fewlabels suggest`: which unlabeled pictures to label next.

The latest run's trained model scores its unlabeled split, streamed in batches; the most
uncertain pictures are chosen, with two rules for variety:
- classes: no predicted class gets more than twice its share (2 x count / classes) while
  pictures of other classes are left;
- near-duplicates: a picture whose 14 x 14 thumbnail is within DUPLICATE_DISTANCE (mean
  absolute difference, 0-255) of one already chosen is passed over.
Pictures passed over fill the list, in order, only when nothing else is left. Uncertainty:
`margin` (1 - (p1 - p2), the two best classes close), `entropy`, or `random` (the baseline).
`diverse` ranks by margin too, then spreads the picks over what the uncertain pictures look
like: the DIVERSE_CANDIDATES_PER_PICK x count most uncertain are grouped into `count` clusters
of their thumbnails (k-means weighted by uncertainty), and the picture nearest each cluster's
centre goes first, under the same two rules (after Zhdanov 2019, "Diverse mini-batch active
learning"). Writes suggestions.csv and label.html (pipeline/label_page.py) to `--to`.
"""
import csv
import dataclasses
import glob
import json
import math
import os
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

STRATEGIES = ("margin", "entropy", "random", "diverse")
DUPLICATE_DISTANCE = 6.0
CANDIDATES_PER_PICK = 20  # how many of the most uncertain are kept, per picture asked for
DIVERSE_CANDIDATES_PER_PICK = 10  # how many of those `diverse` clusters, per picture asked for
KMEANS_ITERATIONS = 20
KMEANS_RESTARTS = 5
CSV_FILE, PAGE_FILE = "suggestions.csv", "label.html"
CSV_COLUMNS = ("example_id", "source_file", "predicted_class", "confidence", "margin")


class SuggestError(ValueError):
  """A run dir, count or strategy that cannot give suggestions; one line."""


def check_strategy(strategy: str) -> None:
  if strategy not in STRATEGIES:
    raise SuggestError(f"--strategy {strategy!r} must be one of {', '.join(STRATEGIES)}")


def uncertainty(probabilities: np.ndarray, strategy: str, rng: np.random.Generator) -> np.ndarray:
  """Higher is picked first."""
  if strategy == "random":
    return rng.random(len(probabilities))
  if strategy == "diverse":
    strategy = "margin"
  if strategy == "entropy":
    return -(probabilities * np.log(np.clip(probabilities, 1e-12, 1.0))).sum(axis=1)
  top = np.sort(probabilities, axis=1)
  return 1.0 - (top[:, -1] - top[:, -2])


def thumbnails(pixels: np.ndarray) -> np.ndarray:
  """uint8 [n, H, W] (or [n, H, W, C]: their mean) -> float32 [n, H/2 * W/2]: 2 x 2 means, for
  the near-duplicate rule (196 values for a drawing)."""
  grey = pixels.astype(np.float32)
  if grey.ndim == 4:
    grey = grey.mean(axis=-1)
  n, height, width = grey.shape[0], grey.shape[1] // 2 * 2, grey.shape[2] // 2 * 2
  return grey[:, :height, :width].reshape(n, height // 2, 2, width // 2, 2).mean(
      axis=(2, 4)).reshape(n, -1)


def choose(scores: np.ndarray, predicted: np.ndarray, small: np.ndarray, count: int,
           num_classes: int) -> List[int]:
  """Indices of `count` pictures, most uncertain first, under the two variety rules."""
  cap = math.ceil(2 * count / num_classes)
  per_class = np.zeros(num_classes, np.int64)
  picked: List[int] = []
  passed: List[int] = []
  for index in np.argsort(-scores, kind="stable"):
    if len(picked) == count:
      break
    duplicate = picked and np.abs(small[picked] - small[index]).mean(axis=1).min() < (
        DUPLICATE_DISTANCE)
    if per_class[predicted[index]] >= cap or duplicate:
      passed.append(int(index))
      continue
    picked.append(int(index))
    per_class[predicted[index]] += 1
  return picked + passed[:count - len(picked)]


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
  return np.maximum((points ** 2).sum(axis=1)[:, None] - 2 * points @ centres.T
                    + (centres ** 2).sum(axis=1)[None, :], 0.0)


def _kmeans(points: np.ndarray, weights: np.ndarray, k: int,
            rng: np.random.Generator) -> np.ndarray:
  """Centres of one weighted k-means: k-means++ start, then Lloyd steps."""
  centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
  nearest = _squared_distances(points, centres[0][None])[:, 0]
  for _ in range(1, min(k, len(points))):
    chances = weights * nearest
    if chances.sum() <= 0:
      break  # every point sits on a centre
    centres.append(points[rng.choice(len(points), p=chances / chances.sum())])
    nearest = np.minimum(nearest, _squared_distances(points, centres[-1][None])[:, 0])
  centres = np.stack(centres)
  for _ in range(KMEANS_ITERATIONS):
    members = _squared_distances(points, centres).argmin(axis=1)
    for c in range(len(centres)):
      mine = members == c
      if mine.any():
        centres[c] = np.average(points[mine], axis=0, weights=weights[mine])
  return centres


def cluster_representatives(points: np.ndarray, weights: np.ndarray, k: int,
                            rng: np.random.Generator) -> np.ndarray:
  """Indices of the point nearest each centre of a weighted k-means of `points` (the best of
  KMEANS_RESTARTS: one k-means++ start can leave two centres in one group and none in
  another); fewer than k when clusters merge."""
  points = points.astype(np.float64)
  weights = np.maximum(weights.astype(np.float64), 1e-12)
  best, best_cost = None, np.inf
  for _ in range(KMEANS_RESTARTS):
    centres = _kmeans(points, weights, k, rng)
    cost = (weights * _squared_distances(points, centres).min(axis=1)).sum()
    if cost < best_cost:
      best, best_cost = centres, cost
  distances = _squared_distances(points, best)
  members = distances.argmin(axis=1)
  return np.array(sorted(int(np.flatnonzero(members == c)[distances[members == c, c].argmin()])
                         for c in np.unique(members)), np.int64)


@dataclasses.dataclass
class Pool:
  """The most uncertain part of the pool seen so far (bounded: the pool is streamed)."""
  ids: np.ndarray
  pixels: np.ndarray
  probabilities: np.ndarray
  scores: np.ndarray
  seen: int = 0

  def add(self, ids, pixels, probabilities, scores, keep: int) -> None:
    if not self.seen:  # the data's picture shape, from its first batch
      self.pixels = self.pixels.reshape((0,) + pixels.shape[1:])
    self.ids = np.concatenate([self.ids, ids])
    self.pixels = np.concatenate([self.pixels, pixels])
    self.probabilities = np.concatenate([self.probabilities, probabilities])
    self.scores = np.concatenate([self.scores, scores])
    self.seen += len(ids)
    if len(self.ids) > keep:
      best = np.argpartition(-self.scores, keep - 1)[:keep]
      for name in ("ids", "pixels", "probabilities", "scores"):
        setattr(self, name, getattr(self, name)[best])


def suggest(batches: Iterator[Tuple[np.ndarray, np.ndarray, object]],
            score: Callable[[object], np.ndarray], num_classes: int, count: int,
            strategy: str, seed: int = 0) -> Tuple[Pool, List[int]]:
  """(candidates, the chosen indices into them) from (ids, uint8 pixels, model input) batches;
  `score` maps a batch's model input to class probabilities."""
  check_strategy(strategy)
  rng = np.random.default_rng(seed)
  pool = Pool(np.zeros(0, np.int64), np.zeros((0, 28, 28), np.uint8),
              np.zeros((0, num_classes), np.float32), np.zeros(0))
  keep = max(CANDIDATES_PER_PICK * count, 2_000)
  for ids, pixels, model_input in batches:
    probabilities = score(model_input)
    pool.add(ids, pixels, probabilities, uncertainty(probabilities, strategy, rng), keep)
  if count > pool.seen:
    raise SuggestError(f"--count {count} is larger than the {pool.seen} unlabeled pictures")
  small = thumbnails(pool.pixels)
  scores = pool.scores
  if strategy == "diverse":
    candidates = np.argsort(-scores, kind="stable")[:DIVERSE_CANDIDATES_PER_PICK * count]
    centres = candidates[cluster_representatives(small[candidates], scores[candidates], count,
                                                 rng)]
    scores = scores.copy()
    scores[centres] += 2.0  # margin uncertainty is at most 1: every representative goes first
  picked = choose(scores, pool.probabilities.argmax(axis=1), small, count, num_classes)
  return pool, picked


# --- Reading a run: its model and its unlabeled split ---------------------------------------

@dataclasses.dataclass
class RunInputs:
  model_dir: str
  unlabeled_files: List[str]
  class_names: Tuple[str, ...]
  source_files: Optional[np.ndarray]  # by example id, for sources that have files


def run_inputs(output_dir: str, pipeline_name: str) -> RunInputs:
  """The latest run's trained model and unlabeled split; a SuggestError if there is none."""
  metadata_path = os.path.join(output_dir, "metadata.sqlite")
  if not os.path.isfile(metadata_path):  # opening it would create an empty store
    raise SuggestError(f"--output {output_dir!r} holds no run (no metadata.sqlite): run "
                       "`fewlabels run` first")
  from components.tfds_example_gen import spec as example_gen_spec
  from pipeline import pipeline as pipeline_lib
  from pipeline import run_results
  from sources import splits
  store = run_results.open_store(metadata_path)
  for run_id in reversed(run_results.run_ids(store, pipeline_name)):
    runs = run_results.component_runs(store, run_id)
    trainer, example_gen = runs.get(pipeline_lib.TRAINER), runs.get(pipeline_lib.EXAMPLE_GEN)
    if trainer and example_gen and trainer.output("model") and example_gen.output("examples"):
      break
  else:
    raise SuggestError(f"--output {output_dir!r} has no trained model of pipeline "
                       f"{pipeline_name!r}: run `fewlabels run` first")
  examples = example_gen.output("examples")
  names = run_results.custom_value(examples, example_gen_spec.CLASS_NAMES_PROPERTY)
  if not names:
    raise SuggestError(f"the run {run_id} predates class names in its examples: run it again")
  return RunInputs(
      model_dir=os.path.join(trainer.output("model").uri, "Format-Serving"),
      unlabeled_files=sorted(glob.glob(os.path.join(
          examples.uri, f"Split-{splits.UNLABELED_SPLIT}", "*.gz"))),
      class_names=tuple(json.loads(names)),
      source_files=_source_files(example_gen.properties))


def _source_files(properties) -> Optional[np.ndarray]:
  """Each example id's file, for an image folder; None for other sources."""
  from components.tfds_example_gen import spec as example_gen_spec
  from sources import image_folder
  from sources import tfds_source
  dataset = str(properties.get(example_gen_spec.DATASET_KEY, ""))
  if dataset.partition("/")[0] != image_folder.NAME:
    return None
  source = tfds_source.SourceSpec(
      dataset, properties.get(example_gen_spec.TFDS_DATA_DIR_KEY) or None,
      properties.get(example_gen_spec.MANUAL_DIR_KEY) or None,
      skip_bad_images=bool(properties.get(example_gen_spec.SKIP_BAD_IMAGES_KEY)))
  return image_folder.paths_by_id(tfds_source.load_builder(source))


def example_batches(files: Sequence[str], batch_size: int = 1024):
  """(ids, uint8 pixels [n, H, W] or [n, H, W, C], the serialized tf.Examples) of ExampleGen's
  files, streamed; the shape is the one written beside each picture (one a data set)."""
  import tensorflow as tf
  from sources import features
  sizes = (features.IMAGE_HEIGHT_KEY, features.IMAGE_WIDTH_KEY, features.IMAGE_CHANNELS_KEY)
  spec = {features.IMAGE_KEY: tf.io.FixedLenFeature([], tf.string),
          features.EXAMPLE_ID_KEY: tf.io.FixedLenFeature([], tf.int64),
          # 0: examples written before the sizes were (drawings, all of them)
          **{key: tf.io.FixedLenFeature([], tf.int64, default_value=0) for key in sizes}}
  data = tf.data.TFRecordDataset(list(files), compression_type="GZIP").batch(batch_size)
  for serialized in data:
    parsed = tf.io.parse_example(serialized, spec)
    height, width, channels = (tuple(int(parsed[key][0]) for key in sizes)
                               if int(parsed[sizes[0]][0]) else features.DRAWING_SHAPE)
    shape = [-1, height, width] + ([channels] if channels > 1 else [])
    pixels = tf.reshape(tf.io.decode_raw(parsed[features.IMAGE_KEY], tf.uint8), shape)
    yield parsed[features.EXAMPLE_ID_KEY].numpy(), pixels.numpy(), serialized


def write(directory: str, pool: Pool, picked: Sequence[int], class_names: Sequence[str],
          source_files: Optional[np.ndarray]) -> Tuple[str, str]:
  """suggestions.csv and label.html, each written whole or not at all."""
  from pipeline import label_page
  os.makedirs(directory, exist_ok=True)
  rows = []
  for index in picked:
    p = pool.probabilities[index]
    top = np.sort(p)
    example_id = int(pool.ids[index])
    rows.append({"example_id": example_id,
                 "source_file": "" if source_files is None else source_files[example_id],
                 "predicted_class": class_names[int(p.argmax())],
                 "confidence": f"{top[-1]:.4f}", "margin": f"{top[-1] - top[-2]:.4f}"})
  csv_path, page_path = os.path.join(directory, CSV_FILE), os.path.join(directory, PAGE_FILE)
  with open(csv_path + ".partial", "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
  with open(page_path + ".partial", "w", encoding="utf-8") as f:
    f.write(label_page.render(rows, [pool.pixels[i] for i in picked], class_names))
  os.replace(csv_path + ".partial", csv_path)
  os.replace(page_path + ".partial", page_path)
  return csv_path, page_path


def run(output_dir: str, pipeline_name: str, count: int, strategy: str, to: str,
        seed: int = 0) -> Tuple[str, str]:
  if count <= 0:
    raise SuggestError(f"--count {count} must be a positive number of pictures")
  check_strategy(strategy)
  inputs = run_inputs(output_dir, pipeline_name)
  import tensorflow as tf
  from models import export
  from models import progress
  serve = tf.saved_model.load(inputs.model_dir).signatures[export.SERVING_SIGNATURE]

  def score(serialized) -> np.ndarray:
    return serve(**{export.EXAMPLES_INPUT: serialized})[export.PREDICTION_KEY].numpy()

  def logged(batches):
    done = 0
    for batch in batches:
      yield batch
      done += len(batch[0])
      progress.log.info("suggest: %d unlabeled pictures scored", done)

  pool, picked = suggest(logged(example_batches(inputs.unlabeled_files)), score,
                         len(inputs.class_names), count, strategy, seed)
  return write(to, pool, picked, inputs.class_names, inputs.source_files)
