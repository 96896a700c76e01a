"""create_pipeline: the fewlabels TFX pipeline, built from a PipelineConfig.

data in (TFDSExampleGen) -> statistics, schema, validation (gate) -> Transform
-> LayerwisePretrainer (encoder pre-trained by a pretext; only for the methods that use one)
-> Trainer (fine-tuned classifier) -> Evaluator (against the last blessed model) -> Pusher
-> EvaluationReport (one HTML page)
"""
import dataclasses
from typing import List, Optional, Sequence

import tensorflow_model_analysis as tfma
# TFX's modules, not `tfx.v1`: that also imports every extension (Vertex AI, Kubeflow), ~17 s
# more start-up for every run on 2 cores.
from tfx import components as tfx_components
from tfx.dsl.components.base import base_node
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_blessed_model_strategy
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import pusher_pb2
from tfx.proto import trainer_pb2
from tfx.proto import transform_pb2
from tfx.types import channel
from tfx.types import standard_artifacts

from components.atomic_pusher import executor as atomic_pusher
from components.data_validation_gate.component import DataValidationGate
from components.evaluation import paired_gain
from components.evaluation_report.component import EvaluationReport
from components.layerwise_pretrainer.component import LayerwisePretrainer
from components.push_gate.component import PushGate
from components.schema_gen.component import KeptSchemaGen
from components.schema_gen.component import SchemaGen
from components.serving_check.component import ServingCheck
from components.tfds_example_gen.component import TFDSExampleGen
from models import export
from models import methods
from models import preprocessing
from models import run_fn as run_fn_lib
from pipeline import config as config_lib
from pipeline import kept_schema
from pipeline.code_version import ROOT, code_hash
from sources import features
from sources import local_files
from sources import splits

PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"
RUN_FN = "models.run_fn.run_fn"
_MODEL_CODE = ROOT / "models"
_EXAMPLE_CODE = ("sources", "components/tfds_example_gen")  # what writes the examples

# Component ids, as they appear in ml-metadata and in the Kubeflow pipeline.
EXAMPLE_GEN = "TFDSExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "SchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
DATA_GATE = "DataValidationGate"
TRANSFORM = "Transform"
PRETRAINER = "LayerwisePretrainer"
TRAINER = "Trainer"
REFERENCE_TRAINER = "ReferenceTrainer"  # supervised on the same labels, for pool methods
BASELINE_RESOLVER = "LatestBlessedModelResolver"
EVALUATOR = "Evaluator"
REFERENCE_EVALUATOR = "ReferenceEvaluator"  # the candidate against the reference, on test
PUSH_GATE = "PushGate"
SERVING_CHECK = "ServingCheck"
INFRA_VALIDATOR = "InfraValidator"
PUSHER = "Pusher"
REPORT = "EvaluationReport"
DATA_STAGE = (EXAMPLE_GEN, STATISTICS_GEN, SCHEMA_GEN, EXAMPLE_VALIDATOR, DATA_GATE, TRANSFORM)


def model_code_version() -> str:
  """A hash of the model code: import-path user code is not part of TFX's cache key."""
  return code_hash(_MODEL_CODE)  # the method and architecture folders too


def eval_config(evaluation: Optional[config_lib.EvaluationConfig],
                paired: bool = False) -> tfma.EvalConfig:
  """Accuracy overall and per class on `test`; the thresholds decide the blessing (none: a
  comparison only); `paired`: the gain over the baseline model with its interval too."""
  overall = tfma.SlicingSpec()
  accuracy = tfma.MetricConfig(class_name="SparseCategoricalAccuracy")
  if evaluation is not None:
    gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            lower_bound={"value": evaluation.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -evaluation.max_regression}))
    # The gate judges the overall accuracy only; per-class accuracy is for the report.
    accuracy = tfma.MetricConfig(
        class_name="SparseCategoricalAccuracy",
        per_slice_thresholds=[tfma.PerSliceMetricThreshold(slicing_specs=[overall],
                                                           threshold=gate)])
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(signature_name=export.SERVING_SIGNATURE,
                                  label_key=features.LABEL_KEY,
                                  prediction_key=export.PREDICTION_KEY)],
      slicing_specs=[overall, tfma.SlicingSpec(feature_keys=[features.CLASS_NAME_KEY])],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          accuracy, tfma.MetricConfig(class_name="ExampleCount"),
          tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot")] + (
              [tfma.MetricConfig(class_name=paired_gain.PairedAccuracyGain.__name__,
                                 module=paired_gain.__name__)] if paired else []))])


