"""What mattered and where to look next: importances, plot data and refined specs.

Pure logic: imports neither TensorFlow nor IPython. Everything here reads a
``Search`` (live, finished or reopened from storage) and returns plain data or
spec text, so the widgets and Python users see the same numbers.

Importances come from Optuna's fANOVA evaluator on an in-memory study rebuilt
from the search's complete trials. ``refine_spec`` proposes a narrower spec
around the best (or the selected) trials, as text that ``parse_spec`` reads back.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, NamedTuple, TypeGuard

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from nnhp_magics.core.results import COMPLETE, Objective, SearchRecord, Trial
from nnhp_magics.core.space import (
    Categorical,
    Fixed,
    FloatRange,
    IntRange,
    Param,
    ScipyPpf,
    SearchSpace,
    is_log,
    optuna_value,
)
from nnhp_magics.core.stored_space import space_from_data
from nnhp_magics.errors import NnhpError, SpecError

_PRIMITIVES = (type(None), bool, int, float, str)
_MISSING = object()
_SHOWN_TRIALS = 20


# ----- which trials -------------------------------------------------------------------------------
def complete_trials(trials: Iterable[Trial]) -> list[Trial]:
    """The trials that ended ``complete`` with a finite score."""
    return [t for t in trials if t.state == COMPLETE and t.score is not None and math.isfinite(t.score)]


def _score(trial: Trial) -> float:
    """The score of a trial from ``complete_trials``, which keeps only trials with one."""
    assert trial.score is not None
    return trial.score


def choose_trials(
    trials: list[Trial], objective: Objective, *, top: float = 0.25, selected: list[int] | None = None
) -> list[Trial]:
    """The complete trials to refine around: the ``selected`` numbers, else the best ``top`` fraction.

    Raises NnhpError for an empty selection, unknown trial numbers, a selection
    without a complete trial, a search without one, or ``top`` outside (0, 1].
    """
    complete = complete_trials(trials)
    if selected is not None:
        return _selected(trials, complete, selected)
    if not 0 < top <= 1:
        raise NnhpError(f"refine: top must be a fraction in (0, 1], got {top!r}.")
    if not complete:
        raise NnhpError("refine: the search has no complete trial yet, so there is nothing to refine around.")
    count = max(1, math.ceil(top * len(complete)))
    return best_first(complete, objective)[:count]


def _selected(trials: list[Trial], complete: list[Trial], selected: list[int]) -> list[Trial]:
    """The complete trials among the selected numbers, or a clear error."""
    if not selected:
        raise NnhpError(
            "refine: the selection is empty; select at least one complete trial, "
            "or leave selected=None to use the top 25%."
        )
    known = {t.number for t in trials}
    unknown = [n for n in selected if n not in known]
    if unknown:
        raise NnhpError(f"refine: no trial {_numbers(unknown)} in this search.")
    chosen = [t for t in complete if t.number in set(selected)]
    if not chosen:
        raise NnhpError(
            f"refine: none of the selected trials ({_numbers(selected)}) is complete; "
            "only complete trials have a score to refine around."
        )
    return chosen


def best_first(trials: list[Trial], objective: Objective) -> list[Trial]:
    """Trials sorted by score, best first (ties by trial number)."""
    sign = 1 if objective.minimize else -1
    return sorted(trials, key=lambda t: (sign * t.score, t.number))  # type: ignore[operator]


def _numbers(numbers: Iterable[int]) -> str:
    """``3, 7, 9`` with a ``...`` past the first twenty."""
    listed = list(numbers)
    shown = ", ".join(str(n) for n in listed[:_SHOWN_TRIALS])
    return shown + (", ..." if len(listed) > _SHOWN_TRIALS else "")


# ----- refine -------------------------------------------------------------------------------------
def refine_spec(
    space: SearchSpace,
    trials: list[Trial],
    objective: Objective,
    *,
    top: float = 0.25,
    selected: list[int] | None = None,
    margin: float = 0.1,
) -> str:
    """Spec text for a narrower search around the best ``top`` fraction (or the ``selected``) of complete trials.

    Per line: a numeric range becomes the span of the chosen trials' values plus
    ``margin`` times that span on each side, in log space for a log parameter, and
    is never narrower than ``2 * margin`` of the original range: so a single
    surviving trial (or trials that agree) gets its value plus or minus ``margin``
    of the original range. It is then rounded outwards (floats to three digits,
    stepped ranges to their grid) and clipped to the original bounds; ints stay
    ints with their step, log stays log. A choice keeps the values the chosen
    trials used, in the original order; one value left becomes a constant. A
    conditional line keeps its condition and is narrowed over the trials where it
    was active. Lines kept as they were: constants, scipy distributions, and any
    parameter no chosen trial had active (or, for a choice, whose values are not
    Python literals), the last two with a comment saying why. Comments at the top
    say which trials the spec came from. Raises NnhpError for an empty selection
    or no complete trial.
    """
    if not margin > 0:
        raise NnhpError(f"refine: margin must be > 0, got {margin!r}.")
    chosen = choose_trials(trials, objective, top=top, selected=selected)
    width = max((len(p.name) for p in space), default=0)
    body = [_refined_line(p, chosen, margin, width) for p in space]
    return "\n".join(_header(chosen, trials, objective, top, selected, margin) + body) + "\n"


def _header(
    chosen: list[Trial], trials: list[Trial], objective: Objective, top: float, selected: list[int] | None, margin: float
) -> list[str]:
    """The comment lines that say where a refined spec came from."""
    numbers = _numbers(t.number for t in chosen)
    plural = "s" if len(chosen) > 1 else ""
    if selected is not None:
        source = f"# refined around {len(chosen)} selected complete trial{plural}: {numbers}"
    else:
        total = len(complete_trials(trials))
        source = f"# refined around the top {_percent(top)} of {total} complete trials: {len(chosen)} trial{plural} ({numbers})"
    scores = [_score(t) for t in chosen]
    spread = f"{min(scores):.6g}" if len(set(scores)) == 1 else f"{min(scores):.6g} to {max(scores):.6g}"
    return [
        source,
        f"# their {objective.describe()}: {spread}",
        f"# ranges: what they span plus {_percent(margin)} of it each side (log scale where the parameter is log)",
    ]


def _percent(fraction: float) -> str:
    """``0.25`` as ``25%``, ``0.125`` as ``12.5%``."""
    return f"{fraction * 100:g}%"


def _refined_line(p: Param, chosen: list[Trial], margin: float, width: int) -> str:
    """One line of the refined spec."""
    if isinstance(p.dist, Fixed):
        return p.text if p.text is not None else _line(p, _literal(p.dist.value), width)
    if isinstance(p.dist, ScipyPpf):
        return _kept(p, width, "a scipy distribution is not narrowed")
    values = [t.params[p.name] for t in chosen if p.name in t.params]
    form = _refined_form(p, values, margin)
    if form is None:
        return _kept(p, width, "no chosen trial had it active" if not values else "its values are not literals")
    return _line(p, form, width)


def _refined_form(p: Param, values: list[Any], margin: float) -> str | None:
    """The narrowed form of a tunable parameter, or None when the values say nothing usable."""
    d = p.dist
    if isinstance(d, Categorical):
        return _refined_choice(d, values)
    numbers = [float(v) for v in values if _is_number(v) and (v > 0 or not is_log(p))]
    if not numbers:
        return None
    if isinstance(d, IntRange):
        return _refined_int(d, numbers, margin).describe()
    if isinstance(d, FloatRange):
        return _refined_float(d, numbers, margin).describe()
    return None


def _refined_choice(d: Categorical, values: list[Any]) -> str | None:
    """The choices the chosen trials used, in the original order; one value left is a constant."""
    used = {_key(v) for v in values}
    kept = [c for c in d.choices if _key(c) in used]
    if not kept or not all(_is_literal(c) for c in kept):
        return None
    if len(kept) == 1:
        return _literal(kept[0])
    return "choice(" + ", ".join(repr(c) for c in kept) + ")"


def _refined_int(d: IntRange, values: list[float], margin: float) -> IntRange:
    """An int range around the values, on the original step grid, within the original bounds."""
    lo, hi = _padded(values, d.low, d.high, d.log, margin)
    if d.log:
        low, high = max(d.low, math.floor(lo)), min(d.high, math.ceil(hi))
    else:
        low = max(d.low, d.low + math.floor((lo - d.low) / d.step) * d.step)
        high = min(d.high, d.low + math.ceil((hi - d.low) / d.step) * d.step)
    if low >= high:
        low, high = (low, low + d.step) if low + d.step <= d.high else (high - d.step, high)
    return IntRange(int(low), int(high), step=d.step, log=d.log)


def _refined_float(d: FloatRange, values: list[float], margin: float) -> FloatRange:
    """A float range around the values, rounded outwards, within the original bounds."""
    lo, hi = _padded(values, d.low, d.high, d.log, margin)
    if d.step is not None:
        lo, hi = _on_grid(lo, d.low, d.step, up=False), _on_grid(hi, d.low, d.step, up=True)
        return FloatRange(max(d.low, lo), min(d.high, hi), step=d.step, log=d.log)
    if d.log:
        def rounded(x: float, up: bool) -> float:
            return _round_significant(x, up)
    else:
        unit = Decimal(1).scaleb(math.floor(math.log10(hi - lo)) - 2)

        def rounded(x: float, up: bool) -> float:
            return _round_to(x, unit, up)
    lo, hi = rounded(lo, up=False), rounded(hi, up=True)
    # a bound the original range clips is rounded inwards, so it stays inside and reads short
    if lo < d.low:
        inward = rounded(d.low, up=True)
        lo = inward if inward < hi else d.low
    if hi > d.high:
        inward = rounded(d.high, up=False)
        hi = inward if inward > lo else d.high
    return FloatRange(lo, hi, step=d.step, log=d.log)


def _padded(values: list[float], low: float, high: float, log: bool, margin: float) -> tuple[float, float]:
    """The span of ``values`` (clipped to the bounds) padded by ``margin``, at least ``2 * margin`` of the bounds wide."""
    to, back = (math.log, math.exp) if log else (float, float)
    a, b = to(low), to(high)
    lo, hi = (min(max(to(v), a), b) for v in (min(values), max(values)))
    pad = margin * (hi - lo)
    lo, hi = lo - pad, hi + pad
    shortfall = 2 * margin * (b - a) - (hi - lo)
    if shortfall > 0:
        lo, hi = lo - shortfall / 2, hi + shortfall / 2
    return back(max(lo, a)), back(min(hi, b))


def _on_grid(x: float, low: float, step: float, up: bool) -> float:
    """The grid point ``low + k * step`` next to ``x``, above it when ``up``, counted in decimal as the spec checks steps."""
    k = ((Decimal(repr(x)) - Decimal(repr(low))) / Decimal(repr(step))).to_integral_value(
        rounding=ROUND_CEILING if up else ROUND_FLOOR
    )
    return float(Decimal(repr(low)) + k * Decimal(repr(step)))


def _round_significant(x: float, up: bool) -> float:
    """``x`` rounded outwards to three significant digits."""
    return _round_to(x, Decimal(1).scaleb(math.floor(math.log10(x)) - 2), up)


def _round_to(x: float, unit: Decimal, up: bool) -> float:
    """``x`` rounded to a multiple of ``unit``, upwards when ``up``, else downwards."""
    k = (Decimal(repr(x)) / unit).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return float(k * unit)


def _kept(p: Param, width: int, why: str) -> str:
    """The original line of a parameter that is not narrowed, with a comment saying why."""
    text = p.text if p.text is not None else _line(p, _original_form(p), width)
    return f"{text}  # kept: {why}"


def _original_form(p: Param) -> str:
    """A parseable form of a parameter that came without spec text (from a dict)."""
    d = p.dist
    if isinstance(d, ScipyPpf):
        args = [repr(a) for a in d.dist.args] + [f"{k}={v!r}" for k, v in d.dist.kwds.items()]
        return "{scipy.stats." + d.name + "(" + ", ".join(args) + ")}"
    return d.describe()


def _line(p: Param, form: str, width: int) -> str:
    """``name = form``, names padded to ``width``, with the parameter's condition."""
    condition = f" if {p.condition}" if p.condition is not None else ""
    return f"{p.name:<{width}} = {form}{condition}"


