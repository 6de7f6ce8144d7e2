"""Event consumers that show a search: the text view (terminals, ``--quiet``, no widgets).

The live widget dashboard consumes the same events; this module keeps the plain
one-line-per-trial view that works everywhere.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

from nnhp_magics.core.events import Event, SearchEnded, SearchStarted, TrialFinished
from nnhp_magics.core.results import (
    COMPLETE,
    SearchRecord,
    format_number,
    format_params,
)


def format_score(value: float | None) -> str:
    """A score in the shared number format; "-" for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format_number(value)


class TextProgress:
    """Prints one concise line per finished trial and a summary when the search ends."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.search: SearchRecord | None = None

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, SearchStarted):
            self.search = event.search
            s = event.search
            cv = f", {s.cv}-fold CV" if s.cv else ""
            self._print(f"{s.strategy} search: {s.budget} trials, objective {s.objective.describe()}{cv}")
            if s.plan_text:
                self._print(s.plan_text)
        elif isinstance(event, TrialFinished):
            self._print(self.trial_line(event.record))
        elif isinstance(event, SearchEnded):
            s = event.search
            ending = {"done": "done", "timeout": "timeout reached", "stopped": "stopped", "interrupted": "interrupted"}
            self._print(f"search {ending.get(event.reason, event.reason)}: {s.summary()}")

    def trial_line(self, t: Any) -> str:
        search = self.search
        budget = f"/{search.budget}" if search else ""
        score = format_score(t.score)
        if t.score_std is not None:
            score += f" ± {format_number(t.score_std)}"
        name = search.objective.name if search else "score"
        line = f"trial {t.number}{budget} {t.state:<9} {name}={score}  {format_params(t.params)}  ({t.epochs} epochs, {t.seconds:.1f} s)"
        if t.error and t.state != COMPLETE:
            line += f"  [{t.error}]"
        if search is not None:
            best = search.best_trial_or_none
            if best is not None and best.number == t.number:
                line += "  * best so far"
        return line
