"""The candidate's gain over the model it is compared with, with a 95% interval from the paired
test predictions: a TFMA metric for an Evaluator that has a baseline model.

Both models predict the same test images, so their errors are correlated; intervals of the two
accuracies taken apart would be far too wide. The paired bootstrap resamples test images and
recomputes the difference of accuracies. That difference depends only on how many images one
model gets right and the other wrong (`candidate_only`, `reference_only`) out of `examples`, so
the bootstrap is a multinomial draw over those counts: the metric's accumulator is three
integers, merges across Beam workers, and the interval is exactly the per-image resampling.
"""
import dataclasses
from typing import Dict, Iterable, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util
from tensorflow_model_analysis.utils import model_util

LEVEL = 0.95
RESAMPLES = 10_000
# The metric names as TFMA writes them; every one is "diff" (candidate against baseline), so
# its results carry TFMA's "_diff" suffix.
GAIN = "paired_gain"
LOW = "paired_gain_low"
HIGH = "paired_gain_high"
CANDIDATE_ONLY = "paired_candidate_only_right"
REFERENCE_ONLY = "paired_reference_only_right"
NAMES = (GAIN, LOW, HIGH, CANDIDATE_ONLY, REFERENCE_ONLY)
DIFF_SUFFIX = "_diff"
# Below this half-width the test split can tell a gain of 2 points from no gain at all.
RESOLVABLE_HALF_WIDTH = 0.02


@dataclasses.dataclass(frozen=True)
class Interval:
  gain: float  # candidate accuracy minus reference accuracy, a fraction
  low: float
  high: float
  examples: int

  @property
  def half_width(self) -> float:
    return (self.high - self.low) / 2

  def bounds(self) -> str:
    """e.g. '95% interval +1.2 to +5.0' (points)."""
    return f"{LEVEL:.0%} interval {self.low * 100:+.1f} to {self.high * 100:+.1f}"

  def text(self) -> str:
    """e.g. '+3.1 points (95% interval +1.2 to +5.0)'."""
    return f"{self.gain * 100:+.1f} points ({self.bounds()})"

  def too_small_note(self) -> Optional[str]:
    """What a user must be told when the test split is too small to resolve 2 points."""
    if self.half_width <= RESOLVABLE_HALF_WIDTH:
      return None
    return (f"the test split ({self.examples:,} images) is too small to tell a gain of 2 points "
            f"from noise: the interval is +-{self.half_width * 100:.1f} points")


def interval(examples: int, candidate_only: int, reference_only: int, level: float = LEVEL,
             resamples: int = RESAMPLES, seed: int = 0) -> Interval:
  """The paired bootstrap's percentile interval of the accuracy difference."""
  if examples <= 0 or candidate_only < 0 or reference_only < 0 or (
      candidate_only + reference_only > examples):
    raise ValueError(f"paired counts {candidate_only} and {reference_only} of {examples} "
                     "examples: expected non-negative counts that add up to at most the examples")
  shares = np.array([candidate_only, reference_only, examples - candidate_only - reference_only],
                    dtype=np.float64) / examples
  draws = np.random.default_rng(seed).multinomial(examples, shares, size=resamples)
  gains = (draws[:, 0] - draws[:, 1]) / examples
  low, high = np.quantile(gains, [(1 - level) / 2, (1 + level) / 2])
  return Interval(gain=(candidate_only - reference_only) / examples, low=float(low),
                  high=float(high), examples=int(examples))


def from_metrics(metrics: Dict[str, float]) -> Optional[Interval]:
  """The interval from one slice's metrics as `read_evaluation` reads them (None: not there)."""
  names = {name: metrics.get(name + DIFF_SUFFIX) for name in NAMES}
  if any(value is None for value in names.values()):
    return None
  count = metrics.get("example_count")
  return Interval(gain=names[GAIN], low=names[LOW], high=names[HIGH],
                  examples=int(count) if count else 0)


@dataclasses.dataclass
class _Counts:
  examples: int = 0
  candidate_only: int = 0
  reference_only: int = 0


class PairedAccuracyGain(metric_types.Metric):
  """The gain, its interval and the two discordant counts, for each non-baseline model."""

  def __init__(self, name: str = GAIN):
    super().__init__(self._computations, name=name)

  def _computations(self, name, eval_config, model_names: Iterable[str],
                    output_names: Optional[Iterable[str]] = ("",), sub_keys=None):
    del name, sub_keys  # one set of fixed names; no per-class sub-keys
    baseline_spec = model_util.get_baseline_model_spec(eval_config)
    if baseline_spec is None:
      return []
    computations = []
    for model_name in model_names:
      if model_name == baseline_spec.name:
        continue
      for output_name in output_names or ("",):
        keys = {n: metric_types.MetricKey(name=n, model_name=model_name,
                                          output_name=output_name, is_diff=True)
                for n in NAMES}
        computations.append(metric_types.MetricComputation(
            keys=list(keys.values()), preprocessors=None,
            combiner=_Combiner(keys, eval_config, baseline_spec.name, model_name,
                               output_name)))
    return computations


class _Combiner(beam.CombineFn):

  def __init__(self, keys, eval_config, baseline_name, model_name, output_name):
    self._keys = keys
    self._eval_config = eval_config
    self._models = (model_name, baseline_name)
    self._output_name = output_name

  def create_accumulator(self) -> _Counts:
    return _Counts()

  def _right(self, element, model_name) -> bool:
    """Whether the model's top class is the label (unweighted, as the Evaluator's accuracy)."""
    label, prediction, _ = next(metric_util.to_label_prediction_example_weight(
        inputs=element, eval_config=self._eval_config, model_name=model_name,
        output_name=self._output_name, flatten=False))
    return int(np.argmax(prediction)) == int(np.asarray(label).reshape(-1)[0])

  def add_input(self, counts: _Counts, element) -> _Counts:
    candidate, reference = (self._right(element, name) for name in self._models)
    counts.examples += 1
    counts.candidate_only += int(candidate and not reference)
    counts.reference_only += int(reference and not candidate)
    return counts

  def merge_accumulators(self, accumulators: Iterable[_Counts]) -> _Counts:
    merged = _Counts()
    for counts in accumulators:
      merged.examples += counts.examples
      merged.candidate_only += counts.candidate_only
      merged.reference_only += counts.reference_only
    return merged

  def extract_output(self, counts: _Counts) -> Dict[metric_types.MetricKey, float]:
    if not counts.examples:
      return {}
    result = interval(counts.examples, counts.candidate_only, counts.reference_only)
    return {self._keys[GAIN]: result.gain, self._keys[LOW]: result.low,
            self._keys[HIGH]: result.high,
            self._keys[CANDIDATE_ONLY]: float(counts.candidate_only),
            self._keys[REFERENCE_ONLY]: float(counts.reference_only)}


metric_types.register_metric(PairedAccuracyGain)
