"""The one place that imports Keras/TensorFlow, lazily, when the first trial runs.

``import nnhp_magics`` and ``%load_ext nnhp_magics`` stay fast because nothing
else in the package imports TensorFlow at module level.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from nnhp_magics.core.results import write_atomically
from nnhp_magics.errors import NnhpError

#: Set to 1 to let TensorFlow's start-up lines through (see :func:`keras`).
SHOW_TF_LOGS = "NNHP_TF_LOGS"
_started = False


def keras() -> ModuleType:
    """Import and return Keras; the first call also starts the backend's devices.

    TensorFlow writes its start-up lines (absl's "before absl::InitializeLog()" notice,
    CPU feature and CUDA driver lines, "failed call to cuInit" on machines without a GPU)
    from C++ straight to file descriptor 2, which Jupyter shows in red in the cell that
    happens to run first. That descriptor points at /dev/null during the import and the
    device start only, unless ``NNHP_TF_LOGS=1``; Python's own ``sys.stderr`` is untouched.
    """
    global _started
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _started:
        import keras as keras_module

        return keras_module
    with contextlib.nullcontext() if os.environ.get(SHOW_TF_LOGS) == "1" else _quiet_fd2():
        import keras as keras_module

        if keras_module.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()
    _started = True
    return keras_module


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block (C-level writes only), then back."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a detached process): nothing to quiet
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def clear_session() -> None:
    """Free Keras' global state and Python garbage between batches of trials.

    A kernel interrupt arriving during the collection would be swallowed by a weakref
    callback ("Exception ignored in ..."); it is held until the collection ends instead.
    """
    import gc

    with deferred_interrupt():
        keras().backend.clear_session(free_memory=False)  # one collection, below, after the gradients go
        _forget_custom_gradients()
        gc.collect()


@contextlib.contextmanager
def earlier_objects_frozen() -> Iterator[None]:
    """While the block runs, Python's garbage collections skip every object that existed before it.

    TensorFlow's import leaves ~400,000 objects, so each full collection (ours every
    few trials, and Python's own) costs about 0.25 s; a search makes only garbage of
    its own. The objects are moved back (``gc.unfreeze``) when the block ends, so
    any that became garbage meanwhile go at the next collection. Nothing is frozen
    when something else already froze objects (a Dask worker does).
    """
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _forget_custom_gradients() -> None:
    """Drop the gradients ``tf.custom_gradient`` registered while tracing the cleared models' train steps.

    TensorFlow keeps each in a global registry for good, and each holds its traced
    graph: about one graph per ``--engine fit`` trial that ``clear_session`` never
    freed. A trace already done no longer looks them up; a new trace registers its own.
    """
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # another Keras backend
        return
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if isinstance(registry, dict):
        for name in [n for n in registry if isinstance(n, str) and n.startswith("CustomGradient-")]:
            del registry[name]


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold SIGINT (in the main thread) until the block ends, then raise KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def set_seed(seed: int, keep_programs: bool = False) -> None:
    """Seed Python, NumPy, Keras and TensorFlow for one fold, as ``keras.utils.set_random_seed`` does.

    TensorFlow's ``set_seed`` also empties its eager kernel cache, so that a stateful
    random op seeded again repeats its numbers; the cache also holds every traced
    program's preparation (~0.1 s each). With ``keep_programs`` (the in-process
    executor, whose programs serve many folds, trials and widths) the cache is kept:
    a seeded search empties it once, at its start, and each fold's seed is its own,
    so each fold's random kernels are new all the same.
    """
    seed = int(seed) % (2**31 - 1)
    with _kernel_cache_kept() if keep_programs else contextlib.nullcontext():
        keras().utils.set_random_seed(seed)


@contextlib.contextmanager
def _kernel_cache_kept() -> Iterator[None]:
    """While inside, TensorFlow's ``set_seed`` sets the eager global seed without emptying the kernel cache."""
    import random

    from tensorflow.python.eager import context

    eager = context.context()
    if not (hasattr(eager, "_rng") and hasattr(eager, "_seed")):  # another TensorFlow: its own set_seed
        yield
        return

    def set_global_seed(seed: int) -> None:
        eager._seed = seed
        eager._rng = random.Random(seed)

    eager._set_global_seed = set_global_seed
    try:
        yield
    finally:
        del eager._set_global_seed


def is_compiled_model(model: object) -> bool:
    """Whether ``model`` is a Keras model that ``compile()`` has been called on."""
    k = keras()
    return isinstance(model, k.Model) and bool(getattr(model, "compiled", False)) and model.optimizer is not None


def model_to_bytes(model: Any) -> bytes:
    """A Keras model as the bytes of its ``.keras`` file (how models travel from workers and live in memory)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def model_from_bytes(data: bytes) -> Any:
    """The Keras model saved by :func:`model_to_bytes`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        return keras().models.load_model(path)


def save_and_verify(model: Any, path: Path, weights: Path) -> None:
    """Save ``model`` as the ``.keras`` file ``path`` and load it back once.

    A model Keras cannot save or reload (a subclass without ``get_config``) has its
    weights saved in ``weights`` (a ``.weights.h5`` file) and raises an NnhpError saying why.
    """
    try:
        model.save(path)
        keras().models.load_model(path)
    except Exception as exc:
        Path(path).unlink(missing_ok=True)
        write_atomically(weights, model.save_weights)
        reason = " ".join(str(exc).split())[:300]
        raise NnhpError(
            f"Keras cannot save {weights.with_suffix('').with_suffix('.keras')} as a model it can load back "
            f"({type(exc).__name__}: {reason}). "
            f"The weights are saved in {weights}: rebuild the model with BUILD(**search.best_params) and call "
            "model.load_weights() on that file. To export the whole model, give your Model (and custom layer) "
            "subclasses a get_config() returning their __init__ arguments and decorate them with "
            "@keras.saving.register_keras_serializable()."
        ) from None
