"""The Kubeflow V2 (Vertex AI Pipelines) spec: every task, its dependencies, the image."""
import dataclasses
import json

import pytest

from models import methods
from pipeline import cli
from pipeline import pipeline as pipeline_lib
from tests.test_cli_errors import _fails

pytestmark = pytest.mark.slow

IMAGE = "europe-docker.pkg.dev/example/fewlabels:1.2.3"


def test_compiled_spec_has_every_task_with_dependencies_and_image(tmp_path, capsys):
  output = tmp_path / "pipeline.json"
  assert cli.main(["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                   "--image", IMAGE, "--labels", "1%", "--beam-runner", "DataflowRunner",
                   "--beam-arg=--region=europe-west4"]) == 0
  assert str(output) in capsys.readouterr().out
  spec = json.loads(output.read_text())
  pipeline_spec = spec.get("pipelineSpec", spec)
  tasks = pipeline_spec["root"]["dag"]["tasks"]
  expected = set(pipeline_lib.DATA_STAGE) | {
      pipeline_lib.TRAINER, pipeline_lib.EVALUATOR, pipeline_lib.PUSHER, pipeline_lib.REPORT}
  assert expected <= set(tasks)
  # The Kubeflow V2 compiler splits the baseline Resolver into one task per resolved input.
  baseline_task = f"{pipeline_lib.BASELINE_RESOLVER}-model-resolver"
  assert baseline_task in tasks

  def depends(task):
    return set(tasks[task].get("dependentTasks", []))

  assert pipeline_lib.EXAMPLE_GEN in depends(pipeline_lib.STATISTICS_GEN)
  assert pipeline_lib.EXAMPLE_VALIDATOR in depends(pipeline_lib.DATA_GATE)
  assert pipeline_lib.DATA_GATE in depends(pipeline_lib.TRANSFORM)  # the gate holds the model stage
  assert pipeline_lib.TRANSFORM in depends(pipeline_lib.TRAINER)
  assert {pipeline_lib.TRAINER, pipeline_lib.EXAMPLE_GEN, baseline_task} <= depends(
      pipeline_lib.EVALUATOR)
  # The default method learns from the pool: the reference branch decides what is pushed.
  assert pipeline_lib.TRANSFORM in depends(pipeline_lib.REFERENCE_TRAINER)
  assert {pipeline_lib.TRAINER, pipeline_lib.REFERENCE_TRAINER} <= depends(
      pipeline_lib.REFERENCE_EVALUATOR)
  assert {pipeline_lib.EVALUATOR, pipeline_lib.REFERENCE_EVALUATOR} <= depends(
      pipeline_lib.PUSH_GATE)
  assert pipeline_lib.PUSH_GATE in depends(pipeline_lib.PUSHER)
  assert {pipeline_lib.EVALUATOR, pipeline_lib.TRAINER, pipeline_lib.STATISTICS_GEN} <= depends(
      pipeline_lib.REPORT)

  executors = pipeline_spec["deploymentSpec"]["executors"]
  containers = [e["container"] for e in executors.values() if "container" in e]
  assert containers and all(c["image"] == IMAGE for c in containers)
  text = output.read_text()
  assert "models.run_fn.run_fn" in text and "models.preprocessing.preprocessing_fn" in text
  assert "--runner=DataflowRunner" in text and "--region=europe-west4" in text
  assert "gs://bucket/root" in text
  # A path of the compiling machine would mean nothing inside the image.
  assert "--setup_file" not in text


