"""The dashboard's Explore panel in a real JupyterLab (Playwright + headless Chromium).

After an eight-trial search: importances, scatters and parallel coordinates show;
brushing an axis filters the leaderboard and "clear" resets it; Refine fills the
spec editor from Python; after an edit, Run again runs round 2 in the background
and its rows join the leaderboard while round 1's stay. The tests share one
notebook run and go in file order.
"""

from __future__ import annotations

import re

import pytest
from helpers import tiny_setup_cell
from jupyterlab_browser import JS_KERNEL_READY, open_notebook, shot

pytestmark = pytest.mark.browser

NB_NAME = "explore.ipynb"
SETUP = tiny_setup_cell(units=4, learning_rate=0.01, rows=64)
SEARCH = """%%hpsearch build X y --trials 8 --epochs 3 --patience 0 --seed 0 -o found
units = int(2, 16)
learning_rate = loguniform(1e-3, 1e-1)
"""
ROUND_SPEC = "units = int(4, 8)\nlearning_rate = loguniform(0.01, 0.1)"


@pytest.fixture(scope="module")
def dash(jlab, page):
    """The finished search's dashboard, the kernel idle again."""
    from playwright.sync_api import expect

    open_notebook(page, jlab, NB_NAME, [SETUP, SEARCH])
    board = page.locator(".nnhp-dash").first
    expect(board).to_have_attribute("data-status", "done", timeout=180_000)
    page.wait_for_function(JS_KERNEL_READY, timeout=120_000)
    return board


def rows(dash) -> list[int]:
    return [int(n) for n in dash.locator("table.nnhp-board tbody tr").evaluate_all("rs => rs.map(r => r.dataset.trial)")]


def drag(page, target, start: float, end: float, *, vertical: bool) -> None:
    """Press on ``target`` at fraction ``start`` of its height (or width), move to ``end``, release."""
    box = target.bounding_box()
    at = (lambda f: (box["x"] + box["width"] / 2, box["y"] + f * box["height"])) if vertical else (
        lambda f: (box["x"] + f * box["width"], box["y"] + box["height"] / 2))
    page.mouse.move(*at(start))
    page.mouse.down()
    page.mouse.move(*at(end), steps=6)
    page.mouse.up()


def test_the_explore_panel_shows_what_mattered_after_the_search(dash):
    from playwright.sync_api import expect

    panel = dash.locator(".nnhp-explore")
    expect(panel).to_be_visible()
    expect(panel.locator(".nnhp-importance")).to_have_count(2, timeout=60_000)
    names = panel.locator(".nnhp-importance-name").all_text_contents()
    assert sorted(names) == ["learning_rate", "units"]
    expect(panel.locator("svg.nnhp-scatter")).to_have_count(2)
    assert panel.locator('svg.nnhp-scatter[data-param="units"]').get_attribute("data-points") == "8"
    assert panel.locator("svg.nnhp-parallel").get_attribute("data-lines") == "8"
    expect(panel.locator('svg.nnhp-scatter[data-param="learning_rate"] .nnhp-pc-name')).to_have_text("learning_rate (log)")
    shot(panel, "explore_panel.png")


def test_brushing_an_axis_filters_the_leaderboard_and_clear_resets_it(dash, page):
    from playwright.sync_api import expect

    panel = dash.locator(".nnhp-explore")
    assert len(rows(dash)) == 8
    drag(page, panel.locator('svg.nnhp-parallel rect.nnhp-pc-hit[data-param="__score__"]'), 0.55, 1.0, vertical=True)
    selected = int(panel.locator(".nnhp-selection").get_attribute("data-selected"))
    assert 1 <= selected < 8, selected
    assert len(rows(dash)) == selected, "the leaderboard shows only the selected trials"
    expect(panel.locator("svg.nnhp-parallel path.nnhp-pc-line.nnhp-on")).to_have_count(selected)
    shot(panel, "explore_brushed.png")
    panel.locator("button.nnhp-clear").click()
    assert len(rows(dash)) == 8
    drag(page, panel.locator('svg.nnhp-scatter[data-param="units"] rect.nnhp-scatter-hit'), 0.01, 0.6, vertical=False)
    brushed = int(panel.locator(".nnhp-selection").get_attribute("data-selected"))
    assert 1 <= brushed <= 8 and len(rows(dash)) == brushed


