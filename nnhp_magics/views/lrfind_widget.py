"""The ``%lrfind`` chart: the curve drawn live in the browser, then a learning rate to pick.

``LRFindWidget`` is an anywidget (front end: ``widgets/lrfind.js``, bundled into
``views/static/lrfind.js``) that syncs the
curve, the suggestion and the steepest descent, and the picked rate ``chosen``,
both ways: a click, a drag or the slider in the browser sets it in Python, and
``lr.chosen = 0.01`` moves the marker. ``WidgetView`` feeds it from the range
test's events, throttled like the PNG view it replaces, and at the end leaves the
result's static view in the cell for saved notebooks (the chart's CSS hides it
while the chart itself shows).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import anywidget
import traitlets

from nnhp_magics.lr_finder.range_test import DIVERGED, FAILED, LRFindResult, clip_rate, failure_summary, y_limits
from nnhp_magics.views.frontend import bundle_file, redrawn_traits, view_only
from nnhp_magics.views.lrfind import LiveView, current_cell, static_bundle

#: The chart's status while the range test runs; then the result's ``stopped``, or FAILED.
RUNNING = "running"

_log = logging.getLogger(__name__)


def _finite(values: list[float]) -> list[float | None]:
    """Numbers as JSON: NaN and infinities (a diverged last step) become None."""
    return [float(v) if math.isfinite(v) else None for v in values]


class LRFindWidget(anywidget.AnyWidget):
    """The range test's chart: synced curve and readings, and the picked rate ``chosen``, clipped to ``[low, high]``."""

    _esm = bundle_file("lrfind.js")
    _css = bundle_file("lrfind.css")

    status = traitlets.Unicode(RUNNING).tag(sync=True)
    steps = traitlets.Int(0).tag(sync=True)
    #: The rates the test runs from and to: the x axis spans them from the first step, so it never rescales.
    start = traitlets.Float(None, allow_none=True).tag(sync=True)
    end = traitlets.Float(None, allow_none=True).tag(sync=True)
    lrs: traitlets.List[Any] = traitlets.List().tag(sync=True)
    losses: traitlets.List[Any] = traitlets.List().tag(sync=True)
    smoothed: traitlets.List[Any] = traitlets.List().tag(sync=True)
    y_range: traitlets.List[Any] = traitlets.List().tag(sync=True)
    low = traitlets.Float(None, allow_none=True).tag(sync=True)
    high = traitlets.Float(None, allow_none=True).tag(sync=True)
    suggestion = traitlets.Float(None, allow_none=True).tag(sync=True)
    steepest = traitlets.Float(None, allow_none=True).tag(sync=True)
    chosen = traitlets.Float(None, allow_none=True).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    #: Names the front end takes from Python instead of restating them: the traits it redraws on, the statuses.
    constants = traitlets.Dict().tag(sync=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's view only: the static view below it is what text-only front ends and saved notebooks show."""
        return view_only(super()._repr_mimebundle_(**kwargs))

    @traitlets.default("constants")
    def _constants(self) -> dict[str, Any]:
        return {"synced": redrawn_traits(LRFindWidget), "running": RUNNING, "failed": FAILED, "diverged": DIVERGED}

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """The browser's update; a chosen rate that is not a finite number (a malformed message) is logged and dropped."""
        rate = sync_data.get("chosen")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate)):
            _log.debug("lrfind chart: chosen rate %.80r from the browser ignored", rate)
            sync_data = {name: value for name, value in sync_data.items() if name != "chosen"}
        super().set_state(sync_data)

    @traitlets.validate("chosen")
    def _inside_the_range(self, proposal: dict[str, Any]) -> float | None:
        value = proposal["value"]
        if value is None or self.low is None or self.high is None:
            return value
        return clip_rate(value, self.low, self.high)

    def show(self, result: LRFindResult) -> None:
        """The curve so far, in one message."""
        with self.hold_sync():
            self.steps = result.steps
            self.start, self.end = result.start, result.end
            self.lrs = list(result.lrs)
            self.losses = _finite(result.losses)
            self.smoothed = _finite(result.smoothed)
            self.y_range = list(y_limits(result.losses, result.smoothed, result.diverge) or [])
            if result.lrs:
                self.low, self.high = result.lrs[0], result.lrs[-1]

    def finish(self, result: LRFindResult) -> None:
        """The whole curve and its reading; picking starts at the suggestion."""
        with self.hold_sync():
            self.show(result)
            bounds = result.pick_range()
            if bounds is not None:
                self.low, self.high = bounds
            self.suggestion, self.steepest = result.suggestion, result.steepest
            self.summary = result.summary()
            self.chosen = result.suggestion
            self.status = result.stopped


class WidgetView(LiveView):
    """Sends the curve to an :class:`LRFindWidget` at most once per interval, never more than 10% of the run."""

    @classmethod
    def open(cls) -> WidgetView:
        """A fresh chart, shown in the current cell."""
        from IPython.display import display

        widget = LRFindWidget()
        display(widget)
        return cls(widget)

    def draw(self, result: LRFindResult) -> None:
        """Send the curve so far."""
        self.handle.show(result)
        self.updates += 1

    def fail(self, result: LRFindResult, reason: str) -> None:
        """The curve so far, marked failed with the reason; nothing can be picked from it."""
        with self.handle.hold_sync():
            self.handle.show(result)
            self.handle.summary = failure_summary(result, reason)
            self.handle.status = FAILED
        self.updates += 1

    def close(self, result: LRFindResult) -> None:
        """Final values to the chart, the result bound to it, and the static view in the cell below it,
        redrawn at each pick so that a saved notebook shows the rate picked last."""
        from IPython.display import display

        self.handle.finish(result)
        result.widget = self.handle
        static = display(static_bundle(result), raw=True, display_id=True)
        self.handle.observe(lambda _change: static.update(static_bundle(result), raw=True), names="chosen")
        result.shown_in_cell = current_cell()
        self.updates += 1
