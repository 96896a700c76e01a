"""Consistency training (models/consistency.py): a weak view's confident class teaches the
strong view of the same unlabeled image, every step, alongside the labels."""
import dataclasses
import math
import os

from absl import logging

from models import config as config_lib
from models import methods


def train(request: methods.TrainRequest) -> methods.Trained:
  import numpy as np  # TensorFlow below: see models/methods/__init__.py

  from models import classifier, consistency, input_fn, off_topic, training_loop, weights
  settings: config_lib.ConsistencyConfig = request.settings
  training = request.training
  labeled, validation = classifier.labeled_parts(request.labeled, training)
  # Every labeled picture describes the classes' pictures: the check trains nothing on them.
  pool, found = off_topic.check(request.labeled.pixels, request.pool, settings.off_topic,
                                settings.off_topic_alpha, training.seed)
  if found["scored"]:
    logging.info("consistency: %d of %d pool pictures are off-topic (%.1f%%): %s",
                 found["flagged"], found["scored"], 100 * found["share"],
                 "left out" if settings.off_topic == "leave_out" else "reported only")
  model = request.build_model()
  from_reference = settings.warm_start and request.warm_start is not None
  if from_reference:
    weights.transfer(request.warm_start, model, "the supervised reference")
  history = {"initial_fingerprints": weights.fingerprints(model),
             "warm_start_from_reference": from_reference, "off_topic": found}
  if settings.warm_start and not from_reference:
    history["warm_start"] = classifier.train_classifier(
        model, labeled, validation if classifier.selects_on(validation, training) else None,
        training, os.path.join(request.log_dir, "warm_start"), request.strategy,
        stage="consistency warm start (supervised)")
  # A reference whose validation part was too small to choose an epoch by trained on those
  # images too (supervised_parts), so it cannot be judged against consistency training on them.
  reference_saw_validation = from_reference and not classifier.selects_on(validation, training)
  fallback = (settings.warm_start and settings.keep_better_on_validation
              and validation is not None and len(validation) > 0
              and not reference_saw_validation)
  history["warm_start_saw_validation"] = reference_saw_validation
  if not len(pool) and len(request.pool):
    reason = (f"every one of the {len(request.pool):,} pool pictures was judged off-topic "
              "(models/off_topic.py)")
    if not (settings.warm_start and (from_reference or "warm_start" in history)):
      raise methods.MethodError(f"{reason}: consistency training has nothing to learn from; "
                                "run with --set off_topic=report to train on them anyway")
    logging.warning("consistency: %s; consistency training skipped, the model is the "
                    "supervised warm start", reason)
    history["consistency_skipped"] = f"{reason}; the model is the supervised warm start"
    return methods.Trained(model, history)
  if fallback:
    warm_weights = model.get_weights()
    history["warm_start_validation_accuracy"] = classifier.accuracy(model, validation)
  tolerance = (0.5 / math.sqrt(len(validation))
               if settings.prefer_later_epochs and validation is not None and len(validation)
               else 0.0)
  batch_size = training_loop.batch_size_for(training, len(labeled))
  balanced = input_fn.balances_classes(training, labeled.labels)
  with request.strategy.scope():
    trainer = consistency.ConsistencyModel(
        model, settings, request.num_classes, training.seed,
        pool_labels_known=request.true_labels is not None,
        # What the labeled batches show the model: every class alike when they are balanced.
        target_distribution=None if balanced else np.bincount(
            labeled.labels, minlength=request.num_classes) + 1.0)
  log = consistency.PseudoLabelLog(trainer.class_counts, trainer.thresholds)
  fitted = training_loop.fit(
      trainer, labeled, validation, dataclasses.replace(training, epochs=settings.epochs),
      "sparse_categorical_crossentropy", ["accuracy"], os.path.join(request.log_dir, "consistency"),
      request.strategy, stage="consistency training",
      batches=input_fn.paired_batches(labeled, pool, request.true_labels, batch_size,
                                      settings.unlabeled_ratio, training.seed,
                                      training.shuffle_buffer, balanced),
      steps_per_epoch=settings.steps_per_epoch, ema_momentum=settings.ema_momentum,
      keep_tolerance=tolerance, callbacks=[log, *request.callbacks])
  fitted["keep_tolerance"] = tolerance
  fitted["steps"] = len(fitted["epochs"]) * settings.steps_per_epoch
  fitted["planned_steps"] = settings.epochs * settings.steps_per_epoch
  fitted["threshold"] = settings.threshold
  if settings.adaptive_threshold:
    fitted["thresholds_per_class"] = log.thresholds
  fitted["accepted_per_class"] = log.per_epoch
  fitted["pool"] = len(pool)
  fitted["pool_labels_known"] = request.true_labels is not None
  history.update(fitted)
  if fitted["epochs"]:
    # The strategy's scope ended with the fit: the copy it makes holds plain variables.
    history["batch_norm_images"] = consistency.recalibrate_batch_norm(
        model, pool.sample(settings.batch_norm_images, training.seed,
                           training.shuffle_buffer).pixels,
        settings.batch_norm_images, training.seed)
    if history["batch_norm_images"]:
      logging.info("consistency: batch-norm statistics recomputed on %d clean pool images",
                   history["batch_norm_images"])
  if fallback:
    history["consistency_validation_accuracy"] = classifier.accuracy(model, validation)
    history["kept"] = "consistency"
    if (history["warm_start_validation_accuracy"]
        > history["consistency_validation_accuracy"] + tolerance):
      model.set_weights(warm_weights)
      history["kept"] = "warm start"
    logging.info("consistency: validation accuracy %.4f after the warm start, %.4f after "
                 "consistency training; keeping the %s model",
                 history["warm_start_validation_accuracy"],
                 history["consistency_validation_accuracy"], history["kept"])
  return methods.Trained(model, history)


SPEC = methods.MethodSpec(
    name="consistency",
    description="supervised warm start, then weak-view pseudo-labels teach strong views (FixMatch)",
    uses_unlabeled=True, needs_encoder=False, train=train,
    settings=config_lib.ConsistencyConfig, needs_validation=False,
    takes_reference_warm_start=True)
