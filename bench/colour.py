"""Colour pictures: the default method against its supervised reference (the same architecture
and labels, trained in the same run), on the colour doodles (32 x 32 x 3, coloured strokes on
coloured and textured backgrounds), as a TFDS data set and as an image folder of PNG and JPEG
photo-like files read at two sizes.

Each cell is one `fewlabels run` with `make demo`'s settings (the Makefile's DEMO_ARGS; or with
`--settings default`, `fewlabels run`'s own) but its data and budget: `--data doodles/color`;
or `--data image_folder --color --image-size N` over the same doodles written as files (each enlarged to 48-128 pixels a side with its aspect ratio
changed, PNG or JPEG at quality 85, all 8,000 training ones in labeled/<class>/ so that the
budget chooses among them as it does in the data set; test/ the 2,000 test ones). One CSV row
per cell as it finishes (a stopped run resumes after the last one), then the table.

  python bench/colour.py [--labels 5%] [--seeds 0 1 2] [--sizes 32 48] [--settings demo]
"""
import argparse
import pathlib
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import demo  # noqa: E402  (bench/demo.py: make demo's flags, a run and its figures)
import measure  # noqa: E402  (bench/measure.py: no heavy imports)

COLUMNS = ["source", "image_shape", "seed", "labels", "default_accuracy", "reference_accuracy",
           "gain_points", "interval_low", "interval_high", "pushed", "seconds",
           ] + measure.PROVENANCE_COLUMNS
TFDS_SOURCE = "doodles/color"


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--labels", default="5%", help="the label budget of every cell")
  parser.add_argument("--settings", choices=["demo", "default"], default="demo",
                      help="make demo's flags, or none (fewlabels run's defaults)")
  parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                      help="repeats: the seed that chooses the labels (and trains)")
  parser.add_argument("--sizes", type=int, nargs="*", default=[32, 48],
                      help="--image-size of the image-folder cells (none: the data set's only)")
  measure.add_result_args(parser, "colour.csv")
  return parser.parse_args()


def demo_args(args):
  """`make demo`'s flags; none for `default`."""
  return [] if args.settings == "default" else demo.demo_args()


def cell_argv(args, source: str, seed: int, folder: str) -> list:
  """The cell's `fewlabels run` flags: the demo's, with this cell's data, budget and seed."""
  argv, skip = [], False
  for flag in demo_args(args):
    if skip:
      skip = False
      continue
    if flag in ("--data", "--labels"):
      skip = True
      continue
    argv.append(flag)
  if source == TFDS_SOURCE:
    data = ["--data", TFDS_SOURCE]
  else:
    data = ["--data", "image_folder", "--manual-dir", folder, "--color",
            "--image-size", source.rpartition("@")[2]]
  return argv + data + ["--labels", args.labels, "--seed", str(seed)]


def sources(args) -> list:
  return [TFDS_SOURCE] + [f"image_folder@{size}" for size in args.sizes]


def settings(args) -> dict:
  return {"demo_args": demo_args(args), "labels": args.labels}


ARGS = parse_args() if __name__ == "__main__" else None


import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def write_folder(root: pathlib.Path, tfds_dir: str) -> None:
  """The colour doodles as files; kept between runs (writing is not what is measured)."""
  done = root / ".complete"
  if done.exists():
    return
  from sources import tfds_source
  builder = tfds_source.load_builder(tfds_source.SourceSpec(TFDS_SOURCE, tfds_dir))
  names = builder.info.features["label"].names
  rng = np.random.default_rng(0)
  for split, part in (("train", "labeled"), ("test", "test")):
    for index, (image, label) in enumerate(builder.as_dataset(split=split, as_supervised=True,
                                                              shuffle_files=False)):
      folder = root / part / names[int(label)]
      folder.mkdir(parents=True, exist_ok=True)
      width, height = (int(v) for v in rng.integers(48, 129, 2))
      picture = Image.fromarray(image.numpy()).resize((width, height), Image.BICUBIC)
      if index % 2:
        picture.save(folder / f"{split}_{index:05d}.jpg", quality=85)
      else:
        picture.save(folder / f"{split}_{index:05d}.png")
  done.write_text("")


def run_cell(args, source: str, seed: int, folder: pathlib.Path, tfds_dir: str) -> dict:
  import json
  from pipeline import pipeline as pipeline_lib
  output = args.work_dir / "runs" / f"{args.settings}_{source.replace('@', '_')}_seed{seed}"
  argv = [*cell_argv(args, source, seed, str(folder)), "--tfds-data-dir", tfds_dir]
  started = time.monotonic()
  _, summary = demo.run_pipeline(argv, output)
  trained = json.loads(summary.components[pipeline_lib.TRAINER].properties["custom_config"])
  return {**demo.figures(summary),
          "image_shape": "x".join(map(str, trained["model"]["image_shape"])),
          "seconds": round(time.monotonic() - started)}


def table(rows) -> str:
  lines = ["| source | pictures | labels | default | supervised reference | gain (points) | "
           "seconds a cell |", "|---|---|---|---|---|---|---|"]
  for source in dict.fromkeys(r["source"] for r in rows):
    mine = [r for r in rows if r["source"] == source]

    def mean(key):
      values = [float(r[key]) for r in mine]
      return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if key.endswith("accuracy") else (
          f"{np.mean(values):+.1f}" if key == "gain_points" else f"{np.mean(values):.0f}")
    lines.append(f"| {source} | {mine[0]['image_shape']} | {mine[0]['labels']} | "
                 f"{mean('default_accuracy')} | {mean('reference_accuracy')} | "
                 f"{mean('gain_points')} | {mean('seconds')} |")
  return "\n".join(lines) + f"\n\n{len(rows)} runs; mean ± standard deviation over seeds."


def main(args) -> None:
  tfds_dir = str(args.work_dir / "tfds")
  folder = args.work_dir / "colour_doodles"
  if not args.report_only:
    write_folder(folder, tfds_dir)
    measure.run_missing_rows(
        args.csv, COLUMNS,
        measure.provenance(settings(args), ("models", "sources", "pipeline", "components")),
        "colour bench", ("source", "seed"),
        ({"source": source, "seed": seed} for seed in args.seeds for source in sources(args)),
        lambda cell: run_cell(args, cell["source"], cell["seed"], folder, tfds_dir))
  print(table(measure.read_rows(args.csv)))
  print(f"machine: {measure.machine()}")


if __name__ == "__main__":
  main(ARGS)
