"""The search space: parameters, their distributions, and how Optuna samples them.

Pure logic: imports neither TensorFlow nor IPython. Every distribution maps to one
Optuna distribution; a parameter may carry a condition over
earlier parameters, in which case it is omitted from a trial where the condition
is false (so the build function's default applies).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

_PRIMITIVES = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Categorical:
    """One of a fixed set of values (numbers, strings, booleans, None, tuples)."""

    choices: tuple[Any, ...]

    @property
    def primitive(self) -> bool:
        """True when Optuna can store the choices as they are."""
        return all(isinstance(c, _PRIMITIVES) for c in self.choices)

    def labels(self) -> list[Any]:
        """What Optuna stores: the values themselves, or their repr for tuples and the like."""
        return list(self.choices) if self.primitive else [repr(c) for c in self.choices]

    def from_label(self, label: Any) -> Any:
        """The value behind a label that Optuna returned."""
        if self.primitive:
            return label
        return self.choices[[repr(c) for c in self.choices].index(label)]

    def to_optuna(self) -> BaseDistribution:
        return CategoricalDistribution(self.labels())

    def values(self) -> list[Any]:
        return list(self.choices)

    def describe(self) -> str:
        return "choice(" + ", ".join(repr(c) for c in self.choices) + ")"


@dataclass(frozen=True)
class IntRange:
    """Integers from ``low`` to ``high`` inclusive, every ``step``, optionally log-scaled."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def to_optuna(self) -> BaseDistribution:
        return IntDistribution(self.low, self.high, log=self.log, step=self.step)

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def describe(self) -> str:
        extra = ", log=True" if self.log else (f", step={self.step}" if self.step != 1 else "")
        return f"int({self.low}, {self.high}{extra})"


