"""The search through the Python API, with real Keras trials on tiny data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import TEXTBOOK_SPEC as SPEC
from helpers import fast_search, regression_data, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.core.events import EpochEnded, SearchEnded, SearchStarted, TrialFinished, TrialStarted
from nnhp_magics.errors import AllTrialsFailed, NnhpError, SpecError

pytestmark = pytest.mark.usefixtures("keras_ready")


small = fast_search(trials=3, epochs=3, patience=2)


def test_random_search_runs_the_budget_and_finds_a_best_model(data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, **small())
    assert len(search.trials) == 3
    assert all(t.state == "complete" for t in search.trials)
    assert search.done and search.stop_reason == "done"
    best = search.best_trial
    assert search.best_score == min(t.score for t in search.trials)
    assert set(search.best_params) == {"n_hidden", "n_neurons", "learning_rate"}
    assert best.history["val_loss"][best.best_epochs[0] - 1] == pytest.approx(best.score)
    predictions = search.best_model.predict(x[:5], verbose=0)
    assert predictions.shape == (5, 1)


def test_same_seed_gives_the_same_parameters_and_scores(data):
    x, y = data
    first = hpsearch(textbook_build, x, y, SPEC, **small())
    second = hpsearch(textbook_build, x, y, SPEC, **small())
    other = hpsearch(textbook_build, x, y, SPEC, **small(seed=2))
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [t.score for t in first.trials] == pytest.approx([t.score for t in second.trials], rel=1e-5)
    assert [t.params for t in first.trials] != [t.params for t in other.trials]


def test_eager_random_draws_in_the_build_repeat_with_the_seed_though_trials_keep_tensorflows_programs(data):
    import tensorflow as tf

    from nnhp_magics.training import backend

    draws: list[float] = []

    def drawing_build(n_neurons=4):
        draws.append(float(tf.random.uniform([])))  # a stateful eager op: TensorFlow caches its kernel
        return textbook_build(n_neurons=n_neurons)

    x, y = data
    runs = []
    for _ in range(2):
        search = hpsearch(drawing_build, x, y, "n_neurons = int(2, 9)", cv=2, **small())
        folds = draws[-6:]  # the 3 trials' 2 folds, after the unseeded check of the build function
        search.best_model
        runs.append([*folds, draws[-1]])  # and the refit's
    assert runs[0] == runs[1], "the same seeded search draws the same numbers again"
    assert len(set(runs[0])) == 7, "every fold of every trial, and the refit, draws from a seed of its own"
    backend.set_seed(5)
    first = float(tf.random.uniform([]))
    backend.set_seed(5, keep_programs=True)
    assert float(tf.random.uniform([])) != first, "a fold's seeding keeps the kernel cache (and its prepared programs)"
    backend.set_seed(5)
    assert float(tf.random.uniform([])) == first, "a search's first seeding empties it"


def test_a_search_freezes_the_objects_older_than_it_and_unfreezes_them_when_it_ends(data):
    import gc

    frozen_while_building: list[int] = []

    def counting_build(n_neurons=4):
        frozen_while_building.append(gc.get_freeze_count())
        return textbook_build(n_neurons=n_neurons)

    x, y = data
    assert gc.get_freeze_count() == 0
    hpsearch(counting_build, x, y, "n_neurons = int(2, 9)", **small(trials=2))
    assert len(frozen_while_building) >= 2 and all(count > 10_000 for count in frozen_while_building[-2:]), (
        "its trials run with the objects that lived before the search frozen (TensorFlow's among them)"
    )
    assert gc.get_freeze_count() == 0, "they are unfrozen when it ends"


def test_events_are_keyed_by_trial_and_cover_every_epoch(data):
    x, y = data
    events = []
    hpsearch(textbook_build, x, y, SPEC, listeners=[events.append], **small(trials=2, patience=0))
    kinds = [type(e) for e in events]
    assert kinds[0] is SearchStarted and kinds[-1] is SearchEnded
    starts = [e.trial for e in events if isinstance(e, TrialStarted)]
    finishes = [e.trial for e in events if isinstance(e, TrialFinished)]
    assert starts == finishes == [0, 1]
    epochs = [(e.trial, e.epoch) for e in events if isinstance(e, EpochEnded)]
    assert epochs == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert all("val_loss" in e.logs for e in events if isinstance(e, EpochEnded))


def test_grid_enumerates_the_conditional_product_in_spec_order(data):
    x, y = data
    spec = "n_hidden = choice(0, 1)\nn_neurons = choice(4, 8) if n_hidden > 0\n"
    search = hpsearch(textbook_build, x, y, spec, strategy="grid", **small(trials=None, epochs=1))
    assert [t.params for t in search.trials] == [
        {"n_hidden": 0},
        {"n_hidden": 1, "n_neurons": 4},
        {"n_hidden": 1, "n_neurons": 8},
    ]
    assert search.budget == 3


def test_grid_rejects_a_continuous_range_and_too_many_trials(data):
    x, y = data
    with pytest.raises(SpecError, match="continuous range") as info:
        hpsearch(textbook_build, x, y, "learning_rate = float(0.001, 0.01)", strategy="grid", namespace={})
    assert info.value.line == 1 and "step" in info.value.hint
    with pytest.raises(NnhpError, match="exceeds the grid's 2 combinations"):
        hpsearch(textbook_build, x, y, "n_hidden = choice(0, 1)", strategy="grid", trials=5, namespace={})


def test_cross_validation_scores_the_mean_over_held_out_folds_and_refits(data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, cv=3, **small(trials=2))
    for t in search.trials:
        assert len(t.fold_scores) == 3 and len(t.fold_histories) == 3
        assert t.score == pytest.approx(np.mean(t.fold_scores))
        assert t.score_std == pytest.approx(np.std(t.fold_scores))
    model = search.best_model
    assert model.predict(x[:3], verbose=0).shape == (3, 1)
    assert search.best_model is model  # the refit runs once


def test_the_cv_refit_early_stops_on_valid_up_to_the_epoch_budget_else_trains_the_mean_best_epoch(data, monkeypatch):
    import nnhp_magics.training.trial as trial_module

    refits = []
    fit_fold = trial_module.fit_fold

    def recording_fit_fold(model, fold, routed, config, *args):
        result = fit_fold(model, fold, routed, config, *args)
        if args[1] == -1:
            refits.append((routed.fit["epochs"], config.patience, len(result.history["loss"])))
        return result

    monkeypatch.setattr(trial_module, "fit_fold", recording_fit_fold)
    x, y = data
    xv, yv = regression_data(60, seed=9)
    fast = "learning_rate = fixed(0.2)"
    with_valid = hpsearch(textbook_build, x, y, fast, cv=2, valid=(xv, yv), **small(trials=1, epochs=40))
    assert with_valid.best_trial.best_epoch < 39
    with_valid.best_model
    (epochs, patience, trained), = refits
    assert (epochs, patience) == (40, 2) and trained <= 40, "with --valid the refit early-stops like the trials"
    without = hpsearch(textbook_build, x, y, fast, cv=2, **small(trials=1, epochs=40))
    without.best_model
    mean_best = round(without.best_trial.best_epoch)
    assert refits[1] == (mean_best, 0, mean_best), "without --valid it trains the mean best epoch"


def test_validation_split_holds_out_a_seeded_fraction(data):
    from nnhp_magics.core.data import prepare

    x, y = data
    prepared = prepare(x, y, validation_split_fraction=0.25, seed=3)
    fold = prepared.folds[0]
    assert len(fold.train) == 150 and len(fold.monitor) == 50
    again = prepare(x, y, validation_split_fraction=0.25, seed=3).folds[0]
    assert np.array_equal(fold.monitor.x, again.monitor.x)


def test_valid_data_is_used_for_the_score(data):
    x, y = data
    xv, yv = regression_data(60, seed=9)
    search = hpsearch(textbook_build, x, y, SPEC, valid=(xv, yv), **small(trials=1))
    model = search.best_model
    assert model.evaluate(xv, yv, verbose=0) == pytest.approx(search.best_score, rel=1e-4)


def test_a_trial_that_raises_fails_with_its_reason_and_the_search_goes_on(data):
    x, y = data

    def fragile(n_hidden=1, n_neurons=8, learning_rate=3e-3):
        if n_hidden == 2:
            raise ValueError("two hidden layers are not supported")
        return textbook_build(n_hidden, n_neurons, learning_rate)

    search = hpsearch(fragile, x, y, "n_hidden = choice(1, 2)", strategy="grid", **small(trials=None, epochs=1))
    failed = [t for t in search.trials if t.state == "failed"]
    assert len(failed) == 1 and failed[0].params == {"n_hidden": 2}
    assert failed[0].error == "ValueError: two hidden layers are not supported"
    assert search.best_params == {"n_hidden": 1}


def test_a_nan_loss_fails_the_trial(data):
    x, y = data
    spec = "learning_rate = choice(1e-3, 1e4)"
    search = hpsearch(textbook_build, x, y, spec, strategy="grid", **small(trials=None, epochs=3))
    by_lr = {t.params["learning_rate"]: t for t in search.trials}
    assert by_lr[1e4].state == "failed" and "NaN" in by_lr[1e4].error
    assert by_lr[1e-3].state == "complete"


def test_every_trial_failing_assigns_the_result_then_summarises(data):
    x, y = data
    held = []

    def broken(n_neurons=8):
        raise RuntimeError(f"cannot build with {n_neurons}")

    with pytest.raises(AllTrialsFailed, match="(?s)all 2 trials failed.*RuntimeError: cannot build"):
        hpsearch(broken, x, y, "n_neurons = int(1, 5)", on_created=held.append, **small(trials=2))
    assert len(held) == 1 and len(held[0].trials) == 2


def test_interrupting_keeps_finished_trials(data):
    x, y = data
    calls = []

    def interrupted_on_third(n_neurons=8):
        calls.append(n_neurons)
        if len(calls) == 1 + 3:  # the first build is the objective check before any trial
            raise KeyboardInterrupt
        return textbook_build(1, n_neurons)

    search = hpsearch(interrupted_on_third, x, y, "n_neurons = int(2, 9)", **small(trials=5, epochs=1))
    assert search.stop_reason == "interrupted"
    assert [t.state for t in search.trials] == ["complete", "complete", "interrupted"]
    assert search.best_trial.number in (0, 1)


def test_stop_ends_the_running_trial_as_interrupted(data, keras_ready):
    x, y = data
    holder = []

    class StopAtSecondEpoch(keras_ready.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1 and len(holder[0].trials) == 2:
                holder[0].stop()

    search = hpsearch(
        textbook_build, x, y, SPEC, on_created=holder.append,
        fit_kwargs={"callbacks": [StopAtSecondEpoch()]}, **small(trials=4, patience=0),
    )
    assert search.stop_reason == "stopped"
    assert [t.state for t in search.trials] == ["complete", "interrupted"]


def test_timeout_starts_no_new_trial_after_the_deadline(data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, timeout=0.01, **small(trials=5, epochs=1))
    assert len(search.trials) == 1 and search.stop_reason == "timeout"


def test_baseline_runs_build_defaults_as_trial_zero(data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, baseline=True, **small(trials=2))
    assert search.trials[0].params == {"n_hidden": 1, "n_neurons": 8, "learning_rate": 3e-3}
    assert search.trials[1].params != search.trials[0].params


def test_fit_parameters_route_to_fit_and_constants_to_build(data):
    x, y = data
    spec = "batch_size = choice(16, 64)\nepochs = choice(1, 2)\ninput_shape = fixed((4,))"
    search = hpsearch(textbook_build, x, y, spec, strategy="grid", **small(trials=None, patience=0))
    assert {(t.params["batch_size"], t.params["epochs"]) for t in search.trials} == {(16, 1), (16, 2), (64, 1), (64, 2)}
    assert all(t.epochs == t.params["epochs"] for t in search.trials)
    assert search.leaderboard_columns()[3:5] == ["batch_size", "epochs"]


def test_objective_from_a_compiled_metric_and_maximised(data, keras_ready):
    x, y = data

    def with_mae(learning_rate=3e-3):
        model = textbook_build(1, 8, learning_rate)
        model.compile(loss="mse", optimizer="sgd", metrics=["mae"])
        return model

    search = hpsearch(with_mae, x, y, "learning_rate = loguniform(1e-3, 1e-2)", objective="val_mae", **small(trials=2))
    assert search.objective.minimize
    assert all("val_mae" in t.history for t in search.trials)


def test_an_objective_the_model_never_logs_is_reported_with_what_it_logs(data):
    x, y = data
    with pytest.raises(NnhpError, match="--objective val_accuracy is not logged by the model. It logs: loss, val_loss"):
        hpsearch(textbook_build, x, y, SPEC, objective="val_accuracy", **small())


def test_a_build_that_returns_no_compiled_model_is_reported(data, keras_ready):
    x, y = data

    def forgot_return(n_neurons=8):
        textbook_build(1, n_neurons)

    def forgot_compile(n_neurons=8):
        return keras_ready.Sequential([keras_ready.Input(shape=(4,)), keras_ready.layers.Dense(1)])

    with pytest.raises(NnhpError, match="returned None. Did you forget `return model`"):
        hpsearch(forgot_return, x, y, "n_neurons = int(1, 5)", **small())
    with pytest.raises(NnhpError, match="not compiled"):
        hpsearch(forgot_compile, x, y, "n_neurons = int(1, 5)", **small())


def test_unknown_spec_name_names_the_closest_parameter(data):
    x, y = data
    with pytest.raises(SpecError, match="did you mean 'n_neurons'") as info:
        hpsearch(textbook_build, x, y, "n_hidden = choice(1, 2)\nn_nerons = int(1, 5)", namespace={})
    assert info.value.line == 2


def test_mismatched_lengths_are_reported_before_training(data):
    x, y = data
    with pytest.raises(NnhpError, match="different lengths: 200 rows of X but 199 of y"):
        hpsearch(textbook_build, x, y[:-1], SPEC, **small())


def test_export_writes_model_params_and_leaderboard(data, tmp_path, keras_ready):
    x, y = data
    path = tmp_path / "best.keras"
    search = hpsearch(textbook_build, x, y, SPEC, export=str(path), **small(trials=2))
    reloaded = keras_ready.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(x[:4], verbose=0), search.best_model.predict(x[:4], verbose=0), rtol=1e-5)
    assert (tmp_path / "best.params.json").exists() and (tmp_path / "best.leaderboard.csv").exists()


def test_an_existing_export_path_fails_before_any_training(data, tmp_path):
    x, y = data
    (tmp_path / "best.keras").write_text("")
    built = []

    def counting(n_neurons=8):
        built.append(n_neurons)
        return textbook_build(1, n_neurons)

    with pytest.raises(NnhpError, match="exists already"):
        hpsearch(counting, x, y, "n_neurons = int(1, 5)", export=str(tmp_path / "best.keras"), **small())
    assert built == []


def test_space_from_a_scikit_learn_dict(data):
    from scipy.stats import reciprocal

    x, y = data
    space = {"n_hidden": [0, 1], "n_neurons": np.arange(2, 10), "learning_rate": reciprocal(1e-3, 1e-2)}
    search = hpsearch(textbook_build, x, y, space, **small(trials=2))
    for t in search.trials:
        assert 2 <= t.params["n_neurons"] <= 9 and 1e-3 <= t.params["learning_rate"] <= 1e-2


def test_pandas_and_list_inputs(data):
    import pandas as pd

    x, y = data
    search = hpsearch(textbook_build, pd.DataFrame(x), pd.Series(y), SPEC, **small(trials=1))
    assert search.best_trial.state == "complete"
    search = hpsearch(textbook_build, x.tolist(), y.tolist(), SPEC, **small(trials=1))
    assert search.best_trial.state == "complete"


def test_a_tf_dataset_with_valid_data(data):
    import tensorflow as tf

    x, y = data
    train = tf.data.Dataset.from_tensor_slices((x[:150], y[:150])).batch(32)
    search = hpsearch(textbook_build, train, None, SPEC, valid=(x[150:], y[150:]), **small(trials=1))
    assert search.best_trial.state == "complete"
    with pytest.raises(NnhpError, match="--cv needs arrays"):
        hpsearch(textbook_build, train, None, SPEC, cv=2, **small())


def test_fit_kwargs_may_not_take_over_what_the_search_controls(data):
    x, y = data
    with pytest.raises(NnhpError, match="may not set epochs"):
        hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"epochs": 3}, **small())


def test_memory_stays_flat_over_thirty_trials(data):
    import psutil

    x, y = data
    rss = {}
    process = psutil.Process()

    def sample(event):
        if isinstance(event, TrialFinished) and event.trial in (9, 29):
            rss[event.trial] = process.memory_info().rss

    hpsearch(textbook_build, x[:64], y[:64], SPEC, listeners=[sample], **small(trials=30, epochs=1))
    growth_mb = (rss[29] - rss[9]) / 2**20
    assert growth_mb < 40, f"RSS grew {growth_mb:.1f} MB between trial 10 and trial 30"


def test_the_fit_engine_frees_every_traced_graph_it_clears(data):
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    x, y = data
    graphs = {}

    def count(event):
        if isinstance(event, TrialFinished) and event.trial in (10, 30):  # each just after a clear_session
            gc.collect()
            graphs[event.trial] = sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    hpsearch(textbook_build, x[:64], y[:64], SPEC, listeners=[count], **small(trials=31, epochs=1, engine="fit"))
    assert graphs[30] <= graphs[10], f"traced graphs kept: {graphs[10]} after trial 10, {graphs[30]} after trial 30"


def test_scores_are_finite_numbers(data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, **small(trials=2))
    assert all(isinstance(t.score, float) and math.isfinite(t.score) for t in search.trials)
