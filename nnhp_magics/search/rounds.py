"""Follow-up rounds: run a refined spec as more trials of the same search and study.

A round reuses the first round's plan (build function, data, fit settings,
executor, Optuna study and storage) with its own spec, strategy and number of
trials. Its trials join ``search.trials`` under their round number and
``search.rounds`` keeps each round's spec, also in the storage.

Optuna refuses, within one study, a choice whose values changed or a parameter
whose kind changed under the same name. Such a parameter is stored in Optuna
under a round-qualified name (``activation@2``); the trial records, the
leaderboard and the build function keep the user's name.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any

import optuna
from optuna.distributions import BaseDistribution, check_distribution_compatibility

from nnhp_magics.core.events import EventBus
from nnhp_magics.core.routing import check_names
from nnhp_magics.core.space import SearchSpace
from nnhp_magics.core.stored_space import space_to_data
from nnhp_magics.errors import NnhpError
from nnhp_magics.search import storage as store
from nnhp_magics.search.analysis import refine_spec, search_space
from nnhp_magics.search.loop import SearchPlan, parse_space, start_search
from nnhp_magics.search.strategies import make_strategy

if TYPE_CHECKING:
    from nnhp_magics.core.results import SearchRecord

#: Trials a round runs when the caller does not say (the same default as ``--trials``).
DEFAULT_ROUND_TRIALS = 10


class FollowUp:
    """``search.run_round``: holds what the first round used, and starts the next round from it."""

    def __init__(self, plan: SearchPlan, search: SearchRecord, bus: EventBus) -> None:
        self.plan = plan
        self.search = search
        self.bus = bus

    def __call__(
        self,
        spec: str | None = None,
        *,
        strategy: str | None = None,
        trials: int | None = None,
        top: float = 0.25,
        selected: list[int] | None = None,
        background: bool = False,
    ) -> SearchRecord:
        search = self.search
        number = len(search.rounds) + 1
        if not search.done:
            raise NnhpError(
                f"round {number - 1} of this search is still running: wait for it (search.wait()) "
                "or stop it (search.stop()) before starting another round."
            )
        if trials is not None and trials < 1:
            raise NnhpError(f"a round needs at least 1 trial, got trials={trials}.")
        if spec is None:
            spec = refine_spec(search_space(search), search.trials, search.objective, top=top, selected=selected)
        space, text = parse_space(spec, self.plan.namespace)
        check_names(space.names, self.plan.build, space=space)
        name = strategy or search.rounds[-1]["strategy"]
        sampler = self.plan.sampler if name == self.plan.strategy.name else None  # a sampler is its strategy's own
        first_plan = self.plan.strategy.plan
        chosen = make_strategy(name, space, seed=self.plan.config.seed, max_epochs=self.plan.config.epochs,
                               sampler=sampler, factor=first_plan.factor if first_plan else 3)
        if chosen.size is not None and trials is not None and trials > chosen.size:
            raise NnhpError(f"trials={trials} exceeds the grid's {chosen.size} combinations.")
        count = trials or chosen.size or DEFAULT_ROUND_TRIALS
        study = self._study()
        plan = dataclasses.replace(
            self.plan, space=space, spec_text=text, strategy=chosen, trials=search.count_toward_budget() + count,
            baseline=False, export=None, timeout=None, round=number, optuna_names=round_names(study, space, number),
            executor=_executor_for(self.plan.executor, chosen.prunes),
        )
        study.sampler, study.pruner = chosen.sampler, chosen.pruner
        search.add_param_names(space.tunable_names)
        search.rounds.append(
            {
                "round": number, "spec": text, "space": space_to_data(space), "strategy": name, "trials": count,
                "param_names": space.tunable_names,
            }
        )
        if self.plan.persistent:
            store.save_rounds(study, search.rounds)
        search.reopen(plan.trials)
        return start_search(plan, search, self.bus, background=background)

    def _study(self) -> optuna.Study:
        study = self.plan.study
        if study is None:  # the first round never started (it failed before its first trial)
            raise NnhpError("the first round of this search did not run, so there is no study to add a round to.")
        return study


def _executor_for(executor: Any, prunes: bool) -> Any:
    """The first round's executor, told whether remote trials must wait for pruning decisions this round."""
    if getattr(executor, "pruning", prunes) == prunes:
        return executor
    changed = copy.copy(executor)
    changed.pruning = prunes
    return changed


def round_names(study: optuna.Study, space: SearchSpace, number: int) -> dict[str, str]:
    """Optuna names for the parameters whose distribution the study's earlier trials make incompatible."""
    seen: dict[str, BaseDistribution] = {}
    for trial in study.get_trials(deepcopy=False):
        seen.update(trial.distributions)
    names = {}
    for p in space:
        if not p.tunable or p.name not in seen:
            continue
        try:
            check_distribution_compatibility(seen[p.name], p.dist.to_optuna())  # type: ignore[union-attr]
        except ValueError:
            names[p.name] = f"{p.name}@{number}"
    return names

