"""The search loop: ask Optuna for parameters, run trials, tell the results, emit events.

``hpsearch`` is the Python API behind ``%%hpsearch``: it checks everything a user
can get wrong before any training, then drives an Optuna study through
ask-and-tell, handing batches of trials to an executor and turning every epoch
and every finished trial into an event for the views.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import optuna

from .data import TrainingData, prepare
from .errors import AllTrialsFailed, NnhpError, NotYetSupported
from .events import EpochEnded, EventBus, Listener, SearchEnded, SearchStarted, TrialFinished, TrialStarted
from .executors import make_executor
from .results import COMPLETE, FAILED, INTERRUPTED, PRUNED, Search, Trial, check_export_paths, export_paths, parse_objective, summarize_failures
from .routing import build_signature, check_names
from .space import SearchSpace, optuna_value
from .strategies import Strategy, make_strategy
from .training import PRUNE, STOP, FitConfig, TrialInterrupted, TrialTask, refit

#: Options whose features have not landed yet; tests keep this list honest.
NOT_YET: dict[str, str] = {
    "storage": "--storage/--study (persisting and resuming a study)",
    "workers": "--workers (parallel trials)",
    "dask": "--dask (trials on a Dask cluster)",
}


def hpsearch(
    build: Callable[..., Any],
    x: Any,
    y: Any = None,
    space: str | dict[str, Any] | SearchSpace = "",
    *,
    valid: tuple[Any, Any] | Any | None = None,
    validation_split: float = 0.2,
    cv: int | None = None,
    strategy: str = "random",
    trials: int | None = None,
    epochs: int = 100,
    patience: int = 10,
    batch_size: int = 32,
    objective: str = "val_loss",
    seed: int | None = None,
    timeout: float | None = None,
    export: str | None = None,
    overwrite: bool = False,
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    dask: Any = None,
    background: bool = False,
    fit_kwargs: dict[str, Any] | None = None,
    baseline: bool = False,
    warmup: float = 0,
    quiet: bool = True,
    namespace: dict[str, Any] | None = None,
    listeners: Iterable[Listener] = (),
    on_created: Callable[[Search], None] | None = None,
) -> Search:
    """Search hyperparameters of a Keras build function and return the :class:`Search`.

    ``space`` is spec text (one ``name = form`` a line, DESIGN.md §2.1), a
    scikit-learn ``param_distributions`` dict, or a parsed SearchSpace. Every
    mistake a user can make is reported before training starts; ``on_created`` gets
    the Search as soon as it exists, so a caller can hold it even if the search
    fails or is interrupted.
    """
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    plan = plan_search(
        build, x, y, space, valid=valid, validation_split=validation_split, cv=cv, strategy=strategy,
        trials=trials, epochs=epochs, patience=patience, batch_size=batch_size, objective=objective,
        seed=seed, timeout=timeout, export=export, overwrite=overwrite, storage=storage, study=study,
        workers=workers, dask=dask, fit_kwargs=fit_kwargs, baseline=baseline, warmup=warmup,
        namespace=namespace,
    )
    search = plan.new_search()
    if on_created is not None:
        on_created(search)
    bus = EventBus()
    if not quiet:
        from .views import TextProgress

        bus.subscribe(TextProgress())
    for listener in listeners:
        bus.subscribe(listener)
    if background:
        thread = threading.Thread(target=_run_in_background, args=(plan, search, bus), name="nnhp-search", daemon=True)
        search._thread = thread
        thread.start()
        return search
    run_search(plan, search, bus)
    return search


def _run_in_background(plan: SearchPlan, search: Search, bus: EventBus) -> None:
    try:
        run_search(plan, search, bus)
    except BaseException as exc:  # kept for search.wait() to re-raise
        search._error = exc
        search._finish("error")


@dataclass
class SearchPlan:
    """Everything checked and prepared before the first trial."""

    build: Callable[..., Any]
    space: SearchSpace
    spec_text: str
    data: TrainingData
    strategy: Strategy
    config: FitConfig
    trials: int
    cv: int | None
    timeout: float | None
    export: str | None
    overwrite: bool
    baseline: bool

    def new_search(self) -> Search:
        search = Search(
            objective=self.config.objective,
            param_names=self.space.tunable_names,
            strategy=self.strategy.name,
            budget=self.trials,
            cv=self.cv,
            max_epochs=self.config.epochs,
            spec_text=self.spec_text,
        )
        search._refit = lambda best: refit(
            self.build, best.params, self.data, self.config, int(round(best.best_epoch or self.config.epochs))
        )
        return search


def plan_search(
    build: Callable[..., Any],
    x: Any,
    y: Any,
    space: str | dict[str, Any] | SearchSpace,
    *,
    valid: Any,
    validation_split: float,
    cv: int | None,
    strategy: str,
    trials: int | None,
    epochs: int,
    patience: int,
    batch_size: int,
    objective: str,
    seed: int | None,
    timeout: float | None,
    export: str | None,
    overwrite: bool,
    storage: str | None,
    study: str | None,
    workers: int,
    dask: Any,
    fit_kwargs: dict[str, Any] | None,
    baseline: bool,
    warmup: float,
    namespace: dict[str, Any],
) -> SearchPlan:
    """Check every input and prepare the data, strategy and fit settings: no training yet."""
    if storage is not None or study is not None:
        raise NotYetSupported(f"{NOT_YET['storage']} is not available yet.")
    if workers != 1:
        if workers < 1:
            raise NnhpError(f"--workers must be at least 1, got {workers}.")
        raise NotYetSupported(f"{NOT_YET['workers']} is not available yet; leave --workers at 1.")
    if dask is not None:
        raise NotYetSupported(f"{NOT_YET['dask']} is not available yet.")
    if not callable(build):
        raise NnhpError(f"BUILD must be a function returning a compiled Keras model, got {type(build).__name__}.")
    _check_positive("--epochs", epochs)
    _check_positive("--batch-size", batch_size)
    if patience < 0:
        raise NnhpError(f"--patience must be 0 (off) or more, got {patience}.")
    if trials is not None and trials < 1:
        raise NnhpError(f"--trials must be at least 1, got {trials}.")
    if timeout is not None and timeout <= 0:
        raise NnhpError(f"--timeout must be a positive number of seconds, got {timeout}.")
    if warmup < 0:
        raise NnhpError(f"--warmup must be 0 or more epochs, got {warmup}.")
    if fit_kwargs is not None and not isinstance(fit_kwargs, dict):
        raise NnhpError(f"--fit-kwargs must name a dict of fit() arguments, got {type(fit_kwargs).__name__}.")
    reserved = {"x", "y", "epochs", "validation_data", "validation_split"} & set(fit_kwargs or {})
    if reserved:
        raise NnhpError(
            f"--fit-kwargs may not set {', '.join(sorted(reserved))}: the search controls them "
            "(use --epochs, --valid or --validation-split)."
        )
    parsed, spec_text = _parse_space(space, namespace)
    check_names(parsed.names, build, space=parsed)
    goal = parse_objective(objective)
    chosen = make_strategy(strategy, parsed, seed=seed, max_epochs=epochs)
    if chosen.size is not None:
        if trials is not None and trials > chosen.size:
            raise NnhpError(f"--trials {trials} exceeds the grid's {chosen.size} combinations; leave --trials out to run them all.")
        budget = trials or chosen.size + (1 if baseline else 0)
    else:
        budget = trials if trials is not None else 10
    if export is not None:
        check_export_paths(export_paths(export), overwrite)
    data = prepare(x, y, valid=valid, validation_split_fraction=validation_split, cv=cv, seed=seed)
    if all(f.monitor is None for f in data.folds) and goal.name.startswith("val_"):
        raise NnhpError(
            f"--objective {goal.name} needs validation data: pass --valid XV YV, or use a training metric such as loss."
        )
    config = FitConfig(
        objective=goal, epochs=epochs, patience=patience, batch_size=batch_size,
        fit_kwargs=dict(fit_kwargs or {}), seed=seed, warmup_epochs=warmup,
    )
    return SearchPlan(build, parsed, spec_text, data, chosen, config, budget, cv, timeout, export, overwrite, baseline)


def _check_positive(option: str, value: int) -> None:
    if value < 1:
        raise NnhpError(f"{option} must be at least 1, got {value}.")


def _parse_space(space: str | dict[str, Any] | SearchSpace, namespace: dict[str, Any]) -> tuple[SearchSpace, str]:
    from .spec import parse_spec, space_from_dict

    if isinstance(space, SearchSpace):
        return space, "\n".join(p.text or f"{p.name} = {p.dist.describe()}" for p in space)
    if isinstance(space, dict):
        parsed = space_from_dict(space, namespace)
        return parsed, "\n".join(f"{p.name} = {p.dist.describe()}" for p in parsed)
    if not isinstance(space, str):
        raise NnhpError(f"space must be spec text or a dict of distributions, got {type(space).__name__}.")
    parsed = parse_spec(space, namespace)
    if not len(parsed):
        raise NnhpError(
            "the search space is empty: write one parameter a line in the cell, e.g. `n_neurons = int(1, 99)`, "
            "or pass --space NAME with a dict of distributions."
        )
    return parsed, space


class _Control:
    """The runner's callback into the search: events, pruning reports, Stop."""

    def __init__(self, search: Search, bus: EventBus, study: optuna.Study, strategy: Strategy, max_epochs: int) -> None:
        self.search, self.bus, self.study, self.strategy = search, bus, study, strategy
        self.max_epochs = max_epochs
        self.optuna_trials: dict[int, optuna.Trial] = {}

    def epoch_end(self, trial: int, fold: int, folds: int, epoch: int, logs: dict[str, float]) -> str | None:
        self.bus.emit(EpochEnded(trial, epoch, dict(logs), fold=fold, folds=folds, max_epochs=self.max_epochs))
        if self.search.stop_requested:
            return STOP
        if self.strategy.prunes and fold == 0:
            value = logs.get(self.search.objective.name)
            live = self.optuna_trials.get(trial)
            if live is not None and value is not None and math.isfinite(value):
                live.report(value, epoch + 1)
                if live.should_prune():
                    return PRUNE
        return None


