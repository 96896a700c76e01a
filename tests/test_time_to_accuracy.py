"""bench/methods.py's time-to-accuracy record: every epoch of a method's pool stage is scored on
the test part through the model the fit loop trains (consistency training's wrapper around the
classifier), for the figure of docs/RESULTS.md only."""
import pathlib
import sys
import time

import numpy as np
import tensorflow as tf

from models import architectures, input_fn, methods
from models.config import ModelConfig, TrainingConfig
from models.methods.consistency import ConsistencyConfig
from sources import features

sys.path.append(str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
import methods as methods_bench  # noqa: E402  (bench/methods.py)


def test_each_consistency_epoch_is_scored_on_the_test_part(tmp_path):
  rng = np.random.default_rng(0)
  labels = np.concatenate([rng.integers(0, 3, 40), np.full(120, features.NO_LABEL)])
  labeled, pool = input_fn.in_memory(input_fn.Examples(
      rng.integers(0, 256, (160, 28, 28), dtype=np.uint8), labels.astype(np.int64),
      np.arange(160, dtype=np.int64)))
  test = input_fn.Examples(rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
                           rng.integers(0, 3, 30).astype(np.int64), np.arange(30, dtype=np.int64))
  curve = methods_bench.TestCurve(test, time.monotonic())
  model_config = ModelConfig(architecture="cnn", settings=(("width", 4),))
  request = methods.TrainRequest(
      labeled=labeled, pool=pool, build_model=lambda: architectures.build(3, model_config),
      training=TrainingConfig(epochs=1, batch_size=8, validation_fraction=0.2,
                              min_steps_per_epoch=0),
      settings=ConsistencyConfig(steps=8, steps_per_epoch=4, unlabeled_ratio=2), num_classes=3,
      log_dir=str(tmp_path), strategy=tf.distribute.get_strategy(), callbacks=[curve])
  trained = methods.train("consistency", request)
  assert len(curve.points) == len(trained.history["epochs"]) == 2
  seconds = [s for s, _ in curve.points]
  assert seconds == sorted(seconds) and seconds[0] > 0
  # a test accuracy of 30 pictures: a multiple of 1/30, as the record rounds it to 4 digits
  # (10/30 is kept as 0.3333: 30 x 0.00005 off at most)
  assert all(0 <= a <= 1 and abs(a * 30 - round(a * 30)) <= 30 * 0.5e-4 + 1e-9
             for _, a in curve.points)
