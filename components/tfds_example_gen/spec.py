"""Names shared by TFDSExampleGen and the components that read its output (the split names
are sources/splits.py's)."""
from tfx.types import component_spec
from tfx.types import standard_artifacts

DATASET_KEY = "dataset"
TFDS_DATA_DIR_KEY = "tfds_data_dir"
MANUAL_DIR_KEY = "manual_dir"
CLASSES_KEY = "classes"  # comma-separated class names to keep; empty keeps all
LABEL_BUDGET_KEY = "label_budget"
SEED_KEY = "seed"
TRAIN_SPLIT_KEY = "train_split"
TEST_SPLIT_KEY = "test_split"
SKIP_BAD_IMAGES_KEY = "skip_bad_images"  # 1: an image folder's unreadable pictures are skipped
# A hash of the local source files (names, sizes, times): part of TFX's cache key, so that a
# changed folder or file is read again instead of reusing the examples of the old one.
SOURCE_FINGERPRINT_KEY = "source_fingerprint"
# labels.csv of `--extra-labels`, and its SHA-256 (the cache key: another file, another entry).
EXTRA_LABELS_KEY = "extra_labels"
EXTRA_LABELS_SHA256_KEY = "extra_labels_sha256"
EXAMPLES_KEY = "examples"

# Custom properties of the output artifact, read back by reports and tests.
SPLIT_COUNTS_PROPERTY = "split_counts"
LABELED_PER_CLASS_PROPERTY = "labeled_per_class"
BUDGET_NOTE_PROPERTY = "budget_note"  # one line when the budget could not be class-balanced
SKIPPED_IMAGES_PROPERTY = "skipped_images"  # JSON list of the files skipped as unreadable
CLASS_NAMES_PROPERTY = "class_names"  # JSON list, in label order


class TFDSExampleGenSpec(component_spec.ComponentSpec):
  PARAMETERS = {
      DATASET_KEY: component_spec.ExecutionParameter(type=str),
      TFDS_DATA_DIR_KEY: component_spec.ExecutionParameter(type=str, optional=True),
      MANUAL_DIR_KEY: component_spec.ExecutionParameter(type=str, optional=True),
      CLASSES_KEY: component_spec.ExecutionParameter(type=str, optional=True),
      LABEL_BUDGET_KEY: component_spec.ExecutionParameter(type=str),
      SEED_KEY: component_spec.ExecutionParameter(type=int),
      TRAIN_SPLIT_KEY: component_spec.ExecutionParameter(type=str),
      TEST_SPLIT_KEY: component_spec.ExecutionParameter(type=str),
      SKIP_BAD_IMAGES_KEY: component_spec.ExecutionParameter(type=int, optional=True),
      SOURCE_FINGERPRINT_KEY: component_spec.ExecutionParameter(type=str, optional=True),
      EXTRA_LABELS_KEY: component_spec.ExecutionParameter(type=str, optional=True),
      EXTRA_LABELS_SHA256_KEY: component_spec.ExecutionParameter(type=str, optional=True),
  }
  INPUTS = {}
  OUTPUTS = {EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples)}
