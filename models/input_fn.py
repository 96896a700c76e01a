"""Training input over Transform's output.

The files are read once into memory: each file is read in batches of serialized records (so
that one element, not one record, crosses between the parallel readers), and each batch is
parsed and its pixel bytes decoded in one call. Every epoch then shuffles indices and gathers
whole batches, one op per batch instead of per image. At one byte per pixel the research
method's whole training set fits: 700,000 images are 549 MB.
"""
import dataclasses
from typing import Callable, List, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models import augment
from models import config as config_lib
from models import preprocessing
from sources import features

# A pretext's (model inputs, targets) from a batch of uint8 pixels.
Targets = Callable[[tf.Tensor], Tuple[tf.Tensor, tf.Tensor]]
_PARSE_BATCH = 1024  # parsing many records per call costs far less than one at a time
_VALIDATION_BUCKETS = 10_000
_HASH_MULTIPLIER = 2_654_435_761  # Knuth's multiplicative hash: ids spread over the buckets


@dataclasses.dataclass
class Examples:
  """Transformed examples held in memory."""
  pixels: np.ndarray  # uint8 [n, 28, 28], image rows as Transform passed them on
  labels: np.ndarray  # int64 [n]; features.NO_LABEL where unlabeled
  ids: np.ndarray  # int64 [n], the image's index in its source split

  def __len__(self) -> int:
    return len(self.labels)

  @classmethod
  def empty(cls) -> "Examples":
    return cls(np.zeros((0, features.IMAGE_SIZE, features.IMAGE_SIZE), np.uint8),
               np.zeros(0, np.int64), np.zeros(0, np.int64))

  def subset(self, mask: np.ndarray) -> "Examples":
    return Examples(self.pixels[mask], self.labels[mask], self.ids[mask])


def _files(file_patterns: List[str]) -> List[str]:
  files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f"no transformed examples match {file_patterns}")
  return files


def _parse(records: tf.Tensor, spec: dict) -> dict:
  parsed = tf.io.parse_example(records, spec)
  parsed[preprocessing.PIXELS_KEY] = preprocessing.decode_pixels(parsed[preprocessing.PIXELS_KEY])
  return parsed


