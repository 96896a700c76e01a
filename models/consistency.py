"""Consistency training (FixMatch-style) as a Keras train step.

Each step takes a labeled batch and `unlabeled_ratio` times as many unlabeled images. One
training-mode pass over [weakly augmented labeled, weakly augmented unlabeled, strongly
augmented unlabeled] (one pass keeps batch-norm statistics of all three together: the weak
view in a pass of its own, outside the gradient tape, made a step 1.7x faster and lost 19 points
at 115 labels, its pseudo-labels drifting off three classes; docs/RESULTS.md); where the weak
view's top probability is at least `threshold`, its class is the pseudo-label that the strong
view is trained towards, with weight `unlabeled_weight`. The pseudo-label carries no gradient.
Logged per epoch: the share of unlabeled images above the threshold, how many of
those pseudo-labels were right and how many of the weak views' classes were right over the whole
pool (both only where the pool's true labels are known: diagnostics, never a decision; the
second is accuracy on 35,000 images where the validation part has a few dozen), and the classes
the pseudo-labels went to (a collapse onto one class shows there first).
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from models import augment
from models import config as config_lib
from models import photo_augment
from models import progress
from models.methods import consistency as consistency_method

ABOVE_THRESHOLD = "above_threshold"
PSEUDO_LABEL_ACCURACY = "pseudo_label_accuracy"
POOL_ACCURACY = "pool_accuracy"
DIAGNOSTICS = (PSEUDO_LABEL_ACCURACY, POOL_ACCURACY)  # scored against the pool's true labels


def unlabeled_loss(weak_probabilities: tf.Tensor, strong_probabilities: tf.Tensor,
                   threshold: Union[float, tf.Tensor]) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """(per-image loss, mask of images above the threshold, pseudo-labels).

  The pseudo-label is the weak view's class, with no gradient through it; an image below the
  threshold (one number, or one per class: its pseudo-label's) adds zero loss.
  """
  weak = tf.stop_gradient(weak_probabilities)
  pseudo_labels = tf.argmax(weak, axis=1, output_type=tf.int32)
  if isinstance(threshold, tf.Tensor) and threshold.shape.rank == 1:
    threshold = tf.gather(threshold, pseudo_labels)
  mask = tf.cast(tf.reduce_max(weak, axis=1) >= threshold, tf.float32)
  cross_entropy = tf.keras.losses.sparse_categorical_crossentropy(pseudo_labels,
                                                                  strong_probabilities)
  return cross_entropy * mask, mask, pseudo_labels


def moving_average(average: tf.Tensor, value: tf.Tensor, momentum: float) -> tf.Tensor:
  """`momentum` * average + (1 - momentum) * value; a negative average (none yet) is `value`."""
  return tf.where(average < 0, value, momentum * average + (1.0 - momentum) * value)


def adaptive_thresholds(confidence: tf.Tensor, class_confidence: tf.Tensor,
                        batch_confidence: tf.Tensor, batch_class_confidence: tf.Tensor,
                        momentum: float, low: float,
                        high: float) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """(per-class thresholds, new confidence, new class confidence): self-adaptive thresholds.

  `confidence` is a moving average of the weak views' mean top probability
  (`batch_confidence`: this step's), `class_confidence` of their mean probability per class
  (`batch_class_confidence`); a negative value means no step yet, and this step's sets it. A
  class's threshold is `confidence` times its class confidence over the largest one, clipped
  into [low, high]: the class the model is least sure of gets the lowest threshold.
  """
  confidence = moving_average(confidence, batch_confidence, momentum)
  class_confidence = moving_average(class_confidence, batch_class_confidence, momentum)
  scaled = class_confidence / tf.maximum(tf.reduce_max(class_confidence), 1e-12) * confidence
  return tf.clip_by_value(scaled, low, high), confidence, class_confidence


def aligned_probabilities(weak_probabilities: tf.Tensor, model_distribution: tf.Tensor,
                          target_distribution: tf.Tensor) -> tf.Tensor:
  """Distribution alignment: each row times target / model distribution, renormalised, so that
  on average the pseudo-labels follow the labeled classes' shares instead of the model's bias."""
  aligned = weak_probabilities * target_distribution / tf.maximum(model_distribution, 1e-6)
  return aligned / tf.maximum(tf.reduce_sum(aligned, axis=1, keepdims=True), 1e-12)


def recalibrate_batch_norm(model: tf.keras.Model, pixels: np.ndarray, images: int, seed: int,
                           batch_size: int = 256) -> int:
  """Replaces the batch-norm moving statistics of `model` by their average over training-mode
  passes on up to `images` of `pixels` (a seeded sample, each batch weighing the same); no other
  weight changes. Returns how many images were used (0: no batch norm, nothing to do).

  Works on a plain copy and writes the result back with `set_weights`, so that under a
  multi-worker strategy no collective runs per batch; every worker computes the same copy.
  Call it outside the strategy's scope (a copy made inside would get distributed variables).
  """
  if not any(isinstance(m, tf.keras.layers.BatchNormalization) for m in model.submodules):
    return 0
  order = np.sort(np.random.default_rng(seed).permutation(len(pixels))[:images])
  if not len(order):
    return 0
  copy = tf.keras.models.clone_model(model)
  copy.set_weights(model.get_weights())
  norms = [m for m in copy.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
  for count, start in enumerate(range(0, len(order), batch_size), start=1):
    for norm in norms:
      norm.momentum = 1.0 - 1.0 / count  # a running mean of the batches' statistics
    copy(tf.constant(pixels[order[start:start + batch_size]]), training=True)
  model.set_weights(copy.get_weights())
  return len(order)


class ConsistencyModel(tf.keras.Model):
  """Wraps the classifier (whose weights it trains) with the consistency train step; inference
  and validation are the classifier's own."""

  def __init__(self, classifier: tf.keras.Model, settings: consistency_method.ConsistencyConfig,
               num_classes: int, seed: int, pool_labels_known: bool = True,
               target_distribution: Optional[Sequence[float]] = None):
    """`target_distribution`: the class shares that distribution alignment steers the
    pseudo-labels to (those the labeled batches have); uniform when None."""
    super().__init__(name="consistency")
    self.classifier = classifier
    self.settings = settings
    # Without the pool's true labels the diagnostics average nothing: not logged (a 0 would
    # read as a score).
    self.pool_labels_known = pool_labels_known
    self.seed = seed
    self.loss_tracker = tf.keras.metrics.Mean("loss")
    self.above_threshold = tf.keras.metrics.Mean(ABOVE_THRESHOLD)
    self.pseudo_label_accuracy = tf.keras.metrics.Mean(PSEUDO_LABEL_ACCURACY)
    self.pool_accuracy = tf.keras.metrics.Mean(POOL_ACCURACY)
    self.num_classes = num_classes
    # Per class, the pseudo-labels accepted this epoch (PseudoLabelLog reads and resets it).
    # Not a Keras metric: Keras logs every metric as a scalar.
    self.class_counts = tf.Variable(
        tf.zeros([num_classes]), trainable=False, name="accepted_per_class",
        synchronization=tf.VariableSynchronization.ON_READ,
        aggregation=tf.VariableAggregation.SUM)
    # adaptive_thresholds' moving averages (-1: not started); every replica writes the same
    # all-reduced values.
    state = dict(trainable=False, synchronization=tf.VariableSynchronization.ON_WRITE,
                 aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.confidence = tf.Variable(-1.0, name="confidence", **state)
    self.class_confidence = tf.Variable(-tf.ones([num_classes]), name="class_confidence",
                                        **state)
    self.thresholds = tf.Variable(tf.fill([num_classes], settings.threshold),
                                  name="thresholds", **state)
    # Distribution alignment's moving average of the weak views' probabilities (-1: none yet).
    self.model_distribution = tf.Variable(-tf.ones([num_classes]), name="model_distribution",
                                          **state)
    target = (np.full(num_classes, 1.0 / num_classes) if target_distribution is None
              else np.asarray(target_distribution, np.float64) / np.sum(target_distribution))
    self.target_distribution = tf.constant(target, tf.float32)

  def call(self, pixels, training=False):
    return self.classifier(pixels, training=training)

  def _augmented(self, pixels: tf.Tensor, spec, view: int) -> tf.Tensor:
    seed = tf.stack([tf.constant(self.seed * 3 + view, tf.int64),
                     tf.cast(self.optimizer.iterations, tf.int64)])
    if isinstance(spec, config_lib.PhotoAugmentation):
      grey = pixels.shape.rank == 3  # [n, rows, columns]: one channel
      out = photo_augment.augment(pixels[..., None] if grey else pixels, spec, seed)
      return out[..., 0] if grey else out
    return augment.augment(pixels, spec, seed)

  def train_step(self, data):
    (labeled, labels), (unlabeled, truth) = data
    s = self.settings
    weak, strong = s.views(1 if labeled.shape.rank == 3 else labeled.shape[-1])
    views = [self._augmented(labeled, weak, 0), self._augmented(unlabeled, weak, 1),
             self._augmented(unlabeled, strong, 2)]
    n_labeled, n_unlabeled = tf.shape(labeled)[0], tf.shape(unlabeled)[0]
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    with tf.GradientTape() as tape:
      probabilities = self.classifier(tf.concat(views, axis=0), training=True)
      labeled_p, weak_p, strong_p = tf.split(probabilities, [n_labeled, n_unlabeled, n_unlabeled])
      supervised = tf.reduce_mean(
          tf.keras.losses.sparse_categorical_crossentropy(labels, labeled_p))
      if s.distribution_alignment:
        weak_p = self._aligned(weak_p)
      threshold = s.threshold
      if s.adaptive_threshold:
        threshold = self._update_thresholds(weak_p)
      per_image, mask, pseudo_labels = unlabeled_loss(weak_p, strong_p, threshold)
      loss = supervised + s.unlabeled_weight * tf.reduce_mean(per_image)
      # The optimizer sums the replicas' gradients: each replica contributes its share.
      scaled = loss / tf.cast(replicas, tf.float32) + tf.add_n(
          [tf.constant(0.0)] + self.classifier.losses)
      if isinstance(self.optimizer, tf.keras.mixed_precision.LossScaleOptimizer):
        scaled = self.optimizer.get_scaled_loss(scaled)  # mixed_float16: no underflow
    variables = self.classifier.trainable_variables
    gradients = tape.gradient(scaled, variables)
    if isinstance(self.optimizer, tf.keras.mixed_precision.LossScaleOptimizer):
      gradients = self.optimizer.get_unscaled_gradients(gradients)
    self.optimizer.apply_gradients(zip(gradients, variables))
    self.loss_tracker.update_state(loss)
    self.compiled_metrics.update_state(labels, labeled_p)
    self.above_threshold.update_state(mask)
    known = tf.cast(truth >= 0, tf.float32)
    right = tf.cast(tf.equal(tf.cast(truth, tf.int32), pseudo_labels), tf.float32)
    self.pseudo_label_accuracy.update_state(right, known * mask)
    self.pool_accuracy.update_state(right, known)
    self.class_counts.assign_add(
        tf.math.unsorted_segment_sum(mask, pseudo_labels, self.num_classes))
    logs = {m.name: m.result() for m in self.compiled_metrics.metrics}
    logs.update({m.name: m.result() for m in (self.loss_tracker, self.above_threshold)})
    if self.pool_labels_known:
      logs.update({m.name: m.result() for m in (self.pseudo_label_accuracy, self.pool_accuracy)})
    return logs

  def _aligned(self, weak_probabilities: tf.Tensor) -> tf.Tensor:
    weak = tf.stop_gradient(weak_probabilities)
    # The replicas' batch means, averaged: every worker aligns by the same distribution.
    batch = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN,
                                                           tf.reduce_mean(weak, axis=0))
    distribution = moving_average(self.model_distribution, batch, self.settings.average_momentum)
    self.model_distribution.assign(distribution)
    return aligned_probabilities(weak, distribution, self.target_distribution)

  def _update_thresholds(self, weak_probabilities: tf.Tensor) -> tf.Tensor:
    s = self.settings
    weak = tf.stop_gradient(weak_probabilities)
    # The replicas' batch statistics, averaged: every worker gets the same thresholds.
    top, per_class = tf.distribute.get_replica_context().all_reduce(
        tf.distribute.ReduceOp.MEAN,
        [tf.reduce_mean(tf.reduce_max(weak, axis=1)), tf.reduce_mean(weak, axis=0)])
    thresholds, confidence, class_confidence = adaptive_thresholds(
        self.confidence, self.class_confidence, top, per_class, s.average_momentum,
        s.min_threshold, s.threshold)
    self.confidence.assign(confidence)
    self.class_confidence.assign(class_confidence)
    self.thresholds.assign(thresholds)
    return thresholds

  def test_step(self, data):
    pixels, labels, weights = tf.keras.utils.unpack_x_y_sample_weight(data)
    probabilities = self.classifier(pixels, training=False)
    # Per image and weighted: the blank images filling a last batch (evaluation_batches) weigh 0.
    self.loss_tracker.update_state(
        tf.keras.losses.sparse_categorical_crossentropy(labels, probabilities), weights)
    self.compiled_metrics.update_state(labels, probabilities, weights)
    logs = {m.name: m.result() for m in self.compiled_metrics.metrics}
    logs["loss"] = self.loss_tracker.result()
    return logs


class PseudoLabelLog(tf.keras.callbacks.Callback):
  """Keeps, per epoch, how many pseudo-labels each class received."""

  def __init__(self, counts: tf.Variable, thresholds: tf.Variable = None):
    super().__init__()
    self.counts = counts
    self.per_epoch: List[List[int]] = []
    self.threshold_variable = thresholds
    self.thresholds: List[List[float]] = []  # per epoch's end, per class (adaptive thresholds)

  def on_epoch_begin(self, epoch, logs=None):
    self.counts.assign(tf.zeros_like(self.counts))

  def on_epoch_end(self, epoch, logs=None):
    counts = [int(c) for c in self.counts.numpy()]
    self.per_epoch.append(counts)
    if self.threshold_variable is not None:
      self.thresholds.append([round(float(t), 4) for t in self.threshold_variable.numpy()])
    total = sum(counts)
    if total:
      # The fit's own stage name, so that the console throttles both lines as one stage.
      progress.log.info("consistency training: epoch %d: %d pseudo-labels accepted; largest "
                        "class takes %.0f%%", epoch + 1, total, 100.0 * max(counts) / total)
