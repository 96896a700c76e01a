"""preprocessing_fn, the classifier's shape, and the LEGW learning-rate rules."""
import math

import numpy as np
import pytest
import tensorflow as tf

from models import autograph_speedup
from models import architectures
from models import config as config_lib
from models.config import ModelConfig
from models import lr_schedule
from models import preprocessing
from sources import features


def _transform(images):
  return preprocessing.preprocessing_fn({
      features.IMAGE_KEY: tf.constant([[image] for image in images]),
      features.LABEL_KEY: tf.constant([[3], [features.NO_LABEL]][:len(images)], tf.int64),
      features.EXAMPLE_ID_KEY: tf.constant([[10], [11]][:len(images)], tf.int64),
  })


def test_transform_passes_pixels_on_and_the_model_scales_them_to_minus_one_one():
  image = np.zeros((28, 28), np.uint8)
  image[0, 0], image[0, 1], image[27, 27] = 255, 51, 128
  other = np.full((28, 28), 255, np.uint8)
  out = _transform([image.tobytes(), other.tobytes()])
  pixels = preprocessing.decode_pixels(out[preprocessing.PIXELS_KEY]).numpy()
  assert pixels.dtype == np.uint8 and np.array_equal(pixels, np.stack([image, other]))
  assert out[preprocessing.LABEL_KEY].numpy().tolist() == [3, features.NO_LABEL]
  assert out[preprocessing.EXAMPLE_ID_KEY].numpy().tolist() == [10, 11]
  # The research method's scaling ((p / 255) - 0.5) * 2, in the model's first layer.
  rows = preprocessing.scaling_layer()(pixels).numpy()
  assert rows.dtype == np.float32
  assert rows[0, 0, 0] == pytest.approx(1.0)
  assert rows[0, 0, 1] == pytest.approx((51 / 255 - 0.5) * 2, abs=1e-6)
  assert rows[0, 27, 27] == pytest.approx((128 / 255 - 0.5) * 2, abs=1e-6)
  assert rows[0, 5, 5] == pytest.approx(-1.0)
  assert np.allclose(rows[1], 1.0)
  # Row-major: timestep t is image row t.
  assert rows[0, 0, 1] != rows[0, 1, 0]


def test_transform_rejects_an_image_of_another_size():
  with pytest.raises(tf.errors.InvalidArgumentError, match="784 bytes"):
    _transform([bytes(783)])


@pytest.mark.parametrize("width,layers,classes", [(8, 1, 10), (16, 3, 345)])
def test_classifier_outputs_class_probabilities(width, layers, classes):
  model = architectures.build(classes, ModelConfig(architecture="lstm", settings=(("layers", layers), ("width", width))))
  out = model(np.zeros((4, 28, 28), np.uint8)).numpy()
  assert out.shape == (4, classes)
  assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
  lstms = [l for l in model.layers if isinstance(l, tf.keras.layers.LSTM)]
  assert [l.units for l in lstms] == [width] * layers


@pytest.mark.parametrize("n,batch", [(100, 32), (5000, 32), (5001, 32), (11690, 64),
                                     (116690, 512), (583310, 4096)])
def test_auto_batch_size_follows_the_research_rule(n, batch):
  assert lr_schedule.auto_batch_size(n) == batch


@pytest.mark.parametrize("batch,lr,warmup", [(32, 0.001, 2.0), (128, 0.002, 8.0), (2048, 0.008, 128.0)])
def test_legw_scales_rate_by_sqrt_and_warmup_linearly(batch, lr, warmup):
  assert lr_schedule.scaled_learning_rate(0.001, batch, 32) == pytest.approx(lr)
  assert lr_schedule.scaled_warmup_epochs(2.0, batch, 32) == pytest.approx(warmup)


def test_schedule_warms_up_linearly_then_decays_exponentially():
  schedule = lr_schedule.LegwSchedule.for_batch(
      base_learning_rate=0.001, batch_size=128, base_batch_size=32, warmup_epochs=1.0,
      steps_per_epoch=10, decay_epochs=25.0)
  peak = 0.002
  assert schedule.warmup_steps == 40  # 1 epoch at batch 32 -> 4 epochs at batch 128
  assert float(schedule(0)) == pytest.approx(peak / 40)
  assert float(schedule(19)) == pytest.approx(peak * 20 / 40)
  assert float(schedule(39)) == pytest.approx(peak)
  assert float(schedule(40)) == pytest.approx(peak)
  assert float(schedule(40 + 10 * 25)) == pytest.approx(peak * math.exp(-1), rel=1e-5)
  assert float(schedule(40 + 5)) == pytest.approx(peak * math.exp(-0.5 / 25), rel=1e-5)


