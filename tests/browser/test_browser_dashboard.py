"""The live dashboard in a real JupyterLab, driven through headless Chromium (Playwright).

The notebook runs three cells with Run All: a grid search whose trials sleep per
epoch and half of which fail, a long foreground search that the test stops from
the dashboard while it runs, and a plain cell that must still run after it. The
tests run in file order and share that one notebook run (server and browser
come from jupyterlab_browser.py).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from jupyterlab_browser import JS_KERNEL_READY, open_notebook, shot

pytestmark = pytest.mark.browser

NB_NAME = "dashboard.ipynb"

SETUP = r'''
import os
os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = "1"
import time
import numpy as np
import keras

def build(units=4, crash=False, learning_rate=0.01):
    if crash:
        raise ValueError(f"this model refuses units={units}")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model

class Slow(keras.callbacks.Callback):
    """Makes each epoch last long enough to watch."""
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.5)

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3)).astype("float32")
y = X @ np.array([1.0, -1.0, 0.5], dtype="float32")
slow = {"callbacks": [Slow()]}
%load_ext nnhp_magics
'''
GRID = """%%hpsearch build X y --strategy grid --epochs 4 --patience 0 --seed 0 --fit-kwargs slow -o grid
units = [2, 4, 8]
crash = [False, True]
"""
LONG = """%%hpsearch build X y --trials 40 --epochs 3 --patience 0 --seed 1 --fit-kwargs slow -o long
units = int(2, 8)
"""
AFTER = 'print("ran after the searches:", grid.stop_reason, long.stop_reason)'


def trial_order(dash: Any) -> list[int]:
    return [int(n) for n in dash.locator("table.nnhp-board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.trial)")]


@pytest.fixture(scope="module")
def notebook(jlab, page):
    """The test notebook opened in JupyterLab, its kernel ready, Run All clicked."""
    return open_notebook(page, jlab, NB_NAME, [SETUP, GRID, LONG, AFTER])


def test_the_dashboard_shows_a_search_live(notebook):
    from playwright.sync_api import expect

    dash = notebook.locator(".nnhp-dash").nth(0)
    expect(dash).to_have_attribute("data-status", "running", timeout=180_000)
    counter = dash.locator(".nnhp-counter")
    seen, points, running_rows = set(), 0, 0
    deadline = time.monotonic() + 180
    while dash.get_attribute("data-status") == "running" and time.monotonic() < deadline:
        seen.add(counter.get_attribute("data-finished"))
        points = max(points, int(dash.locator("svg.nnhp-chart").get_attribute("data-points") or 0))
        running_rows = max(running_rows, dash.locator("tr.nnhp-row-running").count())
        if len(seen) == 2:
            shot(dash, "dashboard_running.png")
        time.sleep(0.2)
    assert len(seen - {"0"}) >= 2, f"the trial counter did not advance while the search ran: {seen}"
    assert points > 0, "the running trial's curves got no points"
    assert running_rows >= 1, "the running trial has a row of its own"
    expect(dash).to_have_attribute("data-status", "done", timeout=60_000)
    expect(counter).to_have_text("6 of 6 trials")
    shot(dash, "dashboard_done.png")


def test_sort_and_stop_while_a_foreground_search_runs(notebook):
    from playwright.sync_api import expect

    dash = notebook.locator(".nnhp-dash").nth(1)
    expect(dash).to_have_attribute("data-status", "running", timeout=180_000)
    notebook.wait_for_function(
        "d => d.querySelectorAll('tr.nnhp-row-complete').length >= 2 && d.querySelector('tr.nnhp-row-running')",
        arg=dash.element_handle(), timeout=120_000)
    header = dash.locator('th[data-key="trial"]')
    header.click()
    ascending = trial_order(dash)
    assert ascending == sorted(ascending), ascending
    header.click()
    descending = trial_order(dash)
    assert descending == sorted(descending, reverse=True) and len(descending) >= 3, descending
    expect(dash).to_have_attribute("data-status", "running")
    shot(dash, "dashboard_sorted_while_running.png")
    stop = dash.locator("button.nnhp-stop")
    expect(stop).to_be_enabled()
    stop.click()
    expect(dash).to_have_attribute("data-status", "stopped", timeout=60_000)
    expect(dash.locator("tr.nnhp-row-interrupted")).to_have_count(1)
    assert dash.locator("tr.nnhp-row-complete").count() >= 2, "finished trials are kept"
    assert int(dash.locator(".nnhp-counter").get_attribute("data-finished")) < 40
    after = notebook.locator(".jp-CodeCell").nth(3).locator(".jp-OutputArea-output")
    expect(after).to_contain_text("ran after the searches: done stopped", timeout=60_000)
    shot(dash, "dashboard_stopped.png")


def test_leaderboard_sorting_failures_and_export_after_the_search(notebook, jlab, keras_ready):
    from playwright.sync_api import expect

    notebook.wait_for_function(JS_KERNEL_READY, timeout=120_000)
    dash = notebook.locator(".nnhp-dash").nth(0)
    rows = dash.locator("table.nnhp-board tbody tr")
    expect(rows).to_have_count(6)
    states = rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert states == ["complete"] * 3 + ["failed"] * 3, "sorted by score, failures last"
    assert dash.locator("tr.nnhp-best-row").count() == 1
    expect(dash.locator("tr.nnhp-best-row")).to_have_attribute("data-trial", str(trial_order(dash)[0]))
    failed = dash.locator("tr.nnhp-row-failed").first
    expect(failed.locator(".nnhp-reason")).to_contain_text("ValueError: this model refuses units=")
    units = dash.locator('th[data-key="p:units"]')
    units.click()
    values = dash.locator('td[data-key="p:units"]').all_text_contents()
    assert values == sorted(values, key=int)
    units.click()
    assert dash.locator('td[data-key="p:units"]').all_text_contents() == sorted(values, key=int, reverse=True)
    expect(dash.locator("th.nnhp-sorted-desc")).to_have_attribute("data-key", "p:units")
    expect(dash.locator(".nnhp-best-code")).to_contain_text("dict(units=")

    dash.locator("svg.nnhp-chart").scroll_into_view_if_needed()
    point = dash.locator(".nnhp-series-best path").evaluate(
        "p => { const q = p.getPointAtLength(0).matrixTransform(p.getScreenCTM()); return [q.x, q.y]; }")
    notebook.mouse.move(point[0], point[1])
    expect(dash.locator(".nnhp-tooltip")).to_contain_text(re.compile(r"trial \d+ · epoch 1 · val_loss"))
    dash.locator(".nnhp-log-toggle").check()
    assert int(dash.locator("svg.nnhp-chart").get_attribute("data-points")) > 0

    target = jlab["root"] / "exported" / "best.keras"
    dash.locator(".nnhp-export-path").fill(str(target))
    dash.locator("button.nnhp-export").click()
    expect(dash.locator(".nnhp-notice")).to_have_attribute("data-kind", "ok", timeout=60_000)
    shot(dash, "dashboard_exported.png")
    model = keras_ready.saving.load_model(target)
    assert model.output_shape == (None, 1)
    assert (target.parent / "best.params.json").exists() and (target.parent / "best.leaderboard.csv").exists()


#: The lowest contrast between a leaderboard cell's text and what it is drawn on (alpha blended), and where.
JS_LOWEST_CONTRAST = """dash => {
  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number).concat([1]).slice(0, 4);
  const over = (fg, bg) => fg.slice(0, 3).map((c, i) => c * fg[3] + bg[i] * (1 - fg[3]));
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((bg, c) => over(c, bg), [255, 255, 255]);
  };
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let worst = [Infinity, ""];
  for (const cell of dash.querySelectorAll("table.nnhp-board th, table.nnhp-board td, .nnhp-status")) {
    const bg = background(cell);
    const fg = over(rgba(getComputedStyle(cell).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const row = cell.closest("tr");
    if (ratio < worst[0]) worst = [ratio, `${row ? row.className : cell.className} ${cell.dataset.key || ""}`];
  }
  return worst;
}"""


def use_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab's theme from the Settings menu and wait until it applies."""
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile("^Settings$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile("^Theme$")).hover()
    page.locator('.lm-Menu-item[data-command="apputils:change-theme"]', has_text=re.compile(f"^{theme}$")).click()
    page.wait_for_function("t => document.body.dataset.jpThemeName === t", arg=theme, timeout=60_000)
    page.wait_for_timeout(1000)  # the theme's stylesheet loads after the attribute changes


def test_every_leaderboard_row_reads_at_4_5_to_1_in_the_light_and_dark_themes(notebook):
    dash = notebook.locator(".nnhp-dash").nth(0)
    assert dash.locator("tr.nnhp-best-row").count() == 1 and dash.locator("tr.nnhp-row-failed").count() == 3
    try:
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            if notebook.evaluate("() => document.body.dataset.jpThemeName") != theme:
                use_theme(notebook, theme)
            ratio, where = dash.element_handle().evaluate(JS_LOWEST_CONTRAST)
            shot(dash.locator("table.nnhp-board"), f"dashboard_board_{theme.split()[-1].lower()}.png")
            shot(dash, f"dashboard_{theme.split()[-1].lower()}.png")
            assert ratio >= 4.5, f"{theme}: text contrast {ratio:.2f}:1 in {where}"
    finally:
        if notebook.evaluate("() => document.body.dataset.jpThemeName") != "JupyterLab Light":
            use_theme(notebook, "JupyterLab Light")
