"""Reading what a pipeline run did back from ml-metadata: executions, outputs, the verdict."""
import dataclasses
import json
import os
from typing import Dict, List, Optional, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata

from components.evaluation import paired_gain
from components.evaluation import results
from components.evaluation_report import executor as report_executor
from components.layerwise_pretrainer import executor as pretrainer_executor
from components.push_gate import executor as gate_executor
from components.serving_check import executor as serving_check_executor
from components.tfds_example_gen import spec as example_gen_spec
from models import pretraining
from models import run_fn
from pipeline import pipeline as pipeline_lib

_PIPELINE_CONTEXT = "pipeline"
_RUN_CONTEXT = "pipeline_run"
_NODE_CONTEXT = "node"
STATE_NAMES = {v: k for k, v in metadata_store_pb2.Execution.State.items()}


@dataclasses.dataclass
class ComponentRun:
  component_id: str
  state: str  # COMPLETE, CACHED, FAILED, ...
  properties: Dict[str, object]  # the execution's parameters, e.g. custom_config (JSON)
  outputs: Dict[str, List[metadata_store_pb2.Artifact]]

  def output(self, key: str) -> Optional[metadata_store_pb2.Artifact]:
    artifacts = self.outputs.get(key) or []
    return artifacts[0] if artifacts else None


@dataclasses.dataclass
class RunSummary:
  run_id: str
  components: Dict[str, ComponentRun]
  split_counts: Dict[str, int]
  test_accuracy: Optional[float]
  blessed: bool
  pushed_to: Optional[str]
  report: Optional[str] = None  # the run's HTML report
  # With a supervised reference (pool methods): its test accuracy, and PushGate's decision.
  reference_accuracy: Optional[float] = None
  gain_interval: Optional[paired_gain.Interval] = None  # the gain's paired 95% interval
  pushed_model: Optional[str] = None  # "candidate", "reference", or None: nothing pushed
  push_reason: Optional[str] = None
  serving_check: Optional[str] = None  # "passed (...)", "failed: ...", "not checked: ..."

  @property
  def gain(self) -> Optional[float]:
    """Points of test accuracy the unlabeled pool bought over the labels alone."""
    if self.test_accuracy is None or self.reference_accuracy is None:
      return None
    return 100.0 * (self.test_accuracy - self.reference_accuracy)


def open_store(metadata_path: str) -> mlmd.MetadataStore:
  return mlmd.MetadataStore(metadata.sqlite_metadata_connection_config(metadata_path))


def _plain(value: metadata_store_pb2.Value):
  kind = value.WhichOneof("value")
  return getattr(value, kind) if kind else None


def custom_value(artifact: metadata_store_pb2.Artifact, key: str):
  value = artifact.custom_properties.get(key)
  return None if value is None else _plain(value)


def run_ids(store: mlmd.MetadataStore, pipeline_name: str) -> List[str]:
  """The pipeline's runs, oldest first."""
  pipeline_context = store.get_context_by_type_and_name(_PIPELINE_CONTEXT, pipeline_name)
  if pipeline_context is None:
    return []
  run_type = store.get_context_type(_RUN_CONTEXT).id
  runs = {}
  for execution in store.get_executions_by_context(pipeline_context.id):
    for context in store.get_contexts_by_execution(execution.id):
      if context.type_id == run_type:
        runs[context.id] = context
  return [c.name for c in sorted(runs.values(), key=lambda c: (c.create_time_since_epoch, c.id))]


def latest_span(store: mlmd.MetadataStore, pipeline_name: str,
                component: str) -> Optional[Tuple[float, float]]:
  """(start, end), seconds since the epoch, of the component's latest execution as ml-metadata
  recorded them; None where the pipeline has not run it."""
  context = store.get_context_by_type_and_name("node", f"{pipeline_name}.{component}")
  executions = store.get_executions_by_context(context.id) if context else []
  if not executions:
    return None
  latest = max(executions, key=lambda e: e.id)
  return latest.create_time_since_epoch / 1000, latest.last_update_time_since_epoch / 1000


def latest_run_id(store: mlmd.MetadataStore, pipeline_name: str) -> str:
  runs = run_ids(store, pipeline_name)
  if not runs:
    raise LookupError(f"no run of pipeline {pipeline_name!r} in ml-metadata")
  return runs[-1]


