"""Every field of a config section is a command-line flag, with its comment as help, and a new
field is a new flag with nothing else written."""
import argparse
import dataclasses

import pytest

from models import architectures
from pipeline import cli
from pipeline import config as config_lib
from pipeline import flags


def _changed(default):
  """A valid value other than the default, for the fields a generic rule can change."""
  if isinstance(default, bool):
    return not default, None
  if isinstance(default, int):
    return default + 1, str(default + 1)
  if isinstance(default, float):
    return (default + 1) / 2, str((default + 1) / 2)
  return None, None


def _scalar_fields():
  for section, cls in config_lib.SECTIONS.items():
    for field in dataclasses.fields(cls):
      default = getattr(cls(), field.name)
      if _changed(default)[0] is not None:
        yield section, field.name, default


@pytest.mark.parametrize("section,field,default", list(_scalar_fields()))
def test_every_number_and_switch_of_a_section_reaches_the_config_by_its_flag(section, field,
                                                                             default):
  value, text = _changed(default)
  name = f"--{section}-{field.replace('_', '-')}"
  # The pictures' geometry is a setting of image folders only (the others hold their own).
  base = ["run"] + (["--data", "image_folder"] if field in ("image_size", "color") else [])
  argv = base + ([name, text] if text is not None else [name if value else f"--no-{name[2:]}"])
  args = cli.build_parser().parse_args(argv)
  config = cli.config_from_args(args, "out")
  assert getattr(getattr(config, section), field) == pytest.approx(value)
  untouched = cli.config_from_args(cli.build_parser().parse_args(base), "out")
  others = {f.name for f in dataclasses.fields(config_lib.SECTIONS[section])} - {field}
  assert all(getattr(getattr(config, section), f) == getattr(getattr(untouched, section), f)
             for f in others if f != "label_budget")


@pytest.mark.parametrize("architecture", architectures.names())
def test_every_setting_of_an_architecture_is_a_flag_of_its_name(architecture):
  settings = architectures.get(architecture).settings
  for field in dataclasses.fields(settings):
    value = getattr(settings(), field.name) + 1
    args = cli.build_parser().parse_args(
        ["run", "--model", architecture, f"--{architecture}-{field.name.replace('_', '-')}",
         str(value), "--method", "supervised"])
    model = cli.config_from_args(args, "out").model
    assert getattr(architectures.settings(model), field.name) == value
    assert dict(model.settings) == {field.name: value}  # the others keep their defaults


def test_the_short_names_and_lists_reach_the_same_fields(tmp_path, monkeypatch):
  (tmp_path / "labels.csv").write_text("example_id,class_name\n")
  monkeypatch.chdir(tmp_path)  # a relative path is made absolute: components run elsewhere
  args = cli.build_parser().parse_args([
      "run", "--labels", "300", "--model", "lstm", "--classes", "cat,dog", "--epochs", "7",
      "--pretrain-steps", "12", "--no-push-reference-if-better", "--extra-labels", "labels.csv"])
  config = cli.config_from_args(args, "out")
  assert (config.data.label_budget, config.model.architecture, config.data.classes,
          config.training.epochs, config.pretraining.steps_per_stage,
          config.evaluation.push_reference_if_better) == ("300", "lstm", ("cat", "dog"), 7, 12,
                                                          False)
  assert config.data.extra_labels == str(tmp_path / "labels.csv")


def test_a_flag_not_given_keeps_the_default_that_follows_the_data_set():
  folder = cli.config_from_args(cli.build_parser().parse_args(
      ["run", "--data", "image_folder", "--manual-dir", "/tmp"]), "out")
  assert folder.data.label_budget == "all"
  assert cli.config_from_args(cli.build_parser().parse_args(["run"]), "out").data == (
      config_lib.DataConfig(label_budget=config_lib.default_label_budget("doodles/demo")))


def test_a_fields_help_is_its_comment():
  text = cli.build_parser()._subparsers._group_actions[0].choices["run"].format_help()
  assert "Early stopping watches epochs from this one on" in text  # training.min_epochs
  assert "--data-schema-file" in text and "--schema" in text


@dataclasses.dataclass(frozen=True)
class _NewSection:
  """A section a contributor adds."""
  # How many times to try,
  # counted from one.
  tries: int = 3
  fast: bool = False  # skip the slow part
  names: tuple = ("a", "b")


def test_a_new_field_is_a_new_flag_with_its_help():
  parser = argparse.ArgumentParser()
  flags.add_section_flags(parser, {"extra": _NewSection})
  args = parser.parse_args(["--extra-tries", "5", "--extra-fast", "--extra-names", "x,y"])
  assert flags.given(args, "extra", _NewSection) == {"tries": 5, "fast": True,
                                                     "names": ("x", "y")}
  assert flags.given(parser.parse_args([]), "extra", _NewSection) == {}
  assert flags.field_comments(_NewSection) == {"tries": "How many times to try, counted from one.",
                                               "fast": "skip the slow part", "names": ""}
