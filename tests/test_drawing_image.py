"""Pictures to drawings: any format, size and mode gives light ink on dark in 28 x 28, the
aspect ratio kept; bad files are one line naming them."""
import io

import numpy as np
import pytest
from PIL import Image

from sources import drawing_image
from sources import features
from sources.errors import DataSourceError


def to_drawing(source, polarity="auto"):
  return drawing_image.to_picture(source, features.DRAWING_SHAPE, polarity)


def _encoded(image: Image.Image, fmt: str) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, format=fmt)
  return buffer.getvalue()


def _bar(width=120, height=60, ink=0, paper=255, mode="L"):
  """A horizontal bar across the middle of a wide picture."""
  pixels = np.full((height, width), paper, np.uint8)
  pixels[height // 2 - 4:height // 2 + 4, 10:width - 10] = ink
  return Image.fromarray(pixels).convert(mode)


@pytest.mark.parametrize("fmt,mode", [(f, m) for f in ("PNG", "JPEG", "GIF", "BMP", "WEBP")
                                      for m in ("L", "RGB", "P") if (f, m) != ("JPEG", "P")])
def test_every_format_and_mode_gives_light_ink_on_dark(fmt, mode):
  drawing = to_drawing(_encoded(_bar(mode=mode), fmt))
  assert drawing.shape == (28, 28) and drawing.dtype == np.uint8
  assert drawing[14, 14] > 200  # the bar is ink: light
  assert drawing[0, 0] < 30 and drawing[27, 27] < 30  # paper and padding: dark


def test_the_aspect_ratio_is_kept_with_padding():
  drawing = to_drawing(_encoded(_bar(width=120, height=60), "PNG"))
  rows = np.flatnonzero(drawing.max(axis=1) > 100)
  columns = np.flatnonzero(drawing.max(axis=0) > 100)
  assert columns.min() >= 1 and columns.max() <= 26  # 100 of 120 wide: most of the width
  assert rows.max() - rows.min() <= 4  # 8 of 60 high stays a thin bar, not stretched


def test_light_on_dark_pictures_are_left_as_they_are_and_the_polarity_can_be_forced():
  already = _encoded(_bar(ink=255, paper=0), "PNG")
  assert to_drawing(already)[14, 14] > 200
  assert to_drawing(already, polarity="dark_on_light")[14, 14] < 50


def test_transparency_and_16_bit_pictures():
  rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # transparent paper, black ink
  rgba.paste((0, 0, 0, 255), (5, 18, 35, 22))
  drawing = to_drawing(_encoded(rgba, "PNG"))
  assert drawing[14, 14] > 200 and drawing[1, 1] < 30
  wide = np.full((40, 40), 60000, np.uint16)
  wide[18:22, 5:35] = 0
  deep = to_drawing(_encoded(Image.fromarray(wide), "PNG"))
  assert deep[14, 14] > 200 and deep[1, 1] < 30


def test_bytes_and_the_file_give_the_same_pixels(tmp_path):
  path = tmp_path / "cat.png"
  path.write_bytes(_encoded(_bar(), "PNG"))
  np.testing.assert_array_equal(to_drawing(str(path)),
                                to_drawing(path.read_bytes()))


@pytest.mark.parametrize("content,fragment", [
    (b"", "not a readable image"),
    (b"this is text, not a picture", "not a readable image"),
])
def test_a_file_that_is_not_an_image_is_named(tmp_path, content, fragment):
  path = tmp_path / "bad file é.png"
  path.write_bytes(content)
  with pytest.raises(DataSourceError, match=f"{path}: {fragment}"):
    to_drawing(str(path))


def test_a_truncated_image_is_named(tmp_path):
  path = tmp_path / "cut.png"
  path.write_bytes(_encoded(_bar(), "PNG")[:60])
  with pytest.raises(DataSourceError, match=f"{path}: not a readable image"):
    to_drawing(str(path))


def test_a_huge_picture_is_refused_before_decoding(tmp_path, monkeypatch):
  monkeypatch.setattr(drawing_image, "MAX_PIXELS", 100 * 100)
  path = tmp_path / "huge.png"
  path.write_bytes(_encoded(_bar(width=200, height=200), "PNG"))
  with pytest.raises(DataSourceError, match=r"huge.png: 200 x 200 pixels, more than the 10,000"):
    to_drawing(str(path))


def _colour_file(fmt, mode="RGB"):
  """A 60 x 30 picture: red on its left half, blue on its right."""
  pixels = np.zeros((30, 60, 3), np.uint8)
  pixels[:, :30] = (220, 30, 30)
  pixels[:, 30:] = (30, 30, 220)
  return _encoded(Image.fromarray(pixels).convert(mode), fmt)


@pytest.mark.parametrize("fmt,mode", [("PNG", "RGB"), ("JPEG", "RGB"), ("JPEG", "CMYK"),
                                      ("WEBP", "RGB"), ("PNG", "RGBA")])
def test_colour_pictures_keep_their_colours_and_aspect_ratio(fmt, mode):
  picture = drawing_image.to_picture(_colour_file(fmt, mode), (20, 20, 3))
  assert picture.shape == (20, 20, 3) and picture.dtype == np.uint8
  picture = picture.astype(int)
  red, blue = picture[10, 3], picture[10, 16]
  assert red[0] > 150 and red[2] < 90 and blue[2] > 150 and blue[0] < 90  # no polarity change
  assert picture[:4].max() < 20 and picture[-4:].max() < 20  # a wide picture: padded, not stretched


def test_grey_and_16_bit_files_become_grey_colour_pictures_said_as_grey():
  wide = np.full((40, 40), 60000, np.uint16)
  wide[18:22, 5:35] = 0
  picture, grey = drawing_image.read_picture(_encoded(Image.fromarray(wide), "PNG"), (16, 16, 3))
  assert grey and picture.shape == (16, 16, 3)
  assert (picture[..., 0] == picture[..., 1]).all() and (picture[..., 1] == picture[..., 2]).all()
  assert picture[1, 1, 0] > 200 and picture[8, 8, 0] < 100  # light paper kept: no polarity
  assert not drawing_image.read_picture(_colour_file("PNG"), (16, 16, 3))[1]


def test_grey_models_of_any_size_read_drawings_with_the_polarity():
  drawing = drawing_image.to_picture(_encoded(_bar(), "PNG"), (40, 40, 1))
  assert drawing.shape == (40, 40) and drawing[20, 20] > 200 and drawing[2, 2] < 30
  np.testing.assert_array_equal(drawing_image.to_picture(_encoded(_bar(), "PNG"), (28, 28, 1)),
                                to_drawing(_encoded(_bar(), "PNG")))
