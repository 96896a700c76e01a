"""Test accuracy of every method x architecture against the label budget, on real drawings.

Runs the registry's own code (models.pretraining.pretrain, the LayerwisePretrainer's function,
and models.methods.train, the Trainer's) on in-memory data so that dozens of cells fit on a
laptop. Per repeat and pretext, pre-training runs once and serves every budget: it sees all
training images without labels, the same set whatever the budget (kept on disk, so a rerun
reuses it). Labeled sets are the pipeline's class-balanced nested selection; decisions use a
validation part of the labeled set; the test part is read once per trained model, for the
table only.

  python bench/methods.py                                   # the grid of docs/RESULTS.md
  python bench/methods.py --cells cnn:consistency cnn:supervised --budgets 0.33%
  python bench/methods.py --data mnist --budgets 100 1000 --cells cnn:consistency cnn:supervised
  python bench/methods.py --imbalance 10 --budgets 1.67% --cells cnn:supervised \
      --set training.class_balance=none       # uneven classes: the smallest one's test accuracy
  python bench/methods.py --report-only --csv A.csv --curves B.csv   # time-to-accuracy curves

A cell is ARCHITECTURE:METHOD[:PRETEXT]. One CSV row per cell as it finishes, with the settings,
a hash of the code it ran and the machine; a rerun skips the cells already in the CSV, and
refuses a CSV of other settings or code (a table never mixes them). A cell stopped mid-training
resumes after its last finished epoch; its row notes "resumed" (its time, its per-epoch notes
and the epochs its model was kept from are those after the stop; the table's CPU column leaves
it out). Then the Markdown table.
Quick, Draw!: Google, CC BY 4.0.
MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0.
"""
import argparse
import csv
import dataclasses
import json
import logging
import math
import pathlib
import shutil
import sys
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import cell_settings  # noqa: E402  (bench/cell_settings.py: no heavy imports)
import measure  # noqa: E402  (bench/measure.py: no heavy imports)

from models import architectures  # noqa: E402  (the registries and configs: no TensorFlow)
from models import config as config_lib  # noqa: E402
from models import methods  # noqa: E402
from pipeline import config as pipeline_config  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
# The code a cell runs: the registry's (models/), reading the data and choosing the labels.
CELL_CODE = ("models", "sources")
COLUMNS = ["data", "repeat", "budget", "labels", "architecture", "method", "pretext",
           "test_accuracy", "validation_accuracy", "seconds", "cpu_minutes",
           "notes"] + measure.PROVENANCE_COLUMNS
# Beside a cached encoder: what pre-training it cost, added to every cell that reuses it.
PRETRAINING_COST_FILE = "pretraining_cost.json"
DEFAULT_CELLS = ["cnn:supervised", "cnn:consistency", "cnn:self_training", "cnn:layerwise",
                 "cnn:pretrained_consistency", "lstm:supervised", "lstm:consistency",
                 "lstm:self_training", "lstm:layerwise:reconstruct",
                 "lstm:layerwise:sequence_autoencoder", "lstm:layerwise:next_row"]


