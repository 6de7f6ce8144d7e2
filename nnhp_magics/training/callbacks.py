"""The user's ``--fit-kwargs`` callbacks: checked, copied for every trial and fold, and sorted by when they act.

Each trial (each fold under CV) gets its own deep copy of every callback, so no
state (EarlyStopping's best value, a TensorBoard writer, a CSV file) is shared
between trials. A copied ``TensorBoard`` writes to ``LOG_DIR/trial-N`` (and
``/fold-K`` under CV); ``{trial}`` and ``{fold}`` in a ``ModelCheckpoint`` path or
a ``CSVLogger`` file name become the trial and fold numbers (Keras' own
``{epoch}`` placeholders are kept). Callbacks that act only around epochs run on
the graph engine; one that acts per batch or during validation needs ``fit``.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

from nnhp_magics.errors import NnhpError
from nnhp_magics.training import backend

#: The hooks ``fit`` calls inside an epoch, which the graph engine does not call.
BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
    "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
)

_PLACEHOLDER = re.compile(r"\{(trial|fold)(:[^{}]*)?\}")


def check_callbacks(callbacks: Any) -> list[Any]:
    """The ``callbacks`` entry of --fit-kwargs as a list of Keras callbacks; NnhpError for anything else."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise NnhpError(f"--fit-kwargs callbacks must be a list of Keras callbacks, got {type(callbacks).__name__}.")
    base = backend.keras().callbacks.Callback
    for callback in callbacks:
        if not isinstance(callback, base):
            raise NnhpError(f"--fit-kwargs callbacks: {callback!r} is not a keras.callbacks.Callback.")
    return list(callbacks)


def run_label(number: int) -> str:
    """The folder of one trial's logs: ``trial-N``, or ``refit`` for the final refit (number -1)."""
    return f"trial-{number}" if number >= 0 else "refit"


def log_dir(root: str, number: int, fold: int, folds: int) -> str:
    """``root/trial-N``, with ``/fold-K`` under CV."""
    path = os.path.join(str(root), run_label(number))
    return os.path.join(path, f"fold-{fold}") if folds > 1 else path


def fold_copies(callbacks: list[Any], number: int, fold: int, folds: int) -> list[Any]:
    """Fresh copies of the user's callbacks for one fold of one trial, with per-trial paths."""
    return [_copy(callback, number, fold, folds) for callback in callbacks]


def _copy(callback: Any, number: int, fold: int, folds: int) -> Any:
    """A deep copy that shares no model (nor TensorBoard writer) with the original, its paths made per trial."""
    memo: dict[int, Any] = {}
    if getattr(callback, "_model", None) is not None:
        memo[id(callback._model)] = None
    if isinstance(getattr(callback, "_writers", None), dict):
        memo[id(callback._writers)] = {}
    try:
        copied = copy.deepcopy(callback, memo)
    except Exception as exc:
        raise NnhpError(
            f"--fit-kwargs callbacks: {type(callback).__name__} cannot be copied for each trial "
            f"({type(exc).__name__}: {exc}); pass a callback that copy.deepcopy can copy."
        ) from exc
    callbacks = backend.keras().callbacks
    if isinstance(copied, callbacks.TensorBoard):
        copied.log_dir = log_dir(copied.log_dir, number, fold, folds)
    elif isinstance(copied, callbacks.ModelCheckpoint):
        copied.filepath = fill_placeholders(copied.filepath, number, fold)
    elif isinstance(copied, callbacks.CSVLogger):
        copied.filename = fill_placeholders(copied.filename, number, fold)
    return copied


def fill_placeholders(path: str, number: int, fold: int) -> str:
    """``path`` with ``{trial}`` and ``{fold}`` (format specs allowed, e.g. ``{trial:03d}``) filled in, nothing else."""
    values = {"trial": number, "fold": fold}
    return _PLACEHOLDER.sub(lambda m: format(values[m.group(1)], (m.group(2) or ":")[1:]), str(path))


def batch_hook(callback: Any) -> str | None:
    """The first hook ``callback`` implements that acts inside an epoch, or None when it acts only around epochs.

    A ``TensorBoard`` with ``update_freq="epoch"`` and no profiling, and a
    ``ModelCheckpoint`` saving once an epoch, act only around epochs although
    their classes define batch hooks.
    """
    callbacks = backend.keras().callbacks
    if isinstance(callback, callbacks.TensorBoard):
        if callback.update_freq == "epoch" and not callback._should_trace:
            return None
        return "on_train_batch_end"
    if isinstance(callback, callbacks.ModelCheckpoint) and callback.save_freq == "epoch":
        return None
    base = callbacks.Callback
    for hook in BATCH_HOOKS:
        if hook in vars(callback) or getattr(type(callback), hook) is not getattr(base, hook):
            return hook
    return None


def callbacks_reason(callbacks: list[Any]) -> str | None:
    """Why these callbacks need ``fit`` (one acts per batch or during validation), or None."""
    for callback in callbacks:
        hook = batch_hook(callback)
        if hook is not None:
            when = "during validation" if hook.startswith("on_test") else "per batch"
            return f"the callback {type(callback).__name__} acts {when} ({hook})"
    return None
