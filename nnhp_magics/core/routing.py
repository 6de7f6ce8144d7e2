"""Where each parameter goes: the build function, ``fit``, or the warm-up ramp.

Pure logic over ``inspect``: a spec name that is a keyword parameter of BUILD goes
to BUILD; ``batch_size`` and ``epochs`` go to ``fit``; ``warmup_epochs`` ramps the
learning rate; anything else is an error naming the closest match (a BUILD with
``**kwargs`` accepts every name).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nnhp_magics.core.space import SearchSpace
from nnhp_magics.errors import SpecError

FIT_NAMES = ("batch_size", "epochs")
WARMUP_NAME = "warmup_epochs"
RESERVED = FIT_NAMES + (WARMUP_NAME,)


@dataclass(frozen=True)
class Routed:
    """One trial's parameters split by destination."""

    build: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)
    warmup_epochs: float | None = None  # None: the spec does not tune it, --warmup applies


def build_signature(build: Callable[..., Any]) -> tuple[list[str], bool, dict[str, Any]]:
    """BUILD's keyword-capable parameter names, whether it takes ``**kwargs``, and its defaults."""
    try:
        sig = inspect.signature(build)
    except (TypeError, ValueError):
        return [], True, {}
    names, defaults, var_kw = [], {}, False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.append(p.name)
            if p.default is not p.empty:
                defaults[p.name] = p.default
    return names, var_kw, defaults


def check_names(
    names: Iterable[str],
    build: Callable[..., Any],
    *,
    space: SearchSpace | None = None,
    what: str = "spec",
) -> None:
    """Raise a SpecError for a name BUILD cannot take, with the closest match as a hint."""
    accepted, var_kw, _ = build_signature(build)
    if var_kw:
        return
    build_name = getattr(build, "__name__", "BUILD")
    for name in names:
        if name in accepted or name in RESERVED:
            continue
        candidates = accepted + list(RESERVED)
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"{build_name} takes: {', '.join(accepted) or 'no parameters'}."
        message = f"{name!r} is not a parameter of {build_name}() nor a fit argument ({', '.join(RESERVED)})."
        line, text = None, None
        if space is not None and name in space:
            param = space[name]
            line, text = param.line, param.text
        col = text.index(name) if text and name in text else (0 if text else None)
        raise SpecError(message, line=line, col=col, text=text, hint=hint)


def route(params: dict[str, Any], build: Callable[..., Any]) -> Routed:
    """Split one trial's parameters into BUILD's, ``fit``'s and the warm-up length."""
    fit = {k: v for k, v in params.items() if k in FIT_NAMES}
    warmup = params.get(WARMUP_NAME)
    build_kwargs = {k: v for k, v in params.items() if k not in RESERVED}
    accepted, var_kw, _ = build_signature(build)
    for name in FIT_NAMES + (WARMUP_NAME,):
        if name in params and name in accepted:
            build_kwargs[name] = params[name]
    return Routed(build=build_kwargs, fit=fit, warmup_epochs=warmup)
