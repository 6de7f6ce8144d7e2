"""Whether the graph engine can train a trial faithfully, and if not, why (the reason names the fallback); and whether XLA pays.

The engine calls the model's own ``train_step``/``test_step`` on X and y (arrays,
or structures of arrays for several inputs or outputs), with the search's and the
user's callbacks at epoch ends. Anything outside that — a custom training step, a
``tf.data`` pipeline, a callback acting per batch, sample or class weights — runs through
``fit`` instead.
"""

from __future__ import annotations

import math
from typing import Any

from nnhp_magics.core.data import Arrays, Fold
from nnhp_magics.training import backend
from nnhp_magics.training.callbacks import callbacks_reason

#: ``fit`` arguments the engine honours itself; any other --fit-kwargs entry means fit.
ENGINE_FIT_KWARGS = frozenset({"verbose", "batch_size", "shuffle", "callbacks"})


def setup_reason(fold: Fold, fit_kwargs: dict[str, Any], warmup: float) -> str | None:
    """Why no model of this search can use the graph engine (data, fit arguments, callbacks, warm-up), or None."""
    if backend.keras().backend.backend() != "tensorflow":
        return "the graph engine needs Keras' TensorFlow backend"
    if not isinstance(fold.train, Arrays) or not (fold.monitor is None or isinstance(fold.monitor, Arrays)):
        return "the data is a tf.data.Dataset"
    others = sorted(set(fit_kwargs) - ENGINE_FIT_KWARGS)
    if others:
        return f"--fit-kwargs sets {', '.join(others)}"
    reason = callbacks_reason(list(fit_kwargs.get("callbacks") or []))
    if reason is not None:
        return reason
    if warmup:
        return "the learning-rate warm-up acts per batch"
    return None


def model_reason(model: Any) -> str | None:
    """Why this compiled model cannot run in the graph engine, or None."""
    model_class = backend.keras().Model  # its train_step/test_step are the TensorFlow trainer's own
    kind = type(model)
    for method in ("train_step", "test_step"):
        if getattr(kind, method) is not getattr(model_class, method):
            return f"the model defines its own {method}"
    if getattr(model, "run_eagerly", False):
        return "the model is compiled with run_eagerly=True"
    if getattr(model, "_distribute_strategy", None) is not None:
        return "the model was built under a tf.distribute strategy"
    if model.optimizer is None:
        return "the model has no optimizer"
    return None



#: XLA's extra compile time over plain tracing, divided by the time it saves per training step: the steps
#: a program must train before XLA pays. From ``benchmarks/engine.py --part epochs`` on CPU, one
#: TensorFlow thread (README, *The trial engine*): 1.26 s / 90 us for the textbook MLP, 1.16 s / 116 us
#: for a 3x100 MLP; the larger figure is kept, so XLA is chosen only where it pays for both.
XLA_BREAK_EVEN_STEPS = 14_000

#: The share of the epoch budget a trial trains under early stopping (0.45 and 0.48 of it on two seeds
#: of the textbook search).
EARLY_STOPPED_SHARE = 0.5


#: XLA programs a process compiles before the automatic choice stops choosing XLA. TensorFlow never
#: frees a compiled XLA program (its compilation cache has no eviction, tensorflow/tensorflow#64170):
#: about 6.6 MB of RSS each for the textbook MLP's epoch program (benchmarks/memory.py --jit on), so
#: the budget bounds what a long-lived kernel keeps to about 200 MB.
XLA_PROGRAM_BUDGET = 32


class _XlaPrograms:
    """How many XLA programs this process has compiled (each one stays in memory until the process ends)."""

    compiled = 0


def count_xla_program() -> None:
    """Note one more XLA program compiled in this process."""
    _XlaPrograms.compiled += 1


def use_xla(jit: bool | None, epochs: int, folds: int, rows: int, batch_size: int, early_stopping: bool) -> bool:
    """Whether to compile a trial's epoch program with XLA: ``jit`` when forced, else when its predicted steps pay.

    The prediction depends only on the trial's budget (epochs, folds, rows, batch
    size), never on timings, so a seeded search makes the same choice every time
    in a fresh kernel; once the process has compiled ``XLA_PROGRAM_BUDGET`` XLA
    programs, the automatic choice is the plain graph.
    """
    if jit is not None:
        return jit
    if _XlaPrograms.compiled >= XLA_PROGRAM_BUDGET:
        return False
    steps = epochs * folds * math.ceil(rows / max(1, batch_size))
    return steps * (EARLY_STOPPED_SHARE if early_stopping else 1.0) >= XLA_BREAK_EVEN_STEPS
