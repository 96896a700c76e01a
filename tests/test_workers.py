"""Multi-worker training on 127.0.0.1: two workers train (and pre-train) together, a killed one
resumes, and one whose peers never come gives up."""
import json
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from components.layerwise_pretrainer import executor as pretrainer_executor
from models import pretexts
from models import weights
from models import config as config_lib
from models import distribution
from pipeline import local_workers

pytestmark = pytest.mark.slow


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


def test_two_workers_train_together_and_a_killed_one_resumes_after_its_last_epoch(fn_args,
                                                                                   caplog):
  caplog.set_level(logging.INFO)
  with pytest.raises(local_workers.WorkerError, match="worker 1 exited with code 3"):
    local_workers.launch(local_workers.TRAINER, fn_args, num_workers=2, fail_after_epoch=1)
  for index in (0, 1):
    lines = _worker_lines(caplog, index)
    assert _epochs_reported(lines) == [1], lines[-20:]
    # One replica per worker: the global batch of 32 is split 16 + 16.
    assert any("global batch 32 (16 per replica, 2 replicas)" in line for line in lines)
  caplog.clear()
  exported = local_workers.launch(local_workers.TRAINER, fn_args, num_workers=2)
  # Resumed together: epoch 1 is not trained again.
  for index in (0, 1):
    assert _epochs_reported(_worker_lines(caplog, index)) == [2, 3]
  _assert_serves(exported)


def test_worker_that_never_starts_training_times_out(fn_args):
  with pytest.raises(local_workers.WorkerError, match=r"did not start training within 1 s"):
    local_workers.launch(local_workers.TRAINER, fn_args, num_workers=2, join_timeout=1)


def test_two_workers_pretrain_together_and_the_trainer_takes_their_encoder(
    method_runs, methods_output, tiny_config, caplog):
  del method_runs  # the last of these runs pre-trained: its settings and Transform output
  caplog.set_level(logging.INFO)
  job_args = local_workers.pretrainer_inputs(methods_output, tiny_config.name, epochs=2)
  with pytest.raises(config_lib.ConfigError, match=r"--set 'training.epochs=3': the pretrainer "
                     r"job reads only pretraining.FIELD$"):
    local_workers.pretrainer_inputs(methods_output, tiny_config.name, epochs=2,
                                    sets=["training.epochs=3"])
  encoder_dir = local_workers.launch(local_workers.PRETRAINER, job_args, num_workers=2)
  for index in (0, 1):
    lines = _worker_lines(caplog, index)
    for stage in (1, 2):
      assert [int(m.group(1)) for line in lines
              for m in [re.search(rf"pre-training \(reconstruct\) stage {stage}/2: epoch (\d+)/", line)] if m
              ] == [1, 2], lines[-20:]
    assert any("global batch 128 (64 per replica, 2 replicas)" in line for line in lines)
  encoder = pretexts.load_encoder(encoder_dir)
  with open(os.path.join(job_args["model_dir"], pretrainer_executor.HISTORY_FILE)) as f:
    stages = json.load(f)["stages"]
  assert len(stages) == 2
  # Stage 2 started from stage 1's first layer; the encoder holds stage 2's final layers.
  assert stages[1]["start_fingerprints"]["lstm_1"] == stages[0]["end_fingerprints"]["lstm_1"]
  assert weights.fingerprints(encoder) == {k: v for k, v in stages[1]["end_fingerprints"].items()
                                           if k.startswith("lstm_")}
  trainer_args = local_workers.trainer_inputs(methods_output, tiny_config.name, epochs=1)
  assert trainer_args["base_model"] == encoder_dir


def test_two_workers_train_the_consistency_method_together(pair_runs, pairs_output, tiny_config,
                                                          caplog):
  del pair_runs  # the last of these runs trained the CNN by consistency: its settings and data
  caplog.set_level(logging.INFO)
  # With the per-class thresholds (their statistics all-reduced) and mixed bfloat16 too, set
  # as `fewlabels workers --set` sets them.
  job_args = local_workers.trainer_inputs(
      pairs_output, tiny_config.name, epochs=1,
      sets=["adaptive_threshold=true", "training.precision=mixed_bfloat16"])
  assert job_args["custom_config"]["method"] == "consistency"
  with pytest.raises(config_lib.ConfigError, match="method 'consistency' has no setting 'mu'"):
    local_workers.trainer_inputs(pairs_output, tiny_config.name, epochs=1, sets=["mu=3"])
  # A setting the job never reads is refused, not dropped.
  with pytest.raises(config_lib.ConfigError, match=r"--set 'evaluation.min_accuracy=0.5': the "
                     r"trainer job reads only model.FIELD, training.FIELD, FIELD \(the method"):
    local_workers.trainer_inputs(pairs_output, tiny_config.name, epochs=1,
                                 sets=["evaluation.min_accuracy=0.5"])
  exported = local_workers.launch(local_workers.TRAINER, job_args, num_workers=2)
  for index in (0, 1):
    lines = _worker_lines(caplog, index)
    assert [int(m.group(1)) for line in lines
            for m in [re.search(r"consistency training: epoch (\d+)/2", line)] if m] == [1, 2]
    # The labeled batch of 32 is split 16 + 16 (and the unlabeled one of 7 x 32 likewise).
    assert any(re.search(r"consistency training: \d+ images, global batch 32 \(16 per replica, "
                         r"2 replicas\)", line) for line in lines), lines[-30:]
  _assert_serves(exported)
  with open(os.path.join(job_args["model_run_dir"], "history.json")) as f:
    history = json.load(f)
  assert history["compute_dtype"] == "bfloat16"
  assert len(history["thresholds_per_class"]) == 2
  assert all(0.5 <= t <= 0.95 for epoch in history["thresholds_per_class"] for t in epoch)


def test_pretraining_workers_need_a_run_that_pretrained(runs, tiny_config):
  del runs  # supervised: no pre-training in the run
  with pytest.raises(local_workers.WorkerError,
                     match="has no pre-training: run it with a method that starts from a pre-tr"):
    local_workers.pretrainer_inputs(tiny_config.output_dir, tiny_config.name, epochs=None)


def test_a_worker_whose_peers_never_join_gives_up_after_the_join_timeout():
  # A cluster of two where only worker 0 ever starts (nothing listens on the second port).
  port_a, port_b = local_workers.free_ports(2)
  env = dict(os.environ, **{distribution.JOIN_TIMEOUT_ENV: "3", "TF_CONFIG": json.dumps({
      "cluster": {"worker": [f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"]},
      "task": {"type": "worker", "index": 0}})})
  done = subprocess.run(
      [sys.executable, "-c", "import logging; logging.basicConfig(level=logging.INFO); "
       "from models import distribution; distribution.create_strategy(); print('joined')"],
      env=env, capture_output=True, text=True, timeout=120)
  assert done.returncode == 1 and "joined" not in done.stdout
  assert f"waiting up to 3 s ({distribution.JOIN_TIMEOUT_ENV})" in done.stderr
  assert "Timeout (0:00:03)!" in done.stderr


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_join_timeout_must_be_a_positive_number(monkeypatch, value):
  monkeypatch.setenv(distribution.JOIN_TIMEOUT_ENV, value)
  with pytest.raises(distribution.DistributionError,
                     match=f"{distribution.JOIN_TIMEOUT_ENV}='{value}': expected a positive"):
    distribution.join_timeout_seconds()


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
