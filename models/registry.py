"""Specs found by module: every module of a package folder exports SPEC, named by `SPEC.name`."""
import importlib
import pkgutil
from typing import Any, Dict, Iterable

from models import config as config_lib


def load(package: str, path: Iterable[str]) -> Dict[str, Any]:
  specs = {}
  for module in pkgutil.iter_modules(path):
    spec = importlib.import_module(f"{package}.{module.name}").SPEC
    specs[spec.name] = spec
  return specs


def lookup(specs: Dict[str, Any], kind: str, name: str) -> Any:
  """specs[name], or a one-line error naming the value and the choices."""
  config_lib.require(name in specs, f"{kind} {name!r} does not exist: expected one of "
                                    f"{', '.join(sorted(specs))}")
  return specs[name]
