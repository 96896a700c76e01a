"""tf.data input over Transform's output: parallel read, batched parse, cache, prefetch."""
from typing import Dict, List, Tuple

import tensorflow as tf
import tensorflow_transform as tft

from models import preprocessing
from sources import features

_PARSE_BATCH = 1024  # parsing many records per call costs far less than one at a time
_VALIDATION_BUCKETS = 10_000


def read_transformed(file_patterns: List[str], tft_output: tft.TFTransformOutput) -> tf.data.Dataset:
  """All transformed examples of the files, unbatched, in file order, parsed once and cached."""
  files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
  if not files:
    raise FileNotFoundError(f"no transformed examples match {file_patterns}")
  spec = tft_output.transformed_feature_spec()
  ds = tf.data.Dataset.from_tensor_slices(files).interleave(
      lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP"),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  ds = ds.batch(_PARSE_BATCH).map(lambda records: tf.io.parse_example(records, spec),
                                  num_parallel_calls=tf.data.AUTOTUNE)
  return ds.unbatch().cache()


def labeled_only(ds: tf.data.Dataset) -> tf.data.Dataset:
  return ds.filter(lambda ex: ex[preprocessing.LABEL_KEY] != features.NO_LABEL)


def as_pairs(ds: tf.data.Dataset) -> tf.data.Dataset:
  """(rows, label) pairs, as Keras fit takes them."""
  return ds.map(lambda ex: (ex[preprocessing.SEQUENCE_KEY], ex[preprocessing.LABEL_KEY]),
                num_parallel_calls=tf.data.AUTOTUNE)


def split_validation(ds: tf.data.Dataset, fraction: float) -> Tuple[tf.data.Dataset, tf.data.Dataset]:
  """Deterministic (train, validation) parts by a hash of the example id."""
  cut = int(round(fraction * _VALIDATION_BUCKETS))

  def bucket(ex: Dict[str, tf.Tensor]) -> tf.Tensor:
    return tf.strings.to_hash_bucket_fast(
        tf.strings.as_string(ex[preprocessing.EXAMPLE_ID_KEY]), _VALIDATION_BUCKETS)

  return (ds.filter(lambda ex: bucket(ex) >= cut), ds.filter(lambda ex: bucket(ex) < cut))


def count(ds: tf.data.Dataset) -> int:
  return int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1).numpy())


def training_batches(pairs: tf.data.Dataset, num_examples: int, batch_size: int,
                     seed: int) -> tf.data.Dataset:
  """Endless shuffled batches; each worker of a multi-worker run takes its share of each batch."""
  ds = pairs.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
  return _shard_by_data(ds.repeat().batch(batch_size).prefetch(tf.data.AUTOTUNE))


def evaluation_batches(pairs: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
  return _shard_by_data(pairs.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def _shard_by_data(ds: tf.data.Dataset) -> tf.data.Dataset:
  # Transform writes few files, fewer than workers: shard by element, not by file.
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
  return ds.with_options(options)