def _data_stage(config: config_lib.PipelineConfig, code_version: str) -> List[base_node.BaseNode]:
  """ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> gate -> Transform."""
  data = config.data
  example_gen = TFDSExampleGen(
      dataset=data.source_name, tfds_data_dir=data.tfds_data_dir, manual_dir=data.manual_dir,
      label_budget=data.label_budget, seed=data.seed, train_split=data.train_split,
      test_split=data.test_split, classes=data.classes, skip_bad_images=data.skip_bad_images,
      # The examples' code is part of it too: a changed writer must not reuse old examples.
      source_fingerprint="-".join((local_files.fingerprint(data.dataset, data.manual_dir),
                                   code_hash(ROOT, _EXAMPLE_CODE))),
      extra_labels=data.extra_labels,
  ).with_id(EXAMPLE_GEN)
  statistics_gen = tfx_components.StatisticsGen(
      examples=example_gen.outputs["examples"]).with_id(STATISTICS_GEN)
  if data.schema_file:  # the user's schema; the node keeps its id, whichever writes the schema
    schema_gen = KeptSchemaGen(schema_file=data.schema_file,
                               schema_sha256=kept_schema.sha256(data.schema_file)
                               ).with_id(SCHEMA_GEN)
  else:
    schema_gen = SchemaGen(
        statistics=statistics_gen.outputs["statistics"]).with_id(SCHEMA_GEN)
  example_validator = tfx_components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"],
      schema=schema_gen.outputs["schema"]).with_id(EXAMPLE_VALIDATOR)
  data_gate = DataValidationGate(
      anomalies=example_validator.outputs["anomalies"],
      statistics=statistics_gen.outputs["statistics"],
      kept_schema=schema_gen.outputs["schema"] if data.schema_file else None).with_id(DATA_GATE)
  transform = tfx_components.Transform(
      examples=example_gen.outputs["examples"],
      schema=schema_gen.outputs["schema"],
      preprocessing_fn=PREPROCESSING_FN,
      # No analyzers in preprocessing_fn: analysing the smallest split is enough.
      splits_config=transform_pb2.SplitsConfig(
          analyze=[splits.LABELED_SPLIT],
          transform=[splits.LABELED_SPLIT, splits.UNLABELED_SPLIT]),
      custom_config={run_fn_lib.CODE_VERSION_KEY: code_version,
                     preprocessing.IMAGE_SHAPE_KEY: list(config.model.image_shape)},
      # StatisticsGen already describes the examples, and Transform passes the pixels on as they
      # are: its own pre- and post-transform statistics would only repeat them, and the in-memory
      # runner holds every transformed example until those statistics can start.
      disable_statistics=True,
  ).with_id(TRANSFORM)
  transform.add_upstream_node(data_gate)  # a failed gate stops everything after it
  return [example_gen, statistics_gen, schema_gen, example_validator, data_gate, transform]


def create_pipeline(config: config_lib.PipelineConfig, class_names: Sequence[str],
                    metadata_connection_config: Optional[object] = None,
                    data_stage_only: bool = False) -> tfx_pipeline.Pipeline:
  """The whole pipeline; `data_stage_only` stops after Transform (the ingest benchmark)."""
  code_version = model_code_version()
  components = _data_stage(config, code_version)
  if not data_stage_only:
    components += _model_stage(config, list(class_names), code_version, components)
  return tfx_pipeline.Pipeline(
      pipeline_name=config.name,
      pipeline_root=config.pipeline_root,
      components=components,
      enable_cache=True,
      metadata_connection_config=metadata_connection_config,
      # Only a run launched here brings its own ml-metadata; Kubeflow's orchestrator owns its own.
      beam_pipeline_args=beam_args(config.beam_pipeline_args,
                                   launched_here=metadata_connection_config is not None))


# The Beam options by which TFX sees that the workers get their code some way (its
# dependency_utils.make_beam_dependency_flags).
_CODE_SHIPPING_FLAGS = ("--extra_package", "--extra_packages", "--setup_file", "--requirements_file",
                        "--worker_harness_container_image", "--sdk_container_image")


def beam_args(args: Sequence[str], launched_here: bool) -> List[str]:
  """The Beam options, plus this checkout's setup.py for a pipeline launched from this machine.

  Without any way to ship code, TFX copies its own installation (42 MB) into a new temp dir and
  builds an sdist from it at every Beam component, 1-3 s each, and never deletes it: a test suite
  filled a disk that way. The setup.py ships this package (and TFX through its requirements) to a
  remote runner, whose workers need both; the DirectRunner does not read it. A compiled pipeline
  (`launched_here` False) runs from the image, where this machine's path means nothing.
  """
  args = list(args)
  setup_file = ROOT / "setup.py"
  ships_code = any(a.split("=", 1)[0] in _CODE_SHIPPING_FLAGS for a in args)
  if launched_here and setup_file.is_file() and not ships_code:
    args.append(f"--setup_file={setup_file}")
  return args


