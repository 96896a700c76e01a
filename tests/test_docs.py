"""The README and docs/ stay true: every repo path they show exists, and every command they
show runs (`--help`), so a newcomer following them never meets a missing file or command."""
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = "\n".join(path.read_text() for path in [ROOT / "README.md"] +
                   sorted((ROOT / "docs").glob("*.md")))
TOP = ("models", "pipeline", "components", "sources", "bench", "tests", "docs", ".ci")


def _paths():
  found = set()
  for text in re.findall(r"`([^`\s]+)`", README) + re.findall(r"\]\(([^)\s#]+)\)", README):
    path = text.rstrip(".,:;")
    if path.split("/")[0] in TOP and "<" not in path and "*" not in path:
      found.add(path)
  return sorted(found)


def _commands():
  """`fewlabels ...` and `python bench/...` lines, from code blocks and inline code."""
  lines = re.findall(r"^(?:fewlabels |python bench/)[^\n#]*", README, re.MULTILINE)
  lines += re.findall(r"`((?:fewlabels |python bench/)[^`]*)`", README)
  commands = set()
  for line in lines:
    words = shlex.split(line.rstrip("\\ "))
    if words[1].endswith(":"):  # console output shown in the README ("fewlabels run: ..."), no command
      continue
    if words[0] == "fewlabels":
      commands.add(("fewlabels", words[1]))
    else:
      commands.add(("python", words[1]))
  return sorted(commands)


def test_the_readme_shows_paths_and_commands():
  assert len(_paths()) > 10 and len(_commands()) >= 4  # the extraction itself works


@pytest.mark.parametrize("path", _paths())
def test_every_path_in_the_readme_exists(path):
  assert (ROOT / path).exists(), f"README.md shows {path}, which does not exist"


def test_every_make_target_in_the_readme_exists():
  makefile = (ROOT / "Makefile").read_text()
  for target in set(re.findall(r"(?:^|`)make (\w+)", README, re.MULTILINE)):
    assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target}"


@pytest.mark.slow
def test_every_command_in_the_readme_runs():
  env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
  fewlabels = os.path.join(os.path.dirname(sys.executable), "fewlabels")
  started = {}
  for kind, what in _commands():
    argv = ([fewlabels, what, "--help"] if kind == "fewlabels"
            else [sys.executable, str(ROOT / what), "--help"])
    started[" ".join([kind, what])] = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  for command, process in started.items():
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{command} --help: {err[-1000:]}"
    assert "usage:" in out, command
