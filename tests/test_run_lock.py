"""One run per output dir: a second run stops at once naming the first; a lock left by a
killed run is taken over."""
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from models.config import ConfigError
from pipeline import run_lock

_HOLDER = ("import sys, time\n"
           "from pipeline import run_lock\n"
           "with run_lock.hold(sys.argv[1]):\n"
           "  print('held', flush=True)\n"
           "  time.sleep(120)\n")


def _holder(output):
  process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(output)],
                             stdout=subprocess.PIPE, text=True)
  assert process.stdout.readline().strip() == "held"
  return process


def test_a_second_run_on_a_dir_in_use_stops_naming_the_first(tmp_path):
  holder = _holder(tmp_path)
  try:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"is in use by process {holder.pid} on "):
      with run_lock.hold(str(tmp_path)):
        pass
    assert time.monotonic() - started < 2  # at once, no waiting
  finally:
    holder.kill()
    holder.wait()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path, caplog):
  holder = _holder(tmp_path)
  os.kill(holder.pid, signal.SIGKILL)
  holder.wait()
  with caplog.at_level(logging.WARNING):
    with run_lock.hold(str(tmp_path)):
      text = (tmp_path / run_lock.LOCK_FILE).read_text()
      assert f"pid={os.getpid()}" in text
  assert f"taking over the lock left by a run that ended without releasing it (process " \
         f"{holder.pid}" in caplog.text
  # Released cleanly: the next run takes it without a warning.
  caplog.clear()
  with caplog.at_level(logging.WARNING):
    with run_lock.hold(str(tmp_path)):
      pass
  assert "taking over" not in caplog.text
