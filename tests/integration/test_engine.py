"""The graph engine and the packed executor: same results as fit, engine choice, fallbacks, failures alone."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TEXTBOOK_SPEC as SPEC
from helpers import fast_search, regression_data, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.core.data import Arrays, Fold, prepare
from nnhp_magics.core.events import EpochEnded
from nnhp_magics.core.results import parse_objective
from nnhp_magics.core.routing import Routed
from nnhp_magics.errors import NnhpError
from nnhp_magics.training.trial import (
    FIT_STEPS_PER_EXECUTION,
    EngineUnsupported,
    FitConfig,
    NoControl,
    TrialTask,
    engine_reason,
    fit_fold,
)

pytestmark = pytest.mark.usefixtures("keras_ready")


@pytest.fixture
def deterministic():
    """TensorFlow op determinism, on for one test only."""
    import tensorflow as tf
    from tensorflow.python.framework import config

    tf.config.experimental.enable_op_determinism()
    yield
    config.disable_op_determinism()


small = fast_search(trials=3, epochs=3, patience=2)


def layered_build(kind: str = "dense", optimizer: str = "sgd", loss: str = "mse", seed: int = 7):
    """A seeded 4-feature regression model: Dense (+ L2), Dropout or BatchNormalization, any optimizer."""
    import keras

    keras.utils.set_random_seed(seed)
    dense = keras.layers.Dense(12, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2))
    layers = [keras.Input(shape=(4,)), dense]
    if kind == "dropout":
        layers.append(keras.layers.Dropout(0.3))
    if kind == "batchnorm":
        layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    optimizers = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=0.02, momentum=0.9),
        "adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
        "loss_scale": lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=0.01)),
    }
    chosen = optimizers[optimizer]() if optimizer in optimizers else keras.optimizers.get(optimizer)
    model.compile(loss=loss, optimizer=chosen, metrics=["mae"])
    return model


def fold_of(rows: int = 203) -> Fold:
    """Training rows that leave a ragged last batch, and separate validation rows."""
    x, y = regression_data(rows + 61, seed=3)
    return Fold(Arrays(x[:rows], y[:rows]), Arrays(x[rows:], y[rows:]), Arrays(x[rows:], y[rows:]))


def train_fold(engine: str, kind: str, optimizer: str, epochs: int = 4, patience: int = 0, fold: Fold | None = None):
    """One fold through the trial runner's fit_fold with the given engine, in a fixed batch order."""
    config = FitConfig(
        objective=parse_objective("val_loss"), epochs=epochs, patience=patience, batch_size=32,
        fit_kwargs={"shuffle": False}, engine=engine,
    )
    model = layered_build(kind, optimizer)
    return fit_fold(model, fold or fold_of(), Routed(), config, NoControl(), 0, 0, 1)


