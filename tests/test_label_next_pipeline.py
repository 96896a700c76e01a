"""Label next, end to end (LocalDagRunner): a run, `suggest` on it, the labels a person gave, and
runs with `--extra-labels`: the split counts move by exactly the file's rows, and the file is
part of ExampleGen's cache key."""
import csv
import dataclasses
import glob
import os

import pytest
import tensorflow as tf
from tfx.orchestration import pipeline as tfx_pipeline

from components.tfds_example_gen import spec as example_gen_spec
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import suggest
from sources import extra_labels
from sources import features
from sources import split_plan
from tests.conftest import with_method

pytestmark = pytest.mark.slow
COUNT = 15


def _split(summary, split):
  """{example id: label} of one split ExampleGen wrote."""
  uri = summary.components[pipeline_lib.EXAMPLE_GEN].output("examples").uri
  files = glob.glob(os.path.join(uri, f"Split-{split}", "*.gz"))
  out = {}
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature
    out[feature[features.EXAMPLE_ID_KEY].int64_list.value[0]] = (
        feature[features.LABEL_KEY].int64_list.value[0])
  return out


def _labels_file(path, rows, names):
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f)
    writer.writerow(["example_id", "class_name"])
    writer.writerows((i, names[label]) for i, label in rows)
  return str(path)


@pytest.fixture(scope="module")
def rounds(tiny_config, tmp_path_factory):
  work = tmp_path_factory.mktemp("label_next")
  base = with_method(tiny_config, "supervised", output_dir=str(work / "out"),
                     training=dataclasses.replace(tiny_config.training, epochs=2, min_epochs=0))
  first = local_runner.run(base)
  csv_path, page = suggest.run(base.output_dir, base.name, COUNT, "diverse", str(work / "next"))
  with open(csv_path) as f:
    suggested = [int(row["example_id"]) for row in csv.DictReader(f)]
  # The person labels them right: the tiny doodles' true labels answer for them.
  truth = split_plan.output_train_labels(base.data.source)
  names = local_runner.prepare(base).class_names
  rows = [(i, int(truth[i])) for i in suggested]
  labels = _labels_file(work / "labels.csv", rows, names)
  with_labels = dataclasses.replace(base, data=dataclasses.replace(base.data, extra_labels=labels))
  second = local_runner.run(with_labels)
  again = local_runner.run(with_labels)
  fewer = _labels_file(work / "fewer.csv", rows[:10], names)
  # Only ExampleGen: what follows it is what `second` already ran on extra labels.
  other = local_runner.run(dataclasses.replace(
      base, data=dataclasses.replace(base.data, extra_labels=fewer)),
      run_options=tfx_pipeline.RunOptions(to_nodes=[pipeline_lib.EXAMPLE_GEN]))
  return {"first": first, "second": second, "again": again, "other": other, "page": page,
          "suggested": suggested, "rows": rows, "labels": labels}


def test_suggestions_are_distinct_unlabeled_ids_never_labeled_or_test(rounds):
  first, suggested = rounds["first"], rounds["suggested"]
  assert len(suggested) == COUNT == len(set(suggested))
  assert set(suggested) <= set(_split(first, "unlabeled"))
  assert not set(suggested) & set(_split(first, "labeled"))
  assert os.path.isfile(rounds["page"])


def test_the_extra_labels_move_exactly_those_examples_with_their_labels(rounds):
  first, second = rounds["first"], rounds["second"]
  assert second.split_counts["labeled"] == first.split_counts["labeled"] + COUNT
  assert second.split_counts["unlabeled"] == first.split_counts["unlabeled"] - COUNT
  assert second.split_counts["test"] == first.split_counts["test"]
  labeled, unlabeled = _split(second, "labeled"), _split(second, "unlabeled")
  for example_id, label in rounds["rows"]:
    assert labeled[example_id] == label and example_id not in unlabeled
  assert set(labeled) - set(_split(first, "labeled")) == set(rounds["suggested"])
  properties = second.components[pipeline_lib.EXAMPLE_GEN].properties
  assert properties[example_gen_spec.EXTRA_LABELS_KEY] == rounds["labels"]
  assert properties[example_gen_spec.EXTRA_LABELS_SHA256_KEY] == extra_labels.digest(
      rounds["labels"])


def test_the_same_file_hits_the_cache_another_does_not(rounds):
  assert rounds["second"].components[pipeline_lib.EXAMPLE_GEN].state == "COMPLETE"
  assert rounds["again"].components[pipeline_lib.EXAMPLE_GEN].state == "CACHED"
  other = rounds["other"]
  assert other.components[pipeline_lib.EXAMPLE_GEN].state == "COMPLETE"
  assert pipeline_lib.TRAINER not in other.components  # a partial run: ExampleGen only
  assert other.split_counts["labeled"] == rounds["first"].split_counts["labeled"] + 10