def pool_mix(value: str) -> str:
  """--pool-mix as recorded: mnist:0.30 and mnist:0.3 are one setting, and resume each other."""
  source, _, share = value.partition(":")
  try:
    fraction = float(share)
  except ValueError:
    fraction = math.nan
  if source != "mnist" or not 0 < fraction < 1:
    raise argparse.ArgumentTypeError(f"{value!r} must be mnist:FRACTION with FRACTION in (0, 1)")
  return f"mnist:{fraction:g}"


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data", choices=["quickdraw", "mnist", "doodles"], default="quickdraw")
  parser.add_argument("--data-dir", type=pathlib.Path, default=None,
                      help="the data's files (default: ../shared/data/<data>)")
  parser.add_argument("--train-per-class", type=int, default=3_499)
  parser.add_argument("--test-per-class", type=int, default=500)
  parser.add_argument("--budgets", nargs="+", default=["0.33%", "1.67%", "16.67%"])
  parser.add_argument("--cells", nargs="+", default=DEFAULT_CELLS)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--only-repeats", type=int, nargs="+", default=None)
  parser.add_argument("--reference-warm-start", action="store_true",
                      help="methods that can (consistency) start from the same repeat and "
                           "budget's supervised cell's classifier, as in a pipeline run with the "
                           "reference, instead of a fit of their own (the supervised cell must "
                           "have run, in this or an earlier run of the same settings)")
  parser.add_argument("--imbalance", type=float, default=1.0,
                      help="R > 1: uneven classes, as a user's folders are: class c keeps "
                           "R^(-c/(classes-1)) of its training images (the last class 1/R of "
                           "the first's) and the labels are a random sample of them, so they are "
                           "uneven alike; the test split stays balanced")
  parser.add_argument("--pool-mix", type=pool_mix, default=None, metavar="mnist:FRACTION",
                      help="pictures of another source in the pool: MNIST training digits "
                           "(from the shared data) added until they are FRACTION of it, as a "
                           "user's unlabeled folder holds other things; the notes give how many "
                           "of them, and of the real pool pictures, the off-topic check flags")
  parser.add_argument("--mix-dir", type=pathlib.Path, default=SHARED / "mnist",
                      help="the MNIST IDX files of --pool-mix (default: %(default)s)")
  parser.add_argument("--curves", type=pathlib.Path, nargs="*", default=[],
                      help="with the report: test accuracy against seconds, one curve per cell "
                           "of this CSV and of these (e.g. another setting's, run one after the "
                           "other on the same machine)")
  measure.add_result_args(parser, "methods_grid.csv")
  cell_settings.add_flags(parser)  # the CLI's own settings, defaults and --set
  return parser.parse_args()


def cell_config(args, architecture: str, method: str) -> "pipeline_config.PipelineConfig":
  return cell_settings.cell_config(args, architecture, method, "methods bench")


def cell_configs(args) -> dict:
  """{(architecture, method): cell_config} of every cell; a method's own `--set` that no
  cell's method has is refused rather than ignored."""
  configs = {}
  for text in args.cells:
    architecture, _, rest = text.partition(":")
    method = rest.partition(":")[0]
    if method not in methods.names():
      sys.exit(f"methods bench: cell {text!r}: method {method!r} does not exist: expected one "
               f"of {', '.join(methods.names())}")
    configs[(architecture, method)] = cell_config(args, architecture, method)
  for item in args.set:
    field = item.partition("=")[0]
    if "." not in field and not any(field in dict(c.method_settings) for c in configs.values()):
      sys.exit(f"methods bench: --set {item!r}: no cell's method has the setting {field!r}")
  return configs


def _data_and_widths(args) -> dict:
  """What every cached or recorded result depends on: the images and the model's settings."""
  return {"train_per_class": args.train_per_class, "test_per_class": args.test_per_class,
          "model": {name: dataclasses.asdict(architectures.settings(
              cell_config(args, name, "supervised").model)) for name in architectures.names()},
          **({"imbalance": args.imbalance} if args.imbalance != 1.0 else {}),
          **({"pool_mix": args.pool_mix} if args.pool_mix else {})}


def provenance(args):
  """measure.provenance of everything on the command line that changes a cell's result."""
  return measure.provenance(
      {**_data_and_widths(args), **cell_settings.given(args),
       **({"reference_warm_start": True} if args.reference_warm_start else {})},
      CELL_CODE)


def encoder_cache(args) -> pathlib.Path:
  """Where pre-trained encoders are kept, one per data, architecture, pretext and repeat. Keyed by
  what an encoder depends on (the images, the pre-training steps, the widths, the code), not by
  the budget or the fine-tuning settings: pre-training sees every training image without its
  label, so one encoder serves every budget."""
  return args.work_dir / "encoders" / measure.digest(measure.provenance(
      {**_data_and_widths(args), "pretraining": dataclasses.asdict(
          cell_config(args, config_lib.CNN, "supervised").pretraining)}, CELL_CODE))


def reference_cache(args) -> pathlib.Path:
  """Where supervised cells keep their classifiers, for --reference-warm-start: keyed by what
  the supervised fit depends on (the data, its training settings, the widths, the code)."""
  return args.work_dir / "references" / measure.digest(measure.provenance(
      {**_data_and_widths(args), "training": dataclasses.asdict(
          cell_config(args, config_lib.CNN, "supervised").training)}, CELL_CODE))


