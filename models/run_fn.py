"""The Trainer's run_fn: train the LSTM classifier by the configured method, export for serving."""
import json
import logging
import os
from typing import Any, Dict, Optional

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs

from models import autoencoder
from models import autograph_speedup
from models import distribution
from models import export
from models import input_fn
from models import methods
from pipeline import config as config_lib

# Keys of the Trainer's custom_config, written by pipeline.pipeline.create_pipeline.
METHOD_KEY = "method"
MODEL_CONFIG_KEY = "model"
TRAINING_CONFIG_KEY = "training"
SELF_TRAINING_CONFIG_KEY = "self_training"
NUM_CLASSES_KEY = "num_classes"
# The data source, read only after training to score pseudo-labels against the true labels.
DIAGNOSTIC_SOURCE_KEY = "diagnostic_source"
CODE_VERSION_KEY = "code_version"  # only there so that a code change invalidates the cache
HISTORY_FILE = "history.json"


def _true_labels_reader(source: Optional[Dict[str, Any]]):
  """ids -> true labels of the training split, or None when the source cannot be read here."""
  if not source:
    return None
  from components.tfds_example_gen import split_plan  # TFDS only where diagnostics run
  from sources import tfds_source
  try:
    labels = split_plan.output_train_labels(tfds_source.SourceSpec(**source))
  except Exception as e:  # diagnostics must never fail a trained model
    logging.warning("pseudo-label accuracy not computed: %s", e)
    return None
  return lambda ids: labels[np.asarray(ids)]


def run_fn(fn_args: FnArgs) -> None:
  autograph_speedup.skip_autograph_for_tf_keras()
  custom = fn_args.custom_config
  method = custom[METHOD_KEY]
  model_config = config_lib.ModelConfig(**custom[MODEL_CONFIG_KEY])
  training = config_lib.TrainingConfig(**custom[TRAINING_CONFIG_KEY])
  self_config = config_lib.SelfTrainingConfig(**custom[SELF_TRAINING_CONFIG_KEY])
  tf.keras.utils.set_random_seed(training.seed)

  strategy = distribution.create_strategy()
  tft_output = tft.TFTransformOutput(fn_args.transform_output)
  examples = input_fn.load(fn_args.train_files, tft_output)
  encoder = autoencoder.load_encoder(fn_args.base_model) if fn_args.base_model else None
  trained = methods.train(method, examples, model_config, training, self_config,
                          int(custom[NUM_CLASSES_KEY]), encoder, fn_args.base_model or "",
                          fn_args.model_run_dir, strategy)
  export.export_serving_model(trained.model, tft_output, fn_args.serving_model_dir, strategy)
  if not export.is_chief(strategy):
    return
  history = dict(trained.history, method=method)
  if trained.outcome is not None:
    true_labels = _true_labels_reader(custom.get(DIAGNOSTIC_SOURCE_KEY))
    if true_labels is not None:
      methods.score_against(true_labels, trained)
    history["self_training"] = methods.self_training_report(trained)
  with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, HISTORY_FILE), "w") as f:
    json.dump(history, f, indent=1)
