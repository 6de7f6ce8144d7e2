"""Shared test helpers (one module for every test folder): tiny data, the textbook build function and spec.

TensorFlow is pinned to one thread per pool before it starts, so tests are
deterministic and two test processes share the two cores fairly.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def pin_tensorflow_threads() -> None:
    """One intra-op and one inter-op thread; safe to call more than once."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass


def textbook_build(n_hidden: int = 1, n_neurons: int = 8, learning_rate: float = 3e-3, input_shape=(4,)):
    """The textbook's regression MLP, on 4 features."""
    import keras

    model = keras.Sequential([keras.Input(shape=input_shape)])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


TEXTBOOK_SPEC = """
n_hidden = choice(0, 1, 2)
n_neurons = int(2, 16)
learning_rate = loguniform(1e-3, 3e-2)
"""


def fast_search(**defaults: Any) -> Callable[..., dict[str, Any]]:
    """A module's ``small(**overrides)`` for fast searches, with seed 1 by default and a fresh namespace per call."""

    def small(**overrides: Any) -> dict[str, Any]:
        return {"seed": 1, "namespace": {}, **defaults, **overrides}

    return small


def tiny_setup_cell(units: int, learning_rate: float, rows: int, extra: str = "") -> str:
    """Setup-cell source: a tiny 3-feature ``build``, ``X`` and ``y``, then ``extra``, then ``%load_ext nnhp_magics``."""
    return f'''
import os
os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = "1"
import numpy as np
import keras

def build(units={units}, learning_rate={learning_rate!r}):
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model

rng = np.random.default_rng(0)
X = rng.normal(size=({rows}, 3)).astype("float32")
y = X @ np.array([1.0, -1.0, 0.5], dtype="float32")
{extra}%load_ext nnhp_magics
'''


def regression_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A linear target with a little noise, on standardized features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.3]) + 0.1 * rng.normal(size=n)).astype("float32")
    return x, y
