"""The fit loop's model selection: the kept weights are the best epoch's, whatever the stage length."""
import numpy as np
import tensorflow as tf

from models import training_loop


def _run(values, mode="max", patience=3, min_epochs=15):
  """Feeds one monitored value per epoch; epoch i leaves every weight equal to i."""
  model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
  keep = training_loop.KeepBest("val_accuracy", mode, patience, min_epochs)
  keep.set_model(model)
  keep.on_train_begin()
  epochs_run = 0
  for epoch, value in enumerate(values):
    model.set_weights([np.full(w.shape, float(epoch), np.float32) for w in model.get_weights()])
    keep.on_epoch_end(epoch, {"val_accuracy": value})
    epochs_run += 1
    if model.stop_training:
      break
  keep.on_train_end()
  return float(model.get_weights()[0].flat[0]), epochs_run, keep.best_epoch


def test_a_stage_shorter_than_min_epochs_keeps_its_best_epoch_not_its_last():
  kept, ran, best = _run([0.80, 0.84, 0.77], min_epochs=15)
  assert (kept, ran, best) == (1.0, 3, 1)


def test_no_stop_before_min_epochs_then_stop_after_patience():
  values = [0.9] + [0.5] * 20
  kept, ran, _ = _run(values, patience=3, min_epochs=6)
  assert ran == 6  # epochs 1-3 are past patience, but stopping waits for the sixth
  assert kept == 0.0


def test_a_tie_goes_to_the_later_epoch_and_loss_is_minimised():
  assert _run([0.5, 0.7, 0.7, 0.6], min_epochs=0, patience=5)[0] == 2.0
  assert _run([1.0, 0.4, 0.6], mode="min", min_epochs=0, patience=5)[0] == 1.0


def test_a_missing_or_nan_value_never_becomes_the_best():
  assert _run([0.3, float("nan"), 0.2], min_epochs=0, patience=5)[0] == 0.0
