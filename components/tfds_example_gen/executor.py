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

  def __init__(self, dataset: str, data_dir: Optional[str], split: str,
               labeled_mask: Optional[np.ndarray]):
    self._dataset, self._data_dir, self._split = dataset, data_dir, split
    self._labeled_mask = labeled_mask
    self._builder = None

  def setup(self):
    self._builder = tfds_source.load_builder(self._dataset, self._data_dir)

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
    dataset = exec_properties[spec.DATASET_KEY]
    data_dir = exec_properties.get(spec.TFDS_DATA_DIR_KEY) or None
    train_split = exec_properties[spec.TRAIN_SPLIT_KEY]
    test_split = exec_properties[spec.TEST_SPLIT_KEY]
    seed = int(exec_properties[spec.SEED_KEY])

    builder = tfds_source.load_builder(dataset, data_dir, train_split, test_split)
    started = time.monotonic()
    labels = read_labels(builder, train_split)
    num_classes = builder.info.features[builder.info.supervised_keys[1]].num_classes
    budget = label_budget.LabelBudget(exec_properties[spec.LABEL_BUDGET_KEY])
    mask = label_budget.select_labeled(labels, budget.count(len(labels), num_classes), seed)
    logging.info("Label budget %s: %d of %d training images keep their labels (%.1f s)",
                 budget.text, mask.sum(), len(labels), time.monotonic() - started)

    examples = artifact_utils.get_single_instance(output_dict[spec.EXAMPLES_KEY])
    examples.split_names = artifact_utils.encode_split_names(list(spec.SPLITS))
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    num_test = builder.info.splits[test_split].num_examples
    with self._make_beam_pipeline() as pipeline:
      train = (pipeline
               | "TrainShards" >> beam.Create(_shards(len(labels)))
               | "ReadTrain" >> beam.ParDo(_ReadShard(dataset, data_dir, train_split, mask)))
      test = (pipeline
              | "TestShards" >> beam.Create(_shards(num_test))
              | "ReadTest" >> beam.ParDo(_ReadShard(dataset, data_dir, test_split, None)))
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
        json.dumps(label_budget.per_class_counts(labels, mask), sort_keys=True))
    logging.info("Wrote %s in %.1f s", counts, time.monotonic() - started)
