"""The pool's worth in every run: a pool method's run trains the supervised reference on the
same labels, compares the two on `test`, and PushGate never pushes a candidate that the labels
alone beat; it pushes the reference instead when asked to. Tiny doodles, LocalDagRunner."""
import dataclasses
import json
import os

import pytest
import tensorflow as tf
from tfx.orchestration import pipeline as tfx_pipeline

from components.atomic_pusher.versions import versions
from components.push_gate import executor as gate
from components.serving_check import executor as serving_check
from models import export
from pipeline import config as config_lib
from pipeline import pipeline as pipeline_lib
from pipeline import run_results

REFERENCE_STAGE = (pipeline_lib.REFERENCE_TRAINER, pipeline_lib.REFERENCE_EVALUATOR)


@pytest.mark.parametrize("blessed,candidate,reference,last,push_reference,chosen,fragment", [
    (True, 0.80, 0.70, None, True, "candidate", "+10.0 points against"),
    (True, 0.70, 0.70, None, True, "candidate", "+0.0 points"),  # a tie is not a loss
    (True, 0.60, 0.70, None, True, "reference", "10.0 points below the supervised reference"),
    (True, 0.60, 0.70, None, False, "", "pushing the reference instead is off"),
    (True, 0.60, 0.70, 0.90, True, "", "the reference regresses against the last pushed"),
    (True, 0.30, 0.40, None, True, "", "the reference is below the minimum accuracy 0.5"),
    (False, 0.60, 0.70, None, True, "", "the candidate failed the gate"),
])
def test_the_gate_decides_on_both_tests(blessed, candidate, reference, last, push_reference,
                                        chosen, fragment):
  decision = gate.decide(blessed, candidate, reference, last, min_accuracy=0.5,
                         max_regression=0.01, max_loss_to_reference=0.0,
                         push_reference_if_better=push_reference)
  assert decision.chosen == chosen and fragment in decision.reason


def test_an_allowed_loss_lets_the_candidate_through():
  decision = gate.decide(True, 0.68, 0.70, None, 0.5, 0.01, max_loss_to_reference=0.05,
                         push_reference_if_better=True)
  assert decision.chosen == gate.CANDIDATE


def _pool_config(base, **evaluation):
  """A CNN run whose candidate is deliberately worse than its reference: consistency training
  with no warm start and one step (at the warmup's first, tiny learning rate) leaves it
  untrained. A lenient gate, so that it fails only the reference test."""
  return dataclasses.replace(
      base, method="consistency",
      method_settings=(("steps", 1), ("steps_per_epoch", 1), ("warm_start", False)),
      model=config_lib.ModelConfig(architecture="cnn", settings=(("width", 4),)),
      training=dataclasses.replace(base.training, epochs=6),
      evaluation=config_lib.EvaluationConfig(min_accuracy=0.0, max_regression=1.0, **evaluation))


@pytest.fixture(scope="module")
def gated(tiny_config, tmp_path_factory):
  from pipeline import local_runner
  base = dataclasses.replace(tiny_config, output_dir=str(tmp_path_factory.mktemp("gate")))
  worse = local_runner.run(_pool_config(base))
  refused = local_runner.run(_pool_config(base, push_reference_if_better=False))
  listed = versions(base.serving_dir)
  other = dataclasses.replace(_pool_config(base), method_settings=(("steps", 2),
                                                                   ("steps_per_epoch", 1)))
  # Up to the two trainings and the reference's evaluation: what its test reads.
  another_method = local_runner.run(other, run_options=tfx_pipeline.RunOptions(
      to_nodes=[pipeline_lib.TRAINER, pipeline_lib.REFERENCE_EVALUATOR]))
  # A candidate the gate lets through whose picture signature disagrees with serving_default:
  # the ServingCheck stops it in a whole run (this export is built in this process).
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(export, "_ServingModule", _PicturesUpsideDown)
    broken = local_runner.run(dataclasses.replace(
        _pool_config(base, max_loss_to_reference=1.0),
        method_settings=(("steps", 3), ("steps_per_epoch", 1), ("warm_start", False))))
  return {"base": base, "worse": worse, "refused": refused, "another": another_method,
          "versions_after_refused": listed, "broken": broken}


