"""Seconds for one training epoch of each architecture through the shared fit loop.

  python bench/architecture_speed.py [--images 35000] [--batch-size 32]

Random uint8 drawings (speed does not depend on content), the Trainer's fit loop
(models/training_loop.py: LEGW schedule, early stopping, checkpoints, TensorBoard), one
untimed warm-up epoch first (the first trace costs seconds), then one timed epoch per
architecture. Also the consistency method's step (a labeled batch plus 7x as many unlabeled
images in two views) on the CNN, under each precision of --precisions (models/precision.py),
with its floating-point operations per step (TensorFlow's graph profiler: forward and backward)
and the rate they are done at. Prints the machine and the figures.

  python bench/architecture_speed.py --precisions float32 mixed_bfloat16 --xla
"""
import argparse
import dataclasses
import math
import tempfile
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", type=int, default=35_000)
  parser.add_argument("--batch-size", type=int, default=32)
  parser.add_argument("--precisions", nargs="+", default=["float32"],
                      choices=["float32", "mixed_bfloat16", "mixed_float16"])
  parser.add_argument("--xla", action="store_true",
                      help="also the consistency step's forward and backward pass and update "
                           "with and without XLA (its augmentations' image transform has no "
                           "XLA kernel on CPUs, so the whole step cannot be compiled)")
  parser.add_argument("--consistency-only", action="store_true",
                      help="only the consistency step (skip the epochs of each architecture)")
  return parser.parse_args()


# Before the heavy imports: `--help` and a bad flag answer at once.
ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from models import architectures, classifier, consistency, input_fn  # noqa: E402
from models import precision, training_loop  # noqa: E402
from models.config import ModelConfig, TrainingConfig  # noqa: E402
from models.methods import consistency as consistency_method  # noqa: E402
import measure  # noqa: E402  (bench/measure.py)


def _examples(n, labeled=True, image_shape=(28, 28, 1)):
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 10, n) if labeled else np.full(n, -1)
  shape = image_shape[:2] if image_shape[2] == 1 else image_shape
  return input_fn.Examples(rng.integers(0, 256, (n,) + tuple(shape), dtype=np.uint8),
                           labels.astype(np.int64), np.arange(n))


def epoch_seconds(model_config, examples, batch_size):
  training = TrainingConfig(epochs=1, batch_size=batch_size, validation_fraction=0.0)
  model = architectures.build(10, model_config)
  with tempfile.TemporaryDirectory() as log_dir:
    warm = examples.subset(np.arange(batch_size * 20))
    classifier.train_classifier(model, warm, None, training, log_dir, tf.distribute.get_strategy())
  with tempfile.TemporaryDirectory() as log_dir:
    started = time.perf_counter()
    classifier.train_classifier(model, examples, None, training, log_dir,
                                tf.distribute.get_strategy())
    return time.perf_counter() - started


def consistency_step_seconds(model_config, batch_size, steps=100, labeled=None, pool=None):
  """Seconds per step in the steady state: the difference of two fits `steps` steps apart
  (each fit compiles and traces anew: those seconds cancel). Random drawings unless `labeled`
  (Examples) and `pool` (an input_fn.Pool) are given."""
  settings = consistency_method.ConsistencyConfig()
  if labeled is None:
    labeled = _examples(batch_size * 4)
    pool = input_fn.Pool.from_examples(
        _examples(batch_size * settings.unlabeled_ratio * 4, labeled=False))
  batches = input_fn.paired_batches(labeled, pool, None, batch_size, settings.unlabeled_ratio, 0,
                                    TrainingConfig().shuffle_buffer)
  model = consistency.ConsistencyModel(architectures.build(10, model_config), settings, 10, 0)
  training = TrainingConfig(epochs=1, batch_size=batch_size, validation_fraction=0.0)
  timings = []
  for count in (5, 20, 20 + steps):  # the first warms up; the other two are timed
    with tempfile.TemporaryDirectory() as log_dir:
      started = time.perf_counter()
      training_loop.fit(model, labeled, None, training, "sparse_categorical_crossentropy",
                        ["accuracy"], log_dir, tf.distribute.get_strategy(), "speed",
                        batches=batches, steps_per_epoch=count)
      timings.append(time.perf_counter() - started)
  return (timings[2] - timings[1]) / steps


