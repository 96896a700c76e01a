"""Shared fixtures: one TFDS data dir per session, real data by path, one set of pipeline runs."""
import dataclasses
import glob
import os
import pathlib
import tempfile

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import pytest  # noqa: E402

from pipeline import config as config_lib  # noqa: E402

# ../shared/data beside the repository, or wherever FEWLABELS_SHARED_DATA points.
SHARED_DATA = pathlib.Path(os.environ.get(
    "FEWLABELS_SHARED_DATA", pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"))
TINY_DATA = "doodles/tiny"
LABELS = "30%"
# The CNN, the product's default architecture, in the runs that test the pipeline (it traces
# and exports in half the LSTM's time); the LSTM where the research methods need it.
TINY_MODEL = config_lib.ModelConfig(architecture="cnn", settings=(("width", 8),))
TINY_METHOD = "supervised"
TINY_RESNET = config_lib.ModelConfig(architecture="resnet", settings=(("blocks", 1), ("width", 4)))
TINY_LSTM = config_lib.ModelConfig(architecture="lstm", settings=(("layers", 2), ("width", 16)))
MIN_ACCURACY = 0.25
# Self-training: window 300, min_pool 0 (the tiny pool is 700), 2 rounds; consistency: 2 epochs
# of 4 steps (the 2 passes over the tiny pool it trained before its budget was in steps).
SELF_TRAINING_SETTINGS = (("max_rounds", 2), ("min_pool", 0), ("window", 300))
CONSISTENCY_SETTINGS = (("steps", 8), ("steps_per_epoch", 4))
TINY_METHOD_SETTINGS = ()
# `make test` runs `pytest -n auto --dist loadgroup`: each fixture that runs pipelines must be
# made once, so every test that uses one of the session fixtures below goes to that fixture's
# xdist worker, and every other test to its file's (module fixtures are made once too).
SHARED_RUNS = ("pair_runs", "method_runs", "runs")
# The groups that take longest (`make test --durations`, 2 cores), handed out first: a long one
# started last keeps one worker busy while the other idles. `make test` passes
# --no-loadscope-reorder so that xdist keeps this order instead of ordering groups by how many
# tests they hold. A stale list costs only time.
LONGEST_FIRST = ("pair_runs", "method_runs", "tests/test_demo.py", "tests/test_sweep.py",
                 "runs", "tests/test_label_next_pipeline.py", "tests/test_interrupted_run.py",
                 "tests/test_reference_gate.py", "tests/test_image_folder_pipeline.py")


def _group(item) -> str:
  return next((name for name in SHARED_RUNS if name in item.fixturenames),
              item.nodeid.split("::")[0])


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
  rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
  items.sort(key=lambda item: rank.get(_group(item), len(rank)))  # stable: file order after
  for item in items:
    item.add_marker(pytest.mark.xdist_group(_group(item)))


def with_method(config: config_lib.PipelineConfig, method: str, **changes):
  """`config` training `method`, with the tiny settings of that method's kind; without the
  supervised reference unless asked (test_reference_gate and test_sweep test that branch; in the
  method tests it would only add minutes)."""
  from models import methods
  settings_class = methods.get(method).settings
  names = {f.name for f in dataclasses.fields(settings_class)}
  settings = tuple(kv for kv in SELF_TRAINING_SETTINGS + CONSISTENCY_SETTINGS if kv[0] in names)
  changes.setdefault("reference", config_lib.NO_REFERENCE)
  return dataclasses.replace(config, method=method, method_settings=settings, **changes)


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


@pytest.fixture(scope="session", autouse=True)
def _tf_keras_not_autographed():
  """As in every training process (the fit loop installs it), also for the tests that call
  Keras's own fit: tf-keras's training loop is not rewritten by autograph on each first trace."""
  from models import autograph_speedup
  autograph_speedup.skip_autograph_for_tf_keras()


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory, tfds_dir) -> config_lib.PipelineConfig:
  return config_lib.PipelineConfig(
      name="fewlabels-test",
      output_dir=str(tmp_path_factory.mktemp("pipeline")),
      method=TINY_METHOD,
      data=config_lib.DataConfig(dataset=TINY_DATA, tfds_data_dir=tfds_dir, label_budget=LABELS),
      model=TINY_MODEL,
      training=config_lib.TrainingConfig(epochs=20, early_stopping_patience=3),
      evaluation=config_lib.EvaluationConfig(min_accuracy=MIN_ACCURACY),
      # Small enough for seconds per stage and round; min_pool 0: the tiny pool is 700.
      pretraining=config_lib.PretrainingConfig(steps_per_stage=16, steps_per_epoch=8,
                                                    batch_size=128),
      # Settings of the methods that have them (fields a method lacks are dropped per method).
      method_settings=TINY_METHOD_SETTINGS)


@pytest.fixture(scope="session")
def runs(tiny_config):
  """Three pipeline runs in one output dir (see test_pipeline_local.py)."""
  from pipeline import local_runner
  before = tfx_copies()
  good = local_runner.run(tiny_config)
  same = local_runner.run(tiny_config)
  crippled = local_runner.run(dataclasses.replace(
      tiny_config, training=dataclasses.replace(tiny_config.training, epochs=0)))
  return {"good": good, "same": same, "crippled": crippled,
          "tfx_copies_left": sorted(tfx_copies() - before)}


def tfx_copies() -> set:
  """The copies of TFX that its Beam executors build in the temp dir when no code ships."""
  return set(glob.glob(os.path.join(tempfile.gettempdir(), "*", "build", "tfx", "setup.py")))


def registry_pairs():
  """Method x architecture pairs beyond those the other fixtures run (the research methods on the
  LSTM in method_runs, the tiny config's own in runs), the CNN's consistency training last (the
  two-worker test trains from its settings). The methods made of two others (an encoder, then
  consistency or self-training) run once each, on the architecture whose parts the other runs
  do not cover already (pretrained_consistency on the CNN, self_training_layerwise on the LSTM
  in method_runs): every part runs on every architecture. The residual network's pairs are here
  only where they are refused (it has no pretext): it trains by the CNN's pipeline path, and
  tests/test_registry.py trains it by every method that can, in memory."""
  from models import architectures, methods
  def run_elsewhere(architecture, method):
    return ((architecture == "lstm" and method in methods.RESEARCH + ("pretrained_consistency",))
            or (architecture, method) in ((TINY_MODEL.architecture, TINY_METHOD),
                                          ("cnn", "self_training_layerwise"))
            or (architecture == "resnet" and not methods.get(method).needs_encoder))
  last = ("cnn", "consistency")
  pairs = [(a, m) for a in architectures.names() for m in methods.names()
           if not run_elsewhere(a, m) and (a, m) != last]
  return pairs + [last]


@pytest.fixture(scope="session")
def pairs_output(tmp_path_factory) -> str:
  return str(tmp_path_factory.mktemp("pairs"))


@pytest.fixture(scope="session")
def pair_runs(tiny_config, pairs_output):
  """{(architecture, method): RunSummary or the ConfigError that refused it}, in one output dir
  (the data stage runs once); the last run is the CNN's consistency training."""
  from models.config import ConfigError
  from pipeline import local_runner
  output = pairs_output
  results = {}
  for architecture, method in registry_pairs():
    # One LSTM layer: the pairs show that each method trains on each architecture; how the
    # LSTM's stages build on each other is method_runs' part.
    model = {"cnn": TINY_MODEL, "resnet": TINY_RESNET}.get(architecture) or config_lib.ModelConfig(
        architecture=architecture, settings=(("layers", 1), ("width", 16)))
    base = dataclasses.replace(
        tiny_config, output_dir=output, push=False, model=model,
        training=dataclasses.replace(tiny_config.training, epochs=2, min_epochs=0),
        pretraining=dataclasses.replace(tiny_config.pretraining, steps_per_stage=8))
    try:
      config = with_method(base, method)
    except ConfigError as e:
      results[(architecture, method)] = e
      continue
    results[(architecture, method)] = local_runner.run(config)
  return results


@pytest.fixture(scope="session")
def methods_output(tmp_path_factory) -> str:
  return str(tmp_path_factory.mktemp("methods"))


@pytest.fixture(scope="session")
def method_runs(tiny_config, methods_output):
  """The research method's three methods beyond supervised, on the LSTM, one after another in
  `methods_output` (the data stage is cached after the first), as {method: RunSummary}; the
  last run pre-trains."""
  from pipeline import local_runner
  # 4 epochs: these tests read what each method did, not how well (the runs fixture does).
  training = dataclasses.replace(tiny_config.training, epochs=4, min_epochs=0)
  return {method: local_runner.run(with_method(tiny_config, method, output_dir=methods_output,
                                               model=TINY_LSTM, training=training))
          for method in ("layerwise", "self_training", "self_training_layerwise")}
