"""What an Evaluator (TFMA) wrote, read back: accuracy overall and per class, the baseline's,
the confusion matrix, the paired gain and whether the thresholds held."""
from typing import Any, Dict

import numpy as np
import tensorflow_model_analysis as tfma

from components.evaluation import paired_gain
from sources import features

ACCURACY = "sparse_categorical_accuracy"
ACCURACY_DIFF = ACCURACY + "_diff"  # TFMA's candidate-minus-baseline value
_CONFUSION = "multiClassConfusionMatrixAtThresholds"


def _metrics(slice_metrics) -> Dict[str, float]:
  """{metric: value} of one slice, whatever the output and sub-key nesting."""
  out = {}
  for per_output in slice_metrics.values():
    for per_sub_key in per_output.values():
      out.update({k: v["doubleValue"] for k, v in per_sub_key.items() if "doubleValue" in v})
  return out


def _failure_text(failure) -> str:
  """e.g. 'sparse_categorical_accuracy 0.2400 is below 0.2500'."""
  threshold = failure.metric_threshold
  if failure.metric_key.is_diff:
    bound = threshold.change_threshold.absolute.value
    what = "change against the baseline"
  else:
    bound = threshold.value_threshold.lower_bound.value
    what = "value"
  return (f"{failure.metric_key.name} {what} {failure.metric_value.double_value.value:+.4f} is "
          f"below the threshold {bound:+.4f}")


def read_evaluation(uri: str, baseline: bool = False) -> Dict[str, Any]:
  """Accuracy overall and per class, the baseline's, and the confusion matrix, from TFMA: of
  the candidate, or with `baseline` of the model it was compared with."""
  result = tfma.load_eval_result(uri)
  names = [spec.name for spec in result.config.model_specs if spec.is_baseline == baseline]
  if names and names[0]:
    # Against a baseline the models are named; the plots are found only by the model's name.
    result = tfma.load_eval_result(uri, model_name=names[0])
  overall, per_class = {}, {}
  for slice_key, slice_metrics in result.slicing_metrics:
    metrics = _metrics(slice_metrics)
    if slice_key == ():
      overall = metrics
    elif len(slice_key) == 1 and slice_key[0][0] == features.CLASS_NAME_KEY:
      name = slice_key[0][1]
      per_class[name.decode("utf-8") if isinstance(name, bytes) else str(name)] = metrics
  confusion = None
  for slice_key, plots in result.plots or []:
    if slice_key != () or not plots:
      continue
    for per_output in plots.values():
      for per_sub_key in per_output.values():
        if _CONFUSION in per_sub_key:
          entries = per_sub_key[_CONFUSION]["matrices"][0].get("entries", [])
          size = 1 + max([max(int(e.get("actualClassId", 0)), int(e.get("predictedClassId", 0)))
                          for e in entries] or [0])
          confusion = np.zeros((size, size))
          for e in entries:
            confusion[int(e.get("actualClassId", 0)), int(e.get("predictedClassId", 0))] = (
                e.get("numWeightedExamples", 0))
  validation = tfma.load_validation_result(uri)
  failures = [_failure_text(f) for per_slice in validation.metric_validations_per_slice
              for f in per_slice.failures]
  accuracy = overall.get(ACCURACY)
  diff = overall.get(ACCURACY_DIFF)
  return {"accuracy": accuracy, "examples": overall.get("example_count"),
          "baseline_accuracy": None if diff is None or accuracy is None else accuracy - diff,
          "per_class": per_class, "confusion": confusion,
          # Against a baseline with the paired metric: the gain and its interval, else None.
          "gain_interval": paired_gain.from_metrics(overall),
          "validation_ok": validation.validation_ok, "failures": failures}
