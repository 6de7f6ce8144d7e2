"""Spec text -> SearchSpace, with errors that point at the token.

One parameter a line: ``name = <form>`` with an optional ``if <condition>``, ``#``
comments and blank lines. Each right-hand side is read with :mod:`ast`; only the
``{expr}`` parts are evaluated, in the notebook namespace, on purpose.

Pure: imports neither TensorFlow nor IPython; scipy is imported only when a value
needs it.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import keyword
import math
import re
import sys
import tokenize
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from optuna.distributions import distribution_to_json

from nnhp_magics.core.space import (
    Categorical,
    Distribution,
    Fixed,
    FloatRange,
    IntRange,
    Param,
    ScipyPpf,
    SearchSpace,
    evenly_spaced_ints,
)
from nnhp_magics.errors import SpecError

FORMS = ("choice", "int", "float", "uniform", "loguniform", "reciprocal", "range", "fixed")

_USAGE = {
    "choice": "choice(a, b, ...)",
    "int": "int(lo, hi), int(lo, hi, step=k) or int(lo, hi, log=True)",
    "float": "float(lo, hi), float(lo, hi, step=k) or float(lo, hi, log=True)",
    "uniform": "uniform(lo, hi)",
    "loguniform": "loguniform(lo, hi)",
    "reciprocal": "reciprocal(lo, hi)",
    "range": "range(start, stop[, step])",
    "fixed": "fixed(value)",
}

_PLACEHOLDER = "__nnhp_expr_{}__"
_PLACEHOLDER_RE = re.compile(r"__nnhp_expr_(\d+)__\Z")
_DECLARED_RE = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)")
_LRFIND_HINT = "did %lrfind find no suggestion?"
_BRACES_HINT = "wrap a Python expression in braces to evaluate it: {{{}}}"
_CONDITION_HINT = "conditions use and, or, not, in, comparisons, constants and earlier parameters"

_MAX_LINE = 10_000  # characters: beyond it a value belongs in a notebook variable
_MAX_DEPTH = 100  # syntax-tree levels, far above any real line, far below Python's recursion limit
_INT_LIMIT = 2**53  # Optuna samples integers through floats, exact up to here
_FLOAT_ROOM = sys.float_info.max / 4  # |lo| + |hi| + step: samplers add and subtract bounds
_MAX_GRID = 10**15  # points of a float step grid
_INT_HINT = "keep integer bounds within ±2**53 = ±9007199254740992"
_SPAN_HINT = f"keep |lo| + |hi| below {_FLOAT_ROOM:.1e}: rescale the value in BUILD"

_NODE_WORDS = {
    ast.Call: "a call", ast.Attribute: "an attribute", ast.Subscript: "indexing",
    ast.Lambda: "a lambda", ast.BinOp: "arithmetic", ast.NamedExpr: "an assignment",
    ast.IfExp: "an if-else", ast.Dict: "a dict", ast.Set: "a set",
}
_OP_WORDS = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.Invert: "~", ast.USub: "-", ast.UAdd: "+", ast.Not: "not",
}
_ORDERINGS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_KIND_WORDS = {"none": "None", "number": "a number", "str": "a string", "seq": "a tuple or list", "other": "an object"}
_PLAIN_KINDS = frozenset({"none", "number", "str", "seq"})  # values a condition can test and compare


def parse_spec(text: str, namespace: dict | None = None, *, evaluate: bool = True) -> SearchSpace:
    """Parse spec text into a SearchSpace, raising SpecError at the first mistake.

    With ``evaluate=False`` (text read from a file) no ``{expr}`` is run: one is a SpecError.
    """
    scope = _eval_globals(namespace) if evaluate else None
    lines = text.splitlines()
    declared = _declared_names(lines)
    params: dict[str, Param] = {}
    kinds: dict[str, frozenset[str]] = {}
    for lineno, line in enumerate(lines, start=1):
        param = _LineParser(_preprocess(line, lineno), scope, params, declared, kinds).parse()
        if param is not None:
            params[param.name] = param
    return SearchSpace(tuple(params.values()))


def space_from_dict(distributions: Mapping[str, Any], namespace: dict | None = None) -> SearchSpace:
    """Build a SearchSpace from a scikit-learn ``param_distributions`` dict used as it is."""
    del namespace  # the values are already evaluated; kept for symmetry with parse_spec
    if not isinstance(distributions, Mapping):
        raise SpecError(
            f"param_distributions must be a dict, not {type(distributions).__name__}",
            hint="a list of dicts (several sub-spaces) is not supported: pass one dict",
        )
    params = []
    for key, value in distributions.items():
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise SpecError(f"param_distributions key {key!r} is not a valid parameter name")
        try:
            dist = _dist_from_value(value, one_value="fixed")
        except _Problem as p:
            hint = p.hint or "wrap it in a list, [value], to pass it unchanged"
            raise SpecError(f"param_distributions[{key!r}] {p.message}", hint=hint) from None
        params.append(Param(key, dist))
    return SearchSpace(tuple(params))


class _Problem(Exception):
    """A mistake in a value, before anyone knows where the value came from."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class _Line:
    """A spec line with its comment dropped and each ``{expr}`` replaced by a placeholder name."""

    lineno: int
    text: str
    code: str
    segments: list[tuple[int, int, int, int]] = field(default_factory=list)
    exprs: list[tuple[int, str]] = field(default_factory=list)

    def orig_col(self, col: int) -> int:
        """The column in the original text of a column of ``code``."""
        shift = 0
        for new_start, new_end, old_start, old_end in self.segments:
            if col < new_start:
                break
            if col < new_end:
                return old_start
            shift = old_end - new_end
        return col + shift

    def original(self, start: int, end: int) -> str:
        """The original text behind the ``code`` columns ``start`` to ``end``."""
        if end <= start:
            return ""
        return self.text[self.orig_col(start) : self._orig_end(end)].strip()

    def _orig_end(self, end: int) -> int:
        """The original column just past a span of ``code`` that ends at ``end``."""
        for new_start, new_end, _, old_end in self.segments:
            if new_start <= end - 1 < new_end:
                return old_end
        return self.orig_col(end - 1) + 1

    def error(self, message: str, col: int | None, hint: str | None = None) -> SpecError:
        """A SpecError for this line, its caret under the ``code`` column ``col``."""
        where = None if col is None else self.orig_col(col)
        return SpecError(message, line=self.lineno, col=where, text=self.text, hint=hint)


