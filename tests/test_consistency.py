"""Consistency training: the unlabeled loss, the train step, and the method through the registry."""
import math

import numpy as np
import pytest
import tensorflow as tf

from models import architectures
from models import consistency
from models import input_fn
from models import methods
from models.config import ConfigError, ModelConfig, TrainingConfig
from models.methods.consistency import ConsistencyConfig
from sources import features


def test_an_image_below_the_threshold_adds_no_loss():
  weak = tf.constant([[0.96, 0.04], [0.6, 0.4]])
  strong = tf.constant([[0.3, 0.7], [0.2, 0.8]])
  loss, mask, labels = consistency.unlabeled_loss(weak, strong, threshold=0.95)
  np.testing.assert_array_equal(mask, [1.0, 0.0])
  np.testing.assert_array_equal(labels, [0, 0])
  assert float(loss[1]) == 0.0
  assert float(loss[0]) == pytest.approx(-np.log(0.3), rel=1e-5)


def test_the_pseudo_label_comes_from_the_weak_view_and_carries_no_gradient():
  weak = tf.Variable([[0.1, 0.9], [0.97, 0.03]])
  strong = tf.Variable([[0.5, 0.5], [0.5, 0.5]])
  with tf.GradientTape(persistent=True) as tape:
    loss, _, labels = consistency.unlabeled_loss(weak, strong, threshold=0.5)
    total = tf.reduce_sum(loss)
  np.testing.assert_array_equal(labels, [1, 0])  # the weak view's classes
  assert tape.gradient(total, weak) is None
  assert tape.gradient(total, strong) is not None


def test_pool_accuracy_scores_every_known_image_and_pseudo_label_accuracy_only_accepted_ones():
  """A classifier that always answers class 0 with 0.6: nothing passes tau = 0.95, yet the weak
  view's class is right for the pool images whose true label is 0 (unknown ones not counted)."""
  classifier = tf.keras.Sequential([
      tf.keras.layers.Flatten(input_shape=(28, 28)),
      tf.keras.layers.Dense(2, kernel_initializer="zeros",
                            bias_initializer=tf.keras.initializers.Constant([np.log(0.6),
                                                                             np.log(0.4)])),
      tf.keras.layers.Softmax()])
  model = consistency.ConsistencyModel(classifier, ConsistencyConfig(threshold=0.95), 2, seed=0)
  model.compile(optimizer=tf.keras.optimizers.SGD(0.0), metrics=["accuracy"])
  labeled = (tf.zeros([2, 28, 28]), tf.constant([0, 1], tf.int64))
  truth = tf.constant([0, 0, 0, 1, 1, features.NO_LABEL], tf.int64)
  batch = tf.data.Dataset.from_tensors((labeled, (tf.zeros([6, 28, 28]), truth)))
  logs = {k: v[-1] for k, v in model.fit(batch, verbose=0).history.items()}
  assert logs[consistency.ABOVE_THRESHOLD] == 0.0
  assert logs[consistency.POOL_ACCURACY] == pytest.approx(3 / 5)
  assert logs[consistency.PSEUDO_LABEL_ACCURACY] == 0.0  # averaged nothing


def test_adaptive_thresholds_are_lower_for_the_class_the_model_is_less_sure_of():
  low, high = 0.5, 0.95
  # Class 0 gets most of the confident predictions, class 2 few.
  confidence, per_class = tf.constant(-1.0), -tf.ones([3])
  for _ in range(50):
    thresholds, confidence, per_class = consistency.adaptive_thresholds(
        confidence, per_class, tf.constant(0.9), tf.constant([0.6, 0.45, 0.1]), 0.9, low, high)
  thresholds = thresholds.numpy()
  assert thresholds[2] < thresholds[1] < thresholds[0]
  assert thresholds[0] == pytest.approx(0.9, abs=1e-5)  # the surest class: the mean top score
  assert thresholds[2] == pytest.approx(low)  # 0.9 * 0.1 / 0.6 = 0.15, clipped up into range
  # Never outside [low, high], however confident or unsure the model becomes.
  for top, spread in ((1.0, [1.0, 1.0, 1.0]), (0.2, [0.9, 0.05, 0.05])):
    out, _, _ = consistency.adaptive_thresholds(tf.constant(-1.0), -tf.ones([3]),
                                                tf.constant(top), tf.constant(spread), 0.9, low,
                                                high)
    assert ((out.numpy() >= low) & (out.numpy() <= high)).all()


