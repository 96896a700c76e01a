"""Self-contained HTML: tables, and matplotlib figures embedded as PNG data URIs."""
import base64
import html
import io
from typing import Iterable, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
.pass { color: #11772d; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
img { max-width: 100%; } .note { color: #555; font-size: .9em; }
.gallery-row { display: flex; align-items: flex-end; gap: .6em; margin: .3em 0; }
.gallery-class { width: 8em; text-align: right; padding-bottom: 1.4em; }
figure.thumb { margin: 0; text-align: center; font-size: .72em; color: #444; }
img.thumb { display: block; margin: 0 auto; border: 1px solid #ddd; image-rendering: pixelated; }
"""


def escape(value) -> str:
  return html.escape(str(value))


def figure_tag(fig, alt: str) -> str:
  """The figure as an <img> with its PNG inline; closes the figure."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
  plt.close(fig)
  data = base64.b64encode(buffer.getvalue()).decode("ascii")
  return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def mean_and_spread(ax, x: Sequence[float], samples: Sequence[Sequence[float]], style: str = "o-",
                    label: str = ""):
  """The mean of each x's samples as a line, their +-std as a band around it, or as an error bar
  where there is one x (a band one x wide is invisible). Returns the line."""
  mean = np.array([np.mean(s) for s in samples])
  std = np.array([np.std(s) for s in samples])
  line, = ax.plot(x, mean, style, label=label)
  if len(x) > 1:
    ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
  else:
    ax.errorbar(x, mean, yerr=std, color=line.get_color(), capsize=4)
  return line


def table(headers: Sequence[str], rows: Iterable[Sequence], text_columns: int = 1) -> str:
  """An HTML table; the first `text_columns` columns align left."""
  def cell(tag, index, value):
    cls = ' class="text"' if index < text_columns else ""
    return f"<{tag}{cls}>{value}</{tag}>"
  head = "".join(cell("th", i, escape(h)) for i, h in enumerate(headers))
  body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                 for row in rows)
  return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, sections: Sequence[str], footer: str = "") -> str:
  return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
          f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{''.join(sections)}"
          f"<p class=\"note\">{footer}</p></body></html>")


def fmt(value, digits: int = 4) -> str:
  return "n/a" if value is None else f"{value:.{digits}f}"