@dataclass
class _Piece:
    """A slice of a line's code parsed on its own, starting at column ``base``."""

    src: str
    base: int

    def col(self, node: ast.expr | ast.keyword) -> int:
        """The code column of an AST node (ast counts UTF-8 bytes, columns count characters)."""
        return self.base + _char_col(self.src, node.col_offset)

    def span(self, node: ast.expr | ast.keyword) -> tuple[int, int]:
        """The code columns a node covers."""
        end = node.end_col_offset
        assert end is not None  # ast.parse sets the end of every node it makes
        return self.col(node), self.base + _char_col(self.src, end)


class _LineParser:
    """Turns one preprocessed line into a Param, or raises SpecError pointing at the culprit."""

    def __init__(
        self,
        line: _Line,
        scope: dict | None,
        earlier: dict[str, Param],
        declared: dict[str, int],
        kinds: dict[str, frozenset[str]],
    ) -> None:
        self.line = line
        self.scope = scope
        self.earlier = earlier
        self.declared = declared
        self.kinds = kinds
        self.values: dict[int, Any] = {}
        self.piece = _Piece("", 0)
        self.name = ""

    def parse(self) -> Param | None:
        """The line's Param, or None for a blank or comment-only line."""
        if not self.line.code.strip():
            return None
        name_tok, form_piece, if_tok, cond_piece = self._split()
        self.name = name_tok.string
        self._check_name(name_tok)
        dist = self._form(self._parse_piece(form_piece, "form"))
        self._check_optuna(dist)
        condition, tree = None, None
        if if_tok is not None:
            condition, tree = self._condition(cond_piece, if_tok)
        return Param(
            self.name, dist, condition=condition, line=self.line.lineno, text=self.line.text,
            _condition_tree=tree,
        )

    def _check_optuna(self, dist: Distribution) -> None:
        """Refuse what Optuna would reject, or fail to store, at the first trial."""
        if isinstance(dist, Fixed):
            return
        try:
            distribution_to_json(dist.to_optuna())  # what a storage writes at each trial
            dist.to_optuna() == dist.to_optuna()  # noqa: B015 - Optuna compares choices as floats
        except (ValueError, OverflowError) as e:
            raise self.line.error(
                f"Optuna cannot use this parameter: {e}", self.piece.base,
                hint="use numbers within float range (and integers under 4300 digits)",
            ) from None

    def _split(self) -> tuple[tokenize.TokenInfo, _Piece, tokenize.TokenInfo | None, _Piece]:
        """Split the code into name, form, and the condition after the last top-level ``if``."""
        code = self.line.code
        toks = _tokens(code)
        if not toks or toks[0].type != tokenize.NAME:
            col = toks[0].start[1] if toks else len(code) - len(code.lstrip())
            raise self.line.error("expected `name = form`", col, hint=_hint_for("line"))
        if len(toks) < 2 or toks[1].string != "=":
            col = toks[1].start[1] if len(toks) > 1 else toks[0].end[1]
            raise self.line.error("expected `=` after the name", col, hint=_hint_for("line"))
        depth, if_tok = 0, None
        for tok in toks[2:]:
            if tok.type == tokenize.OP and tok.string in ("(", "[", "{"):
                depth += 1
            elif tok.type == tokenize.OP and tok.string in (")", "]", "}"):
                depth -= 1
            elif depth == 0 and tok.type == tokenize.NAME and tok.string == "if":
                if_tok = tok
        form_end = if_tok.start[1] if if_tok else len(code)
        eq_end = toks[1].end[1]
        form = _Piece(code[eq_end:form_end], eq_end)
        cond = _Piece(code[if_tok.end[1] :], if_tok.end[1]) if if_tok else _Piece("", len(code))
        return toks[0], form, if_tok, cond

    def _check_name(self, tok: tokenize.TokenInfo) -> None:
        """Reject keywords, placeholder names and names defined twice."""
        col = tok.start[1]
        if _PLACEHOLDER_RE.match(self.name):
            raise self.line.error("expected `name = form`, not `{...} = ...`", col)
        if keyword.iskeyword(self.name):
            raise self.line.error(f"`{self.name}` is a Python keyword, not a parameter name", col)
        if self.name in self.earlier:
            first = self.earlier[self.name].line
            raise self.line.error(
                f"`{self.name}` is defined twice (first on line {first})", col,
                hint="keep one definition per parameter",
            )

    def _parse_piece(self, piece: _Piece, what: str) -> ast.expr:
        """Parse a piece of code as one Python expression, mapping syntax errors to the line."""
        stripped = piece.src.lstrip()
        self.piece = _Piece(stripped.rstrip(), piece.base + len(piece.src) - len(stripped))
        if not self.piece.src:
            raise self.line.error(f"missing {what}", self.piece.base, hint=_hint_for(what))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)  # the spec is not Python code
                tree = ast.parse(self.piece.src, mode="eval").body
        except (SyntaxError, ValueError) as e:
            offset = getattr(e, "offset", None) or 1
            message = getattr(e, "msg", None) or str(e)
            col = self.piece.base + max(offset - 1, 0)
            raise self.line.error(f"invalid {what}: {message}", col, hint=_hint_for(what)) from None
        except (RecursionError, MemoryError):
            raise self._too_deep(what) from None
        if _depth(tree) > _MAX_DEPTH:
            raise self._too_deep(what)
        return tree

    def _too_deep(self, what: str) -> SpecError:
        """The error for a piece nested beyond what a spec line needs."""
        return self.line.error(
            f"the {what} is nested too deeply (more than {_MAX_DEPTH} levels)", self.piece.base,
            hint="write it more simply, or compute it in a notebook variable and write {name}",
        )

    def _form(self, node: ast.expr) -> Distribution:
        """The distribution a right-hand side describes."""
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.List):
            return self._choice(node.elts, node, list_form=True)
        if isinstance(node, ast.Name) and _PLACEHOLDER_RE.match(node.id):
            return self._from_expression(node)
        if isinstance(node, ast.Tuple):
            text = self._source(node)
            inner = text if text.startswith("(") else f"({text})"
            hint = f"did you mean choice{inner} or fixed({inner})?"
            raise self.error("a bare tuple is ambiguous", node, hint=hint)
        if isinstance(node, (ast.Constant, ast.UnaryOp, ast.Name)):
            return Fixed(self._value(node))
        raise self.error("not a spec form", node, hint=_BRACES_HINT.format(self._source(node)))

    def _call(self, node: ast.Call) -> Distribution:
        """Dispatch ``form(...)`` to its handler, or say which form was meant."""
        func = node.func
        if not isinstance(func, ast.Name) or _PLACEHOLDER_RE.match(func.id):
            raise self.error(
                "a Python call is not a spec form", node,
                hint=_BRACES_HINT.format(self._source(node)),
            )
        if func.id not in FORMS:
            close = difflib.get_close_matches(func.id, FORMS, n=1)
            hint = f"did you mean {close[0]}?" if close else "the forms are " + ", ".join(FORMS)
            raise self.error(f"unknown form `{func.id}`", func, hint=hint)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("*arguments are not supported", arg, hint=_USAGE[func.id])
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error("**arguments are not supported", kw, hint=_USAGE[func.id])
        return getattr(self, "_form_" + func.id)(node)

    def _form_choice(self, node: ast.Call) -> Distribution:
        """``choice(a, b, ...)``."""
        self._keywords(node, ())
        return self._choice(node.args, node, list_form=False)

    def _form_int(self, node: ast.Call) -> Distribution:
        """``int(lo, hi[, step=k | log=True])``."""
        lo_node, hi_node = self._positional(node, 2)
        kws = self._keywords(node, ("step", "log"))
        lo, hi = self._int_bound(lo_node), self._int_bound(hi_node)
        log = self._flag(kws.get("log"))
        self._check_order(lo, hi, lo_node, log, kws)
        step = 1
        if "step" in kws:
            step_node = kws["step"]
            step = self._int_bound(step_node)
            if step <= 0:
                raise self.error(f"step must be > 0, got {step}", step_node)
            if (hi - lo) % step:
                raise self.error(
                    f"step {step} does not divide hi - lo = {hi - lo}", step_node,
                    hint=f"choose hi so that hi - lo is a multiple of {step}",
                )
        return IntRange(lo, hi, step=step, log=log)

    def _form_float(self, node: ast.Call) -> Distribution:
        """``float(lo, hi[, step=k | log=True])``."""
        lo_node, hi_node = self._positional(node, 2)
        kws = self._keywords(node, ("step", "log"))
        lo, hi = self._float_bound(lo_node), self._float_bound(hi_node)
        log = self._flag(kws.get("log"))
        self._check_order(lo, hi, lo_node, log, kws)
        step = None
        if "step" in kws:
            step_node = kws["step"]
            step = self._float_bound(step_node)
            if step <= 0:
                raise self.error(f"step must be > 0, got {step!r}", step_node)
        self._check_span(lo, hi, step, node)
        if step is not None:
            if (hi - lo) / step > _MAX_GRID:
                raise self.error(
                    f"step {step!r} makes more than {_MAX_GRID:.0e} grid points", step_node,
                    hint="use a larger step, or drop step= for a continuous range",
                )
            if not _divides(step, lo, hi):
                raise self.error(
                    f"step {step!r} does not divide hi - lo", step_node,
                    hint=f"choose hi so that hi - lo is a multiple of {step!r}",
                )
        return FloatRange(lo, hi, step=step, log=log)

    def _form_uniform(self, node: ast.Call) -> Distribution:
        """``uniform(lo, hi)``: a continuous range."""
        return self._plain_float(node, log=False)

    def _form_loguniform(self, node: ast.Call) -> Distribution:
        """``loguniform(lo, hi)``: a log-scaled continuous range."""
        return self._plain_float(node, log=True)

    def _form_reciprocal(self, node: ast.Call) -> Distribution:
        """``reciprocal(lo, hi)``: scipy's name for loguniform."""
        return self._plain_float(node, log=True)

    def _plain_float(self, node: ast.Call, log: bool) -> Distribution:
        """A two-bound float form without keywords."""
        lo_node, hi_node = self._positional(node, 2)
        self._keywords(node, ())
        lo, hi = self._float_bound(lo_node), self._float_bound(hi_node)
        self._check_order(lo, hi, lo_node, log, {})
        self._check_span(lo, hi, None, node)
        return FloatRange(lo, hi, log=log)

    def _check_span(self, lo: float, hi: float, step: float | None, node: ast.Call) -> None:
        """A float range samplers can add and subtract bounds of without overflowing."""
        problem = _span_problem(lo, hi, step)
        if problem is not None:
            raise self.error(f"the range is {problem}", node, hint=_SPAN_HINT)

    def _form_range(self, node: ast.Call) -> Distribution:
        """``range(start, stop[, step])``: exactly Python's range values, as an ordinal range."""
        if not 1 <= len(node.args) <= 3:
            message = f"range takes 1 to 3 arguments, got {len(node.args)}"
            raise self.error(message, node.func, hint=_USAGE["range"])
        self._keywords(node, ())
        args = [self._int_bound(a) for a in node.args]
        if len(args) == 3 and args[2] == 0:
            raise self.error("range step must not be 0", node.args[2])
        values = range(*args)
        if not values:
            raise self.error(f"range{tuple(args)} is empty", node.func, hint=_USAGE["range"])
        if len(values) == 1:
            raise self.error(
                "a choice of one value", node.func, hint=f"did you mean `{values[0]}`?"
            )
        return _int_range(values)

    def _form_fixed(self, node: ast.Call) -> Distribution:
        """``fixed(value)``: a constant of any literal kind."""
        (value_node,) = self._positional(node, 1)
        self._keywords(node, ())
        return Fixed(self._value(value_node))

    def _positional(self, node: ast.Call, count: int) -> list[ast.expr]:
        """Exactly ``count`` positional arguments, or an error with the form's usage."""
        name = _form_name(node)
        if len(node.args) == count:
            return list(node.args)
        hint = _USAGE[name]
        if count == 2 and len(node.args) == 3 and name in ("int", "float"):
            hint = f"write the step as a keyword: step={self._source(node.args[2])}"
        plural = "s" if count > 1 else ""
        target = node.args[count] if len(node.args) > count else node.func
        message = f"{name} takes {count} positional argument{plural}, got {len(node.args)}"
        raise self.error(message, target, hint=hint)

    def _keywords(self, node: ast.Call, allowed: tuple[str, ...]) -> dict[str, ast.expr]:
        """The keyword arguments by name, rejecting unknown or repeated ones."""
        name = _form_name(node)
        found: dict[str, ast.expr] = {}
        for kw in node.keywords:
            assert kw.arg is not None  # _call refuses **arguments before any form reads its keywords
            if kw.arg not in allowed:
                close = difflib.get_close_matches(kw.arg, allowed, n=1)
                if close:
                    hint = f"did you mean {close[0]}=?"
                elif allowed:
                    hint = f"{name} accepts " + ", ".join(f"{a}=" for a in allowed)
                else:
                    hint = f"{name} takes no keyword arguments: {_USAGE[name]}"
                raise self.error(f"unknown keyword `{kw.arg}` for {name}", kw, hint=hint)
            if kw.arg in found:
                raise self.error(f"keyword `{kw.arg}` given twice", kw)
            found[kw.arg] = kw.value
        return found

    def _check_order(
        self, lo: float, hi: float, lo_node: ast.expr, log: bool, kws: dict[str, ast.expr]
    ) -> None:
        """Bounds must ascend; log needs a positive lo and no step."""
        if not lo < hi:
            message = f"empty range: lo = {lo!r}, hi = {hi!r}"
            raise self.error(message, lo_node, hint="lo must be < hi")
        if log and "step" in kws:
            message = "step and log=True cannot be combined"
            raise self.error(message, kws["step"], hint="drop one of them")
        if log and lo <= 0:
            message = f"a log scale cannot start at {lo!r}"
            raise self.error(message, lo_node, hint="log needs lo > 0")

    def _int_bound(self, node: ast.expr) -> int:
        """A whole-number bound within ±2**53 (an integral float is accepted)."""
        value = self._value(node)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            hint = "use float(lo, hi) for real numbers" if isinstance(value, float) else None
            raise self.error(f"expected a whole number, got {_shown(value)}", node, hint=hint)
        problem = _int_problem(value)
        if problem is not None:
            raise self.error(f"{_shown(value)} is {problem}", node, hint=_INT_HINT)
        return value

    def _float_bound(self, node: ast.expr) -> float:
        """A finite real-number bound."""
        value = self._value(node)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"expected a finite number, got {_shown(value)}", node)
        try:
            value = float(value)
        except OverflowError:
            raise self.error(f"{_shown(value)} is too large for a float", node, hint=_SPAN_HINT) from None
        if not math.isfinite(value):
            raise self.error(f"expected a finite number, got {value!r}", node, hint="bounds cannot be inf or nan")
        return value

    def _flag(self, node: ast.expr | None) -> bool:
        """A True/False keyword value (absent means False)."""
        if node is None:
            return False
        value = self._value(node)
        if not isinstance(value, bool):
            raise self.error(f"expected True or False, got {_shown(value)}", node)
        return value

    def _choice(self, elts: list[ast.expr], node: ast.expr, list_form: bool) -> Distribution:
        """A categorical over literal values, which must be two or more and distinct."""
        if not elts:
            raise self.error("an empty choice", node, hint="list two or more values")
        values = [self._value(e) for e in elts]
        if len(values) == 1:
            text = self._source(elts[0])
            fixed = f"fixed([{text}])" if list_form else f"fixed({text})"
            hint = f"did you mean `{text}` or `{fixed}`?"
            raise self.error("a choice of one value", node, hint=hint)
        clash = _first_clash(values)
        if clash is not None:
            i, j = clash
            raise self.error(
                f"duplicate choice value {_shown(values[j])} (same as {_shown(values[i])})", elts[j],
                hint="list each value once",
            )
        return Categorical(tuple(values))

    def _value(self, node: ast.expr) -> Any:
        """The literal a node spells: a constant, signed number, tuple, list, dict or ``{expr}``."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self._value(node.operand)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error("a sign applies to numbers only", node)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Tuple):
            return tuple(self._value(e) for e in node.elts)
        if isinstance(node, ast.List):
            return [self._value(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            keys = [k for k in node.keys if k is not None]  # a None key is a **mapping: not a literal
            if len(keys) == len(node.keys):
                return {self._value(k): self._value(v) for k, v in zip(keys, node.values)}
        if isinstance(node, ast.Name):
            match = _PLACEHOLDER_RE.match(node.id)
            if match:
                return self._expression(int(match.group(1)))
            raise self.error(f"`{node.id}` is a bare word", node, hint=_bare_word_hint(node.id))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORMS:
            message = f"`{node.func.id}(...)` cannot be nested here"
            raise self.error(message, node, hint="use a literal value")
        raise self.error("not a literal value", node, hint=_BRACES_HINT.format(self._source(node)))

    def _expression(self, index: int) -> Any:
        """Evaluate the ``index``-th ``{expr}`` of the line (once), refusing errors and None."""
        if index in self.values:
            return self.values[index]
        col, src = self.line.exprs[index]
        shown = "{" + src + "}"
        if self.scope is None:
            raise self._at(col, f"`{_clip(shown)}` is an expression, and a spec read from a file is not run")
        try:
            code = _compile_braces(src, f"<spec line {self.line.lineno}>")
        except (SyntaxError, ValueError) as e:
            message = getattr(e, "msg", None) or str(e)
            raise self._at(col, f"`{shown}` is not a Python expression: {message}") from None
        except (RecursionError, MemoryError):
            message = f"`{_clip(shown)}` is nested too deeply to compile"
            raise self._at(col, message, "compute it in a notebook variable and write {name}") from None
        try:
            value = eval(code, self.scope)  # noqa: S307 - {expr} is evaluated on purpose
        except (Exception, SystemExit) as e:  # noqa: BLE001 - any failure of user code is the user's to fix
            hint = f"a value in it is None ({_LRFIND_HINT})" if "NoneType" in str(e) else None
            raise self._at(col, f"`{shown}` raised {type(e).__name__}: {e}", hint) from None
        if value is None:
            raise self._at(col, f"`{shown}` evaluated to None", _LRFIND_HINT)
        value = _py(value)
        self.values[index] = value
        return value

    def _from_expression(self, node: ast.Name) -> Distribution:
        """The distribution a whole-line ``{expr}`` value stands for."""
        match = _PLACEHOLDER_RE.match(node.id)
        assert match is not None  # _form sends only placeholder names here
        index = int(match.group(1))
        value = self._expression(index)
        shown = "{" + self.line.exprs[index][1] + "}"
        try:
            return _dist_from_value(value, one_value="error")
        except _Problem as p:
            hint = p.hint or f"to pass it unchanged, write fixed({shown})"
            raise self.error(f"`{shown}` {p.message}", node, hint=hint) from None

    def _condition(self, piece: _Piece, if_tok: tokenize.TokenInfo) -> tuple[str, ast.expr]:
        """Check a condition over earlier parameters, types included; return its text and tree."""
        if not piece.src.strip():
            message = "missing condition after `if`"
            raise self.line.error(message, if_tok.start[1], hint=_hint_for("condition"))
        tree = self._parse_piece(piece, "condition")
        self._tested(tree, self._operand(tree))
        return self.piece.src, tree

    def _operand(self, node: ast.expr) -> frozenset[str]:
        """The kinds of value (see ``_kind``) a node of a condition can have, checking it on the way."""
        if isinstance(node, ast.Constant):
            return frozenset({_kind(node.value)})
        if isinstance(node, ast.Name):
            self._condition_name(node)
            return self._param_kinds(node.id)
        if isinstance(node, ast.BoolOp):
            kinds: frozenset[str] = frozenset()
            for value in node.values:
                kinds |= self._tested(value, self._operand(value))
            return kinds
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            self._compare(node)
            return frozenset({"number"})
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self._tested(element, self._operand(element))
            return frozenset({"seq"})
        word = _NODE_WORDS.get(type(node), type(node).__name__)
        raise self.error(f"a condition cannot use {word}", node, hint=_CONDITION_HINT)

    def _unary(self, node: ast.UnaryOp) -> frozenset[str]:
        """``not x``, or a sign on a number literal; ``~`` and arithmetic are refused."""
        if isinstance(node.op, ast.Not):
            self._tested(node.operand, self._operand(node.operand))
            return frozenset({"number"})
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            word = _OP_WORDS.get(type(node.op), type(node.op).__name__)
            raise self.error(f"a condition cannot use `{word}`", node, hint=_CONDITION_HINT)
        operand = node.operand
        number = (
            isinstance(operand, ast.Constant)
            and _kind(operand.value) == "number"
            and not isinstance(operand.value, bool)
        )
        if not number:
            raise self.error("a sign in a condition applies to a number only", node, hint=_CONDITION_HINT)
        return frozenset({"number"})

    def _tested(self, node: ast.expr, kinds: frozenset[str]) -> frozenset[str]:
        """Kinds of a value whose truth or equality is taken: refused unless plain."""
        if not kinds <= _PLAIN_KINDS:
            raise self.error(
                f"`{_clip(self._source(node))}` can be {_kinds_text(kinds)}, which a condition cannot test",
                node, hint="conditions test numbers, strings, True/False/None and tuples of them",
            )
        return kinds

    def _compare(self, node: ast.Compare) -> None:
        """Each link of a comparison chain must compare kinds that cannot raise at sampling time."""
        left, left_kinds = node.left, self._operand(node.left)
        for op, right in zip(node.ops, node.comparators):
            right_kinds = self._operand(right)
            if isinstance(op, (ast.Is, ast.IsNot)):
                self._identity(op, left, right)
            elif isinstance(op, (ast.In, ast.NotIn)):
                self._membership(op, left, left_kinds, right)
            else:
                self._tested(left, left_kinds)
                self._tested(right, right_kinds)
                if isinstance(op, _ORDERINGS):
                    self._ordering(op, left, left_kinds, right, right_kinds)
            left, left_kinds = right, right_kinds

    def _identity(self, op: ast.cmpop, left: ast.expr, right: ast.expr) -> None:
        """``is`` compares with None, True or False only: other values need ``==``."""
        for side in (left, right):
            singleton = isinstance(side, ast.Constant) and any(
                side.value is c for c in (None, True, False)
            )
            if not singleton and not isinstance(side, ast.Name):
                word = _OP_WORDS[type(op)]
                raise self.error(
                    f"`{word}` compares with None, True or False", side,
                    hint=f"use {'==' if isinstance(op, ast.Is) else '!='} to compare with a value",
                )

    def _membership(
        self, op: ast.cmpop, left: ast.expr, left_kinds: frozenset[str], right: ast.expr
    ) -> None:
        """``x in (a, b)`` over a literal tuple or list, or a string in a string literal."""
        word = _OP_WORDS[type(op)]
        if isinstance(right, (ast.Tuple, ast.List)):
            self._tested(left, left_kinds)
            return
        if isinstance(right, ast.Constant) and isinstance(right.value, str):
            if left_kinds - {"none"} and left_kinds - {"none"} <= {"str"}:
                return
            raise self.error(
                f"`{_clip(self._source(left))}` can be {_kinds_text(left_kinds)}, not only a string,"
                f" so `{word}` a string would fail", left,
                hint=f"list the values instead: {self._source(left)} {word} (1, 2)",
            )
        raise self.error(
            f"`{word}` needs a tuple or list of values on its right", right,
            hint=f"for example: {_clip(self._source(left))} {word} (1, 2)",
        )

    def _ordering(
        self,
        op: ast.cmpop,
        left: ast.expr,
        left_kinds: frozenset[str],
        right: ast.expr,
        right_kinds: frozenset[str],
    ) -> None:
        """``<``, ``<=``, ``>``, ``>=`` order numbers with numbers or strings with strings.

        None (an inactive parameter) makes the condition false at sampling time, so it is
        allowed where it stands for a parameter, not as a literal.
        """
        word = _OP_WORDS[type(op)]
        for side, kinds in ((left, left_kinds), (right, right_kinds)):
            if not kinds - {"none"}:
                raise self.error(f"None cannot be ordered with `{word}`", side, hint="use `is None`")
        both = (left_kinds | right_kinds) - {"none"}
        if both <= {"number"} or both <= {"str"}:
            return
        pair = f"{self._source(left)} {word} {self._source(right)}"
        odd = left if left_kinds - {"none"} != both else right
        hint = "order numbers with numbers and strings with strings"
        if isinstance(odd, ast.Name):
            dist = self.earlier[odd.id].dist
            if isinstance(dist, Categorical):
                values = ", ".join(_shown(c) for c in dist.choices[:5])
                hint = f"`{odd.id}` is one of {values}: compare it with == or in"
        message = (
            f"`{_clip(pair)}` compares {_kinds_text(left_kinds - {'none'})} "
            f"with {_kinds_text(right_kinds - {'none'})}"
        )
        raise self.error(message, left, hint=hint)

    def _param_kinds(self, name: str) -> frozenset[str]:
        """The kinds of value an earlier parameter reads as in a condition (None when off)."""
        if name not in self.kinds:
            param = self.earlier[name]
            dist = param.dist
            if isinstance(dist, Fixed):
                kinds = {_kind(dist.value)}
            elif isinstance(dist, Categorical):
                kinds = {_kind(c) for c in dist.choices}
            else:
                kinds = {"number"}
            if param.condition is not None:
                kinds.add("none")
            self.kinds[name] = frozenset(kinds)
        return self.kinds[name]

    def _condition_name(self, node: ast.Name) -> None:
        """A name in a condition must be an earlier parameter."""
        name = node.id
        if name in self.earlier:
            return
        if _PLACEHOLDER_RE.match(name):
            raise self.error("a condition cannot use {...}", node, hint="compare with a constant")
        if name == self.name:
            hint = "a condition cannot use its own parameter"
        elif name in self.declared and self.declared[name] > self.line.lineno:
            later = self.declared[name]
            hint = f"`{name}` is defined later (line {later}); move it above this line"
        else:
            close = difflib.get_close_matches(name, list(self.earlier), n=1)
            hint = f"did you mean `{close[0]}`?" if close else "earlier parameters: " + (
                ", ".join(self.earlier) or "none"
            )
        raise self.error(f"`{name}` is not an earlier parameter", node, hint=hint)

    def _source(self, node: ast.expr | ast.keyword) -> str:
        """The original text of a node of the current piece, braces restored."""
        return self.line.original(*self.piece.span(node))

    def error(self, message: str, node: ast.expr | ast.keyword, hint: str | None = None) -> SpecError:
        """A SpecError with its caret under ``node`` of the current piece."""
        return self.line.error(message, self.piece.col(node), hint)

    def _at(self, orig_col: int, message: str, hint: str | None = None) -> SpecError:
        """A SpecError with its caret at a column of the original text."""
        line = self.line
        return SpecError(message, line=line.lineno, col=orig_col, text=line.text, hint=hint)


def _preprocess(text: str, lineno: int) -> _Line:
    """Drop the line's comment and replace each top-level ``{expr}`` with a placeholder name."""
    if len(text) > _MAX_LINE:
        raise SpecError(
            f"the line is {len(text)} characters long (at most {_MAX_LINE})", line=lineno,
            text=_clip(text), hint="put a long value in a notebook variable and write {name}",
        )
    line = _Line(lineno, text, "")
    out: list[str] = []
    pos, depth, start, i = 0, 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            end = _string_end(text, i)
            if end is None:
                hint = "close the quote"
                raise SpecError("unterminated string", line=lineno, col=i, text=text, hint=hint)
            if depth == 0:
                out.append(text[i:end])
                pos += end - i
            i = end
            continue
        if ch == "#" and depth == 0:
            break
        if ch == "{":
            start = i if depth == 0 else start
            depth += 1
        elif ch == "}":
            if depth == 0:
                raise SpecError("unmatched }", line=lineno, col=i, text=text)
            depth -= 1
            if depth == 0:
                pos += _placeholder(line, out, pos, start, i)
        elif depth == 0:
            out.append(ch)
            pos += 1
        i += 1
    if depth:
        raise SpecError("unclosed {", line=lineno, col=start, text=text, hint="close it with }")
    line.code = "".join(out)
    return line


