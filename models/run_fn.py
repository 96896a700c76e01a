"""The Trainer's run_fn: train a classifier by the configured method, export it for serving."""
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Dict, Optional

import tensorflow as tf
import tensorflow_transform as tft

from models import architectures
from models import config as config_lib
from models import distribution
from models import export
from models import input_fn
from models import methods
from models import precision
from models import pretexts
from models import weights
from sources import features

if TYPE_CHECKING:  # importing tfx.components loads every TFX component: ~20 s on 2 cores
  from tfx.components.trainer.fn_args_utils import FnArgs

# Keys of the Trainer's custom_config, written by pipeline.pipeline.create_pipeline.
METHOD_KEY = "method"
METHOD_SETTINGS_KEY = "method_settings"  # the method's own config dataclass, as a dict
MODEL_CONFIG_KEY = "model"
TRAINING_CONFIG_KEY = "training"
NUM_CLASSES_KEY = "num_classes"
CLASS_NAMES_KEY = "class_names"  # in label order; the pushed model answers with them
IMAGE_POLARITY_KEY = "image_polarity"  # how the model's image signature reads the ink
# The data source, read only to score pseudo-labels against the pool's true labels.
DIAGNOSTIC_SOURCE_KEY = "diagnostic_source"
CODE_VERSION_KEY = "code_version"  # only there so that a code change invalidates the cache
HISTORY_FILE = "history.json"
# A supervised Trainer's classifier as Keras, beside its SavedModel in the Model artifact (the
# Pusher pushes only Format-Serving): the warm start of a method that takes the reference's.
KERAS_FORMAT_DIR = "Format-Keras"
CLASSIFIER_FILE = "classifier.keras"


def _true_labels_reader(source: Optional[Dict[str, Any]]):
  """The training split's true labels by example id, or None when the source cannot be read
  here."""
  if not source:
    return None
  from sources import split_plan  # TFDS only where diagnostics run
  from sources import tfds_source
  try:
    labels = split_plan.output_train_labels(tfds_source.SourceSpec(**source))
  except Exception as e:  # diagnostics must never fail a trained model
    logging.warning("pseudo-label accuracy not computed: %s", e)
    return None
  if (labels == features.NO_LABEL).any():
    logging.info("pseudo-label accuracy not computed: the pool's pictures came without labels")
    return None
  return labels


def model_builder(model_config: config_lib.ModelConfig, num_classes: int,
                  encoder: Optional[tf.keras.Model], encoder_path: str,
                  strategy: tf.distribute.Strategy):
  """A callable that builds a fresh classifier in the strategy's scope, from the encoder if any."""
  def build() -> tf.keras.Model:
    with strategy.scope():
      model = architectures.build(num_classes, model_config)
      if encoder is not None:
        weights.transfer(encoder, model, encoder_path)
    return model
  return build


def classifier_path(serving_model_dir: str) -> str:
  """Where a Model artifact whose SavedModel is in `serving_model_dir` keeps its Keras
  classifier (written by supervised Trainers)."""
  return os.path.join(os.path.dirname(serving_model_dir.rstrip("/")), KERAS_FORMAT_DIR,
                      CLASSIFIER_FILE)


def _base_models(base_model: Optional[str]):
  """(pre-trained encoder, trained classifier to warm start from) in the Trainer's base model:
  the LayerwisePretrainer's encoder, or a supervised Trainer's classifier."""
  if not base_model:
    return None, None
  if tf.io.gfile.exists(os.path.join(base_model, pretexts.ENCODER_FILE)):
    return pretexts.load_encoder(base_model), None
  if tf.io.gfile.exists(classifier_path(base_model)):
    return None, tf.keras.models.load_model(classifier_path(base_model), compile=False)
  return pretexts.load_encoder(base_model), None  # the error that names what is expected


def run_fn(fn_args: "FnArgs") -> None:
  custom = fn_args.custom_config
  method = custom[METHOD_KEY]
  model_config = config_lib.ModelConfig(**custom[MODEL_CONFIG_KEY])
  training = config_lib.TrainingConfig(**custom[TRAINING_CONFIG_KEY])
  settings = methods.settings(method, custom[METHOD_SETTINGS_KEY])
  methods.check(method, model_config, training)
  num_classes = int(custom[NUM_CLASSES_KEY])
  tf.keras.utils.set_random_seed(training.seed)

  with precision.policy(training.precision):
    _train_and_export(fn_args, method, model_config, training, settings, num_classes)


def _train_and_export(fn_args: "FnArgs", method: str, model_config: config_lib.ModelConfig,
                      training: config_lib.TrainingConfig, settings: Any,
                      num_classes: int) -> None:
  custom = fn_args.custom_config
  strategy = distribution.create_strategy()
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  labeled, pool = input_fn.read(fn_args.train_files, tft_output, model_config.image_shape)
  encoder, warm_start = _base_models(fn_args.base_model)
  request = methods.TrainRequest(
      labeled=labeled, pool=pool,
      build_model=model_builder(model_config, num_classes, encoder, fn_args.base_model or "",
                                strategy),
      training=training, settings=settings, num_classes=num_classes,
      log_dir=fn_args.model_run_dir, strategy=strategy,
      true_labels=(_true_labels_reader(custom.get(DIAGNOSTIC_SOURCE_KEY))
                   if methods.get(method).uses_unlabeled else None),
      warm_start=warm_start)
  trained = methods.train(method, request, has_encoder=encoder is not None)
  trained.history["compute_dtype"] = trained.model.compute_dtype  # the precision it trained in
  names = custom.get(CLASS_NAMES_KEY) or [str(i) for i in range(num_classes)]
  export.export_serving_model(trained.model, tft_output, fn_args.serving_model_dir, strategy,
                              names, custom.get(IMAGE_POLARITY_KEY) or "auto")
  spec = methods.get(method)
  if not spec.uses_unlabeled and not spec.needs_encoder:  # what a reference warm start needs
    def write_classifier(directory: str) -> None:
      tf.io.gfile.makedirs(directory)
      trained.model.save(os.path.join(directory, CLASSIFIER_FILE))
    export.on_every_worker(write_classifier,
                           os.path.dirname(classifier_path(fn_args.serving_model_dir)), strategy)
  if not export.is_chief(strategy):
    return
  with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, HISTORY_FILE), "w") as f:
    json.dump(trained.history, f, indent=1)