def test_vertex_training_makes_every_training_stage_a_custom_job_with_its_pools(tmp_path):
  output = tmp_path / "vertex.json"
  assert cli.main(["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                   "--image", IMAGE, "--vertex-project", "my-project", "--vertex-region",
                   "europe-west4", "--replica-count", "3", "--machine-type", "n1-highmem-16",
                   "--accelerator-type", "NVIDIA_TESLA_T4", "--accelerator-count", "2",
                   "--pretrainer-replica-count", "2", "--pretrainer-machine-type",
                   "n1-standard-32"]) == 0
  spec = json.loads(output.read_text())
  pipeline_spec = spec.get("pipelineSpec", spec)
  for trainer in (pipeline_lib.TRAINER, pipeline_lib.REFERENCE_TRAINER):
    trainer_executor = next(e for name, e in pipeline_spec["deploymentSpec"]["executors"].items()
                            if name.startswith(trainer))
    assert trainer_executor["container"]["image"] == IMAGE
    # The custom_config travels as JSON inside the Trainer task's parameters.
    config = json.loads(_parameter(pipeline_spec, trainer, "custom_config"))
    assert config["ai_platform_training_args"]["project"] == "my-project"
    assert config["ai_platform_vertex_region"] == "europe-west4"
    assert config["ai_platform_enable_vertex"] is True
    pools = config["ai_platform_training_args"]["job_spec"]["worker_pool_specs"]
    assert [p["replica_count"] for p in pools] == [1, 2]  # the chief, then two workers
    for pool in pools:
      assert pool["container_spec"]["image_uri"] == IMAGE
      assert pool["machine_spec"] == {"machine_type": "n1-highmem-16",
                                      "accelerator_type": "NVIDIA_TESLA_T4",
                                      "accelerator_count": 2}
  # The pre-training stage has pools of its own (the accelerators are the trainers' unless
  # given): its executor starts the custom job.
  job = json.loads(_parameter(pipeline_spec, pipeline_lib.PRETRAINER, "vertex_job"))
  assert job["region"] == "europe-west4" and job["job_args"]["project"] == "my-project"
  pools = job["job_args"]["job_spec"]["worker_pool_specs"]
  assert [p["replica_count"] for p in pools] == [1, 1]
  assert {p["machine_spec"]["machine_type"] for p in pools} == {"n1-standard-32"}
  assert {p["container_spec"]["image_uri"] for p in pools} == {IMAGE}
  # Vertex AI's own client takes the file as it is (offline: anonymous credentials).
  from google.auth import credentials
  from google.cloud import aiplatform
  job = aiplatform.PipelineJob(
      display_name="fewlabels", template_path=str(output), pipeline_root="gs://bucket/root",
      project="my-project", location="europe-west4", credentials=credentials.AnonymousCredentials())
  assert {pipeline_lib.TRAINER, pipeline_lib.REFERENCE_TRAINER, pipeline_lib.PRETRAINER} <= set(
      job.to_dict()["pipelineSpec"]["root"]["dag"]["tasks"])


