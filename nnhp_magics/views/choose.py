"""One place picks the front end: the widget in a notebook, text in a terminal, the least with ``quiet``.

``%%hpsearch`` and ``%lrfind`` both ask here, so the two magics cannot drift apart
on when a widget shows or what a broken install falls back to.
"""

from __future__ import annotations

import warnings
from typing import Any

from nnhp_magics.core.events import Listener
from nnhp_magics.views.lrfind import LiveView, SummaryLine, in_notebook


def lrfind_view(quiet: bool) -> Listener:
    """The listener for a range test: the chart under a Jupyter kernel, PNGs without anywidget, else a summary line."""
    if quiet or not in_notebook():
        return SummaryLine()
    try:
        from nnhp_magics.views.lrfind_widget import WidgetView
    except ImportError:
        return LiveView.open()
    except FileNotFoundError as exc:  # a broken install must not cost the user the live curve
        warnings.warn(f"the lrfind chart is unavailable, drawing images instead: {exc}", RuntimeWarning, stacklevel=3)
        return LiveView.open()
    return WidgetView.open()


def search_views(shell: Any, quiet: bool) -> list[Listener]:
    """The listeners for a search run from ``shell``: the live dashboard where widgets show, else one text line a trial.

    ``quiet`` always gives the text lines (no widget).
    """
    from nnhp_magics.views.text import TextProgress

    if quiet or shell is None:
        return [TextProgress()]
    try:
        from nnhp_magics.views.dashboard import notebook_view
    except ImportError:  # no anywidget: the text view
        return [TextProgress()]
    except FileNotFoundError as exc:  # a broken install must not cost the user the search
        warnings.warn(f"the live dashboard is unavailable, showing text instead: {exc}", RuntimeWarning, stacklevel=3)
        return [TextProgress()]
    view = notebook_view(shell)
    return [view] if view is not None else [TextProgress()]