def _literal(value: Any) -> str:
    """A constant as spec text: scalars as they are, containers wrapped in ``fixed(...)``."""
    return repr(value) if isinstance(value, _PRIMITIVES) else f"fixed({value!r})"


def _is_literal(value: Any) -> bool:
    """Whether ``repr(value)`` reads back as the same value."""
    try:
        return ast.literal_eval(repr(value)) == value
    except (ValueError, SyntaxError):
        return False


def _match_choice(d: Categorical, value: Any) -> Any:
    """The choice a trial's value stands for (lists from JSON match tuples), or ``_MISSING`` when none does."""
    key = _key(value)
    for choice in d.choices:
        if _key(choice) == key:
            return choice
    return _MISSING


def _key(value: Any) -> Any:
    """A comparable stand-in for a value: lists match tuples (JSON turns one into the other), True does not match 1."""
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_key(v) for v in value))
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, _PRIMITIVES):
        return (type(value).__name__, value)
    return ("repr", repr(value))


def _is_number(value: Any) -> TypeGuard[float]:
    """A finite real number that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ----- the space of a search ----------------------------------------------------------------------
def search_space(search: SearchRecord) -> SearchSpace:
    """The space a search ran with, else (a search reopened from storage) its first round's space, read as data.

    Nothing stored is run: the space is rebuilt from the values stored with it; a
    study written before those were stored has its spec text parsed without
    evaluating any ``{expr}``, and NnhpError says so when the spec holds one.
    """
    if search.space is not None:
        return search.space
    first = search.rounds[0] if search.rounds else {}
    if "space" in first:
        return space_from_data(first["space"])
    from nnhp_magics.core.spec import parse_spec

    try:
        return parse_spec(first.get("spec", ""), evaluate=False)
    except SpecError as exc:
        raise NnhpError(
            "this search was reopened from storage, and its stored spec holds an expression ({expr}), "
            f"which is not run ({exc.message}); if you trust the file, set the space yourself with "
            "search.space = nnhp_magics.parse_spec(search.rounds[0]['spec'], globals())."
        ) from None


def refine_cell(
    search: SearchRecord,
    *,
    top: float = 0.25,
    selected: list[int] | None = None,
    margin: float = 0.1,
    strategy: str | None = None,
    trials: int | None = None,
) -> str:
    """A ready ``%%hpsearch`` cell: the search's magic line (with ``strategy`` and ``trials`` set) over the refined spec.

    When the search does not know its magic line (``search.magic_line`` is None, as
    for the Python API), the result is the refined spec text alone.
    """
    spec = refine_spec(search_space(search), list(search.trials), search.objective, top=top, selected=selected, margin=margin)
    line = magic_head(search)
    if line is None:
        return spec
    line = _with_option(line, "--strategy", strategy)
    line = _with_option(line, "--trials", None if trials is None else str(trials))
    return line + "\n" + spec


def magic_head(search: SearchRecord) -> str | None:
    """The search's magic line as a ``%%hpsearch`` cell's first line; None when it is not known."""
    if search.magic_line is None:
        return None
    line = search.magic_line.strip()
    return line if line.startswith("%%hpsearch") else "%%hpsearch " + line


#: Options of %%hpsearch that take no value.
_FLAGS = ("--background",)


def without_options(line: str, options: tuple[str, ...]) -> str:
    """The magic line with the given options (and their values, flags have none) taken out."""
    for option in options:
        value = "" if option in _FLAGS else r"(?:=|\s+)\S+"
        line = re.sub(rf"\s{re.escape(option)}{value}(?=\s|$)", "", line)
    return line


def _with_option(line: str, option: str, value: str | None) -> str:
    """The magic line with ``option`` set to ``value`` (unchanged when ``value`` is None)."""
    if value is None:
        return line
    return without_options(line, (option,)) + f" {option} {value}"


# ----- importances --------------------------------------------------------------------------------
def importances(search: SearchRecord) -> dict[str, float]:
    """Each tunable parameter's importance for the score, by Optuna's fANOVA evaluator (seed 0), largest first.

    The study is rebuilt in memory from the complete trials, so a reopened search
    works too; distributions widen to cover values outside the space (a
    ``--baseline`` trial), and a trial whose value cannot be stored (text for a
    number) is left out. Parameters active in every trial share 1.0 between them,
    as Optuna computes it. A conditional parameter (absent from some trials, which
    Optuna's evaluators skip) is evaluated separately over the trials where it was
    active, beside the parameters active in all of those, and its share there is
    weighted by the fraction of trials where it was active; so the values sum to
    more than 1.0 when the space has conditions. A parameter active in fewer than
    two trials, or trials whose scores never vary, gets 0.0. Raises NnhpError with
    fewer than two complete trials.
    """
    space = search_space(search)
    usable = [t for t in complete_trials(search.trials) if _labels(space, t) is not None]
    if len(usable) < 2:
        raise NnhpError(
            f"importances need at least 2 complete trials; this search has {len(usable)}. "
            "Run more trials first."
        )
    names = space.tunable_names
    everywhere = [n for n in names if all(n in t.params for t in usable)]
    result = dict.fromkeys(names, 0.0)
    result.update(_fanova(space, usable, everywhere))
    for name in names:
        if name not in everywhere:
            result[name] = _conditional_importance(space, usable, name)
    return dict(sorted(result.items(), key=lambda item: -item[1]))


def _conditional_importance(space: SearchSpace, usable: list[Trial], name: str) -> float:
    """A conditional parameter's share over the trials where it was active, times the fraction of those trials."""
    active = [t for t in usable if name in t.params]
    if len(active) < 2:
        return 0.0
    beside = [n for n in space.tunable_names if all(n in t.params for t in active)]
    share = _fanova(space, active, beside).get(name, 0.0)
    return share * len(active) / len(usable)


def _fanova(space: SearchSpace, trials: list[Trial], names: list[str]) -> dict[str, float]:
    """Optuna's fANOVA importances of ``names`` over ``trials``; all 0.0 when the scores never vary."""
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    if not names:
        return {}
    if len({t.score for t in trials}) < 2:
        return dict.fromkeys(names, 0.0)
    study = _study(space, trials, names)
    found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), params=names)
    return {n: float(v) for n, v in found.items()}


