"""Greedy layer-wise pre-training on the transformed pool; writes the encoder as a Model."""
import json
import os
from typing import Any, Dict, List

import tensorflow as tf
import tensorflow_transform as tft
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.tfds_example_gen import spec as example_gen_spec
from models import autoencoder
from models import autograph_speedup
from models import distribution
from models import export
from models import input_fn
from models import pretraining
from pipeline import config as config_lib

EXAMPLES_KEY = "examples"
TRANSFORM_GRAPH_KEY = "transform_graph"
MODEL_KEY = "model"
MODEL_CONFIG_KEY = "model_config"  # JSON of config.ModelConfig
PRETRAINING_CONFIG_KEY = "pretraining_config"  # JSON of config.PretrainingConfig
SEED_KEY = "seed"
CODE_VERSION_KEY = "code_version"  # only there so that a code change invalidates the cache
HISTORY_FILE = "pretraining.json"  # per stage: losses and LSTM weight fingerprints
LOGS_DIR = "logs"


def _split_files(examples, split: str) -> List[str]:
  return [os.path.join(artifact_utils.get_split_uri([examples], split), "*")]


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    autograph_speedup.skip_autograph_for_tf_keras()
    model_config = config_lib.ModelConfig(**json.loads(exec_properties[MODEL_CONFIG_KEY]))
    pretraining_config = config_lib.PretrainingConfig(
        **json.loads(exec_properties[PRETRAINING_CONFIG_KEY]))
    seed = int(exec_properties[SEED_KEY])
    tf.keras.utils.set_random_seed(seed)
    examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
    tft_output = tft.TFTransformOutput(
        artifact_utils.get_single_uri(input_dict[TRANSFORM_GRAPH_KEY]))
    model = artifact_utils.get_single_instance(output_dict[MODEL_KEY])

    unlabeled = input_fn.load(_split_files(examples, example_gen_spec.UNLABELED_SPLIT), tft_output,
                              allow_empty=True)
    labeled = (input_fn.load(_split_files(examples, example_gen_spec.LABELED_SPLIT), tft_output)
               if pretraining_config.include_labeled_images else input_fn.Examples.empty())
    images = pretraining.pretraining_images(labeled, unlabeled, pretraining_config, seed)
    strategy = distribution.create_strategy()
    encoder, stages = pretraining.pretrain(images, model_config, pretraining_config, seed,
                                           os.path.join(model.uri, LOGS_DIR), strategy)
    if not export.is_chief(strategy):
      return
    autoencoder.save_encoder(encoder, path_utils.serving_model_dir(model.uri))
    for number, stage in enumerate(stages, start=1):
      if stage["final_loss"] is not None:
        model.set_float_custom_property(pretraining.STAGE_LOSS_PROPERTY.format(number),
                                        stage["final_loss"])
    model.set_int_custom_property("pretraining_images", len(images))
    with tf.io.gfile.GFile(os.path.join(model.uri, HISTORY_FILE), "w") as f:
      json.dump({"images": len(images), "stages": stages}, f, indent=1)
