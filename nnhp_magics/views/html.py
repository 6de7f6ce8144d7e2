"""The static HTML view of a search: summary, best parameters, leaderboard, curves as an image.

It is what a notebook saved without widget state, or converted by nbconvert, still
shows; no script, no external resource.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

from nnhp_magics.core.results import format_number, format_params

if TYPE_CHECKING:
    from nnhp_magics.core.results import SearchRecord

_STYLE = """
<style>
.nnhp-static {font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px;
  color: var(--jp-ui-font-color1, #212121);}
.nnhp-static table {border-collapse: collapse; margin: 6px 0;}
.nnhp-static th, .nnhp-static td {border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); padding: 2px 8px;
  text-align: right;}
.nnhp-static tr.nnhp-best td {background: var(--jp-layout-color2, #eee); color: var(--jp-ui-font-color0, #000);
  font-weight: 600;}
.nnhp-static tr.nnhp-failed td {color: var(--jp-error-color1, #d32f2f);}
.nnhp-static tr.nnhp-pruned td, .nnhp-static tr.nnhp-interrupted td {color: var(--jp-ui-font-color2, #616161);}
.nnhp-static code {background: var(--jp-layout-color2, #eee); padding: 2px 4px;}
</style>
"""


def _cell(value: Any) -> str:
    """A leaderboard value as escaped text; empty for None and NaN."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else format_number(value)
    return html.escape(str(value))


def search_html(search: SearchRecord, *, with_plot: bool = True, max_rows: int = 50) -> str:
    """Self-contained HTML for a search, live or finished.

    A search still running (returned at once by ``--background``) gets one line
    instead of a table that would stay frozen at its first trials: the live view
    updates on its own and the final result is shown below it when it ends.
    """
    if not search.done:
        return (
            f'<div class="nnhp-running">nnhp-magics {html.escape(search.strategy)} search running in '
            f"the background ({html.escape(search.summary())}); the live view shows its progress, the final "
            "result follows when it ends, and <code>search.wait()</code> blocks until then.</div>"
        )
    parts = [_STYLE, '<div class="nnhp-static">']
    parts.append(f"<b>nnhp-magics {html.escape(search.strategy)} search</b> &mdash; {html.escape(search.summary())}")
    if len(search.rounds) > 1:
        rounds = "; ".join(f"round {r['round']}: {r['trials']} trials ({r['strategy']})" for r in search.rounds)
        parts.append(f'<p class="nnhp-rounds">{html.escape(rounds)}</p>')
    best = search.best_trial_or_none
    if best is not None:
        parts.append(f"<p>Best parameters: <code>{html.escape(format_params(best.params))}</code></p>")
    columns = search.leaderboard_columns()
    rows = search.leaderboard_rows()
    parts.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr></thead><tbody>")
    for row in rows[:max_rows]:
        css = f"nnhp-{row['state']}"
        if best is not None and row["trial"] == best.number:
            css += " nnhp-best"
        parts.append(f'<tr class="{html.escape(css)}">' + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>")
    parts.append("</tbody></table>")
    if len(rows) > max_rows:
        parts.append(f"<p>... {len(rows) - max_rows} more rows in search.leaderboard()</p>")
    if with_plot and any(t.history for t in search.trials):
        from nnhp_magics.views.plots import figure_png_base64, search_figure

        png = figure_png_base64(search_figure(search))
        parts.append(f'<img alt="validation curves" src="data:image/png;base64,{png}"/>')
    parts.append("</div>")
    return "\n".join(parts)



def display_search(search: SearchRecord) -> None:
    """``display(search)``: the static view and the text line, unless this cell's dashboard already shows them."""
    from IPython.display import display

    from nnhp_magics.views.lrfind import current_cell

    if search.shown_in_cell is not None and search.shown_in_cell == current_cell():
        return
    display({"text/html": search_html(search), "text/plain": repr(search)}, raw=True)