def _study(space: SearchSpace, trials: list[Trial], names: list[str]) -> optuna.Study:
    """A quietly created in-memory study holding the trials' values of ``names`` and their scores."""
    labelled = [(t, {n: v for n, v in _labels(space, t).items() if n in names}) for t in trials]  # type: ignore[union-attr]
    distributions = {n: _covering(space[n], [labels[n] for _, labels in labelled]) for n in names}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study()
    finally:
        optuna.logging.set_verbosity(verbosity)
    for t, labels in labelled:
        study.add_trial(optuna.trial.create_trial(params=labels, distributions=distributions, value=t.score))
    return study


def _labels(space: SearchSpace, trial: Trial) -> dict[str, Any] | None:
    """What Optuna would store for a trial's tunable values, or None when one cannot be stored."""
    labels = {}
    for p in space:
        if p.tunable and p.name in trial.params:
            label = _label(p, trial.params[p.name])
            if label is _MISSING:
                return None
            labels[p.name] = label
    return labels


def _label(p: Param, value: Any) -> Any:
    """The Optuna value of one parameter's value; values outside a choice stay as themselves (or their repr)."""
    d = p.dist
    if isinstance(d, Categorical):
        choice = _match_choice(d, value)
        if choice is not _MISSING:
            return optuna_value(p, choice)
        return value if isinstance(value, _PRIMITIVES) else repr(value)
    if not _is_number(value) or (isinstance(d, IntRange) and value != int(value)) or (is_log(p) and value <= 0):
        return _MISSING
    if isinstance(d, ScipyPpf):
        return optuna_value(p, value)
    return int(value) if isinstance(d, IntRange) else float(value)