def test_the_cosine_reaches_a_fifth_of_the_peak_at_the_last_step_of_any_budget():
  for budget in (300, 1_500, 4_500):
    schedule = lr_schedule.LegwSchedule.for_batch(
        base_learning_rate=0.001, batch_size=32, base_batch_size=32, warmup_epochs=2.0,
        steps_per_epoch=150, decay_epochs=25.0, cosine_steps=budget)
    # The warmup is LEGW's 2 epochs (300 steps), but never more than half the budget.
    assert schedule.warmup_steps == min(300, budget // 2)
    rates = [float(schedule(step)) for step in range(budget)]
    assert max(rates) == pytest.approx(0.001)
    assert rates[schedule.warmup_steps] == pytest.approx(0.001)
    assert rates[-1] == pytest.approx(0.001 * math.cos(7 * math.pi / 16), rel=1e-4)
    after = rates[schedule.warmup_steps:]
    assert all(a >= b for a, b in zip(after, after[1:]))  # falls, never rises
    assert float(schedule(budget * 2)) == pytest.approx(rates[-1])  # held past the budget


@pytest.mark.parametrize("cosine_steps", [0, 400])
def test_schedule_survives_serialization(cosine_steps):
  schedule = lr_schedule.LegwSchedule(0.004, 100, 20, 25.0, cosine_steps=cosine_steps)
  restored = tf.keras.optimizers.schedules.deserialize(
      tf.keras.optimizers.schedules.serialize(schedule))
  assert isinstance(restored, lr_schedule.LegwSchedule)
  for step in (0, 50, 99, 100, 300, 500):
    assert float(restored(step)) == pytest.approx(float(schedule(step)))


def _losses_after_training():
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (128, 28, 28), dtype=np.uint8)
  y = rng.integers(0, 10, 128)
  tf.keras.utils.set_random_seed(0)
  model = architectures.build(10, ModelConfig(architecture="lstm", settings=(("layers", 2), ("width", 8))))
  model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
  return model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]


@pytest.mark.slow  # the rewrite it compares against is what costs 20-30 s a first trace
def test_skipping_autograph_for_tf_keras_trains_identically():
  # The fit loop may have installed the rule in this process already: without it, then with it.
  from tensorflow.python.autograph.core import config
  saved = config.CONVERSION_RULES
  try:
    config.CONVERSION_RULES = tuple(r for r in saved if not r.matches("tf_keras"))
    converted = _losses_after_training()
    assert autograph_speedup.skip_autograph_for_tf_keras()
    skipped = _losses_after_training()
  finally:
    config.CONVERSION_RULES = saved
  assert np.allclose(converted, skipped, rtol=1e-6)


# GPU readiness, on CPU: what would decide the GPU's kernels and collectives.
@pytest.mark.parametrize("pretext", ["reconstruct", "sequence_autoencoder", "next_row"])
def test_every_lstm_of_the_classifier_and_its_pretexts_can_take_the_cudnn_kernel(pretext):
  from models import architectures
  from models import pretexts
  model = config_lib.ModelConfig(architecture="lstm", settings=(("width", 8),))
  built = [architectures.build(3, model)]
  chosen = pretexts.resolve(pretext, model)
  built += [chosen.build(depth, model) for depth in range(1, chosen.stages(model) + 1)]
  lstms = [layer for m in built for layer in m.layers
           if isinstance(layer, tf.keras.layers.LSTM)]
  assert lstms
  # Keras takes cuDNN only for tanh / sigmoid, no recurrent dropout, no unrolling, with a bias.
  assert all(layer._could_use_gpu_kernel for layer in lstms), [
      layer.name for layer in lstms if not layer._could_use_gpu_kernel]


def test_on_gpus_the_workers_all_reduce_with_nccl_else_ring(monkeypatch):
  from models import distribution
  made = []
  monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy",
                      lambda communication_options: made.append(
                          communication_options.implementation))
  Implementation = tf.distribute.experimental.CommunicationImplementation
  distribution.create_strategy()
  monkeypatch.setattr(tf.config, "list_physical_devices",
                      lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
  distribution.create_strategy()
  assert made == [Implementation.RING, Implementation.NCCL]


def test_under_mixed_float16_the_classifier_trains_and_answers_in_float32():
  from models import architectures
  from models import precision
  with precision.policy("mixed_float16"):
    model = architectures.build(3, config_lib.ModelConfig(architecture="cnn", settings=(("width", 4),)))
    model.compile("adam", "sparse_categorical_crossentropy")
    assert isinstance(model.optimizer, tf.keras.mixed_precision.LossScaleOptimizer)
    pixels = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    history = model.fit(pixels, np.arange(16) % 3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(layer.compute_dtype == "float16" for layer in model.layers)
    assert model(pixels).dtype == tf.float32  # softmax, losses and scores stay float32