def _placeholder(line: _Line, out: list[str], pos: int, start: int, end: int) -> int:
    """Append the placeholder for the ``{expr}`` at ``start..end`` and return its length."""
    src = line.text[start + 1 : end]
    if not src.strip():
        hint = "put an expression inside"
        raise SpecError("empty {}", line=line.lineno, col=start, text=line.text, hint=hint)
    name = _PLACEHOLDER.format(len(line.exprs))
    line.exprs.append((start, src))
    line.segments.append((pos, pos + len(name), start, end + 1))
    out.append(name)
    return len(name)


def _string_end(text: str, i: int) -> int | None:
    """The index just past the string literal opening at ``i``, or None if it never closes."""
    quote = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
    j = i + len(quote)
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j):
            return j + len(quote)
        j += 1
    return None


def _compile_braces(src: str, filename: str) -> Any:
    """Compile the inside of ``{...}``; a dict display such as ``{'a': 1}`` stands for itself."""
    try:
        return compile(src.strip(), filename, "eval")
    except SyntaxError:
        try:
            tree = ast.parse("{" + src + "}", mode="eval")
        except SyntaxError:
            pass
        else:
            if isinstance(tree.body, (ast.Dict, ast.DictComp)):
                return compile(tree, filename, "eval")
        raise


def _tokens(code: str) -> list[tokenize.TokenInfo]:
    """The meaningful tokens of one line, as many as the tokenizer gives before any error."""
    skip = {tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER}
    toks: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in skip:
                toks.append(tok)
    except (tokenize.TokenError, SyntaxError):
        pass
    return toks