def _covering(p: Param, labels: list[Any]) -> BaseDistribution:
    """The parameter's Optuna distribution without its step, widened to hold every label."""
    d = p.dist
    if isinstance(d, Categorical):
        choices = d.labels()
        return CategoricalDistribution(choices + [v for v in dict.fromkeys(labels) if v not in choices])
    if isinstance(d, ScipyPpf):
        return d.to_optuna()
    low, high = min([d.low, *labels]), max([d.high, *labels])  # type: ignore[union-attr]
    if isinstance(d, IntRange):
        return IntDistribution(int(low), int(high), log=d.log)
    return FloatDistribution(low, high, log=d.log)  # type: ignore[union-attr]


# ----- plot data ----------------------------------------------------------------------------------
class Axis(NamedTuple):
    """One parameter's axis in a parallel-coordinates view: a value per trial, None where inactive."""

    name: str
    values: list[float | int | None]
    log: bool
    labels: list[str] | None
    low: float | None
    high: float | None


class ParallelCoordinates(NamedTuple):
    """The complete trials as lines over one axis per tunable parameter, coloured by ``scores``."""

    objective: str
    minimize: bool
    trials: list[int]
    scores: list[float]
    axes: list[Axis]


def parallel_coordinates_data(search: SearchRecord) -> ParallelCoordinates:
    """The complete trials across every tunable parameter, for a parallel-coordinates view."""
    space = search_space(search)
    complete = complete_trials(search.trials)
    axes = [_axis(p, complete) for p in space if p.tunable]
    scores = [_score(t) for t in complete]
    objective = search.objective
    return ParallelCoordinates(objective.name, objective.minimize, [t.number for t in complete], scores, axes)