@pytest.mark.parametrize(
    "kind, optimizer",
    [("dense", "sgd"), ("dense", "adam"), ("dropout", "adam"), ("batchnorm", "sgd"), ("batchnorm", "adam")],
)
def test_graph_engine_gives_fits_weights_and_history(deterministic, kind, optimizer):
    by_fit = train_fold("fit", kind, optimizer)
    by_graph = train_fold("graph", kind, optimizer)
    assert (by_fit.engine, by_graph.engine) == ("fit", "graph")
    assert by_graph.history.keys() == by_fit.history.keys() == {"loss", "mae", "val_loss", "val_mae"}
    for key, values in by_fit.history.items():
        np.testing.assert_allclose(by_graph.history[key], values, rtol=1e-6)
    for theirs, ours in zip(by_fit.model.get_weights(), by_graph.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert by_fit.model.optimizer.iterations.numpy() == by_graph.model.optimizer.iterations.numpy() == 4 * 7


def test_early_stopping_stops_at_kerass_epoch_and_restores_the_same_weights(deterministic):
    x, y = regression_data(72, seed=5)
    noisy = np.random.default_rng(0).normal(scale=3.0, size=len(y)).astype("float32")
    fold = Fold(Arrays(x[:40], noisy[:40]), Arrays(x[40:], y[40:]), Arrays(x[40:], y[40:]))
    by_fit = train_fold("fit", "dense", "adam", epochs=30, patience=2, fold=fold)
    by_graph = train_fold("graph", "dense", "adam", epochs=30, patience=2, fold=fold)
    stopped = len(by_fit.history["loss"])
    assert stopped < 30, "the data must make early stopping trigger"
    assert len(by_graph.history["loss"]) == stopped
    assert by_graph.best_index == by_fit.best_index
    for theirs, ours in zip(by_fit.model.get_weights(), by_graph.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_one_traced_program_serves_every_fold_of_a_trial(deterministic):
    from nnhp_magics.training.engine.graph import feed_for
    from nnhp_magics.training.engine.single import GraphSession

    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)
    session = GraphSession()
    first, _ = session.train(layered_build("dropout", "adam", seed=1), feed, 32, [], 2, seed=4)
    reused, reused_history = session.train(layered_build("dropout", "adam", seed=2), feed, 32, [], 2, seed=4)
    program = session.program
    fresh, fresh_history = GraphSession().train(layered_build("dropout", "adam", seed=2), feed, 32, [], 2, seed=4)
    assert session.program is program and reused is not first, "one program, and each fold gets its own model back"
    assert reused_history == fresh_history
    for a, b in zip(reused.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


def optimizer_build(learning_rate=0.05, momentum=0.0, activation="relu", seed=1):
    """A 4-feature MLP with SGD: what a learning-rate search varies, and what it must not share across."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6, activation=activation),
                              keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum), metrics=["mae"])
    return model


def test_a_later_trial_of_the_same_model_trains_in_the_earlier_trials_program(deterministic):
    from nnhp_magics.training.engine.graph import feed_for, shared_key
    from nnhp_magics.training.engine.single import GraphSession, ProgramCache

    feed = feed_for(fold_of().train, fold_of().monitor)
    programs = ProgramCache()
    first, _ = GraphSession(programs=programs).train(optimizer_build(0.05), feed, 32, [], 3, seed=4)
    kept = [w.copy() for w in first.get_weights()]
    session = GraphSession(programs=programs)
    second, history = session.train(optimizer_build(0.01, seed=2), feed, 32, [], 3, seed=4)
    fresh, fresh_history = GraphSession().train(optimizer_build(0.01, seed=2), feed, 32, [], 3, seed=4)
    assert len(programs.entries) == 1 and session.program.models[0] is first, "the first trial's program, borrowed"
    assert history == fresh_history, "the other learning rate is loaded with the weights"
    for a, b in zip(second.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first.get_weights(), kept):
        np.testing.assert_array_equal(a, b, err_msg="the later trial changed the first trial's model")
    fold = fold_of()
    scored = session.evaluate(fold.train.x, fold.train.y)
    assert scored["loss"] == pytest.approx(second.evaluate(fold.train.x, fold.train.y, verbose=0, return_dict=True)["loss"])
    for a, b in zip(first.get_weights(), kept):
        np.testing.assert_array_equal(a, b, err_msg="scoring the later trial changed the first trial's model")
    assert shared_key(optimizer_build(0.05)) == shared_key(optimizer_build(0.3, seed=5))
    assert shared_key(optimizer_build(momentum=0.9)) != shared_key(optimizer_build())
    assert shared_key(optimizer_build(activation="tanh")) != shared_key(optimizer_build())


def test_a_learning_rate_search_traces_one_program_for_all_its_trials_folds_and_its_refit(data, monkeypatch):
    import keras

    from nnhp_magics.training.engine import single, widths

    traced = []
    real = single.EpochProgram

    def counting(*args, **kwargs):
        traced.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(single, "EpochProgram", counting)
    monkeypatch.setattr(widths, "EpochProgram", counting)
    x, y = data
    search = hpsearch(textbook_build, x, y, "learning_rate = loguniform(1e-3, 1e-1)", cv=2, **small(trials=3))
    assert [t.state for t in search.trials] == ["complete"] * 3 and len(traced) == 1
    refit = search.best_model
    assert len(traced) == 1, "the refit trains in the trials' program"
    assert refit is not traced[0][0][0] and np.isfinite(refit.predict(x[:5], verbose=0)).all()
    spec = "n_neurons = choice(3, 5, 7, 9)"
    by_width = hpsearch(textbook_build, x, y, spec, strategy="grid", **small(trials=None))
    assert [t.state for t in by_width.trials] == ["complete"] * 4
    assert len(traced) == 3, "the first width traces its own program, the second the host all later widths share"
    assert by_width.best_model.layers[0].units == by_width.best_params["n_neurons"], "each trial keeps its own model"
    seen = []

    class Widths(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.layers[0].units)

    hpsearch(textbook_build, x, y, spec, strategy="grid", fit_kwargs={"callbacks": [Widths()]}, **small(trials=None))
    assert len(traced) == 7, "with the user's callbacks (which would see the host) every width traces its own"
    assert sorted(set(seen)) == [3, 5, 7, 9], "the user's callbacks see each trial's own model"


def width_build(units=(6,), optimizer="adam", activation="relu", dropout=0.0, outputs=1, seed=1):
    """A 4-feature Sequential MLP with hidden layers of ``units`` (and Dropout after each when ``dropout``)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(4,))])
    for width in units:
        model.add(keras.layers.Dense(width, activation=activation))
        if dropout:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(outputs))
    chosen = keras.optimizers.SGD(0.01, momentum=0.9) if optimizer == "sgd" else keras.optimizers.get(optimizer)
    model.compile(loss="mse", optimizer=chosen, metrics=["mae"])
    return model


