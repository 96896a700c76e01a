"""Training input over Transform's output: the labeled split in memory, the pool as a stream.

Each file is read in batches of serialized records (so that one element, not one record,
crosses between the parallel readers), and each batch is parsed and its pixel bytes decoded in
one call. The labeled split is small by nature and held whole: every epoch shuffles indices and
gathers whole batches, one op per batch instead of per image. The unlabeled pool is never held
whole (`Pool`): it is read again on every pass, through a bounded shuffle buffer, so memory
does not grow with it; what a method keeps of it (a batch-norm sample, a self-training window)
is bounded by a setting.
"""
import dataclasses
import logging
from typing import Callable, Iterator, List, Optional, Tuple

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
FILE_INDEX_KEY = "file_index"


# A worker of a multi-worker run takes its share of each global batch of labeled images: they
# come from memory, with no files to shard by.
_DATA_SHARDED = tf.data.Options()
_DATA_SHARDED.experimental_distribute.auto_shard_policy = (
    tf.data.experimental.AutoShardPolicy.DATA)

# tf.data's autotuning runs in a thread that sleeps between its rounds, up to a minute once a
# stream has run a few minutes, and at the end of a fit the iterator's teardown sometimes waited
# out that sleep (39-60 s in 4 of 6 consistency fits of 1,500 steps; a thread dump showed the
# main thread in the iterator's destructor and the autotuning thread asleep; TF 2.16). The
# streams a fit reads (training and validation) run without it: their parallel steps then run
# on one thread a core (at most 16), and their prefetch buffers still grow by themselves.
_WITHOUT_AUTOTUNE = tf.data.Options()
_WITHOUT_AUTOTUNE.autotune.enabled = False


def training_stream(ds: tf.data.Dataset) -> tf.data.Dataset:
  """`ds` as a fit reads it: without tf.data's autotuning thread."""
  return ds.with_options(_WITHOUT_AUTOTUNE)


def per_device_streams_without_autotuning() -> bool:
  """Gives the streams that a distribution strategy's MultiDeviceIterator builds from a fit's
  stream, one per device, the options of training_stream: they are pipelines of their own,
  with default options, so each started an autotuning thread whatever the fit's stream said,
  and the fit's end still waited sometimes (6-24 s after the last epoch in 4 of 18 fits of
  `make demo`'s runs, 2026-12-07). Patches a private function of TensorFlow 2.16: if it moves,
  nothing breaks, a fit's end only waits sometimes. Returns whether the patch is in place
  (idempotent)."""
  try:
    from tensorflow.python.data.ops import multi_device_iterator_ops as device_iterators
  except ImportError:
    device_iterators = None
  create = getattr(device_iterators, "_create_device_dataset", None)
  if create is None:
    logging.warning("tf.distribute's per-device streams not found: a fit's end may wait for "
                    "tf.data's autotuning thread")
    return False
  if getattr(create, "without_autotuning", False):
    return True

  def without_autotuning(*args, **kwargs) -> tf.data.Dataset:
    return training_stream(create(*args, **kwargs))
  without_autotuning.without_autotuning = True
  device_iterators._create_device_dataset = without_autotuning
  return True


# What one worker reads, given which worker it is of how many replicas: Keras's fit calls it once
# on each worker (DatasetCreator); on one replica, with the default context.
Batches = Callable[[tf.distribute.InputContext], tf.data.Dataset]


@dataclasses.dataclass
class Examples:
  """Transformed examples held in memory."""
  pixels: np.ndarray  # uint8 [n, height, width] (grey: rows) or [n, height, width, channels]
  labels: np.ndarray  # int64 [n]; features.NO_LABEL where unlabeled
  ids: np.ndarray  # int64 [n], the image's index in its source split

  def __len__(self) -> int:
    return len(self.labels)

  @classmethod
  def empty(cls, image_shape=features.DRAWING_SHAPE) -> "Examples":
    return cls(np.zeros((0,) + preprocessing.pixels_shape(image_shape), np.uint8),
               np.zeros(0, np.int64), np.zeros(0, np.int64))

  def subset(self, mask: np.ndarray) -> "Examples":
    return Examples(self.pixels[mask], self.labels[mask], self.ids[mask])


