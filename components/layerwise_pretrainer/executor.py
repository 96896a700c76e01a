"""Pre-training by a pretext on the transformed pool; writes the encoder as a Model."""
import dataclasses
import json
import os
from typing import Any, Dict, List, Optional

import tensorflow as tf
import tensorflow_transform as tft
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import name_utils
from tfx.utils import path_utils

from models import config as config_lib
from models import distribution
from models import export
from models import input_fn
from models import pretexts
from models import pretraining
from sources import splits

EXAMPLES_KEY = "examples"
TRANSFORM_GRAPH_KEY = "transform_graph"
MODEL_KEY = "model"
MODEL_CONFIG_KEY = "model_config"  # JSON of config.ModelConfig
PRETRAINING_CONFIG_KEY = "pretraining_config"  # JSON of config.PretrainingConfig
SEED_KEY = "seed"
CODE_VERSION_KEY = "code_version"  # only there so that a code change invalidates the cache
# JSON {"region", "job_args"} (VertexTrainingConfig.job_args): pre-train as a Vertex AI custom
# job with those worker pools; absent: in this task.
VERTEX_JOB_KEY = "vertex_job"
HISTORY_FILE = "pretraining.json"  # the pretext; per stage: losses and weight fingerprints
LOGS_DIR = "logs"


def _split_files(examples, split: str) -> List[str]:
  return [os.path.join(artifact_utils.get_split_uri([examples], split), "*")]


@dataclasses.dataclass
class PretrainingArgs:
  """What one pre-training job reads and writes; the same on every worker of a multi-worker run
  (the executor builds it from its artifacts, `fewlabels workers` from an earlier run's)."""
  labeled_files: List[str]
  unlabeled_files: List[str]
  transform_output: str
  model_dir: str  # the Model artifact's URI: encoder, logs and history go under it
  model_config: Dict[str, Any]
  pretraining_config: Dict[str, Any]
  seed: int


def run_pretraining(args: PretrainingArgs) -> Optional[Dict[str, Any]]:
  """Pre-trains under the distribution strategy from TF_CONFIG; on the chief writes the encoder
  and HISTORY_FILE and returns {"images", "stages"}, on the other workers returns None."""
  model_config = config_lib.ModelConfig(**args.model_config)
  pretraining_config = config_lib.PretrainingConfig(**args.pretraining_config)
  tf.keras.utils.set_random_seed(args.seed)
  # Before any other TensorFlow work: a multi-worker strategy must configure the runtime first.
  strategy = distribution.create_strategy()
  tft_output = tft.TFTransformOutput(args.transform_output)
  _, pool = input_fn.read(args.unlabeled_files, tft_output, model_config.image_shape)
  labeled = (input_fn.load(args.labeled_files, tft_output, model_config.image_shape)
             if pretraining_config.include_labeled_images
             else input_fn.Examples.empty(model_config.image_shape))
  images = pretraining.pretraining_images(labeled, pool, pretraining_config, args.seed)
  encoder, stages = pretraining.pretrain(images, model_config, pretraining_config, args.seed,
                                         os.path.join(args.model_dir, LOGS_DIR), strategy)
  if not export.is_chief(strategy):
    return None
  pretexts.save_encoder(encoder, path_utils.serving_model_dir(args.model_dir))
  history = {"images": len(images), "pretext": stages[0]["pretext"], "stages": stages}
  with tf.io.gfile.GFile(os.path.join(args.model_dir, HISTORY_FILE), "w") as f:
    json.dump(history, f, indent=1)
  return history


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    vertex_job = json.loads(exec_properties.get(VERTEX_JOB_KEY) or "null")
    if vertex_job:
      from tfx.extensions.google_cloud_ai_platform import runner
      # Every worker of the job runs this executor again, without the key: the same
      # MultiWorkerMirroredStrategy code as `fewlabels workers --job pretrainer`.
      runner.start_cloud_training(
          input_dict, output_dict,
          {key: value for key, value in exec_properties.items() if key != VERTEX_JOB_KEY},
          name_utils.get_full_name(Executor), dict(vertex_job["job_args"]), job_id=None,
          enable_vertex=True, vertex_region=vertex_job["region"])
      return
    examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
    model = artifact_utils.get_single_instance(output_dict[MODEL_KEY])
    history = run_pretraining(PretrainingArgs(
        labeled_files=_split_files(examples, splits.LABELED_SPLIT),
        unlabeled_files=_split_files(examples, splits.UNLABELED_SPLIT),
        transform_output=artifact_utils.get_single_uri(input_dict[TRANSFORM_GRAPH_KEY]),
        model_dir=model.uri,
        model_config=json.loads(exec_properties[MODEL_CONFIG_KEY]),
        pretraining_config=json.loads(exec_properties[PRETRAINING_CONFIG_KEY]),
        seed=int(exec_properties[SEED_KEY])))
    if history is None:
      return
    for number, stage in enumerate(history["stages"], start=1):
      if stage["final_loss"] is not None:
        model.set_float_custom_property(pretraining.STAGE_LOSS_PROPERTY.format(number),
                                        stage["final_loss"])
    model.set_int_custom_property(pretraining.IMAGES_PROPERTY, history["images"])
    model.set_string_custom_property(pretraining.PRETEXT_PROPERTY, history["pretext"])