def test_without_vertex_training_no_stage_is_a_custom_job(tmp_path):
  output = tmp_path / "plain.json"
  assert cli.main(["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                   "--image", IMAGE]) == 0
  spec = json.loads(output.read_text())
  pipeline_spec = spec.get("pipelineSpec", spec)
  for trainer in (pipeline_lib.TRAINER, pipeline_lib.REFERENCE_TRAINER):
    assert "ai_platform_training_args" not in json.loads(
        _parameter(pipeline_spec, trainer, "custom_config"))
  assert "vertex_job" not in pipeline_spec["root"]["dag"]["tasks"][pipeline_lib.PRETRAINER][
      "inputs"]["parameters"]


@pytest.mark.parametrize("flags,fragment", [
    (["--accelerator-type", "NVIDIA_TESLA_T5", "--accelerator-count", "1"],
     "vertex trainer accelerator_type 'NVIDIA_TESLA_T5' is not one Vertex AI knows: expected "
     "one of NVIDIA_TESLA_K80"),
    (["--accelerator-count", "2"],
     "vertex trainer accelerator_type '' and accelerator_count 2 must be given together"),
    (["--pretrainer-replica-count", "0"],
     "vertex pretrainer replica_count 0 must be at least 1"),
    (["--machine-type", ""], "vertex trainer machine_type '' must name a machine type"),
])
def test_a_bad_worker_pool_is_one_line(capsys, tmp_path, flags, fragment):
  output = tmp_path / "spec.json"
  _fails(capsys, ["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                  "--image", IMAGE, "--vertex-project", "p", *flags], fragment)
  assert not output.exists()


def _parameter(pipeline_spec, task, name):
  parameters = pipeline_spec["root"]["dag"]["tasks"][task]["inputs"]["parameters"]
  return parameters[name]["runtimeValue"]["constantValue"]["stringValue"]


def _trainer_custom_config(pipeline_spec):
  return json.loads(_parameter(pipeline_spec, pipeline_lib.TRAINER, "custom_config"))


@pytest.mark.parametrize("method", methods.names())
def test_every_method_compiles_with_the_pretrainer_only_where_needed(tmp_path, method):
  output = tmp_path / f"{method}.json"
  assert cli.main(["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                   "--image", IMAGE, "--method", method]) == 0
  pipeline_spec = json.loads(output.read_text())
  pipeline_spec = pipeline_spec.get("pipelineSpec", pipeline_spec)
  tasks = pipeline_spec["root"]["dag"]["tasks"]
  pretrained = methods.get(method).needs_encoder
  assert (pipeline_lib.PRETRAINER in tasks) == pretrained
  trainer_inputs = tasks[pipeline_lib.TRAINER]["inputs"].get("artifacts", {})
  if pretrained:
    assert pipeline_lib.TRANSFORM in set(tasks[pipeline_lib.PRETRAINER]["dependentTasks"])
    assert trainer_inputs["base_model"]["taskOutputArtifact"]["producerTask"] == (
        pipeline_lib.PRETRAINER)
  elif methods.get(method).takes_reference_warm_start:
    # Its warm start is the reference's fit: the Trainer starts from the reference's model.
    assert trainer_inputs["base_model"]["taskOutputArtifact"]["producerTask"] == (
        pipeline_lib.REFERENCE_TRAINER)
  else:
    assert "base_model" not in trainer_inputs
  config = _trainer_custom_config(pipeline_spec)
  assert config["method"] == method
  train_args = tasks[pipeline_lib.TRAINER]["inputs"]["parameters"]["train_args"]
  expected_splits = (["labeled", "unlabeled"] if methods.get(method).uses_unlabeled
                     else ["labeled"])
  assert json.loads(train_args["runtimeValue"]["constantValue"]["stringValue"])["splits"] == (
      expected_splits)


def _queries(pipeline_spec):
  return [query["filter"] for executor in pipeline_spec["deploymentSpec"]["executors"].values()
          for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values()]


_CLEARED_QUERY = ('schema_title="tfx.ModelBlessing" AND state=LIVE AND '
                  'metadata.blessed.number_value=1 AND metadata.push_choice.number_value=1')


@pytest.mark.parametrize("flags", [[], ["--reference", "none"]])
def test_the_compiled_baseline_is_a_model_cleared_for_the_pusher(tmp_path, flags):
  output = tmp_path / "spec.json"
  assert cli.main(["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                   "--image", IMAGE, *flags]) == 0
  spec = json.loads(output.read_text())
  pipeline_spec = spec.get("pipelineSpec", spec)
  # The Evaluator's and the ReferenceEvaluator's blessings are ModelBlessings with blessed=1
  # too; only the ServingCheck's decisions have push_choice, 1 when it cleared the model that
  # the PushGate (or, without a reference, the Evaluator) chose.
  assert [q for q in _queries(pipeline_spec) if "ModelBlessing" in q] == [_CLEARED_QUERY]
  tasks = pipeline_spec["root"]["dag"]["tasks"]
  assert pipeline_lib.SERVING_CHECK in tasks[pipeline_lib.PUSHER]["dependentTasks"]


def test_tf_serving_check_adds_the_infra_validator_before_a_local_pusher(tiny_config, capsys,
                                                                       tmp_path):
  config = dataclasses.replace(tiny_config, evaluation=dataclasses.replace(
      tiny_config.evaluation, tf_serving_check="docker"))
  nodes = {node.id: node for node in pipeline_lib.create_pipeline(
      config, ["a", "b"]).components}
  from google.protobuf import json_format
  from tfx.proto import infra_validator_pb2
  infra = nodes[pipeline_lib.INFRA_VALIDATOR]
  properties = infra.exec_properties
  assert json_format.Parse(properties["serving_spec"], infra_validator_pb2.ServingSpec()).HasField(
      "local_docker")
  request = json_format.Parse(properties["request_spec"], infra_validator_pb2.RequestSpec())
  assert list(request.tensorflow_serving.signature_names) == ["classify"]
  assert nodes[pipeline_lib.PUSHER].inputs["infra_blessing"].producer_component_id == (
      pipeline_lib.INFRA_VALIDATOR)
  assert pipeline_lib.INFRA_VALIDATOR not in {node.id for node in pipeline_lib.create_pipeline(
      tiny_config, ["a", "b"]).components}
  # Kubeflow V2 cannot compile it: one line, no file.
  output = tmp_path / "spec.json"
  _fails(capsys, ["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                  "--image", IMAGE, "--set", "evaluation.tf_serving_check=docker"],
         "evaluation tf_serving_check 'docker' cannot compile: the Kubeflow V2 compiler has no "
         "InfraValidator")
  assert not output.exists()
  _fails(capsys, ["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                  "--image", IMAGE, "--set", "evaluation.tf_serving_check=podman"],
         "evaluation tf_serving_check 'podman' must be one of none, docker")


def test_reference_none_compiles_without_the_reference_branch(tmp_path):
  output = tmp_path / "plain.json"
  assert cli.main(["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                   "--image", IMAGE, "--reference", "none"]) == 0
  spec = json.loads(output.read_text())
  tasks = spec.get("pipelineSpec", spec)["root"]["dag"]["tasks"]
  # The Evaluator's blessing alone decides, through the serving check.
  assert pipeline_lib.EVALUATOR in set(tasks[pipeline_lib.SERVING_CHECK]["dependentTasks"])
  assert pipeline_lib.SERVING_CHECK in set(tasks[pipeline_lib.PUSHER]["dependentTasks"])
  assert not {pipeline_lib.REFERENCE_TRAINER, pipeline_lib.REFERENCE_EVALUATOR,
              pipeline_lib.PUSH_GATE} & set(tasks)


@pytest.mark.parametrize("image,fragment", [
    ("gcr.io/tfx-oss-public/tfx:1.16.0", "is TFX's stock image, which lacks this package"),
    ("", "container image '' is empty: build the Dockerfile"),
])
def test_an_image_without_this_package_is_refused(capsys, tmp_path, image, fragment):
  output = tmp_path / "spec.json"
  _fails(capsys, ["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                  "--image", image], fragment)
  assert not output.exists()


def test_a_run_from_here_ships_this_package_unless_told_how():
  dataflow = ["--runner=DataflowRunner", "--region=r"]
  shipped = pipeline_lib.beam_args(dataflow, launched_here=True)
  setup_file = shipped[-1].split("=", 1)[1]
  assert shipped[:2] == dataflow and shipped[-1].startswith("--setup_file=")
  assert "name=\"fewlabels\"" in open(setup_file).read()
  own = dataflow + ["--sdk_container_image", "europe-docker.pkg.dev/example/worker:1"]
  assert pipeline_lib.beam_args(own, launched_here=True) == own
  assert pipeline_lib.beam_args(dataflow, launched_here=False) == dataflow


def test_a_kept_schema_on_this_machine_cannot_compile(capsys, tmp_path):
  from google.protobuf import text_format
  from tensorflow_metadata.proto.v0 import schema_pb2

  from sources import features
  schema = schema_pb2.Schema()
  for name in features.ALL_KEYS:
    schema.feature.add(name=name)
  path = tmp_path / "schema.pbtxt"
  path.write_text(text_format.MessageToString(schema))
  output = tmp_path / "spec.json"
  _fails(capsys, ["compile", "--output", str(output), "--pipeline-root", "gs://bucket/root",
                  "--image", IMAGE, "--schema", str(path)],
         f"--schema {str(path)!r} is a path on this machine: a compiled pipeline reads it on "
         "the cluster; expected a gs:// path")
  assert not output.exists()
