"""Pre-training by pretexts and fine-tuning from it: carried weights, targets, refused inputs."""
import json

import numpy as np
import pytest
import tensorflow as tf

from models import architectures
from models import input_fn
from models import methods
from models import preprocessing
from models import pretexts
from models import pretraining
from models import run_fn
from models import weights
from models.config import ConfigError, ModelConfig, PretrainingConfig, TrainingConfig
from sources import features

LSTM = ModelConfig(architecture="lstm", settings=(("layers", 2), ("width", 8)))
CNN = ModelConfig(architecture="cnn", settings=(("width", 4),))


def _examples(n, labeled):
  rng = np.random.default_rng(n)
  labels = rng.integers(0, 10, n) if labeled else np.full(n, features.NO_LABEL)
  return input_fn.Examples(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                           labels.astype(np.int64), np.arange(n, dtype=np.int64))


def _weights_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.mark.parametrize("pretext", ["reconstruct", "sequence_autoencoder", "next_row"])
def test_stage_k_starts_from_stage_k_minus_1_layers(pretext):
  spec = pretexts.PRETEXTS[pretext]
  stage_1, stage_2 = spec.build(1, LSTM), spec.build(2, LSTM)
  assert weights.transfer(pretexts.encoder_of(spec, stage_1, 1), stage_2, "stage 1") == 1
  assert _weights_equal(stage_2.get_layer("lstm_1"), stage_1.get_layer("lstm_1"))
  assert not _weights_equal(stage_2.get_layer("lstm_2"), stage_2.get_layer("lstm_1"))


@pytest.mark.parametrize("model,pretext,layers", [
    (LSTM, "sequence_autoencoder", {"lstm_1", "lstm_2"}),
    (CNN, "denoise", {f"conv_{k}" for k in range(1, 6)} | {f"conv_{k}_bn" for k in range(1, 6)}),
])
def test_pretrain_returns_the_encoder_the_classifier_starts_from(model, pretext, layers):
  encoder, stages = pretraining.pretrain(
      input_fn.Pool.from_examples(_examples(64, False)), model, PretrainingConfig(pretext=pretext, steps_per_stage=2,
                                                     batch_size=32),
      seed=0, log_dir="/tmp/fewlabels_test_pretrain", strategy=tf.distribute.get_strategy())
  assert set(weights.fingerprints(encoder)) == layers
  assert len(stages) == pretexts.PRETEXTS[pretext].stages(model)
  assert all(s["final_loss"] > 0 and s["pretext"] == pretext for s in stages)
  classifier = run_fn.model_builder(model, 10, encoder, "encoder", tf.distribute.get_strategy())()
  started = weights.fingerprints(classifier)
  assert {name: started[name] for name in layers} == weights.fingerprints(encoder)


def test_next_row_targets_are_the_rows_shifted_by_one():
  pixels = tf.constant(np.random.default_rng(0).integers(0, 256, (3, 28, 28)), tf.uint8)
  inputs, targets = pretexts.next_row_targets(pixels)
  scaled = preprocessing.scale_pixels(pixels).numpy()
  assert inputs is pixels
  np.testing.assert_allclose(targets.numpy()[:, :27], scaled[:, 1:])
  np.testing.assert_allclose(targets.numpy()[:, 27], preprocessing.PIXEL_OFFSET)


def test_sequence_autoencoder_decoder_sees_only_the_final_state():
  model = pretexts.PRETEXTS["sequence_autoencoder"].build(1, LSTM)
  state_of = tf.keras.Model(model.input, model.get_layer("lstm_1").output)
  rng = np.random.default_rng(1)
  a = rng.integers(0, 256, (1, 28, 28)).astype(np.uint8)
  b = a.copy()
  b[0, 14] = 255 - b[0, 14]  # a middle row
  out_a, out_b = model(a).numpy(), model(b).numpy()
  assert not np.allclose(out_a, out_b)  # the change reaches the output ...
  # ... only through the final state: the decoder given a's state rebuilds exactly a's output.
  decoder_input = tf.keras.Model(model.get_layer("repeat_state").input, model.output)
  np.testing.assert_allclose(decoder_input(state_of(a)).numpy(), out_a, atol=1e-6)
  np.testing.assert_allclose(decoder_input(state_of(b)).numpy(), out_b, atol=1e-6)


def test_denoise_corrupts_the_input_and_targets_the_clean_drawing():
  pixels = tf.fill([4, 28, 28], tf.constant(200, tf.uint8))
  corrupted, targets = pretexts.denoise_targets(pixels)
  assert corrupted.dtype == tf.uint8 and 0 < int(tf.reduce_sum(tf.cast(corrupted == 0, tf.int32)))
  np.testing.assert_allclose(targets.numpy(), preprocessing.scale_pixels(pixels).numpy())


