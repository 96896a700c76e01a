"""TFX's Pusher executor, made crash-safe: a version appears whole or not at all.

TFX copies the model straight into `<serving dir>/<version>/` (saved_model.pb last), so a run
killed mid-copy leaves a version directory without its model, which a server or a reader that
lists versions would take for a model; and the rerun's "already exists" check skips it. Here the
copy goes to a hidden `.partial-<version>` directory (servers load numeric names only) and is
renamed into place once complete; leftovers of killed pushes are removed by the next push. A
failed write (a full disk) removes its partial copy and stops the run with one line.
"""
import errno
import os
import time
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import io_utils
from tfx.utils import proto_utils

PARTIAL_PREFIX = ".partial-"
# Fault injection for tests, once the copy has started: the push fails as on a full disk, or
# waits this many seconds (time to kill the process mid-push).
FAIL_ENV = "FEWLABELS_FAIL_PUSH"
PAUSE_ENV = "FEWLABELS_PAUSE_PUSH"


class PushError(RuntimeError):
  """A push that could not be written; one line naming where, nothing left half-written."""


def _remove_partials(base_directory: str) -> None:
  for name in fileio.listdir(base_directory):
    if name.startswith(PARTIAL_PREFIX):
      logging.warning("removing %s, left by a push that did not finish", name)
      fileio.rmtree(os.path.join(base_directory, name.rstrip("/")))


def _copy_model(model_path: str, destination: str) -> None:
  # saved_model.pb last, as TFX does: inside the hidden copy it no longer matters to a server,
  # but a reader of the partial copy still never sees a model without its variables.
  io_utils.copy_dir(model_path, destination, deny_regex_patterns=[r"saved_model\.pb"])
  if os.environ.get(FAIL_ENV):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), destination)
  if os.environ.get(PAUSE_ENV):
    time.sleep(float(os.environ[PAUSE_ENV]))
  saved_model = os.path.join(model_path, "saved_model.pb")
  if fileio.exists(saved_model):
    io_utils.copy_file(saved_model, os.path.join(destination, "saved_model.pb"))


class Executor(tfx_pusher.Executor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    self._log_startup(input_dict, output_dict, exec_properties)
    model_push = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.PUSHED_MODEL_KEY])
    if not self.CheckBlessing(input_dict):
      self._MarkNotPushed(model_push)
      return
    model_path = self.GetModelPath(input_dict)
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                              destination)
    base = destination.filesystem.base_directory
    fileio.makedirs(base)
    _remove_partials(base)
    version = str(int(time.time()))
    while fileio.exists(os.path.join(base, version)):  # two pushes within a second
      version = str(int(version) + 1)
    serving_path = os.path.join(base, version)
    partial = os.path.join(base, PARTIAL_PREFIX + version)
    try:
      _copy_model(model_path, partial)
      fileio.rename(partial, serving_path)
    except OSError as e:
      if fileio.exists(partial):
        fileio.rmtree(partial)
      raise PushError(f"pushing the model to {base} failed ({e.strerror or e}); no version was "
                      "written, the serving directory is as before") from None
    logging.info("Model written to serving path %s.", serving_path)
    io_utils.copy_dir(model_path, model_push.uri)  # TFX's archive copy
    self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
