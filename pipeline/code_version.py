"""Hashes of this checkout's code, the part of a cache key that TFX does not see (import-path
user code). No heavy imports: a benchmark checks its CSV with it before loading TensorFlow."""
import hashlib
import pathlib
from typing import Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent


def code_hash(root: pathlib.Path, folders: Sequence[str] = (".",)) -> str:
  """A hash of the Python files under `root`/each folder, subfolders included, and their names."""
  digest = hashlib.sha256()
  for folder in folders:
    for path in sorted((root / folder).rglob("*.py")):
      digest.update(str(path.relative_to(root)).encode())
      digest.update(path.read_bytes())
  return digest.hexdigest()[:16]
