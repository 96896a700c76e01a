"""What the project's TFDS builders share: uint8 images (28x28x1 unless a builder says
otherwise) with a class label, and config names that are parsed (any size) when they are not
one of the presets."""
import abc
from typing import Optional, Sequence, Tuple

import numpy as np
import tensorflow_datasets as tfds

from sources import features


class ImageClassBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base of the project's builders; subclasses give the class names and parse config names."""

  VERSION = tfds.core.Version("1.0.0")

  @classmethod
  def get_builder_config(cls, name, version=None):
    return super().get_builder_config(name, version) or cls.config_from_name(name)

  @classmethod
  def config_from_name(cls, name: str) -> Optional[tfds.core.BuilderConfig]:
    """A config for a name that is not a preset; raises ValueError saying the expected form."""
    del name
    return None

  @abc.abstractmethod
  def class_names(self) -> Sequence[str]:
    """The labels, in class-index order."""

  def image_shape(self) -> Tuple[int, int, int]:
    """The pictures' (height, width, channels)."""
    return features.DRAWING_SHAPE

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            # Raw uint8 storage: PNG encoding would dominate the preparation time.
            "image": tfds.features.Tensor(shape=self.image_shape(), dtype=np.uint8),
            "label": tfds.features.ClassLabel(names=list(self.class_names())),
        }),
        supervised_keys=("image", "label"),
        description=self.__doc__,
    )
