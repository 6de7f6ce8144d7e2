"""Which model proposes a strategy's trials (``--sampler``): the defaults, BOHB-style hyperband, and the mistakes."""

from __future__ import annotations

import re

import numpy as np
import optuna
import pytest

from nnhp_magics.core.spec import parse_spec
from nnhp_magics.errors import NnhpError, SpecError
from nnhp_magics.search.strategies import TrialSeededRandomSampler, make_strategy

SPACE = parse_spec("x1 = float(-1, 1)\nx2 = float(-1, 1)")


def test_bayes_proposes_by_tpe_and_hyperband_at_random_by_default():
    assert isinstance(make_strategy("bayes", SPACE, seed=0, max_epochs=9).sampler, optuna.samplers.TPESampler)
    hyperband = make_strategy("hyperband", SPACE, seed=0, max_epochs=9)
    assert type(hyperband.sampler) is TrialSeededRandomSampler
    assert hyperband.plan is not None and "TPE" not in hyperband.plan.describe()


def test_hyperband_with_tpe_proposes_by_tpe_under_its_pruner_and_its_plan_says_so():
    hyperband = make_strategy("hyperband", SPACE, seed=0, max_epochs=27, sampler="tpe")
    assert isinstance(hyperband.sampler, optuna.samplers.TPESampler)
    assert isinstance(hyperband.pruner, optuna.pruners.HyperbandPruner)
    assert hyperband.plan is not None
    assert hyperband.plan.configurations == 49
    assert "TPE proposes each bracket's configurations" in hyperband.plan.describe()


def best_under_hyperband(sampler: str, seed: int, trials: int = 60, epochs: int = 9) -> float:
    """The best final value of (x1 - 0.7)^2 + (x2 + 0.2)^2 found under hyperband's pruner.

    Each trial reports the value plus 1/epoch after every epoch, as a model's
    validation loss falls while it trains, and stops when the pruner says so.
    """
    chosen = make_strategy("hyperband", SPACE, seed=seed, max_epochs=epochs, sampler=sampler)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="known-optimum", sampler=chosen.sampler, pruner=chosen.pruner)
    for _ in range(trials):
        trial = study.ask()
        p = SPACE.suggest(trial)
        target = (p["x1"] - 0.7) ** 2 + (p["x2"] + 0.2) ** 2
        for epoch in range(1, epochs + 1):
            trial.report(target + 1 / epoch, epoch)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, target + 1 / epochs)
    return study.best_value


def test_tpe_proposals_under_hyperband_find_better_points_than_random_ones():
    """Seeds 0-4, fixed before the test was first run; 60 trials each; medians compared."""
    tpe = np.median([best_under_hyperband("tpe", seed) for seed in range(5)])
    random = np.median([best_under_hyperband("random", seed) for seed in range(5)])
    assert tpe < random, (tpe, random)


@pytest.mark.parametrize(
    ("strategy", "sampler", "message"),
    [
        ("bayes", "random", "--sampler random is not a model --strategy bayes proposes with: choose tpe or gp"),
        ("hyperband", "gp", "--sampler gp is the model behind --strategy bayes, not --strategy hyperband"),
        ("random", "tpe", "--strategy random takes no --sampler: only --strategy bayes (tpe or gp) and "
                          "--strategy hyperband (random or tpe) do"),
        ("evolution", "random", "--strategy evolution takes no --sampler"),
        ("hyperband", "cma", "--sampler 'cma' is unknown; choose tpe (the default) or gp with --strategy bayes, "
                             "random (the default) or tpe with --strategy hyperband"),
    ],
)
def test_a_sampler_its_strategy_cannot_use_is_a_clear_error(strategy, sampler, message):
    with pytest.raises(NnhpError, match=re.escape(message)):
        make_strategy(strategy, SPACE, seed=0, max_epochs=9, sampler=sampler)


def test_tpe_under_hyperband_rejects_a_scipy_family_it_cannot_model_naming_the_line():
    from scipy.stats import norm

    space = parse_spec("x1 = float(-1, 1)\nlearning_rate = {dist}", {"dist": norm(0.01, 0.001)})
    assert make_strategy("hyperband", space, seed=0, max_epochs=9).plan is not None
    with pytest.raises(SpecError, match="--strategy hyperband --sampler tpe models each parameter") as info:
        make_strategy("hyperband", space, seed=0, max_epochs=9, sampler="tpe")
    assert info.value.line == 2
