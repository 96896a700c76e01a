"""Progress of long steps (epochs, pre-training stages, self-training rounds, sweep cells): what
step, how far, how long left.

Logged through the logger `fewlabels.progress`: the console shows it when everything else goes
to the run's log file (pipeline/console.py). No TensorFlow here, so that the pipeline's side
can use it too.
"""
import logging
import time

LOGGER_NAME = "fewlabels.progress"
log = logging.getLogger(LOGGER_NAME)


class Tracker:
  """Times `total` steps of one stage and logs each finished one with the time left."""

  def __init__(self, stage: str, total: int, unit: str = "step"):
    self.stage, self.total, self.unit = stage, total, unit
    self.started = time.monotonic()

  def restart(self) -> None:
    self.started = time.monotonic()

  def done(self, number: int, detail: str = "") -> None:
    """Step `number` (1-based) finished."""
    elapsed = time.monotonic() - self.started
    left = elapsed / number * max(self.total - number, 0) if number else 0.0
    log.info("%s: %s %d/%d%s (%.0f s elapsed, at most %.0f s left)", self.stage, self.unit,
             number, self.total, f" {detail}" if detail else "", elapsed, left)