def trainer_custom_config(config: config_lib.PipelineConfig, class_names: Sequence[str],
                          code_version: str) -> dict:
  """The Trainer's settings, as recorded in ml-metadata (sweeps find finished cells by them)."""
  return {
      run_fn_lib.METHOD_KEY: config.method,
      run_fn_lib.METHOD_SETTINGS_KEY: config_lib.to_dict(config.settings),
      run_fn_lib.MODEL_CONFIG_KEY: config_lib.to_dict(config.model),
      run_fn_lib.TRAINING_CONFIG_KEY: config_lib.to_dict(config.training),
      run_fn_lib.DIAGNOSTIC_SOURCE_KEY: dataclasses.asdict(config.data.source),
      run_fn_lib.NUM_CLASSES_KEY: len(class_names),
      run_fn_lib.CLASS_NAMES_KEY: list(class_names),
      run_fn_lib.IMAGE_POLARITY_KEY: config.data.image_polarity,
      run_fn_lib.CODE_VERSION_KEY: code_version,
  }


def _trainer(config: config_lib.PipelineConfig, component_id: str, class_names: List[str],
             code_version: str, transform, schema_gen, base_model: dict):
  """A Trainer of `config.method` (the run_fn), on Vertex AI when the config says so."""
  train_splits = [splits.LABELED_SPLIT]
  if config.method_spec.uses_unlabeled:
    train_splits.append(splits.UNLABELED_SPLIT)  # the pool
  trainer_class, vertex_config = tfx_components.Trainer, {}
  if config.vertex.enabled:
    from tfx.v1.extensions import google_cloud_ai_platform as vertex
    trainer_class = vertex.Trainer
    vertex_config = {
        vertex.ENABLE_VERTEX_KEY: True,
        vertex.VERTEX_REGION_KEY: config.vertex.region,
        vertex.TRAINING_ARGS_KEY: config.vertex.job_args(config.vertex.trainers, config.image),
    }
  return trainer_class(
      run_fn=RUN_FN,
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      schema=schema_gen.outputs["schema"],
      train_args=trainer_pb2.TrainArgs(splits=train_splits),
      # Model selection never looks at `test`: a validation part of the labeled split decides.
      eval_args=trainer_pb2.EvalArgs(splits=[splits.LABELED_SPLIT]),
      custom_config={**trainer_custom_config(config, class_names, code_version),
                     **vertex_config},
      **base_model).with_id(component_id)


def _tf_serving_check(model, example_gen) -> base_node.BaseNode:
  """TFX's InfraValidator: the model in TF Serving's container (Docker) answers
  ClassificationRequests of `test` examples through its classify signature."""
  from tfx.proto import infra_validator_pb2
  serving = infra_validator_pb2.ServingSpec(
      tensorflow_serving=infra_validator_pb2.TensorFlowServing(tags=["latest"]),
      local_docker=infra_validator_pb2.LocalDockerConfig())
  return tfx_components.InfraValidator(
      model=model, examples=example_gen.outputs["examples"], serving_spec=serving,
      request_spec=infra_validator_pb2.RequestSpec(
          tensorflow_serving=infra_validator_pb2.TensorFlowServingRequestSpec(
              signature_names=[export.CLASSIFY_SIGNATURE]),
          split_name=splits.TEST_SPLIT, num_examples=16),
      validation_spec=infra_validator_pb2.ValidationSpec(max_loading_time_seconds=120,
                                                         num_tries=3)).with_id(INFRA_VALIDATOR)


