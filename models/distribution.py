"""The distribution strategy every training step uses: MultiWorkerMirroredStrategy.

Without TF_CONFIG it is one local worker; with TF_CONFIG (set by Vertex AI, Kubeflow or
`fewlabels workers`) the workers train together. RING collectives on CPU, NCCL on GPUs.
"""
import json
import os

import tensorflow as tf


class DistributionError(ValueError):
  """A cluster or batch setting that cannot work; the message is one line naming it."""


def check_tf_config(text: str) -> dict:
  """The parsed TF_CONFIG, or a DistributionError saying what is wrong with it."""
  try:
    config = json.loads(text)
  except json.JSONDecodeError as e:
    raise DistributionError(f"TF_CONFIG {text!r} is not JSON ({e.msg})") from None
  cluster, task = config.get("cluster"), config.get("task")
  if not isinstance(cluster, dict) or not cluster:
    raise DistributionError(f"TF_CONFIG {text!r} has no 'cluster' of worker addresses")
  if not isinstance(task, dict) or task.get("type") not in cluster:
    raise DistributionError(f"TF_CONFIG {text!r}: task type must be one of {sorted(cluster)}")
  index = task.get("index")
  if not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
    raise DistributionError(
        f"TF_CONFIG {text!r}: task index {index!r} is not in the {task['type']} list")
  return config


def create_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
  if os.environ.get("TF_CONFIG"):
    check_tf_config(os.environ["TF_CONFIG"])
  gpus = tf.config.list_physical_devices("GPU")
  implementation = (tf.distribute.experimental.CommunicationImplementation.NCCL if gpus
                    else tf.distribute.experimental.CommunicationImplementation.RING)
  return tf.distribute.MultiWorkerMirroredStrategy(
      communication_options=tf.distribute.experimental.CommunicationOptions(
          implementation=implementation))


def check_global_batch(batch_size: int, strategy: tf.distribute.Strategy) -> int:
  """The per-replica batch; the global batch must split evenly over the replicas."""
  replicas = strategy.num_replicas_in_sync
  if batch_size % replicas:
    raise DistributionError(
        f"global batch {batch_size} does not split over {replicas} replicas: use a multiple "
        f"of {replicas}")
  return batch_size // replicas