def _files(file_patterns: List[str]) -> List[str]:
  files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f"no transformed examples match {file_patterns}")
  return files


def _parse(records: tf.Tensor, spec: dict, image_shape) -> dict:
  parsed = tf.io.parse_example(records, spec)
  parsed[preprocessing.PIXELS_KEY] = preprocessing.decode_pixels(
      parsed[preprocessing.PIXELS_KEY], image_shape)
  return parsed


def parsed_batches(file_patterns: List[str], tft_output: tft.TFTransformOutput,
                   image_shape=features.DRAWING_SHAPE) -> tf.data.Dataset:
  """Batches of parsed transformed examples (pixels decoded to pictures of `image_shape`, the
  data's), streamed from the files in order; each batch's FILE_INDEX_KEY is the index of its
  file among the sorted matches."""
  files = _files(file_patterns)
  spec = tft_output.transformed_feature_spec()
  ds = tf.data.Dataset.from_tensor_slices((tf.range(len(files), dtype=tf.int64), files)).interleave(
      lambda index, f: tf.data.TFRecordDataset(f, compression_type="GZIP").batch(
          _PARSE_BATCH).map(lambda records: (index, records)),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ds.map(lambda index, records: {**_parse(records, spec, image_shape),
                                        FILE_INDEX_KEY: index},
                num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _examples_of(batch: dict) -> Examples:
  return Examples(batch[preprocessing.PIXELS_KEY], batch[preprocessing.LABEL_KEY],
                  batch[preprocessing.EXAMPLE_ID_KEY])


def load(file_patterns: List[str], tft_output: tft.TFTransformOutput,
         image_shape=features.DRAWING_SHAPE) -> Examples:
  """All examples of the files in memory: for what is small by nature (the labeled split)."""
  batches = [_examples_of(b) for b in parsed_batches(file_patterns, tft_output, image_shape)
             .as_numpy_iterator()]
  if not batches:
    raise ValueError(f"no transformed examples in {file_patterns}")
  return concatenate(batches)


class Pool:
  """The unlabeled images as a stream of (uint8 pixels [28, 28], int64 id), never held whole.

  `records()` makes one pass in a fixed order; every pass reads the source again. `size` is
  counted once, when the pool is opened.
  """

  def __init__(self, records: Callable[[], tf.data.Dataset], size: int,
               by_file: Optional[Callable[[int, int], Optional["Pool"]]] = None):
    self._records = records
    self.size = size
    self._by_file = by_file

  def __len__(self) -> int:
    return self.size

  @classmethod
  def from_examples(cls, examples: Examples) -> "Pool":
    """An in-memory pool (benchmarks and tests build their data as arrays)."""
    pixels, ids = examples.pixels, examples.ids
    return cls(lambda: tf.data.Dataset.from_tensor_slices((pixels, ids)), len(examples))

  def records(self) -> tf.data.Dataset:
    return self._records()

  def shard_by_file(self, count: int, index: int) -> Optional["Pool"]:
    """Part `index` of `count` parts of the pool, whole files each, or None when the pool is
    not read from at least `count` files (then a worker keeps its part of each batch)."""
    return self._by_file(count, index) if self._by_file else None

  def _buffer(self, buffer: int) -> int:
    return min(buffer, max(len(self), 1))  # no larger than the pool: no memory for nothing

  def with_images(self, examples: Examples, seed: int) -> "Pool":
    """This pool and `examples`' images (labels dropped), randomly interleaved by their sizes
    in a seeded order."""
    if not len(examples):
      return self
    extra = Pool.from_examples(examples)
    weights = [float(len(self)), float(len(extra))]

    def by_file(count: int, index: int) -> Optional[Pool]:
      shard = self.shard_by_file(count, index)
      return None if shard is None else shard.with_images(
          examples.subset(np.arange(len(examples)) % count == index), seed)
    return Pool(lambda: tf.data.Dataset.sample_from_datasets(
        [self.records(), extra.records()], weights, seed=seed, stop_on_empty_dataset=False),
        len(self) + len(extra), by_file)

  def without(self, ids: np.ndarray, size: Optional[int] = None) -> "Pool":
    """This pool less the images of `ids` (all of them in it), skipped on every pass; `size`:
    what is left, when not len(self) - len(ids)."""
    if not len(ids):
      return self
    keys = np.unique(np.asarray(ids, np.int64))
    left = len(self) - len(keys) if size is None else size

    def records() -> tf.data.Dataset:
      left_out = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
          tf.constant(keys), tf.ones(len(keys), tf.int64)), default_value=0)
      return self.records().filter(lambda pixels, i: tf.equal(left_out.lookup(i), 0))

    def by_file(count: int, index: int) -> Optional[Pool]:
      shard = self.shard_by_file(count, index)
      # Which file holds an id is not kept: a shard is counted at its share of what is left.
      return None if shard is None else shard.without(
          keys, size=int(round(len(shard) * left / max(len(self), 1))))
    return Pool(records, left, by_file)

  def sampled(self, count: int, seed: int, buffer: int) -> "Pool":
    """The same `count` images on every pass: the first of a seeded shuffle of the stream
    (through a buffer of `buffer` images, so a sample of the stream's first part when the
    buffer is smaller than the pool; ExampleGen writes the pool in a shuffled order)."""
    if count >= len(self):
      return self
    return Pool(lambda: self.records().shuffle(self._buffer(buffer), seed=seed,
                                               reshuffle_each_iteration=False).take(count), count)

  def shuffled(self, seed: int, buffer: int) -> tf.data.Dataset:
    """Endless (pixels, id), reshuffled through a bounded buffer on every pass."""
    return self.records().shuffle(self._buffer(buffer), seed=seed,
                                  reshuffle_each_iteration=True).repeat()

  def chunks(self, size: int, seed: int, buffer: int) -> Iterator[Examples]:
    """One pass in a seeded shuffled order, as Examples of up to `size` images (labels
    NO_LABEL)."""
    ds = self.records().shuffle(self._buffer(buffer), seed=seed).batch(size)
    for pixels, ids in ds.as_numpy_iterator():
      yield Examples(pixels, np.full(len(ids), features.NO_LABEL, np.int64), ids)

  def sample(self, count: int, seed: int, buffer: int) -> Examples:
    """Up to `count` images in memory (sampled)."""
    taken = [chunk for chunk in self.sampled(count, seed, buffer).chunks(4096, seed, 1)]
    return concatenate(taken) if taken else Examples.empty()


