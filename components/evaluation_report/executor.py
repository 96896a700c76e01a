"""Writes one self-contained HTML page about a run: test accuracy (TFMA), the push decision,
the data, and the training curves of every stage."""
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import tensorflow as tf
import tensorflow_data_validation as tfdv
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.data_validation_gate import executor as gate_executor
from components.evaluation import paired_gain
from components.evaluation import results
from components.evaluation_report import pictures
from components.evaluation_report import render
from components.layerwise_pretrainer import executor as pretrainer_executor
from components.serving_check import executor as serving_check_executor
from components.tfds_example_gen import spec as example_gen_spec
from models import methods
from models import run_fn
from sources import splits

EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
EXAMPLES_KEY = "examples"
STATISTICS_KEY = "statistics"
ANOMALIES_KEY = "anomalies"
MODEL_RUN_KEY = "model_run"
PRETRAINED_MODEL_KEY = "pretrained_model"
MODEL_KEY = "model"  # the Trainer's: the pictures it gets wrong, the pseudo-labels it accepts
REFERENCE_EVALUATION_KEY = "reference_evaluation"  # the candidate against the reference
DECISION_KEY = "decision"  # PushGate's: what was pushed and why
SERVING_CHECK_KEY = "serving_check"  # ServingCheck's decision: whether the Pusher was cleared
REPORT_KEY = "report"
CLASS_NAMES_KEY = "class_names"  # JSON list
METHOD_KEY = "method"
MIN_ACCURACY_KEY = "min_accuracy"
MAX_REGRESSION_KEY = "max_regression"
REPORT_FILE = "report.html"
_STATS_FILE = "FeatureStats.pb"
ATTRIBUTION = ("Quick, Draw! data: Google, CC BY 4.0 (quickdraw.withgoogle.com/data), where the "
               "run used it.")


def _read_json(path: str) -> Optional[Any]:
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def _statistics_counts(statistics) -> Dict[str, int]:
  counts = {}
  for split in artifact_utils.decode_split_names(statistics.split_names):
    path = os.path.join(artifact_utils.get_split_uri([statistics], split), _STATS_FILE)
    if tf.io.gfile.exists(path):
      counts[split] = int(tfdv.load_stats_binary(path).datasets[0].num_examples)
  return counts


def _class_name(names: List[str], index: int) -> str:
  return names[index] if 0 <= index < len(names) else str(index)


def _in_class_order(per_class: Dict[str, Any], names: List[str]) -> List[str]:
  """The Evaluator's per-class slices (keyed by class name), in label order."""
  return sorted(per_class, key=lambda name: (names.index(name) if name in names else len(names),
                                              name))


def _evaluation_section(evaluation, names, blessed, min_accuracy, max_regression,
                        gate: Optional[Tuple[str, str]], serving: Optional[str] = None) -> str:
  decision = ('<span class="pass">BLESSED: pushed</span>' if blessed
              else '<span class="fail">NOT BLESSED: not pushed</span>')
  if gate is not None:  # PushGate decided, against the reference too
    chosen, reason = gate
    decision = (f'<span class="{"pass" if chosen else "fail"}">'
                f'{"PUSHED: the " + chosen if chosen else "NOT PUSHED"}</span> '
                f'({render.escape(reason)})')
  if serving is not None:
    if serving.startswith("failed"):
      decision = f'<span class="fail">NOT PUSHED</span> (serving check {render.escape(serving)})'
    decision += f"<br>Serving check: {render.escape(serving)}"
  baseline = evaluation["baseline_accuracy"]
  rows = [["test accuracy", render.fmt(evaluation["accuracy"]),
           f"at least {min_accuracy:.4f}"],
          ["baseline (last blessed model)",
           "none yet" if baseline is None else render.fmt(baseline),
           "" if baseline is None else f"drop at most {max_regression:.4f}"],
          ["change against baseline",
           "n/a" if baseline is None else f"{evaluation['accuracy'] - baseline:+.4f}", ""],
          ["test examples", f"{evaluation['examples']:.0f}" if evaluation["examples"] else "n/a",
           ""]]
  failures = "".join(f"<li>{render.escape(f)}</li>" for f in evaluation["failures"])
  per_class = [[render.escape(name), render.fmt(evaluation["per_class"][name].get(results.ACCURACY)),
                f"{evaluation['per_class'][name].get('example_count', 0):.0f}"]
               for name in _in_class_order(evaluation["per_class"], names)]
  parts = [f"<h2>Evaluation on the test split</h2><p>Decision: {decision}</p>",
           render.table(["measure", "value", "threshold"], rows),
           f"<ul>{failures}</ul>" if failures else "",
           "<h3>Accuracy per class</h3>",
           render.table(["class", "accuracy", "test examples"], per_class)]
  if evaluation["confusion"] is not None:
    matrix = evaluation["confusion"]
    labels = [_class_name(names, i) for i in range(len(matrix))]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (i, j), value in np.ndenumerate(matrix):
      ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7,
              color="white" if value > matrix.max() / 2 else "black")
    fig.colorbar(image, ax=ax)
    ax.set_title("Confusion matrix (test split)")
    parts += ["<h3>Confusion matrix</h3>", render.figure_tag(fig, "confusion matrix")]
  return "".join(parts)


