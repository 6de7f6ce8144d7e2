"""The ``%lrfind`` line magic: split off ``name=value`` pairs, parse the options, call :func:`lrfind`.

``%lrfind BUILD X [Y] [name=value ...] [--start S] [--end E] [--steps N]
[--batch-size B] [--diverge D] [--smoothing S] [--quiet] [-o NAME]``. A value is read as a Python
literal or, failing that, evaluated in the notebook namespace.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from nnhp_magics import api
from nnhp_magics.errors import NnhpError
from nnhp_magics.magics.hpsearch import evaluate, split_words, user_errors_as_usage, user_namespace

_PARAM = re.compile(r"^([A-Za-z_]\w*)=(?!=)(.*)$", re.DOTALL)
_OPTIONS = ("start", "end", "steps", "batch_size", "diverge", "smoothing", "quiet")


def split_params(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Separate ``name=value`` words from the positional arguments and options."""
    rest, params = [], {}
    for word in words:
        match = _PARAM.match(word)
        if match is None:
            rest.append(word)
            continue
        name, value = match.groups()
        if name in _OPTIONS:
            option = "--" + name.replace("_", "-")
            raise NnhpError(f"%lrfind: {name}= is an option of %lrfind, not a parameter of BUILD: write {option}.")
        if name in params:
            raise NnhpError(f"%lrfind: {name}= is given twice.")
        params[name] = value
    return rest, params


def parameter_value(name: str, text: str, namespace: dict[str, Any]) -> Any:
    """A Python literal, or else the value of the expression in the notebook namespace."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return evaluate(text, namespace, f"{name}=")


@magics_class
class LRFindMagics(Magics):
    """``%lrfind``: the learning-rate range test."""

    @magic_arguments()
    @argument("build", help="the build function or a compiled model (a name or expression in the notebook)")
    @argument("x", help="X (or a batched tf.data.Dataset)")
    @argument("y", nargs="?", default=None, help="Y (omitted for a tf.data.Dataset)")
    @argument("--start", type=float, default=1e-5, help="first learning rate (default 1e-5)")
    @argument("--end", type=float, default=10.0, help="last learning rate (default 10)")
    @argument("--steps", type=int, default=500, help="mini-batches, the rate growing geometrically (default 500)")
    @argument("--batch-size", type=int, default=None, help="mini-batch size for arrays (default 32; a tf.data.Dataset keeps its own)")
    @argument("--diverge", type=float, default=4.0, help="stop once the smoothed loss passes D x its minimum (4)")
    @argument("--smoothing", type=float, default=0.98, help="decay of the loss's moving average (default 0.98)")
    @argument("--quiet", action="store_true", help="no live chart: one summary line")
    @argument("-o", "--output", dest="output", default=None, help="store the result in this notebook name")
    @line_magic
    @user_errors_as_usage
    def lrfind(self, line: str) -> api.LRFind | None:
        """Learning-rate range test: ``name=value`` words are BUILD's parameters (a literal, else a notebook expression).

        The result has ``suggestion`` (the learning rate at the smoothed loss minimum ÷ 10), ``steepest``,
        ``chosen`` (the rate picked on the notebook's chart; the suggestion until then), ``lrs``, ``losses``,
        ``smoothed`` and ``plot()``.
        """
        rest, texts = split_params(split_words(line))
        args = self.lrfind.parser.parse_args(rest)
        ns = user_namespace(self)
        build = evaluate(args.build, ns, "BUILD")
        x = evaluate(args.x, ns, "X")
        y = evaluate(args.y, ns, "Y") if args.y is not None else None
        params = {name: parameter_value(name, text, ns) for name, text in texts.items()}
        result = api.lrfind(
            build, x, y, start=args.start, end=args.end, steps=args.steps, batch_size=args.batch_size,
            diverge=args.diverge, smoothing=args.smoothing, quiet=args.quiet, **params,
        )
        if args.output:
            ns[args.output] = result
            return None
        return result
