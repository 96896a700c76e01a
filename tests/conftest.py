"""Shared fixtures: one TFDS data dir per session, real data by path, one set of pipeline runs."""
import os
import pathlib

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # before anything imports TensorFlow

import pytest  # noqa: E402

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
TINY_DATA = "doodles/tiny"


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