def test_per_class_thresholds_mask_each_image_by_its_pseudo_labels_threshold():
  weak = tf.constant([[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
  strong = tf.constant([[0.5, 0.5]] * 3)
  _, mask, _ = consistency.unlabeled_loss(weak, strong, tf.constant([0.85, 0.6]))
  np.testing.assert_array_equal(mask, [0.0, 1.0, 1.0])


def test_distribution_alignment_moves_pseudo_labels_from_the_class_the_model_over_predicts():
  # The model gives class 0 70% of its mass on average where the labels have a third each.
  weak = tf.constant([[0.55, 0.45, 0.0], [0.9, 0.05, 0.05], [0.2, 0.1, 0.7]])
  aligned = consistency.aligned_probabilities(weak, tf.constant([0.7, 0.2, 0.1]),
                                              tf.constant([1 / 3] * 3)).numpy()
  np.testing.assert_allclose(aligned.sum(axis=1), 1.0, rtol=1e-6)
  assert aligned.argmax(axis=1).tolist() == [1, 0, 2]  # the close call goes to class 1
  assert aligned[1, 0] < 0.9 and aligned[2, 2] > 0.7
  # A model whose average already matches the labels' shares is left as it is.
  np.testing.assert_allclose(consistency.aligned_probabilities(
      weak, tf.constant([0.2, 0.3, 0.5]), tf.constant([0.2, 0.3, 0.5])), weak, rtol=1e-6)


def _train_step_outputs(settings, steps=3):
  """Weights after `steps` train steps of a fixed model on fixed batches."""
  tf.keras.utils.set_random_seed(0)
  # Pixels scaled down: on raw bytes the untrained model is sure of everything.
  classifier = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                    tf.keras.layers.Rescaling(1 / 2550),
                                    tf.keras.layers.Dense(3), tf.keras.layers.Softmax()])
  model = consistency.ConsistencyModel(classifier, settings, 3, seed=0)
  model.compile(optimizer=tf.keras.optimizers.SGD(0.1), metrics=["accuracy"])
  rng = np.random.default_rng(0)
  labeled = (tf.constant(rng.integers(0, 256, (4, 28, 28)), tf.uint8), tf.constant([0, 1, 2, 0]))
  pool = (tf.constant(rng.integers(0, 256, (8, 28, 28)), tf.uint8),
          tf.fill([8], tf.constant(features.NO_LABEL, tf.int64)))
  model.fit(tf.data.Dataset.from_tensors((labeled, pool)).repeat(steps), verbose=0)
  return classifier.get_weights(), model.thresholds.numpy()


def test_with_the_adaptation_off_the_step_uses_the_one_threshold_and_on_it_moves_it():
  fixed = ConsistencyConfig(threshold=0.4)
  weights, thresholds = _train_step_outputs(fixed)
  again, _ = _train_step_outputs(fixed)
  assert all(np.array_equal(a, b) for a, b in zip(weights, again))
  np.testing.assert_allclose(thresholds, 0.4)  # untouched
  adaptive, moved = _train_step_outputs(ConsistencyConfig(threshold=0.4, adaptive_threshold=True,
                                                          min_threshold=0.1))
  assert ((moved >= 0.1) & (moved <= 0.4)).all() and not np.allclose(moved, 0.4)
  # Distribution alignment changes what the pseudo-labels teach; off, the step is as before.
  every, _ = _train_step_outputs(ConsistencyConfig(threshold=0.0))
  aligned, _ = _train_step_outputs(ConsistencyConfig(threshold=0.0, distribution_alignment=True))
  assert not all(np.array_equal(a, b) for a, b in zip(every, aligned))


def test_two_pools_of_different_size_get_the_same_consistency_steps(tmp_path):
  settings = ConsistencyConfig(steps=10, steps_per_epoch=4, threshold=0.0, unlabeled_ratio=2)
  histories = []
  for pool in (40, 160):
    request = _request(tmp_path / str(pool), settings)
    request.labeled, request.pool = input_fn.in_memory(_examples(unlabeled=pool))
    histories.append(methods.train("consistency", request).history)
  for history, pool in zip(histories, (40, 160)):
    assert history["pool"] == pool
    # 10 steps in whole epochs of 4: 3 epochs, 12 steps, whatever the pool.
    assert len(history["epochs"]) == 3 and history["steps"] == 12
    assert [sum(c) for c in history["accepted_per_class"]] == [4 * 16] * 3


@pytest.mark.parametrize("field,value", [("steps", 0), ("steps", -5), ("steps_per_epoch", 0),
                                         ("min_threshold", 0.99), ("average_momentum", 1.0)])
def test_a_step_budget_or_threshold_range_it_cannot_take_is_one_line(field, value):
  with pytest.raises(ConfigError, match=f"consistency {field} {value!r} must be"):
    ConsistencyConfig(**{field: value}, adaptive_threshold=True)


def _examples(labeled=40, unlabeled=120):
  rng = np.random.default_rng(0)
  n = labeled + unlabeled
  labels = np.concatenate([rng.integers(0, 3, labeled), np.full(unlabeled, features.NO_LABEL)])
  return input_fn.Examples(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                           labels.astype(np.int64), np.arange(n, dtype=np.int64))


def _request(log_dir, settings, true_labels=None, min_validation_to_select=1):
  """Consistency training of a 4-wide CNN on `_examples()`, one warm-start epoch; its 8
  validation images choose epochs unless `min_validation_to_select` says they are too few."""
  model_config = ModelConfig(architecture="cnn", settings=(("width", 4),))
  labeled, pool = input_fn.in_memory(_examples())
  return methods.TrainRequest(
      labeled=labeled, pool=pool, build_model=lambda: architectures.build(3, model_config),
      training=TrainingConfig(epochs=1, batch_size=8, validation_fraction=0.2,
                              min_steps_per_epoch=0,
                              min_validation_to_select=min_validation_to_select),
      settings=settings, num_classes=3, log_dir=str(log_dir),
      strategy=tf.distribute.get_strategy(), true_labels=true_labels)


def test_consistency_trains_and_logs_its_pseudo_labels(tmp_path):
  request = _request(tmp_path, ConsistencyConfig(steps=16, steps_per_epoch=8, threshold=0.0,
                                                 unlabeled_ratio=2),
                     true_labels=np.arange(160) % 3)
  trained = methods.train("consistency", request)
  history = trained.history
  assert history["method"] == "consistency" and history["pool"] == 120
  assert len(history["epochs"]) == 2 and len(history["accepted_per_class"]) == 2
  steps = 8
  assert history["steps"] == history["planned_steps"] == 16
  # Threshold 0: every unlabeled image of every step is accepted, and scored where known.
  assert [sum(c) for c in history["accepted_per_class"]] == [steps * 16] * 2
  assert all(e["above_threshold"] == 1.0 for e in history["epochs"])
  assert all(0.0 <= e["pseudo_label_accuracy"] <= 1.0 for e in history["epochs"])
  # Every image accepted: the two diagnostics score the same images.
  assert all(e["pool_accuracy"] == pytest.approx(e["pseudo_label_accuracy"])
             for e in history["epochs"])
  assert "val_accuracy" in history["epochs"][0] and history["warm_start"]["epochs"]
  assert history["batch_norm_images"] == 120  # the CNN's statistics, from the whole small pool
  assert trained.model.output_shape == (None, 3)


class _LastRate(tf.keras.callbacks.Callback):
  def on_train_end(self, logs=None):
    self.rate = float(self.model.optimizer.learning_rate)
    self.peak = self.model.optimizer._learning_rate.peak_learning_rate


@pytest.mark.parametrize("decay", ["exponential", "cosine"])
def test_the_learning_rate_decay_setting_reaches_the_consistency_fit(tmp_path, decay):
  last = _LastRate()
  request = _request(tmp_path, ConsistencyConfig(steps=16, steps_per_epoch=8, threshold=0.0,
                                                 unlabeled_ratio=2, lr_decay=decay))
  request.callbacks = [last]
  history = methods.train("consistency", request).history
  assert history["steps"] == 16
  # The rate of the last planned step, step 15 (a warmup of 4 at batch 8): the cosine's end, or
  # 11 steps (1.375 epochs of 8) of the slow exponential.
  expected = math.cos(7 * math.pi / 16) if decay == "cosine" else math.exp(-1.375 / 25)
  assert last.rate / last.peak == pytest.approx(expected, rel=1e-3)


class _Stopped(Exception):
  pass


def test_consistency_stopped_after_an_epoch_resumes_after_it_in_the_same_log_dir(tmp_path,
                                                                                  monkeypatch):
  """As a benchmark cell of an hour stopped with its session, or a worker that went away: the
  rerun trains only the epochs left, from the backup the stop left on disk."""
  from models import fault_injection

  class StopAfterFirstEpoch(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
      raise _Stopped

  fits = []
  def callbacks():  # the fit loop's last callbacks: the stop comes after the epoch's backup
    fits.append("fit")
    return [StopAfterFirstEpoch()] if len(fits) == 2 else []  # fit 1: warm start, 2: consistency

  monkeypatch.setattr(fault_injection, "callbacks", callbacks)
  settings = ConsistencyConfig(steps=12, steps_per_epoch=4, threshold=0.0, unlabeled_ratio=2)
  with pytest.raises(_Stopped):
    methods.train("consistency", _request(tmp_path, settings))
  resumed = methods.train("consistency", _request(tmp_path, settings)).history
  assert len(fits) == 4  # the warm start, finished before the stop, trained again
  assert len(resumed["epochs"]) == 2 and len(resumed["accepted_per_class"]) == 2
  assert resumed["best_epoch"] in (2, 3)  # counted from 1: kept among the epochs after the stop


# (warm start, consistency) on validation; the third: within the tolerance of a few dozen
# validation images (0.5 / sqrt(n)), the later model, consistency, is kept.
@pytest.mark.parametrize("scores,kept", [((0.9, 0.5), "warm start"), ((0.5, 0.9), "consistency"),
                                         ((0.6, 0.55), "consistency")])
def test_the_model_better_on_validation_is_kept(tmp_path, monkeypatch, scores, kept):
  from models import classifier
  after_warm_start = {}
  train_classifier = classifier.train_classifier

  def warm_start(model, *args, **kwargs):
    result = train_classifier(model, *args, **kwargs)
    after_warm_start["weights"] = model.get_weights()
    return result

  monkeypatch.setattr(classifier, "train_classifier", warm_start)
  answers = iter(scores)
  monkeypatch.setattr(classifier, "accuracy", lambda model, examples: next(answers))
  request = _request(tmp_path, ConsistencyConfig(steps=8, steps_per_epoch=8, threshold=0.0,
                                                 unlabeled_ratio=2, unlabeled_weight=5.0))
  trained = methods.train("consistency", request)
  assert trained.history["kept"] == kept
  assert trained.history["warm_start_validation_accuracy"] == scores[0]
  same = all(np.array_equal(a, b) for a, b in zip(trained.model.get_weights(),
                                                  after_warm_start["weights"]))
  assert same == (kept == "warm start")


def test_batch_norm_statistics_become_the_average_over_the_pool_batches_and_nothing_else_moves():
  rng = np.random.default_rng(0)
  pixels = rng.uniform(0, 255, (512, 28, 28)).astype(np.float32)
  model = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                               tf.keras.layers.BatchNormalization(), tf.keras.layers.Dense(3)])
  norm, dense = model.layers[1], model.layers[2]
  dense_before = [w.copy() for w in dense.get_weights()]
  gamma_beta_before = [norm.gamma.numpy(), norm.beta.numpy()]

  assert consistency.recalibrate_batch_norm(model, pixels, images=10_000, seed=1) == 512
  flat = pixels.reshape(2, 256, -1)  # every image used: two batches in file order
  np.testing.assert_allclose(norm.moving_mean.numpy(), flat.mean(axis=1).mean(axis=0),
                             rtol=1e-4)
  np.testing.assert_allclose(norm.moving_variance.numpy(), flat.var(axis=1).mean(axis=0),
                             rtol=1e-3)
  for before, after in zip(dense_before + gamma_beta_before,
                           dense.get_weights() + [norm.gamma.numpy(), norm.beta.numpy()]):
    np.testing.assert_array_equal(before, after)


