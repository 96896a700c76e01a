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
from typing import Any, Dict, Iterator, List, Tuple

import apache_beam as beam
import tensorflow_datasets as tfds
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components.tfds_example_gen import spec
from sources import examples as examples_lib
from sources import extra_labels
from sources import features
from sources import image_folder
from sources import split_order
from sources import split_plan
from sources import splits
from sources import tfds_source
from sources.errors import DataSourceError

# Images per Beam work item: small enough to spread, large enough to amortise opening TFDS.
_SHARD_SIZE = 20_000
_READ_BATCH = 1024
_FILE_PREFIX = "data_tfrecord"  # the file names TFX's own ExampleGens write


class _ReadShard(beam.DoFn):
  """Reads images [start, stop) of one source split; emits (output split index, serialized
  example). One DoFn for both source splits, so that one Create feeds it: a Flatten of two
  reads would make the in-memory runner buffer every example before writing any."""

  def __init__(self, source: tfds_source.SourceSpec, plan: split_plan.SplitPlan):
    self._source, self._plan = source, plan
    self._builder = None

  def setup(self):
    self._builder = tfds_source.load_builder(self._source)

  def process(self, shard: Tuple[str, int, int]) -> Iterator[Tuple[int, bytes]]:
    split, start, stop = shard
    train = split == self._source.train_split
    plan = self._plan
    roles = plan.train_roles if train else plan.test_roles
    # Batched reads: TFDS's per-example iteration costs more than building the examples.
    ds = split_order.read(self._builder, f"{split}[{start}:{stop}]", as_supervised=True,
                          batch_size=_READ_BATCH)
    index = start
    for images, labels in tfds.as_numpy(ds):
      for image, label in zip(images, labels):
        role = roles[index]
        if role != split_plan.DROP:
          # Training images carry the plan's labels (given labels included), test images theirs.
          label = (features.NO_LABEL if role == split_plan.UNLABELED
                   else int(plan.train_labels[index]) if train else int(plan.label_map[label]))
          name = plan.class_names[label] if label >= 0 else ""
          yield int(role), examples_lib.image_example(image, label, index, name)
        index += 1


def _shards(split: str, count: int) -> List[Tuple[str, int, int]]:
  return [(split, start, min(start + _SHARD_SIZE, count))
          for start in range(0, count, _SHARD_SIZE)]


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
    if plan.budget_note:
      logging.warning("%s", plan.budget_note)

    examples = artifact_utils.get_single_instance(output_dict[spec.EXAMPLES_KEY])
    examples.split_names = artifact_utils.encode_split_names(list(splits.SPLITS))
    examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
    with self._make_beam_pipeline() as pipeline:
      shards = _shards(source.train_split, len(plan.train_roles))
      if plan.test_roles is not None:
        shards += _shards(source.test_split, len(plan.test_roles))
      by_split = (pipeline
                  | "Shards" >> beam.Create(shards)
                  | "Read" >> beam.ParDo(_ReadShard(source, plan))
                  | "BySplit" >> beam.Partition(lambda row, _: row[0], len(splits.SPLITS)))
      for split, rows in zip(splits.SPLITS, by_split):
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
    examples.set_string_custom_property(spec.BUDGET_NOTE_PROPERTY, plan.budget_note)
    examples.set_string_custom_property(spec.CLASS_NAMES_PROPERTY,
                                        json.dumps(list(plan.class_names), ensure_ascii=False))
    skipped = image_folder.skipped_images(builder)
    examples.set_string_custom_property(spec.SKIPPED_IMAGES_PROPERTY,
                                        json.dumps(list(skipped), ensure_ascii=False))
    if skipped:
      logging.warning("%d unreadable pictures were skipped (--skip-bad-images), e.g. %s",
                      len(skipped), skipped[0])
    logging.info("Wrote %s in %.1f s", counts, time.monotonic() - started)
