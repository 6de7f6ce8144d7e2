"""The IPython adapter: parse the magic's options, resolve notebook names, call the Python API.

Thin on purpose: everything here turns text into arguments for ``hpsearch`` (and
friends) and turns the project's own errors into IPython's ``UsageError``, which
prints one paragraph and no traceback.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any, overload

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from nnhp_magics import api
from nnhp_magics.core.results import SearchRecord
from nnhp_magics.errors import NnhpError
from nnhp_magics.search.analysis import without_options
from nnhp_magics.search.options import SEARCH_OPTIONS
from nnhp_magics.views import choose


def user_namespace(magics: Magics) -> dict[str, Any]:
    """The notebook namespace of the shell the magics are registered with."""
    if magics.shell is None:
        raise NnhpError("these magics are not registered with an IPython shell: run %load_ext nnhp_magics first.")
    return magics.shell.user_ns


def user_errors_as_usage(func: Callable[..., Any]) -> Callable[..., Any]:
    """Re-raise the project's own errors as exactly ``UsageError`` (no traceback for the user's mistakes)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NnhpError as exc:
            raise UsageError(str(exc)) from None

    return wrapper


_OPEN, _CLOSE = "([{", ")]}"


def split_words(line: str) -> list[str]:
    """Split a magic line on spaces outside brackets and quotes, so ``(X_wide, X_deep)`` and ``X[y > 0]`` stay whole."""
    words: list[str] = []
    current: list[str] = []
    depth, quote = 0, None
    for char in line:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char.isspace() and depth == 0:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(char)
    if quote or depth:
        raise NnhpError(f"unbalanced {'quote' if quote else 'bracket'} in {line.strip()!r}.")
    if current:
        words.append("".join(current))
    return words


def magic_line(line: str) -> str:
    """The ``%%hpsearch`` line a follow-up cell starts with: this search's options, the space left to the cell."""
    return without_options("%%hpsearch " + line.strip(), ("--space",))


