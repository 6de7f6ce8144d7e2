"""Strategy name -> Optuna sampler and pruner, plus the trials to queue first.

The search loop drives Optuna through ask-and-tell, so a strategy is nothing more
than the sampler that proposes parameters, the pruner that may stop a trial at an
epoch, and (for ``grid``) the list of parameter sets to enqueue in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna

from nnhp_magics.core.space import ScipyPpf, SearchSpace
from nnhp_magics.errors import NnhpError, SpecError

STRATEGIES = ("random", "grid", "bayes", "hyperband", "evolution")
#: The models that may propose a strategy's trials, its default first: bayes' TPE or Gaussian process, and
#: hyperband's random draws (Keras Tuner's Hyperband) or TPE (BOHB-style, learning within each bracket).
SAMPLERS = {"bayes": ("tpe", "gp"), "hyperband": ("random", "tpe")}
GP_INSTALL = "pip install 'nnhp-magics[gp]'"


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
        self._rng.rng.seed((int(self._base_seed or 0) * 1_000_003 + number) % (2**32))


@dataclass(frozen=True)
class HyperbandPlan:
    """Keras Tuner's Hyperband plan for ``max_epochs`` and ``factor``: per bracket, its configurations and first rung.

    ``brackets`` holds ``(configurations, epochs)`` pairs, most configurations first;
    ``iterations`` runs the whole plan that many times; ``proposals`` names the
    sampler that draws the configurations (``random`` or ``tpe``).
    """

    max_epochs: int
    factor: int
    iterations: int
    brackets: tuple[tuple[int, int], ...]
    proposals: str = "random"

    @property
    def configurations(self) -> int:
        """Trials the whole plan runs: every bracket's configurations, ``iterations`` times."""
        return self.iterations * sum(size for size, _ in self.brackets)

    def describe(self) -> str:
        """One line for the views: brackets, configurations and the epochs each bracket starts with."""
        parts = ", ".join(f"{size} configurations from {epochs} epochs" for size, epochs in self.brackets)
        times = f" x {self.iterations} iterations" if self.iterations > 1 else ""
        drawn = "; TPE proposes each bracket's configurations from its scored ones" if self.proposals == "tpe" else ""
        return (
            f"hyperband plan: {len(self.brackets)} brackets{times}, {self.configurations} configurations "
            f"up to {self.max_epochs} epochs ({parts}){drawn}"
        )


def hyperband_plan(max_epochs: int, factor: int = 3, iterations: int = 1, proposals: str = "random") -> HyperbandPlan:
    """The brackets Keras Tuner's Hyperband oracle plans for ``max_epochs`` (min_epochs 1) and ``factor``.

    As its oracle computes them: a bracket per division of ``max_epochs`` by
    ``factor`` that stays at least 1 epoch; bracket ``b`` starts
    ``ceil(ceil(1 + log_factor(max_epochs)) / (b + 1) * factor**b)`` configurations
    (for 100 epochs and factor 3: 5 brackets, 172 configurations; for 27: 4 and 49).
    """
    count, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        count += 1
    last_size = math.ceil(1 + math.log(max_epochs, factor))
    brackets = []
    for bracket in reversed(range(count)):
        size = math.ceil(last_size / (bracket + 1) * factor**bracket)
        first_rung = max(1, math.ceil(max_epochs / factor**bracket))
        brackets.append((size, first_rung))
    return HyperbandPlan(max_epochs, factor, iterations, tuple(brackets), proposals)


@dataclass
class Strategy:
    """What drives the search: a sampler, a pruner, and parameter sets to run first.

    ``size`` is the grid's size (default and maximum number of trials); ``plan`` is
    hyperband's, whose configurations are the default number of trials.
    """

    name: str
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    queue: list[dict[str, Any]] = field(default_factory=list)
    size: int | None = None
    plan: HyperbandPlan | None = None

    @property
    def prunes(self) -> bool:
        return not isinstance(self.pruner, optuna.pruners.NopPruner)


