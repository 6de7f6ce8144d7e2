"""The one throttle of every live view: how often the dashboard and the ``%lrfind`` chart may redraw.

A view asks :meth:`Throttle.wait` before drawing and reports each drawing with
:meth:`Throttle.drew`; the next one is allowed ``interval`` seconds later, or later
still when drawing took more than ``share`` of the time, so a slow front end never
slows the work it shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Throttle:
    """At most one drawing per ``interval`` seconds, and drawing at most ``share`` of the wall time."""

    def __init__(
        self,
        interval: float,
        share: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        first_now: bool = True,
    ) -> None:
        self.interval, self.share, self.clock = interval, share, clock
        self.next_at = -math.inf if first_now else clock() + interval

    def wait(self) -> float:
        """Seconds until the next drawing is allowed; 0 when it may happen now."""
        return max(0.0, self.next_at - self.clock())

    def drew(self, began: float) -> None:
        """A drawing that began at ``began`` just ended: the next waits ``interval``, or longer after a slow one."""
        finished = self.clock()
        self.next_at = finished + max(self.interval, (finished - began) / self.share)
