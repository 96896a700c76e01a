"""Large-batch training rules from the research method: LEGW warmup and square-root LR scaling.

LEGW (You et al. 2019, arXiv:1901.08256): when the batch grows k-fold over the base batch, the
learning rate grows sqrt(k)-fold and the warmup lasts k times as many epochs. The warmup is
linear per step from 0; afterwards the rate decays as exp(-epochs_since_warmup / decay_epochs),
or, for a stage with a fixed step budget, along FixMatch's cosine (Sohn et al. 2020),
cos(7 pi k / 16 K), which reaches a fifth of the peak at the budget's last step whatever the
budget: an exponential decay in epochs leaves a short budget at 70% of the peak.
"""
import math

import tensorflow as tf

SMALL_DATA_LIMIT = 5_000  # up to this many labels the seed trains at batch 32
SMALL_DATA_BATCH = 32
IMAGES_PER_BATCH_SLOT = 120  # above the limit: batch = 2^floor(log2(n / 120))


def auto_batch_size(num_examples: int) -> int:
  """The seed's batch-size rule for a training set of `num_examples` images."""
  if num_examples <= SMALL_DATA_LIMIT:
    return SMALL_DATA_BATCH
  return 2 ** int(math.floor(math.log2(num_examples / IMAGES_PER_BATCH_SLOT)))


def scaled_learning_rate(base_learning_rate: float, batch_size: int, base_batch_size: int) -> float:
  return base_learning_rate * math.sqrt(batch_size / base_batch_size)


def scaled_warmup_epochs(warmup_epochs: float, batch_size: int, base_batch_size: int) -> float:
  return warmup_epochs * batch_size / base_batch_size


@tf.keras.utils.register_keras_serializable(package="fewlabels")
class LegwSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):
  """Per-step linear warmup to `peak_learning_rate`, then exponential decay per epoch, or with
  `cosine_steps` > 0 the cosine over the steps from the warmup's end to `cosine_steps`."""

  def __init__(self, peak_learning_rate: float, warmup_steps: int, steps_per_epoch: int,
               decay_epochs: float, cosine_steps: int = 0):
    self.peak_learning_rate = float(peak_learning_rate)
    self.warmup_steps = int(warmup_steps)
    self.steps_per_epoch = int(steps_per_epoch)
    self.decay_epochs = float(decay_epochs)
    self.cosine_steps = int(cosine_steps)

  @classmethod
  def for_batch(cls, base_learning_rate: float, batch_size: int, base_batch_size: int,
                warmup_epochs: float, steps_per_epoch: int, decay_epochs: float,
                cosine_steps: int = 0) -> "LegwSchedule":
    """The schedule LEGW prescribes for training at `batch_size`."""
    warmup = scaled_warmup_epochs(warmup_epochs, batch_size, base_batch_size)
    warmup_steps = int(round(warmup * steps_per_epoch))
    if cosine_steps:  # a warmup longer than half the budget would leave no decay
      warmup_steps = min(warmup_steps, cosine_steps // 2)
    return cls(scaled_learning_rate(base_learning_rate, batch_size, base_batch_size),
               warmup_steps=warmup_steps, steps_per_epoch=steps_per_epoch,
               decay_epochs=decay_epochs, cosine_steps=cosine_steps)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    peak = tf.constant(self.peak_learning_rate, tf.float32)
    warmup_steps = tf.constant(float(self.warmup_steps), tf.float32)
    # Step s of the warmup trains at (s + 1) / warmup_steps of the peak: never at zero.
    warming = peak * (step + 1.0) / tf.maximum(warmup_steps, 1.0)
    epochs_after = (step - warmup_steps) / float(self.steps_per_epoch)
    if self.cosine_steps:
      decay_steps = float(max(self.cosine_steps - self.warmup_steps - 1, 1))
      done = tf.clip_by_value((step - warmup_steps) / decay_steps, 0.0, 1.0)
      decaying = peak * tf.cos(7.0 * math.pi / 16.0 * done)
    else:
      decaying = peak * tf.exp(-tf.maximum(epochs_after, 0.0) / self.decay_epochs)
    return tf.where(step < warmup_steps, warming, decaying)

  def get_config(self):
    return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps,
            "steps_per_epoch": self.steps_per_epoch, "decay_epochs": self.decay_epochs,
            "cosine_steps": self.cosine_steps}