def make_strategy(
    name: str,
    space: SearchSpace,
    *,
    seed: int | None,
    max_epochs: int,
    sampler: str | None = None,
    factor: int = 3,
    iterations: int = 1,
) -> Strategy:
    """The sampler and pruner for a strategy name, after checking the space suits it.

    ``sampler`` None takes the strategy's default model (:data:`SAMPLERS`).
    """
    if name not in STRATEGIES:
        import difflib

        close = difflib.get_close_matches(name, STRATEGIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise NnhpError(f"--strategy {name!r} is unknown; choose one of {', '.join(STRATEGIES)}.{hint}")
    sampler = _check_sampler(sampler, name)
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
        if sampler == "tpe":
            _reject_unknown_families(space, "hyperband --sampler tpe")
        return Strategy(
            name,
            _model_sampler(space, seed) if sampler == "tpe" else TrialSeededRandomSampler(seed),
            optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 1), reduction_factor=factor),
            plan=hyperband_plan(max(max_epochs, 1), factor, iterations, sampler or "random"),
        )
    if name == "bayes":
        return Strategy(name, _bayes_sampler(sampler, space, seed), optuna.pruners.NopPruner())
    if name == "evolution":
        return Strategy(name, optuna.samplers.NSGAIISampler(seed=seed, population_size=10), optuna.pruners.NopPruner())
    return Strategy(name, TrialSeededRandomSampler(seed), optuna.pruners.NopPruner())


def _check_sampler(sampler: str | None, strategy: str) -> str | None:
    """The strategy's sampler (its default for None), after rejecting an unknown one, one the strategy has no use
    for, and gp without PyTorch: all before training."""
    own = SAMPLERS.get(strategy, ())
    if sampler is None:
        return own[0] if own else None
    if not any(sampler in models for models in SAMPLERS.values()):
        raise NnhpError(
            f"--sampler {sampler!r} is unknown; choose tpe (the default) or gp with --strategy bayes, "
            "random (the default) or tpe with --strategy hyperband."
        )
    if sampler == "gp" and strategy != "bayes":
        raise NnhpError(f"--sampler gp is the model behind --strategy bayes, not --strategy {strategy}: add --strategy bayes.")
    if own and sampler not in own:
        raise NnhpError(
            f"--sampler {sampler} is not a model --strategy {strategy} proposes with: choose {' or '.join(own)}, "
            f"or leave --sampler out for {own[0]}."
        )
    if not own:
        uses = " and ".join(f"--strategy {name} ({' or '.join(models)})" for name, models in SAMPLERS.items())
        raise NnhpError(f"--strategy {strategy} takes no --sampler: only {uses} do. Leave --sampler out.")
    if sampler == "gp":
        try:
            import torch  # noqa: F401 - Optuna's GPSampler needs it at its first model-based trial
        except ImportError:
            raise NnhpError(
                f"--sampler gp needs PyTorch, which is not installed: {GP_INSTALL} "
                "(a CPU build of torch is enough), or leave --sampler out to use TPE."
            ) from None
    return sampler


def _bayes_sampler(sampler: str | None, space: SearchSpace, seed: int | None) -> optuna.samplers.BaseSampler:
    """Multivariate TPE with a constant liar, or Optuna's Gaussian-process sampler; five random trials first."""
    if sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=5, warn_independent_sampling=False)
    return _model_sampler(space, seed, startup=5)


def _model_sampler(space: SearchSpace, seed: int | None, startup: int = 10) -> optuna.samplers.TPESampler:
    """Multivariate TPE with a constant liar (parallel workers don't propose the same point), ``startup`` random trials first.

    Under Optuna's HyperbandPruner, TPE learns from the trials of the proposed
    trial's own bracket only, scored at the rungs they reached: BOHB's idea.
    """
    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, group=space.has_conditions, constant_liar=True, n_startup_trials=startup
    )


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
