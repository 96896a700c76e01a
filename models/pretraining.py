"""Pre-training on the pool by a pretext (models/pretexts.py), greedy stage by stage: stage k
starts from stage k-1's encoder layers. The LayerwisePretrainer component runs `pretrain`."""
import os
from typing import List, Tuple

import tensorflow as tf

from models import config as config_lib
from models import input_fn
from models import pretexts
from models import progress
from models import training_loop
from models import weights

# Custom properties of the encoder artifact.
STAGE_LOSS_PROPERTY = "stage_{}_loss"  # per stage: the last epoch's pretext loss
IMAGES_PROPERTY = "pretraining_images"
PRETEXT_PROPERTY = "pretext"


class PretrainingError(ValueError):
  """Pre-training cannot start; the message is one line naming the reason."""


def pretraining_images(labeled: input_fn.Examples, pool: input_fn.Pool,
                       pretraining: config_lib.PretrainingConfig, seed: int) -> input_fn.Pool:
  """The unlabeled pool (plus the labeled images, labels ignored), sampled to max_images, as a
  stream."""
  if len(pool) == 0:
    raise PretrainingError("pre-training needs unlabeled images but the unlabeled split is empty: "
                           "use a label budget below 100% or a method without pre-training")
  images = pool.with_images(labeled, seed) if pretraining.include_labeled_images else pool
  if pretraining.max_images:
    images = images.sampled(pretraining.max_images, seed, pretraining.as_training().shuffle_buffer)
  return images


def pretrain(images: input_fn.Pool, model: config_lib.ModelConfig,
             pretraining: config_lib.PretrainingConfig, seed: int, log_dir: str,
             strategy: tf.distribute.Strategy) -> Tuple[tf.keras.Model, List[dict]]:
  """Returns the encoder of the last stage and each stage's history."""
  pretext = pretexts.resolve(pretraining.pretext, model)
  training = pretraining.as_training(seed)
  count = pretext.stages(model)
  previous, stages = None, []
  for depth in range(1, count + 1):
    with strategy.scope():
      stage_model = pretext.build(depth, model)
      if previous is not None:
        weights.transfer(previous, stage_model, f"pre-training stage {depth - 1}")
    start = weights.fingerprints(stage_model)
    history = training_loop.fit(
        stage_model, images, None, training, "mean_squared_error", [],
        os.path.join(log_dir, f"stage_{depth}"), strategy,
        stage=f"pre-training ({pretext.name}) stage {depth}/{count}",
        steps_per_epoch=pretraining.epoch_steps,
        batches=input_fn.pretext_batches(
            images, training_loop.batch_size_for(training, len(images)), training.seed,
            pretext.targets, training.shuffle_buffer))
    history.update(pretext=pretext.name, start_fingerprints=start,
                   end_fingerprints=weights.fingerprints(stage_model))
    history["final_loss"] = history["epochs"][-1]["loss"] if history["epochs"] else None
    progress.log.info("pre-training (%s) stage %d/%d: final loss %s", pretext.name, depth, count,
                      history["final_loss"])
    stages.append(history)
    previous = pretexts.encoder_of(pretext, stage_model, depth)
  return previous, stages