@pytest.mark.parametrize("optimizer, dropout", [("sgd", 0.0), ("adam", 0.2)])
def test_mlps_of_other_widths_train_in_one_host_to_their_own_programs_weights(deterministic, optimizer, dropout):
    import keras

    from nnhp_magics.training.engine.graph import feed_for
    from nnhp_magics.training.engine.single import GraphSession, ProgramCache

    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)
    programs = ProgramCache()
    hosts = []
    for units in [(5, 3), (9, 4), (14, 2), (9, 4)]:
        def stopping():
            return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)]

        session = GraphSession(programs=programs)
        model, history = session.train(width_build(units, optimizer, dropout=dropout), feed, 32, stopping(), 6, seed=4)
        own, own_history = GraphSession().train(width_build(units, optimizer, dropout=dropout), feed, 32, stopping(),
                                                6, seed=4)
        hosts.append(session.host)
        assert [w.shape for w in model.get_weights()] == [w.shape for w in own.get_weights()]
        assert history.keys() == own_history.keys() and len(history["loss"]) == len(own_history["loss"])
        for key, values in own_history.items():
            np.testing.assert_allclose(history[key], values, rtol=1e-5)
        for ours, theirs in zip(model.get_weights(), own.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            [float(v) for v in model.optimizer.variables[0:1]], [float(v) for v in own.optimizer.variables[0:1]]
        )
        scored = session.evaluate(fold.monitor.x, fold.monitor.y)["loss"]
        assert scored == pytest.approx(own.evaluate(fold.monitor.x, fold.monitor.y, verbose=0)[0], rel=1e-5)
    assert hosts[0] is None, "the first width trains in its own program"
    assert hosts[1] is not None and hosts[2] is hosts[1], "later widths share one host"
    assert hosts[3] is hosts[1], "a width seen before, whose own program is not cached, uses the host too"


def test_width_keys_leave_out_the_hidden_units_and_nothing_else():
    import keras

    from nnhp_magics.training.engine.widths import width_key

    key = width_key(width_build((6, 3)))
    assert key is not None and key == width_key(width_build((40, 11), seed=9))
    others = [
        width_build((6,)), width_build((6, 3, 2)), width_build((6, 3), activation="tanh"),
        width_build((6, 3), dropout=0.1), width_build((6, 3), outputs=2), width_build((6, 3), optimizer="sgd"),
    ]
    assert len({key, *(width_key(m) for m in others)}) == 7, "depth, activations, rates, outputs and optimizer count"
    normalized = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6), keras.layers.BatchNormalization(),
                                   keras.layers.Dense(1)])
    inputs = keras.Input(shape=(4,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(6)(inputs)))
    factored = width_build((6, 3))
    factored.compile(loss="mse", optimizer=keras.optimizers.Adafactor())
    normalized.compile(loss="mse", optimizer="adam")
    functional.compile(loss="mse", optimizer="adam")
    assert [width_key(m) for m in (normalized, functional, factored, width_build(()))] == [None] * 4


def test_custom_layers_loss_objects_and_learning_rate_schedules_never_share_a_program():
    import keras

    from nnhp_magics.training.engine.graph import shared_key

    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

    custom = keras.Sequential([keras.Input(shape=(4,)), Scale(), keras.layers.Dense(1)])
    custom.compile(loss="mse", optimizer="sgd")
    scheduled = optimizer_build()
    scheduled.compile(loss="mse", optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)))
    huber = optimizer_build()
    huber.compile(loss=keras.losses.Huber(delta=2.0), optimizer="sgd")  # its config leaves out delta
    assert shared_key(custom) is None and shared_key(scheduled) is None and shared_key(huber) is None


