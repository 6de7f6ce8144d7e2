"""Events a search (and ``%lrfind``) emits, for any view to consume.

Several trials may run at once (workers, the packed engine), so every per-trial
event carries its trial number. Events are plain, picklable dataclasses: a worker
process can send them back to the driver unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnhp_magics.core.results import SearchRecord, Trial


@dataclass(frozen=True)
class SearchStarted:
    """The search is about to run its first trial (finished trials of a resumed study included)."""

    search: SearchRecord


@dataclass(frozen=True)
class TrialStarted:
    """A trial got its parameters and starts building/training."""

    trial: int
    params: dict[str, Any]
    folds: int = 1


@dataclass(frozen=True)
class EpochEnded:
    """One epoch of one fold of a running trial ended; ``logs`` are Keras' epoch logs."""

    trial: int
    epoch: int
    logs: dict[str, float]
    fold: int = 0
    folds: int = 1
    max_epochs: int = 0


@dataclass(frozen=True)
class TrialFinished:
    """A trial ended in any state; the record is final."""

    record: Trial

    @property
    def trial(self) -> int:
        return self.record.number


@dataclass(frozen=True)
class SearchEnded:
    """The search stopped: budget spent, timeout, stop requested, interrupted or all failed."""

    search: SearchRecord
    reason: str = "done"


@dataclass(frozen=True)
class RangeTestStep:
    """``%lrfind`` trained one more mini-batch; ``result`` holds the curve so far."""

    result: Any


@dataclass(frozen=True)
class RangeTestEnded:
    """``%lrfind`` ended (finished, diverged or interrupted) and its suggestion is read."""

    result: Any


@dataclass(frozen=True)
class RangeTestFailed:
    """``%lrfind`` raised after ``len(result.lrs)`` steps; the exception follows in the cell."""

    result: Any
    reason: str


Event = (
    SearchStarted | TrialStarted | EpochEnded | TrialFinished | SearchEnded | RangeTestStep | RangeTestEnded | RangeTestFailed
)
Listener = Callable[[Event], None]


@dataclass
class EventBus:
    """Delivers events to listeners; a failing listener is reported once, never breaks a search."""

    listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception as exc:  # a view's bug must not lose the user's search
                self.listeners.remove(listener)
                import warnings

                warnings.warn(f"a search view failed and was detached: {exc!r}", RuntimeWarning, stacklevel=2)