@pytest.mark.parametrize("model,pretext,fragment", [
    (CNN, "next_row", "pretext 'next_row' does not fit architecture 'cnn': it takes denoise"),
    (LSTM, "denoise", "pretext 'denoise' does not fit architecture 'lstm'"),
    (LSTM, "magic", "pretext 'magic' does not exist"),
])
def test_a_pretext_that_does_not_fit_is_a_one_line_error(model, pretext, fragment):
  with pytest.raises(ConfigError, match=fragment):
    pretexts.resolve(pretext, model)


def test_auto_takes_the_architectures_first_pretext():
  assert pretexts.resolve("auto", LSTM).name == "reconstruct"
  assert pretexts.resolve("auto", CNN).name == "denoise"


def _ids(images):
  return [int(i) for _, i in images.records().as_numpy_iterator()]


def test_pretraining_images_take_the_pool_and_optionally_the_labeled_images():
  labeled = _examples(30, True)
  unlabeled = _examples(70, False)
  unlabeled.ids += 1000
  pool = input_fn.Pool.from_examples(unlabeled)
  both = pretraining.pretraining_images(labeled, pool, PretrainingConfig(), 0)
  assert len(both) == 100 and sorted(_ids(both)) == list(range(30)) + list(range(1000, 1070))
  # Mixed through every pass, not the labeled images after the pool.
  assert min(_ids(both)[:50]) < 30
  pool_only = pretraining.pretraining_images(
      labeled, pool, PretrainingConfig(include_labeled_images=False), 0)
  assert len(pool_only) == 70 and sorted(_ids(pool_only)) == list(range(1000, 1070))
  sample = pretraining.pretraining_images(labeled, pool, PretrainingConfig(max_images=40), 0)
  assert len(sample) == 40 and len(set(_ids(sample))) == 40
  assert _ids(sample) == _ids(sample)  # the same sample on every pass


def test_empty_unlabeled_split_is_a_one_line_error():
  with pytest.raises(pretraining.PretrainingError, match="unlabeled split is empty"):
    pretraining.pretraining_images(_examples(30, True),
                                   input_fn.Pool.from_examples(input_fn.Examples.empty()),
                                   PretrainingConfig(), 0)


def test_base_model_of_another_size_is_a_one_line_error(tmp_path):
  spec = pretexts.PRETEXTS["reconstruct"]
  pretexts.save_encoder(pretexts.encoder_of(spec, spec.build(2, LSTM), 2), str(tmp_path))
  loaded = pretexts.load_encoder(str(tmp_path))
  model = architectures.build(10, ModelConfig(architecture="lstm", settings=(("width", 16),)))
  with pytest.raises(weights.BaseModelError) as error:
    weights.transfer(loaded, model, str(tmp_path))
  message = str(error.value)
  assert "\n" not in message and str(tmp_path) in message and "'lstm_1'" in message
  cnn = architectures.build(10, CNN)
  with pytest.raises(weights.BaseModelError, match="has no such layer"):
    weights.transfer(loaded, cnn, str(tmp_path))


def test_missing_base_model_file_names_the_directory(tmp_path):
  with pytest.raises(weights.BaseModelError, match=str(tmp_path)):
    pretexts.load_encoder(str(tmp_path))


def test_a_pretrained_method_without_a_base_model_is_refused():
  labeled, pool = input_fn.in_memory(_examples(40, True))
  request = methods.TrainRequest(
      labeled=labeled, pool=pool, build_model=lambda: architectures.build(10, LSTM),
      training=TrainingConfig(epochs=0), settings=methods.settings("layerwise", {}),
      num_classes=10, log_dir="/tmp/fewlabels_test_methods", strategy=tf.distribute.get_strategy())
  with pytest.raises(methods.MethodError, match="'layerwise' needs pre-trained base model"):
    methods.train("layerwise", request, has_encoder=False)


def test_with_a_vertex_job_the_executor_launches_it_to_run_this_executor_on_its_workers(
    monkeypatch):
  from tfx.extensions.google_cloud_ai_platform import runner
  from components.layerwise_pretrainer import executor
  calls = []
  monkeypatch.setattr(runner, "start_cloud_training", lambda *args, **kwargs: calls.append(
      (args, kwargs)))
  job_args = {"project": "p", "job_spec": {"worker_pool_specs": [{"replica_count": 1}]}}
  properties = {executor.SEED_KEY: 3, executor.VERTEX_JOB_KEY: json.dumps(
      {"region": "europe-west4", "job_args": job_args})}
  inputs, outputs = {"examples": []}, {"model": []}
  executor.Executor().Do(inputs, outputs, properties)
  [(args, kwargs)] = calls
  assert args[:2] == (inputs, outputs)
  # The job's workers run the same executor, told nothing of Vertex: they pre-train.
  assert args[2] == {executor.SEED_KEY: 3}
  assert args[3] == "components.layerwise_pretrainer.executor.Executor"
  assert args[4] == job_args and args[4] is not job_args  # the launcher pops from its copy
  assert kwargs["enable_vertex"] is True and kwargs["vertex_region"] == "europe-west4"
