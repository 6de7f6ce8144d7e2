"""The ``%lrfind`` views without widgets: the static view for saved notebooks, the PNG live view, the summary line.

Each view is a listener on the range test's events (``RangeTestStep``, ``…Ended``,
``…Failed``); ``views/choose.py`` picks one, and ``views/lrfind_widget.py`` holds
the interactive chart that ``LiveView`` stands in for where anywidget is missing.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from nnhp_magics.core.events import Event, RangeTestEnded, RangeTestFailed, RangeTestStep
from nnhp_magics.lr_finder.range_test import LRFindResult, failure_summary
from nnhp_magics.views.plots import figure_png_base64
from nnhp_magics.views.throttle import Throttle

LIVE_INTERVAL = 0.5
LIVE_SHARE = 0.1


def static_html(result: LRFindResult) -> str:
    """The summary, the rate picked (``lr.chosen``) and the plot as a base64 PNG, in a ``div.nnhp-lrfind``."""
    if not result.lrs:
        return f'<div class="nnhp-lrfind"><p>{html.escape(result.summary())}</p></div>'
    image = f'<img alt="loss against learning rate" src="data:image/png;base64,{figure_png_base64(result.plot())}">'
    return (
        f'<div class="nnhp-lrfind"><p>{html.escape(result.summary())}</p>'
        f'<p class="nnhp-lrfind-chosen">{html.escape(result.picked_line())}</p>{image}</div>'
    )


def static_bundle(result: LRFindResult) -> dict[str, str]:
    """The static view as a raw display bundle: the HTML, and its two lines as text."""
    text = result.summary() if not result.lrs else f"{result.summary()}\n{result.picked_line()}"
    return {"text/html": static_html(result), "text/plain": text}


def repr_html(result: LRFindResult) -> str | None:
    """The static view, or None (so only the text line shows) in the cell whose live view already left it there."""
    if result.shown_in_cell is not None and result.shown_in_cell == current_cell():
        return None
    return static_html(result)


def current_cell() -> int | None:
    """The execution count of the running cell (None outside IPython): tells one cell's outputs from the next's."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else shell.execution_count


def in_notebook() -> bool:
    """Whether code runs under a Jupyter kernel (a display can be updated in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


class SummaryLine:
    """Outside a notebook (or with ``quiet``): the result's one summary line when the run ends."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, RangeTestEnded):
            print(event.result.summary(), flush=True)


class LiveView:
    """Redraws the curve into an IPython display handle, at most once per ``interval`` seconds.

    The wait also grows with the time a drawing takes, so drawing never costs more
    than ``LIVE_SHARE`` (10%) of the run.
    """

    def __init__(
        self, handle: Any, interval: float = LIVE_INTERVAL, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.handle = handle
        self.clock = clock
        self.throttle = Throttle(interval, LIVE_SHARE, clock, first_now=False)
        self.updates = 0

    @classmethod
    def open(cls) -> LiveView:
        """A view on a fresh display output in the current cell."""
        from IPython.display import HTML, display

        return cls(display(HTML("<p>lrfind: running…</p>"), display_id=True))

    def __call__(self, event: Event) -> None:
        """Follow the range test's events: redraw on steps, close at the end, mark a failure."""
        if isinstance(event, RangeTestStep):
            self.tick(event.result)
        elif isinstance(event, RangeTestEnded):
            self.close(event.result)
        elif isinstance(event, RangeTestFailed):
            self.fail(event.result, event.reason)

    def tick(self, result: LRFindResult) -> None:
        """Redraw once the throttle allows it."""
        if self.throttle.wait() == 0:
            began = self.clock()
            self.draw(result)
            self.throttle.drew(began)

    def draw(self, result: LRFindResult) -> None:
        """Show the curve so far as a PNG."""
        from IPython.display import HTML

        png = figure_png_base64(result.plot())
        self.handle.update(HTML(f'<img alt="loss against learning rate" src="data:image/png;base64,{png}">'))
        self.updates += 1

    def close(self, result: LRFindResult) -> None:
        """Replace the live curve by the result's static view, suggestion marked (shown once in this cell)."""
        self.handle.update(result)
        result.shown_in_cell = current_cell()
        self.updates += 1

    def fail(self, result: LRFindResult, reason: str) -> None:
        """Say that the run broke off (the traceback follows in the cell), instead of leaving it "running"."""
        from IPython.display import HTML

        self.handle.update(HTML(f"<p>lrfind: {html.escape(failure_summary(result, reason))}</p>"))
        self.updates += 1
