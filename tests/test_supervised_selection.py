"""Supervised fits choose an epoch on validation only where it can tell epochs apart."""
import dataclasses

import pytest

from models import architectures, training_loop
from models import methods
from models.config import ConfigError, ModelConfig, TrainingConfig
from models.methods.consistency import ConsistencyConfig
from tests.test_consistency import _request


def _supervised(tmp_path, **training):
  request = _request(tmp_path, methods.NoSettings(), min_validation_to_select=250)
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


class _FallingValidation(training_loop.KeepBest):
  """Validation that prefers the first epoch, as 9 images did at 115 labels (6, then 4 of 9)."""

  def on_epoch_end(self, epoch, logs=None):
    super().on_epoch_end(epoch, {**(logs or {}), self.monitor: 1.0 - 0.3 * epoch})


def test_consistency_chooses_nothing_on_a_validation_part_too_small_to_tell_epochs_apart(
    tmp_path, monkeypatch):
  monkeypatch.setattr(training_loop, "KeepBest", _FallingValidation)
  settings = ConsistencyConfig(steps=6, steps_per_epoch=2)
  # 8 validation images, below the default 250: trained on, the last epoch kept, no fallback.
  small = methods.train("consistency", _request(tmp_path / "small", settings,
                                                min_validation_to_select=250)).history
  assert small["selected_on_validation"] is False and "kept" not in small
  assert small["warm_start"]["num_train"] == small["num_train"] == 40
  assert all("val_accuracy" not in epoch for epoch in small["epochs"])
  assert len(small["epochs"]) == 3 and small["best_epoch"] == 3
  # Where the rule lets them choose (here from 1 image on), they are held out and do.
  chosen = methods.train("consistency", _request(tmp_path / "chosen", settings)).history
  assert chosen["selected_on_validation"] is True and chosen["num_train"] < 40
  assert chosen["best_epoch"] == 1 and chosen["kept"] in ("consistency", "warm start")
  # A start from the reference (which held the same part out) is judged the same way.
  request = _request(tmp_path / "reference", settings)
  request.warm_start = architectures.build(3, ModelConfig(architecture="cnn",
                                                          settings=(("width", 4),)))
  from_reference = methods.train("consistency", request).history
  assert from_reference["warm_start_from_reference"] is True
  assert from_reference["best_epoch"] == 1 and "kept" in from_reference


def test_a_negative_selection_size_is_one_line():
  with pytest.raises(ConfigError, match="training min_validation_to_select -1 must be"):
    TrainingConfig(min_validation_to_select=-1)