def _pool_section(candidate, reference, names) -> str:
  """What the unlabeled pool bought: the candidate against the supervised reference trained on
  the same labels, overall, per class and in the confusion matrix."""
  gain = candidate["accuracy"] - reference["accuracy"]
  rows = [["this run's method (candidate)", render.fmt(candidate["accuracy"])],
          ["supervised on the same labels (reference)", render.fmt(reference["accuracy"])],
          ["gain", f"{gain * 100:+.1f} points"]]
  interval = candidate["gain_interval"]
  if interval is not None:
    rows.append([f"gain, {paired_gain.LEVEL:.0%} interval (paired bootstrap "
                 "over the test images)",
                 f"{interval.low * 100:+.1f} to {interval.high * 100:+.1f} points"])
  per_class = []
  for name in _in_class_order({**candidate["per_class"], **reference["per_class"]}, names):
    mine = candidate["per_class"].get(name, {}).get(results.ACCURACY)
    theirs = reference["per_class"].get(name, {}).get(results.ACCURACY)
    per_class.append([render.escape(name), render.fmt(mine), render.fmt(theirs),
                      "n/a" if mine is None or theirs is None else f"{(mine - theirs) * 100:+.1f}"])
  parts = ["<h2>What the unlabeled pool bought</h2>",
           "<p>The same labels, the same architecture and training settings, with and without "
           "the unlabeled pool; both on the test split.</p>",
           render.table(["model", "test accuracy"], rows),
           f'<p class="note">Note: {render.escape(interval.too_small_note())}.</p>'
           if interval is not None and interval.too_small_note() else "",
           "<h3>Per class</h3>",
           render.table(["class", "candidate", "reference", "gain (points)"], per_class)]
  if candidate["confusion"] is not None and reference["confusion"] is not None:
    size = max(len(candidate["confusion"]), len(reference["confusion"]))
    difference = np.zeros((size, size))
    difference[:len(candidate["confusion"]), :len(candidate["confusion"])] += candidate["confusion"]
    difference[:len(reference["confusion"]), :len(reference["confusion"])] -= reference["confusion"]
    labels = [_class_name(names, i) for i in range(size)]
    limit = max(1.0, float(np.abs(difference).max()))
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(difference, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.set_xticks(range(size), labels, rotation=60, ha="right")
    ax.set_yticks(range(size), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (i, j), value in np.ndenumerate(difference):
      if value:
        ax.text(j, i, f"{value:+.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax)
    ax.set_title("Confusion matrix, candidate minus reference\n(more on the diagonal, fewer off "
                 "it: the pool helped)", fontsize=10)
    parts += ["<h3>Confusion-matrix difference</h3>",
              render.figure_tag(fig, "confusion matrix difference, candidate minus reference")]
  return "".join(parts)


def _data_section(examples, statistics_counts, anomalies, names) -> str:
  split_counts = json.loads(examples.get_string_custom_property(
      example_gen_spec.SPLIT_COUNTS_PROPERTY) or "{}")
  labeled = json.loads(examples.get_string_custom_property(
      example_gen_spec.LABELED_PER_CLASS_PROPERTY) or "{}")
  split_rows = [[render.escape(s), f"{split_counts.get(s, 0):,}",
                 f"{statistics_counts[s]:,}" if s in statistics_counts else "n/a"]
                for s in splits.SPLITS]
  class_rows = [[render.escape(_class_name(names, int(c))), f"{n:,}"]
                for c, n in sorted(labeled.items(), key=lambda kv: int(kv[0]))]
  found = "".join(f"<li>{render.escape(split)}: {render.escape(', '.join(problems))}</li>"
                  for split, problems in sorted(anomalies.items()))
  budget_note = examples.get_string_custom_property(example_gen_spec.BUDGET_NOTE_PROPERTY)
  budget_note = f"<p class='note'>{render.escape(budget_note)}</p>" if budget_note else ""
  skipped = json.loads(examples.get_string_custom_property(
      example_gen_spec.SKIPPED_IMAGES_PROPERTY) or "[]")
  skipped_note = (f"<p class='note'>{len(skipped):,} unreadable pictures were skipped "
                  f"(--skip-bad-images): {render.escape(', '.join(skipped[:10]))}"
                  f"{', ...' if len(skipped) > 10 else ''}</p>" if skipped else "")
  return "".join([
      "<h2>Data</h2>",
      render.table(["split", "examples written", "examples in statistics"], split_rows),
      skipped_note,
      "<h3>Labeled examples per class</h3>", render.table(["class", "labeled"], class_rows),
      budget_note,
      "<h3>Anomalies</h3>",
      f"<ul>{found}</ul>" if found else "<p>None found: every split matches the schema.</p>"])


def _integer_x(ax) -> None:
  ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))


def _curves(epochs: List[Dict[str, float]], title: str):
  fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.4))
  for key, ax in (("loss", loss_ax), ("accuracy", acc_ax)):
    for prefix, style in (("", "-"), ("val_", "--")):
      values = [e[prefix + key] for e in epochs if prefix + key in e]
      if values:
        ax.plot(range(1, len(values) + 1), values, style,
                label="validation" if prefix else "training")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    _integer_x(ax)
    ax.legend()
  fig.suptitle(title)
  return render.figure_tag(fig, title)