def parsed_batches(file_patterns: List[str], tft_output: tft.TFTransformOutput) -> tf.data.Dataset:
  """Batches of parsed transformed examples (pixels decoded), streamed from the files in order."""
  files = _files(file_patterns)
  spec = tft_output.transformed_feature_spec()
  ds = tf.data.Dataset.from_tensor_slices(files).interleave(
      lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP").batch(_PARSE_BATCH),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ds.map(lambda records: _parse(records, spec),
                num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def load(file_patterns: List[str], tft_output: tft.TFTransformOutput,
         allow_empty: bool = False) -> Examples:
  """All examples of the files in memory; `allow_empty`: files with no records are no error."""
  batches = list(parsed_batches(file_patterns, tft_output).as_numpy_iterator())
  if not batches:
    if allow_empty:
      return Examples.empty()
    raise ValueError(f"no transformed examples in {file_patterns}")
  return Examples(
      pixels=np.concatenate([b[preprocessing.PIXELS_KEY] for b in batches]),
      labels=np.concatenate([b[preprocessing.LABEL_KEY] for b in batches]),
      ids=np.concatenate([b[preprocessing.EXAMPLE_ID_KEY] for b in batches]))


def labeled_only(examples: Examples) -> Examples:
  return examples.subset(examples.labels != features.NO_LABEL)


def unlabeled_only(examples: Examples) -> Examples:
  return examples.subset(examples.labels == features.NO_LABEL)


def split_validation(examples: Examples, fraction: float) -> Tuple[Examples, Examples]:
  """Deterministic (train, validation) parts by a hash of the example id."""
  cut = int(round(fraction * _VALIDATION_BUCKETS))
  bucket = (examples.ids.astype(np.uint64) * np.uint64(_HASH_MULTIPLIER)) % np.uint64(
      _VALIDATION_BUCKETS)
  return examples.subset(bucket >= cut), examples.subset(bucket < cut)


def _gathered(examples: Examples, indices: tf.data.Dataset, targets: Optional[Targets] = None,
              translate_pixels: float = 0.0, seed: int = 0) -> tf.data.Dataset:
  """Batches of (pixels, labels), or for a pretext (model inputs, targets) = targets(pixels).
  `translate_pixels`: each image shifted at random by up to that many pixels (seeded by the
  batch's number, so the same seed gives the same batches)."""
  pixels = tf.constant(examples.pixels)
  shift = config_lib.Augmentation(translate_pixels=translate_pixels)
  if targets is not None:
    def batch(number, i):
      return targets(tf.gather(pixels, i))
  else:
    labels = tf.constant(examples.labels)

    def batch(number, i):
      return (augment.augment(tf.gather(pixels, i), shift, tf.stack([tf.constant(seed, tf.int64),
                                                                     number])),
              tf.gather(labels, i))
  ds = indices.enumerate().map(batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
      tf.data.AUTOTUNE)
  # A worker of a multi-worker run takes its share of each batch (there is one "file").
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
  return ds.with_options(options)


def balances_classes(training: config_lib.TrainingConfig, labels: np.ndarray) -> bool:
  """Whether labeled batches over `labels` draw every class equally often
  (TrainingConfig.class_balance; "auto": when the classes are more than one image apart)."""
  if training.class_balance != config_lib.AUTO:
    return training.class_balance == config_lib.BALANCED_BATCHES
  counts = np.bincount(np.asarray(labels)[np.asarray(labels) >= 0])
  counts = counts[counts > 0]
  return bool(len(counts)) and int(counts.max() - counts.min()) > 1


def _class_balanced_indices(labels: np.ndarray, seed: int) -> tf.data.Dataset:
  """Endless indices drawing every class equally often, each class's images reshuffled every
  time round."""
  streams = [tf.data.Dataset.from_tensor_slices(np.flatnonzero(labels == value)).shuffle(
                 int((labels == value).sum()), seed=seed + int(value),
                 reshuffle_each_iteration=True).repeat()
             for value in np.unique(labels)]
  return tf.data.Dataset.sample_from_datasets(streams, seed=seed)


def training_batches(examples: Examples, batch_size: int, seed: int,
                     targets: Optional[Targets] = None,
                     translate_pixels: float = 0.0,
                     balanced: bool = False) -> tf.data.Dataset:
  """Endless batches of (pixels, label), reshuffled every epoch, optionally shifted;
  `balanced`: every class drawn equally often (balances_classes)."""
  n = len(examples)
  if balanced:
    indices = _class_balanced_indices(examples.labels, seed)
  else:
    indices = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).repeat()
  return _gathered(examples, indices.batch(batch_size), targets, translate_pixels, seed)


def paired_batches(labeled: Examples, unlabeled: Examples, unlabeled_truth: np.ndarray,
                   batch_size: int, ratio: int, seed: int,
                   balanced: bool = False) -> tf.data.Dataset:
  """Endless ((pixels, labels), (pixels, truth)) pairs: a labeled batch (class-balanced with
  `balanced`) and `ratio` times as many unlabeled images, each side reshuffled every pass.
  `unlabeled_truth` holds the pool's true labels where known (diagnostics only,
  features.NO_LABEL elsewhere); no loss reads it."""
  pool = Examples(unlabeled.pixels, unlabeled_truth.astype(np.int64), unlabeled.ids)
  return tf.data.Dataset.zip((training_batches(labeled, batch_size, seed, balanced=balanced),
                              training_batches(pool, batch_size * ratio, seed + 1)))


def evaluation_batches(examples: Examples, batch_size: int,
                       targets: Optional[Targets] = None) -> tf.data.Dataset:
  """One pass in order; the last batch may be partial."""
  return _gathered(examples, tf.data.Dataset.range(len(examples)).batch(batch_size), targets)


def concatenate(parts: List[Examples]) -> Examples:
  return Examples(np.concatenate([p.pixels for p in parts]),
                  np.concatenate([p.labels for p in parts]),
                  np.concatenate([p.ids for p in parts]))
