"""TFDSExampleGen: a TFX ExampleGen for any TensorFlow Datasets builder (TFX has none)."""
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts

from components.tfds_example_gen import executor
from components.tfds_example_gen import spec
from sources import extra_labels as extra_labels_lib


class TFDSExampleGen(base_beam_component.BaseBeamComponent):
  """Writes the `labeled`, `unlabeled` and `test` splits of a TFDS data set as tf.Examples."""

  SPEC_CLASS = spec.TFDSExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self, dataset: str, label_budget: str, seed: int = 0,
               tfds_data_dir: Optional[str] = None, manual_dir: Optional[str] = None,
               train_split: str = "train", test_split: str = "test",
               classes: Sequence[str] = (), skip_bad_images: bool = False,
               source_fingerprint: str = "", extra_labels: Optional[str] = None):
    super().__init__(spec=spec.TFDSExampleGenSpec(
        dataset=dataset, tfds_data_dir=tfds_data_dir, manual_dir=manual_dir,
        label_budget=label_budget, seed=seed, classes=",".join(classes),
        train_split=train_split, test_split=test_split, skip_bad_images=int(skip_bad_images),
        source_fingerprint=source_fingerprint, extra_labels=extra_labels,
        extra_labels_sha256=extra_labels_lib.digest(extra_labels) if extra_labels else None,
        examples=types.Channel(type=standard_artifacts.Examples)))
