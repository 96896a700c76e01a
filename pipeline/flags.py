"""Command-line flags made from the config dataclasses: every field of a section is a flag
`--SECTION-FIELD`, and every field of an architecture's Settings `--ARCHITECTURE-FIELD`
(`--cnn-width`); the help is the comment beside or above the field, so that a new setting is
one field. A few short names are kept beside them (`--labels`, `--epochs`, ...), the flags
people type and the README shows."""
import argparse
import dataclasses
import inspect
import re
from typing import Any, Dict, List, Mapping, Type

from models import config as model_config

# Short names kept beside `--SECTION-FIELD`: the flags of every README example and script.
ALIASES = {
    "data.dataset": "--data", "data.tfds_data_dir": "--tfds-data-dir",
    "data.manual_dir": "--manual-dir", "data.classes": "--classes",
    "data.test_split": "--test-split", "data.label_budget": "--labels",
    "data.extra_labels": "--extra-labels", "data.schema_file": "--schema",
    "data.skip_bad_images": "--skip-bad-images", "data.seed": "--seed",
    "data.image_size": "--image-size", "data.color": "--color",
    "model.architecture": "--model",
    "training.epochs": "--epochs", "training.batch_size": "--batch-size",
    "training.base_learning_rate": "--learning-rate", "training.warmup_epochs": "--warmup-epochs",
    "training.validation_fraction": "--validation-fraction",
    "pretraining.pretext": "--pretext", "pretraining.steps_per_stage": "--pretrain-steps",
    "pretraining.batch_size": "--pretrain-batch-size",
    "pretraining.max_images": "--pretrain-max-images",
    "evaluation.min_accuracy": "--min-accuracy", "evaluation.max_regression": "--max-regression",
    "evaluation.max_loss_to_reference": "--max-loss-to-reference",
    "evaluation.push_reference_if_better": "--push-reference-if-better",
}
_METAVARS = {tuple: "A,B,...", int: "N", float: "X"}
_FIELD = re.compile(r"^  (\w+): [^=]+(?:= (.*))?$")
_COMMENT = re.compile(r"^  # ?(.*)$")


def field_comments(cls: Type[Any]) -> Dict[str, str]:
  """{field: its comment}: the comment lines right above the field and the one after it."""
  comments, above = {}, []
  for line in inspect.getsource(cls).splitlines()[1:]:
    if line.startswith("  def "):
      break
    comment, field = _COMMENT.match(line), _FIELD.match(line)
    if comment:
      above.append(comment.group(1))
    elif field:
      # Only a comment after the value: the field's default may itself hold a '#' in a string.
      beside = re.search(r"\s#\s?(.*)$", field.group(2) or "")
      comments[field.group(1)] = " ".join(above + ([beside.group(1)] if beside else []))
      above = []
    else:
      above = []
  return comments


def _kind(default: Any) -> str:
  if isinstance(default, bool):
    return "bool"
  if isinstance(default, tuple):
    return "list"
  return "value"


def flag_names(section: str, field: str) -> List[str]:
  """The field's short name if it has one, then `--SECTION-FIELD`."""
  key = f"{section}.{field}"
  return ([ALIASES[key]] if key in ALIASES else []) + [f"--{section}-{field.replace('_', '-')}"]


def add_section_flags(parser: argparse.ArgumentParser, sections: Mapping[str, Type[Any]],
                      more_help: Mapping[str, str] = (), title: str = "{} settings") -> None:
  """One argument group a section (`title` formatted with its name), one flag a field whose
  value is a number, a string, a boolean or a comma-separated list; `more_help` adds to a
  field's comment (SECTION.FIELD: e.g. the names a registry holds today). A flag not given
  leaves the namespace without it, so the dataclass's default (or one that depends on another
  setting) stays in charge."""
  more_help = dict(more_help)
  for section, cls in sections.items():
    if not dataclasses.fields(cls):
      continue
    group = parser.add_argument_group(title.format(section, section),
                                      (inspect.getdoc(cls) or "").split("\n")[0])
    comments, defaults = field_comments(cls), cls()
    for field in dataclasses.fields(cls):
      default = getattr(defaults, field.name)
      if dataclasses.is_dataclass(default) or not field.metadata.get("flag", True):
        continue  # a nested setting, or one made of others' flags
      key = f"{section}.{field.name}"
      shown = ",".join(default) if isinstance(default, tuple) else default
      text = " ".join(filter(None, [comments.get(field.name), more_help.get(key),
                                    f"(default: {shown})"])).replace("%", "%%")
      if isinstance(default, bool):
        group.add_argument(*flag_names(section, field.name), dest=key, help=text,
                           action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
      else:
        group.add_argument(*flag_names(section, field.name), dest=key, help=text,
                           default=argparse.SUPPRESS,
                           metavar=_METAVARS.get(type(default), "VALUE"))


def given(args: argparse.Namespace, section: str, cls: Type[Any]) -> Dict[str, Any]:
  """The fields of `section` given on the command line, each as its field's type (a one-line
  ConfigError naming the value otherwise)."""
  values = {}
  for key, value in vars(args).items():
    prefix, dot, field = key.partition(".")
    if prefix != section or not dot:
      continue
    if isinstance(getattr(cls(), field), tuple):
      values[field] = tuple(item for item in value.split(",") if item)
    elif isinstance(value, bool):
      values[field] = value
    else:
      values[field] = model_config.parse_value(cls, field, value, section)
  return values
