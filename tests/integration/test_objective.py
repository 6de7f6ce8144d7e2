"""The objective: Keras 3's metric names in either case style, checked before any epoch trains."""

from __future__ import annotations

import pytest
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.core.results import Objective, parse_objective, resolve_objective
from nnhp_magics.errors import AllTrialsFailed, NnhpError

small = fast_search(trials=2, epochs=2, patience=1)


@pytest.mark.parametrize(
    "name, direction",
    [
        ("val_RootMeanSquaredError", "minimize"),
        ("MeanAbsoluteError", "minimize"),
        ("val_BinaryCrossentropy", "minimize"),
        ("val_KLDivergence", "minimize"),
        ("val_BinaryAccuracy", "maximize"),
        ("AUC", "maximize"),
        ("val_AUC", "maximize"),
        ("val_Precision", "maximize"),
        ("val_Recall", "maximize"),
        ("val_root_mean_squared_error", "minimize"),
    ],
)
def test_the_direction_is_read_from_camel_case_names_too(name, direction):
    assert parse_objective(name) == Objective(name, direction)


def test_an_objective_resolves_to_the_spelling_the_model_logs():
    logged = ["RootMeanSquaredError", "loss", "val_RootMeanSquaredError", "val_loss"]
    goal = parse_objective("val_root_mean_squared_error")
    assert resolve_objective(goal, logged) == Objective("val_RootMeanSquaredError", "minimize")
    snake = ["loss", "root_mean_squared_error", "val_loss", "val_root_mean_squared_error"]
    assert resolve_objective(parse_objective("val_RootMeanSquaredError"), snake).name == "val_root_mean_squared_error"
    with pytest.raises(NnhpError, match="It logs: RootMeanSquaredError, loss, val_RootMeanSquaredError, val_loss"):
        resolve_objective(parse_objective("val_mae"), logged)


def with_rmse(learning_rate=3e-3):
    model = textbook_build(1, 8, learning_rate)
    model.compile(loss="mse", optimizer="sgd", metrics=["RootMeanSquaredError"])
    return model


@pytest.mark.parametrize("objective", ["val_RootMeanSquaredError", "val_root_mean_squared_error"])
def test_keras_3_metric_names_work_in_either_spelling(data, keras_ready, objective):
    x, y = data
    search = hpsearch(with_rmse, x, y, "learning_rate = loguniform(1e-3, 1e-2)", objective=objective, **small())
    assert search.objective == Objective("val_RootMeanSquaredError", "minimize")
    assert all(t.state == "complete" for t in search.trials)
    best = search.best_trial
    assert best.score == pytest.approx(best.history["val_RootMeanSquaredError"][best.best_epochs[0] - 1])


def test_an_objective_never_logged_is_refused_before_any_epoch_trains(data, keras_ready):
    x, y = data
    created = []
    fits = []

    def counted(learning_rate=3e-3):
        model = with_rmse(learning_rate)
        fit = model.fit
        model.fit = lambda *a, **k: fits.append(1) or fit(*a, **k)
        return model

    with pytest.raises(NnhpError, match="--objective val_accuracy is not logged by the model. It logs: .*val_loss"):
        hpsearch(counted, x, y, "learning_rate = loguniform(1e-3, 1e-2)", objective="val_accuracy",
                 on_created=created.append, **small())
    assert fits == [] and created == []  # no epoch trained, no search and so no phantom trial


def test_a_build_that_fails_is_left_to_the_trials_to_report(data, keras_ready):
    x, y = data

    def broken(units=4):
        raise ValueError("a bug in BUILD")

    with pytest.raises(AllTrialsFailed, match="ValueError: a bug in BUILD"):
        hpsearch(broken, x, y, "units = int(1, 8)", **small())


def test_named_outputs_give_per_output_objectives(keras_ready):
    import numpy as np
    import tensorflow as tf

    keras = keras_ready
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def two_outputs(units=4):
        inputs = keras.Input(shape=(4,))
        hidden = keras.layers.Dense(units, activation="relu")(inputs)
        outputs = {"main": keras.layers.Dense(1, name="main")(hidden), "aux": keras.layers.Dense(1, name="aux")(hidden)}
        model = keras.Model(inputs, outputs)
        model.compile(loss={"main": "mse", "aux": "mse"}, optimizer="sgd")
        return model

    train = tf.data.Dataset.from_tensor_slices((x[:48], {"main": y[:48], "aux": -y[:48]})).batch(16)
    valid = tf.data.Dataset.from_tensor_slices((x[48:], {"main": y[48:], "aux": -y[48:]})).batch(16)
    search = hpsearch(two_outputs, train, None, "units = int(2, 8)", valid=valid, objective="val_main_loss", **small())
    best = search.best_trial
    assert best.score == pytest.approx(best.history["val_main_loss"][best.best_epochs[0] - 1])
    with pytest.raises(NnhpError, match="It logs: aux_loss, loss, main_loss, val_aux_loss, val_loss, val_main_loss"):
        hpsearch(two_outputs, train, None, "units = int(2, 8)", valid=valid, objective="val_dense_loss", **small())