@dataclass(frozen=True)
class FloatRange:
    """Floats from ``low`` to ``high`` inclusive, optionally on a ``step`` grid or log-scaled."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def to_optuna(self) -> BaseDistribution:
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def values(self) -> list[float]:
        if self.step is None:
            raise ValueError("a continuous range has no finite list of values")
        count = int(round((self.high - self.low) / self.step)) + 1
        return [self.low + i * self.step for i in range(count)]

    def describe(self) -> str:
        if self.log:
            return f"loguniform({self.low!r}, {self.high!r})"
        extra = f", step={self.step!r}" if self.step is not None else ""
        return f"float({self.low!r}, {self.high!r}{extra})"


@dataclass(frozen=True)
class Fixed:
    """A constant passed to every trial."""

    value: Any

    def describe(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class ScipyPpf:
    """A continuous scipy.stats frozen distribution of a family Optuna lacks.

    Optuna draws ``u`` uniformly in [0, 1] and the value is ``dist.ppf(u)``, so
    seeds, storage and resume work as for any native distribution.
    """

    dist: Any
    name: str

    def to_optuna(self) -> BaseDistribution:
        return FloatDistribution(0.0, 1.0)

    def value_at(self, u: float) -> float:
        eps = 1e-12
        return float(self.dist.ppf(min(max(u, eps), 1.0 - eps)))

    def describe(self) -> str:
        return f"scipy.stats.{self.name}(...)"


Distribution = Categorical | IntRange | FloatRange | Fixed | ScipyPpf


@dataclass(frozen=True)
class Param:
    """One line of the spec: a name, its distribution and an optional condition."""

    name: str
    dist: Distribution
    condition: str | None = None
    line: int | None = None
    text: str | None = None
    _condition_tree: ast.expr | None = field(default=None, compare=False, repr=False)

    @property
    def tunable(self) -> bool:
        return not isinstance(self.dist, Fixed)

    def active(self, earlier: Mapping[str, Any]) -> bool:
        """Whether the condition holds for the values of earlier parameters.

        A parameter missing from ``earlier`` reads as ``None`` (inactive). A condition
        that cannot compare an inactive parameter, such as ``b > 1`` while ``b`` is off,
        is false: a parameter under an inactive one is off.
        """
        if self.condition is None:
            return True
        tree = self._condition_tree
        if tree is None:
            tree = ast.parse(self.condition, mode="eval").body
        try:
            return bool(evaluate_condition(tree, earlier))
        except _Inactive:
            return False


class _Inactive(Exception):
    """A comparison met ``None``, the value of an inactive parameter: the condition is false."""


_COMPARISONS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def evaluate_condition(node: ast.expr, scope: Mapping[str, Any]) -> Any:
    """The value of a condition's syntax tree: and/or/not, comparisons, signs, names and literals only.

    Nothing is ``eval``-ed; any other node raises ValueError.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.BoolOp):
        value = None
        for operand in node.values:
            value = evaluate_condition(operand, scope)
            if bool(value) != isinstance(node.op, ast.And):
                return value
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
        value = evaluate_condition(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.Compare):
        return _compare(node, scope)
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [evaluate_condition(e, scope) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    raise ValueError(f"a condition cannot use {type(node).__name__}")


def _compare(node: ast.Compare, scope: Mapping[str, Any]) -> bool:
    """A comparison chain, short-circuiting like Python's; a TypeError over ``None`` means inactive."""
    left = evaluate_condition(node.left, scope)
    for op, right_node in zip(node.ops, node.comparators):
        right = evaluate_condition(right_node, scope)
        try:
            holds = _COMPARISONS[type(op)](left, right)
        except TypeError:
            if left is None or right is None:
                raise _Inactive from None
            raise
        if not holds:
            return False
        left = right
    return True


@dataclass(frozen=True)
class SearchSpace:
    """An ordered list of parameters, sampled through an Optuna trial."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for p in self.params:
            if p.name in seen:
                raise ValueError(f"parameter {p.name!r} is defined twice")
            seen.add(p.name)

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.params)

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def tunable_names(self) -> list[str]:
        return [p.name for p in self.params if p.tunable]

    @property
    def has_conditions(self) -> bool:
        return any(p.condition is not None for p in self.params)

    def suggest(self, trial: Any, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Draw one set of parameters through an Optuna trial (ask-and-tell).

        Inactive conditional parameters are left out of the result, and earlier
        parameters that are inactive read as ``None`` in later conditions.
        ``names`` maps a parameter to the name Optuna stores it under, where that
        differs (a follow-up round whose choices changed, see ``search.round_names``).
        """
        values: dict[str, Any] = {}
        scope: dict[str, Any] = {}
        for p in self.params:
            if not p.active(scope):
                scope[p.name] = None
                continue
            value = suggest_one(trial, p, (names or {}).get(p.name, p.name))
            values[p.name] = value
            scope[p.name] = value
        return values

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of values, conditional product included, in spec order.

        Raises ValueError naming the first continuous parameter without a step.
        """
        for p in self.params:
            if isinstance(p.dist, ScipyPpf) or (isinstance(p.dist, FloatRange) and p.dist.step is None):
                raise ValueError(p.name)
        return [dict(c) for c in _grid_from(self.params, 0, {}, {})]

    def grid_size(self) -> int:
        return len(self.grid())


def suggest_one(trial: Any, p: Param, name: str | None = None) -> Any:
    """Ask an Optuna trial for one parameter's value (stored under ``name``, default its own) as the user's value."""
    d = p.dist
    name = name or p.name
    if isinstance(d, Fixed):
        return d.value
    if isinstance(d, Categorical):
        return d.from_label(trial.suggest_categorical(name, d.labels()))
    if isinstance(d, IntRange):
        return int(trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log))
    if isinstance(d, FloatRange):
        return float(trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log))
    if isinstance(d, ScipyPpf):
        return d.value_at(trial.suggest_float(name, 0.0, 1.0))
    raise TypeError(f"unknown distribution {d!r}")


def optuna_value(p: Param, value: Any) -> Any:
    """The value Optuna stores for a user-facing value (the inverse of ``suggest_one``)."""
    d = p.dist
    if isinstance(d, Categorical) and not d.primitive:
        return repr(value)
    if isinstance(d, ScipyPpf):
        return float(d.dist.cdf(value))
    return value


def _grid_from(
    params: tuple[Param, ...], i: int, chosen: dict[str, Any], scope: dict[str, Any]
) -> Iterator[list[tuple[str, Any]]]:
    if i == len(params):
        yield list(chosen.items())
        return
    p = params[i]
    if not p.active(scope):
        yield from _grid_from(params, i + 1, chosen, {**scope, p.name: None})
        return
    options: list[Any]
    dist = p.dist
    assert not isinstance(dist, ScipyPpf)  # grid() refuses continuous parameters before it gets here
    if isinstance(dist, Fixed):
        options = [dist.value]
    else:
        options = dist.values()
    for value in options:
        yield from _grid_from(params, i + 1, {**chosen, p.name: value}, {**scope, p.name: value})


def is_log(p: Param) -> bool:
    """Whether a parameter is naturally viewed on a log axis."""
    return bool(getattr(p.dist, "log", False))


def evenly_spaced_ints(values: list[Any]) -> IntRange | None:
    """An IntRange when ``values`` are ascending integers with one constant step, else None."""
    if len(values) < 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    step = values[1] - values[0]
    if step <= 0 or any(b - a != step for a, b in zip(values, values[1:])):
        return None
    return IntRange(values[0], values[-1], step=step)
