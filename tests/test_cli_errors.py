"""Bad input on the command line: one line on stderr naming the value, no output left behind."""
import pytest

from pipeline import cli
from tests.conftest import TINY_DATA


def _fails(capsys, argv, fragment, code=1):
  with pytest.raises(SystemExit) if code == 2 else _no_raise():
    assert cli.main(argv) == code
  err = capsys.readouterr().err.strip()
  # Progress bars of data generation may come first; the error is one line, and no traceback.
  assert "Traceback" not in err, err
  message = err.splitlines()[-1].split("\r")[-1]
  assert message.startswith("fewlabels"), err
  assert fragment in message, err


class _no_raise:
  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False


@pytest.mark.parametrize("argv,fragment", [
    (["--data", "no_such_dataset"], "unknown data set 'no_such_dataset'"),
    (["--data", "doodles/huge"], "doodles config 'huge'"),
    (["--labels", "0"], "label budget '0'"),
    (["--labels", "-3"], "label budget '-3'"),
    (["--labels", "5000"], "label budget 5000 is larger than the 1000 training images"),
    (["--labels", "5"], "label budget 5 gives 5 labeled images, fewer than the 10 classes"),
    (["--labels", "0.5%"], "fewer than the 10 classes"),
    (["--beam-runner", "MagicRunner"], "beam runner 'MagicRunner' is unknown"),
    (["--model", "lstm", "--lstm-width", "0"], "lstm width 0 must be a positive integer"),
    (["--lstm-width", "32"], "--lstm-width is a setting of architecture 'lstm', and the run's "
                             "is 'cnn': add --model lstm"),
    (["--set", "model.depth=3"], "architecture 'cnn' has no setting 'depth': expected one of "
                                 "width"),
    (["--min-accuracy", "1.5"], "evaluation min_accuracy 1.5"),
    (["--validation-fraction", "1"], "training validation_fraction 1.0"),
    (["--classes", "cat,zebra"], "class 'zebra' is not in the data set's 10 classes"),
    (["--classes", "cat,dog,cat"], "class 'cat' is listed twice"),
    (["--test-split", "holdout:many"], "test split 'holdout:many' must be holdout:N"),
    (["--test-split", "validation"], "has no split 'validation'"),
    (["--method", "magic"], "method 'magic' does not exist: expected one of consistency, "),
    (["--method", "self_training", "--validation-fraction", "0"],
     "method 'self_training' decides on a validation part"),
    (["--method", "layerwise", "--labels", "100%"],
     "method 'layerwise' learns from unlabeled images but the label budget leaves none"),
    (["--method", "self_training", "--set", "window=0"], "self_training window 0"),
    (["--set", "threshold=2"], "consistency threshold 2.0 must be in [0, 1]"),
    (["--set", "nosuch=1"], "method 'pretrained_consistency' has no setting 'nosuch': expected"),
    (["--set", "model.width=wide"], "architecture 'cnn' width 'wide' must be an integer"),
    (["--set", "threshold"], "--set 'threshold' must be [SECTION.]FIELD=VALUE"),
    (["--set", "optimizer.lr=1"], "section 'optimizer' must be one of model, training"),
    (["--model", "rnn"], "architecture 'rnn' does not exist: expected one of cnn, lstm"),
    (["--model", "cnn", "--method", "layerwise", "--pretext", "next_row"],
     "pretext 'next_row' does not fit architecture 'cnn': it takes denoise"),
    (["--model", "lstm", "--method", "layerwise", "--pretext", "magic"],
     "pretext 'magic' does not exist"),
    (["--pretrain-steps", "0"], "pretraining steps_per_stage 0 must be an integer >= 1"),
    (["--max-loss-to-reference", "-0.1"], "evaluation max_loss_to_reference -0.1 must be in"),
    (["--max-loss-to-reference", "1.5"], "evaluation max_loss_to_reference 1.5 must be in"),
    (["--reference", "self_training"], "reference 'self_training' does not exist: expected "
                                       "supervised or none"),
    (["--extra-labels", "/nowhere/labels.csv"], "--extra-labels '/nowhere/labels.csv': no such"),
    (["--data", "image_folder"], "data set 'image_folder' needs the folder: --manual-dir DIR"),
    (["--data", "image_folder", "--manual-dir", "/nowhere"], "/nowhere: image folder not found"),
    (["--schema", "/nowhere/schema.pbtxt"], "schema file '/nowhere/schema.pbtxt' does not exist"),
    (["--set", "evaluation.gain_rule=median"], "evaluation gain_rule 'median' must be one of "
                                               "estimate, interval"),
    (["--set", "off_topic=drop"], "consistency off_topic 'drop' must be one of off, report, "
                                  "leave_out"),
    (["--batch-size", "many"], "training batch_size 'many' must be a positive integer or 'auto'"),
    (["--epochs", "ten"], "training epochs 'ten' must be an integer"),
    (["--training-min-epochs", "-1"], "training min_epochs -1 must be an integer >= 0"),
    (["--evaluation-tf-serving-check", "kubernetes"],
     "evaluation tf_serving_check 'kubernetes' must be one of none, docker"),
    (["--data", "image_folder", "--image-size", "0"],
     "image size 0 must be a whole number of pixels from 8 to 512"),
    (["--data", "image_folder", "--image-size", "513"], "image size 513 must be"),
    (["--data", "image_folder", "--image-size", "big"], "data image_size 'big' must be an integer"),
    (["--data", "image_folder", "--color", "--model", "lstm", "--method", "supervised"],
     "architecture 'lstm' cannot read pictures of 3 channels (28 x 28 x 3)"),
    (["--data", "image_folder/dark_on_light", "--color"],
     "--color keeps the pictures' colours: the ink polarity 'dark_on_light'"),
    (["--color"], "--image-size and --color apply to image folders: data set"),
    (["--image-size", "64"], "--image-size and --color apply to image folders"),
])
def test_run_refuses_bad_values(capsys, tmp_path, tfds_dir, argv, fragment):
  output = tmp_path / "out"
  base = ["run", "--data", TINY_DATA, "--tfds-data-dir", tfds_dir, "--output", str(output)]
  _fails(capsys, base + argv, fragment)
  assert not output.exists()  # nothing half-written that could pass for a result


