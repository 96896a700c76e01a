"""The versions a push left under a serving directory, readable without importing TFX (whose
import doubles the start-up of `fewlabels predict`: 40 s against 19 s on 2 busy cores)."""
from typing import List


def versions(base_directory: str) -> List[str]:
  """The complete versions under a serving directory, oldest first (what a server loads): the
  numeric names only, never a push's hidden partial copy."""
  import tensorflow as tf  # gfile reads local, GCS and HDFS paths, as TFX's fileio does
  if not tf.io.gfile.exists(base_directory):
    return []
  return sorted((name.rstrip("/") for name in tf.io.gfile.listdir(base_directory)
                 if name.rstrip("/").isdigit()), key=int)
