"""TFDS builder `image_folder`: your own pictures, in folders (layout: sources/image_files.py).

`--data image_folder[/POLARITY] --manual-dir DIR [--image-size N] [--color]`: every picture is
converted once, at preparation, by the one conversion the model's image signature and
`fewlabels predict` use (sources/drawing_image.py): into N x N grey drawings (28 by default)
whose ink POLARITY is `auto` (default), `light_on_dark` or `dark_on_light`, or with `--color`
into N x N colour pictures. The builder's config name says which (image_files.config_name).
Pictures of `labeled/<class>/` go to the `train` split with their class; those of `unlabeled/`
go there too, with the label -1 (TFDS's "no label"), so the pipeline's example ids (the index
in `train`) are unique across both; `test/<class>/` is the `test` split. Each example keeps its
file's path relative to DIR (`path`), so every id points back to a file.

The prepared data's config name holds a fingerprint of the folder (paths, sizes, times), so a
changed folder is prepared anew instead of silently reusing the old pictures.
"""
import collections
import concurrent.futures
import logging
import os
from typing import Iterable, Iterator, Optional, Tuple

import numpy as np
import tensorflow_datasets as tfds

from sources import drawing_image
from sources import features
from sources import image_builder
from sources import image_files
from sources import split_order
from sources.errors import DataSourceError

NAME = image_files.NAME
PATH_KEY = "path"
SKIPPED_KEY = "skipped_images"  # in the prepared data's metadata: paths of unreadable pictures
_PROGRESS_EVERY = 5_000
_IN_FLIGHT_PER_THREAD = 8  # conversions queued ahead, so that a million files never pile up


def _converted(files: Iterable[Tuple[str, int]], image_shape, polarity: str
               ) -> Iterator[Tuple[str, int, object]]:
  """(path, label, (pixels, the file was grey) or the DataSourceError naming the file), in
  the files' order.

  One thread per core: the conversion's TensorFlow ops and Pillow's header parsing release the
  interpreter lock, so the files convert in parallel while their order stays the walk's.
  """
  threads = os.cpu_count() or 1
  with concurrent.futures.ThreadPoolExecutor(threads) as pool:
    pending = collections.deque()

    def oldest():
      path, label, future = pending.popleft()
      try:
        return path, label, future.result()
      except DataSourceError as e:
        return path, label, e

    for path, label in files:
      pending.append((path, label, pool.submit(drawing_image.read_picture, path, image_shape,
                                               polarity, path)))
      if len(pending) >= threads * _IN_FLIGHT_PER_THREAD:
        yield oldest()
    while pending:
      yield oldest()


class ImageFolder(image_builder.ImageClassBuilder):
  """Your own pictures from DIR/labeled/<class>/, DIR/unlabeled/ and DIR/test/<class>/."""

  MANUAL_DOWNLOAD_INSTRUCTIONS = "Pass the image folder as --manual-dir (see the README)."

  def __init__(self, *, folder: Optional[str] = None, config=None,
               skip_bad_images: bool = False, **kwargs):
    if not folder:
      raise DataSourceError("data set 'image_folder' needs the folder: --manual-dir DIR")
    how = getattr(config, "name", config) or "auto"
    self._polarity, self._shape = image_files.parse_config(how)
    self._folder = os.path.abspath(folder)
    self._skip = skip_bad_images
    self._names = image_files.class_names(self._folder)
    fingerprint = image_files.fingerprint(self._folder, f"{how} {skip_bad_images}")
    name = f"{how}-{'skip' if skip_bad_images else 'strict'}-{fingerprint}"
    super().__init__(config=tfds.core.BuilderConfig(name=name, description=self._folder),
                     **kwargs)

  def class_names(self) -> Tuple[str, ...]:
    return self._names

  def image_shape(self) -> Tuple[int, int, int]:
    return self._shape

  def _info(self) -> tfds.core.DatasetInfo:
    info = super()._info()
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(dict(info.features, **{PATH_KEY: tfds.features.Text()})),
        supervised_keys=info.supervised_keys, description=self.__doc__,
        metadata=tfds.core.MetadataDict())

  def _split_generators(self, dl_manager):
    del dl_manager  # the folder is read where it is
    splits = {"train": self._generate_examples((image_files.LABELED, image_files.UNLABELED))}
    if os.path.isdir(os.path.join(self._folder, image_files.TEST)):
      splits["test"] = self._generate_examples((image_files.TEST,))
    return splits

  def _generate_examples(self, parts):
    skipped = self.info.metadata.setdefault(SKIPPED_KEY, [])
    done = made_colour = 0
    for part in parts:
      files = image_files.files_of(self._folder, part, self._names)
      for path, label, read in _converted(files, self._shape, self._polarity):
        relative = os.path.relpath(path, self._folder)
        if isinstance(read, DataSourceError):
          if not self._skip:
            raise DataSourceError(f"{read} (or pass --skip-bad-images)") from None
          logging.warning("skipped: %s", read)
          skipped.append(relative)
          continue
        pixels, grey = read
        done += 1
        made_colour += grey
        if done % _PROGRESS_EVERY == 0:
          logging.info("image folder: %d pictures converted (%s)", done, part)
        yield relative, {"image": pixels.reshape(self._shape).astype(np.uint8), "label": label,
                         PATH_KEY: relative}
    if made_colour and self._shape[-1] == 3:
      logging.warning("image folder: %d of %d pictures (%s) were grey: made colour (R = G = "
                      "B)", made_colour, done, "/".join(parts))
    if skipped:
      logging.warning("image folder: %d unreadable pictures skipped (--skip-bad-images)",
                      len(skipped))


def skipped_images(builder: tfds.core.DatasetBuilder) -> Tuple[str, ...]:
  """The pictures preparation skipped as unreadable (empty for other builders)."""
  return tuple((builder.info.metadata or {}).get(SKIPPED_KEY, ()))


def paths_by_id(builder: tfds.core.DatasetBuilder, split: str = "train") -> np.ndarray:
  """The file of every example id (its index in `split`), relative to the folder."""
  ds = split_order.read(builder, split,
                        decoders={features.IMAGE_KEY: tfds.decode.SkipDecoding()})
  return np.array([p.decode("utf-8", "surrogateescape")
                   for p in tfds.as_numpy(ds.map(lambda ex: ex[PATH_KEY]))], dtype=object)