def test_a_scatter_drag_selects_exactly_the_trials_in_its_range_and_nothing_moves_meanwhile(dash, page):
    from playwright.sync_api import expect

    panel = dash.locator(".nnhp-explore")
    panel.locator("button.nnhp-clear").click()
    scatter = panel.locator('svg.nnhp-scatter[data-param="learning_rate"]')
    hit = scatter.locator("rect.nnhp-scatter-hit")
    # Where each trial's point sits across the plot area, 0 at its left edge and 1 at its right.
    where = scatter.evaluate("""svg => {
      const hit = svg.querySelector('rect.nnhp-scatter-hit');
      const x = +hit.getAttribute('x'), w = +hit.getAttribute('width');
      return [...svg.querySelectorAll('circle[data-trial]')].map(c => [+c.dataset.trial, (+c.getAttribute('cx') - x) / w]);
    }""")
    inside = {trial for trial, f in where if 0.31 <= f <= 0.69}
    maybe = {trial for trial, f in where if 0.29 <= f <= 0.71}
    parallel = panel.locator("svg.nnhp-parallel")
    scatter.scroll_into_view_if_needed()
    before = parallel.bounding_box()
    box = hit.bounding_box()
    def at(f):
        return (box["x"] + f * box["width"], box["y"] + box["height"] / 2)
    page.mouse.move(*at(0.3))
    page.mouse.down()
    for f in (0.4, 0.5, 0.6, 0.7):
        page.mouse.move(*at(f), steps=3)
        assert parallel.bounding_box() == before, "the parallel plot moved under the drag"
        assert len(rows(dash)) == 8, "the leaderboard waits for the release"
    page.mouse.up()
    chosen = set(rows(dash))
    assert chosen and inside <= chosen <= maybe, (sorted(chosen), where)
    expect(panel.locator(".nnhp-selection")).to_have_attribute("data-selected", str(len(chosen)))
    brush = scatter.locator("rect.nnhp-brush")
    x, w = float(brush.get_attribute("x")), float(brush.get_attribute("width"))
    left, width = float(hit.get_attribute("x")), float(hit.get_attribute("width"))
    assert abs((x - left) / width - 0.3) < 0.02 and abs((x + w - left) / width - 0.7) < 0.02, (x, w)
    # The selection stays: the next test refines around it.


def test_refine_edit_and_run_again_add_a_second_round_to_the_same_leaderboard(dash):
    from playwright.sync_api import expect

    panel = dash.locator(".nnhp-explore")
    first_round = sorted(rows(dash))
    panel.locator("button.nnhp-refine").click()
    spec = panel.locator("textarea.nnhp-refine-spec")
    expect(spec).to_have_value(re.compile(r"^# refined around"), timeout=60_000)
    assert "units" in spec.input_value() and "loguniform" in spec.input_value()
    expect(panel.locator(".nnhp-refine-source")).to_contain_text("around trials")
    spec.fill(ROUND_SPEC)
    panel.locator("input.nnhp-round-trials").fill("3")
    panel.locator("select.nnhp-round-strategy").select_option("random")
    panel.locator("button.nnhp-copy-cell").click()
    copied = panel.locator("button.nnhp-copy-cell").get_attribute("data-copied")
    assert copied.startswith("%%hpsearch build X y --epochs 3 --patience 0 --seed 0 -o found --strategy random --trials 3\n")
    assert copied.endswith(ROUND_SPEC)
    panel.locator("button.nnhp-clear").click()
    panel.locator("button.nnhp-run-round").click()
    expect(dash.locator("tr[data-round='2']")).to_have_count(3, timeout=120_000)
    expect(dash).to_have_attribute("data-status", "done", timeout=120_000)
    all_rows = rows(dash)
    assert len(all_rows) == 11 and set(first_round) <= set(all_rows), "round 1's rows stay"
    expect(dash.locator(".nnhp-title")).to_contain_text("round 2")
    expect(panel.locator(".nnhp-round")).to_have_count(2)
    assert panel.locator("svg.nnhp-parallel").get_attribute("data-lines") == "11"
    shot(dash, "explore_second_round.png")