# Before the heavy imports: `--help`, a bad flag and a CSV it must not resume answer at once.
ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None and not ARGS.report_only:
  cell_configs(ARGS)
  measure.check_resumable(ARGS.csv, COLUMNS, provenance(ARGS), "methods bench")


import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

from components.evaluation_report import render  # noqa: E402
from models import classifier, input_fn, pretexts, pretraining  # noqa: E402
from models import consistency  # noqa: E402
from models import run_fn  # noqa: E402
from models import training_loop  # noqa: E402
from sources import features, tfds_source  # noqa: E402
from sources import label_budget  # noqa: E402


def load_split(builder, split):
  images, labels = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1,
                                                    as_supervised=True))
  return (images.reshape(-1, features.IMAGE_SIZE, features.IMAGE_SIZE).astype(np.uint8),
          labels.astype(np.int64))


def long_tail(labels, ratio, seed):
  """Mask of the training images kept for --imbalance: class c keeps ratio^(-c/(classes-1)) of
  its images (a seeded choice)."""
  values = np.unique(labels)
  keep = np.zeros(len(labels), dtype=bool)
  rng = np.random.default_rng(seed)
  for c in values:
    members = rng.permutation(np.flatnonzero(labels == c))
    share = ratio ** (-c / max(len(values) - 1, 1))
    keep[members[:max(1, int(round(len(members) * share)))]] = True
  return keep


def proportional_labels(labels, count, seed):
  """Mask of `count` images with each class's share of them (largest remainders, at least one
  per class), the first of a seeded order within each class: nested across budgets."""
  values, sizes = np.unique(labels, return_counts=True)
  exact = count * sizes / sizes.sum()
  share = np.maximum(np.floor(exact).astype(int), 1)
  for i in np.argsort(-(exact - np.floor(exact)))[:max(count - share.sum(), 0)]:
    share[i] += 1
  mask = np.zeros(len(labels), dtype=bool)
  rng = np.random.default_rng(seed)
  for c, k in zip(values, share):
    mask[rng.permutation(np.flatnonzero(labels == c))[:k]] = True
  return mask


def per_class_accuracy(model, test):
  predicted = classifier.predict_probabilities(model, test).argmax(axis=1)
  return [round(float((predicted[test.labels == c] == c).mean()), 4)
          for c in np.unique(test.labels)]


class TestCurve(tf.keras.callbacks.Callback):
  """Test accuracy after each epoch of a method's pool stage against the cell's seconds so far
  (the scoring's own time left out): for the time-to-accuracy figure only, never a decision.
  The snapshot is the epoch's averaged (EMA) weights before the final batch-norm recalibration."""

  def __init__(self, test, started):
    super().__init__()
    self.test, self.started, self.paused, self.points = test, started, 0.0, []

  def on_epoch_end(self, epoch, logs=None):
    scoring = time.monotonic()
    accuracy = classifier.accuracy(self.model, self.test)
    self.points.append([round(scoring - self.started - self.paused, 1), round(accuracy, 4)])
    self.paused += time.monotonic() - scoring


def parse_cell(text):
  parts = text.split(":")
  if len(parts) not in (2, 3):
    sys.exit(f"methods bench: cell {text!r} must be ARCHITECTURE:METHOD[:PRETEXT]")
  model = config_lib.ModelConfig(architecture=parts[0])
  spec = methods.get(parts[1])
  methods.check(spec.name, model, config_lib.TrainingConfig())
  pretext = ""
  if spec.needs_encoder:
    pretext = pretexts.resolve(parts[2] if len(parts) == 3 else config_lib.AUTO, model).name
  return parts[0], spec.name, pretext


def cell_key(row):
  return (row["data"], int(row["repeat"]), row["budget"], row["architecture"], row["method"],
          row["pretext"])


def done_cells(path):
  if not path.exists():
    return {}
  with path.open() as f:
    return {cell_key(r): r for r in csv.DictReader(f)}


