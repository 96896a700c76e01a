"""The settings of a benchmark's cell as `fewlabels run` makes them from the same flags: the
CLI's defaults, its section and architecture flags (`--epochs`, `--validation-fraction`,
`--cnn-width`, ...) and its `--set`. No TensorFlow: a bad flag answers at once."""
import argparse
import dataclasses
import sys

from models import architectures
from models import config as config_lib
from models import methods
from pipeline import config as pipeline_config
from pipeline import flags

SECTIONS = ("model", "training", "pretraining")  # what a benchmark's cell trains with


def add_flags(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--set", action="extend", nargs="+", default=[],
                      metavar="[SECTION.]FIELD=VALUE",
                      help="as `fewlabels run --set`: FIELD=VALUE reaches every cell's method "
                           "that has the field (e.g. threshold=0.9), SECTION.FIELD=VALUE the "
                           "model, training or pretraining settings (recorded per row)")
  flags.add_section_flags(parser, {name: pipeline_config.SECTIONS[name] for name in SECTIONS})
  flags.add_section_flags(parser, {name: architectures.get(name).settings
                                   for name in architectures.names()})


def cell_config(args, architecture: str, method: str, who: str
                ) -> "pipeline_config.PipelineConfig":
  """A cell's settings (a method's own `--set` FIELD=VALUE only where the method has the
  field, as in a sweep); a bad value exits with one line naming `who`."""
  base = pipeline_config.PipelineConfig()
  fields = {f.name for f in dataclasses.fields(methods.get(method).settings)}
  sets = [item for item in args.set if "." in item.partition("=")[0]
          or item.partition("=")[0] in fields]
  try:
    model = config_lib.ModelConfig(architecture=architecture, settings=tuple(flags.given(
        args, architecture, architectures.get(architecture).settings).items()))
    model = dataclasses.replace(model, **flags.given(args, "model", config_lib.ModelConfig))
    return pipeline_config.apply_sets(dataclasses.replace(
        base, method=method, model=model,
        **{section: dataclasses.replace(getattr(base, section), **flags.given(
            args, section, pipeline_config.SECTIONS[section]))
           for section in ("training", "pretraining")}), sets)
  except config_lib.ConfigError as e:
    sys.exit(f"{who}: {e}")


def given(args) -> dict:
  """Every setting given on the command line, for the provenance of rows and caches."""
  return {"set": sorted(args.set), **{key: value for key, value in sorted(vars(args).items())
                                      if "." in key}}
