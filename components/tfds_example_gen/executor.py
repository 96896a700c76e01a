"""Reads a TFDS data set and writes tf.Examples in the splits `labeled`, `unlabeled`, `test`.

The training split is read once, in shards that Beam spreads over its workers; each image goes
to `labeled` or `unlabeled` by the label-budget mask, computed up front from the labels alone.
Unlabeled examples get the label NO_LABEL (-1) in place of theirs, so no label can leak into
training while every split keeps one schema (a missing feature would fail validation).
"""
import json
import logging
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from tfx.components.example_gen import write_split
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components.tfds_example_gen import label_budget
from components.tfds_example_gen import spec
from sources import features
from sources import tfds_source

# Images per Beam work item: small enough to spread, large enough to amortise opening TFDS.
_SHARD_SIZE = 20_000
_LABEL_READ_BATCH = 8192


def image_example(image: np.ndarray, label: int, example_id: int) -> bytes:
  """One serialized tf.Example."""
  feature = {
      features.IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[np.ascontiguousarray(image, dtype=np.uint8).tobytes()])),
      features.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
      features.EXAMPLE_ID_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[example_id])),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def read_labels(builder: tfds.core.DatasetBuilder, split: str) -> np.ndarray:
  """All labels of a split in file order, without decoding the images."""
  image_key, label_key = builder.info.supervised_keys
  ds = builder.as_dataset(split=split, shuffle_files=False,
                          decoders={image_key: tfds.decode.SkipDecoding()})
  ds = ds.map(lambda ex: ex[label_key]).batch(_LABEL_READ_BATCH)
  return np.concatenate([batch for batch in tfds.as_numpy(ds)] or [np.zeros(0, np.int64)])


class _ReadShard(beam.DoFn):
  """Reads images [start, stop) of one split; emits (role, serialized example)."""

  def __init__(self, source: tfds_source.SourceSpec, split: str,
               labeled_mask: Optional[np.ndarray]):
    self._source, self._split = source, split
    self._labeled_mask = labeled_mask
    self._builder = None

  def setup(self):
    self._builder = tfds_source.load_builder(self._source)

  def process(self, shard: Tuple[int, int]) -> Iterator[Tuple[str, bytes]]:
    start, stop = shard
    ds = self._builder.as_dataset(split=f"{self._split}[{start}:{stop}]", shuffle_files=False,
                                  as_supervised=True)
    for index, (image, label) in enumerate(tfds.as_numpy(ds), start=start):
      if self._labeled_mask is None:
        yield spec.TEST_SPLIT, image_example(image, int(label), index)
      elif self._labeled_mask[index]:
        yield spec.LABELED_SPLIT, image_example(image, int(label), index)
      else:
        yield spec.UNLABELED_SPLIT, image_example(image, features.NO_LABEL, index)


def _shards(count: int) -> List[Tuple[int, int]]:
  return [(start, min(start + _SHARD_SIZE, count)) for start in range(0, count, _SHARD_SIZE)]


class Executor(base_beam_executor.BaseBeamExecutor):
  """Executor of TFDSExampleGen."""

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    source = tfds_source.SourceSpec(
        dataset=exec_properties[spec.DATASET_KEY],
        data_dir=exec_properties.get(spec.TFDS_DATA_DIR_KEY) or None,
        manual_dir=exec_properties.get(spec.MANUAL_DIR_KEY) or None,
        train_split=exec_properties[spec.TRAIN_SPLIT_KEY],
        test_split=exec_properties[spec.TEST_SPLIT_KEY])
    seed = int(exec_properties[spec.SEED_KEY])

    builder = tfds_source.load_builder(source)
    started = time.monotonic()
    labels = read_labels(builder, source.train_split)
    class_names = builder.info.features[builder.info.supervised_keys[1]].names
    budget = label_budget.LabelBudget(exec_properties[spec.LABEL_BUDGET_KEY])
    count = budget.count(len(labels), len(class_names))
    label_budget.check_balance(labels, count, class_names)
    mask = label_budget.select_labeled(labels, count, seed)
    per_class = label_budget.per_class_counts(labels, mask)
    logging.info("Label budget %s: %d of %d training images keep their labels (%.1f s)",
                 budget.text, count, len(labels), time.monotonic() - started)
    if count % len(class_names):
      logging.info("Budget %d is not a multiple of %d classes: per class %s", count,
                   len(class_names), per_class)

    examples = artifact_utils.get_single_instance(output_dict[spec.EXAMPLES_KEY])
    examples.split_names = artifact_utils.encode_split_names(list(spec.SPLITS))
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    num_test = builder.info.splits[source.test_split].num_examples
    with self._make_beam_pipeline() as pipeline:
      train = (pipeline
               | "TrainShards" >> beam.Create(_shards(len(labels)))
               | "ReadTrain" >> beam.ParDo(_ReadShard(source, source.train_split, mask)))
      test = (pipeline
              | "TestShards" >> beam.Create(_shards(num_test))
              | "ReadTest" >> beam.ParDo(_ReadShard(source, source.test_split, None)))
      by_split = ((train, test)
                  | "AllRows" >> beam.Flatten()
                  | "BySplit" >> beam.Partition(
                      lambda row, _: spec.SPLITS.index(row[0]), len(spec.SPLITS)))
      for split, rows in zip(spec.SPLITS, by_split):
        _ = (rows
             | f"Values[{split}]" >> beam.Values()
             | f"WriteSplit[{split}]" >> write_split.WriteSplit(
                 artifact_utils.get_split_uri([examples], split), output_format=None))

    counts = {spec.LABELED_SPLIT: int(mask.sum()), spec.UNLABELED_SPLIT: int((~mask).sum()),
              spec.TEST_SPLIT: int(num_test)}
    examples.set_string_custom_property(spec.SPLIT_COUNTS_PROPERTY, json.dumps(counts))
    examples.set_string_custom_property(
        spec.LABELED_PER_CLASS_PROPERTY,
        json.dumps(per_class, sort_keys=True))
    logging.info("Wrote %s in %.1f s", counts, time.monotonic() - started)
