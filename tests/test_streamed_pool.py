"""The Trainer does not hold the pool: its peak memory barely moves with the pool's size, and
each worker of a multi-worker run takes its own part of every pool batch.

Each pool trains consistency (the default's pool stage: the paired stream, the batch-norm
sample) in a fresh process, from Transform-like files of random pixels (which GZIP cannot
shrink), and reports its peak resident memory.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from models import preprocessing

pytestmark = pytest.mark.slow

_READ = textwrap.dedent("""
    import json, resource, sys
    import tensorflow as tf
    from models import architectures, config, distribution, input_fn, methods, preprocessing

    class TransformOutput:
      def transformed_feature_spec(self):
        return {preprocessing.PIXELS_KEY: tf.io.FixedLenFeature([], tf.string),
                preprocessing.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
                preprocessing.EXAMPLE_ID_KEY: tf.io.FixedLenFeature([], tf.int64)}
""")
_TRAIN = _READ + textwrap.dedent("""
    labeled, pool = input_fn.read([sys.argv[1]], TransformOutput())
    model = config.ModelConfig(architecture="cnn", settings=(("width", 4),))
    trained = methods.train("consistency", methods.TrainRequest(
        labeled=labeled, pool=pool, build_model=lambda: architectures.build(3, model),
        training=config.TrainingConfig(epochs=1, batch_size=32, min_steps_per_epoch=0),
        settings=methods.get("consistency").settings(steps=30, steps_per_epoch=10),
        num_classes=3, log_dir=sys.argv[2], strategy=tf.distribute.get_strategy()))
    print(json.dumps({"pool": trained.history["pool"], "steps": trained.history["steps"],
                      "scored": trained.history["off_topic"]["scored"],
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def _feature(value):
  if isinstance(value, bytes):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
  return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def _write_pool(directory, pool_size, labeled=300, per_file=50_000):
  """Files of `labeled` labeled and `pool_size` unlabeled rows; returns their pattern."""
  os.makedirs(directory)
  rng = np.random.default_rng(pool_size)
  for start in range(0, labeled + pool_size, per_file):
    ids = range(start, min(start + per_file, labeled + pool_size))
    pixels = rng.integers(0, 256, (len(ids), 28 * 28), dtype=np.uint8)
    with tf.io.TFRecordWriter(os.path.join(directory, f"part-{start:07d}.gz"), "GZIP") as writer:
      for row, i in zip(pixels, ids):
        writer.write(tf.train.Example(features=tf.train.Features(feature={
            preprocessing.PIXELS_KEY: _feature(row.tobytes()),
            preprocessing.LABEL_KEY: _feature(i % 3 if i < labeled else -1),
            preprocessing.EXAMPLE_ID_KEY: _feature(i)})).SerializeToString())
  return os.path.join(directory, "part-*")


def _train(tmp_path, pool_size):
  pattern = _write_pool(str(tmp_path / f"pool_{pool_size}"), pool_size)
  # Fewer malloc arenas: less of the peak depends on how threads happened to be scheduled.
  out = subprocess.run([sys.executable, "-c", _TRAIN, pattern, str(tmp_path / f"logs_{pool_size}")],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, MALLOC_ARENA_MAX="2"))
  assert out.returncode == 0, out.stderr[-3000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_trainers_peak_memory_grows_far_less_than_the_pool(tmp_path):
  small, large = _train(tmp_path, 20_000), _train(tmp_path, 300_000)
  # The off-topic check streams the whole pool too; what it flags is not trained on.
  assert (small["scored"], large["scored"]) == (20_000, 300_000)
  assert 0.9 * 20_000 <= small["pool"] <= 20_000 and 0.9 * 300_000 <= large["pool"] <= 300_000
  assert small["steps"] == large["steps"] == 30  # the same steps for a pool 15x the size
  pool_mb = (300_000 - 20_000) * 28 * 28 / 2 ** 20  # 209 MB more pixels
  # Held whole, the larger pool would cost at least its pixels again (and once more while
  # being put together); streamed, the buffers are the same size for both (measured: +19 MB
  # alone, +52 MB beside other tests, for +202 MB of pool).
  assert large["peak_mb"] - small["peak_mb"] < 0.4 * pool_mb, (small, large)


# Each worker prints, per step, the ids of the pool images it was handed (the pool side's
# "truth" is the id itself here); the strategy distributes the stream as Keras's fit does.
_SHARDS = _READ + textwrap.dedent("""
    strategy = distribution.create_strategy()
    labeled, pool = input_fn.read([sys.argv[1]], TransformOutput())
    import numpy as np
    batches = input_fn.paired_batches(labeled, pool, np.arange(10_000), batch_size=16,
                                      ratio=3, seed=0, shuffle_buffer=500)
    if len(sys.argv) > 2:  # one process: the global batches themselves
      steps = [truth.tolist() for _, (_, truth) in batches(
          tf.distribute.InputContext()).take(4).as_numpy_iterator()]
    else:
      iterator = iter(strategy.distribute_datasets_from_function(batches))
      steps = []
      for _ in range(4):
        (_, (_, truth)) = next(iterator)
        steps.append([i for part in strategy.experimental_local_results(truth)
                      for i in part.numpy().tolist()])
      # Neither leaves before the other is done: a worker whose peer has gone waits forever.
      strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)),
                      axis=None)
    print(json.dumps(steps))
""")


def _two_workers(pattern):
  """What each of two MultiWorkerMirroredStrategy workers was handed, per step."""
  from pipeline import local_workers
  addresses = [f"127.0.0.1:{port}" for port in local_workers.free_ports(2)]
  workers = [subprocess.Popen(
      [sys.executable, "-c", _SHARDS, pattern], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True, env=dict(os.environ, TF_CONFIG=json.dumps({
          "cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})))
      for index in (0, 1)]
  outputs = [worker.communicate(timeout=900) for worker in workers]
  assert [w.returncode for w in workers] == [0, 0], [err[-2000:] for _, err in outputs]
  return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def test_two_workers_take_disjoint_halves_of_every_pool_batch(tmp_path):
  pattern = _write_pool(str(tmp_path / "pool"), 2_000)  # one file: fewer than the workers
  whole = subprocess.run([sys.executable, "-c", _SHARDS, pattern, "whole"], capture_output=True,
                         text=True, timeout=900)
  assert whole.returncode == 0, whole.stderr[-3000:]
  global_batches = json.loads(whole.stdout.strip().splitlines()[-1])
  first, second = _two_workers(pattern)
  for global_ids, ids_0, ids_1 in zip(global_batches, first, second):
    assert len(ids_0) == len(ids_1) == 24  # 48 pool images a step, split 24 + 24
    assert not set(ids_0) & set(ids_1)
    assert sorted(ids_0 + ids_1) == sorted(global_ids)  # together, the one-worker batch
    assert min(global_ids) >= 300  # pool images only, never a labeled one


def test_with_a_file_each_two_workers_stream_disjoint_files(tmp_path):
  # Four files of 575 rows (the 300 labeled ones in the first): each worker streams two.
  pattern = _write_pool(str(tmp_path / "pool"), 2_000, per_file=575)
  first, second = _two_workers(pattern)
  assert len(first) == len(second) == 4  # both took every step
  files = [set(range(start, start + 575)) for start in range(0, 2_300, 575)]
  for ids_0, ids_1 in zip(first, second):
    assert len(ids_0) == len(ids_1) == 24
    assert set(ids_0) <= files[0] | files[2] and set(ids_1) <= files[1] | files[3]
