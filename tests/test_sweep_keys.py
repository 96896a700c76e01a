"""Sweep cells are keyed by everything that changes a result: a change of any kind runs the
cell again, and only where the outputs go leaves the key alone."""
import dataclasses

import pytest

from pipeline import config as config_lib
from pipeline import sweep

CODE = "code-v1"


def _base(tmp_path):
  manual = tmp_path / "files"
  manual.mkdir(exist_ok=True)
  (manual / "cat.npy").write_bytes(b"first version")
  return config_lib.PipelineConfig(
      method="layerwise", output_dir=str(tmp_path / "out"),
      data=config_lib.DataConfig(dataset="doodles/tiny", manual_dir=str(manual)))


def _replace(config, section, **changes):
  return dataclasses.replace(config, **{section: dataclasses.replace(getattr(config, section),
                                                                      **changes)})


@pytest.mark.parametrize("change", [
    lambda c: _replace(c, "data", dataset="doodles/demo"),
    lambda c: _replace(c, "data", test_split="holdout:10"),
    lambda c: _replace(c, "data", label_budget="7%"),
    lambda c: _replace(c, "pretraining", steps_per_stage=1),
    lambda c: _replace(c, "pretraining", pretext="denoise"),
    lambda c: _replace(c, "training", epochs=3),
    lambda c: _replace(c, "training", translate_pixels=0.0),
    lambda c: _replace(c, "model", settings=(("width", 8),)),
    lambda c: _replace(c, "evaluation", min_accuracy=0.9),
    lambda c: dataclasses.replace(c, method="supervised"),
    lambda c: dataclasses.replace(c, method="consistency", method_settings=(("threshold", 0.9),)),
    lambda c: dataclasses.replace(c, beam_pipeline_args=("--direct_num_workers=2",)),
], ids=["data set", "test split", "budget", "pretraining epochs", "pretext", "training epochs",
        "augmentation", "model", "evaluation", "method", "method setting", "beam"])
def test_every_setting_is_part_of_the_key(tmp_path, change):
  base = _base(tmp_path)
  assert sweep.cell_key(change(base), CODE) != sweep.cell_key(base, CODE)


def test_the_source_files_and_the_code_are_part_of_the_key(tmp_path):
  base = _base(tmp_path)
  before = sweep.cell_key(base, CODE)
  assert sweep.cell_key(base, "code-v2") != before
  (tmp_path / "files" / "cat.npy").write_bytes(b"another version, longer")
  assert sweep.cell_key(base, CODE) != before


def test_where_the_outputs_go_is_not(tmp_path):
  base = _base(tmp_path)
  moved = dataclasses.replace(base, output_dir=str(tmp_path / "elsewhere"))
  assert sweep.cell_key(moved, CODE) == sweep.cell_key(base, CODE)


def test_the_code_version_follows_an_edit_in_any_code_folder(tmp_path, monkeypatch):
  for folder in ("models", "components", "sources"):
    (tmp_path / folder / "sub").mkdir(parents=True)
    (tmp_path / folder / "sub" / "a.py").write_text("x = 1\n")
  monkeypatch.setattr(sweep, "_ROOT", tmp_path)
  versions = {sweep.code_version()}
  for folder in ("models", "components", "sources"):
    (tmp_path / folder / "sub" / "a.py").write_text(f"x = 2  # {folder}\n")
    versions.add(sweep.code_version())
  assert len(versions) == 4
