"""Pipeline definition (create_pipeline), configuration, runners and the command line."""
import os

# Read by TensorFlow when it is imported, so set before: the command line imports this package
# first; benchmarks and tests call set_tensorflow_environment before their TensorFlow imports.
TENSORFLOW_ENVIRONMENT = {
    "TF_USE_LEGACY_KERAS": "1",  # tf-keras, not Keras 3: Keras 3 breaks multi-worker fit
    # oneDNN's kernels. TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI/BF16 or
    # AMX; on one without (AVX2 only) they made a CNN epoch 1.7x faster (docs/BENCHMARKS.md).
    # Results differ from TensorFlow's own kernels only by floating-point rounding.
    "TF_ENABLE_ONEDNN_OPTS": "1",
}


def set_tensorflow_environment() -> None:
  """Sets TENSORFLOW_ENVIRONMENT where the environment has no value of its own (idempotent)."""
  for name, value in TENSORFLOW_ENVIRONMENT.items():
    os.environ.setdefault(name, value)


set_tensorflow_environment()
