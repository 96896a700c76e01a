"""What a person sees while a run works: one line per component as it finishes, the progress of
long steps with the time left, and the summary. Everything else (TensorFlow's C++ start-up,
Beam, TFX, warnings) goes to the run's log file, `OUTPUT/logs/<run id>.log`; on failure the
console names the failing component, shows the log's last lines and its path.

Quiet mode works at the file-descriptor level (fds 1 and 2 point at the log file), because
TensorFlow and Beam write from C++ and from threads that Python's `sys.stdout` never sees;
the console writes to a copy of the terminal's descriptor. `--verbose` leaves both as they are.
"""
import contextlib
import logging
import os
import re
import sys
import time
from typing import Callable, Iterator, List, Optional, TextIO

from absl import logging as absl_logging

from models import progress

LOG_DIR = "logs"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Progress lines when the console is not a terminal (CI, a pipe): at most one per this many
# seconds and stage; on a terminal the line is rewritten in place.
PROGRESS_EVERY_SECONDS = 20.0
# TFX's LocalDagRunner announces each component with these (absl) messages.
_RUNNING, _FINISHED = "Component %s is running.", "Component %s is finished."


class Console:
  """The lines a person reads. `describe(component_id)` gives a finished component's key figure
  (it reads ml-metadata)."""

  def __init__(self, stream: TextIO, describe: Callable[[str], str] = lambda _: ""):
    self.stream = stream
    self.describe = describe
    self.interactive = stream.isatty() if hasattr(stream, "isatty") else False
    self.component: Optional[str] = None  # the one running now
    self.failed_in: Optional[str] = None  # the component running when the run failed
    self.log_path = ""
    self._component_started = 0.0
    self._last_progress = {}
    self._open_line = False  # a progress line waiting to be rewritten (terminal only)

  def say(self, line: str = "") -> None:
    if self._open_line:
      self.stream.write("\n")
      self._open_line = False
    self.stream.write(line + "\n")
    self.stream.flush()

  def rename_log(self, run_id: str) -> None:
    """Names the log after the pipeline run, once TFX has chosen its id (the open file follows:
    the rename keeps its inode)."""
    path = log_path(os.path.dirname(os.path.dirname(self.log_path)), run_id)
    os.replace(self.log_path, path)
    self.log_path = path

  def component_started(self, component_id: str) -> None:
    self.component, self._component_started = component_id, time.monotonic()

  def component_finished(self, component_id: str) -> None:
    seconds = time.monotonic() - self._component_started
    try:
      figure = self.describe(component_id)
    except Exception as e:  # a figure is a courtesy: it never stops the run
      logging.warning("no figure for %s: %s", component_id, e)
      figure = ""
    self.say(f"  {component_id:<27} {seconds:5.0f} s  {figure}".rstrip())
    self.component = None

  def progress(self, message: str) -> None:
    stage = message.split(":", 1)[0]
    if self.interactive:
      self.stream.write("\r    " + message[:150].ljust(150))
      self.stream.flush()
      self._open_line = True
      return
    now = time.monotonic()
    if now - self._last_progress.get(stage, -PROGRESS_EVERY_SECONDS) >= PROGRESS_EVERY_SECONDS:
      self._last_progress[stage] = now
      self.say("    " + message)


class _ConsoleHandler(logging.Handler):
  """Turns TFX's component messages and the progress logger's records into console lines."""

  def __init__(self, console: Console):
    super().__init__(logging.INFO)
    self.console = console

  def emit(self, record: logging.LogRecord) -> None:
    try:
      if record.name == progress.LOGGER_NAME:
        self.console.progress(record.getMessage())
      elif record.msg == _RUNNING and record.args:
        self.console.component_started(str(record.args[0]))
      elif record.msg == _FINISHED and record.args:
        self.console.component_finished(str(record.args[0]))
    except Exception:  # never let the console break the run
      self.handleError(record)


def log_path(output_dir: str, name: str) -> str:
  return os.path.join(output_dir, LOG_DIR, re.sub(r"[^A-Za-z0-9_.-]", "-", name) + ".log")


def last_lines(path: str, count: int = 12) -> List[str]:
  """The log's last non-blank lines, for the console after a failure."""
  try:
    with open(path, encoding="utf-8", errors="replace") as f:
      lines = [line.rstrip() for line in f if line.strip()]
  except OSError:
    return []
  return lines[-count:]


def _writes_to_fd_1(stream) -> bool:
  try:
    return stream.fileno() == 1
  except (AttributeError, OSError, ValueError):
    return False


@contextlib.contextmanager
def session(output_dir: str, verbose: bool,
            describe: Callable[[str], str] = lambda _: "") -> Iterator[Console]:
  """Sends everything but the console's lines to a new log file under OUTPUT/logs/ for the
  block (or, verbose, leaves the streams alone and logs to both). Yields the Console; its
  `log_path` names the file."""
  os.makedirs(os.path.join(output_dir, LOG_DIR), exist_ok=True)
  path = log_path(output_dir, time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}")
  root = logging.getLogger()
  saved_handlers, saved_level = root.handlers[:], root.level
  log_file = open(path, "a", encoding="utf-8", buffering=1)
  file_handler = logging.StreamHandler(log_file)
  file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
  sys.stdout.flush()
  sys.stderr.flush()
  saved_fds = None
  if verbose:
    console = Console(sys.stdout, describe)
    root.handlers = saved_handlers + [file_handler]
  else:
    saved_fds = os.dup(1), os.dup(2)
    if _writes_to_fd_1(sys.stdout):
      terminal = os.fdopen(os.dup(saved_fds[0]), "w", buffering=1, encoding="utf-8",
                           errors="replace")
    else:  # sys.stdout was replaced (an embedding program, a test): the console is that stream
      terminal = sys.stdout
    console = Console(terminal, describe)
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)
    root.handlers = [file_handler, _ConsoleHandler(console)]
  root.setLevel(logging.INFO)
  # Through absl's flag, not only its logger's level: TensorFlow saves and restores the flag
  # around every model save, which would leave TFX's component messages at WARNING.
  absl_logging.set_verbosity(absl_logging.INFO)
  console.log_path = path
  try:
    yield console
  except BaseException:
    console.failed_in = console.component
    logging.exception("the run failed%s", f" in {console.failed_in}" if console.failed_in else "")
    raise
  finally:
    sys.stdout.flush()
    sys.stderr.flush()
    root.handlers, root.level = saved_handlers, saved_level
    if saved_fds is not None:
      console.stream.flush()
      os.dup2(saved_fds[0], 1)
      os.dup2(saved_fds[1], 2)
      for fd in saved_fds:
        os.close(fd)
      if console.stream is not sys.stdout:
        console.stream.close()
    log_file.close()
