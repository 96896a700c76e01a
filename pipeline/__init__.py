"""Pipeline definition (create_pipeline), configuration, runners and the command line."""
import os

# tf-keras, not Keras 3, in every process (Keras 3 breaks multi-worker fit). It must be set
# before TensorFlow is imported; the command line imports this package first.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
