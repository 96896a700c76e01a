"""The fit loop's model selection: the kept weights are the best epoch's, whatever the stage
length; on several replicas it validates any size of validation part."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

from models import training_loop


def _run(values, mode="max", patience=3, min_epochs=15, tolerance=0.0):
  """Feeds one monitored value per epoch; epoch i leaves every weight equal to i."""
  model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
  keep = training_loop.KeepBest("val_accuracy", mode, patience, min_epochs, tolerance)
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


def test_with_a_tolerance_the_latest_epoch_within_it_of_the_best_so_far_is_kept():
  # 0.78 is within 0.1 of the best (0.85): kept over it; 0.70 is not; the bar stays 0.85 - 0.1
  # (the kept 0.78 does not lower it): a last 0.74 is not kept, a last 0.76 is.
  assert _run([0.60, 0.85, 0.78, 0.70, 0.74], min_epochs=0, patience=9, tolerance=0.1)[0] == 2.0
  assert _run([0.60, 0.85, 0.78, 0.70, 0.76], min_epochs=0, patience=9, tolerance=0.1)[0] == 4.0
  # An epoch within the tolerance counts as an improvement for early stopping.
  assert _run([0.9] + [0.85] * 10, min_epochs=0, patience=2, tolerance=0.1)[1] == 11
  # Validation that cannot judge (the start trained on it): the last epoch, however it scores.
  assert _run([0.95, 0.7, 0.6, 0.5], min_epochs=0, patience=1, tolerance=float("inf"))[:2] == (
      3.0, 4)


# Two replicas on one CPU (MirroredStrategy splits each global batch in order, as the workers
# of a multi-worker run do): a validation part one image longer than a global batch leaves the
# second replica nothing of the last batch.
_TWO_REPLICAS = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from models import architectures, classifier, config, input_fn, training_loop
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    def examples(n):
      # Noise of one contrast an image: pictures of the same noise alone would all look alike
      # to the model and near-tie its classes, which float rounding then flips.
      pixels = rng.integers(0, 256, (n, 28, 28)) * rng.random((n, 1, 1))
      return input_fn.Examples(pixels.astype(np.uint8), np.arange(n) % 3, np.arange(n))
    train, validation = examples(64), examples(65)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
      model = architectures.build(3, config.ModelConfig(architecture="cnn", settings=(("width", 4),)))
    result = training_loop.fit(
        model, train, validation, config.TrainingConfig(epochs=1, batch_size=64),
        "sparse_categorical_crossentropy", ["accuracy"], "logs", strategy, "two replicas")
    top2 = np.sort(classifier.predict_probabilities(model, validation), axis=1)[:, -2:]
    print(json.dumps({"val_accuracy": result["epochs"][0]["val_accuracy"],
                      "accuracy_whole": classifier.accuracy(model, validation),
                      "near_ties": int((top2[:, 1] - top2[:, 0] < 1e-4).sum())}))
""")


def test_two_replicas_validate_a_part_whose_last_batch_is_one_image(tmp_path):
  out = subprocess.run([sys.executable, "-c", _TWO_REPLICAS], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
  assert out.returncode == 0, out.stderr[-3000:]
  figures = json.loads(out.stdout.strip().splitlines()[-1])
  # The blank images that fill the last batch count for nothing: the accuracy is that of the
  # 65 images, as one replica computes it, but for an image whose two best classes are so close
  # that the replicas' other batch shapes round them the other way.
  correct = figures["val_accuracy"] * 65
  assert abs(correct - round(correct)) < 1e-4, figures  # a count of the 65, not of 128
  assert abs(round(correct) - round(figures["accuracy_whole"] * 65)) <= figures["near_ties"], (
      figures)


def test_the_streams_a_fit_reads_run_without_tfdata_autotuning(tmp_path, monkeypatch):
  # Its thread's sleep held up the end of long fits by up to a minute (models/input_fn.py):
  # the training and validation streams, and the copies the strategy makes of them per device.
  from tensorflow.python.data.ops import multi_device_iterator_ops as device_iterators
  from models import architectures, config, distribution, input_fn
  rng = np.random.default_rng(0)
  examples = input_fn.Examples(rng.integers(0, 256, (16, 28, 28)).astype(np.uint8),
                               np.arange(16) % 2, np.arange(16))
  seen = {"fit": [], "devices": []}
  fit = tf.keras.Model.fit

  def spy(model, data, validation_data=None, **kwargs):
    seen["fit"] += [ds.options().autotune.enabled for ds in (data, validation_data) if ds]
    return fit(model, data, validation_data=validation_data, **kwargs)
  monkeypatch.setattr(tf.keras.Model, "fit", spy)
  assert input_fn.per_device_streams_without_autotuning()
  create = device_iterators._create_device_dataset

  def spy_devices(*args, **kwargs):
    ds = create(*args, **kwargs)
    seen["devices"].append(ds.options().autotune.enabled)
    return ds
  monkeypatch.setattr(device_iterators, "_create_device_dataset", spy_devices)
  strategy = distribution.create_strategy()
  training = config.TrainingConfig(epochs=1, batch_size=8)
  for batches in (None, lambda context: input_fn.training_batches(examples, 8, 0)):
    with strategy.scope():
      model = architectures.build(2, config.ModelConfig(architecture="cnn",
                                                        settings=(("width", 4),)))
    result = training_loop.fit(model, examples, examples, training,
                               "sparse_categorical_crossentropy", ["accuracy"],
                               str(tmp_path / "logs"), strategy, "stream", batches=batches,
                               steps_per_epoch=2)
    assert len(result["epochs"]) == 1
  assert seen["fit"] == [False] * 4, seen
  assert seen["devices"] and all(enabled is False for enabled in seen["devices"]), seen
