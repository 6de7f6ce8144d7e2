"""California housing as the textbook splits it, from the copy shipped in examples/data, and helpers the benchmarks share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

DATA_HOME = Path(__file__).resolve().parent.parent / "examples" / "data"


def housing_splits(rows: int | None = None) -> tuple[np.ndarray, ...]:
    """(X_train, y_train, X_valid, y_valid, X_test, y_test), scaled on train, random_state=42."""
    from sklearn.datasets import fetch_california_housing
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    housing = fetch_california_housing(data_home=DATA_HOME, download_if_missing=False)
    x_full, x_test, y_full, y_test = train_test_split(housing.data, housing.target, random_state=42)
    x_train, x_valid, y_train, y_valid = train_test_split(x_full, y_full, random_state=42)
    scaler = StandardScaler().fit(x_train)
    x_train, x_valid, x_test = (scaler.transform(x).astype("float32") for x in (x_train, x_valid, x_test))
    if rows is not None:
        x_train, y_train = x_train[:rows], y_train[:rows]
    return x_train, y_train.astype("float32"), x_valid, y_valid.astype("float32"), x_test, y_test.astype("float32")


def textbook_build(n_hidden: int = 1, n_neurons: int = 30, learning_rate: float = 3e-3, input_shape=(8,)):
    """The textbook's regression MLP."""
    import keras

    model = keras.Sequential([keras.Input(shape=input_shape)])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


TEXTBOOK_SPEC = """
n_hidden = choice(0, 1, 2, 3)
n_neurons = int(1, 99)
learning_rate = loguniform(3e-4, 3e-2)
"""


def pin_one_thread() -> None:
    """One TensorFlow thread per pool, as the peers were measured."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def epoch_counter() -> Any:
    """A Keras callback class counting every epoch any copy of it sees (tuners deep-copy callbacks)."""
    import keras

    class EpochCounter(keras.callbacks.Callback):
        count = 0

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            type(self).count += 1

    return EpochCounter
