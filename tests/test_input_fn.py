"""The Trainer's input: the labeled split in memory with every image paired with its label and
id, every labeled image once per epoch, reshuffled; the pool streamed from the files."""
import numpy as np
import tensorflow as tf

from models import input_fn
from models import pretexts
from models import preprocessing
from sources import features


_ONE_WORKER = tf.distribute.InputContext()


def _examples(n=100, unlabeled=20):
  rng = np.random.default_rng(0)
  labels = np.concatenate([rng.integers(0, 10, n), np.full(unlabeled, features.NO_LABEL)])
  # Each image's first two pixels hold its position, base 256.
  position = np.arange(n + unlabeled)
  pixels = np.zeros((n + unlabeled, 28, 28), np.uint8)
  pixels[:, 0, 0], pixels[:, 0, 1] = position % 256, position // 256
  return input_fn.Examples(pixels, labels.astype(np.int64), position.astype(np.int64))


def _positions(pixels):
  return pixels[:, 0, 0].astype(int) + 256 * pixels[:, 0, 1].astype(int)


def test_each_epoch_holds_every_labeled_image_once_in_a_new_order():
  labeled = input_fn.labeled_only(_examples())
  assert len(labeled) == 100 and (labeled.labels != features.NO_LABEL).all()
  batches = input_fn.training_batches(labeled, batch_size=25, seed=1).take(8)
  epochs = [[], []]
  for step, (pixels, labels) in enumerate(batches.as_numpy_iterator()):
    assert pixels.shape == (25, 28, 28) and pixels.dtype == np.uint8 and labels.shape == (25,)
    ids = _positions(pixels)
    assert (labels == labeled.labels[ids]).all()  # rows and labels stay paired
    epochs[step // 4].extend(ids.tolist())
  assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(100))
  assert epochs[0] != epochs[1]


def test_evaluation_batches_keep_order_and_the_last_partial_batch():
  labeled = input_fn.labeled_only(_examples())
  batches = list(input_fn.evaluation_batches(labeled, 32).as_numpy_iterator())
  assert [len(labels) for _, labels, _ in batches] == [32, 32, 32, 4]
  assert _positions(np.concatenate([p for p, _, _ in batches])).tolist() == list(range(100))
  assert all((weights == 1).all() for _, _, weights in batches)


def test_on_several_replicas_the_last_batch_is_filled_with_images_that_weigh_nothing():
  labeled = input_fn.labeled_only(_examples())
  batches = list(input_fn.evaluation_batches(labeled, 32, replicas=2).as_numpy_iterator())
  assert [len(labels) for _, labels, _ in batches] == [32] * 4
  weights = np.concatenate([w for _, _, w in batches])
  assert weights[:100].tolist() == [1.0] * 100 and weights[100:].tolist() == [0.0] * 28
  assert (np.concatenate([l for _, l, _ in batches])[:100] == labeled.labels).all()


def test_validation_split_is_deterministic_disjoint_and_sized():
  examples = input_fn.labeled_only(_examples(n=2000, unlabeled=0))
  train, validation = input_fn.split_validation(examples, 0.2)
  again_train, _ = input_fn.split_validation(examples, 0.2)
  assert np.array_equal(train.ids, again_train.ids)
  assert not set(train.ids) & set(validation.ids)
  assert len(train) + len(validation) == 2000
  assert 300 < len(validation) < 500


def test_reconstruction_batches_pair_pixels_with_the_rows_the_model_sees():
  examples = _examples(n=10, unlabeled=0)
  examples.pixels[:, 5, :] = 255
  pixels, targets = next(input_fn.pretext_batches(
      input_fn.Pool.from_examples(examples), 10, 0, pretexts.reconstruct_targets, 10)(
          _ONE_WORKER).as_numpy_iterator())
  assert targets.dtype == np.float32 and targets.min() >= -1 and targets.max() <= 1
  assert np.allclose(targets[:, 5, :], 1.0) and np.allclose(targets[:, 9, :], -1.0)
  assert np.allclose(targets, preprocessing.scaling_layer()(pixels).numpy(), atol=1e-6)