class _PicturesUpsideDown(export._ServingModule):  # pylint: disable=protected-access
  """An export whose serving_image answers its probabilities in reverse class order."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=export.IMAGES_INPUT)])
  def upside_down(self, encoded):
    answer = self.serve_images(encoded)
    return {**answer, export.PREDICTION_KEY: answer[export.PREDICTION_KEY][:, ::-1]}

  def signatures(self):
    return {**super().signatures(), export.IMAGE_SIGNATURE: self.upside_down}


@pytest.mark.slow
def test_a_pool_run_trains_and_compares_the_reference(gated):
  worse = gated["worse"]
  for component in REFERENCE_STAGE + (pipeline_lib.PUSH_GATE,):
    assert worse.components[component].state == "COMPLETE", component
  trained = worse.components[pipeline_lib.REFERENCE_TRAINER].properties["custom_config"]
  assert '"method": "supervised"' in trained
  assert worse.reference_accuracy > worse.test_accuracy  # an untrained candidate
  assert worse.gain == pytest.approx(100 * (worse.test_accuracy - worse.reference_accuracy))
  # The gain's paired interval, from the ReferenceEvaluator's TFMA metrics, in every place.
  interval = worse.gain_interval
  assert interval.low <= interval.gain <= interval.high < 0  # an untrained candidate loses
  assert interval.gain * 100 == pytest.approx(worse.gain, abs=1e-3)  # TFMA rounds its output
  assert interval.examples == worse.split_counts["test"]
  decision = worse.components[pipeline_lib.PUSH_GATE].output(gate.DECISION_KEY)
  assert run_results.custom_value(decision, gate.GAIN_LOW_PROPERTY) == pytest.approx(
      interval.low, abs=1e-5)
  assert run_results.custom_value(decision, gate.GAIN_HIGH_PROPERTY) == pytest.approx(
      interval.high, abs=1e-5)
  assert interval.bounds() in worse.push_reason
  # The console line (of the latest run, the fixture's last).
  assert gated["broken"].gain_interval.bounds() in run_results.describe_component(
      gated["base"].metadata_path, gated["base"].name, pipeline_lib.REFERENCE_EVALUATOR)
  text = run_results.format_summary(worse)
  assert f"supervised reference (same labels): {worse.reference_accuracy:.4f}" in text
  assert f"bought {worse.gain:+.1f} points ({interval.bounds()})" in text
  # A test split of tiny doodles cannot resolve 2 points, and the summary says so.
  assert f"note: the test split ({interval.examples:,} images) is too small" in text
  with open(worse.report, encoding="utf-8") as f:
    html = f.read()
  assert "What the unlabeled pool bought" in html and "Confusion-matrix difference" in html
  assert f"{worse.reference_accuracy:.4f}" in html and f"{worse.test_accuracy:.4f}" in html
  assert f"{interval.low * 100:+.1f} to {interval.high * 100:+.1f} points" in html
  assert "too small to tell a gain of 2 points" in html


@pytest.mark.slow
def test_a_candidate_worse_than_the_reference_is_not_pushed_the_reference_is(gated):
  worse = gated["worse"]
  assert worse.blessed  # it passed the Evaluator's own gate: only the reference test failed
  assert worse.pushed_model == gate.REFERENCE
  assert "below the supervised reference" in worse.push_reason
  decision = worse.components[pipeline_lib.PUSH_GATE].output(gate.DECISION_KEY)
  assert run_results.custom_value(decision, gate.CHOSEN_PROPERTY) == gate.REFERENCE
  reference_model = worse.components[pipeline_lib.REFERENCE_TRAINER].output("model")
  assert run_results.custom_value(decision, "current_model_id") == reference_model.id
  assert os.path.isfile(os.path.join(worse.pushed_to, "saved_model.pb"))
  assert "(the reference)" in run_results.format_summary(worse)


@pytest.mark.slow
def test_a_candidate_with_a_broken_signature_is_blessed_and_chosen_but_not_pushed(gated):
  broken = gated["broken"]
  assert broken.blessed and broken.pushed_model is None and broken.pushed_to is None
  assert "the candidate passed the gate" in broken.push_reason
  assert broken.serving_check.startswith(f"failed: {export.IMAGE_SIGNATURE}:")
  check = broken.components[pipeline_lib.SERVING_CHECK].output(serving_check.DECISION_KEY)
  assert run_results.custom_value(check, "blessed") == 0
  assert run_results.custom_value(check, serving_check.PUSH_CHOICE_PROPERTY) == 0
  assert broken.components[pipeline_lib.PUSHER].state == "COMPLETE"
  assert not run_results.custom_value(broken.components[pipeline_lib.PUSHER].output(
      "pushed_model"), "pushed")
  assert versions(gated["base"].serving_dir) == gated["versions_after_refused"]
  assert f"serving check: failed: {export.IMAGE_SIGNATURE}" in run_results.format_summary(broken)
  with open(broken.report, encoding="utf-8") as f:
    assert "NOT PUSHED</span> (serving check failed" in f.read()


def _baseline_of(metadata_path, run_id):
  """The baseline model the run's Evaluator was given, read from its input events."""
  from ml_metadata.proto import metadata_store_pb2
  store = run_results.open_store(metadata_path)
  run = store.get_context_by_type_and_name("pipeline_run", run_id)
  for execution in store.get_executions_by_context(run.id):
    if any(c.name.endswith("." + pipeline_lib.EVALUATOR)
           for c in store.get_contexts_by_execution(execution.id)):
      return [e.artifact_id for e in store.get_events_by_execution_ids([execution.id])
              if e.type == metadata_store_pb2.Event.INPUT
              and e.path.steps[0].key == "baseline_model"]
  raise AssertionError(f"no Evaluator in run {run_id}")


