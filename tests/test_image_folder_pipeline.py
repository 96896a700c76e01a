"""A folder of your own pictures through the whole pipeline (LocalDagRunner): the pushed model
answers with the folder names, from tf.Examples and from picture bytes alike, and `predict`
agrees with it; the source, the model's image signature and `predict` see the same pixels."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from sources import examples as examples_lib
from components.evaluation import results
from components.tfds_example_gen import spec as example_gen_spec
from models import export
from models import run_fn
from pipeline import config as config_lib
from pipeline import local_runner
from pipeline import pipeline as pipeline_lib
from pipeline import predict
from sources import drawing_image
from sources import features
from sources import image_folder
from sources import split_order
from sources import tfds_source
from tests import image_folder_data
from tests.conftest import with_method

pytestmark = pytest.mark.slow

LABELED, UNLABELED, TEST = 100, 300, 30  # per class, in all, per class


@pytest.fixture(scope="module")
def run(tmp_path_factory, tfds_dir):
  root = str(tmp_path_factory.mktemp("own") / "my pictures")
  image_folder_data.write(root, labeled=LABELED, unlabeled=UNLABELED, test=TEST)
  output = str(tmp_path_factory.mktemp("own_run"))
  config = with_method(config_lib.PipelineConfig(
      name="fewlabels-own", output_dir=output,
      data=config_lib.DataConfig(dataset="image_folder", tfds_data_dir=tfds_dir, manual_dir=root,
                                 label_budget="all"),
      model=config_lib.ModelConfig(architecture="cnn", settings=(("width", 8),)),
      training=config_lib.TrainingConfig(epochs=6, min_epochs=0),
      evaluation=config_lib.EvaluationConfig(min_accuracy=0.5)), "consistency")
  summary = local_runner.run(config)
  builder = tfds_source.load_builder(config.data.source)
  return {"root": root, "config": config, "summary": summary, "builder": builder}


def _source_pixels(run, split):
  """{path relative to the folder: the pixels the source stored}."""
  pixels = {}
  for example in split_order.read(run["builder"], split):
    path = example[image_folder.PATH_KEY].numpy().decode("utf-8")
    pixels[path] = example["image"].numpy()[..., 0]
  return pixels


def test_the_splits_are_the_folders_and_the_pile_keeps_no_label(run):
  summary = run["summary"]
  assert summary.split_counts == {"labeled": 2 * LABELED, "unlabeled": UNLABELED,
                                  "test": 2 * TEST}
  examples = summary.components[pipeline_lib.EXAMPLE_GEN].output("examples")
  names = json.loads(examples.custom_properties[example_gen_spec.CLASS_NAMES_PROPERTY].string_value)
  assert tuple(names) == image_folder_data.CLASSES
  assert json.loads(
      examples.custom_properties[example_gen_spec.SKIPPED_IMAGES_PROPERTY].string_value) == []
  # The pool had no true labels: its pseudo-labels are reported as not scored, not as 0.
  model_run = summary.components[pipeline_lib.TRAINER].output("model_run")
  with open(os.path.join(model_run.uri, run_fn.HISTORY_FILE)) as f:
    history = json.load(f)
  assert history["pool_labels_known"] is False
  assert all(name not in epoch for epoch in history["epochs"]
             for name in ("pseudo_label_accuracy", "pool_accuracy"))
  with open(summary.report, encoding="utf-8") as f:
    report = f.read()
  assert "no labels" in report and image_folder_data.CLASSES[1] in report
  # The Evaluator's per-class slices are the class names themselves.
  evaluation = summary.components[pipeline_lib.EVALUATOR].output("evaluation").uri
  per_class = results.read_evaluation(evaluation)["per_class"]
  assert sorted(per_class) == sorted(image_folder_data.CLASSES)
  assert all(m["example_count"] == TEST for m in per_class.values())


def test_the_pushed_model_answers_with_the_folder_names(run):
  summary = run["summary"]
  assert summary.pushed_to, summary.push_reason
  loaded = tf.saved_model.load(summary.pushed_to)
  names = loaded.signatures[export.NAMES_SIGNATURE]()[export.NAMES_SIGNATURE].numpy()
  assert tuple(n.decode() for n in names) == image_folder_data.CLASSES
  test = _source_pixels(run, "test")
  paths = sorted(test)
  out = loaded.signatures[export.SERVING_SIGNATURE](examples=tf.constant(
      [examples_lib.image_example(test[p]) for p in paths]))
  classes = out[export.CLASSES_KEY].numpy()
  scores = out[export.SCORES_KEY].numpy()
  assert classes.shape == scores.shape == (len(paths), 2)
  assert (np.diff(scores, axis=1) <= 0).all()  # best first
  truth = [p.split(os.sep)[1] for p in paths]
  accuracy = np.mean([c[0].decode() == t for c, t in zip(classes, truth)])
  assert accuracy == pytest.approx(summary.test_accuracy, abs=1e-6)
  # The probabilities in class order are the sorted scores, put back.
  probabilities = out[export.PREDICTION_KEY].numpy()
  np.testing.assert_allclose(np.sort(probabilities, axis=1)[:, ::-1], scores, atol=1e-6)


def test_source_signature_and_predict_see_the_same_pixels_and_give_the_same_answers(run):
  root, model_dir = run["root"], run["summary"].pushed_to
  test = _source_pixels(run, "test")
  chosen = sorted(p for p in test if p.endswith(".png"))[:3] + sorted(
      p for p in test if p.endswith(".jpg"))[:3]
  loaded = tf.saved_model.load(model_dir)
  by_examples = loaded.signatures[export.SERVING_SIGNATURE](examples=tf.constant(
      [examples_lib.image_example(test[p]) for p in chosen]))
  encoded = [open(os.path.join(root, p), "rb").read() for p in chosen]
  by_bytes = loaded.signatures[export.IMAGE_SIGNATURE](images=tf.constant(encoded))
  np.testing.assert_allclose(by_bytes[export.PREDICTION_KEY].numpy(),
                             by_examples[export.PREDICTION_KEY].numpy(), atol=1e-6)
  answers = list(predict.predict(model_dir, [os.path.join(root, p) for p in chosen]))
  for path, data, answer, classes, scores in zip(
      chosen, encoded, answers, by_examples[export.CLASSES_KEY].numpy(),
      by_examples[export.SCORES_KEY].numpy()):
    file_pixels = drawing_image.to_picture(os.path.join(root, path), features.DRAWING_SHAPE)
    np.testing.assert_array_equal(file_pixels, test[path])  # source == predict's conversion
    np.testing.assert_array_equal(drawing_image.picture_from_bytes(
        tf.constant(data), features.DRAWING_SHAPE).numpy(), test[path])  # == the signature's
    assert answer.classes == tuple(c.decode() for c in classes)
    np.testing.assert_allclose(answer.scores, scores, atol=1e-6)


def test_predict_on_the_command_line(run, tmp_path):
  root = run["root"]
  folder = os.path.join(root, "test", image_folder_data.CLASSES[1])
  broken = tmp_path / "broken.png"
  broken.write_bytes(b"\x89PNG\r\n\x1a\n")
  rows = tmp_path / "rows.npy"
  np.save(rows, np.zeros((2, 784), np.uint8))
  done = subprocess.run(
      [sys.executable, "-m", "pipeline.cli", "predict", "--output", run["config"].output_dir,
       "--json", "--top", "1", folder, str(broken), str(rows)],
      capture_output=True, text=True, timeout=300)
  assert done.returncode == 1, done.stderr[-2000:]  # one file failed, the others answered
  lines = [json.loads(line) for line in done.stdout.splitlines()]
  assert len(lines) == TEST + 1 + 2
  answered = [l for l in lines if "classes" in l]
  assert all(len(l["classes"]) == 1 and l["classes"][0] in image_folder_data.CLASSES
             for l in answered)
  assert sum(l["classes"][0] == image_folder_data.CLASSES[1] for l in answered[:TEST]) > TEST / 2
  assert [l["path"] for l in lines if "error" in l] == [str(broken)]
  assert lines[-1]["path"] == f"{rows}[1]"
  with pytest.raises(predict.PredictError, match=f"{tmp_path}: not a pushed model .no saved"):
    predict.find_model(str(tmp_path), None)
  with pytest.raises(predict.PredictError, match="has no pushed model"):
    predict.find_model(None, str(tmp_path))
