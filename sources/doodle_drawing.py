"""Procedural Quick, Draw!-style doodles: 10 classes of jittered strokes on a 28x28 canvas,
and their colour kind (`draw_colour`, 32x32x3): the same strokes in a random colour on a
random coloured, textured background, so that the class is in the shape alone.

Classes come in look-alike pairs (cat/dog, clock/flower, house/book, banana/rainbow,
airplane/bird) and every drawing is distorted (stroke jitter, rotation, scale, stretch,
position, thickness, dropped strokes, stray scribbles), so that a classifier needs many
labels to separate them well: the regime where unlabeled data helps.
"""
from typing import Callable, Dict, List

import numpy as np

from sources import features

IMAGE_SIZE = 28
COLOUR_SIDE = 32
CLASS_NAMES = (
    "airplane", "banana", "bird", "book", "cat",
    "clock", "dog", "flower", "house", "rainbow",
)

Stroke = np.ndarray  # (points, 2) in canvas units, x right and y down, roughly [-1, 1]

# Pixel offsets a stroke point can ink: enough for the thickest pen (1.6 px + anti-aliasing).
_WINDOW = np.stack(np.meshgrid(np.arange(-2, 3), np.arange(-2, 3), indexing="xy"), -1).reshape(-1, 2)


def _arc(cx, cy, rx, ry, start, end, points=16) -> Stroke:
  angles = np.linspace(start, end, points)
  return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], axis=-1)


def _line(*xy) -> Stroke:
  return np.asarray(xy, dtype=np.float64).reshape(-1, 2)


def _airplane(rng) -> List[Stroke]:
  span = rng.uniform(0.6, 0.95)
  sweep = rng.uniform(-0.2, 0.3)
  return [
      _line(-0.9, 0.0, 0.9, 0.0),
      _line(-0.1, 0.0, -0.1 - sweep, -span, 0.15 - sweep, -span, 0.2, 0.0),
      _line(-0.1, 0.0, -0.1 - sweep, span, 0.15 - sweep, span, 0.2, 0.0),
      _line(-0.9, 0.0, -0.95, -0.35, -0.7, 0.0),
  ]


def _banana(rng) -> List[Stroke]:
  depth = rng.uniform(0.25, 0.45)
  return [
      _arc(0.0, -0.4, 0.85, 0.9, 0.25 * np.pi, 0.75 * np.pi),
      _arc(0.0, -0.4, 0.85, 0.9 - depth, 0.25 * np.pi, 0.75 * np.pi),
      _line(-0.62, 0.2, -0.75, 0.05),
  ]


def _bird(rng) -> List[Stroke]:
  lift = rng.uniform(0.2, 0.6)
  return [
      _arc(-0.45, 0.1, 0.45, lift, np.pi, 2 * np.pi),
      _arc(0.45, 0.1, 0.45, lift, np.pi, 2 * np.pi),
      _arc(0.0, 0.25, 0.2, 0.15, 0.0, 2 * np.pi, points=10),
  ]


def _book(rng) -> List[Stroke]:
  open_angle = rng.uniform(0.0, 0.3)
  return [
      _line(-0.8, -0.6 + open_angle, 0.0, -0.6, 0.8, -0.6 + open_angle,
            0.8, 0.6 + open_angle, 0.0, 0.6, -0.8, 0.6 + open_angle, -0.8, -0.6 + open_angle),
      _line(0.0, -0.6, 0.0, 0.6),
      _line(-0.6, -0.2, -0.2, -0.2),
  ]


def _cat(rng) -> List[Stroke]:
  ear = rng.uniform(0.35, 0.6)
  return [
      _arc(0.0, 0.15, 0.65, 0.6, 0.0, 2 * np.pi, points=24),
      _line(-0.55, -0.15, -0.45, -0.45 - ear, -0.15, -0.42),
      _line(0.55, -0.15, 0.45, -0.45 - ear, 0.15, -0.42),
      _line(-0.9, 0.25, -0.3, 0.3),
      _line(0.9, 0.25, 0.3, 0.3),
  ]


