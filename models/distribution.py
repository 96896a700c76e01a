"""The distribution strategy every training step uses: MultiWorkerMirroredStrategy.

Without TF_CONFIG it is one local worker; with TF_CONFIG (set by Vertex AI, Kubeflow or
`fewlabels workers`) the workers train together. RING collectives on CPU, NCCL on GPUs.
"""
import tensorflow as tf


def create_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
  gpus = tf.config.list_physical_devices("GPU")
  implementation = (tf.distribute.experimental.CommunicationImplementation.NCCL if gpus
                    else tf.distribute.experimental.CommunicationImplementation.RING)
  return tf.distribute.MultiWorkerMirroredStrategy(
      communication_options=tf.distribute.experimental.CommunicationOptions(
          implementation=implementation))
