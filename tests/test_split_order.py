"""An example's id is its index in its split: a slice read by ExampleGen holds the ids that
the split plan's label scan gave those examples, however many files the split has."""
import numpy as np
import tensorflow_datasets as tfds

from sources import split_order
from sources import split_plan
from sources import tfds_source


def test_slices_hold_the_labels_the_whole_split_scan_numbered_over_several_files(tmp_path):
  builder = tfds_source.open_builder("doodles/tiny", str(tmp_path))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(num_shards=4))
  assert len(builder.info.splits["train"].shard_lengths) == 4  # several files, as at scale
  labels = split_plan.read_labels(builder, "train")
  images = np.concatenate([i for i, _ in tfds.as_numpy(split_order.read(
      builder, "train", as_supervised=True, batch_size=256))])
  for start, stop in ((0, 100), (230, 610), (900, 1000)):
    sliced = list(tfds.as_numpy(split_order.read(builder, f"train[{start}:{stop}]",
                                                 as_supervised=True, batch_size=64)))
    assert np.array_equal(np.concatenate([l for _, l in sliced]), labels[start:stop])
    assert np.array_equal(np.concatenate([i for i, _ in sliced]), images[start:stop])
