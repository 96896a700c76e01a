"""The learning methods end to end on tiny doodles with LocalDagRunner (see conftest.method_runs):
the pre-training component's artifact, fine-tuning from it, and self-training's records."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.utils import path_utils

from components.layerwise_pretrainer import executor as pretrainer_executor
from models import architectures
from models import methods
from models import pretexts
from models import run_fn
from models import weights
from tests.conftest import SELF_TRAINING_SETTINGS, TINY_LSTM
from pipeline import pipeline as pipeline_lib
from pipeline import run_results

pytestmark = pytest.mark.slow


def _history(summary):
  trainer = summary.components[pipeline_lib.TRAINER]
  with open(os.path.join(trainer.output("model_run").uri, run_fn.HISTORY_FILE)) as f:
    return json.load(f)


def test_every_method_runs_end_to_end_to_an_evaluation(method_runs):
  for method, summary in method_runs.items():
    assert summary.components[pipeline_lib.TRAINER].state == "COMPLETE", method
    assert summary.components[pipeline_lib.EVALUATOR].state == "COMPLETE", method
    assert summary.test_accuracy is not None, method  # blessed or not, it was judged
    assert _history(summary)["method"] == method
    has_pretrainer = pipeline_lib.PRETRAINER in summary.components
    assert has_pretrainer == methods.get(method).needs_encoder, method


def test_pretrainer_writes_an_encoder_and_each_stage_loss_to_ml_metadata(method_runs):
  pretrainer = method_runs["layerwise"].components[pipeline_lib.PRETRAINER]
  model = pretrainer.output("model")
  depth = architectures.settings(TINY_LSTM).layers
  losses = [run_results.custom_value(model, f"stage_{k}_loss") for k in range(1, depth + 1)]
  assert all(isinstance(loss, float) and loss > 0 for loss in losses), losses
  assert os.path.isfile(os.path.join(path_utils.serving_model_dir(model.uri),
                                     pretexts.ENCODER_FILE))
  assert run_results.custom_value(model, "pretext") == "reconstruct"  # the LSTM's default
  # 700 unlabeled + 300 labeled images (labels ignored).
  assert run_results.custom_value(model, "pretraining_images") == 1000


def _lstms(fingerprints):
  return {name: value for name, value in fingerprints.items() if name.startswith("lstm_")}


def test_each_stage_starts_from_the_previous_stage_weights(method_runs):
  model = method_runs["layerwise"].components[pipeline_lib.PRETRAINER].output("model")
  with open(os.path.join(model.uri, pretrainer_executor.HISTORY_FILE)) as f:
    stages = json.load(f)["stages"]
  for depth, (previous, stage) in enumerate(zip(stages, stages[1:]), start=1):
    carried = {f"lstm_{k}" for k in range(1, depth + 1)}
    start, before = _lstms(stage["start_fingerprints"]), _lstms(previous["end_fingerprints"])
    assert {k: start[k] for k in carried} == {k: before[k] for k in carried}
    assert before != _lstms(previous["start_fingerprints"])  # it trained
    assert stage["end_fingerprints"]["lstm_1"] != start["lstm_1"]  # and trains again


def test_fine_tuning_starts_from_the_pretrained_encoder(method_runs):
  model = method_runs["layerwise"].components[pipeline_lib.PRETRAINER].output("model")
  encoder = pretexts.load_encoder(path_utils.serving_model_dir(model.uri))
  fresh = run_fn.model_builder(TINY_LSTM, 10, encoder, model.uri,
                               tf.distribute.get_strategy())()
  for layer in encoder.layers:
    for a, b in zip(fresh.get_layer(layer.name).get_weights(), layer.get_weights()):
      np.testing.assert_array_equal(a, b)
  # The Trainers of the pre-trained methods started (every round) from the last stage's weights.
  with open(os.path.join(model.uri, pretrainer_executor.HISTORY_FILE)) as f:
    pretrained = _lstms(json.load(f)["stages"][-1]["end_fingerprints"])
  assert pretrained == _lstms(weights.fingerprints(encoder))
  for method in ("layerwise", "self_training_layerwise"):
    history = _history(method_runs[method])
    assert _lstms(history["initial_fingerprints"]) == pretrained, method
  assert _lstms(_history(method_runs["self_training"])["initial_fingerprints"]) != pretrained


def test_self_training_records_its_rounds_from_the_unlabeled_split_only(method_runs, tiny_config,
                                                                          tfds_dir):
  for method in ("self_training", "self_training_layerwise"):
    summary = method_runs[method]
    report = _history(summary)["self_training"]
    rounds = report["rounds"]
    assert 1 <= len(rounds) <= dict(SELF_TRAINING_SETTINGS)["max_rounds"]
    assert rounds[0]["added_per_class"] == [0] * 10 and rounds[0]["pool"] == 700
    for previous, current in zip(rounds, rounds[1:]):
      added = sum(current["added_per_class"])
      assert current["pool"] == previous["pool"] - added
      assert current["num_labeled"] == previous["num_labeled"] + added
      assert 0.0 <= current["pseudo_label_accuracy"] <= 1.0  # scored against the true labels
    assert all(0.0 <= r["validation_accuracy"] <= 1.0 for r in rounds)
    assert 1 <= report["best_round"] <= len(rounds)
    # The Trainer read the labeled and unlabeled splits; the test split never reached it.
    trainer = summary.components[pipeline_lib.TRAINER]
    train_args = json.loads(trainer.properties["train_args"])
    assert sorted(train_args["splits"]) == ["labeled", "unlabeled"]