class _TransformOutput:
  """The one method of tft.TFTransformOutput that reading the files uses."""

  def transformed_feature_spec(self):
    return {preprocessing.PIXELS_KEY: tf.io.FixedLenFeature([], tf.string),
            preprocessing.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
            preprocessing.EXAMPLE_ID_KEY: tf.io.FixedLenFeature([], tf.int64)}


def _write(path, pixels, labels, ids):
  with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
    for image, label, example_id in zip(pixels, labels, ids):
      feature = {
          preprocessing.PIXELS_KEY: tf.train.Feature(
              bytes_list=tf.train.BytesList(value=[image.tobytes()])),
          preprocessing.LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
          preprocessing.EXAMPLE_ID_KEY: tf.train.Feature(
              int64_list=tf.train.Int64List(value=[example_id]))}
      writer.write(tf.train.Example(features=tf.train.Features(feature=feature))
                   .SerializeToString())


def test_load_reads_every_file_in_order_with_pixels_labels_and_ids_paired(tmp_path):
  # More records than one parse batch, over two files, so batches and files both have seams.
  examples = _examples(n=3000, unlabeled=100)
  rng = np.random.default_rng(1)
  examples.pixels[:, 1:, :] = rng.integers(0, 256, (len(examples), 27, 28), dtype=np.uint8)
  cut = 1700
  _write(tmp_path / "part-0.gz", examples.pixels[:cut], examples.labels[:cut], examples.ids[:cut])
  _write(tmp_path / "part-1.gz", examples.pixels[cut:], examples.labels[cut:], examples.ids[cut:])
  loaded = input_fn.load([str(tmp_path / "part-*")], _TransformOutput())
  assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (3100, 28, 28)
  assert np.array_equal(loaded.pixels, examples.pixels)
  assert np.array_equal(loaded.labels, examples.labels)
  assert np.array_equal(loaded.ids, examples.ids)


def _uneven(sizes=(10, 80, 30)):
  labels = np.random.default_rng(1).permutation(np.repeat(np.arange(len(sizes)), sizes))
  pixels = np.zeros((len(labels), 28, 28), np.uint8)
  pixels[:, 0, 0] = np.arange(len(labels)) % 256
  return input_fn.Examples(pixels, labels.astype(np.int64), np.arange(len(labels)))


def test_class_balanced_batches_draw_a_small_class_as_often_as_a_large_one():
  examples = _uneven()
  drawn = np.concatenate([labels for _, labels in input_fn.training_batches(
      examples, 30, seed=2, balanced=True).take(100).as_numpy_iterator()])
  shares = np.bincount(drawn) / len(drawn)
  assert np.allclose(shares, 1 / 3, atol=0.03), shares
  # Every image of the small class comes round, not a few of them again and again.
  small = {int(p[0, 0]) for p, l in zip(*next(input_fn.training_batches(
      examples, 3000, seed=2, balanced=True).as_numpy_iterator())) if l == 0}
  assert small == {int(p) for p in examples.pixels[examples.labels == 0][:, 0, 0]}
  plain = np.concatenate([labels for _, labels in input_fn.training_batches(
      examples, 30, seed=2).take(100).as_numpy_iterator()])
  assert np.bincount(plain)[0] / len(plain) < 0.12  # drawn as the data is: 10 of 120


def test_class_balance_auto_balances_only_labels_more_than_one_apart():
  from models import config as config_lib
  auto = config_lib.TrainingConfig()
  assert input_fn.balances_classes(auto, _uneven().labels)
  # A balanced budget's choice (12 and 11 per class) and the pool's -1 labels: no change.
  assert not input_fn.balances_classes(auto, np.array([0] * 12 + [1] * 11 + [-1] * 50))
  assert not input_fn.balances_classes(config_lib.TrainingConfig(class_balance="none"),
                                       _uneven().labels)
  assert input_fn.balances_classes(config_lib.TrainingConfig(class_balance="batches"),
                                   np.array([0, 1] * 20))
  import pytest
  with pytest.raises(config_lib.ConfigError, match="class_balance 'even' must be one of auto"):
    config_lib.TrainingConfig(class_balance="even")


