"""A search space as plain data, for storage: the values each ``{expr}`` had, never the expression.

Pure logic: imports neither TensorFlow nor IPython. ``space_to_data`` writes each
parameter's resolved distribution as JSON-ready data; ``space_from_data`` builds the
space again from that data alone. Nothing read back is evaluated: literals go
through ``ast.literal_eval``, conditions through the condition checker of
``space.evaluate_condition``, and a scipy distribution is looked up by its name in
``scipy.stats`` and given numbers only.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

from nnhp_magics.core.space import Categorical, Distribution, Fixed, FloatRange, IntRange, Param, ScipyPpf, SearchSpace
from nnhp_magics.errors import NnhpError

_CONDITION_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
    ast.UAdd, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
    ast.Tuple, ast.List,
)


@dataclass(frozen=True)
class Shown:
    """A value that had no literal form when it ran (a function, an object), kept as the text its repr gave."""

    text: str

    def __repr__(self) -> str:
        return self.text


def space_to_data(space: SearchSpace) -> list[dict[str, Any]]:
    """Each parameter's name, condition and resolved distribution, as JSON-ready data."""
    return [{"name": p.name, "condition": p.condition, "dist": _dist_to_data(p.dist)} for p in space]


def space_from_data(data: Any) -> SearchSpace:
    """The space that ``space_to_data`` wrote, built from the data alone; NnhpError for data it did not write."""
    try:
        return SearchSpace(tuple(_param_from_data(item) for item in data))
    except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise NnhpError(
            f"the search space stored with this study cannot be read ({type(exc).__name__}: {exc}); "
            "nothing from it was run. Open the study with the version of nnhp-magics that wrote it."
        ) from None


def _dist_to_data(d: Distribution) -> dict[str, Any]:
    if isinstance(d, Categorical):
        return {"kind": "choice", "choices": [_value_to_data(c) for c in d.choices]}
    if isinstance(d, IntRange):
        return {"kind": "int", "low": d.low, "high": d.high, "step": d.step, "log": d.log}
    if isinstance(d, FloatRange):
        return {"kind": "float", "low": d.low, "high": d.high, "step": d.step, "log": d.log}
    if isinstance(d, Fixed):
        return {"kind": "fixed", "value": _value_to_data(d.value)}
    if isinstance(d, ScipyPpf):
        return {
            "kind": "scipy",
            "name": d.name,
            "args": [float(a) for a in d.dist.args],
            "kwds": {k: float(v) for k, v in d.dist.kwds.items()},
        }
    raise TypeError(f"unknown distribution {d!r}")


def _value_to_data(value: Any) -> dict[str, str]:
    """A value as its literal text, or as the text its repr gave when that is not a literal."""
    text = repr(value)
    try:
        if ast.literal_eval(text) == value:
            return {"literal": text}
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    return {"shown": text}


def _value_from_data(data: dict[str, str]) -> Any:
    if "literal" in data:
        return ast.literal_eval(str(data["literal"]))
    return Shown(str(data["shown"]))


def _param_from_data(item: dict[str, Any]) -> Param:
    name, condition = item["name"], item["condition"]
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{name!r} is not a parameter name")
    tree = None
    if condition is not None:
        tree = _condition_tree(str(condition))
    return Param(name, _dist_from_data(item["dist"]), condition=condition, _condition_tree=tree)


def _condition_tree(text: str) -> ast.expr:
    """The syntax tree of a stored condition; ValueError for anything a spec condition cannot hold."""
    tree = ast.parse(text, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _CONDITION_NODES):
            raise ValueError(f"the condition {text!r} uses {type(node).__name__}")
    return tree.body


def _dist_from_data(data: dict[str, Any]) -> Distribution:
    kind = data["kind"]
    if kind == "choice":
        return Categorical(tuple(_value_from_data(c) for c in data["choices"]))
    if kind == "int":
        return IntRange(_int(data["low"]), _int(data["high"]), step=_int(data["step"]), log=bool(data["log"]))
    if kind == "float":
        step = None if data["step"] is None else _number(data["step"])
        return FloatRange(_number(data["low"]), _number(data["high"]), step=step, log=bool(data["log"]))
    if kind == "fixed":
        return Fixed(_value_from_data(data["value"]))
    if kind == "scipy":
        return _scipy(str(data["name"]), data["args"], data["kwds"])
    raise ValueError(f"unknown distribution kind {kind!r}")


def _scipy(name: str, args: list[Any], kwds: dict[str, Any]) -> ScipyPpf:
    """A continuous scipy.stats family, looked up by name and frozen with numbers."""
    from scipy import stats

    family = getattr(stats, name, None) if name.isidentifier() else None
    if not isinstance(family, stats.rv_continuous):
        raise ValueError(f"scipy.stats.{name} is not a continuous distribution")
    return ScipyPpf(family(*[_number(a) for a in args], **{str(k): _number(v) for k, v in kwds.items()}), name)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not an integer")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)
