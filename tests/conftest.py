"""Shared fixtures: one TFDS data dir per session, real data by path, one set of pipeline runs."""
import os
import dataclasses
import pathlib

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before anything imports TensorFlow

import pytest  # noqa: E402

from pipeline import config as config_lib  # noqa: E402

# ../shared/data beside the repository, or wherever FEWLABELS_SHARED_DATA points.
SHARED_DATA = pathlib.Path(os.environ.get(
    "FEWLABELS_SHARED_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"))
TINY_DATA = "doodles/tiny"
LABELS = "30%"
MIN_ACCURACY = 0.25


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory) -> str:
  """A TFDS data dir for the session: the doodles are generated into it once."""
  return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def quickdraw_dir() -> pathlib.Path:
  path = SHARED_DATA / "quickdraw"
  if not path.is_dir():
    pytest.skip(f"real Quick, Draw! files not found at {path}")
  return path


@pytest.fixture(scope="session", autouse=True)
def _plain_argv():
  """TFX's Beam executors parse sys.argv as absl flags: pytest's own -v -x would be misread."""
  import sys
  saved, sys.argv = sys.argv, sys.argv[:1]
  yield
  sys.argv = saved


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory, tfds_dir) -> config_lib.PipelineConfig:
  return config_lib.PipelineConfig(
      name="fewlabels-test",
      output_dir=str(tmp_path_factory.mktemp("pipeline")),
      method=config_lib.SUPERVISED,
      data=config_lib.DataConfig(dataset=TINY_DATA, tfds_data_dir=tfds_dir, label_budget=LABELS),
      model=config_lib.ModelConfig(lstm_width=16, lstm_layers=2),
      training=config_lib.TrainingConfig(epochs=20, early_stopping_patience=3),
      evaluation=config_lib.EvaluationConfig(min_accuracy=MIN_ACCURACY),
      # Small enough for seconds per stage and round; min_pool 0: the tiny pool is 700.
      pretraining=config_lib.PretrainingConfig(epochs_per_stage=2, batch_size=128),
      self_training=config_lib.SelfTrainingConfig(window=300, min_pool=0, max_rounds=2))


@pytest.fixture(scope="session")
def runs(tiny_config):
  """Three pipeline runs in one output dir (see test_pipeline_local.py)."""
  from pipeline import local_runner
  good = local_runner.run(tiny_config)
  same = local_runner.run(tiny_config)
  crippled = local_runner.run(dataclasses.replace(
      tiny_config, training=dataclasses.replace(tiny_config.training, epochs=0)))
  return {"good": good, "same": same, "crippled": crippled}


@pytest.fixture(scope="session")
def methods_output(tmp_path_factory) -> str:
  return str(tmp_path_factory.mktemp("methods"))


@pytest.fixture(scope="session")
def method_runs(tiny_config, methods_output):
  """The three methods beyond supervised, one after another in `methods_output` (the data stage
  is cached after the first), as {method: RunSummary}; the last run pre-trains."""
  from pipeline import local_runner
  return {method: local_runner.run(dataclasses.replace(tiny_config, output_dir=methods_output,
                                                       method=method))
          for method in (config_lib.LAYERWISE, config_lib.SELF_TRAINING,
                         config_lib.SELF_TRAINING_LAYERWISE)}
