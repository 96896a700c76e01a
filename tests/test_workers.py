"""Multi-worker training on 127.0.0.1: two workers train together, and a killed one resumes."""
import logging
import re

import numpy as np
import pytest
import tensorflow as tf

from models import distribution
from pipeline import local_workers


@pytest.fixture(scope="module")
def fn_args(runs, tiny_config):
  del runs  # the pipeline runs that left the Transform output and Trainer settings
  return local_workers.trainer_inputs(tiny_config.output_dir, tiny_config.name, epochs=3)


def _worker_lines(caplog, index):
  return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"[worker {index}]")]


def _epochs_reported(lines):
  return [int(m.group(1)) for line in lines for m in [re.search(r"fine-tune: epoch (\d+)/", line)] if m]


def _assert_serves(model_dir):
  serve = tf.saved_model.load(model_dir).signatures["serving_default"]
  image = tf.train.Example(features=tf.train.Features(feature={"image": tf.train.Feature(
      bytes_list=tf.train.BytesList(value=[bytes(784)]))})).SerializeToString()
  probabilities = serve(examples=tf.constant([image]))["probabilities"].numpy()
  assert probabilities.shape == (1, 10) and np.isclose(probabilities.sum(), 1.0, atol=1e-4)


def test_two_workers_train_together(fn_args, caplog):
  caplog.set_level(logging.INFO)
  exported = local_workers.launch(fn_args, num_workers=2)
  for index in (0, 1):
    lines = _worker_lines(caplog, index)
    assert _epochs_reported(lines) == [1, 2, 3], lines[-20:]
    # One replica per worker: the global batch of 32 is split 16 + 16.
    assert any("global batch 32 (16 per replica, 2 replicas)" in line for line in lines)
  _assert_serves(exported)


def test_killed_worker_resumes_after_its_last_epoch(fn_args, caplog):
  caplog.set_level(logging.INFO)
  with pytest.raises(local_workers.WorkerError, match="worker 1 exited with code 3"):
    local_workers.launch(fn_args, num_workers=2, fail_after_epoch=1)
  assert _epochs_reported(_worker_lines(caplog, 0)) == [1]
  caplog.clear()
  exported = local_workers.launch(fn_args, num_workers=2)
  # Resumed: epoch 1 is not trained again.
  assert _epochs_reported(_worker_lines(caplog, 0)) == [2, 3]
  _assert_serves(exported)


def test_worker_that_never_starts_training_times_out(fn_args):
  with pytest.raises(local_workers.WorkerError, match=r"did not start training within 1 s"):
    local_workers.launch(fn_args, num_workers=2, join_timeout=1)


@pytest.mark.parametrize("text,fragment", [
    ("{not json", "is not JSON"),
    ('{"task": {"type": "worker", "index": 0}}', "has no 'cluster'"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "task type must be"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "task index 3"),
])
def test_malformed_tf_config_is_refused_naming_it(text, fragment):
  with pytest.raises(distribution.DistributionError, match=re.escape(fragment)):
    distribution.check_tf_config(text)


def test_global_batch_must_split_over_replicas():
  class TwoReplicas:
    num_replicas_in_sync = 2
  assert distribution.check_global_batch(64, TwoReplicas()) == 32
  with pytest.raises(distribution.DistributionError, match="global batch 33 does not split over 2"):
    distribution.check_global_batch(33, TwoReplicas())
