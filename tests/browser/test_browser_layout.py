"""The dashboard at 800 px with the file browser open, a search with a 1e6 first-epoch spike, and the saved notebook.

One notebook: a grid search where one trial's first validation epoch reads about 1e6
(an offset applied at inference in epoch 1 only), a second round from a later cell, and
a `%lrfind` whose rate is then picked from Python. The tests run in file order and share
that run; the last one saves the notebook, shuts its kernel down and reopens it without
widget state.
"""

from __future__ import annotations

import re

import pytest
from jupyterlab_browser import menu, open_notebook, shot

pytestmark = pytest.mark.browser

NB_NAME = "layout.ipynb"

SETUP = r'''
import os
os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = "1"
import numpy as np
import keras

class Offset(keras.layers.Layer):
    """Adds `offset` to predictions at inference only: a validation loss of about offset**2."""
    def __init__(self, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.start = offset
    def build(self, shape):
        self.offset = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.start), trainable=False)
    def call(self, x, training=None):
        return x if training else x + self.offset

class FirstEpochOnly(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        for layer in self.model.layers:
            if isinstance(layer, Offset):
                layer.offset.assign(0.0)

def build(learning_rate=0.01, spike=False, units=8):
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(1), Offset(1000.0 if spike else 0.0)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model

rng = np.random.default_rng(0)
X = rng.normal(size=(96, 3)).astype("float32")
y = (X @ np.array([1.0, -1.0, 0.5]) + 0.3 * rng.normal(size=96)).astype("float32")
once = {"callbacks": [FirstEpochOnly()]}
%load_ext nnhp_magics
'''
GRID = """%%hpsearch build X y --strategy grid --epochs 6 --patience 0 --seed 0 --fit-kwargs once -o grid
learning_rate = [0.003, 0.01, 0.03, 0.1]
spike = [False, True]
units = [8, 16]
"""
ROUND = 'grid.run_round("learning_rate = [0.05, 0.02]\\nspike = False\\nunits = 4", strategy="grid", trials=2)\nprint("after round 2:", grid.summary())'
LRFIND = "%lrfind build X y --steps 60 -o lr"
PICK = "lr.chosen = 0.0123\nprint(lr.picked_line())"

#: The smallest rendered text in the dashboard: computed font size times the drawing's scale, for HTML and SVG text.
JS_SMALLEST_TEXT = """dash => {
  let smallest = [Infinity, ""];
  const walker = document.createTreeWalker(dash, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !el.getClientRects().length) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest("svg");
    if (svg) { const m = svg.getScreenCTM(); size *= Math.hypot(m.a, m.b); }
    if (size < smallest[0]) smallest = [size, `${el.tagName}.${el.getAttribute("class") || ""}: ${node.textContent.slice(0, 30)}`];
  }
  return smallest;
}"""

#: Where the key columns sit against the table's box, before and after scrolling it to its right end.
JS_KEY_COLUMNS = """dash => {
  const box = dash.querySelector(".nnhp-board-box");
  const inside = () => ["trial", "state", "score"].every((key) => {
    const r = box.querySelector(`th[data-key="${key}"]`).getBoundingClientRect(), b = box.getBoundingClientRect();
    return r.left >= b.left - 1 && r.right <= b.right + 1;
  });
  const before = inside();
  box.scrollLeft = box.scrollWidth;
  const after = inside();
  const scrolls = box.scrollWidth > box.clientWidth;
  box.scrollLeft = 0;
  return { before, after, scrolls, page: document.documentElement.scrollWidth <= window.innerWidth };
}"""

#: The share of the plot's height that the curves of trials other than `trial` span.
JS_OTHERS_SPAN = """(dash, trial) => {
  const svg = dash.querySelector("svg.nnhp-chart");
  const ys = [];
  for (const g of svg.querySelectorAll(".nnhp-series")) {
    if (g.dataset.trial === String(trial)) continue;
    const box = g.querySelector("path").getBBox();
    if (box.height || box.width) ys.push(box.y, box.y + box.height);
  }
  const grid = [...svg.querySelectorAll(".nnhp-grid")].map((l) => Number(l.getAttribute("y1")));
  return (Math.max(...ys) - Math.min(...ys)) / (Math.max(...grid) - Math.min(...grid));
}"""