def test_batch_norm_recalibration_leaves_a_model_alone_when_off_or_without_batch_norm():
  pixels = np.ones((64, 28, 28), np.float32)
  plain = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                               tf.keras.layers.Dense(3)])
  assert consistency.recalibrate_batch_norm(plain, pixels, images=64, seed=0) == 0
  with_norm = tf.keras.Sequential([tf.keras.layers.Flatten(input_shape=(28, 28)),
                                   tf.keras.layers.BatchNormalization()])
  before = with_norm.get_weights()
  assert consistency.recalibrate_batch_norm(with_norm, pixels, images=0, seed=0) == 0
  for a, b in zip(before, with_norm.get_weights()):
    np.testing.assert_array_equal(a, b)


def test_consistency_without_a_pool_is_refused(tmp_path):
  labeled, pool = input_fn.in_memory(_examples(unlabeled=0))
  request = methods.TrainRequest(
      labeled=labeled, pool=pool, build_model=lambda: None, training=TrainingConfig(),
      settings=ConsistencyConfig(), num_classes=3, log_dir=str(tmp_path),
      strategy=tf.distribute.get_strategy())
  with pytest.raises(methods.MethodError, match="'consistency' learns from the unlabeled split"):
    methods.train("consistency", request)


@pytest.mark.parametrize("kwargs,fragment", [
    ({"threshold": 1.5}, "consistency threshold 1.5 must be in"),
    ({"unlabeled_ratio": 0}, "consistency unlabeled_ratio 0 must be an integer >= 1"),
    ({"ema_momentum": 1.0}, "consistency ema_momentum 1.0 must be in"),
    ({"batch_norm_images": -1}, "consistency batch_norm_images -1 must be an integer >= 0"),
    ({"strong_scale": 2.0}, "augmentation scale 2.0 must be below 1"),
    ({"lr_decay": "linear"}, "consistency lr_decay 'linear' must be one of exponential, cosine"),
])
def test_bad_settings_are_one_line_errors(kwargs, fragment):
  with pytest.raises(ConfigError, match=fragment):
    ConsistencyConfig(**kwargs)