@pytest.mark.parametrize("argv,fragment", [
    (["deploy"], "invalid choice: 'deploy'"),
    (["compile", "--pipeline-root", "gs://b/r"], "--output"),
])
def test_usage_mistakes_are_one_line(capsys, argv, fragment):
  _fails(capsys, argv, fragment, code=2)


def test_schema_without_a_run_or_into_a_folder_is_one_line(capsys, tmp_path):
  _fails(capsys, ["schema", "--output", str(tmp_path / "none"), "--write",
                  str(tmp_path / "s.pbtxt")], "holds no pipeline run: run `fewlabels run")
  assert not (tmp_path / "s.pbtxt").exists()


def test_catalog_data_set_not_prepared_says_what_to_do(capsys, tmp_path):
  _fails(capsys, ["run", "--data", "mnist", "--tfds-data-dir", str(tmp_path)],
         "data set 'mnist' is not prepared in TFDS data dir")


def test_an_empty_class_file_is_named(capsys, tmp_path):
  manual = tmp_path / "quickdraw"
  manual.mkdir()
  (manual / "cat.npy").write_bytes(b"")
  output = tmp_path / "out"
  _fails(capsys, ["run", "--data", "quickdraw_files/cat+dog_train10_test10", "--manual-dir",
                  str(manual), "--output", str(output)],
         f"{manual / 'cat.npy'}: the file is empty (0 bytes)")
  assert not output.exists()


def test_an_output_that_is_a_file_is_named(capsys, tmp_path):
  output = tmp_path / "results.txt"
  output.write_text("keep me")
  _fails(capsys, ["run", "--output", str(output)],
         f"--output '{output}' is a file: expected a directory")
  assert output.read_text() == "keep me"


def test_the_command_line_is_checked_before_tensorflow_loads(tmp_path):
  """A typo is answered in about a second: nothing heavy is imported to find it."""
  import subprocess
  import sys
  code = ("import sys\n"
          "from pipeline import cli\n"
          "for argv in (['run', '--labels', '0'], ['run', '--set', 'threshold=2'],\n"
          "             ['run', '--method', 'magic'], ['run', '--output', sys.argv[1]],\n"
          "             ['run', '--data', 'doodles/tiny', '--labels', '5000']):\n"
          "  assert cli.main(argv) == 1, argv\n"
          "try:\n"
          "  cli.main(['run', '--help'])\n"
          "except SystemExit:\n"
          "  pass\n"
          "print(sorted(m for m in ('tensorflow', 'tfx', 'apache_beam')\n"
          "             if m in sys.modules))\n")
  existing_file = tmp_path / "file"
  existing_file.write_text("")
  done = subprocess.run([sys.executable, "-c", code, str(existing_file)], capture_output=True,
                        text=True, timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]
  assert done.stdout.strip().splitlines()[-1] == "[]"
  errors = [line for line in done.stderr.splitlines() if line.startswith("fewlabels: error")]
  assert len(errors) == 5 and "Traceback" not in done.stderr
  assert "label budget 5000 is larger than the 1000 training images" in errors[-1]


def test_predict_and_suggest_name_what_is_missing(capsys, tmp_path):
  _fails(capsys, ["predict", "--output", str(tmp_path), "picture.png"],
         f"--output '{tmp_path}' has no pushed model")
  _fails(capsys, ["predict", "--model", str(tmp_path / "none"), "picture.png"],
         "is not a directory")
  _fails(capsys, ["suggest", "--output", str(tmp_path)], "holds no run (no metadata.sqlite)")
  assert list(tmp_path.iterdir()) == []