@overload
def unquoted(text: str) -> str: ...
@overload
def unquoted(text: None) -> None: ...
def unquoted(text: str | None) -> str | None:
    """A path or name without the quotes that kept its spaces together: ``"my model.keras"`` is ``my model.keras``."""
    if text is not None and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def evaluate(expression: str, namespace: dict[str, Any], what: str) -> Any:
    """Evaluate a name or expression from the magic line in the notebook namespace."""
    try:
        return eval(expression, namespace)  # noqa: S307 - the user's own notebook expression
    except NameError as exc:
        missing = getattr(exc, "name", None) or str(exc).split("'")[1] if "'" in str(exc) else expression
        close = difflib.get_close_matches(missing, [k for k in namespace if not k.startswith("_")], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise NnhpError(f"{what} {expression!r}: name {missing!r} is not defined in the notebook.{hint}") from None
    except SyntaxError as exc:
        raise NnhpError(f"{what} {expression!r} is not a valid Python expression: {exc.msg}.") from None
    except Exception as exc:
        raise NnhpError(f"{what} {expression!r} raised {type(exc).__name__}: {exc}") from None


def search_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add every option of ``SEARCH_OPTIONS`` to a magic's ``magic_arguments`` parser, in table order."""
    for option in reversed(SEARCH_OPTIONS):
        flags, settings = option.parser_arguments()
        func = argument(*flags, **settings)(func)
    return func


@magics_class
class NnhpMagics(Magics):
    """``%%hpsearch`` and ``%hpexport``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.last_search: SearchRecord | None = None

    @magic_arguments()
    @argument("build", help="the build function (a name or expression in the notebook)")
    @argument("data", nargs="+", help="X and Y (Y omitted for a tf.data.Dataset)")
    @argument("--valid", nargs="+", metavar="XV YV", help="validation data: early stopping and the score")
    @argument("-o", "--output", dest="output", default=None, help="store the Search in this notebook name")
    @argument("--space", default=None, help="a dict of distributions in the notebook instead of the cell body")
    @argument("--fit-kwargs", default=None, help="a dict of extra fit() arguments in the notebook")
    @argument("--quiet", action="store_true", help="no widget: one text line per trial")
    @search_options
    @line_cell_magic
    @user_errors_as_usage
    def hpsearch(self, line: str, cell: str | None = None) -> SearchRecord | None:
        """Search hyperparameters of a Keras build function; the cell body is the search space.

        The line form ``%hpsearch BUILD X Y --space NAME`` takes the space from a dict.
        """
        args = self.hpsearch.parser.parse_args(split_words(line))
        ns = user_namespace(self)
        build = evaluate(args.build, ns, "BUILD")
        if len(args.data) > 2:
            raise NnhpError(f"%%hpsearch takes BUILD X [Y]; got {len(args.data)} data arguments: {' '.join(args.data)}.")
        x = evaluate(args.data[0], ns, "X")
        y = evaluate(args.data[1], ns, "Y") if len(args.data) == 2 else None
        valid = self._valid(args.valid, ns)
        space: Any = cell or ""
        if args.space is not None:
            if any(row.strip() and not row.strip().startswith("#") for row in (cell or "").splitlines()):
                raise NnhpError("--space takes the space from a dict: leave the cell body empty, or drop --space.")
            space = evaluate(args.space, ns, "--space")
            if not isinstance(space, dict):
                raise NnhpError(f"--space {args.space} must name a dict of distributions, got {type(space).__name__}.")
        fit_kwargs = evaluate(args.fit_kwargs, ns, "--fit-kwargs") if args.fit_kwargs else None
        dask = evaluate(args.dask, ns, "--dask") if args.dask and args.dask.isidentifier() and args.dask in ns else args.dask

        def hold(search: SearchRecord) -> None:
            self.last_search = search
            search.magic_line = magic_line(line)
            if args.output:
                ns[args.output] = search

        options = {option.name: getattr(args, option.name) for option in SEARCH_OPTIONS}
        options.update(
            export=unquoted(args.export), storage=unquoted(args.storage), study=unquoted(args.study),
            tensorboard=unquoted(args.tensorboard), dask=dask,
        )
        search = api.hpsearch(
            build, x, y, space, valid=valid, fit_kwargs=fit_kwargs, **options,
            namespace=ns, listeners=choose.search_views(self.shell, args.quiet), on_created=hold,
        )
        return search

    def _valid(self, names: list[str] | None, ns: dict[str, Any]) -> Any:
        if not names:
            return None
        if len(names) == 1:
            return evaluate(names[0], ns, "--valid")
        if len(names) == 2:
            return (evaluate(names[0], ns, "--valid X"), evaluate(names[1], ns, "--valid Y"))
        raise NnhpError(f"--valid takes XV YV (two names), got {len(names)}: {' '.join(names)}.")

    @magic_arguments()
    @argument("names", nargs="+", help="[SEARCH] PATH")
    @argument("--overwrite", action="store_true", help="replace existing files")
    @line_magic
    @user_errors_as_usage
    def hpexport(self, line: str) -> None:
        """Save a search's best model (.keras), its parameters (.params.json) and leaderboard (.leaderboard.csv)."""
        args = parse_argstring(self.hpexport, line)
        if len(args.names) > 2:
            raise NnhpError("%hpexport takes [SEARCH] PATH.")
        if len(args.names) == 2:
            search = evaluate(args.names[0], user_namespace(self), "SEARCH")
            if not isinstance(search, SearchRecord):
                raise NnhpError(f"{args.names[0]} is a {type(search).__name__}, not the result of %%hpsearch.")
        else:
            search = self.last_search
            if search is None:
                raise NnhpError("no search to export yet: run %%hpsearch first, or name the search: %hpexport SEARCH PATH.")
        paths = search.export(unquoted(args.names[-1]), overwrite=args.overwrite)
        print("saved " + ", ".join(str(p) for p in paths.values()))
