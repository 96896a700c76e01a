"""Reads a TFDS data set and writes tf.Examples in the splits `labeled`, `unlabeled`, `test`.

The training split is read once, in shards that Beam spreads over its workers; each image goes
to `labeled` or `unlabeled` by the label-budget mask, computed up front from the labels alone.
Unlabeled examples get the label NO_LABEL (-1) in place of theirs, so no label can leak into
training while every split keeps one schema (a missing feature would fail validation).
"""
import json
import logging
import os
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import apache_beam as beam
import numpy as np
import tensorflow_datasets as tfds
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components.tfds_example_gen import split_plan
from components.tfds_example_gen import spec
from sources import examples as examples_lib
from sources import extra_labels
from sources.errors import DataSourceError
from sources import features
from sources import image_folder
from sources import tfds_source

# Images per Beam work item: small enough to spread, large enough to amortise opening TFDS.
_SHARD_SIZE = 20_000
_READ_BATCH = 1024
_FILE_PREFIX = "data_tfrecord"  # the file names TFX's own ExampleGens write


class _ReadShard(beam.DoFn):
  """Reads images [start, stop) of one split; emits (split index, serialized example)."""

  def __init__(self, source: tfds_source.SourceSpec, split: str, roles: np.ndarray,
               label_map: np.ndarray, class_names: Tuple[str, ...],
               output_labels: Optional[np.ndarray] = None):
    self._source, self._split, self._names = source, split, class_names
    self._roles, self._label_map = roles, label_map
    self._output_labels = output_labels  # by id: the plan's labels, given ones included
    self._builder = None

  def setup(self):
    self._builder = tfds_source.load_builder(self._source)

  def process(self, shard: Tuple[int, int]) -> Iterator[Tuple[int, bytes]]:
    start, stop = shard
    # Batched reads: TFDS's per-example iteration costs more than building the examples.
    ds = self._builder.as_dataset(split=f"{self._split}[{start}:{stop}]", shuffle_files=False,
                                  as_supervised=True, batch_size=_READ_BATCH)
    index = start
    for images, labels in tfds.as_numpy(ds):
      for image, label in zip(images, labels):
        role = self._roles[index]
        if role != split_plan.DROP:
          label = (features.NO_LABEL if role == split_plan.UNLABELED
                   else int(self._label_map[label]) if self._output_labels is None
                   else int(self._output_labels[index]))
          name = self._names[label] if label >= 0 else ""
          yield int(role), examples_lib.image_example(image, label, index, name)
        index += 1


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
        test_split=exec_properties[spec.TEST_SPLIT_KEY],
        classes=tuple(c for c in (exec_properties.get(spec.CLASSES_KEY) or "").split(",") if c),
        skip_bad_images=bool(exec_properties.get(spec.SKIP_BAD_IMAGES_KEY)))
    seed = int(exec_properties[spec.SEED_KEY])

    builder = tfds_source.load_builder(source)
    started = time.monotonic()
    extra = exec_properties.get(spec.EXTRA_LABELS_KEY) or None
    if extra and extra_labels.digest(extra) != exec_properties.get(spec.EXTRA_LABELS_SHA256_KEY):
      raise DataSourceError(f"{extra}: the file changed after the pipeline was built: run again")
    plan = split_plan.make_plan(builder, source, exec_properties[spec.LABEL_BUDGET_KEY], seed,
                                extra)
    counts, per_class = plan.counts(), plan.labeled_per_class()
    logging.info("Split plan (%.1f s): %s; labeled per class %s", time.monotonic() - started,
                 counts, per_class)

    examples = artifact_utils.get_single_instance(output_dict[spec.EXAMPLES_KEY])
    examples.split_names = artifact_utils.encode_split_names(list(spec.SPLITS))
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    with self._make_beam_pipeline() as pipeline:
      reads = [(pipeline
                | "TrainShards" >> beam.Create(_shards(len(plan.train_roles)))
                | "ReadTrain" >> beam.ParDo(
                    _ReadShard(source, source.train_split, plan.train_roles, plan.label_map,
                               plan.class_names, plan.train_labels)))]
      if plan.test_roles is not None:
        reads.append(pipeline
                     | "TestShards" >> beam.Create(_shards(len(plan.test_roles)))
                     | "ReadTest" >> beam.ParDo(
                         _ReadShard(source, source.test_split, plan.test_roles, plan.label_map,
                                    plan.class_names)))
      by_split = (reads
                  | "AllRows" >> beam.Flatten()
                  | "BySplit" >> beam.Partition(lambda row, _: row[0], len(spec.SPLITS)))
      for split, rows in zip(spec.SPLITS, by_split):
        # Written as read, without TFX's WriteSplit: its Reshuffle makes the in-memory runner
        # hold every example at once, and TFDS already stored the images shuffled.
        _ = (rows
             | f"Values[{split}]" >> beam.Values()
             | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                 os.path.join(artifact_utils.get_split_uri([examples], split),
                              _FILE_PREFIX),
                 file_name_suffix=".gz"))

    examples.set_string_custom_property(spec.SPLIT_COUNTS_PROPERTY, json.dumps(counts))
    examples.set_string_custom_property(
        spec.LABELED_PER_CLASS_PROPERTY,
        json.dumps(per_class, sort_keys=True))
    examples.set_string_custom_property(spec.CLASS_NAMES_PROPERTY,
                                        json.dumps(list(plan.class_names), ensure_ascii=False))
    skipped = image_folder.skipped_images(builder)
    examples.set_string_custom_property(spec.SKIPPED_IMAGES_PROPERTY,
                                        json.dumps(list(skipped), ensure_ascii=False))
    if skipped:
      logging.warning("%d unreadable pictures were skipped (--skip-bad-images), e.g. %s",
                      len(skipped), skipped[0])
    logging.info("Wrote %s in %.1f s", counts, time.monotonic() - started)
