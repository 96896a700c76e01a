"""The gain over the supervised reference with its 95% paired interval: the bootstrap on the
discordant counts, the TFMA combiner that counts them, and the gate's interval rule."""
import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

from components.evaluation import paired_gain
from components.push_gate import executor as gate


def test_identical_predictions_give_the_interval_zero_to_zero():
  result = paired_gain.interval(examples=2000, candidate_only=0, reference_only=0)
  assert (result.gain, result.low, result.high) == (0.0, 0.0, 0.0)


def test_a_candidate_right_wherever_the_reference_is_wrong_has_an_interval_above_zero():
  # 2,000 images, the reference wrong on 60 (3 points), the candidate right on those and on
  # everything else the reference gets right.
  result = paired_gain.interval(examples=2000, candidate_only=60, reference_only=0)
  assert result.gain == pytest.approx(0.03)
  assert 0 < result.low < result.gain < result.high


def test_the_interval_widens_with_disagreement_at_the_same_gain():
  # The same +1 point, from 20 against 0 and from 220 against 200 discordant images.
  agreeing = paired_gain.interval(2000, 20, 0)
  disagreeing = paired_gain.interval(2000, 220, 200)
  assert agreeing.gain == pytest.approx(disagreeing.gain) == pytest.approx(0.01)
  assert agreeing.low > 0 > disagreeing.low
  assert disagreeing.half_width > 2 * agreeing.half_width
  # About 1.96 standard errors of the paired difference, sqrt(b + c - (b - c)^2 / n) / n.
  expected = 1.96 * np.sqrt(420 - 20 ** 2 / 2000) / 2000
  assert disagreeing.half_width == pytest.approx(expected, rel=0.05)


def test_a_test_split_too_small_for_two_points_is_said_so():
  small = paired_gain.interval(examples=200, candidate_only=12, reference_only=6)
  assert "too small to tell a gain of 2 points" in small.too_small_note()
  assert "200 images" in small.too_small_note()
  assert paired_gain.interval(20000, 300, 100).too_small_note() is None


@pytest.mark.parametrize("examples,candidate_only,reference_only", [(0, 0, 0), (10, 8, 5),
                                                                     (10, -1, 0)])
def test_impossible_counts_are_one_line_errors(examples, candidate_only, reference_only):
  with pytest.raises(ValueError, match=f"paired counts {candidate_only} and {reference_only} "
                                       f"of {examples} examples"):
    paired_gain.interval(examples, candidate_only, reference_only)


def _element(label, candidate_scores, baseline_scores):
  return metric_types.StandardMetricInputs(
      labels=np.array([label]),
      predictions={"candidate": np.array(candidate_scores), "baseline": np.array(baseline_scores)})


def test_the_tfma_metric_counts_the_images_one_model_alone_gets_right():
  config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(name="candidate"),
                                        tfma.ModelSpec(name="baseline", is_baseline=True)])
  [computation] = paired_gain.PairedAccuracyGain().computations(
      eval_config=config, model_names=["candidate", "baseline"])
  combiner = computation.combiner
  elements = [
      _element(0, [0.9, 0.1], [0.2, 0.8]),  # the candidate alone is right
      _element(1, [0.3, 0.7], [0.6, 0.4]),  # the candidate alone
      _element(1, [0.8, 0.2], [0.1, 0.9]),  # the reference alone
      _element(0, [0.7, 0.3], [0.6, 0.4]),  # both
      _element(0, [0.1, 0.9], [0.1, 0.9]),  # neither
  ]
  halves = [combiner.create_accumulator(), combiner.create_accumulator()]
  for i, element in enumerate(elements):
    halves[i % 2] = combiner.add_input(halves[i % 2], element)
  output = combiner.extract_output(combiner.merge_accumulators(halves))
  by_name = {key.name: value for key, value in output.items()}
  assert all(key.is_diff and key.model_name == "candidate" for key in output)
  assert by_name[paired_gain.CANDIDATE_ONLY] == 2 and by_name[paired_gain.REFERENCE_ONLY] == 1
  assert by_name[paired_gain.GAIN] == pytest.approx(1 / 5)
  expected = paired_gain.interval(5, 2, 1)
  assert (by_name[paired_gain.LOW], by_name[paired_gain.HIGH]) == (expected.low, expected.high)


def test_without_a_baseline_the_metric_computes_nothing():
  config = tfma.EvalConfig(model_specs=[tfma.ModelSpec()])
  assert paired_gain.PairedAccuracyGain().computations(eval_config=config,
                                                       model_names=[""]) == []


def _decide(interval, rule):
  return gate.decide(True, 0.81, 0.80, None, min_accuracy=0.5, max_regression=0.01,
                     max_loss_to_reference=0.0, push_reference_if_better=True,
                     gain_interval=interval, gain_rule=rule)


def test_the_interval_rule_pushes_the_candidate_only_when_the_low_end_clears_the_allowed_loss():
  noisy = paired_gain.interval(2000, 120, 100)  # +1 point, interval across 0
  clear = paired_gain.interval(2000, 20, 0)  # +1 point, interval above 0
  assert _decide(noisy, "estimate").chosen == gate.CANDIDATE  # today's rule: +1 is a gain
  refused = _decide(noisy, "interval")
  assert refused.chosen == gate.REFERENCE
  assert "the low end of the candidate's gain interval is" in refused.reason
  assert noisy.bounds() in refused.reason
  passed = _decide(clear, "interval")
  assert passed.chosen == gate.CANDIDATE and clear.bounds() in passed.reason
  assert _decide(None, "interval").chosen == ""  # no interval to read: nothing is pushed