def read(file_patterns: List[str], tft_output: tft.TFTransformOutput,
         image_shape=features.DRAWING_SHAPE) -> Tuple[Examples, Pool]:
  """(the labeled examples in memory, the unlabeled ones as a Pool) of the files, in one pass:
  the pool is only counted; pictures of `image_shape`, the data's."""
  files = _files(file_patterns)
  labeled, pool_per_file = [], np.zeros(len(files), np.int64)
  for batch in parsed_batches(files, tft_output, image_shape).as_numpy_iterator():
    part = _examples_of(batch)
    unlabeled = part.labels == features.NO_LABEL
    pool_per_file[batch[FILE_INDEX_KEY]] += int(unlabeled.sum())
    if not unlabeled.all():
      labeled.append(part.subset(~unlabeled))
  # Every pass over the pool reads only the files that hold pool images (not the labeled split's).
  pool_files = [f for f, count in zip(files, pool_per_file) if count]
  pool_counts = [int(count) for count in pool_per_file if count]

  def records_of(paths: List[str]) -> Callable[[], tf.data.Dataset]:
    return lambda: parsed_batches(paths, tft_output, image_shape).map(
        lambda b: (b[preprocessing.PIXELS_KEY], b[preprocessing.EXAMPLE_ID_KEY],
                   b[preprocessing.LABEL_KEY])).unbatch().filter(
        lambda pixels, ids, labels: tf.equal(labels, features.NO_LABEL)).map(
        lambda pixels, ids, labels: (pixels, ids))

  def by_file(count: int, index: int) -> Optional[Pool]:
    if len(pool_files) < count:
      return None
    return Pool(records_of(pool_files[index::count]), sum(pool_counts[index::count]))
  return ((concatenate(labeled) if labeled else Examples.empty(image_shape)),
          Pool(records_of(pool_files), sum(pool_counts), by_file) if pool_files else
          Pool.from_examples(Examples.empty(image_shape)))


