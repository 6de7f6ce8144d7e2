"""Every model of the chapter: several inputs (wide & deep), several outputs, and string class labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import fast_search

from nnhp_magics import hpsearch
from nnhp_magics.errors import NnhpError

small = fast_search(trials=2, epochs=3, patience=0, batch_size=16)


def wide_and_deep_data(n: int = 120, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Two inputs: 3 wide features and 4 deep features (two shared), and a linear target."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 5)).astype("float32")
    y = (features @ np.array([1.0, -1.0, 0.5, 0.3, -0.2]) + 0.1 * rng.normal(size=n)).astype("float32")
    return (features[:, :3], features[:, 1:]), y


def wide_and_deep(n_neurons: int = 8, learning_rate: float = 3e-3, aux: bool = False):
    """The textbook's wide & deep model on two inputs; with ``aux``, a second (auxiliary) output named ``aux``."""
    import keras

    input_wide, input_deep = keras.Input(shape=(3,)), keras.Input(shape=(4,))
    hidden = keras.layers.Dense(n_neurons, activation="relu")(input_deep)
    hidden = keras.layers.Dense(n_neurons, activation="relu")(hidden)
    concat = keras.layers.concatenate([input_wide, hidden])
    main = keras.layers.Dense(1, name="main")(concat)
    if not aux:
        model = keras.Model(inputs=[input_wide, input_deep], outputs=[main])
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
        return model
    aux_output = keras.layers.Dense(1, name="aux")(hidden)
    model = keras.Model(inputs=[input_wide, input_deep], outputs=[main, aux_output])
    model.compile(
        loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer=keras.optimizers.SGD(learning_rate=learning_rate)
    )
    return model


SPEC = "n_neurons = int(4, 12)\nlearning_rate = loguniform(1e-3, 1e-2)"


def test_wide_and_deep_searches_under_cv_on_the_graph_engine(keras_ready):
    x, y = wide_and_deep_data()
    search = hpsearch(wide_and_deep, x, y, SPEC, cv=3, engine="graph", **small())
    assert [t.engine for t in search.trials] == ["graph", "graph"]
    assert all(t.state == "complete" and len(t.fold_scores) == 3 for t in search.trials)
    predictions = search.best_model.predict(x, verbose=0)
    assert predictions.shape == (120, 1)


def test_wide_and_deep_with_valid_and_a_pack_of_two(keras_ready):
    x, y = wide_and_deep_data()
    xv, yv = wide_and_deep_data(40, seed=1)
    search = hpsearch(wide_and_deep, x, y, SPEC, valid=(xv, yv), pack=2, **small())
    assert [t.engine for t in search.trials] == ["packed", "packed"]
    assert all(np.isfinite(t.score) for t in search.trials)


def test_inputs_keyed_by_name_in_the_fit_path(keras_ready):
    (wide, deep), y = wide_and_deep_data()

    def named(n_neurons: int = 8):
        import keras

        input_wide, input_deep = keras.Input(shape=(3,), name="wide"), keras.Input(shape=(4,), name="deep")
        hidden = keras.layers.Dense(n_neurons, activation="relu")(input_deep)
        output = keras.layers.Dense(1)(keras.layers.concatenate([input_wide, hidden]))
        model = keras.Model(inputs={"wide": input_wide, "deep": input_deep}, outputs=output)
        model.compile(loss="mse", optimizer="sgd")
        return model

    search = hpsearch(named, {"wide": wide, "deep": deep}, y, "n_neurons = int(4, 12)", engine="fit", **small())
    assert all(t.engine == "fit" and t.state == "complete" for t in search.trials)


def test_two_outputs_with_loss_weights_and_an_objective_on_one_output(keras_ready, tmp_path):
    x, y = wide_and_deep_data()
    search = hpsearch(
        lambda n_neurons=8: wide_and_deep(n_neurons, aux=True), x, (y, y), "n_neurons = int(4, 12)",
        objective="val_main_loss", cv=2, **small(),
    )
    assert all(t.state == "complete" and t.engine == "graph" for t in search.trials)
    assert "val_aux_loss" in search.trials[0].history
    assert search.classes is None
    paths = search.export(tmp_path / "two.keras")
    assert "classes" not in paths and paths["model"].exists()