def run_search(plan: SearchPlan, search: Search, bus: EventBus) -> Search:
    """Run trials until the budget is spent, the timeout passes, Stop is pressed or the user interrupts."""
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        direction=plan.config.objective.direction, sampler=plan.strategy.sampler, pruner=plan.strategy.pruner
    )
    executor = make_executor()
    control = _Control(search, bus, study, plan.strategy, plan.config.epochs)
    search.started_at = time.time()
    bus.emit(SearchStarted(search))
    reason = "done"
    baseline_pending = plan.baseline
    queue_pending = bool(plan.strategy.queue)
    if not baseline_pending:
        _enqueue(study, plan)
        queue_pending = False
    try:
        while True:
            remaining = plan.trials - search.count_toward_budget()
            if remaining <= 0:
                break
            if search.stop_requested:
                reason = "stopped"
                break
            if plan.timeout is not None and time.time() - search.started_at >= plan.timeout:
                reason = "timeout"
                break
            tasks = []
            for _ in range(min(remaining, executor.concurrency)):
                live = study.ask()
                if baseline_pending:
                    params = _baseline_params(plan)
                    baseline_pending = False
                else:
                    params = plan.space.suggest(live)
                if queue_pending:
                    _enqueue(study, plan)
                    queue_pending = False
                control.optuna_trials[live.number] = live
                tasks.append(TrialTask(live.number, params))
            for task in tasks:
                search._add(Trial(number=task.number, params=dict(task.params)))
                bus.emit(TrialStarted(task.number, dict(task.params), folds=len(plan.data.folds)))
            for outcome in executor.run(tasks, plan.build, plan.data, plan.config, control):
                _record(outcome.record, study, control, search, bus)
                if outcome.model is not None:
                    search._offer_model(outcome.record, outcome.model)
    except TrialInterrupted as interrupted:
        _record(interrupted.record, study, control, search, bus)
        reason = "interrupted"
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        for t in list(search.trials):
            if t.state == "running":
                t.state, t.error = INTERRUPTED, "the search ended while it ran"
                _tell(study, control, t)
        search.ended_at = time.time()
        search._finish(reason)
        bus.emit(SearchEnded(search, reason))
    if search.best_trial_or_none is None and search.trials and all(t.state == FAILED for t in search.trials):
        raise AllTrialsFailed(
            f"all {len(search.trials)} trials failed, so there is no best model. The reasons:\n"
            + summarize_failures(search.trials)
        )
    if plan.export is not None and search.best_trial_or_none is not None:
        search.export(plan.export, overwrite=plan.overwrite)
    return search


