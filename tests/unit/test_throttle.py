"""The live views' one throttle: the interval between drawings, and slow drawings pushing the next one back."""

from __future__ import annotations

from nnhp_magics.views.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_drawing_may_come_at_once_or_after_one_interval():
    clock = Clock()
    assert Throttle(0.5, clock=clock).wait() == 0
    assert Throttle(0.5, clock=clock, first_now=False).wait() == 0.5


def test_drawings_are_an_interval_apart():
    clock = Clock()
    throttle = Throttle(0.5, clock=clock)
    throttle.drew(began=0.0)
    clock.now = 0.2
    assert abs(throttle.wait() - 0.3) < 1e-9
    clock.now = 0.5
    assert throttle.wait() == 0


def test_a_slow_drawing_keeps_drawing_within_its_share_of_the_time():
    clock = Clock()
    throttle = Throttle(0.5, share=0.1, clock=clock)
    clock.now = 0.2  # the drawing took 0.2 s: the next may come 2 s later, so drawing stays at 10%
    throttle.drew(began=0.0)
    assert abs(throttle.wait() - 2.0) < 1e-9
