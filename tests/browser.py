"""Headless Chromium for the report tests: a screenshot and the DOM of a local HTML file."""
import base64
import io
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars"]


def chromium() -> str:
  for name in ("chromium", "chromium-browser", "google-chrome"):
    path = shutil.which(name)
    if path:
      return path
  pytest.skip("no Chromium on this machine (make test installs Debian's chromium when it can)")


def _run(args, profile: pathlib.Path) -> subprocess.CompletedProcess:
  return subprocess.run([chromium()] + _FLAGS + [f"--user-data-dir={profile}"] + args,
                        capture_output=True, text=True, timeout=120, check=True)


def dom(page: pathlib.Path, profile: pathlib.Path) -> str:
  """The page's DOM after Chromium loaded it."""
  return _run(["--dump-dom", page.as_uri()], profile).stdout


def screenshot(page: pathlib.Path, out: pathlib.Path, profile: pathlib.Path,
               height: int = 5000) -> np.ndarray:
  """The rendered page as an RGB array."""
  import matplotlib.image
  _run([f"--window-size=1200,{height}", f"--screenshot={out}", page.as_uri()], profile)
  return matplotlib.image.imread(str(out))[..., :3]


def plot_pixels(image: np.ndarray) -> int:
  """Pixels in strong colours: plots and images, not text or table lines (grey on white)."""
  spread = image.max(axis=2) - image.min(axis=2)
  return int((spread > 0.25).sum())


def thumbnails(html: str):
  """The thumbnails of a page's galleries as decoded pictures, and the counts they state."""
  from PIL import Image
  images = [Image.open(io.BytesIO(base64.b64decode(data))) for data in re.findall(
      r'<img class="thumb" alt="[^"]*" src="data:image/png;base64,([^"]+)"', html)]
  stated = [int(n) for n in re.findall(r'<span class="shown">(\d+)</span>', html)]
  return images, stated