def _clock(rng) -> List[Stroke]:
  hour = rng.uniform(0, 2 * np.pi)
  minute = rng.uniform(0, 2 * np.pi)
  return [
      _arc(0.0, 0.0, 0.8, 0.8, 0.0, 2 * np.pi, points=28),
      _line(0.0, 0.0, 0.35 * np.cos(hour), 0.35 * np.sin(hour)),
      _line(0.0, 0.0, 0.6 * np.cos(minute), 0.6 * np.sin(minute)),
  ]


def _dog(rng) -> List[Stroke]:
  droop = rng.uniform(0.3, 0.7)
  return [
      _arc(0.0, 0.1, 0.55, 0.6, 0.0, 2 * np.pi, points=24),
      _arc(-0.6, -0.05 + droop / 2, 0.18, droop, 0.0, 2 * np.pi, points=12),
      _arc(0.6, -0.05 + droop / 2, 0.18, droop, 0.0, 2 * np.pi, points=12),
      _arc(0.0, 0.35, 0.2, 0.12, 0.0, 2 * np.pi, points=10),
  ]


def _flower(rng) -> List[Stroke]:
  petals = int(rng.integers(5, 9))
  strokes = [_arc(0.0, -0.2, 0.18, 0.18, 0.0, 2 * np.pi, points=10), _line(0.0, 0.05, 0.0, 0.95)]
  for angle in np.linspace(0, 2 * np.pi, petals, endpoint=False):
    cx, cy = 0.45 * np.cos(angle), -0.2 + 0.45 * np.sin(angle)
    strokes.append(_arc(cx, cy, 0.22, 0.22, 0.0, 2 * np.pi, points=8))
  return strokes


def _house(rng) -> List[Stroke]:
  roof = rng.uniform(0.3, 0.7)
  return [
      _line(-0.65, -0.1, -0.65, 0.8, 0.65, 0.8, 0.65, -0.1, -0.65, -0.1),
      _line(-0.8, -0.1, 0.0, -0.1 - roof, 0.8, -0.1),
      _line(-0.15, 0.8, -0.15, 0.35, 0.15, 0.35, 0.15, 0.8),
  ]


def _rainbow(rng) -> List[Stroke]:
  bands = int(rng.integers(2, 5))
  return [_arc(0.0, 0.5, 0.9 - 0.18 * b, 0.9 - 0.18 * b, np.pi, 2 * np.pi) for b in range(bands)]


CLASS_DRAWERS: Dict[str, Callable[[np.random.Generator], List[Stroke]]] = {
    "airplane": _airplane, "banana": _banana, "bird": _bird, "book": _book, "cat": _cat,
    "clock": _clock, "dog": _dog, "flower": _flower, "house": _house, "rainbow": _rainbow,
}


def _distort(strokes: List[Stroke], rng: np.random.Generator) -> List[Stroke]:
  """Applies the per-drawing hand-drawn variation."""
  kept = [s for s in strokes if rng.random() > 0.15] or [strokes[0]]
  if rng.random() < 0.35:  # a stray scribble, as people add to real doodles
    kept.append(rng.uniform(-0.9, 0.9, size=(int(rng.integers(2, 5)), 2)))
  angle = rng.normal(0.0, 0.3)
  rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
  stretch = np.diag(rng.uniform(0.65, 1.05, size=2))
  shift = rng.uniform(-0.2, 0.2, size=2)
  transform = rotation @ stretch
  # Smooth per-point wobble: the same drawing is never the same twice.
  return [s @ transform.T + shift + rng.normal(0.0, 0.06, size=s.shape) for s in kept]


