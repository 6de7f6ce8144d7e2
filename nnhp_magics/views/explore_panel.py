"""What the dashboard's Explore panel shows, as JSON-ready data, and the actions behind its buttons.

The numbers come from ``search/analysis.py`` (the same functions ``search.importances()``
and ``search.refine()`` use), so the widget and Python always agree. Pure logic:
no TensorFlow, no IPython, no widget.
"""

from __future__ import annotations

import math
from typing import Any

from nnhp_magics.core.results import COMPLETE, SearchRecord
from nnhp_magics.errors import NnhpError, SpecError
from nnhp_magics.search.analysis import (
    choose_trials,
    importances,
    magic_head,
    parallel_coordinates_data,
    refine_spec,
    search_space,
    without_options,
)
from nnhp_magics.search.rounds import DEFAULT_ROUND_TRIALS


def _number(value: Any) -> float | None:
    """A finite float for JSON, else None."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def trials_payload(search: SearchRecord) -> dict[str, Any]:
    """The complete trials over one axis per tunable parameter: what the scatter and parallel views draw.

    Each parameter has ``values`` (one per trial, None where the parameter was
    inactive; a choice's index into ``labels``), ``log``, and its ``low``/``high``.
    """
    try:
        data = parallel_coordinates_data(search)
    except NnhpError as exc:
        return {"trials": [], "scores": [], "params": [], "error": str(exc)}
    params = [
        {
            "name": axis.name,
            "log": axis.log,
            "labels": axis.labels,
            "low": _number(axis.low),
            "high": _number(axis.high),
            "values": [None if v is None else _number(v) for v in axis.values],
        }
        for axis in data.axes
    ]
    return {
        "objective": data.objective,
        "minimize": data.minimize,
        "trials": list(data.trials),
        "scores": [_number(s) for s in data.scores],
        "params": params,
        "error": None,
    }


#: Below this many complete trials, importances come with a caveat: fANOVA's forest has little to learn from.
ROUGH_IMPORTANCES = 10


def importances_payload(search: SearchRecord) -> dict[str, Any]:
    """Parameter importances by fANOVA, largest first, or the reason there are none yet; a caveat when few trials."""
    try:
        values = importances(search)
    except NnhpError as exc:
        return {"values": [], "error": str(exc), "caveat": None}
    complete = sum(t.state == COMPLETE for t in search.trials)
    caveat = (
        f"Only {complete} complete trials: importances from fewer than {ROUGH_IMPORTANCES} are rough; "
        "run more trials before trusting the order." if complete < ROUGH_IMPORTANCES else None
    )
    return {"values": [[name, _number(value) or 0.0] for name, value in values.items()], "error": None, "caveat": caveat}


def refine_payload(search: SearchRecord, selected: list[int] | None = None, top: float = 0.25) -> dict[str, Any]:
    """The refined spec around ``selected`` trials (else the top fraction), the trials it is around (``around``),
    and the magic line to copy it as a cell."""
    try:
        spec = refine_spec(search_space(search), search.trials, search.objective, top=top, selected=selected or None)
        around = [t.number for t in choose_trials(search.trials, search.objective, top=top, selected=selected or None)]
    except (NnhpError, SpecError) as exc:
        return {"spec": "", "line": None, "error": str(exc), "selected": list(selected or [])}
    line = magic_head(search)
    if line is not None:
        line = without_options(line, ("--strategy", "--trials", "--background"))
    return {
        "spec": spec,
        "line": line,
        "strategy": search.rounds[-1].get("strategy") or search.strategy,
        "trials": DEFAULT_ROUND_TRIALS,
        "error": None,
        "selected": list(selected or []),
        "around": around,
        "top": top,
    }


def round_status(search: SearchRecord) -> str:
    """Empty when Run again can start a round here, else why not (shown on the disabled button)."""
    if not search.can_run_round:
        return (
            "Run again needs the build function and data: it works in the kernel that ran the search "
            "(re-run its cell; with --storage the finished trials come back at once)."
        )
    if not search.done:
        return "a round is running: wait for it to end, or press Stop."
    return ""