def resumed(row):
  """Whether the row's cell resumed a stopped run: its time is only the part after the stop."""
  return json.loads(row.get("notes") or "{}").get("resumed", False)


def table(rows, data):
  rows = [r for r in rows if r["data"] == data]
  cells = sorted({(r["architecture"], r["method"], r["pretext"]) for r in rows})
  budgets = sorted({(int(r["labels"]), r["budget"]) for r in rows})
  lines = ["| architecture | method | pretext | " + " | ".join(
      f"{b} ({n:,} labels)" for n, b in budgets) + " | CPU min/cell |",
      "|---|---|---|" + "---|" * len(budgets) + "---|"]
  for arch, method, pretext in cells:
    out, cpu = [], []
    for _, budget in budgets:
      acc = [float(r["test_accuracy"]) for r in rows if (r["architecture"], r["method"],
             r["pretext"], r["budget"]) == (arch, method, pretext, budget)]
      cpu += [float(r["cpu_minutes"]) for r in rows if (r["architecture"], r["method"],
              r["pretext"], r["budget"]) == (arch, method, pretext, budget) and not resumed(r)]
      out.append(f"{np.mean(acc):.3f} +- {np.std(acc):.3f} (n={len(acc)})" if acc else "-")
    lines.append(f"| {arch} | {method} | {pretext or '-'} | " + " | ".join(out) +
                 (f" | {np.mean(cpu):.1f} |" if cpu else " | - |"))
  return "\n".join(lines)