def test_mismatched_lengths_name_the_input_that_differs(keras_ready):
    (wide, deep), y = wide_and_deep_data()
    with pytest.raises(NnhpError, match=r"120 rows of X\[0\] but 100 of X\[1\]"):
        hpsearch(wide_and_deep, (wide, deep[:100]), y, SPEC, **small())
    with pytest.raises(NnhpError, match=r"rows of X\[0\] but 119 of y\[1\]"):
        hpsearch(wide_and_deep, (wide, deep), (y, y[:-1]), SPEC, **small())


def labelled_data(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated classes named by strings."""
    rng = np.random.default_rng(seed)
    names = np.array(["cat", "dog", "emu"])
    codes = rng.permutation(np.arange(n) % 3)
    x = (rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[codes]).astype("float32")
    return x, names[codes]


def classifier(units: int = 8, learning_rate: float = 0.05):
    import keras

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("kind", ["numpy", "pandas", "category"])
def test_string_labels_are_encoded_stratified_and_predicted_back(keras_ready, kind, tmp_path):
    import pandas as pd

    from nnhp_magics.core.data import prepare

    x, names = labelled_data()
    y = {"numpy": names, "pandas": pd.Series(names), "category": pd.Series(names, dtype="category")}[kind]
    data = prepare(x, y, cv=3, seed=1)
    assert data.classes.tolist() == ["cat", "dog", "emu"]
    assert all(sorted(set(fold.scored.y.tolist())) == [0, 1, 2] for fold in data.folds)
    assert all(np.bincount(fold.scored.y).tolist() == [10, 10, 10] for fold in data.folds)
    search = hpsearch(classifier, x, y, "units = int(4, 12)", cv=3, objective="val_accuracy", **small(epochs=5))
    assert all(t.state == "complete" for t in search.trials)
    assert search.classes == ["cat", "dog", "emu"]
    labels = search.predict_labels(x)
    assert set(labels.tolist()) <= {"cat", "dog", "emu"} and (labels == names).mean() > 0.5
    paths = search.export(tmp_path / "labels.keras")
    assert json.loads(paths["classes"].read_text()) == ["cat", "dog", "emu"]


def test_a_validation_label_the_training_y_lacks_is_named(keras_ready):
    x, names = labelled_data()
    wrong = names[:10].copy()
    wrong[3] = "yak"
    with pytest.raises(NnhpError, match="'yak'"):
        hpsearch(classifier, x, names, "units = int(4, 12)", valid=(x[:10], wrong), **small())


def test_float_zero_one_labels_are_stratified_and_predicted_with_one_sigmoid(keras_ready):
    import keras

    from nnhp_magics.core.data import cv_splits, prepare

    x, names = labelled_data(60)
    y = (names == "cat").astype("float32")
    data = prepare(x, y, cv=4, seed=0)
    positives = [int(fold.scored.y.sum()) for fold in data.folds]
    assert positives == [5, 5, 5, 5] and data.classes is None
    assert len(cv_splits(data.full, 4, 0)) == 4

    def binary(units: int = 8):
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="sgd")
        return model

    search = hpsearch(binary, x, y, "units = int(4, 12)", **small(trials=1))
    assert set(search.predict_labels(x).tolist()) <= {0, 1}


def test_the_magic_takes_a_tuple_of_inputs(keras_ready, ip):
    x, y = wide_and_deep_data()
    (xv_wide, xv_deep), yv = wide_and_deep_data(40, seed=1)
    ip.user_ns.update(
        wide_and_deep=wide_and_deep, X_train_wide=x[0], X_train_deep=x[1], y_train=y,
        X_valid_wide=xv_wide, X_valid_deep=xv_deep, y_valid=yv,
    )
    search = ip.run_cell_magic(
        "hpsearch",
        "wide_and_deep (X_train_wide, X_train_deep) y_train --valid (X_valid_wide, X_valid_deep) y_valid "
        "--trials 1 --epochs 2 --seed 1 --quiet",
        "n_neurons = int(4, 12)",
    )
    assert search.trials[0].state == "complete" and search.trials[0].engine == "graph"


def test_lrfind_takes_a_tuple_of_inputs(keras_ready):
    from nnhp_magics import lrfind

    x, y = wide_and_deep_data()
    result = lrfind(wide_and_deep, x, y, steps=20, quiet=True)
    assert result.suggestion is None or result.suggestion > 0
