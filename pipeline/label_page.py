"""label.html: labeling the suggested pictures in a browser, from the file, offline, no server.

A grid of the pictures (inline PNGs) with the model's guess; the current one is outlined. Keys:
1-9 and 0 give the first ten classes (buttons give every class), Space or S skips, the arrows
move, Backspace clears. The page counts "i of N" and how many are labeled, and "Download
labels.csv" saves `example_id,class_name` rows of the labeled ones (`exportCsv()` returns the
same text), the file `fewlabels run --extra-labels` reads.
"""
import base64
import html
import io
import json
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image

_SCALE = 4  # 28 x 28 drawings shown at 112 x 112

_STYLE = """
body { font-family: sans-serif; margin: 1em; }
#bar { position: sticky; top: 0; background: #fff; padding: .5em 0; border-bottom: 1px solid #ccc; }
.grid { display: flex; flex-wrap: wrap; gap: .6em; margin-top: .6em; }
.card { border: 2px solid #ddd; padding: .4em; width: 15em; }
.card.current { border-color: #06c; }
.card.done { background: #eef8ee; }
.card img { image-rendering: pixelated; width: 112px; height: 112px; background: #000; }
.guess, .file { font-size: .8em; color: #555; word-break: break-all; }
.chosen { font-weight: bold; }
button.class { margin: .1em; font-size: .8em; }
button.class.on { background: #06c; color: #fff; }
"""

_SCRIPT = """
const items = JSON.parse(document.getElementById("items").textContent);
const classes = JSON.parse(document.getElementById("classes").textContent);
const labels = new Array(items.length).fill(null);
let current = 0;
function csvField(text) {
  text = String(text);
  return /[",\\n\\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}
function exportCsv() {
  const lines = ["example_id,class_name"];
  items.forEach((item, i) => {
    if (labels[i] !== null) lines.push(item.example_id + "," + csvField(classes[labels[i]]));
  });
  return lines.join("\\n") + "\\n";
}
function show() {
  document.querySelectorAll(".card").forEach((card, i) => {
    card.classList.toggle("current", i === current);
    card.classList.toggle("done", labels[i] !== null);
    card.querySelector(".chosen").textContent = labels[i] === null ? "" : classes[labels[i]];
    card.querySelectorAll("button.class").forEach((b, c) => b.classList.toggle("on", labels[i] === c));
  });
  const done = labels.filter(l => l !== null).length;
  document.getElementById("progress").textContent =
      (current + 1) + " of " + items.length + " \\u00b7 " + done + " labeled";
  const card = document.querySelectorAll(".card")[current];
  if (card && card.scrollIntoView) card.scrollIntoView({block: "nearest"});
}
function move(step) { current = Math.max(0, Math.min(items.length - 1, current + step)); show(); }
function label(i, c) { labels[i] = c; current = i; move(1); if (i === items.length - 1) show(); }
function download() {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([exportCsv()], {type: "text/csv"}));
  link.download = "labels.csv";
  document.body.appendChild(link);
  link.click();
  link.remove();
}
document.addEventListener("keydown", event => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const digit = "1234567890".indexOf(event.key);
  if (digit >= 0 && digit < classes.length) { label(current, digit); }
  else if (event.key === "ArrowRight" || event.key === "ArrowDown") { move(1); }
  else if (event.key === "ArrowLeft" || event.key === "ArrowUp") { move(-1); }
  else if (event.key === " " || event.key === "s") { move(1); }
  else if (event.key === "Backspace" || event.key === "Delete") { labels[current] = null; show(); }
  else { return; }
  event.preventDefault();
});
document.querySelectorAll(".card").forEach((card, i) => {
  card.querySelectorAll("button.class").forEach((b, c) => b.addEventListener("click", () => label(i, c)));
  card.querySelector("img").addEventListener("click", () => { current = i; show(); });
});
show();
"""


def _png(pixels: np.ndarray) -> str:
  buffer = io.BytesIO()
  Image.fromarray(np.asarray(pixels, np.uint8)).save(buffer, format="PNG")
  return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _script_json(value) -> str:
  """JSON safe inside <script>: no '</' can close the element."""
  return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def render(rows: List[Dict[str, object]], pictures: Sequence[np.ndarray],
           class_names: Sequence[str]) -> str:
  """The page for suggestions.csv's rows and their uint8 [28, 28] pictures."""
  keys = "1234567890"
  buttons = "".join(
      f'<button class="class" type="button">{html.escape(keys[c] + " " if c < 10 else "")}'
      f"{html.escape(name)}</button>" for c, name in enumerate(class_names))
  cards = "".join(
      f'<div class="card"><img alt="example {row["example_id"]}" src="{_png(picture)}">'
      f'<div class="guess">model: {html.escape(str(row["predicted_class"]))} '
      f'({float(row["confidence"]):.2f})</div>'
      + (f'<div class="file">{html.escape(str(row["source_file"]))}</div>'
         if row.get("source_file") else "")
      + f'<div>label: <span class="chosen"></span></div>{buttons}</div>'
      for row, picture in zip(rows, pictures))
  items = [{"example_id": int(row["example_id"])} for row in rows]
  return (
      "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Label next</title>"
      f"<style>{_STYLE}</style></head><body>"
      '<div id="bar"><b>Label next</b> &middot; <span id="progress"></span> &middot; keys: '
      "1-9, 0 = the first ten classes, Space/S = skip, arrows = move, Backspace = clear "
      '<button type="button" onclick="download()">Download labels.csv</button></div>'
      f'<div class="grid">{cards}</div>'
      f'<script type="application/json" id="items">{_script_json(items)}</script>'
      f'<script type="application/json" id="classes">{_script_json(list(class_names))}</script>'
      f"<script>{_SCRIPT}</script></body></html>")
