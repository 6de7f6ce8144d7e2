"""Strategy name -> Optuna sampler and pruner, plus the trials to queue first.

The search loop drives Optuna through ask-and-tell, so a strategy is nothing more
than the sampler that proposes parameters, the pruner that may stop a trial at an
epoch, and (for ``grid``) the list of parameter sets to enqueue in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna

from .errors import NnhpError, SpecError
from .space import ScipyPpf, SearchSpace

STRATEGIES = ("random", "grid", "bayes", "hyperband", "evolution")


class TrialSeededRandomSampler(optuna.samplers.RandomSampler):
    """Random sampling whose draws depend only on (seed, trial number).

    Optuna's RandomSampler keeps one stream, so a resumed study or trials asked out
    of order would repeat or shuffle draws; reseeding per trial keeps ``--seed``
    meaningful in both cases.
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self._base_seed is not None:
            self.reseed_rng_for(trial.number)
        super().before_trial(study, trial)

    def reseed_rng_for(self, number: int) -> None:
        self._rng.rng.seed((int(self._base_seed) * 1_000_003 + number) % (2**32))  # type: ignore[operator]


@dataclass
class Strategy:
    """What drives the search: a sampler, a pruner, and parameter sets to run first."""

    name: str
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    queue: list[dict[str, Any]] = field(default_factory=list)
    size: int | None = None  # the grid's size: default and maximum number of trials

    @property
    def prunes(self) -> bool:
        return not isinstance(self.pruner, optuna.pruners.NopPruner)


def make_strategy(name: str, space: SearchSpace, *, seed: int | None, max_epochs: int) -> Strategy:
    """The sampler and pruner for a strategy name, after checking the space suits it."""
    if name not in STRATEGIES:
        import difflib

        close = difflib.get_close_matches(name, STRATEGIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise NnhpError(f"--strategy {name!r} is unknown; choose one of {', '.join(STRATEGIES)}.{hint}")
    if name == "grid":
        return _grid(space)
    if name in ("bayes", "evolution"):
        _reject_unknown_families(space, name)
    if name == "hyperband":
        if "epochs" in space:
            p = space["epochs"]
            raise SpecError(
                "tuning epochs under --strategy hyperband is not possible: hyperband decides how many epochs each trial gets.",
                line=p.line,
                col=0 if p.text else None,
                text=p.text,
                hint="remove the epochs line and set --epochs to the most epochs a trial may get.",
            )
        return Strategy(
            name,
            TrialSeededRandomSampler(seed),
            optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 1), reduction_factor=3),
        )
    if name == "bayes":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=space.has_conditions, constant_liar=True, n_startup_trials=5
        )
        return Strategy(name, sampler, optuna.pruners.NopPruner())
    if name == "evolution":
        return Strategy(name, optuna.samplers.NSGAIISampler(seed=seed, population_size=10), optuna.pruners.NopPruner())
    return Strategy(name, TrialSeededRandomSampler(seed), optuna.pruners.NopPruner())


def _grid(space: SearchSpace) -> Strategy:
    try:
        combos = space.grid()
    except ValueError as exc:
        p = space[str(exc)]
        raise SpecError(
            f"--strategy grid cannot enumerate {p.name}: it is a continuous range.",
            line=p.line,
            col=(p.text or "").find("=") + 2 if p.text else None,
            text=p.text,
            hint="give it a step, e.g. float(0.1, 0.5, step=0.1), or list the values as a choice.",
        ) from None
    return Strategy("grid", TrialSeededRandomSampler(0), optuna.pruners.NopPruner(), queue=combos, size=len(combos))


def _reject_unknown_families(space: SearchSpace, name: str) -> None:
    for p in space:
        if isinstance(p.dist, ScipyPpf):
            raise SpecError(
                f"--strategy {name} models each parameter itself and cannot use scipy's {p.dist.name} distribution.",
                line=p.line,
                col=(p.text or "").find("=") + 2 if p.text else None,
                text=p.text,
                hint="write a native range instead: float(lo, hi), loguniform(lo, hi) or int(lo, hi).",
            )
