"""The distribution strategy every training step uses: MultiWorkerMirroredStrategy.

Without TF_CONFIG it is one local worker; with TF_CONFIG (set by Vertex AI, Kubeflow or
`fewlabels workers`) the workers train together. RING collectives on CPU, NCCL on GPUs.
"""
import faulthandler
import json
import logging
import os
import sys

import tensorflow as tf

# Seconds a worker waits for all the others in TF_CONFIG before it gives up; TensorFlow itself
# would wait forever. Generous by default: cluster workers may first pull an image.
JOIN_TIMEOUT_ENV = "FEWLABELS_JOIN_TIMEOUT_SECONDS"
DEFAULT_JOIN_TIMEOUT_SECONDS = 1800.0


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


def join_timeout_seconds() -> float:
  text = os.environ.get(JOIN_TIMEOUT_ENV, "")
  if not text:
    return DEFAULT_JOIN_TIMEOUT_SECONDS
  try:
    seconds = float(text)
  except ValueError:
    seconds = 0.0
  if not seconds > 0:
    raise DistributionError(f"{JOIN_TIMEOUT_ENV}={text!r}: expected a positive number of seconds")
  return seconds


def create_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
  """The strategy; with TF_CONFIG this waits until every worker has joined, at most
  join_timeout_seconds(); then the process prints where it waited and exits with code 1."""
  cluster = None
  if os.environ.get("TF_CONFIG"):
    config = check_tf_config(os.environ["TF_CONFIG"])
    cluster = [address for job in config["cluster"].values() for address in job]
    seconds = join_timeout_seconds()
    logging.info("waiting up to %.0f s (%s) for the cluster %s", seconds, JOIN_TIMEOUT_ENV, cluster)
    # TensorFlow waits inside C++ holding the GIL, so no Python timer could fire: faulthandler's
    # watchdog is a C thread.
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.stderr)
  gpus = tf.config.list_physical_devices("GPU")
  implementation = (tf.distribute.experimental.CommunicationImplementation.NCCL if gpus
                    else tf.distribute.experimental.CommunicationImplementation.RING)
  try:
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=implementation))
  finally:
    if cluster is not None:
      faulthandler.cancel_dump_traceback_later()


def check_global_batch(batch_size: int, strategy: tf.distribute.Strategy) -> int:
  """The per-replica batch; the global batch must split evenly over the replicas."""
  replicas = strategy.num_replicas_in_sync
  if batch_size % replicas:
    raise DistributionError(
        f"global batch {batch_size} does not split over {replicas} replicas: use a multiple "
        f"of {replicas}")
  return batch_size // replicas