def _declared_names(lines: list[str]) -> dict[str, int]:
    """Where each name is first defined, by a quick look, for hints about later parameters."""
    declared: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        match = _DECLARED_RE.match(line)
        if match:
            declared.setdefault(match.group(1), lineno)
    return declared


def _eval_globals(namespace: dict | None) -> dict:
    """The globals ``{expr}`` is evaluated in, with builtins available."""
    if namespace is None:
        return {"__builtins__": builtins}
    if "__builtins__" in namespace:
        return namespace
    return {**namespace, "__builtins__": builtins}


def _dist_from_value(value: Any, one_value: str) -> Distribution:
    """The distribution an evaluated value stands for (``one_value``: 'fixed' or 'error')."""
    value = _py(value)
    if value is None:
        raise _Problem("is None", hint=_LRFIND_HINT)
    if isinstance(value, (bool, int, float, str)):
        return Fixed(value)
    if hasattr(value, "dist") and hasattr(value, "ppf"):
        return _from_scipy(value)
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise _Problem(f"is a {value.ndim}-D array; a choice needs a 1-D list")
    if isinstance(value, range) and value and value[0] != value[-1]:  # len() overflows past 2**63
        return _checked(_int_range(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size > 1:
        ints = _evenly_spaced_array(value)
        if ints is not None:
            return ints
    if isinstance(value, (list, tuple, range)):
        return _from_sequence([_py(v) for v in value], one_value)
    if _is_array_like(value):
        return _from_sequence([_py(v) for v in value.tolist()], one_value)
    raise _Problem(
        f"is of type {type(value).__name__}: not a number, a string, a list or a scipy.stats "
        "distribution"
    )


def _from_sequence(values: list[Any], one_value: str) -> Distribution:
    """An IntRange for evenly spaced ascending integers, else a Categorical."""
    if not values:
        raise _Problem("is an empty list", hint="list two or more values")
    if len(values) == 1:
        if one_value == "fixed":
            return Fixed(values[0])
        hint = f"did you mean `{_shown(values[0])}` alone, or fixed(...) to pass the list as it is?"
        raise _Problem("is a choice of one value", hint=hint)
    ints = evenly_spaced_ints(values)
    if ints is not None:
        return _checked(ints)
    clash = _first_clash(values)
    if clash is not None:
        i, j = clash
        message = f"has duplicate value {_shown(values[j])} (same as {_shown(values[i])})"
        raise _Problem(message, hint="list each value once")
    return Categorical(tuple(values))


def _from_scipy(frozen: Any) -> Distribution:
    """Map a scipy.stats frozen distribution to a native range, or to ScipyPpf."""
    from scipy import stats

    dist, name = frozen.dist, getattr(frozen.dist, "name", type(frozen.dist).__name__)
    lo, hi = (_py(b) for b in frozen.support())
    shown = f"scipy.stats.{name}"
    if isinstance(dist, stats.rv_discrete):
        if name != "randint":
            raise _Problem(
                f"is {shown}, a discrete family that cannot be sampled",
                hint="use scipy.stats.randint or a list of values",
            )
        _check_support(shown, lo, hi)
        return _checked(IntRange(int(lo), int(hi)))
    if not isinstance(dist, stats.rv_continuous):
        raise _Problem(f"is {shown}, which is neither continuous nor discrete")
    if name == "uniform":
        _check_support(shown, lo, hi)
        return _checked(FloatRange(float(lo), float(hi)))
    if name in ("loguniform", "reciprocal") and _loc_scale(frozen) == (0, 1):
        _check_support(shown, lo, hi)
        return _checked(FloatRange(float(lo), float(hi), log=True))
    ppf = ScipyPpf(frozen, name)
    ends = (ppf.value_at(0.0), ppf.value_at(1.0))
    if not all(math.isfinite(v) for v in ends):
        message = f"is {shown} with values from {ends[0]!r} to {ends[1]!r}, which are not all finite"
        raise _Problem(message, hint="check its parameters")
    return ppf


def _check_support(shown: str, lo: Any, hi: Any) -> None:
    """A native range needs a finite, non-empty support."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        message = f"is {shown} with support [{lo}, {hi}], which is not a range"
        raise _Problem(message, hint="lo must be < hi")


def _loc_scale(frozen: Any) -> tuple[Any, Any]:
    """The loc and scale of a frozen scipy distribution, given by position or keyword."""
    args, kwds, shapes = frozen.args, frozen.kwds, frozen.dist.numargs
    loc = kwds.get("loc", args[shapes] if len(args) > shapes else 0)
    scale = kwds.get("scale", args[shapes + 1] if len(args) > shapes + 1 else 1)
    return loc, scale


def _is_array_like(value: Any) -> bool:
    """Whether a value is a one-dimensional array, Series or Index (has ``tolist`` and a length)."""
    return hasattr(value, "tolist") and hasattr(value, "__len__") and getattr(value, "ndim", 1) == 1


def _py(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _first_clash(values: list[Any]) -> tuple[int, int] | None:
    """A pair of values Optuna could not tell apart (equal, or equal reprs), found in one pass."""
    by_value: dict[Any, int] = {}
    by_repr: dict[str, int] = {}
    for j, value in enumerate(values):
        nan = isinstance(value, float) and math.isnan(value)
        if _is_primitive(value) and not nan:  # NaN equals nothing; its repr is compared below
            i = by_value.setdefault(value, j)
            if i != j:
                return i, j
        if isinstance(value, int) and value.bit_length() > 64:
            continue  # a long integer's repr is its value, compared above (and may be unprintable)
        i = by_repr.setdefault(repr(value), j)
        if i != j:
            return i, j
    return None


def _is_primitive(value: Any) -> bool:
    """Whether Optuna stores a value as it is."""
    return isinstance(value, (type(None), bool, int, float, str))


def _kind(value: Any, depth: int = 0) -> str:
    """What a value is to a condition: none, number, str, seq (of plain values) or other."""
    if value is None:
        return "none"
    if isinstance(value, (bool, int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    plain = isinstance(value, (tuple, list)) and depth < 10
    if plain and all(_kind(v, depth + 1) in _PLAIN_KINDS for v in value):
        return "seq"
    return "other"


def _kinds_text(kinds: frozenset[str]) -> str:
    """Kinds of value in words: 'a number or a string'."""
    order = ("number", "str", "seq", "none", "other")
    return " or ".join(_KIND_WORDS[k] for k in order if k in kinds)


def _int_range(values: range) -> IntRange:
    """The IntRange of a range of two or more values, read off in O(1), never listed."""
    first, last = values[0], values[-1]
    return IntRange(min(first, last), max(first, last), step=abs(values.step))


def _evenly_spaced_array(array: np.ndarray) -> IntRange | None:
    """An IntRange for an ascending, evenly spaced integer array, checked without a Python list."""
    first, last = int(array[0]), int(array[-1])
    if _int_problem(first) is not None or _int_problem(last) is not None:
        return None
    steps = np.diff(array.astype(np.int64))
    step = int(steps[0])
    if step <= 0 or not bool((steps == step).all()):
        return None
    return IntRange(first, last, step=step)


def _checked(dist: IntRange | FloatRange) -> IntRange | FloatRange:
    """A range computed from a value, refused (as a _Problem) if Optuna cannot sample it exactly."""
    if isinstance(dist, IntRange):
        for bound in (dist.low, dist.high):
            problem = _int_problem(bound)
            if problem is not None:
                raise _Problem(f"has bound {_shown(bound)}, {problem}", hint=_INT_HINT)
        return dist
    problem = _span_problem(dist.low, dist.high, dist.step)
    if problem is not None:
        raise _Problem(f"is {problem}", hint=_SPAN_HINT)
    return dist


def _int_problem(value: int) -> str | None:
    """Why Optuna cannot sample up to an integer bound exactly, or None."""
    if abs(value) <= _INT_LIMIT:
        return None
    return "beyond ±2**53, where Optuna's integers lose precision"


def _span_problem(lo: float, hi: float, step: float | None) -> str | None:
    """Why samplers would overflow on a float range, or None."""
    if abs(lo) + abs(hi) + (step or 0.0) <= _FLOAT_ROOM:
        return None
    return f"too wide for floating point: [{lo!r}, {hi!r}] overflows when samplers add or subtract its bounds"


def _depth(tree: ast.AST) -> int:
    """How many levels a syntax tree has, counted without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _shown(value: Any) -> str:
    """A value as a message shows it: its repr, shortened, or its size where Python cannot print it."""
    if isinstance(value, int) and value.bit_length() > 1000:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    try:
        text = repr(value)
    except ValueError:  # a long integer inside a container: Python refuses to print it
        return f"a {type(value).__name__} too large to print"
    return _clip(text)


def _clip(text: str, limit: int = 80) -> str:
    """A text cut to ``limit`` characters, marked with an ellipsis where cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _divides(step: float, lo: float, hi: float) -> bool:
    """Whether ``step`` divides ``hi - lo`` exactly in decimal, as Optuna checks it."""
    return (Decimal(str(hi)) - Decimal(str(lo))) % Decimal(str(step)) == 0


def _form_name(node: ast.Call) -> str:
    """The name of the form a call spells, which ``_LineParser._call`` has checked is a bare name."""
    assert isinstance(node.func, ast.Name)
    return node.func.id


def _char_col(src: str, byte_col: int) -> int:
    """The character column of an AST byte offset into ``src``."""
    return len(src.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _bare_word_hint(word: str) -> str:
    """Suggest quoting a bare word, or the Python constant it resembles."""
    for constant in ("True", "False", "None"):
        if word.lower() == constant.lower():
            return f"did you mean {constant}?"
    return f"did you mean '{word}'? (or {{{word}}} for a notebook variable)"


def _hint_for(what: str) -> str:
    """The usual shape of a line, a form or a condition."""
    if what == "condition":
        return "for example: n_neurons = int(1, 99) if n_hidden > 0"
    if what == "line":
        return "for example: lr = loguniform(1e-4, 1e-1)"
    return "for example: lr = loguniform(1e-4, 1e-1), act = ['relu', 'tanh'] or units = int(8, 64)"