def _axis(p: Param, trials: list[Trial]) -> Axis:
    """One parameter's axis over the trials: its values (None where inactive) and its bounds."""
    present = [t.params[p.name] for t in trials if p.name in t.params]
    positions, labels = _positions(p, present)
    it = iter(positions)
    values = [next(it) if p.name in t.params else None for t in trials]
    if labels is not None:
        return Axis(p.name, values, False, labels, 0, max(len(labels) - 1, 0))
    bounds = [getattr(p.dist, end) for end in ("low", "high") if hasattr(p.dist, end)]
    numbers = [v for v in values if _is_number(v)] + bounds
    low, high = (min(numbers), max(numbers)) if numbers else (None, None)
    return Axis(p.name, values, is_log(p), None, low, high)


def _positions(p: Param, values: list[Any]) -> tuple[list[Any], list[str] | None]:
    """Numbers as they are; for a choice, each value's index into the labels it returns."""
    if not isinstance(p.dist, Categorical):
        return values, None
    d = p.dist
    keys = [_key(c) for c in d.choices]
    labels = [_display(c) for c in d.choices]
    positions = []
    for value in values:
        key = _key(value)
        if key not in keys:
            keys.append(key)
            labels.append(_display(value))
        positions.append(keys.index(key))
    return positions, labels


def _display(value: Any) -> str:
    """A choice as an axis label: strings as they are, anything else as its repr."""
    return value if isinstance(value, str) else repr(value)
