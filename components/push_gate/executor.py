"""Combines the Evaluator's blessing with the comparison against the supervised reference.

The candidate is pushed when the Evaluator blessed it (minimum accuracy, no regression against
the last pushed model) and it is at most `max_loss_to_reference` below the reference on `test`:
by the gain measured there (`gain_rule` "estimate"), or by the low end of its 95% paired
interval ("interval": a gain the test split cannot tell from noise does not count).
When it fails only the reference test, the reference is pushed instead if it passes the same
gate itself and `push_reference_if_better` is on; otherwise nothing is. The decision and its
reason are recorded on the output blessing (ml-metadata), which the Pusher reads, and the
chosen model is the output model. Accuracies come from the Evaluators' TFMA results.
"""
import dataclasses
import os
from typing import Any, Dict, List, Optional

from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.evaluation import paired_gain
from components.evaluation import results

EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
REFERENCE_EVALUATION_KEY = "reference_evaluation"
MODEL_KEY = "model"
REFERENCE_MODEL_KEY = "reference_model"
CHOSEN_MODEL_KEY = "chosen_model"
DECISION_KEY = "decision"
MIN_ACCURACY_KEY = "min_accuracy"
MAX_REGRESSION_KEY = "max_regression"
MAX_LOSS_KEY = "max_loss_to_reference"
PUSH_REFERENCE_KEY = "push_reference_if_better"
GAIN_RULE_KEY = "gain_rule"
# On the decision (a ModelBlessing): what was chosen, why, and the figures it was chosen on.
CHOSEN_PROPERTY = "chosen"  # "candidate", "reference" or "" (nothing pushed)
REASON_PROPERTY = "reason"
CANDIDATE_ACCURACY_PROPERTY = "candidate_accuracy"
REFERENCE_ACCURACY_PROPERTY = "reference_accuracy"
GAIN_LOW_PROPERTY = "gain_low"  # the 95% interval of candidate minus reference accuracy
GAIN_HIGH_PROPERTY = "gain_high"
CANDIDATE, REFERENCE = "candidate", "reference"


@dataclasses.dataclass(frozen=True)
class Decision:
  chosen: str  # CANDIDATE, REFERENCE or "" (nothing)
  reason: str


def decide(candidate_blessed: bool, candidate: float, reference: float,
           last_pushed: Optional[float], min_accuracy: float, max_regression: float,
           max_loss_to_reference: float, push_reference_if_better: bool,
           gain_interval: Optional[paired_gain.Interval] = None,
           gain_rule: str = "estimate") -> Decision:
  """The push decision from the test accuracies (last_pushed: None when nothing was pushed) and,
  under the "interval" rule, the gain's paired interval."""
  interval = f" ({gain_interval.bounds()})" if gain_interval else ""
  if not candidate_blessed:
    return Decision("", "the candidate failed the gate (minimum accuracy or regression against "
                        "the last pushed model)")
  if gain_rule == "interval":
    if gain_interval is None:
      return Decision("", "the gain rule is 'interval' but the comparison with the reference "
                          "has no interval")
    loss, measured = -gain_interval.low, "the low end of the candidate's gain interval is"
  else:
    loss, measured = reference - candidate, "the candidate is"
  if loss <= max_loss_to_reference + 1e-9:
    gain = (candidate - reference) * 100  # not -loss: a tie must read +0.0
    return Decision(CANDIDATE, f"the candidate passed the gate, {gain:+.1f} points against the "
                               f"supervised reference{interval}")
  below = (f"{measured} {loss * 100:.1f} points below the supervised reference (allowed "
           f"{max_loss_to_reference * 100:.1f}){interval}")
  if not push_reference_if_better:
    return Decision("", f"{below}; pushing the reference instead is off")
  if reference < min_accuracy:
    return Decision("", f"{below}; the reference is below the minimum accuracy {min_accuracy}")
  if last_pushed is not None and reference < last_pushed - max_regression:
    return Decision("", f"{below}; the reference regresses against the last pushed model")
  return Decision(REFERENCE, f"{below}: the reference is pushed instead")


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    blessing = artifact_utils.get_single_instance(input_dict[BLESSING_KEY])
    own = results.read_evaluation(
        artifact_utils.get_single_uri(input_dict[EVALUATION_KEY]))
    compared = artifact_utils.get_single_uri(input_dict[REFERENCE_EVALUATION_KEY])
    compared_candidate = results.read_evaluation(compared)
    candidate, gain_interval = compared_candidate["accuracy"], compared_candidate["gain_interval"]
    reference = results.read_evaluation(compared, baseline=True)["accuracy"]
    decision = decide(
        bool(blessing.get_int_custom_property("blessed")), candidate, reference,
        own["baseline_accuracy"], exec_properties[MIN_ACCURACY_KEY],
        exec_properties[MAX_REGRESSION_KEY], exec_properties[MAX_LOSS_KEY],
        bool(exec_properties[PUSH_REFERENCE_KEY]), gain_interval,
        exec_properties.get(GAIN_RULE_KEY) or "estimate")
    out = artifact_utils.get_single_instance(output_dict[DECISION_KEY])
    out.set_int_custom_property("blessed", int(bool(decision.chosen)))
    out.set_string_custom_property(CHOSEN_PROPERTY, decision.chosen)
    out.set_string_custom_property(REASON_PROPERTY, decision.reason)
    out.set_float_custom_property(CANDIDATE_ACCURACY_PROPERTY, candidate)
    out.set_float_custom_property(REFERENCE_ACCURACY_PROPERTY, reference)
    if gain_interval is not None:
      out.set_float_custom_property(GAIN_LOW_PROPERTY, gain_interval.low)
      out.set_float_custom_property(GAIN_HIGH_PROPERTY, gain_interval.high)
    chosen_model = artifact_utils.get_single_instance(output_dict[CHOSEN_MODEL_KEY])
    if decision.chosen:
      source = artifact_utils.get_single_instance(
          input_dict[MODEL_KEY if decision.chosen == CANDIDATE else REFERENCE_MODEL_KEY])
      # The latest-blessed-model resolver finds the pushed model by these (the Trainer's own).
      out.set_int_custom_property("current_model_id", source.id)
      out.set_string_custom_property("current_model", source.uri)
      io_utils.copy_dir(source.uri, chosen_model.uri)
    else:
      fileio.makedirs(chosen_model.uri)
    # An empty marker file, as TFX's own blessings have, for the Pusher and for people.
    io_utils.write_string_file(
        os.path.join(out.uri, "BLESSED" if decision.chosen else "NOT_BLESSED"), "")