def gradient_step_seconds(model_config, images, jit_compile, steps=30):
  """Seconds of one forward pass, backward pass and Adam update of the classifier over
  `images` images (the consistency step without its augmentations), steady state."""
  model = architectures.build(10, model_config)
  optimizer = tf.keras.optimizers.Adam(1e-3)
  rng = np.random.default_rng(0)
  pixels = tf.constant(rng.integers(0, 256, (images, 28, 28)), tf.uint8)
  labels = tf.constant(rng.integers(0, 10, images), tf.int64)

  @tf.function(jit_compile=jit_compile)
  def step():
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
          labels, model(pixels, training=True)))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                  model.trainable_variables))
    return loss

  for _ in range(3):  # trace, compile and warm up
    step().numpy()
  started = time.perf_counter()
  for _ in range(steps):
    loss = step()
  loss.numpy()
  return (time.perf_counter() - started) / steps


def step_flops(model_config, images):
  """Floating-point operations of one forward and backward pass of the classifier over
  `images` images, as TensorFlow's graph profiler counts them."""
  from tensorflow.python.profiler import model_analyzer, option_builder
  model = architectures.build(10, model_config)

  @tf.function
  def step(pixels, labels):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
          labels, model(pixels, training=True)))
    return tape.gradient(loss, model.trainable_variables)

  graph = step.get_concrete_function(tf.TensorSpec([images, 28, 28], tf.uint8),
                                     tf.TensorSpec([images], tf.int64)).graph
  options = option_builder.ProfileOptionBuilder.float_operation()
  options["output"] = "none"
  return model_analyzer.profile(graph, options=options).total_float_ops


def main(args):
  print(f"machine: {measure.machine()}")
  photos = (32, 32, 3)
  for config in () if args.consistency_only else (
      ModelConfig(architecture="cnn"), ModelConfig(architecture="lstm", settings=(("width", 32),)),
      ModelConfig(architecture="lstm"), ModelConfig(architecture="resnet"),
      ModelConfig(architecture="cnn", image_shape=photos),
      ModelConfig(architecture="resnet", image_shape=photos)):
    examples = _examples(args.images, image_shape=config.image_shape)
    seconds = epoch_seconds(config, examples, args.batch_size)
    size = ", ".join(f"{k} {v}" for k, v in dataclasses.asdict(
        architectures.settings(config)).items())
    weights = architectures.build(10, config).count_params()
    print(f"{config.architecture} ({size}; {weights / 1e6:.2f} M weights), "
          f"{' x '.join(map(str, config.image_shape))} pictures: one epoch of {args.images:,} "
          f"at batch {args.batch_size}: {seconds:.0f} s ({args.images / seconds:,.0f} images/s)")
  pool_steps = math.ceil(args.images / (args.batch_size * 7))
  flops = step_flops(ModelConfig(architecture="cnn"), args.batch_size * 15)
  for name in args.precisions:
    with precision.policy(name):
      step = consistency_step_seconds(ModelConfig(architecture="cnn"), args.batch_size)
    print(f"cnn consistency step, {name} (batch {args.batch_size} + 7 x {args.batch_size} "
          f"unlabeled, two views): {step:.3f} s, {flops / 1e9:.1f} GFLOP a step (forward and "
          f"backward), {flops / step / 1e9:.0f} GFLOP/s; 4,500 steps: {4_500 * step / 60:.1f} "
          f"min; a pass over a pool of {args.images:,}: {pool_steps} steps, "
          f"{step * pool_steps:.0f} s")
  if args.xla:
    images = args.batch_size * 15
    plain, xla = (gradient_step_seconds(ModelConfig(architecture="cnn"), images, jit)
                  for jit in (False, True))
    print(f"cnn forward, backward and update of {images} images (float32, no augmentation): "
          f"{plain:.3f} s without XLA, {xla:.3f} s with ({plain / xla:.2f}x)")


if __name__ == "__main__":
  main(ARGS)