def _written_pool(tmp_path, n=3000, unlabeled=2400):
  """Transform-like files: labeled and unlabeled rows mixed over two files."""
  examples = _examples(n=n - unlabeled, unlabeled=unlabeled)
  order = np.random.default_rng(3).permutation(n)
  examples = examples.subset(order)
  _write(tmp_path / "part-0.gz", examples.pixels[:1200], examples.labels[:1200],
         examples.ids[:1200])
  _write(tmp_path / "part-1.gz", examples.pixels[1200:], examples.labels[1200:],
         examples.ids[1200:])
  return examples


def test_read_holds_the_labels_and_streams_the_pool_once_per_pass(tmp_path):
  examples = _written_pool(tmp_path)
  labeled, pool = input_fn.read([str(tmp_path / "part-*")], _TransformOutput())
  assert isinstance(labeled, input_fn.Examples) and len(labeled) == 600 and len(pool) == 2400
  assert (labeled.labels != features.NO_LABEL).all()
  assert np.array_equal(labeled.pixels, examples.pixels[examples.labels != features.NO_LABEL])
  unlabeled_ids = sorted(examples.ids[examples.labels == features.NO_LABEL].tolist())
  ids = [int(i) for _, i in pool.records().as_numpy_iterator()]
  assert sorted(ids) == unlabeled_ids
  # A shuffle buffer smaller than the pool: each pass still sees every image once, in a new
  # order, with its own pixels.
  stream = pool.shuffled(seed=1, buffer=500).batch(600).take(8)
  passes = [[], []]
  for step, (pixels, batch_ids) in enumerate(stream.as_numpy_iterator()):
    assert (_positions(pixels) == batch_ids).all()
    passes[step // 4].extend(batch_ids.tolist())
  assert sorted(passes[0]) == sorted(passes[1]) == unlabeled_ids
  assert passes[0] != passes[1]


def test_paired_batches_pair_labeled_batches_with_pool_batches_and_their_truth(tmp_path):
  _written_pool(tmp_path)
  labeled, pool = input_fn.read([str(tmp_path / "part-*")], _TransformOutput())
  # True labels by id for ids below 2,000 only; the pool's other pictures have none.
  pairs = input_fn.paired_batches(labeled, pool, np.arange(2000) % 7, batch_size=16, ratio=3,
                                  seed=0, shuffle_buffer=1000)(_ONE_WORKER).take(3)
  for (pixels, labels), (pool_pixels, truth) in pairs.as_numpy_iterator():
    assert pixels.shape == (16, 28, 28) and pool_pixels.shape == (48, 28, 28)
    assert (labels != features.NO_LABEL).all()
    positions = _positions(pool_pixels)  # the truth of those very images
    assert (truth == np.where(positions < 2000, positions % 7, features.NO_LABEL)).all()
  (_, _), (_, unknown) = next(input_fn.paired_batches(
      labeled, pool, None, 16, 3, 0, 1000)(_ONE_WORKER).as_numpy_iterator())
  assert (unknown == features.NO_LABEL).all()


def _worker_steps(pairs, workers=2, steps=3):
  """Per worker, per step: (labeled positions, pool ids) of what that worker is handed."""
  return [[(_positions(pixels).tolist(), truth.tolist())
           for (pixels, _), (_, truth) in pairs(tf.distribute.InputContext(
               workers, worker, workers)).take(steps).as_numpy_iterator()]
          for worker in range(workers)]


def test_with_fewer_files_than_workers_each_worker_keeps_its_half_of_every_batch(tmp_path):
  _written_pool(tmp_path)  # two files, four workers
  labeled, pool = input_fn.read([str(tmp_path / "part-*")], _TransformOutput())
  pairs = input_fn.paired_batches(labeled, pool, np.arange(30_000), batch_size=16, ratio=3,
                                  seed=0, shuffle_buffer=1000)
  whole = _worker_steps(pairs, workers=1)[0]
  parts = _worker_steps(pairs, workers=4)
  for step, (labeled_ids, pool_ids) in enumerate(whole):
    assert [parts[w][step][0] for w in range(4)] == [labeled_ids[w * 4:w * 4 + 4]
                                                      for w in range(4)]
    assert [parts[w][step][1] for w in range(4)] == [pool_ids[w * 12:w * 12 + 12]
                                                      for w in range(4)]


def test_with_a_file_per_worker_or_more_each_worker_reads_only_its_own_files(tmp_path):
  examples = _written_pool(tmp_path)
  # Two more files of pool images: four files for two workers.
  more = _examples(n=0, unlabeled=800)
  more = input_fn.Examples(more.pixels, more.labels, more.ids + 10_000)
  more.pixels[:, 0, 0], more.pixels[:, 0, 1] = more.ids % 256, more.ids // 256
  _write(tmp_path / "part-2.gz", more.pixels[:400], more.labels[:400], more.ids[:400])
  _write(tmp_path / "part-3.gz", more.pixels[400:], more.labels[400:], more.ids[400:])
  # And a file of labeled images only (the labeled split's, sorted first): no worker's share.
  only_labeled = _examples(n=50, unlabeled=0)
  only_labeled = input_fn.Examples(only_labeled.pixels, only_labeled.labels,
                                   only_labeled.ids + 20_000)
  _write(tmp_path / "part-.gz", only_labeled.pixels, only_labeled.labels, only_labeled.ids)
  labeled, pool = input_fn.read([str(tmp_path / "part-*")], _TransformOutput())
  pairs = input_fn.paired_batches(labeled, pool, np.arange(30_000), batch_size=16, ratio=3,
                                  seed=0, shuffle_buffer=1000)
  whole_labeled = [labeled_ids for labeled_ids, _ in _worker_steps(pairs, workers=1)[0]]
  files = [set(examples.ids[:1200].tolist()), set(examples.ids[1200:].tolist()),
           set(more.ids[:400].tolist()), set(more.ids[400:].tolist())]
  seen = [set(), set()]
  for worker, steps in enumerate(_worker_steps(pairs, workers=2, steps=80)):  # a pass or more
    for step, (labeled_ids, pool_ids) in enumerate(steps):
      assert len(labeled_ids) == 8 and len(pool_ids) == 24  # half of 16 and of 48
      if step < len(whole_labeled):  # the labeled side still splits the one-worker batch
        assert labeled_ids == whole_labeled[step][worker * 8:worker * 8 + 8]
      seen[worker].update(pool_ids)
  # Worker 0 reads files 0 and 2, worker 1 files 1 and 3 (sorted by name).
  assert seen[0] <= files[0] | files[2] and seen[1] <= files[1] | files[3]
  assert seen[0] & files[2] and seen[1] & files[3]
  assert len(labeled) == 650 and len(pool) == 3200
  assert [len(pool.shard_by_file(2, w)) for w in (0, 1)] == [  # exact, from the one counting pass
      int((examples.labels[:1200] < 0).sum()) + 400, int((examples.labels[1200:] < 0).sum()) + 400]
  assert pool.shard_by_file(5, 0) is None  # four files of pool images: not one for each of five


def test_a_pool_sample_and_its_chunks_are_bounded_and_seeded():
  pool = input_fn.Pool.from_examples(input_fn.unlabeled_only(_examples(n=0, unlabeled=1000)))
  sample = pool.sample(100, seed=4, buffer=300)
  assert len(sample) == 100 and len(set(sample.ids.tolist())) == 100
  assert np.array_equal(sample.ids, pool.sample(100, seed=4, buffer=300).ids)
  assert not np.array_equal(sample.ids, pool.sample(100, seed=5, buffer=300).ids)
  chunks = list(pool.chunks(300, seed=2, buffer=1000))
  assert [len(c) for c in chunks] == [300, 300, 300, 100]
  assert sorted(np.concatenate([c.ids for c in chunks]).tolist()) == list(range(1000))
  assert all((c.labels == features.NO_LABEL).all() for c in chunks)
