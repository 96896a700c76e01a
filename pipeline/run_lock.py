"""One run per output dir: `run` and `sweep` hold an exclusive lock on OUTPUT/.fewlabels.lock.

The lock is the kernel's (flock), so it dies with its process: a lock file left by a killed
run (kill -9) is free again, and the next run takes it over and says so. The file records who
holds it, for the error a second run prints.
"""
import contextlib
import fcntl
import logging
import os
import socket
import sys
import time
from typing import Iterator

from models.config import ConfigError

LOCK_FILE = ".fewlabels.lock"


def _describe(text: str) -> str:
  fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
  return (f"process {fields.get('pid', '?')} on {fields.get('host', '?')} since "
          f"{fields.get('started', '?')}: {fields.get('command', '?')}")


@contextlib.contextmanager
def hold(output_dir: str) -> Iterator[None]:
  """Holds the output dir's lock for the block; a ConfigError naming the holder when another
  process has it."""
  os.makedirs(output_dir, exist_ok=True)
  path = os.path.join(output_dir, LOCK_FILE)
  handle = open(path, "a+", encoding="utf-8")
  try:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      handle.seek(0)
      raise ConfigError(f"output dir {output_dir!r} is in use by {_describe(handle.read())}; "
                        "wait for it or choose another --output") from None
    handle.seek(0)
    previous = handle.read()
    if previous.strip():
      logging.warning("output dir %s: taking over the lock left by a run that ended without "
                      "releasing it (%s)", output_dir, _describe(previous))
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid={os.getpid()}\nhost={socket.gethostname()}\n"
                 f"started={time.strftime('%Y-%m-%d %H:%M:%S')}\n"
                 f"command={' '.join(sys.argv)}\n")
    handle.flush()
    try:
      yield
    finally:
      handle.seek(0)
      handle.truncate()  # an empty file: released cleanly
      fcntl.flock(handle, fcntl.LOCK_UN)
  finally:
    handle.close()
