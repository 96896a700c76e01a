"""Layer-wise pre-training and fine-tuning from it: carried weights, and the errors it refuses."""
import numpy as np
import pytest
import tensorflow as tf

from models import autoencoder
from models import classifier
from models import input_fn
from models import methods
from models import pretraining
from pipeline import config as config_lib
from sources import features


def _examples(n, labeled):
  rng = np.random.default_rng(n)
  labels = rng.integers(0, 10, n) if labeled else np.full(n, features.NO_LABEL)
  return input_fn.Examples(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                           labels.astype(np.int64), np.arange(n, dtype=np.int64))


def _weights_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_stage_k_starts_from_stage_k_minus_1_layers():
  stage_1 = autoencoder.build_autoencoder(8, 1)
  stage_2 = autoencoder.build_autoencoder(8, 2)
  assert autoencoder.carry_lstm_weights(stage_1, stage_2) == 1
  first, second = autoencoder.lstm_layers(stage_2)
  assert _weights_equal(first, autoencoder.lstm_layers(stage_1)[0])
  assert not _weights_equal(second, first)  # the new layer keeps its own initialisation


def test_pretrain_returns_an_encoder_as_deep_as_the_model():
  model = config_lib.ModelConfig(lstm_width=8, lstm_layers=2)
  encoder, stages = pretraining.pretrain(
      _examples(64, False), model, config_lib.PretrainingConfig(epochs_per_stage=1, batch_size=32),
      seed=0, log_dir="/tmp/fewlabels_test_pretrain", strategy=tf.distribute.get_strategy())
  assert [layer.units for layer in autoencoder.lstm_layers(encoder)] == [8, 8]
  assert len(stages) == 2 and all(s["final_loss"] > 0 for s in stages)
  assert stages[1]["start_fingerprints"][0] == stages[0]["end_fingerprints"][0]


def test_pretraining_images_take_the_pool_and_optionally_the_labeled_images():
  labeled, unlabeled = _examples(30, True), _examples(70, False)
  both = pretraining.pretraining_images(labeled, unlabeled, config_lib.PretrainingConfig(), 0)
  assert len(both) == 100
  pool_only = pretraining.pretraining_images(
      labeled, unlabeled, config_lib.PretrainingConfig(include_labeled_images=False), 0)
  assert len(pool_only) == 70
  sample = pretraining.pretraining_images(
      labeled, unlabeled, config_lib.PretrainingConfig(max_images=40), 0)
  assert len(sample) == 40 and len(set(sample.ids.tolist())) <= 40


def test_empty_unlabeled_split_is_a_one_line_error():
  with pytest.raises(pretraining.PretrainingError, match="unlabeled split is empty"):
    pretraining.pretraining_images(_examples(30, True), input_fn.Examples.empty(),
                                   config_lib.PretrainingConfig(), 0)


def test_base_model_of_another_architecture_is_a_one_line_error(tmp_path):
  encoder = autoencoder.encoder_of(autoencoder.build_autoencoder(8, 2))
  autoencoder.save_encoder(encoder, str(tmp_path))
  loaded = autoencoder.load_encoder(str(tmp_path))
  model = classifier.build_classifier(16, 3, 28, 10)
  with pytest.raises(autoencoder.BaseModelError) as error:
    autoencoder.init_from_encoder(model, loaded, str(tmp_path))
  message = str(error.value)
  assert "\n" not in message and str(tmp_path) in message
  assert "2 LSTM layers of widths [8, 8]" in message and "3 LSTM layers of widths [16, 16, 16]" in message


def test_missing_base_model_file_names_the_directory(tmp_path):
  with pytest.raises(autoencoder.BaseModelError, match=str(tmp_path)):
    autoencoder.load_encoder(str(tmp_path))


def test_a_pretrained_method_without_a_base_model_is_refused():
  with pytest.raises(autoencoder.BaseModelError, match="'layerwise' needs pre-trained base model"):
    methods.train(config_lib.LAYERWISE, _examples(40, True), config_lib.ModelConfig(lstm_width=8),
                  config_lib.TrainingConfig(epochs=0), config_lib.SelfTrainingConfig(), 10,
                  None, "", "/tmp/fewlabels_test_methods", tf.distribute.get_strategy())
