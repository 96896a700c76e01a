"""EvaluationReport: one static HTML page per run, after the Evaluator."""
import json
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.evaluation_report import executor


class EvaluationReportArtifact(types.Artifact):
  """A folder with report.html: self-contained, plots inline."""
  TYPE_NAME = "fewlabels.EvaluationReport"


class EvaluationReportSpec(component_spec.ComponentSpec):
  PARAMETERS = {
      executor.CLASS_NAMES_KEY: component_spec.ExecutionParameter(type=str),
      executor.METHOD_KEY: component_spec.ExecutionParameter(type=str),
      executor.MIN_ACCURACY_KEY: component_spec.ExecutionParameter(type=float),
      executor.MAX_REGRESSION_KEY: component_spec.ExecutionParameter(type=float),
  }
  INPUTS = {
      executor.EVALUATION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelEvaluation),
      executor.BLESSING_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing),
      executor.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
      executor.STATISTICS_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ExampleStatistics),
      executor.ANOMALIES_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ExampleAnomalies),
      executor.MODEL_RUN_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelRun),
      executor.PRETRAINED_MODEL_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.Model, optional=True),
      executor.MODEL_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.Model, optional=True),
      executor.REFERENCE_EVALUATION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelEvaluation, optional=True),
      executor.DECISION_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelBlessing, optional=True),
      executor.SERVING_CHECK_KEY: component_spec.ChannelParameter(
          type=standard_artifacts.ModelBlessing, optional=True),
  }
  OUTPUTS = {executor.REPORT_KEY: component_spec.ChannelParameter(type=EvaluationReportArtifact)}


class EvaluationReport(base_component.BaseComponent):
  """Reads the Evaluator's TFMA output, the blessing, the data artifacts and the training
  histories; writes report.html."""

  SPEC_CLASS = EvaluationReportSpec
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

  def __init__(self, evaluation: types.BaseChannel, blessing: types.BaseChannel,
               examples: types.BaseChannel, statistics: types.BaseChannel,
               anomalies: types.BaseChannel, model_run: types.BaseChannel,
               class_names: Sequence[str], method: str, min_accuracy: float,
               max_regression: float, pretrained_model: Optional[types.BaseChannel] = None,
               reference_evaluation: Optional[types.BaseChannel] = None,
               decision: Optional[types.BaseChannel] = None,
               serving_check: Optional[types.BaseChannel] = None,
               model: Optional[types.BaseChannel] = None):
    super().__init__(spec=EvaluationReportSpec(
        evaluation=evaluation, blessing=blessing, examples=examples, statistics=statistics,
        anomalies=anomalies, model_run=model_run, pretrained_model=pretrained_model,
        reference_evaluation=reference_evaluation, decision=decision,
        serving_check=serving_check, model=model,
        class_names=json.dumps(list(class_names)), method=method,
        min_accuracy=float(min_accuracy), max_regression=float(max_regression),
        report=types.Channel(type=EvaluationReportArtifact)))
