"""Matplotlib figures for static output: every trial's validation curve, the best one marked.

Curve data is computed apart from drawing (``curve_series``), so tests check data,
not pixels. Matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import base64
import functools
import io
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from nnhp_magics.core.results import SearchRecord


class CurveSeries(NamedTuple):
    trial: int
    metric: str
    values: list[float]
    best: bool
    state: str


def curve_series(search: SearchRecord) -> list[CurveSeries]:
    """One series per trial: the objective per epoch (the training loss when the objective is not logged)."""
    best = search.best_trial_or_none
    series = []
    for t in search.trials:
        metric = search.objective.name if search.objective.name in t.history else "loss"
        values = t.history.get(metric, [])
        if values:
            series.append(CurveSeries(t.number, metric, list(values), best is not None and best.number == t.number, t.state))
    return series


@functools.cache
def _display_figure_class() -> type:
    """A matplotlib Figure that IPython shows as a PNG, defined on first use so matplotlib loads only when drawing."""
    from matplotlib.figure import Figure

    class DisplayFigure(Figure):
        """A Figure with ``_repr_png_``: shown as an image in a notebook even when pyplot was never imported."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            return buffer.getvalue()

    return DisplayFigure


def display_figure(**kwargs: Any) -> Any:
    """A new Figure (``kwargs`` as for matplotlib's Figure) that displays as a PNG in IPython."""
    return _display_figure_class()(**kwargs)


def search_figure(search: SearchRecord) -> Any:
    """Validation curves of all trials, faint, with the best trial's curve drawn bold."""
    figure = display_figure(figsize=(7, 3.6), layout="constrained")
    axes = figure.subplots()
    series = curve_series(search)
    for s in series:
        if not s.best:
            axes.plot(range(1, len(s.values) + 1), s.values, color="#8aa4c8", alpha=0.45, linewidth=1)
    for s in series:
        if s.best:
            axes.plot(range(1, len(s.values) + 1), s.values, color="#d62728", linewidth=2.2, label=f"best: trial {s.trial}")
    axes.set_xlabel("epoch")
    axes.set_ylabel(series[0].metric if series else search.objective.name)
    values = [v for s in series for v in s.values if v == v]
    if values and min(values) > 0 and max(values) / min(values) > 50:
        axes.set_yscale("log")
    if any(s.best for s in series):
        axes.legend(loc="upper right")
    axes.set_title(f"{search.strategy} search: {len(search.trials)} trials")
    axes.grid(alpha=0.3)
    return figure


def figure_png_base64(figure: Any) -> str:
    """The figure as a base64 PNG, for embedding in static HTML."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
