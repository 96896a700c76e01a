"""What the per-picture figures cost: writing an example with them (ExampleGen, once per picture)
against the example of the picture, label, id and class name alone (what was written before
them), and the off-topic check's figures per pool picture. CPU time, one process.

  python bench/picture_figures.py [--pictures 20000] [--repeats 3]
"""
import argparse
import statistics
import time

import pipeline

pipeline.set_tensorflow_environment()  # before TensorFlow is imported

import measure  # noqa: E402  (bench/measure.py)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from models import off_topic  # noqa: E402
from sources import doodle_drawing  # noqa: E402
from sources import examples  # noqa: E402
from sources import features  # noqa: E402


def without_figures(image, label, example_id, class_name) -> bytes:
  """The reference: the example of the four features the model and the Evaluator read."""
  example = tf.train.Example()
  feature = example.features.feature
  feature[features.CLASS_NAME_KEY].bytes_list.value.append(class_name.encode("utf-8"))
  feature[features.IMAGE_KEY].bytes_list.value.append(image.tobytes())
  feature[features.LABEL_KEY].int64_list.value.append(label)
  feature[features.EXAMPLE_ID_KEY].int64_list.value.append(example_id)
  return example.SerializeToString()


def microseconds_each(work, pictures: np.ndarray, repeats: int) -> float:
  times = []
  for _ in range(repeats):
    started = time.process_time()
    work(pictures)
    times.append((time.process_time() - started) / len(pictures) * 1e6)
  return statistics.median(times)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--pictures", type=int, default=20_000)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  pictures = np.stack([doodle_drawing.draw(i % 10, rng) for i in range(args.pictures)])
  rows = {
      "example without the figures (reference)": lambda p: [
          without_figures(x, 1, i, "cat") for i, x in enumerate(p)],
      "example with the figures (ExampleGen)": lambda p: [
          examples.image_example(x, 1, i, "cat") for i, x in enumerate(p)],
      "off-topic check's figures of a pool picture": off_topic.figures,
  }
  print(f"machine: {measure.machine()}")
  print(f"{args.pictures:,} doodles, median of {args.repeats} runs, CPU microseconds each:")
  for name, work in rows.items():
    print(f"  {name}: {microseconds_each(work, pictures, args.repeats):.1f}")


if __name__ == "__main__":
  main()