def figure(rows, data, path):
  """Test accuracy against labels (log x), mean and +-std band per cell kind."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  rows = [r for r in rows if r["data"] == data]
  fig, ax = plt.subplots(figsize=(7.5, 4.5))
  for arch, method, pretext in sorted({(r["architecture"], r["method"], r["pretext"]) for r in rows}):
    mine = [r for r in rows if (r["architecture"], r["method"], r["pretext"]) == (arch, method,
                                                                                  pretext)]
    labels = sorted({int(r["labels"]) for r in mine})
    acc = [[float(r["test_accuracy"]) for r in mine if int(r["labels"]) == n] for n in labels]
    render.mean_and_spread(ax, labels, acc,
                           label=f"{arch} {method}" + (f" ({pretext})" if pretext else ""))
  ax.set_xscale("log")
  ax.set_xlabel("labeled images")
  ax.set_ylabel("test accuracy")
  ax.grid(True, alpha=0.3)
  if ax.get_legend_handles_labels()[0]:  # a CSV with no row of this data draws axes only
    ax.legend(fontsize=8)
  credit = {"quickdraw": "Quick, Draw! (Google, CC BY 4.0)",
            "mnist": "MNIST (LeCun & Cortes, CC BY-SA 3.0)"}.get(data, data)
  ax.set_title(f"{credit}: test accuracy against labels\n(mean +- std over repeats)", fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(args):
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
  cells = [parse_cell(c) for c in args.cells]
  configs = cell_configs(args)
  if args.report_only:
    return report(args)
  data_dir = args.data_dir or SHARED / args.data
  if args.data != "doodles" and not data_dir.is_dir():
    sys.exit(f"methods bench: {args.data} files not found at {data_dir}: pass --data-dir")

  dataset = {"quickdraw": f"quickdraw_files/default_train{args.train_per_class}_test"
                          f"{args.test_per_class}",
             "mnist": "mnist_idx/mnist", "doodles": "doodles/demo"}[args.data]
  source = tfds_source.SourceSpec(dataset, data_dir=str(args.work_dir / "tfds"),
                                  manual_dir=str(data_dir))
  builder = tfds_source.load_builder(source)
  train_x, train_y = load_split(builder, "train")
  if args.imbalance != 1.0:
    kept = long_tail(train_y, args.imbalance, seed=0)
    train_x, train_y = train_x[kept], train_y[kept]
  test_x, test_y = load_split(builder, "test")
  test = input_fn.Examples(test_x, test_y, np.arange(len(test_y)))
  num_classes = len(tfds_source.class_names(source.dataset, source.data_dir))
  strategy = tf.distribute.get_strategy()
  machine = measure.machine()
  logging.info("machine: %s; data: %d train, %d test images", machine, len(train_y), len(test))

  mix = np.zeros((0,) + train_x.shape[1:], np.uint8)
  if args.pool_mix:
    from sources import mnist_idx
    mix, _ = mnist_idx.read_images_and_labels(str(args.mix_dir), "train")
    mix = mix.reshape(-1, features.IMAGE_SIZE, features.IMAGE_SIZE).astype(np.uint8)
  done = done_cells(args.csv)
  run_provenance = provenance(args)  # as the run starts: the code it imported
  recorded = dict(run_provenance, machine=machine)
  repeats = args.only_repeats if args.only_repeats is not None else range(args.repeats)
  grid = [(r, b, c) for r in repeats for b in args.budgets for c in cells]
  started = time.monotonic()
  f, writer = measure.appending_rows(args.csv, COLUMNS)
  with f:
    for index, (repeat, budget, (arch, method, pretext)) in enumerate(grid, start=1):
      key = (args.data, repeat, budget, arch, method, pretext)
      if key in done:
        continue
      config = configs[(arch, method)]
      model, training = config.model, config.training
      count = label_budget.LabelBudget(budget).count(len(train_y), num_classes)
      mask = (proportional_labels(train_y, count, seed=repeat) if args.imbalance != 1.0
              else label_budget.select_labeled(train_y, count, seed=repeat))
      labeled, pool = input_fn.in_memory(input_fn.Examples(
          train_x, np.where(mask, train_y, features.NO_LABEL), np.arange(len(train_y))))
      if len(mix):
        share = float(args.pool_mix.partition(":")[2])
        extra = mix[np.random.default_rng(repeat).permutation(len(mix))[
            :int(round(len(pool) * share / (1 - share)))]]
        # Ids after the real pictures' (their true label unknown: no diagnostic reads them),
        # all in a shuffled order, as ExampleGen writes a pool.
        mixed = input_fn.concatenate([input_fn.unlabeled_only(input_fn.Examples(
            train_x, np.where(mask, train_y, features.NO_LABEL), np.arange(len(train_y)))),
            input_fn.Examples(extra, np.full(len(extra), features.NO_LABEL),
                              np.arange(len(train_y), len(train_y) + len(extra)))])
        pool = input_fn.Pool.from_examples(mixed.subset(
            np.random.default_rng(repeat).permutation(len(mixed))))
      cell_started, cpu_started = time.monotonic(), time.process_time()
      tf.keras.utils.set_random_seed(repeat)
      encoder, pretraining_reused = None, False
      if pretext:
        encoder_dir = encoder_cache(args) / f"{args.data}_{arch}_{pretext}_{repeat}"
        cost_file = encoder_dir / PRETRAINING_COST_FILE
        if (encoder_dir / pretexts.ENCODER_FILE).exists() and cost_file.exists():
          # A reused encoder's cost is still the cell's: cells with and without the cache compare.
          cost = json.loads(cost_file.read_text())
          cell_started -= cost["seconds"]
          cpu_started -= cost["cpu_seconds"]
          pretraining_reused = True
        else:
          pretraining_config = dataclasses.replace(config.pretraining, pretext=pretext)
          images = pretraining.pretraining_images(labeled, pool, pretraining_config, repeat)
          shutil.rmtree(args.work_dir / "pretrain_logs", ignore_errors=True)
          encoder = pretraining.pretrain(images, model, pretraining_config, repeat,
                                         str(args.work_dir / "pretrain_logs"), strategy)[0]
          pretexts.save_encoder(encoder, str(encoder_dir))
          cost_file.write_text(json.dumps({"seconds": time.monotonic() - cell_started,
                                           "cpu_seconds": time.process_time() - cpu_started}))
        encoder = pretexts.load_encoder(str(encoder_dir))
      log_dir, resuming = measure.unit_dir(args.work_dir / "logs", run_provenance, key,
                                           training_loop.BACKUP_DIR)
      if resuming:
        logging.info("cell %d/%d: resuming a stopped run after its last finished epoch (%s)",
                     index, len(grid), log_dir)
      cell_training = dataclasses.replace(training, seed=repeat)
      curve = TestCurve(test, cell_started)
      reference_file = (reference_cache(args) / f"{args.data}_{arch}_{budget}_{repeat}"
                        / run_fn.CLASSIFIER_FILE)
      warm_start = None
      if args.reference_warm_start and methods.get(method).takes_reference_warm_start:
        if not reference_file.exists():
          sys.exit(f"methods bench: --reference-warm-start: no supervised classifier for "
                   f"{arch} at {budget}, repeat {repeat}: run the cell {arch}:supervised first "
                   f"with the same settings ({reference_file} is missing)")
        warm_start = tf.keras.models.load_model(reference_file, compile=False)
      request = methods.TrainRequest(
          labeled=labeled, pool=pool,
          build_model=run_fn.model_builder(model, num_classes, encoder, "pre-trained encoder",
                                           strategy),
          training=cell_training, settings=config.settings,
          num_classes=num_classes, log_dir=str(log_dir), strategy=strategy,
          true_labels=train_y,  # the mixed-in digits' ids lie beyond it: no label
          callbacks=[curve], warm_start=warm_start)
      trained = methods.train(method, request, has_encoder=encoder is not None)
      if method == "supervised":
        reference_file.parent.mkdir(parents=True, exist_ok=True)
        trained.model.save(reference_file)
      _, validation = classifier.labeled_parts(labeled, cell_training)
      seconds = time.monotonic() - cell_started - curve.paused  # the cell's own work
      test_accuracy = classifier.accuracy(trained.model, test)
      notes = {"resumed": True} if resuming else {}
      if pretraining_reused:
        notes["pretraining_reused"] = True
      if curve.points:  # the last point: the final model, batch norm recalibrated
        notes["test_curve"] = curve.points + [[round(seconds, 1), round(test_accuracy, 4)]]
      if len(mix):
        from models import off_topic
        detector = off_topic.Detector(off_topic.figures(labeled.pixels),
                                      request.settings.off_topic_alpha
                                      if hasattr(request.settings, "off_topic_alpha") else 0.01)
        flagged = detector.distance(off_topic.figures(mixed.pixels)) > detector.cut
        other = mixed.ids >= len(train_y)
        notes["pool_mix"] = {"other": int(other.sum()), "real": int((~other).sum()),
                             "other_flagged": round(float(flagged[other].mean()), 4),
                             "real_flagged": round(float(flagged[~other].mean()), 4)}
      if "off_topic" in trained.history:
        notes["off_topic"] = {k: v for k, v in trained.history["off_topic"].items()
                              if k != "shown"}
      if args.imbalance != 1.0:
        notes["labeled_per_class"] = np.bincount(train_y[mask], minlength=num_classes).tolist()
        notes["per_class_test_accuracy"] = per_class_accuracy(trained.model, test)
      notes.update({k: trained.history[k] for k in (
          "kept", "best_epoch", "keep_tolerance", "batch_norm_images", "class_balanced",
          "warm_start_from_reference", "selected_on_validation",
          "warm_start_validation_accuracy", "consistency_validation_accuracy", "self_training",
          "accepted_per_class")
               if k in trained.history})
      epochs = trained.history.get("epochs", [])
      if epochs and "above_threshold" in epochs[-1]:
        notes["above_threshold"] = [round(e["above_threshold"], 3) for e in epochs]
        for name in (*consistency.DIAGNOSTICS, "val_accuracy"):
          notes[name] = [round(e[name], 3) for e in epochs if name in e]
      row = {"data": args.data, "repeat": repeat, "budget": budget, "labels": count,
             "architecture": arch, "method": method, "pretext": pretext,
             "test_accuracy": f"{test_accuracy:.4f}",
             "validation_accuracy": f"{classifier.accuracy(trained.model, validation):.4f}",
             "seconds": f"{seconds:.0f}",
             "cpu_minutes": f"{(time.process_time() - cpu_started) / 60:.1f}",
             "notes": json.dumps(notes, separators=(",", ":")), **recorded}
      writer.writerow(row)
      f.flush()
      elapsed = time.monotonic() - started
      logging.info("cell %d/%d %s %s %s:%s%s: test accuracy %s (%s s; %.0f s elapsed)", index,
                   len(grid), repeat, budget, arch, method, f":{pretext}" if pretext else "",
                   row["test_accuracy"], row["seconds"], elapsed)
  print(f"\nmachine: {machine}")
  print(f"data: {source.dataset}, {num_classes} classes, {len(train_y):,} train / "
        f"{len(test):,} test images")
  report(args)


def smallest_class_table(rows, data):
  """With --imbalance: per cell, the test accuracy of the class with the fewest labels."""
  rows = [r for r in rows if r["data"] == data and "per_class_test_accuracy" in r["notes"]]
  if not rows:
    return ""
  lines = ["| architecture | method | pretext | labels of the smallest class | its test accuracy |"
           " the 5 classes with the fewest labels | overall |", "|---|---|---|---|---|---|---|"]
  for arch, method, pretext in sorted({(r["architecture"], r["method"], r["pretext"])
                                       for r in rows}):
    mine = [r for r in rows if (r["architecture"], r["method"], r["pretext"]) == (arch, method,
                                                                                  pretext)]
    smallest, accuracy, tail = [], [], []
    for r in mine:
      notes = json.loads(r["notes"])
      order = np.argsort(notes["labeled_per_class"], kind="stable")
      smallest.append(notes["labeled_per_class"][order[0]])
      accuracy.append(notes["per_class_test_accuracy"][order[0]])
      tail.append(np.mean(np.asarray(notes["per_class_test_accuracy"])[order[:5]]))
    overall = [float(r["test_accuracy"]) for r in mine]
    lines.append(f"| {arch} | {method} | {pretext or '-'} | {min(smallest)}-{max(smallest)} | "
                 f"{np.mean(accuracy):.3f} +- {np.std(accuracy):.3f} | "
                 f"{np.mean(tail):.3f} +- {np.std(tail):.3f} | "
                 f"{np.mean(overall):.3f} +- {np.std(overall):.3f} (n={len(mine)}) |")
  return "\n".join(lines)


def curves_figure(csvs, data, path):
  """Test accuracy against the cell's seconds, per CSV and pool cell (mean over repeats at the
  same epoch; each repeat's own line faint)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(7.5, 4.5))
  for csv_path in csvs:
    rows = [r for r in done_cells(csv_path).values()
            if r["data"] == data and "test_curve" in r["notes"]]
    for cell in sorted({(r["budget"], r["architecture"], r["method"]) for r in rows}):
      mine = [json.loads(r["notes"])["test_curve"] for r in rows
              if (r["budget"], r["architecture"], r["method"]) == cell]
      label = f"{csv_path.stem}: {cell[2]} at {cell[0]} (n={len(mine)})"
      line, = ax.plot(*np.array(mine[0]).T, alpha=0.25)
      for other in mine[1:]:
        ax.plot(*np.array(other).T, alpha=0.25, color=line.get_color())
      length = min(len(m) for m in mine)
      mean = np.array([m[:length] for m in mine]).mean(axis=0)
      ax.plot(mean[:, 0], mean[:, 1], color=line.get_color(), label=label)
  ax.set_xlabel("seconds of the cell (pre-training, warm start and consistency training)")
  ax.set_ylabel("test accuracy (figure only)")
  ax.grid(True, alpha=0.3)
  if ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=7)
  ax.set_title("Quick, Draw! (Google, CC BY 4.0): test accuracy against time" if data ==
               "quickdraw" else f"{data}: test accuracy against time", fontsize=10)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def report(args):
  rows = list(done_cells(args.csv).values())
  if args.curves:
    path = args.csv.with_name(f"{args.csv.stem}_curves_{args.data}.png")
    curves_figure(list(dict.fromkeys([args.csv, *args.curves])), args.data, path)
    print(f"time-to-accuracy figure: {path}")
  print(table(rows, args.data))
  smallest = smallest_class_table(rows, args.data)
  if smallest:
    print(smallest)
  path = args.csv.with_name(f"{args.csv.stem}_{args.data}.png")
  figure(rows, args.data, path)
  print(f"figure: {path}")


if __name__ == "__main__":
  main(ARGS)
