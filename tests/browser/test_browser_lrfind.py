"""The %lrfind chart in a real JupyterLab, driven through headless Chromium (Playwright).

The notebook runs a short range test on a tiny model with Run All, then prints
``lr.chosen``. The test picks a rate by clicking on the chart, dragging
the marker and with the slider's arrow keys, re-runs the print cell and checks that Python got the rate
the chart shows, and that "copy as code" copies that same literal. Server and
browser come from jupyterlab_browser.py.
"""

from __future__ import annotations

import re

import pytest
from helpers import tiny_setup_cell
from jupyterlab_browser import JS_KERNEL_READY, open_notebook, shot

pytestmark = pytest.mark.browser

NB_NAME = "lrfind.ipynb"

SETUP = tiny_setup_cell(units=8, learning_rate=1e-3, rows=256)
LRFIND = "%lrfind build X y --steps 60 -o lr"
PRINT = 'print("chosen", lr.chosen)'
LITERAL = re.compile(r"^\d\.\de[+-]\d\d$")


def printed_text(rate: str) -> str:
    """What ``print("chosen", lr.chosen)`` writes once Python holds the rate shown as ``rate``."""
    return f"chosen {float(rate)!r}"


def test_pick_a_rate_on_the_chart_and_use_it_in_the_next_cell(jlab, page):
    from playwright.sync_api import expect

    notebook = open_notebook(page, jlab, NB_NAME, [SETUP, LRFIND, PRINT])
    chart = notebook.locator(".nnhp-lrpick")
    expect(chart).to_have_attribute("data-status", re.compile("^(finished|diverged)$"), timeout=180_000)
    expect(chart).to_have_attribute("data-pickable", "true")
    notebook.wait_for_function(JS_KERNEL_READY, timeout=120_000)
    svg = chart.locator("svg.nnhp-lrpick-chart")
    assert int(svg.get_attribute("data-points")) > 20, "the curve has its points"
    cell = notebook.locator(".jp-CodeCell").nth(1)
    expect(cell.locator(".nnhp-lrfind")).to_have_count(1)
    expect(cell.locator(".nnhp-lrfind")).to_be_hidden()
    printed = notebook.locator(".jp-CodeCell").nth(2).locator(".jp-OutputArea-output")
    expect(printed).to_contain_text("chosen ")
    shot(chart, "lrfind_done.png")

    value = chart.locator(".nnhp-lrpick-value")
    before = value.text_content()
    overlay = chart.locator(".nnhp-lrpick-overlay")
    overlay.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    overlay.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.5})
    expect(value).not_to_have_text(before)
    clicked = value.text_content()
    assert LITERAL.match(clicked), clicked
    expect(chart).to_have_attribute("data-chosen", clicked)

    left, middle = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    notebook.mouse.move(left, middle)
    notebook.mouse.down()
    notebook.mouse.move(left + box["width"] * 0.1, middle, steps=5)
    notebook.mouse.up()
    expect(value).not_to_have_text(clicked)
    dragged = value.text_content()
    assert float(dragged) > float(clicked), (clicked, dragged)
    clicked = dragged

    slider = chart.locator("input.nnhp-lrpick-slider")
    slider.focus()
    for _ in range(5):
        notebook.keyboard.press("ArrowRight")
    expect(value).not_to_have_text(clicked)
    picked = value.text_content()
    assert LITERAL.match(picked) and float(picked) > float(clicked), (clicked, picked)
    shot(chart, "lrfind_picked.png")

    notebook.locator(".jp-CodeCell").nth(2).locator(".jp-InputArea-editor").click()
    notebook.keyboard.press("Shift+Enter")
    expect(printed).to_have_text(printed_text(picked), timeout=60_000)

    copy = chart.locator("button.nnhp-lrpick-copy")
    copy.click()
    expect(copy).to_have_attribute("data-copied", picked)