def _model_stage(config: config_lib.PipelineConfig, class_names: List[str], code_version: str,
                 data_stage: List[base_node.BaseNode]) -> List[base_node.BaseNode]:
  """[LayerwisePretrainer ->] Trainer -> Evaluator (against the latest pushed model) -> Pusher,
  and the report. A pool method's run also trains the supervised reference on the same labels
  (ReferenceTrainer), compares the two on `test` (ReferenceEvaluator) and lets PushGate choose
  what the Pusher pushes. Before the Pusher, the ServingCheck serves the chosen model in a fresh
  process (and TFX's InfraValidator in TF Serving, if `evaluation.tf_serving_check` says where).
  Without pushing (sweeps): no baseline, no gate, no check, no Pusher."""
  example_gen, statistics_gen, schema_gen, example_validator, _, transform = data_stage
  pretrainer, base_model = [], {}
  if config.method_spec.needs_encoder:
    pretrainer = [LayerwisePretrainer(
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        model=config.model, pretraining=config.pretraining, seed=config.training.seed,
        code_version=code_version,
        vertex_job=({"region": config.vertex.region, "job_args": config.vertex.job_args(
            config.vertex.pretrainer_pools, config.image)} if config.vertex.enabled else None)
    ).with_id(PRETRAINER)]
    base_model = {"base_model": pretrainer[0].outputs["model"]}
  reference = []
  if config.has_reference:
    reference = [_trainer(config.reference_config, REFERENCE_TRAINER, class_names, code_version,
                          transform, schema_gen, {})]
    if methods.starts_from_reference(config.method, config.settings):
      # The candidate's warm start is the reference's very fit: trained once, in the reference.
      base_model = {"base_model": reference[0].outputs["model"]}
  trainer = _trainer(config, TRAINER, class_names, code_version, transform, schema_gen,
                     base_model)

  baseline = []
  if config.push:
    # The last pushed model: the one the ServingCheck cleared for the Pusher.
    blessings = channel.Channel(type=standard_artifacts.ModelBlessing,
                                producer_component_id=SERVING_CHECK)
    baseline = [resolver.Resolver(
        strategy_class=latest_blessed_model_strategy.LatestBlessedModelStrategy,
        model=channel.Channel(type=standard_artifacts.Model),
        model_blessing=blessings,
    ).with_id(BASELINE_RESOLVER)]
  evaluator = tfx_components.Evaluator(
      examples=example_gen.outputs["examples"],
      model=trainer.outputs["model"],
      baseline_model=baseline[0].outputs["model"] if baseline else None,
      example_splits=[splits.TEST_SPLIT],
      eval_config=eval_config(config.evaluation)).with_id(EVALUATOR)
  compared = []
  if reference:
    # Both models on `test`, overall and per class; the numbers decide in PushGate.
    compared = [tfx_components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=reference[0].outputs["model"],
        example_splits=[splits.TEST_SPLIT],
        eval_config=eval_config(None, paired=True)).with_id(REFERENCE_EVALUATOR)]
  gate, check, infra, pusher = [], [], [], []
  if config.push:
    push_model, push_blessing = trainer.outputs["model"], evaluator.outputs["blessing"]
    if reference:
      gate = [PushGate(
          evaluation=evaluator.outputs["evaluation"], blessing=evaluator.outputs["blessing"],
          reference_evaluation=compared[0].outputs["evaluation"], model=trainer.outputs["model"],
          reference_model=reference[0].outputs["model"],
          min_accuracy=config.evaluation.min_accuracy,
          max_regression=config.evaluation.max_regression,
          max_loss_to_reference=config.evaluation.max_loss_to_reference,
          push_reference_if_better=config.evaluation.push_reference_if_better,
          gain_rule=config.evaluation.gain_rule,
      ).with_id(PUSH_GATE)]
      push_model, push_blessing = gate[0].outputs["chosen_model"], gate[0].outputs["decision"]
    check = [ServingCheck(model=push_model, blessing=push_blessing,
                          examples=example_gen.outputs["examples"]).with_id(SERVING_CHECK)]
    if config.evaluation.tf_serving_check == "docker":
      infra = [_tf_serving_check(push_model, example_gen)]
    pusher = [tfx_components.Pusher(
        model=push_model,
        model_blessing=check[0].outputs["decision"],
        infra_blessing=infra[0].outputs["blessing"] if infra else None,
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(
                base_directory=config.serving_dir)),
        # Each version whole or absent in serving_model/ (components/atomic_pusher).
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    ).with_id(PUSHER)]
  report = EvaluationReport(
      evaluation=evaluator.outputs["evaluation"], blessing=evaluator.outputs["blessing"],
      examples=example_gen.outputs["examples"], statistics=statistics_gen.outputs["statistics"],
      anomalies=example_validator.outputs["anomalies"], model_run=trainer.outputs["model_run"],
      pretrained_model=pretrainer[0].outputs["model"] if pretrainer else None,
      reference_evaluation=compared[0].outputs["evaluation"] if compared else None,
      decision=gate[0].outputs["decision"] if gate else None,
      serving_check=check[0].outputs["decision"] if check else None,
      model=trainer.outputs["model"],
      class_names=class_names, method=config.method,
      min_accuracy=config.evaluation.min_accuracy,
      max_regression=config.evaluation.max_regression).with_id(REPORT)
  return (pretrainer + [trainer] + reference + baseline + [evaluator] + compared + gate + check
          + infra + pusher + [report])