def _cell(value) -> str:
  if isinstance(value, bool) or isinstance(value, str):
    return render.escape(value)
  if isinstance(value, int):
    return f"{value:,}"
  return render.fmt(value)


def _method_section(section: methods.ReportSection) -> str:
  """A method's own section (its spec's `report`), drawn: paragraphs, table, stacked bars."""
  parts = [f"<h3>{render.escape(section.title)}</h3>"] + [
      f"<p>{render.escape(text)}</p>" for text in section.paragraphs]
  if section.rows:
    parts.append(render.table(section.columns, [[_cell(v) for v in row] for row in section.rows],
                              text_columns=0))
  if section.bars:
    counts = np.array(section.bars, dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    bottom = np.zeros(len(counts))
    for cls in range(counts.shape[1]):
      ax.bar(section.bars_x, counts[:, cls], bottom=bottom, label=f"class {cls}")
      bottom += counts[:, cls]
    ax.set_xlabel(section.x_label)
    _integer_x(ax)
    ax.set_ylabel(section.y_label)
    if section.line:
      twin = ax.twinx()
      twin.plot(section.bars_x, section.line, "k-o")
      twin.set_ylabel(section.line_label)
    ax.set_title(f"{section.title}: {section.y_label} per class and {section.x_label}")
    parts.append(render.figure_tag(fig, f"{section.y_label} per {section.x_label}"))
  return "".join(parts)


def _training_section(history: Optional[dict], pretraining: Optional[dict]) -> str:
  parts = ["<h2>Training</h2>"]
  if pretraining:
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for number, stage in enumerate(pretraining["stages"], start=1):
      losses = [e["loss"] for e in stage["epochs"]]
      ax.plot(range(1, len(losses) + 1), losses, marker="o", label=f"stage {number}")
    ax.set_xlabel("epoch")
    _integer_x(ax)
    ax.set_ylabel("pretext loss (MSE)")
    ax.legend()
    pretext = pretraining.get("pretext", "reconstruct")
    ax.set_title(f"Pre-training ({pretext}) on {pretraining['images']:,} images")
    parts += [f"<h3>Pre-training: pretext <b>{render.escape(pretext)}</b>, loss per stage</h3>",
              render.figure_tag(fig, "pre-training loss per stage")]
  if history is None:
    return "".join(parts + ["<p>No training history was written.</p>"])
  if history.get("warm_start_from_reference"):
    parts += ["<h3>Warm start (supervised)</h3>",
              "<p>The supervised reference's classifier, trained once in this run by the "
              "ReferenceTrainer, is where consistency training started.</p>"]
  if history.get("warm_start", {}).get("epochs"):
    warm = history["warm_start"]
    parts += ["<h3>Warm start (supervised)</h3>",
              f"<p>{warm['num_train']:,} training labels, global batch {warm['batch_size']}.</p>",
              _curves(warm["epochs"], "Warm start")]
  if history.get("epochs"):
    every = ("" if history.get("selected_on_validation", True) else
             " (every label: the validation part was too small to choose an epoch by, so "
             + ("the last epoch was kept)" if history.get("method") == "consistency"
                else "training stopped on its loss)"))
    parts += ["<h3>Fine-tuning</h3>",
              f"<p>{history['num_train']:,} training labels{every}, global batch "
              f"{history['batch_size']}.</p>", _curves(history["epochs"], "Fine-tuning")]
  spec = methods.get(history["method"]) if history.get("method") in methods.names() else None
  section = spec.report(history) if spec and spec.report else None
  if section:
    parts.append(_method_section(section))
  return "".join(parts)


def _pictures_section(model, examples, history: Optional[dict], names: List[str]) -> str:
  """The test pictures most confidently wrong and, after consistency training, a sample of the
  pool pictures the final model accepts as pseudo-labels."""
  model_dir = path_utils.serving_model_path(model.uri)
  serialized, pixels, labels = pictures.read_split(
      artifact_utils.get_split_uri([examples], splits.TEST_SPLIT), pictures.TEST_SCORED)
  if not serialized:
    return ""
  parts = ["<h2>Pictures</h2>", pictures.mistakes_section(
      labels, pictures.score(model_dir, serialized), pixels, names)]
  if history and history.get("accepted_per_class") and "threshold" in history:
    thresholds = (history["thresholds_per_class"][-1] if history.get("thresholds_per_class")
                  else [history["threshold"]] * len(names))
    serialized, pixels, _ = pictures.read_split(
        artifact_utils.get_split_uri([examples], splits.UNLABELED_SPLIT),
        pictures.POOL_SCORED)
    if serialized:
      parts.append(pictures.pseudo_label_section(pictures.score(model_dir, serialized), pixels,
                                                 thresholds, names))
  if history and history.get("off_topic"):
    parts.append(pictures.off_topic_section(history["off_topic"]))
  return "".join(parts)


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
         exec_properties: Dict[str, Any]) -> None:
    names = json.loads(exec_properties[CLASS_NAMES_KEY])
    evaluation_uri = artifact_utils.get_single_uri(input_dict[EVALUATION_KEY])
    evaluation = results.read_evaluation(evaluation_uri)
    blessing = artifact_utils.get_single_instance(input_dict[BLESSING_KEY])
    blessed = bool(blessing.get_int_custom_property("blessed"))
    examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
    statistics = artifact_utils.get_single_instance(input_dict[STATISTICS_KEY])
    anomalies = gate_executor.anomalies_by_split(
        artifact_utils.get_single_instance(input_dict[ANOMALIES_KEY]))
    history = _read_json(os.path.join(artifact_utils.get_single_uri(input_dict[MODEL_RUN_KEY]),
                                      run_fn.HISTORY_FILE))
    pretraining = None
    if input_dict.get(PRETRAINED_MODEL_KEY):
      pretraining = _read_json(os.path.join(
          artifact_utils.get_single_uri(input_dict[PRETRAINED_MODEL_KEY]),
          pretrainer_executor.HISTORY_FILE))
    method = exec_properties[METHOD_KEY]
    pool = ""
    if input_dict.get(REFERENCE_EVALUATION_KEY):
      compared = artifact_utils.get_single_uri(input_dict[REFERENCE_EVALUATION_KEY])
      pool = _pool_section(results.read_evaluation(compared), results.read_evaluation(compared, baseline=True),
                           names)
    gate = None
    if input_dict.get(DECISION_KEY):
      decision = artifact_utils.get_single_instance(input_dict[DECISION_KEY])
      gate = (decision.get_string_custom_property("chosen"),
              decision.get_string_custom_property("reason"))
    serving = None
    if input_dict.get(SERVING_CHECK_KEY):
      serving = artifact_utils.get_single_instance(
          input_dict[SERVING_CHECK_KEY]).get_string_custom_property(
          serving_check_executor.RESULT_PROPERTY)
    html = render.page(
        f"fewlabels run report: {method}",
        [f"<p>Method <b>{render.escape(method)}</b>: "
         f"{render.escape(methods.get(method).description)}. Evaluation output: "
         f"<code>{render.escape(evaluation_uri)}</code></p>",
         _evaluation_section(evaluation, names, blessed, exec_properties[MIN_ACCURACY_KEY],
                             exec_properties[MAX_REGRESSION_KEY], gate, serving),
         pool,
         _pictures_section(artifact_utils.get_single_instance(input_dict[MODEL_KEY]), examples,
                           history, names) if input_dict.get(MODEL_KEY) else "",
         _data_section(examples, _statistics_counts(statistics), anomalies, names),
         _training_section(history, pretraining)],
        footer=ATTRIBUTION)
    report = artifact_utils.get_single_instance(output_dict[REPORT_KEY])
    path = os.path.join(report.uri, REPORT_FILE)
    tf.io.gfile.makedirs(report.uri)
    # Written under a temporary name, then renamed: a half-written report never looks complete.
    with tf.io.gfile.GFile(path + ".tmp", "w") as f:
      f.write(html)
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)
    report.set_float_custom_property("test_accuracy", evaluation["accuracy"] or 0.0)
    report.set_string_custom_property("method", method)
