"""%lrfind: the range test, its suggestion rule, restoring the model, the magic, and the views."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import ROOT, regression_data, textbook_build
from IPython.core.error import UsageError

import nnhp_magics
from nnhp_magics.api import LRFind
from nnhp_magics.errors import NnhpError, SpecError
from nnhp_magics.lr_finder.range_test import (
    DIVERGED,
    FINISHED,
    INTERRUPTED,
    LRFindResult,
    LRFindWarning,
    learning_rates,
    suggest,
)
from nnhp_magics.magics.lrfind import split_params, split_words
from nnhp_magics.views.lrfind import LiveView

STEPS = 200


def linear_model(optimizer: str = "SGD", learning_rate: float = 1e-3):
    """One Dense unit under MSE: SGD on it diverges above 2 / lambda_max of the loss's Hessian."""
    import keras

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=getattr(keras.optimizers, optimizer)(learning_rate=learning_rate))
    return model


def seeded(build, seed: int = 0, **params):
    """BUILD's model with seeded initial weights (so two calls give twins)."""
    import keras

    keras.utils.set_random_seed(seed)
    return build(**params)


def quiet_lrfind(build, x, y, **options) -> LRFindResult:
    """Run lrfind quietly, ignoring warnings about the suggestion."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LRFindWarning)
        return nnhp_magics.lrfind(build, x, y, quiet=True, **options)


def state_of(model) -> list[np.ndarray]:
    """Every weight and optimizer variable, copied."""
    return [np.array(w, copy=True) for w in model.get_weights()] + [
        np.array(v.numpy(), copy=True) for v in model.optimizer.variables
    ]


def synthetic_result(suggestion: float | None = 1e-2) -> LRFindResult:
    """A U-shaped curve over 1e-5..10, as a finished result (no Keras)."""
    rates = learning_rates(1e-5, 10.0, 100)
    smoothed = [1.0 + 0.5 * math.tanh(-(math.log10(r) + 2)) + max(0.0, math.log10(r) + 0.5) ** 2 for r in rates]
    result = LRFind(1e-5, 10.0, 100, 4.0, lrs=rates, losses=[s * 1.05 for s in smoothed], smoothed=smoothed)
    result.suggestion, result.steepest, result.minimum = suggestion, 1e-2, 0.3
    return result


# --- the ramp and the suggestion rule (pure) ---


def test_learning_rates_grow_by_the_textbook_factor():
    rates = learning_rates(1e-5, 10.0, 500)
    factor = math.exp(math.log(10**6) / 500)
    assert len(rates) == 500 and rates[0] == 1e-5
    assert all(math.isclose(b / a, factor, rel_tol=1e-9) for a, b in zip(rates, rates[1:]))
    assert math.isclose(rates[-1] * factor, 10.0, rel_tol=1e-9)


def test_suggestion_is_the_smoothed_minimum_over_ten_and_steepest_is_on_the_descent():
    rates = learning_rates(1e-4, 1.0, 200)
    curve = [1 / (1 + math.exp(3 * (math.log10(r) + 2))) + max(0.0, math.log10(r) + 1) ** 2 for r in rates]
    reading = suggest(rates, curve)
    lowest = rates[int(np.argmin(curve))]
    assert reading.minimum == lowest and reading.suggestion == pytest.approx(lowest / 10)
    assert 5e-3 < reading.steepest < 2e-2
    assert reading.problem is None


@pytest.mark.parametrize(
    ("curve", "why"),
    [
        (lambda i: 2.0 + 0.01 * math.sin(i), "hardly changed"),
        (lambda i: 1.0 + 0.01 * i, "did not fall after the first steps"),
    ],
    ids=["flat", "always-rising"],
)
def test_flat_or_rising_curve_gives_no_suggestion(curve, why):
    rates = learning_rates(1e-5, 10.0, 100)
    reading = suggest(rates, [curve(i) for i in range(100)])
    assert reading.suggestion is None and reading.steepest is None
    assert why in reading.problem


def test_spec_using_a_none_suggestion_points_back_at_lrfind():
    from nnhp_magics.core.spec import parse_spec

    lr = synthetic_result(suggestion=None)
    lines = ("learning_rate = loguniform({lr.suggestion / 10}, {lr.suggestion * 3})", "learning_rate = {lr.suggestion}")
    for line in lines:
        with pytest.raises(SpecError, match="%lrfind"):
            parse_spec(line, {"lr": lr})


# --- bad input: clear errors before any training ---


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": 5}, "--steps must be a whole number of at least 10"),
        ({"start": 1.0, "end": 1.0}, "must be below --end"),
        ({"start": 0.0}, "--start must be a learning rate above 0"),
        ({"diverge": 1.0}, "--diverge must be above 1"),
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"n_nerons": 4}, "did you mean 'n_neurons'"),
        ({"epochs": 3}, "fit() setting"),
    ],
)
def test_bad_input_is_an_nnhp_error(options, message):
    x, y = regression_data(40)
    with pytest.raises(NnhpError) as caught:
        nnhp_magics.lrfind(textbook_build, x, y, **options)
    assert message in str(caught.value)


def test_importing_and_loading_the_extension_import_no_tensorflow():
    code = (
        "import sys, nnhp_magics\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'nnhp_magics')\n"
        "assert 'lrfind' in shell.magics_manager.magics['line']\n"
        "import nnhp_magics.lr_finder.range_test, nnhp_magics.magics.lrfind\n"
        "assert callable(nnhp_magics.lrfind) and nnhp_magics.lrfind.__name__ == 'lrfind'\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# --- the range test on Keras models ---


@pytest.mark.slow
def test_suggestion_lies_in_the_stable_band_and_the_run_stops_at_divergence(keras_ready):
    x, y = regression_data(256)
    augmented = np.hstack([x, np.ones((len(x), 1), "float32")])
    lr_max = 2 / np.linalg.eigvalsh(2 / len(x) * augmented.T @ augmented).max()
    result = quiet_lrfind(lambda: seeded(linear_model), x, y, steps=STEPS)
    assert result.stopped == DIVERGED and len(result.lrs) < STEPS
    assert result.lrs[-1] > lr_max
    assert result.lrs == learning_rates(1e-5, 10.0, STEPS)[: len(result.lrs)]
    assert lr_max / 30 < result.suggestion < lr_max / 2
    assert result.steepest < lr_max
    assert result.smoothed[-1] > 4 * min(result.smoothed[:-1])
    assert all(s <= 4 * min(result.smoothed[: i + 1]) for i, s in enumerate(result.smoothed[:-1]))


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "RMSprop"])
def test_any_optimizer_runs_and_the_model_is_restored_bit_for_bit(keras_ready, optimizer):
    x, y = regression_data(128)
    model, twin = (seeded(textbook_build_with, optimizer=optimizer) for _ in range(2))
    for m in (model, twin):
        m.train_on_batch(x[:32], y[:32])
    before = state_of(model)
    result = quiet_lrfind(model, x, y, steps=100, end=100.0)
    assert result.stopped == DIVERGED and result.suggestion is not None
    after = state_of(model)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    for m in (model, twin):
        m.train_on_batch(x[32:64], y[32:64])
    assert all(np.array_equal(a, b) for a, b in zip(state_of(model), state_of(twin), strict=True))


def textbook_build_with(optimizer: str = "SGD", learning_rate: float = 1e-3):
    """The textbook MLP (8 relu units) compiled with the named optimizer."""
    import keras

    model = textbook_build()
    model.compile(loss="mse", optimizer=getattr(keras.optimizers, optimizer)(learning_rate=learning_rate))
    return model


@pytest.mark.slow
def test_a_schedule_gets_a_constant_rate_for_the_test_and_comes_back(keras_ready):
    import keras

    def scheduled():
        schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1, decay_rate=0.5)
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=schedule))
        return model

    x, y = regression_data(128)
    model, twin = seeded(scheduled), seeded(scheduled)
    for m in (model, twin):
        m.train_on_batch(x[:32], y[:32])
    result = quiet_lrfind(model, x, y, steps=100)
    assert result.stopped == DIVERGED
    assert float(model.optimizer.learning_rate) == float(twin.optimizer.learning_rate) == pytest.approx(5e-3)
    for m in (model, twin):
        m.train_on_batch(x[32:64], y[32:64])
    assert all(np.array_equal(a, b) for a, b in zip(state_of(model), state_of(twin), strict=True))


@pytest.mark.slow
def test_build_gets_the_parameters_and_its_defaults_and_a_dataset_works(keras_ready):
    import tensorflow as tf

    seen = []

    def build(n_hidden=1, n_neurons=8, learning_rate=3e-3):
        seen.append((n_hidden, n_neurons, learning_rate))
        return textbook_build(n_hidden=n_hidden, n_neurons=n_neurons, learning_rate=learning_rate)

    x, y = regression_data(96)
    quiet_lrfind(build, x, y, n_hidden=2, n_neurons=4, steps=20)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    result = quiet_lrfind(build, dataset, None, steps=20, end=1e-2)
    assert seen == [(2, 4, 3e-3), (1, 8, 3e-3)]
    assert len(result.lrs) == 20
    with pytest.raises(NnhpError, match="--batch-size 64 cannot apply to X, a tf.data.Dataset: it is batched already"):
        quiet_lrfind(build, dataset, None, steps=20, batch_size=64)


@pytest.mark.slow
def test_compiled_model_with_parameters_or_uncompiled_model_is_an_error(keras_ready):
    import keras

    x, y = regression_data(40)
    with pytest.raises(NnhpError, match="already a compiled model"):
        nnhp_magics.lrfind(textbook_build(), x, y, n_neurons=4)
    bare = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    with pytest.raises(NnhpError, match="not compiled"):
        nnhp_magics.lrfind(bare, x, y)


@pytest.mark.slow
def test_interrupting_keeps_the_curve_so_far_and_restores_the_model(keras_ready, monkeypatch):
    x, y = regression_data(64)
    model = seeded(linear_model)
    before = state_of(model)
    train = model.train_on_batch
    calls = []

    def interrupted_at_15(*args, **kwargs):
        calls.append(1)
        if len(calls) > 15:
            raise KeyboardInterrupt
        return train(*args, **kwargs)

    monkeypatch.setattr(model, "train_on_batch", interrupted_at_15)
    result = quiet_lrfind(model, x, y, steps=50)
    assert result.stopped == INTERRUPTED and len(result.lrs) == 15
    assert all(np.array_equal(a, b) for a, b in zip(before, state_of(model), strict=True))


# --- the magic ---


@pytest.fixture
def ns(ip, keras_ready):
    x, y = regression_data(96)
    seen = []

    def build(n_hidden=1, n_neurons=8, learning_rate=3e-3):
        seen.append((n_hidden, n_neurons))
        return textbook_build(n_hidden=n_hidden, n_neurons=n_neurons, learning_rate=learning_rate)

    ip.user_ns.update(build=build, X=x, y=y, width=6, seen=seen, compiled=textbook_build())
    yield ip.user_ns
    ip.user_ns.pop("lr", None)


def test_magic_words_keep_brackets_and_quotes_together():
    words = split_words('build X[y > 0] y sizes=(64, 32) act="relu me" --steps 30')
    rest, params = split_params(words)
    assert rest == ["build", "X[y > 0]", "y", "--steps", "30"]
    assert params == {"sizes": "(64, 32)", "act": '"relu me"'}


@pytest.mark.slow
def test_magic_stores_the_result_and_prints_one_line(ip, ns, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LRFindWarning)
        returned = ip.run_line_magic("lrfind", "build X y n_hidden=2 n_neurons=width --steps 30 --batch-size 16 -o lr")
    assert returned is None and isinstance(ns["lr"], LRFindResult)
    assert ns["seen"][-1] == (2, 6)
    assert len(ns["lr"].lrs) <= 30 and ns["lr"].lrs[0] == 1e-5
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("lrfind: ")
    assert ns["lr"].widget is None and ns["lr"].chosen == ns["lr"].suggestion
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LRFindWarning)
        assert isinstance(ip.run_line_magic("lrfind", "compiled X y --steps 10 --quiet"), LRFindResult)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("build X y --steps 5", "at least 10"),
        ("build X y --start 1 --end 0.1", "must be below --end"),
        ("build X y n_nerons=4", "did you mean 'n_neurons'"),
        ("compiled X y n_neurons=4", "already a compiled model"),
        ("build X y steps=300", "write --steps"),
        ("build X y n_neurons=undefined_name", "not defined in the notebook"),
        ("biuld X y", "Did you mean 'build'"),
    ],
)
def test_magic_errors_are_exactly_usage_errors(ip, ns, line, message):
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("lrfind", line)
    assert type(caught.value) is UsageError and message in str(caught.value)


# --- views ---


def test_result_views_summary_html_and_plot():
    from IPython.lib.pretty import pretty

    result = synthetic_result()
    assert "\n" not in repr(result) and repr(result).startswith("<LRFindResult suggestion 1.0e-02")
    assert pretty(result) == repr(result)
    assert "no suggestion" in repr(synthetic_result(suggestion=None))
    html = result._repr_html_()
    assert "data:image/png;base64," in html and "suggestion 1.0e-02" in html
    axes = result.plot().axes[0]
    assert axes.get_xscale() == "log"
    labels = axes.get_legend_handles_labels()[1]
    assert "suggestion 1.0e-02" in labels and "steepest 1.0e-02" in labels, "as the chart's literal writes it"


class FakeHandle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj)


def test_live_view_draws_at_most_twice_a_second_and_slow_drawings_wait_longer():
    now = [0.0]

    def counting_view(draw_seconds: float) -> tuple[LiveView, list[float]]:
        drawn = []

        def draw(result):
            drawn.append(now[0])
            now[0] += draw_seconds

        view = LiveView(FakeHandle(), clock=lambda: now[0])
        view.draw = draw
        return view, drawn

    result = synthetic_result()
    for draw_seconds, expected in ((0.0, 10), (0.2, 6)):
        view, drawn = counting_view(draw_seconds)
        began = now[0]
        for _ in range(40 if draw_seconds == 0 else 100):
            now[0] += 0.125
            view.tick(result)
        assert len(drawn) == expected
        assert all(b - a >= 0.5 for a, b in zip(drawn, drawn[1:]))
        assert draw_seconds * len(drawn) <= 0.1 * (now[0] - began) + draw_seconds


@pytest.mark.slow
def test_without_anywidget_the_curve_draws_live_as_images_and_ends_with_the_result(keras_ready, monkeypatch, capsys):
    now = [0.0]

    def tick():
        now[0] += 0.2
        return now[0]

    handle = FakeHandle()
    monkeypatch.setattr("nnhp_magics.views.choose.in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "nnhp_magics.views.lrfind_widget", None)
    monkeypatch.setattr(LiveView, "open", classmethod(lambda cls: cls(handle, clock=tick)))
    x, y = regression_data(64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LRFindWarning)
        result = nnhp_magics.lrfind(textbook_build, x, y, steps=30, end=1e-2)
    assert 2 <= len(handle.updates) - 1 <= 10
    assert all("data:image/png;base64," in update.data for update in handle.updates[:-1])
    assert handle.updates[-1] is result
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_no_suggestion_warns(keras_ready):
    x, y = regression_data(64)
    with pytest.warns(LRFindWarning, match="did not fall after the first steps"):
        result = nnhp_magics.lrfind(
            lambda: seeded(linear_model), x, y, start=1.0, end=3.0, steps=20, diverge=1e30, quiet=True
        )
    assert result.suggestion is None and result.stopped in (DIVERGED, FINISHED)


def failing_rate_setter(after: int):
    """A rate setter that raises at step ``after``, as a model that breaks mid-run would."""

    def setter_for(variable):
        calls = [0]

        def set_rate(rate):
            calls[0] += 1
            if calls[0] > after:
                raise RuntimeError("the model broke")
            variable.assign(rate)

        return set_rate

    return setter_for


@pytest.mark.slow
def test_a_run_that_raises_marks_the_chart_and_the_image_view_failed(keras_ready, monkeypatch):
    from nnhp_magics.views.lrfind_widget import LRFindWidget, WidgetView

    core = importlib.import_module("nnhp_magics.lr_finder.range_test")
    monkeypatch.setattr("nnhp_magics.views.choose.in_notebook", lambda: True)
    monkeypatch.setattr(core, "rate_setter", failing_rate_setter(after=5))
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kwargs: None)
    widget, handle = LRFindWidget(), FakeHandle()
    monkeypatch.setattr(WidgetView, "open", classmethod(lambda cls: cls(widget)))
    x, y = regression_data(64)
    with pytest.raises(RuntimeError, match="the model broke"):
        nnhp_magics.lrfind(lambda: seeded(linear_model), x, y, steps=20)
    assert widget.status == "failed"
    assert widget.summary == "failed after 5 of 20 steps: RuntimeError: the model broke"
    assert len(widget.lrs) == 5

    monkeypatch.setitem(sys.modules, "nnhp_magics.views.lrfind_widget", None)
    monkeypatch.setattr(LiveView, "open", classmethod(lambda cls: cls(handle)))
    with pytest.raises(RuntimeError, match="the model broke"):
        nnhp_magics.lrfind(lambda: seeded(linear_model), x, y, steps=20)
    assert "failed after 5 of 20 steps: RuntimeError: the model broke" in handle.updates[-1].data


# --- picking a rate: the chart widget and lr.chosen ---


class StaticHandle:
    """What ``display(..., display_id=True)`` returns: each update replaces the last thing shown."""

    def __init__(self, shown: list) -> None:
        self.shown = shown

    def update(self, obj: object, raw: bool = False) -> None:
        self.shown[-1] = obj


def shown_chart(result: LRFindResult, monkeypatch) -> tuple[object, list]:
    """The chart a notebook run leaves: fed the curve, then closed on the result; what it displays is recorded."""
    from nnhp_magics.views.lrfind_widget import LRFindWidget, WidgetView

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kwargs: shown.append(obj) or StaticHandle(shown))
    view = WidgetView(LRFindWidget())
    view.draw(result)
    view.close(result)
    return view.handle, shown


@pytest.mark.slow
def test_in_a_notebook_the_chart_gets_the_curve_live_and_the_reading_at_the_end(keras_ready, monkeypatch):
    from nnhp_magics.lr_finder.range_test import y_limits
    from nnhp_magics.views.lrfind_widget import LRFindWidget, WidgetView

    now = [0.0]

    def tick():
        now[0] += 0.2
        return now[0]

    widget, sent, shown = LRFindWidget(), [], []
    monkeypatch.setattr("nnhp_magics.views.choose.in_notebook", lambda: True)
    monkeypatch.setattr(WidgetView, "open", classmethod(lambda cls: cls(widget, clock=tick)))
    monkeypatch.setattr("IPython.display.display", lambda obj, **kwargs: shown.append(obj) or StaticHandle(shown))
    widget.observe(lambda change: sent.append(len(change["new"])), names="lrs")
    x, y = regression_data(256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LRFindWarning)
        result = nnhp_magics.lrfind(lambda: seeded(linear_model), x, y, steps=STEPS)
    assert result.stopped == DIVERGED and result.suggestion is not None
    assert len(sent) >= 3 and sent == sorted(sent) and sent[0] < sent[-1] == len(result.lrs), "partial curves, then all"
    assert widget.lrs == result.lrs
    assert widget.smoothed == [v if math.isfinite(v) else None for v in result.smoothed]
    assert widget.losses == [v if math.isfinite(v) else None for v in result.losses]
    assert widget.y_range == list(y_limits(result.losses, result.smoothed, result.diverge))
    assert (widget.status, widget.summary) == (DIVERGED, result.summary())
    assert (widget.suggestion, widget.steepest) == (result.suggestion, result.steepest)
    assert (widget.low, widget.high) == (min(result.lrs[0], result.suggestion), result.lrs[-1])
    assert result.widget is widget and widget.chosen == result.chosen == result.suggestion
    (static,) = shown
    assert 'class="nnhp-lrfind"' in static["text/html"] and "data:image/png;base64," in static["text/html"]


def test_a_pick_in_the_browser_reaches_lr_chosen_clipped_to_the_tested_range(monkeypatch):
    from nnhp_magics.core.spec import parse_spec

    result = synthetic_result()
    widget, _ = shown_chart(result, monkeypatch)
    assert result.chosen == widget.chosen == result.suggestion == 1e-2
    widget.set_state({"chosen": 3.2e-3})  # what the comm does with the browser's message
    assert result.chosen == 3.2e-3
    space = parse_spec("learning_rate = loguniform({lr.chosen / 10}, {lr.chosen * 3})", {"lr": result})
    assert space.params[0].dist.low == pytest.approx(3.2e-4) and space.params[0].dist.high == pytest.approx(9.6e-3)
    widget.set_state({"chosen": 50.0})
    assert result.chosen == widget.chosen == result.lrs[-1]
    widget.set_state({"chosen": 1e-9})
    assert result.chosen == widget.chosen == result.lrs[0]


def test_setting_lr_chosen_in_python_moves_the_marker_and_is_clipped(monkeypatch):
    result = synthetic_result()
    widget, _ = shown_chart(result, monkeypatch)
    assert widget.trait_metadata("chosen", "sync")
    result.chosen = 0.05
    assert widget.chosen == result.chosen == 0.05
    result.chosen = 1e3
    assert widget.chosen == result.chosen == result.lrs[-1]
    result.chosen = None
    assert widget.chosen == result.chosen == result.suggestion
    with pytest.raises(NnhpError, match="must be a number"):
        result.chosen = "fast"
    assert widget.chosen == result.suggestion


def test_without_a_chart_lr_chosen_is_the_suggestion_and_can_still_be_set():
    result = synthetic_result()
    assert result.widget is None and result.chosen == result.suggestion == 1e-2
    result.chosen = 0.05
    assert result.chosen == 0.05
    result.chosen = 100
    assert result.chosen == result.lrs[-1]
    result.chosen = None
    assert result.chosen == result.suggestion
    empty = LRFind(1e-5, 10.0, 100, 4.0)
    assert empty.chosen is None
    with pytest.raises(NnhpError, match="ran no steps"):
        empty.chosen = 0.1


def test_a_flat_curve_starts_with_nothing_chosen_and_picking_still_works(monkeypatch):
    result = synthetic_result(suggestion=None)
    widget, _ = shown_chart(result, monkeypatch)
    assert result.chosen is None and widget.chosen is None and widget.suggestion is None
    assert (widget.low, widget.high) == (result.lrs[0], result.lrs[-1])
    widget.set_state({"chosen": 2e-3})
    assert result.chosen == 2e-3
    result.chosen = 1e-7
    assert result.chosen == widget.chosen == result.lrs[0]


def test_the_cell_keeps_one_static_plot_under_the_chart(ip, monkeypatch):
    result = synthetic_result()
    _, shown = shown_chart(result, monkeypatch)
    (static,) = shown
    assert 'class="nnhp-lrfind"' in static["text/html"] and "data:image/png;base64," in static["text/html"]
    assert result._repr_html_() is None, "the cell's value adds only its text line, not the plot again"
    assert repr(result).startswith("<LRFindResult suggestion")
    monkeypatch.setattr(ip, "execution_count", ip.execution_count + 1)
    assert "data:image/png;base64," in result._repr_html_(), "a later cell shows the plot"


def test_a_pick_redraws_the_cells_static_view_and_the_widget_has_no_plumbing_text(monkeypatch):
    result = synthetic_result()
    widget, shown = shown_chart(result, monkeypatch)
    assert "lr.chosen = 1.0e-02 (the suggestion)" in shown[-1]["text/plain"]
    widget.set_state({"chosen": 3.2e-3})  # a click on the chart
    (static,) = shown
    assert "lr.chosen = 3.2e-03 (picked)" in static["text/plain"] and "lr.chosen = 3.2e-03 (picked)" in static["text/html"]
    data, _ = widget._repr_mimebundle_()
    assert data["text/plain"] == ""


def test_the_y_range_keeps_the_whole_drop_and_caps_the_divergence():
    from nnhp_magics.lr_finder.range_test import y_limits

    losses = [10, 14, 9, 5, 3, 2.2, 2, 5, 30]
    smoothed = [10, 11, 9, 6, 4, 2.5, 2, 3, 9]
    low, high = y_limits(losses, smoothed, diverge=4)
    assert low < 2 and 14 <= high < 15, "the noisy start of the drop (14) is in view, the divergence (30) is not"


def test_the_chart_knows_the_tested_range_from_the_first_step_and_names_the_statuses():
    from nnhp_magics.lr_finder.range_test import DIVERGED
    from nnhp_magics.views.lrfind_widget import LRFindWidget

    result = synthetic_result()
    widget = LRFindWidget()
    widget.show(result)
    assert (widget.start, widget.end) == (result.start, result.end)
    assert widget.constants["diverged"] == DIVERGED
