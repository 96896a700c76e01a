"""Supervised fits choose an epoch on validation only where it can tell epochs apart."""
import dataclasses

import pytest

from models import architectures
from models import methods
from models.config import ConfigError, ModelConfig, TrainingConfig
from models.methods.consistency import ConsistencyConfig
from tests.test_consistency import _request


def _supervised(tmp_path, **training):
  request = _request(tmp_path, methods.NoSettings())
  request.training = dataclasses.replace(request.training, epochs=2, **training)
  return methods.train("supervised", request).history


def test_a_validation_part_too_small_to_choose_by_is_trained_on(tmp_path):
  # 40 labels, a fifth held out: 8 validation images, below the default 250.
  history = _supervised(tmp_path / "small")
  assert history["num_train"] == 40 and history["selected_on_validation"] is False
  assert all("val_accuracy" not in epoch for epoch in history["epochs"])
  # Where the rule allows it (here: from 1 image on), the part is held out and chosen by.
  chosen = _supervised(tmp_path / "chosen", min_validation_to_select=1)
  assert chosen["num_train"] < 40 and chosen["selected_on_validation"] is True
  assert all("val_accuracy" in epoch for epoch in chosen["epochs"])


def test_a_warm_start_keeps_its_training_and_a_reference_that_saw_validation_is_not_judged_on_it(
    tmp_path, monkeypatch):
  from models import training_loop

  class FallingValidation(training_loop.KeepBest):
    """Validation that prefers the first epoch, as it does after a start that trained on it."""

    def on_epoch_end(self, epoch, logs=None):
      super().on_epoch_end(epoch, {**(logs or {}), self.monitor: 1.0 - 0.3 * epoch})
  monkeypatch.setattr(training_loop, "KeepBest", FallingValidation)
  settings = ConsistencyConfig(steps=6, steps_per_epoch=2)
  own = methods.train("consistency", _request(tmp_path / "own", settings)).history
  assert all("val_accuracy" not in epoch for epoch in own["warm_start"]["epochs"])
  assert own["kept"] in ("consistency", "warm start")  # its warm start never saw validation
  assert own["best_epoch"] == 1  # validation it never trained on chooses the epoch
  request = _request(tmp_path / "reference", settings)
  request.warm_start = architectures.build(3, ModelConfig(architecture="cnn", settings=(("width", 4),)))
  from_reference = methods.train("consistency", request).history
  assert from_reference["warm_start_saw_validation"] is True and "kept" not in from_reference
  # Nor is any of its epochs: the last one is kept.
  assert len(from_reference["epochs"]) == 3 and from_reference["best_epoch"] == 3


def test_a_negative_selection_size_is_one_line():
  with pytest.raises(ConfigError, match="training min_validation_to_select -1 must be"):
    TrainingConfig(min_validation_to_select=-1)
