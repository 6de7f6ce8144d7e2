"""``--sampler gp``: Optuna's Gaussian-process sampler behind ``--strategy bayes``, an optional extra."""

from __future__ import annotations

import sys
from importlib.util import find_spec

import pytest
from IPython.core.error import UsageError
from test_strategies import ZEROS, synthetic_build

from nnhp_magics import hpsearch
from nnhp_magics.errors import NnhpError

pytestmark = pytest.mark.usefixtures("keras_ready")

needs_torch = pytest.mark.skipif(find_spec("torch") is None, reason="torch is not installed (the gp extra)")
SPEC = "x1 = float(-1, 1)\nx2 = float(-1, 1)"


def never_called(**params):
    """A build function that fails the test if any training starts."""
    raise AssertionError(f"training started with {params}")


def best_found(sampler: str, seed: int, trials: int = 10) -> float:
    """The best value of (x1 - 0.7)^2 + (x2 + 0.2)^2 that bayes with this sampler finds, driven by ask and tell."""
    import optuna

    from nnhp_magics.core.spec import parse_spec
    from nnhp_magics.search.strategies import make_strategy

    space = parse_spec(SPEC)
    study = optuna.create_study(sampler=make_strategy("bayes", space, seed=seed, max_epochs=1, sampler=sampler).sampler)
    for _ in range(trials):
        trial = study.ask()
        p = space.suggest(trial)
        study.tell(trial, (p["x1"] - 0.7) ** 2 + (p["x2"] + 0.2) ** 2)
    return study.best_value


@needs_torch
def test_gp_beats_tpe_on_a_known_optimum_and_repeats_with_a_seed():
    """Seeds 0-2, fixed before the test was first run; 10 trials (5 random, then 5 from the model)."""
    found = [best_found("gp", seed) for seed in range(3)]
    assert all(gp < best_found("tpe", seed) for seed, gp in enumerate(found)), found
    assert best_found("gp", 0) == found[0]


@needs_torch
def test_gp_through_the_magic(ip):
    ip.user_ns.update(synthetic_build=synthetic_build, gp_x=ZEROS[0], gp_y=ZEROS[1])
    ip.run_cell_magic(
        "hpsearch", "synthetic_build gp_x gp_y --valid gp_x gp_y --strategy bayes --sampler gp --trials 6 --epochs 1 "
        "--patience 0 --seed 1 --quiet -o gp_result", SPEC,
    )
    result = ip.user_ns["gp_result"]
    assert result.strategy == "bayes" and len(result.finished_trials()) == 6


@needs_torch
def test_a_gp_search_can_go_on_with_a_round_of_another_strategy():
    import optuna

    search = hpsearch(synthetic_build, *ZEROS, SPEC, valid=ZEROS, strategy="bayes", sampler="gp", trials=3, epochs=1,
                      patience=0, seed=1, namespace={})
    search.run_round(SPEC, strategy="random", trials=2)
    assert isinstance(search._follow_up.plan.study.sampler, optuna.samplers.RandomSampler)
    search.run_round(SPEC, trials=2)
    assert [r["strategy"] for r in search.rounds] == ["bayes", "random", "random"]
    search.run_round(SPEC, strategy="bayes", trials=2)
    assert isinstance(search._follow_up.plan.study.sampler, optuna.samplers.GPSampler)
    assert len(search.finished_trials()) == 9


def test_missing_torch_is_a_clear_error_before_training(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(NnhpError, match=r"--sampler gp needs PyTorch.*pip install 'nnhp-magics\[gp\]'"):
        hpsearch(never_called, *ZEROS, SPEC, valid=ZEROS, strategy="bayes", sampler="gp", namespace={})


def test_missing_torch_through_the_magic_is_a_usage_error(ip, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    ip.user_ns.update(never_called=never_called, gp_x=ZEROS[0], gp_y=ZEROS[1])
    with pytest.raises(UsageError, match=r"nnhp-magics\[gp\]"):
        ip.run_cell_magic("hpsearch", "never_called gp_x gp_y --valid gp_x gp_y --strategy bayes --sampler gp", SPEC)


@pytest.mark.parametrize(
    ("strategy", "sampler", "message"),
    [
        ("random", "gp", "--sampler gp is the model behind --strategy bayes, not --strategy random"),
        ("bayes", "cma", "--sampler 'cma' is unknown; choose tpe"),
    ],
)
def test_sampler_mistakes_are_clear_errors_before_training(strategy, sampler, message):
    with pytest.raises(NnhpError, match=message):
        hpsearch(never_called, *ZEROS, SPEC, valid=ZEROS, strategy=strategy, sampler=sampler, namespace={})