def component_runs(store: mlmd.MetadataStore, run_id: str) -> Dict[str, ComponentRun]:
  """Every execution of one pipeline run, by component id, with its output artifacts."""
  context = store.get_context_by_type_and_name(_RUN_CONTEXT, run_id)
  result = {}
  for execution in store.get_executions_by_context(context.id):
    nodes = [c for c in store.get_contexts_by_execution(execution.id)
             if store.get_context_types_by_id([c.type_id])[0].name == _NODE_CONTEXT]
    component_id = nodes[0].name.split(".", 1)[-1] if nodes else str(execution.id)
    outputs: Dict[str, List[metadata_store_pb2.Artifact]] = {}
    events = [e for e in store.get_events_by_execution_ids([execution.id])
              if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    for event in events:
      key = event.path.steps[0].key if event.path.steps else ""
      outputs.setdefault(key, []).append(artifacts[event.artifact_id])
    result[component_id] = ComponentRun(
        component_id=component_id,
        state=STATE_NAMES.get(execution.last_known_state, "UNKNOWN"),
        properties={k: _plain(v) for k, v in execution.custom_properties.items()},
        outputs=outputs)
  return result


def summarize(metadata_path: str, pipeline_name: str, run_id: Optional[str] = None) -> RunSummary:
  store = open_store(metadata_path)
  run_id = run_id or latest_run_id(store, pipeline_name)
  components = component_runs(store, run_id)
  examples = components.get(pipeline_lib.EXAMPLE_GEN)
  split_counts = {}
  if examples and examples.output("examples") is not None:
    split_counts = json.loads(custom_value(examples.output("examples"),
                                           example_gen_spec.SPLIT_COUNTS_PROPERTY) or "{}")
  evaluator = components.get(pipeline_lib.EVALUATOR)
  accuracy, blessed = None, False
  if evaluator and evaluator.output("evaluation") is not None:
    accuracy = results.read_evaluation(evaluator.output("evaluation").uri)["accuracy"]
    blessed = bool(custom_value(evaluator.output("blessing"), "blessed"))
  pusher = components.get(pipeline_lib.PUSHER)
  pushed_to = None
  if pusher and pusher.output("pushed_model") is not None:
    pushed = pusher.output("pushed_model")
    if custom_value(pushed, "pushed"):
      pushed_to = custom_value(pushed, "pushed_destination")
  report = components.get(pipeline_lib.REPORT)
  report_path = None
  if report and report.output("report") is not None:
    report_path = os.path.join(report.output("report").uri, report_executor.REPORT_FILE)
  summary = RunSummary(run_id, components, split_counts, accuracy, blessed, pushed_to, report_path)
  compared = components.get(pipeline_lib.REFERENCE_EVALUATOR)
  if compared and compared.output("evaluation") is not None:
    summary.reference_accuracy = results.read_evaluation(
        compared.output("evaluation").uri, baseline=True)["accuracy"]
    summary.gain_interval = results.read_evaluation(
        compared.output("evaluation").uri)["gain_interval"]
  gate = components.get(pipeline_lib.PUSH_GATE)
  if gate and gate.output(gate_executor.DECISION_KEY) is not None:
    decision = gate.output(gate_executor.DECISION_KEY)
    summary.pushed_model = custom_value(decision, gate_executor.CHOSEN_PROPERTY) or None
    summary.push_reason = custom_value(decision, gate_executor.REASON_PROPERTY)
  check = components.get(pipeline_lib.SERVING_CHECK)
  if check and check.output(serving_check_executor.DECISION_KEY) is not None:
    summary.serving_check = custom_value(check.output(serving_check_executor.DECISION_KEY),
                                         serving_check_executor.RESULT_PROPERTY)
    if summary.serving_check.startswith("failed"):
      summary.pushed_model = None
  return summary


def describe_component(metadata_path: str, pipeline_name: str, component_id: str) -> str:
  """One key figure of a component of the latest run, for its console line."""
  store = open_store(metadata_path)
  run = component_runs(store, latest_run_id(store, pipeline_name)).get(component_id)
  if run is None:
    return ""
  figure = ""
  if component_id == pipeline_lib.EXAMPLE_GEN and run.output("examples") is not None:
    counts = json.loads(custom_value(run.output("examples"),
                                     example_gen_spec.SPLIT_COUNTS_PROPERTY) or "{}")
    figure = ", ".join(f"{split} {count:,}" for split, count in counts.items())
    per_class = json.loads(custom_value(run.output("examples"),
                                        example_gen_spec.LABELED_PER_CLASS_PROPERTY) or "{}")
    if per_class and max(per_class.values()) - min(per_class.values()) > 1:
      names = json.loads(custom_value(run.output("examples"),
                                      example_gen_spec.CLASS_NAMES_PROPERTY) or "[]")
      shown = sorted(per_class.items(), key=lambda kv: int(kv[0]))
      figure += "; uneven labeled classes: " + ", ".join(
          f"{names[int(c)] if int(c) < len(names) else c} {n:,}" for c, n in shown[:10]) + (
          f", ... ({len(shown)} classes, {min(per_class.values()):,} to "
          f"{max(per_class.values()):,})" if len(shown) > 10 else "")
  elif component_id == pipeline_lib.PRETRAINER and run.output(pretrainer_executor.MODEL_KEY):
    encoder = run.output(pretrainer_executor.MODEL_KEY)
    losses, stage = [], 1
    while custom_value(encoder, pretraining.STAGE_LOSS_PROPERTY.format(stage)) is not None:
      losses.append(f"{custom_value(encoder, pretraining.STAGE_LOSS_PROPERTY.format(stage)):.4f}")
      stage += 1
    figure = (f"pretext {custom_value(encoder, pretraining.PRETEXT_PROPERTY)}, stage losses "
              f"{' '.join(losses) or 'n/a'}")
  elif (component_id in (pipeline_lib.TRAINER, pipeline_lib.REFERENCE_TRAINER)
        and run.output("model_run") is not None):
    path = os.path.join(run.output("model_run").uri, run_fn.HISTORY_FILE)
    if os.path.isfile(path):
      with open(path, encoding="utf-8") as f:
        history = json.load(f)
      scores = [e["val_accuracy"] for e in history.get("epochs", []) if "val_accuracy" in e]
      figure = f"method {history.get('method', '?')}, {len(history.get('epochs', []))} epochs"
      if scores:
        figure += f", best validation accuracy {max(scores):.4f}"
      elif history.get("selected_on_validation") is False:
        figure += f", all {history['num_train']:,} labels (validation too small to choose by)"
      off_topic = history.get("off_topic") or {}
      if off_topic.get("scored"):
        figure += (f"; off-topic pool pictures {off_topic['flagged']:,} of "
                   f"{off_topic['scored']:,} ({off_topic['share']:.1%}), "
                   f"{'left out' if off_topic['mode'] == 'leave_out' else 'kept'}")
      if history.get("consistency_skipped"):
        figure += f"; consistency training skipped: {history['consistency_skipped']}"
  elif component_id == pipeline_lib.EVALUATOR and run.output("evaluation") is not None:
    accuracy = results.read_evaluation(run.output("evaluation").uri)["accuracy"]
    blessed = bool(custom_value(run.output("blessing"), "blessed"))
    figure = (f"test accuracy {'n/a' if accuracy is None else f'{accuracy:.4f}'}, "
              f"{'blessed' if blessed else 'not blessed'}")
  elif component_id == pipeline_lib.REFERENCE_EVALUATOR and run.output("evaluation") is not None:
    uri = run.output("evaluation").uri
    candidate = results.read_evaluation(uri)
    reference = results.read_evaluation(uri, baseline=True)["accuracy"]
    figure = (f"candidate {candidate['accuracy']:.4f}, supervised reference {reference:.4f}: "
              f"{(candidate['accuracy'] - reference) * 100:+.1f} points")
    if candidate["gain_interval"] is not None:
      figure += f" ({candidate['gain_interval'].bounds()})"
  elif component_id == pipeline_lib.PUSH_GATE and run.output(gate_executor.DECISION_KEY):
    figure = custom_value(run.output(gate_executor.DECISION_KEY), gate_executor.REASON_PROPERTY)
  elif (component_id == pipeline_lib.SERVING_CHECK
        and run.output(serving_check_executor.DECISION_KEY) is not None):
    figure = custom_value(run.output(serving_check_executor.DECISION_KEY),
                          serving_check_executor.RESULT_PROPERTY)
  elif component_id == pipeline_lib.PUSHER and run.output("pushed_model") is not None:
    pushed = run.output("pushed_model")
    figure = (f"pushed to {custom_value(pushed, 'pushed_destination')}"
              if custom_value(pushed, "pushed") else "nothing pushed")
  elif component_id == pipeline_lib.REPORT and run.output("report") is not None:
    figure = os.path.join(run.output("report").uri, report_executor.REPORT_FILE)
  if run.state == "CACHED":
    figure = f"reused from cache{'; ' + figure if figure else ''}"
  return figure


def format_summary(summary: RunSummary) -> str:
  counts = ", ".join(f"{k} {v:,}" for k, v in summary.split_counts.items())
  accuracy = "n/a" if summary.test_accuracy is None else f"{summary.test_accuracy:.4f}"
  cached = sorted(c for c, r in summary.components.items() if r.state == "CACHED")
  lines = [
      f"run {summary.run_id}",
      f"  examples per split: {counts}",
      f"  test accuracy: {accuracy}",
  ]
  if summary.reference_accuracy is not None:
    lines.append(f"  supervised reference (same labels): {summary.reference_accuracy:.4f}; the "
                 f"unlabeled pool bought {summary.gain:+.1f} points" + (
                     f" ({summary.gain_interval.bounds()})" if summary.gain_interval else ""))
    note = summary.gain_interval and summary.gain_interval.too_small_note()
    if note:
      lines.append(f"  note: {note}")
  lines += [
      f"  blessed: {'yes' if summary.blessed else 'no'}",
  ]
  if summary.push_reason:
    lines.append(f"  push decision: {summary.push_reason}")
  if summary.serving_check:
    lines.append(f"  serving check: {summary.serving_check}")
  lines += [
      f"  pushed to: {summary.pushed_to or 'nothing pushed'}"
      + (f" (the {summary.pushed_model})" if summary.pushed_model and summary.pushed_to else ""),
      f"  report: {summary.report or 'none'}",
  ]
  if cached:
    lines.append(f"  reused from cache: {', '.join(cached)}")
  return "\n".join(lines)