@pytest.fixture(scope="module")
def notebook(jlab, page):
    """The notebook at 800 px with the file browser open, run to its end."""
    from playwright.sync_api import expect

    nb = open_notebook(page, jlab, NB_NAME, [SETUP, GRID, ROUND, LRFIND, PICK])
    page.set_viewport_size({"width": 800, "height": 1400})  # after the kernel is ready: the narrow toolbar hides its name
    try:
        if not nb.locator("#filebrowser").is_visible():
            nb.locator('.jp-SideBar [data-id="filebrowser"]').click()
        # the pick's printed line, and the %lrfind cell's static view redrawn with the pick
        expect(nb.locator(".jp-OutputArea-output", has_text=re.compile(r"\(picked\)"))).to_have_count(2, timeout=300_000)
        yield nb
    finally:  # the later browser modules share the page, and wait for a kernel name the narrow toolbar hides
        page.set_viewport_size({"width": 1280, "height": 1600})


def test_at_800_px_no_text_is_under_10_px_and_the_key_columns_stay_in_view(notebook):
    dash = notebook.locator(".nnhp-dash").first
    dash.locator(".nnhp-explore").scroll_into_view_if_needed()
    width = dash.evaluate("d => d.getBoundingClientRect().width")
    assert width < 640, f"the file browser leaves the notebook narrow ({width} px)"
    size, where = dash.element_handle().evaluate(JS_SMALLEST_TEXT)
    shot(dash.locator(".nnhp-board-box"), "dashboard_800px.png")
    assert size >= 10, f"text drawn at {size:.1f} px: {where}"
    columns = dash.element_handle().evaluate(JS_KEY_COLUMNS)
    assert columns["scrolls"], "the leaderboard is wider than its box, and scrolls inside it"
    assert columns["before"] and columns["after"], "trial, state and score stay in view"
    assert columns["page"], "nothing sticks out of the page"
    lrfind = notebook.locator(".nnhp-lrpick").first
    size, where = lrfind.element_handle().evaluate(JS_SMALLEST_TEXT)
    assert size >= 10, f"lrfind chart text drawn at {size:.1f} px: {where}"


def test_a_first_epoch_spike_gets_a_log_axis_that_still_separates_the_other_curves(notebook):
    dash = notebook.locator(".nnhp-dash").first
    chart = dash.locator("svg.nnhp-chart")
    assert chart.get_attribute("data-scale") == "log"
    assert "val_loss" in chart.locator(".nnhp-y-label").text_content()
    ticks = [t.strip() for t in chart.locator(".nnhp-y-tick").all_text_contents()]
    assert ticks and all(not t.startswith("-") for t in ticks)
    spiked = [int(r.get_attribute("data-trial")) for r in dash.locator("tbody tr").all()
              if "True" in r.locator('td[data-key="p:spike"]').text_content()]
    assert spiked
    span = dash.evaluate(JS_OTHERS_SPAN, spiked[0])
    shot(chart, "dashboard_spike_log.png")
    assert span > 0.3, f"the other curves span only {span:.0%} of the plot"


def test_the_saved_notebook_reopened_without_widget_state_shows_the_search_as_it_ended(notebook, jlab):
    from playwright.sync_api import expect

    last = notebook.locator(".jp-OutputArea-output", has_text="after round 2:").text_content()
    best = re.search(r"best val_loss = ([\d.e+-]+)", last).group(1)
    notebook.keyboard.press("Control+s")
    notebook.wait_for_timeout(1500)
    menu(notebook, "Kernel", "kernelmenu:shutdown")
    accept = notebook.locator(".jp-Dialog .jp-mod-accept")
    if accept.count():
        accept.click()
    notebook.wait_for_timeout(2000)
    notebook.goto(f"{jlab['url']}/lab/tree/{NB_NAME}?token={jlab['token']}&reset")
    notebook.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
    static = notebook.locator(".nnhp-static").first
    expect(static).to_be_visible(timeout=60_000)
    expect(static).to_contain_text(f"best val_loss = {best}")
    expect(static).to_contain_text("round 2: 2 trials")
    expect(notebook.locator(".nnhp-lrfind").first).to_contain_text("lr.chosen = 1.2e-02 (picked)")
    shot(static, "saved_static.png")
    assert not notebook.locator(".jp-OutputArea-output", has_text="nnhp-magics live dashboard").count()