@pytest.mark.slow
def test_a_blessed_candidate_the_gate_refused_is_not_the_next_runs_baseline(gated):
  worse, refused = gated["worse"], gated["refused"]
  assert worse.blessed and worse.pushed_model == gate.REFERENCE  # the Evaluator blessed it
  # The next run compares against what was pushed, the first run's reference.
  assert _baseline_of(gated["base"].metadata_path, refused.run_id) == [
      worse.components[pipeline_lib.REFERENCE_TRAINER].output("model").id]


@pytest.mark.slow
def test_without_push_reference_if_better_nothing_is_pushed(gated):
  refused = gated["refused"]
  assert refused.pushed_to is None and refused.pushed_model is None
  assert "pushing the reference instead is off" in refused.push_reason
  assert gated["versions_after_refused"] == [os.path.basename(gated["worse"].pushed_to)]


@pytest.mark.slow
def test_a_run_of_another_pool_method_reuses_the_reference(gated):
  another = gated["another"]
  assert another.components[pipeline_lib.TRAINER].state == "COMPLETE"
  assert another.components[pipeline_lib.REFERENCE_TRAINER].state == "CACHED"
  assert another.reference_accuracy == gated["worse"].reference_accuracy


@pytest.mark.slow
def test_consistency_starts_from_the_references_classifier_instead_of_a_fit_of_its_own(gated):
  from models import run_fn
  from models import weights
  another = gated["another"]
  with open(os.path.join(another.components[pipeline_lib.TRAINER].output("model_run").uri,
                         run_fn.HISTORY_FILE)) as f:
    history = json.load(f)
  assert history["warm_start_from_reference"] is True and "warm_start" not in history
  reference = another.components[pipeline_lib.REFERENCE_TRAINER].output("model")
  classifier = tf.keras.models.load_model(
      run_fn.classifier_path(os.path.join(reference.uri, "Format-Serving")), compile=False)
  # The first consistency weights are the reference's, layer by layer.
  assert history["initial_fingerprints"] == weights.fingerprints(classifier)
  # The runs whose warm start is off (gated["worse"]) train from scratch, as before.
  with open(os.path.join(gated["worse"].components[pipeline_lib.TRAINER].output(
      "model_run").uri, run_fn.HISTORY_FILE)) as f:
    assert json.load(f)["warm_start_from_reference"] is False


def _ids(config):
  pipeline = pipeline_lib.create_pipeline(config, [str(i) for i in range(10)])
  return {component.id for component in pipeline.components}


def test_reference_none_gives_the_pipeline_without_it(tiny_config):
  pool = _pool_config(tiny_config)
  assert set(REFERENCE_STAGE) | {pipeline_lib.PUSH_GATE} <= _ids(pool)
  plain = _ids(dataclasses.replace(pool, reference=config_lib.NO_REFERENCE))
  assert not (set(REFERENCE_STAGE) | {pipeline_lib.PUSH_GATE}) & plain
  assert {pipeline_lib.TRAINER, pipeline_lib.EVALUATOR, pipeline_lib.PUSHER} <= plain
  # A method that does not use the pool has nothing to compare: no reference (documented).
  assert not set(REFERENCE_STAGE) & _ids(dataclasses.replace(pool, method="supervised",
                                                             method_settings=()))
  # A sweep (no push) compares too, but has no gate.
  swept = _ids(dataclasses.replace(pool, push=False))
  assert set(REFERENCE_STAGE) <= swept and pipeline_lib.PUSH_GATE not in swept