def _render(strokes: List[Stroke], thickness: float, side: int = IMAGE_SIZE) -> np.ndarray:
  # Stamp anti-aliased discs at points every half pixel along each stroke: only the pixels
  # near a stroke are touched, several times faster than distances to every segment.
  points = []
  for stroke in strokes:
    pixels = (stroke + 1.0) * (side / 2 - 1) + 1.0  # Canvas units [-1, 1] onto [1, side - 1].
    seg = np.diff(pixels, axis=0)
    steps = np.maximum(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) * 2.0), 1).astype(int)
    fractions = np.concatenate([np.arange(n) / n for n in steps])
    starts = np.repeat(pixels[:-1], steps, axis=0)
    points.append(starts + np.repeat(seg, steps, axis=0) * fractions[:, None])
    points.append(pixels[-1:])
  points = np.concatenate(points)
  cells = np.floor(points).astype(int)[:, None, :] + _WINDOW[None]
  dist = np.hypot(*(cells + 0.5 - points[:, None, :]).transpose(2, 0, 1))
  ink = np.clip(thickness - dist + 0.5, 0.0, 1.0).ravel()
  cells = cells.reshape(-1, 2)
  inside = ((cells >= 0) & (cells < side)).all(axis=1)
  image = np.zeros(side * side)
  np.maximum.at(image, cells[inside, 1] * side + cells[inside, 0], ink[inside])
  return (image * 255.0).round().astype(np.uint8).reshape(side, side)


def draw(label: int, rng: np.random.Generator) -> np.ndarray:
  """One doodle of class `label` as a (28, 28) uint8 image, 0 = background, 255 = ink."""
  strokes = CLASS_DRAWERS[CLASS_NAMES[label]](rng)
  return _render(_distort(strokes, rng), thickness=rng.uniform(0.6, 1.6))


def _luma(rgb: np.ndarray) -> np.ndarray:
  return rgb @ np.array(features.LUMA)


def _background(rng: np.random.Generator, side: int) -> np.ndarray:
  """float [side, side, 3]: a gradient between two colours under one of four textures."""
  y, x = np.mgrid[0:side, 0:side] / side
  angle = rng.uniform(0, 2 * np.pi)
  along = np.clip(np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5) + 0.5, 0, 1)[..., None]
  first, second = rng.uniform(0, 255, (2, 3))
  picture = first * (1 - along) + second * along
  texture = rng.integers(4)
  if texture == 1:  # stripes
    turn = rng.uniform(0, np.pi)
    wave = np.sin((np.cos(turn) * x + np.sin(turn) * y) * side * rng.uniform(0.3, 0.9))
    picture = picture + rng.uniform(15, 40) * wave[..., None]
  elif texture == 2:  # checks
    cell = int(rng.integers(3, 9))
    checks = ((np.mgrid[0:side, 0:side] // cell).sum(0) % 2) * 2.0 - 1.0
    picture = picture + rng.uniform(15, 40) * checks[..., None]
  elif texture == 3:  # blotches: coarse noise, enlarged
    coarse = rng.normal(0, 1, (side // 8 + 1, side // 8 + 1, 3))
    picture = picture + rng.uniform(15, 35) * np.kron(coarse, np.ones((8, 8, 1)))[:side, :side]
  return picture


def draw_colour(label: int, rng: np.random.Generator, side: int = COLOUR_SIDE) -> np.ndarray:
  """One colour doodle of class `label` as a (side, side, 3) uint8 image: the strokes in a
  colour whose lightness differs from the background's by at least a third of the range."""
  strokes = CLASS_DRAWERS[CLASS_NAMES[label]](rng)
  ink = _render(_distort(strokes, rng), rng.uniform(0.6, 1.6) * side / IMAGE_SIZE,
                side)[..., None] / 255.0
  background = _background(rng, side)
  shade = _luma(background.mean(axis=(0, 1)))
  colour = rng.uniform(0, 255, 3)
  while abs(_luma(colour) - shade) < 85:
    colour = rng.uniform(0, 255, 3)
  picture = background * (1 - ink) + colour * ink + rng.normal(0, 4, background.shape)
  return np.clip(picture, 0, 255).round().astype(np.uint8)


def example_rng(seed: int, split_index: int, index: int) -> np.random.Generator:
  """The generator for one example: any example can be drawn alone, so any size is a prefix."""
  return np.random.default_rng([seed, split_index, index])