def in_memory(examples: Examples) -> Tuple[Examples, Pool]:
  """What `read` gives, from examples built in memory (benchmarks, tests)."""
  return labeled_only(examples), Pool.from_examples(unlabeled_only(examples))


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


def _gathered(examples: Examples, indices: tf.data.Dataset, translate_pixels: float = 0.0,
              seed: int = 0) -> tf.data.Dataset:
  """Batches of (pixels, labels); `translate_pixels`: each image shifted at random by up to
  that many pixels (seeded by the batch's number, so the same seed gives the same batches)."""
  pixels, labels = tf.constant(examples.pixels), tf.constant(examples.labels)
  shift = config_lib.Augmentation(translate_pixels=translate_pixels)

  def batch(number, i):
    return (augment.augment(tf.gather(pixels, i), shift, tf.stack([tf.constant(seed, tf.int64),
                                                                   number])),
            tf.gather(labels, i))
  ds = indices.enumerate().map(batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
      tf.data.AUTOTUNE)
  return ds.with_options(_DATA_SHARDED)


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
                     translate_pixels: float = 0.0,
                     balanced: bool = False) -> tf.data.Dataset:
  """Endless batches of (pixels, label), reshuffled every epoch, optionally shifted;
  `balanced`: every class drawn equally often (balances_classes)."""
  n = len(examples)
  if balanced:
    indices = _class_balanced_indices(examples.labels, seed)
  else:
    indices = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).repeat()
  return _gathered(examples, indices.batch(batch_size), translate_pixels, seed)