def _enqueue(study: optuna.Study, plan: SearchPlan) -> None:
    """Queue the strategy's fixed parameter sets (the grid) in order."""
    for params in plan.strategy.queue:
        study.enqueue_trial({p.name: optuna_value(p, params[p.name]) for p in plan.space if p.name in params and p.tunable})


def _baseline_params(plan: SearchPlan) -> dict[str, Any]:
    """Trial 0 of ``--baseline``: BUILD's own defaults for the spec's names (constants still apply)."""
    _, _, defaults = build_signature(plan.build)
    params = {p.name: defaults[p.name] for p in plan.space if p.tunable and p.name in defaults}
    params.update({p.name: p.dist.value for p in plan.space if not p.tunable})  # type: ignore[union-attr]
    return params


def _record(record: Trial, study: optuna.Study, control: _Control, search: Search, bus: EventBus) -> None:
    search._add(record)
    _tell(study, control, record)
    bus.emit(TrialFinished(record))


def _tell(study: optuna.Study, control: _Control, record: Trial) -> None:
    live = control.optuna_trials.pop(record.number, None)
    if live is None:
        return
    live.set_user_attr("nnhp", record.to_dict())
    if record.state == COMPLETE:
        study.tell(live, record.score)
    elif record.state == PRUNED:
        study.tell(live, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(live, state=optuna.trial.TrialState.FAIL)