def test_xla_is_chosen_from_the_trials_budget_unless_forced(deterministic):
    import keras

    from nnhp_magics.training.engine.graph import feed_for
    from nnhp_magics.training.engine.select import XLA_BREAK_EVEN_STEPS
    from nnhp_magics.training.engine.single import GraphSession

    class StopAfterOneEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)

    def chosen(jit, epochs, folds=1):
        session = GraphSession(jit, folds)
        session.train(layered_build("dense", "sgd", seed=1), feed, 2, [StopAfterOneEpoch()], epochs, seed=4)
        return session.program.jit

    steps_per_epoch = -(-feed.rows // 2)
    long_budget = -(-2 * XLA_BREAK_EVEN_STEPS // steps_per_epoch)  # epochs whose predicted steps (half, under early stopping) pay
    assert not chosen(None, 2)
    assert chosen(None, long_budget)
    assert chosen(None, -(-long_budget // 3), folds=3)
    assert not chosen(False, long_budget)
    assert chosen(True, 2)


def test_under_xla_only_full_batches_are_compiled_and_the_ragged_tail_agrees_with_the_plain_graph(deterministic):
    import tensorflow as tf

    from nnhp_magics.training.engine.graph import EpochProgram, epoch_order, feed_for, prepare_model

    fold = fold_of()  # 203 training rows, batch 32: a ragged last batch of 11 rows, and of 29 validation rows
    feed = feed_for(fold.train, fold.monitor)
    runs = []
    for jit in (False, True):
        model = layered_build("dense", "adam", seed=3)
        prepare_model(model, feed, 32)
        program = EpochProgram([model], 32, jit=jit)
        logs = [program.run([feed], [epoch_order(feed.rows, 5, epoch)], [True])[0] for epoch in range(3)]
        runs.append((model, program, logs))
    (plain, _, plain_logs), (jitted, program, jit_logs) = runs
    for a, b in zip(plain.get_weights(), jitted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert [sorted(x) for x in plain_logs] == [sorted(x) for x in jit_logs]
    assert jit_logs[-1]["val_loss"] == pytest.approx(plain_logs[-1]["val_loss"], rel=1e-4)
    concrete = program._epoch.get_concrete_function(
        [(feed.x, feed.y, feed.vx, feed.vy)], [tf.constant(epoch_order(feed.rows, 5, 0))], tf.constant([True])
    )
    calls = [op for op in concrete.graph.get_operations() if op.type in ("PartitionedCall", "StatefulPartitionedCall")]
    compiled = [op for op in calls if op.node_def.attr["_XlaMustCompile"].b]
    assert len(compiled) == 2, "one XLA program for the training batches, one for the validation batches"


def test_plain_graph_full_batches_have_a_static_size_and_the_ragged_last_batch_runs_once_after_them():
    import tensorflow as tf

    from nnhp_magics.training.engine.graph import EpochProgram, epoch_order, feed_for, prepare_model

    for rows, steps in ((203, 7), (192, 6)):
        fold = fold_of(rows)
        feed = feed_for(fold.train, fold.monitor)
        model = layered_build("dense", "sgd", seed=3)
        prepare_model(model, feed, 32)
        traced, seen_rows = [], tf.Variable(0)
        train_step = model.train_step

        def recording_step(data, train_step=train_step, traced=traced, seen_rows=seen_rows):
            traced.append(tuple(data[0].shape))
            seen_rows.assign_add(tf.shape(data[0])[0])
            return train_step(data)

        model.train_step = recording_step
        program = EpochProgram([model], 32)
        program.run([feed], [epoch_order(feed.rows, 5, 0)], [True])
        assert traced == [(32, 4), (None, 4)], "full batches traced with their size, the ragged one open"
        assert int(model.optimizer.iterations.numpy()) == steps and int(seen_rows.numpy()) == rows


class OptionsSpy:
    """Wraps a traced function and records, at each call, whether Grappler's rewrites are on for this thread."""

    def __init__(self, function, seen: list[bool]) -> None:
        self.function, self.seen = function, seen

    def __call__(self, *args):
        self.seen.append(rewrites_on())
        return self.function(*args)

    def __getattr__(self, name):
        return getattr(self.function, name)


def rewrites_on() -> bool:
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.eager import context

    serialized = context.context().function_call_options.config_proto_serialized
    return not config_pb2.ConfigProto.FromString(serialized).graph_options.rewrite_options.disable_meta_optimizer


def test_xla_epochs_and_evaluators_are_prepared_without_graph_rewrites_and_nothing_else_changes(deterministic):
    from tensorflow.python.eager import context

    from nnhp_magics.training.engine.graph import EpochProgram, epoch_order, feed_for, prepare_model

    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)
    before = context.context().function_call_options
    seen: dict[tuple[bool, str], list[bool]] = {}
    for jit in (False, True):
        model = layered_build("dense", "adam", seed=3)
        prepare_model(model, feed, 32)
        program = EpochProgram([model], 32, jit=jit)
        program._epoch = OptionsSpy(program._epoch, seen.setdefault((jit, "epoch"), []))
        program.run([feed], [epoch_order(feed.rows, 5, 0)], [True])
        program.evaluate(0, feed.vx, feed.vy)
        program._evaluators[0] = OptionsSpy(program._evaluators[0], seen.setdefault((jit, "evaluate"), []))
        program.evaluate(0, feed.vx, feed.vy)
    assert seen == {(False, "epoch"): [True], (False, "evaluate"): [False], (True, "epoch"): [False],
                    (True, "evaluate"): [False]}, "a plain epoch keeps the rewrites; XLA epochs and evaluators do not"
    assert context.context().function_call_options is before and rewrites_on()


def test_the_engines_own_shuffling_is_seeded_and_scores_match_fit_within_noise(data):
    x, y = data
    from nnhp_magics.training.engine.graph import epoch_order

    assert (epoch_order(50, 9, 3) == epoch_order(50, 9, 3)).all()
    assert (epoch_order(50, 9, 3) != epoch_order(50, 9, 4)).any()
    graph = hpsearch(textbook_build, x, y, SPEC, **small(trials=2, epochs=8))
    fit = hpsearch(textbook_build, x, y, SPEC, engine="fit", **small(trials=2, epochs=8))
    assert [t.params for t in graph.trials] == [t.params for t in fit.trials]
    for ours, theirs in zip(graph.trials, fit.trials):
        assert ours.score == pytest.approx(theirs.score, rel=0.35)


def test_auto_runs_the_textbook_mlp_in_the_graph_engine_and_says_so(data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, **small())
    assert [t.engine for t in search.trials] == ["graph"] * 3
    assert list(search.leaderboard()["engine"]) == ["graph"] * 3


@pytest.mark.parametrize("optimizer", ["adagrad", "adafactor", "ftrl", "muon", "loss_scale"])
def test_auto_trains_every_built_in_optimizer_in_the_graph_engine_as_fit_does(deterministic, optimizer):
    by_fit = train_fold("fit", "batchnorm", optimizer, epochs=2)
    by_auto = train_fold("auto", "batchnorm", optimizer, epochs=2)
    assert by_auto.engine == "graph"
    np.testing.assert_allclose(by_auto.history["val_loss"], by_fit.history["val_loss"], rtol=1e-6)
    for theirs, ours in zip(by_fit.model.get_weights(), by_auto.model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_auto_picks_the_graph_engine_for_every_built_in_optimizer_and_layer():
    config = FitConfig(objective=parse_objective("val_loss"))
    for optimizer in ("sgd", "adam", "rmsprop", "adadelta", "adamax", "nadam", "adamw", "lion", "loss_scale"):
        for kind in ("dense", "dropout", "batchnorm"):
            assert engine_reason(layered_build(kind, optimizer), fold_of(), Routed(), config) is None, (kind, optimizer)


@pytest.mark.parametrize("loss", ["huber", "mean_squared_logarithmic_error"])
def test_auto_trains_built_in_losses_in_the_graph_engine_as_fit_does(deterministic, loss):
    results = []
    for engine in ("fit", "auto"):
        config = FitConfig(
            objective=parse_objective("val_loss"), epochs=2, patience=0, fit_kwargs={"shuffle": False}, engine=engine
        )
        model = layered_build("dropout", "adam", loss)
        results.append(fit_fold(model, fold_of(), Routed(), config, NoControl(), 0, 0, 1))
    assert results[1].engine == "graph"
    np.testing.assert_allclose(results[1].history["loss"], results[0].history["loss"], rtol=1e-6)


def test_a_dropout_batchnorm_classifier_trains_in_the_graph_engine():
    import keras

    def classifier(units: int = 8, rate: float = 0.2):
        model = keras.Sequential([
            keras.Input(shape=(4,)), keras.layers.Dense(units, activation="relu"), keras.layers.BatchNormalization(),
            keras.layers.Dropout(rate), keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        return model

    x, _ = regression_data(150)
    labels = np.digitize(x[:, 0], [-0.5, 0.5])
    search = hpsearch(classifier, x, labels, "units = int(4, 16)", objective="val_accuracy", **small(trials=2))
    assert {t.engine for t in search.trials} == {"graph"}
    assert all(0.0 <= t.score <= 1.0 for t in search.trials)


class CustomStep:
    """Builds a model whose class defines its own train_step."""

    def __call__(self, units: int = 4):
        import keras

        class Stepped(keras.Sequential):
            def train_step(self, data):
                return super().train_step(data)

        model = Stepped([keras.Input(shape=(4,)), keras.layers.Dense(units), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        self.last = model
        return model


def test_models_the_engine_cannot_run_fall_back_to_fit_with_steps_per_execution(data):
    x, y = data
    build = CustomStep()
    search = hpsearch(build, x, y, "units = int(2, 8)", **small(trials=2))
    assert {t.engine for t in search.trials} == {"fit"}
    assert build.last.steps_per_execution == FIT_STEPS_PER_EXECUTION
    plain = hpsearch(build, x, y, "units = int(2, 8)", engine="fit", **small(trials=1))
    assert plain.trials[0].engine == "fit" and build.last.steps_per_execution == 1


@pytest.mark.parametrize(
    "options, reason",
    [
        (dict(fit_kwargs={"class_weight": None}), "--fit-kwargs sets class_weight"),
        (dict(warmup_epochs=1), "warm-up"),
    ],
)
def test_fit_arguments_the_engine_does_not_honour_mean_fit(options, reason):
    config = FitConfig(objective=parse_objective("val_loss"), **options)
    assert reason in engine_reason(layered_build(), fold_of(), Routed(), config)


def test_multi_output_models_run_in_the_graph_engine_and_tf_data_falls_back():
    import keras
    import tensorflow as tf

    inputs = keras.Input(shape=(4,))
    two = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
    two.compile(loss="mse", optimizer="sgd")
    config = FitConfig(objective=parse_objective("val_loss"))
    assert engine_reason(two, fold_of(), Routed(), config) is None
    x, y = regression_data(20)
    dataset = Fold(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), None)
    assert engine_reason(layered_build(), dataset, Routed(), config) == "the data is a tf.data.Dataset"


def test_forcing_the_graph_engine_on_a_model_it_cannot_run_is_a_clear_error(data):
    x, y = data
    with pytest.raises(EngineUnsupported, match="defines its own train_step"):
        hpsearch(CustomStep(), x, y, "units = int(2, 8)", engine="graph", **small(trials=1))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"engine": "gpu"}, "--engine must be one of"),
        ({"pack": 0}, "--pack must be at least 1"),
        ({"engine": "fit", "pack": 2}, "needs --engine auto or graph"),
    ],
)
def test_engine_options_are_checked_before_training(data, options, message):
    x, y = data
    with pytest.raises(NnhpError, match=message):
        hpsearch(textbook_build, x, y, SPEC, **small(), **options)


def test_packed_and_single_give_the_same_per_trial_histories_under_cv(data):
    x, y = data
    single = hpsearch(textbook_build, x, y, SPEC, cv=2, **small(trials=3, epochs=4))
    packed = hpsearch(textbook_build, x, y, SPEC, cv=2, pack=2, **small(trials=3, epochs=4))
    assert [t.engine for t in packed.trials] == ["packed"] * 3
    assert [t.params for t in single.trials] == [t.params for t in packed.trials]
    for one, many in zip(single.trials, packed.trials):
        assert one.fold_histories == many.fold_histories
        assert one.score == many.score and one.best_epochs == many.best_epochs


def test_packed_events_cover_every_epoch_of_every_fold_in_order(data):
    x, y = data
    events = []
    hpsearch(textbook_build, x, y, SPEC, cv=2, pack=2, listeners=[events.append], **small(trials=2, patience=0))
    for trial in range(2):
        seen = [(e.fold, e.epoch) for e in events if isinstance(e, EpochEnded) and e.trial == trial]
        assert seen == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)], "a trial's folds train side by side"


def test_a_fold_that_fails_ends_its_trial_and_stops_the_folds_training_beside_it(data, tmp_path):
    import keras

    class FailsInTheSecondFold(keras.callbacks.CSVLogger):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.filename.endswith("trial-0-fold-1.csv") and epoch == 1:
                raise RuntimeError("fold 1 broke")

    x, y = data
    events = []
    logger = FailsInTheSecondFold(str(tmp_path / "trial-{trial}-fold-{fold}.csv"))
    search = hpsearch(textbook_build, x, y, SPEC, cv=2, pack=2, listeners=[events.append],
                      fit_kwargs={"callbacks": [logger]}, **small(trials=2, patience=0, epochs=6))
    failed, complete = search.trials
    assert failed.state == "failed" and "fold 1 broke" in failed.error
    assert complete.state == "complete" and len(complete.fold_histories) == 2
    assert max(e.epoch for e in events if isinstance(e, EpochEnded) and e.trial == 0) == 1, "fold 0 stopped with it"


class Failing:
    """Builds the textbook model, but raises for one width and explodes for a huge learning rate."""

    def __call__(self, n_neurons: int = 4, learning_rate: float = 1e-2):
        if n_neurons == 3:
            raise ValueError("no three-neuron layers")
        return textbook_build(n_hidden=1, n_neurons=n_neurons, learning_rate=learning_rate)


def test_a_trial_that_fails_to_build_or_goes_nan_fails_alone_in_a_pack(data):
    x, y = data
    spec = "n_neurons = choice(3, 4, 5)\nlearning_rate = choice(1e-2, 1e12)"
    search = hpsearch(Failing(), x, y, spec, strategy="grid", pack=3, **small(trials=None, epochs=3))
    for t in search.trials:
        if t.params["n_neurons"] == 3:
            assert t.state == "failed" and "no three-neuron layers" in t.error
        elif t.params["learning_rate"] > 1:
            assert t.state == "failed" and t.error == "the loss became NaN at epoch 1"
        else:
            assert t.state == "complete" and t.engine == "packed"


class PruneOne:
    """A control that prunes trial 1 after its second epoch and records every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, int, int]] = []

    def epoch_end(self, trial, fold, folds, epoch, logs):
        self.reports.append((trial, fold, epoch))
        return "prune" if (trial, epoch) == (1, 1) else None


def test_a_pruned_member_leaves_the_pack_and_the_others_go_on(data):
    from nnhp_magics.training.engine.packed import PackedExecutor

    x, y = data
    training = prepare(x, y, seed=0)
    config = FitConfig(objective=parse_objective("val_loss"), epochs=4, patience=0, seed=0)
    tasks = [TrialTask(n, {"n_neurons": 4 + n}) for n in range(3)]
    control = PruneOne()
    outcomes = list(PackedExecutor(3).run(iter(tasks), textbook_build, training, config, control))
    states = {o.record.number: (o.record.state, o.record.epochs) for o in outcomes}
    assert states == {0: ("complete", 4), 1: ("pruned", 2), 2: ("complete", 4)}
    assert [epoch for trial, _, epoch in control.reports if trial == 1] == [0, 1]


def test_the_packed_executor_stops_pulling_trials_after_stop(data):
    from nnhp_magics.training.engine.packed import PackedExecutor

    class StopAll:
        def epoch_end(self, trial, fold, folds, epoch, logs):
            return "stop"

    x, y = data
    pulled = []

    def stream():
        for n in range(10):
            pulled.append(n)
            yield TrialTask(n, {})

    config = FitConfig(objective=parse_objective("val_loss"), epochs=3, seed=0)
    outcomes = list(PackedExecutor(2).run(stream(), textbook_build, prepare(x, y, seed=0), config, StopAll()))
    assert [o.record.state for o in outcomes] == ["interrupted", "interrupted"]
    assert pulled == [0, 1]


def test_xla_packs_run_and_agree_with_the_plain_graph(data):
    x, y = data
    plain = hpsearch(textbook_build, x, y, SPEC, **small(trials=2))
    jitted = hpsearch(textbook_build, x, y, SPEC, jit=True, pack=2, **small(trials=2))
    for a, b in zip(plain.trials, jitted.trials):
        assert b.score == pytest.approx(a.score, rel=1e-3)


def test_the_magic_takes_engine_pack_and_jit(ip, data):
    x, y = data
    ip.user_ns.update(build=textbook_build, X=x, Y=y)
    ip.run_cell_magic(
        "hpsearch", "build X Y --trials 2 --epochs 2 --seed 1 --engine graph --pack 2 --quiet -o found",
        "n_neurons = int(2, 8)",
    )
    assert {t.engine for t in ip.user_ns["found"].trials} == {"packed"}


def test_converted_data_lives_only_as_long_as_its_arrays():
    import gc

    from nnhp_magics.training.engine import graph

    rows = np.ones((5, 2), dtype="float64")
    tensor = graph.as_tensor(rows)
    assert graph.as_tensor(rows) is tensor and tensor.dtype.name == "float32"
    before = len(graph._TENSORS)
    del rows
    gc.collect()
    assert len(graph._TENSORS) == before - 1


def fragile_build(fragile: bool = False):
    """The textbook model, with a layer that cannot be traced for an unknown number of rows when ``fragile``."""
    import keras

    class Fragile(keras.layers.Layer):
        def call(self, x):
            if x.shape[0] is None:
                raise ValueError("needs a known batch size")
            return x

    model = textbook_build()
    if fragile:
        model = keras.Sequential([keras.Input(shape=(4,)), Fragile(), *model.layers])
        model.compile(loss="mse", optimizer="sgd")
    return model


def test_a_member_whose_graph_fails_to_trace_fails_alone_and_the_pack_goes_on(data):
    x, y = data
    search = hpsearch(fragile_build, x, y, "fragile = choice(False, True)", strategy="grid", pack=2,
                      **small(trials=None, epochs=2))
    states = {t.params["fragile"]: (t.state, t.engine, t.error) for t in search.trials}
    assert states[False] == ("complete", "packed", None)
    assert states[True][0] == "failed" and "Fragile" in states[True][2]


def batch_centred_build():
    """A model whose held-out loss depends on how rows are batched: its layer centres each batch."""
    import keras

    class BatchCentred(keras.layers.Layer):
        def call(self, inputs):
            return inputs - keras.ops.mean(inputs, axis=0, keepdims=True)

    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6), BatchCentred(), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.01), metrics=["mae"])
    return model


def summed_loss_build():
    """A model with a loss summed per batch, whose mean over batches depends on the batch size."""
    import keras

    model = layered_build("dense", "sgd")
    model.compile(loss=keras.losses.MeanSquaredError(reduction="sum"), optimizer=keras.optimizers.SGD(1e-4),
                  metrics=["mae"])
    return model


@pytest.mark.parametrize(
    "build, large", [(lambda: layered_build("batchnorm", "adam"), True), (batch_centred_build, False),
                     (summed_loss_build, False)],
    ids=["built-ins", "custom layer", "summed loss"],
)
def test_held_out_rows_go_in_large_batches_only_where_that_logs_what_fit_logs(build, large):
    from nnhp_magics.training.engine.graph import (
        ROW_WISE_BATCH_SIZE,
        EpochProgram,
        epoch_order,
        feed_for,
        prepare_model,
        row_wise,
    )

    x, y = regression_data(2400, seed=4)
    fold = Fold(Arrays(x[:300], y[:300]), Arrays(x[300:], y[300:]), Arrays(x[300:], y[300:]))
    feed = feed_for(fold.train, fold.monitor)
    model = build()
    prepare_model(model, feed, 32)
    program = EpochProgram([model], 32)
    assert row_wise(model) is large
    assert (program.validation_batch_size, program.evaluate_batch_size) == (
        (ROW_WISE_BATCH_SIZE, ROW_WISE_BATCH_SIZE) if large else (32, 32)
    )
    logs = program.run([feed], [epoch_order(feed.rows, 1, 0)], [True])[0]
    expected = model.evaluate(x[300:], y[300:], batch_size=32, verbose=0, return_dict=True)
    assert {k[4:]: v for k, v in logs.items() if k.startswith("val_")} == pytest.approx(expected, rel=1e-5)
    assert program.evaluate(0, feed.vx, feed.vy) == pytest.approx(expected, rel=1e-5)


class ExecutorSpy:
    """Wraps a traced function and records the executor TensorFlow is asked to run each call in."""

    def __init__(self, function, seen: list[str]) -> None:
        self.function, self.seen = function, seen

    def __call__(self, *args):
        from tensorflow.python.eager import context

        self.seen.append(context.context().function_call_options.executor_type or "default")
        return self.function(*args)

    def __getattr__(self, name):
        return getattr(self.function, name)


def test_plain_epochs_run_single_threaded_with_one_inter_op_thread_to_the_same_bits():
    import tensorflow as tf
    from tensorflow.python.eager import context

    from nnhp_magics.training.engine.graph import (
        SINGLE_THREADED_EXECUTOR,
        EpochProgram,
        epoch_order,
        feed_for,
        prepare_model,
    )

    assert tf.config.threading.get_inter_op_parallelism_threads() == 1, "the tests pin TensorFlow to one thread"
    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)
    before = context.context().function_call_options
    weights, seen = {}, {}
    for executor in (SINGLE_THREADED_EXECUTOR, None):
        model = layered_build("dropout", "adam", seed=5)
        prepare_model(model, feed, 32)
        program = EpochProgram([model], 32)
        assert program.executor == SINGLE_THREADED_EXECUTOR
        program.executor = executor
        program._epoch = ExecutorSpy(program._epoch, seen.setdefault(executor, []))
        for epoch in range(3):
            program.run([feed], [epoch_order(feed.rows, 5, epoch)], [True])
        weights[executor] = model.get_weights()
    assert seen == {SINGLE_THREADED_EXECUTOR: [SINGLE_THREADED_EXECUTOR] * 3, None: ["default"] * 3}
    for ours, theirs in zip(weights[SINGLE_THREADED_EXECUTOR], weights[None]):
        np.testing.assert_array_equal(ours, theirs)
    assert context.context().function_call_options is before
    model = layered_build("dense", "sgd")
    prepare_model(model, feed, 32)
    assert EpochProgram([model], 32, jit=True).executor is None, "XLA runs its compiled loop itself"


@pytest.mark.parametrize("members", [("loss_scale",), ("sgd", "adam")], ids=["loss-scale cond", "pack"])
def test_an_epoch_that_calls_functions_in_its_loop_runs_in_the_default_executor(members):
    from nnhp_magics.training.engine.graph import EpochProgram, epoch_order, feed_for, prepare_model

    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)
    models = [layered_build("dense", optimizer) for optimizer in members]
    for model in models:
        prepare_model(model, feed, 32)
    program = EpochProgram(models, 32)
    logs = program.run([feed] * len(models), [epoch_order(feed.rows, 5, 0)] * len(models), [True] * len(models))
    assert program.executor is None, "a cond's branches would wait forever for the one inter-op thread"
    assert all(np.isfinite(log["loss"]) for log in logs)


def test_an_epoch_the_single_threaded_executor_refuses_is_traced_again_for_the_default_one():
    import tensorflow as tf

    from nnhp_magics.training.engine.graph import EpochProgram, epoch_order, feed_for, prepare_model

    fold = fold_of()
    feed = feed_for(fold.train, fold.monitor)
    model = layered_build("dense", "sgd")
    prepare_model(model, feed, 32)
    program = EpochProgram([model], 32)

    class Refusing:
        calls = 0

        def experimental_get_tracing_count(self):
            return 1

        def __call__(self, *args):
            Refusing.calls += 1
            raise tf.errors.FailedPreconditionError(None, None, "Single-threaded executor does not support low "
                                                    "level control flow, but saw control flow node while/enter")

    program._epoch = Refusing()
    logs = program.run([feed], [epoch_order(feed.rows, 5, 0)], [True])[0]
    assert Refusing.calls == 1 and program.executor is None and np.isfinite(logs["loss"])
    assert program._epoch.experimental_get_tracing_count() == 1, "a traced function of its own"
