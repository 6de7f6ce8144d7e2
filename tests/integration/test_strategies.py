"""Each strategy on tiny problems: budget, seeds, pruning, CV, conditions, and beating random."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.errors import SpecError

pytestmark = pytest.mark.usefixtures("keras_ready")

CONDITIONAL = """
n_hidden = choice(0, 1, 2)
n_neurons = int(2, 12) if n_hidden > 0
learning_rate = loguniform(1e-3, 3e-2)
"""


def synthetic_build(x1: float = 0.0, x2: float = 0.0):
    """A model whose val_loss is exactly (x1 - 0.7)^2 + (x2 + 0.2)^2: a known optimum at (0.7, -0.2)."""
    import keras

    target = (x1 - 0.7) ** 2 + (x2 + 0.2) ** 2
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant(float(np.sqrt(target))), trainable=False)])
    model.compile(loss="mse", optimizer="sgd")
    return model


ZEROS = (np.zeros((16, 1), "float32"), np.zeros(16, "float32"))


@pytest.mark.parametrize("strategy", ["random", "bayes", "evolution", "hyperband"])
def test_each_strategy_respects_trials_and_seed(strategy, data):
    x, y = data
    options = dict(strategy=strategy, trials=4, epochs=2, patience=0, seed=7, namespace={})
    first = hpsearch(textbook_build, x[:80], y[:80], CONDITIONAL, **options)
    second = hpsearch(textbook_build, x[:80], y[:80], CONDITIONAL, **options)
    assert len(first.finished_trials()) == 4
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    for t in first.trials:
        assert ("n_neurons" in t.params) == (t.params["n_hidden"] > 0)


def test_hyperband_prunes_a_clearly_bad_region(data):
    x, y = data
    spec = "learning_rate = choice(1e-7, 1e-6, 2e-2, 3e-2)"
    search = hpsearch(textbook_build, x, y, spec, strategy="hyperband", trials=12, epochs=9, patience=0, seed=0,
                      namespace={})
    pruned = [t for t in search.trials if t.state == "pruned"]
    bad = [t for t in search.trials if t.params["learning_rate"] < 1e-5]
    assert pruned and all(t.epochs < 9 for t in pruned)
    assert sum(t.state == "pruned" for t in bad) >= len(bad) / 2, [(t.params, t.state) for t in search.trials]
    assert search.best_params["learning_rate"] > 1e-3
    assert {r["state"] for r in search.leaderboard_rows()} >= {"complete", "pruned"}


def test_hyperband_with_the_same_seed_prunes_the_same_trials(data):
    """Optuna's Hyperband picks each trial's bracket from the study's name: a random name made this vary."""
    x, y = data
    spec = "learning_rate = choice(1e-7, 1e-6, 2e-2, 3e-2)\nn_neurons = int(2, 12)"
    runs = [hpsearch(textbook_build, x, y, spec, strategy="hyperband", trials=10, epochs=9, patience=0, seed=0,
                     namespace={}) for _ in range(2)]
    first, second = ([(t.params, t.state, t.epochs) for t in run.trials] for run in runs)
    assert first == second
    assert any(state == "pruned" for _, state, _ in first)


def test_hyperband_with_cv_decides_on_the_first_fold(data):
    x, y = data
    spec = "learning_rate = choice(1e-7, 3e-2)"
    search = hpsearch(textbook_build, x, y, spec, strategy="hyperband", cv=2, trials=8, epochs=9, patience=0,
                      seed=0, namespace={})
    for t in search.trials:
        if t.state == "pruned":
            assert len(t.fold_histories) == 1
        else:
            assert len(t.fold_scores) == 2


def test_hyperband_with_tpe_proposals_runs_from_the_magic_and_its_rounds_keep_them(ip):
    import optuna

    spec = "x1 = float(-1, 1)\nx2 = float(-1, 1)"
    ip.user_ns.update(synthetic_build=synthetic_build, hb_x=ZEROS[0], hb_y=ZEROS[1])
    ip.run_cell_magic(
        "hpsearch", "synthetic_build hb_x hb_y --valid hb_x hb_y --strategy hyperband --sampler tpe --trials 6 "
        "--epochs 3 --patience 0 --seed 1 --quiet -o hb_result", spec,
    )
    search = ip.user_ns["hb_result"]
    assert len(search.finished_trials()) == 6
    assert "TPE proposes each bracket's configurations" in search.plan_text
    study = search._follow_up.plan.study
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    search.run_round(spec, strategy="random", trials=2)
    assert type(study.sampler).__name__ == "TrialSeededRandomSampler"
    search.run_round(spec, strategy="hyperband", trials=2)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    assert [r["strategy"] for r in search.rounds] == ["hyperband", "random", "hyperband"]


def best_on_known_optimum(strategy: str, seed: int, trials: int) -> float:
    """The best value the strategy's sampler finds for (x1 - 0.7)^2 + (x2 + 0.2)^2, driven like the search loop."""
    import optuna

    from nnhp_magics.core.spec import parse_spec
    from nnhp_magics.search.strategies import make_strategy

    space = parse_spec("x1 = float(-1, 1)\nx2 = float(-1, 1)")
    chosen = make_strategy(strategy, space, seed=seed, max_epochs=1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=chosen.sampler, pruner=chosen.pruner)
    for _ in range(trials):
        trial = study.ask()
        p = space.suggest(trial)
        study.tell(trial, (p["x1"] - 0.7) ** 2 + (p["x2"] + 0.2) ** 2)
    return study.best_value


def test_bayes_beats_random_on_a_known_optimum():
    """Seeds 0-4, fixed before the test was first run; 20 trials each; medians compared."""
    bayes = np.median([best_on_known_optimum("bayes", seed, 20) for seed in range(5)])
    random = np.median([best_on_known_optimum("random", seed, 20) for seed in range(5)])
    assert bayes < random, (bayes, random)


def test_evolution_improves_over_its_first_generation():
    """Seeds 0-4, fixed before the test was first run: 60 trials find better points than the first 10."""
    for seed in range(5):
        assert best_on_known_optimum("evolution", seed, 60) < best_on_known_optimum("evolution", seed, 10)


def test_bayes_through_the_search_loop_finds_the_known_optimum_region():
    spec = "x1 = float(-1, 1)\nx2 = float(-1, 1)"
    search = hpsearch(synthetic_build, *ZEROS, spec, valid=ZEROS, strategy="bayes", trials=12, epochs=1,
                      patience=0, seed=0, namespace={})
    assert search.best_score == pytest.approx((search.best_params["x1"] - 0.7) ** 2 + (search.best_params["x2"] + 0.2) ** 2, rel=1e-4)
    assert search.best_score < 0.1


def test_tuning_epochs_under_hyperband_is_an_error_naming_the_line(data):
    x, y = data
    with pytest.raises(SpecError, match="hyperband decides how many epochs") as info:
        hpsearch(textbook_build, x, y, "n_neurons = int(1, 4)\nepochs = int(5, 10)", strategy="hyperband", namespace={})
    assert info.value.line == 2


def test_bayes_rejects_a_scipy_family_it_cannot_model(data):
    from scipy.stats import norm

    x, y = data
    with pytest.raises(SpecError, match="cannot use scipy's norm distribution") as info:
        hpsearch(textbook_build, x, y, "learning_rate = {dist}", strategy="bayes", namespace={"dist": norm(0.01, 0.001)})
    assert "loguniform(lo, hi)" in info.value.hint