def true_labels_of(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
  """The true label of each id in `table` (labels indexed by example id); NO_LABEL for an id
  beyond it (pictures of another source mixed into the pool)."""
  ids = np.asarray(ids, np.int64)
  labels = np.full(ids.shape, features.NO_LABEL, np.int64)
  known = (ids >= 0) & (ids < len(table))
  labels[known] = np.asarray(table, np.int64)[ids[known]]
  return labels


def _parts(batches: tf.data.Dataset, parts: int, first: int, count: int) -> tf.data.Dataset:
  """Each element cut along its batch axis into `parts` equal parts; parts `first` to
  `first + count - 1` of it, one element each."""
  if parts == 1:
    return batches

  def piece(t: tf.Tensor, i: tf.Tensor) -> tf.Tensor:
    size = tf.shape(t, out_type=tf.int64)[0] // parts
    out = t[i * size:(i + 1) * size]
    if t.shape[0] is not None:
      out.set_shape([t.shape[0] // parts] + t.shape[1:])
    return out

  def cut(*element):
    return tf.data.Dataset.range(first, first + count).map(
        lambda i: tf.nest.map_structure(lambda t: piece(t, i), element))
  return batches.flat_map(cut)


def _replicas_per_worker(context: tf.distribute.InputContext) -> int:
  return context.num_replicas_in_sync // context.num_input_pipelines


def _worker_part(batches: tf.data.Dataset, context: tf.distribute.InputContext
                 ) -> tf.data.Dataset:
  """This worker's replicas' parts of every global batch, as DATA auto-sharding would split it:
  the worker reads the whole stream and keeps its part."""
  replicas = _replicas_per_worker(context)
  return _parts(batches, context.num_replicas_in_sync, context.input_pipeline_id * replicas,
                replicas)


def _pool_batches(pool: Pool, batch_size: int, seed: int, shuffle_buffer: int,
                  context: tf.distribute.InputContext) -> tf.data.Dataset:
  """This worker's replicas' batches of (pixels, ids), `batch_size` images a global batch: of
  its own files when the pool has at least a file per worker, else its part of every batch."""
  workers, worker = context.num_input_pipelines, context.input_pipeline_id
  shard = pool.shard_by_file(workers, worker) if workers > 1 else None
  if shard is None:
    if workers > 1:
      logging.info("pool: worker %d of %d keeps its part of every batch (fewer files than "
                   "workers)", worker, workers)
    return _worker_part(pool.shuffled(seed, shuffle_buffer).batch(
        batch_size, drop_remainder=True), context)
  logging.info("pool: worker %d of %d reads its own files (%d images)", worker, workers,
               len(shard))
  replicas = _replicas_per_worker(context)
  return _parts(shard.shuffled(seed, shuffle_buffer).batch(batch_size // workers,
                                                           drop_remainder=True),
                replicas, 0, replicas)


def paired_batches(labeled: Examples, pool: Pool, true_labels: Optional[np.ndarray],
                   batch_size: int, ratio: int, seed: int, shuffle_buffer: int,
                   balanced: bool = False) -> Batches:
  """Endless ((pixels, labels), (pixels, truth)) pairs: a labeled batch (class-balanced with
  `balanced`) and `ratio` times as many pool images streamed through a shuffle buffer of
  `shuffle_buffer`. `true_labels`, the pool's true labels by example id where known
  (true_labels_of; diagnostics only, features.NO_LABEL without it); no loss reads them.

  The truth is looked up in the graph, not by a Python function: no step of the stream waits
  for Python's lock."""
  table = np.asarray(true_labels if true_labels is not None else [], np.int64)

  def with_truth(pixels, ids):
    if not len(table):
      return pixels, tf.fill(tf.shape(ids), tf.constant(features.NO_LABEL, tf.int64))
    known = (ids >= 0) & (ids < len(table))
    labels = tf.gather(tf.constant(table), tf.where(known, ids, tf.zeros_like(ids)))
    return pixels, tf.where(known, labels, tf.constant(features.NO_LABEL, tf.int64))

  def batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
    unlabeled = _pool_batches(pool, batch_size * ratio, seed + 1, shuffle_buffer, context).map(
        with_truth, num_parallel_calls=tf.data.AUTOTUNE)
    return tf.data.Dataset.zip((_worker_part(training_batches(
        labeled, batch_size, seed, balanced=balanced), context), unlabeled)).prefetch(
        tf.data.AUTOTUNE)
  return batches


def pretext_batches(images: Pool, batch_size: int, seed: int, targets: Targets,
                    shuffle_buffer: int) -> Batches:
  """Endless pretext (inputs, targets) batches of the pool's images."""
  return lambda context: _pool_batches(images, batch_size, seed, shuffle_buffer, context).map(
      lambda pixels, ids: targets(pixels), num_parallel_calls=tf.data.AUTOTUNE).prefetch(
      tf.data.AUTOTUNE)


def evaluation_batches(examples: Examples, batch_size: int, replicas: int = 1) -> tf.data.Dataset:
  """One pass in order, (pixels, labels, weights). On one replica the last batch may be partial.
  Several replicas split each global batch in order, so a short last batch would leave a
  replica none, and a convolution fused with its activation fails on an empty batch: there the
  last batch is filled with blank images of weight 0, which no accuracy counts (the loss's
  batch mean is diluted by them)."""
  n = len(examples)
  padding = (-n) % batch_size if replicas > 1 else 0
  weights = np.concatenate([np.ones(n, np.float32), np.zeros(padding, np.float32)])
  padded = Examples(np.concatenate([examples.pixels, np.zeros(
                        (padding,) + examples.pixels.shape[1:], np.uint8)]),
                    np.concatenate([examples.labels, np.zeros(padding, np.int64)]),
                    np.concatenate([examples.ids, np.full(padding, -1, np.int64)]))
  weight_of = tf.constant(weights)
  indices = tf.data.Dataset.range(n + padding).batch(batch_size)
  return tf.data.Dataset.zip((_gathered(padded, indices), indices)).map(
      lambda batch, i: batch + (tf.gather(weight_of, i),)).with_options(
          _DATA_SHARDED).with_options(_WITHOUT_AUTOTUNE)


def concatenate(parts: List[Examples]) -> Examples:
  return Examples(np.concatenate([p.pixels for p in parts]),
                  np.concatenate([p.labels for p in parts]),
                  np.concatenate([p.ids for p in parts]))
