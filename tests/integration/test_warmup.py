"""The learning-rate warm-up (``warmup_epochs`` in a spec, ``--warmup`` on %%hpsearch): a linear ramp per batch."""

from __future__ import annotations

import pytest
from helpers import regression_data, textbook_build

import nnhp_magics

pytestmark = pytest.mark.slow

BASE = 3e-3


def rate_recorder():
    """A Keras callback that records the optimizer's learning rate before every batch, one list per fit.

    A search gives each trial its own copy of the user's callbacks, so the runs are
    kept on the class, which every copy shares.
    """
    import keras

    class Recorder(keras.callbacks.Callback):
        runs: list[list[float]] = []

        def __init__(self) -> None:
            super().__init__()
            self.switch_at: int | None = None

        def on_train_begin(self, logs=None) -> None:
            self.runs.append([])

        def on_train_batch_begin(self, batch, logs=None) -> None:
            self.runs[-1].append(float(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None) -> None:
            if epoch == self.switch_at:
                self.model.optimizer.learning_rate.assign(BASE / 2)

    return Recorder()


def expected_rates(warmup_epochs: float, steps_per_epoch: int, epochs: int, base: float = BASE) -> list[float]:
    """The ramp's formula: ``base * (s + 1) / ramp_steps`` for the first ramp steps, then ``base``."""
    ramp = max(1, round(warmup_epochs * steps_per_epoch)) if warmup_epochs else 0
    total = steps_per_epoch * epochs
    return [base * (s + 1) / ramp if s < ramp else base for s in range(total)]


@pytest.mark.parametrize("warmup_epochs", [2, 1.5])
def test_each_ramp_step_gets_the_formula_rate_then_the_rate_is_left_alone(keras_ready, warmup_epochs):
    from nnhp_magics.training.trial import warm_up

    x, y = regression_data(64)
    recorder = rate_recorder()
    recorder.switch_at = 2
    model = textbook_build()
    model.fit(x, y, batch_size=16, epochs=4, verbose=0, shuffle=False, callbacks=[warm_up(warmup_epochs), recorder])
    expected = expected_rates(warmup_epochs, 4, 3) + [BASE / 2] * 4
    assert recorder.runs[0] == pytest.approx(expected, rel=1e-6)


def test_a_fit_that_ends_inside_the_ramp_gets_the_compiled_rate_back(keras_ready):
    from nnhp_magics.training.trial import warm_up

    x, y = regression_data(64)
    model = textbook_build()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[warm_up(3)])
    assert float(model.optimizer.learning_rate) == pytest.approx(BASE, rel=1e-6)


def test_search_tunes_batch_size_with_warmup_epochs(keras_ready):
    x, y = regression_data(200)
    recorder = rate_recorder()
    search = nnhp_magics.hpsearch(
        textbook_build, x, y, "batch_size = choice(32, 256, 1024)\nwarmup_epochs = choice(0, 3)",
        strategy="grid", epochs=4, patience=0, seed=0, fit_kwargs={"callbacks": [recorder]},
    )
    trials = sorted(search.trials, key=lambda t: t.number)
    assert [t.state for t in trials] == ["complete"] * 6
    assert {(t.params["batch_size"], t.params["warmup_epochs"]) for t in trials} == {
        (b, w) for b in (32, 256, 1024) for w in (0, 3)
    }
    for trial, rates in zip(trials, recorder.runs, strict=True):
        steps_per_epoch = -(-160 // min(trial.params["batch_size"], 160))
        assert rates == pytest.approx(expected_rates(trial.params["warmup_epochs"], steps_per_epoch, 4), rel=1e-6)


def test_warmup_option_of_the_magic_ramps_every_trial(ip, keras_ready):
    x, y = regression_data(200)
    recorder = rate_recorder()
    ip.user_ns.update(build=textbook_build, X=x, y=y, extra={"callbacks": [recorder]})
    ip.run_cell_magic(
        "hpsearch", "build X y --trials 2 --epochs 2 --patience 0 --seed 0 --warmup 1 --fit-kwargs extra --quiet",
        "n_neurons = choice(4, 8)",
    )
    assert len(recorder.runs) == 2
    for rates in recorder.runs:
        assert rates == pytest.approx(expected_rates(1, 5, 2), rel=1e-6)
