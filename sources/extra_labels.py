"""`--extra-labels labels.csv`: labels given by a person (label.html writes them), folded into a
run: the named unlabeled examples move to the labeled split with these classes.

The file: a header with `example_id` and `class_name` (other columns are ignored), one row per
example. Read without TensorFlow (the CLI checks it in a second); whether the ids are in the
unlabeled pool and the names are classes is checked against the data (split_plan).
"""
import csv
import hashlib
import os
from typing import Dict

from sources.errors import DataSourceError

ID_COLUMN, CLASS_COLUMN = "example_id", "class_name"


def read(path: str) -> Dict[int, str]:
  """{example id: class name}; a DataSourceError naming the file and the row otherwise."""
  if not os.path.isfile(path):
    raise DataSourceError(f"--extra-labels {path!r}: no such file")
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      reader = csv.DictReader(f)
      if not reader.fieldnames:
        raise DataSourceError(f"{path}: the file is empty: expected a header "
                              f"'{ID_COLUMN},{CLASS_COLUMN}' and one row per label")
      missing = [c for c in (ID_COLUMN, CLASS_COLUMN) if c not in reader.fieldnames]
      if missing:
        raise DataSourceError(f"{path}: no column {missing[0]!r} in the header "
                              f"{','.join(reader.fieldnames)!r}")
      labels: Dict[int, str] = {}
      for line, row in enumerate(reader, start=2):
        text, name = (row.get(ID_COLUMN) or "").strip(), row.get(CLASS_COLUMN) or ""
        if not text.isdigit():
          raise DataSourceError(f"{path}, line {line}: example id {text!r} is not a "
                                "non-negative integer")
        if not name:
          raise DataSourceError(f"{path}, line {line}: example {text} has no class name")
        example_id = int(text)
        if labels.get(example_id, name) != name:
          raise DataSourceError(f"{path}, line {line}: example {example_id} is labeled twice, "
                                f"{labels[example_id]!r} and {name!r}")
        labels[example_id] = name
  except UnicodeDecodeError as e:
    raise DataSourceError(f"{path}: not a UTF-8 CSV file ({e.reason})") from None
  except csv.Error as e:
    raise DataSourceError(f"{path}: not a readable CSV file ({e})") from None
  if not labels:
    raise DataSourceError(f"{path}: no labels in the file (only a header)")
  return labels


def digest(path: str) -> str:
  """The file's SHA-256: recorded with the run, so that another file is another cache entry."""
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()
