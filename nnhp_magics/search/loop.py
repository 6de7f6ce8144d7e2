"""The search loop: ask Optuna for parameters, run trials, tell the results, emit events.

``plan_search`` checks everything a user can get wrong before any training;
``run_search`` then drives an Optuna study through ask-and-tell, handing batches
of trials to an executor and turning every epoch and every finished trial into an
event for the views. ``nnhp_magics.api.hpsearch`` wires the two together.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, TypeVar

import optuna

from nnhp_magics.core.data import TrainingData, prepare
from nnhp_magics.core.events import (
    EpochEnded,
    EventBus,
    SearchEnded,
    SearchStarted,
    TrialFinished,
    TrialStarted,
)
from nnhp_magics.core.results import (
    FAILED,
    INTERRUPTED,
    RUNNING,
    Objective,
    SearchRecord,
    Trial,
    check_export_paths,
    export_paths,
    parse_objective,
    resolve_objective,
    summarize_failures,
)
from nnhp_magics.core.routing import build_signature, check_names
from nnhp_magics.core.space import SearchSpace, optuna_value
from nnhp_magics.core.stored_space import space_to_data
from nnhp_magics.errors import AllTrialsFailed, NnhpError
from nnhp_magics.search import storage as store
from nnhp_magics.search.hparams import HParamsLog, check_tensorboard
from nnhp_magics.search.options import check_values
from nnhp_magics.search.strategies import Strategy, make_strategy
from nnhp_magics.training import backend
from nnhp_magics.training.callbacks import check_callbacks
from nnhp_magics.training.executors import Executor, InProcessExecutor, check_shippable, make_executor
from nnhp_magics.training.trial import PRUNE, STOP, FitConfig, TrialInterrupted, TrialTask, logged_names, refit

R = TypeVar("R", bound=SearchRecord)


def start_search(plan: SearchPlan, search: R, bus: EventBus, *, background: bool) -> R:
    """Run the plan now, or on a daemon thread with ``background`` (the result is returned at once)."""
    if background:
        threading.Thread(target=_run_in_background, args=(plan, search, bus), name="nnhp-search", daemon=True).start()
        return search
    run_search(plan, search, bus)
    return search


def _run_in_background(plan: SearchPlan, search: SearchRecord, bus: EventBus) -> None:
    try:
        run_search(plan, search, bus)
    except BaseException as exc:  # kept for search.wait() to re-raise
        search.finish("error", exc)


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
    executor: Executor
    models: store.ModelKeeper
    study: optuna.Study | None = None
    lease: store.WriterLease | None = None
    study_name: str | None = None
    persistent: bool = False
    where: str = "memory"
    namespace: dict[str, Any] = field(default_factory=dict)
    sampler: str | None = None
    round: int = 1
    optuna_names: dict[str, str] = field(default_factory=dict)

    def new_search(self, result_type: type[R]) -> R:
        """A fresh result of ``result_type`` (the API's Search) for this plan, wired to its refit."""
        search = result_type(
            objective=self.config.objective,
            param_names=self.space.tunable_names,
            strategy=self.strategy.name,
            budget=self.trials,
            cv=self.cv,
            max_epochs=self.config.epochs,
            spec_text=self.spec_text,
            study_name=self.study_name,
            classes=None if self.data.classes is None else self.data.classes.tolist(),
        )
        search.connect(refit=self.best_model, save=backend.save_and_verify)
        search.space = self.space
        search.plan_text = None if self.strategy.plan is None else self.strategy.plan.describe()
        search.rounds[0]["space"] = space_to_data(self.space)
        return search

    def refit_epochs(self, best: Trial) -> int:
        """The refit's epoch budget: with --valid it early-stops there as the trials did, so it
        gets all of --epochs; without, nothing held out can stop it, so it trains for the best
        trial's mean restored-best epoch."""
        if self.data.valid is not None:
            return self.config.epochs
        return int(round(best.best_epoch or self.config.epochs))

    def best_model(self, best: Trial) -> Any:
        """The kept model of the best trial, else a refit (saved with the study under --cv)."""
        kept = self.models.load(best.number)
        if kept is not None:
            return kept
        programs = self.executor.programs if isinstance(self.executor, InProcessExecutor) else None
        model = refit(self.build, best.params, self.data, self.config, self.refit_epochs(best), programs)
        if self.cv and self.models.folder is not None and self.models.keep > 0:
            self.models.save(best.number, model)
        return model


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
    sampler: str | None = None,
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
    keep_models: int = 1,
    fit_kwargs: dict[str, Any] | None,
    baseline: bool,
    warmup: float,
    engine: str = "auto",
    pack: int | None = None,
    jit: bool | None = None,
    tensorboard: str | None = None,
    factor: int = 3,
    iterations: int = 1,
    namespace: dict[str, Any],
) -> SearchPlan:
    """Check every input, prepare the data, strategy and fit settings, open the storage and the cluster: no training yet.

    Keras starts first, before any check builds a model: TensorFlow's start-up lines stay out of the cell.
    """
    backend.keras()
    check_values(
        dict(cv=cv, trials=trials, epochs=epochs, patience=patience, batch_size=batch_size, timeout=timeout,
             keep_models=keep_models, workers=workers, warmup=warmup, pack=pack, factor=factor, iterations=iterations)
    )
    _check_where(storage, study, workers, dask)
    if not callable(build):
        raise NnhpError(f"BUILD must be a function returning a compiled Keras model, got {type(build).__name__}.")
    if fit_kwargs is not None and not isinstance(fit_kwargs, dict):
        raise NnhpError(f"--fit-kwargs must name a dict of fit() arguments, got {type(fit_kwargs).__name__}.")
    reserved = {"x", "y", "epochs", "validation_data", "validation_split"} & set(fit_kwargs or {})
    if reserved:
        raise NnhpError(
            f"--fit-kwargs may not set {', '.join(sorted(reserved))}: the search controls them "
            "(use --epochs, --valid or --validation-split)."
        )
    callbacks = check_callbacks((fit_kwargs or {}).get("callbacks"))
    log_dir = check_tensorboard(tensorboard) if tensorboard is not None else None
    parsed, spec_text = parse_space(space, namespace)
    check_names(parsed.names, build, space=parsed)
    goal = parse_objective(objective)
    chosen = make_strategy(
        strategy, parsed, seed=seed, max_epochs=epochs, sampler=sampler, factor=factor, iterations=iterations
    )
    if chosen.size is not None:
        if trials is not None and trials > chosen.size:
            raise NnhpError(f"--trials {trials} exceeds the grid's {chosen.size} combinations; leave --trials out to run them all.")
        budget = trials or chosen.size + (1 if baseline else 0)
    elif chosen.plan is not None:
        budget = trials if trials is not None else chosen.plan.configurations
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
        engine=engine, pack=_check_engine(engine, pack), jit=_automatic_xla(jit, chosen), tensorboard=log_dir,
    )
    if callbacks:
        config.fit_kwargs["callbacks"] = callbacks
    if workers > 1 or dask is not None:
        check_shippable(data)
    plan = SearchPlan(
        build, parsed, spec_text, data, chosen, config, budget, cv, timeout, export, overwrite, baseline,
        executor=InProcessExecutor(), models=store.ModelKeeper(goal, keep_models), namespace=namespace, sampler=sampler,
    )
    if storage is not None:
        _open_study(plan, storage, study, keep_models)
    try:
        logged = _logged_objective(build, parsed, data, goal)
        plan.config = replace(plan.config, objective=logged)
        plan.models.objective = logged
        plan.executor = make_executor(workers, dask, pruning=chosen.prunes, engine=engine, pack=config.pack)
    except BaseException:
        if plan.lease is not None:
            plan.lease.release()
        raise
    return plan


def _logged_objective(build: Callable[..., Any], space: SearchSpace, data: TrainingData, goal: Objective) -> Objective:
    """The objective under the name the model logs, from one model built with drawn parameters and evaluated on two rows.

    Runs once per search, after the cheaper checks (storage included) and before any
    trial exists: an objective the model never logs is refused here. A BUILD that
    fails is left for the trials to report.
    """
    optuna.logging.set_verbosity(logging.WARNING)
    probe = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names = logged_names(build, space.suggest(probe.ask()), data.folds[0])
    return goal if names is None else resolve_objective(goal, names)


def _check_where(storage: str | None, study: str | None, workers: int, dask: Any) -> None:
    """Options about where trials run and are kept that only make sense together."""
    if dask is not None and workers != 1:
        raise NnhpError("--workers and --dask: pick one; a Dask cluster brings its own workers.")
    if study is not None and storage is None:
        raise NnhpError("--study names a study in a storage: pass --storage too, e.g. --storage sqlite:///search.db.")


def _open_study(plan: SearchPlan, storage: str, study: str | None, keep_models: int) -> None:
    """Open (or create) the persistent study and its model folder; a different search in it is an error."""
    location = store.locate(storage)
    build_name = getattr(plan.build, "__name__", "build")
    name = study or store.default_study_name(build_name, plan.space)
    goal = plan.config.objective
    meta = {
        "objective": goal.name, "direction": goal.direction, "param_names": plan.space.tunable_names,
        "strategy": plan.strategy.name, "budget": plan.trials, "cv": plan.cv, "max_epochs": plan.config.epochs,
        "spec": plan.spec_text, "space": space_to_data(plan.space), "build": build_name, "keep_models": keep_models,
        "classes": None if plan.data.classes is None else plan.data.classes.tolist(),
    }
    plan.study, plan.lease = store.open_study(
        location, name, store.fingerprint(plan.space, goal, plan.cv, plan.data.fingerprint),
        store.param_ranges(plan.space), meta, sampler=plan.strategy.sampler, pruner=plan.strategy.pruner,
    )
    plan.study_name = name
    plan.persistent = True
    plan.where = location.shown
    own_id = store.study_id(plan.study)
    assert own_id is not None, "open_study gives every study an id"
    plan.models = store.ModelKeeper(goal, keep_models, store.models_folder(location, own_id), plan.study)


def _check_engine(engine: str, pack: int | None) -> int:
    """Check --engine and --pack; returns the pack size (the default when not given)."""
    from nnhp_magics.training.engine import DEFAULT_PACK, ENGINES

    if engine not in ENGINES:
        raise NnhpError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}.")
    if pack is None:
        return DEFAULT_PACK
    if pack > 1 and engine == "fit":
        raise NnhpError("--pack trains several trials in one graph: it needs --engine auto or graph, not fit.")
    return pack


def parse_space(space: str | dict[str, Any] | SearchSpace, namespace: dict[str, Any]) -> tuple[SearchSpace, str]:
    """The SearchSpace and its spec text from spec text, a ``param_distributions`` dict or a parsed space."""
    from nnhp_magics.core.spec import parse_spec, space_from_dict

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

    def __init__(
        self, search: SearchRecord, bus: EventBus, strategy: Strategy, max_epochs: int, round_: int = 1,
        where: str = "memory",
    ) -> None:
        self.search, self.bus, self.strategy = search, bus, strategy
        self.max_epochs = max_epochs
        self.round = round_
        self.where = where
        self.storage_failed = False  # set once a write failed: nothing more is written
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
                if epoch + 1 < self.max_epochs and live.should_prune():  # a trial that trained every epoch is complete
                    return PRUNE
        return None


@dataclass
class _Pending:
    """What the first asks still owe: the --baseline trial, then queueing the grid."""

    baseline: bool
    queue: bool


def _automatic_xla(jit: bool | None, strategy: Any) -> bool | None:
    """``--jit``/``--no-jit`` as given; unset, left to each trial's budget, except under a pruning strategy.

    A pruner stops most trials after a few epochs, far fewer than the epoch budget
    the automatic choice predicts from, so they would pay XLA's compile for nothing.
    """
    if jit is None and strategy.prunes:
        return False
    return jit


def run_search(plan: SearchPlan, search: SearchRecord, bus: EventBus) -> SearchRecord:
    """Run trials until the budget is spent, the timeout passes, Stop is pressed or the user interrupts.

    A persistent study resumes: its earlier trials are shown at once and count
    toward the budget, and trials lost with their process are run again (twice at
    most). It is held for this process (a heartbeat keeps the claim fresh) until the
    search ends. Garbage collections meanwhile skip the objects that lived before it.
    """
    with plan.lease.hold() if plan.lease is not None else nullcontext(), backend.earlier_objects_frozen():
        return _run(plan, search, bus)


def _run(plan: SearchPlan, search: SearchRecord, bus: EventBus) -> SearchRecord:
    """The body of ``run_search``, with the study held."""
    optuna.logging.set_verbosity(logging.WARNING)
    if plan.study is None:  # named after the build function and spec: Hyperband assigns brackets by study name
        plan.study = optuna.create_study(
            study_name=store.default_study_name(getattr(plan.build, "__name__", "build"), plan.space),
            direction=plan.config.objective.direction, sampler=plan.strategy.sampler, pruner=plan.strategy.pruner,
        )
    study = plan.study
    executor = plan.executor
    control = _Control(search, bus, plan.strategy, plan.config.epochs, plan.round, plan.where)
    if plan.persistent and plan.round == 1:
        with store.writing(plan.where, "the trials lost by an earlier run"):
            resumed = store.resume(study)
        for record in resumed:
            search.record_trial(record)
        search.rounds = store.stored_rounds(study) or search.rounds
    search.started_at = time.time()
    bus.emit(SearchStarted(search))
    hparams = _hparams_log(plan)
    reason: str | None = None
    pending = _Pending(baseline=plan.baseline and not search.trials, queue=bool(plan.strategy.queue))
    if not pending.baseline:
        _enqueue(study, plan)
        pending.queue = False
    try:
        while (reason := _end_reason(plan, search)) is None:
            stream = _ask_trials(plan, study, control, search, bus, pending)
            tasks = stream if executor.refills else list(islice(stream, executor.concurrency))
            for outcome in executor.run(tasks, plan.build, plan.data, plan.config, control):
                _record(outcome.record, study, control, search, bus, hparams)
                if outcome.model is not None:
                    with store.writing(plan.where, f"trial {outcome.record.number}'s model (saved beside it)"):
                        plan.models.offer(search, outcome.record, outcome.model)
    except store.StorageWriteError:
        control.storage_failed = True
        raise
    except TrialInterrupted as interrupted:
        _record(interrupted.record, study, control, search, bus, hparams)
        reason = "interrupted"
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        for t in search.trials:
            if t.state == RUNNING:
                t.state, t.error = INTERRUPTED, "the search ended while it ran"
                search.record_trial(t)
                _tell(study, control, t)
        search.finish(reason or "error")
        bus.emit(SearchEnded(search, reason or "error"))
    if search.best_trial_or_none is None and search.trials and all(t.state == FAILED for t in search.trials):
        raise AllTrialsFailed(
            f"all {len(search.trials)} trials failed, so there is no best model. The reasons:\n"
            + summarize_failures(search.trials)
        )
    if plan.export is not None and search.best_trial_or_none is not None:
        search.export(plan.export, overwrite=plan.overwrite)
    return search


def _end_reason(plan: SearchPlan, search: SearchRecord) -> str | None:
    """Why no further trial may start: budget spent, Stop pressed, or the timeout passed; None to go on."""
    if plan.trials - search.count_toward_budget() <= 0:
        return "done"
    if search.stop_requested:
        return "stopped"
    if plan.timeout is not None and time.time() - search.started_at >= plan.timeout:  # type: ignore[operator]
        return "timeout"
    return None


def _ask_trials(
    plan: SearchPlan, study: optuna.Study, control: _Control, search: SearchRecord, bus: EventBus, pending: _Pending
) -> Iterator[TrialTask]:
    """Ask Optuna for trials one at a time, while the budget has room beside the trials already running."""
    while _end_reason(plan, search) is None and _running(search) < plan.trials - search.count_toward_budget():
        with store.writing(control.where, "a new trial"):
            live = study.ask()
        if pending.baseline:
            params = _baseline_params(plan)
            pending.baseline = False
        else:
            params = plan.space.suggest(live, plan.optuna_names)
        if pending.queue:
            _enqueue(study, plan)
            pending.queue = False
        control.optuna_trials[live.number] = live
        record = Trial(number=live.number, params=dict(params), round=plan.round)
        with store.writing(control.where, f"trial {live.number}'s start"):
            live.set_user_attr(store.RECORD_ATTR, record.to_dict())
        search.record_trial(record)
        bus.emit(TrialStarted(live.number, dict(params), folds=len(plan.data.folds)))
        yield TrialTask(live.number, params)


def _running(search: SearchRecord) -> int:
    return sum(1 for t in search.trials if t.state == RUNNING)


def _enqueue(study: optuna.Study, plan: SearchPlan) -> None:
    """Queue the strategy's fixed parameter sets (the grid) in order, skipping those the study already holds."""
    held = store.queued_params(study)
    for params in plan.strategy.queue:
        labels = {
            plan.optuna_names.get(p.name, p.name): optuna_value(p, params[p.name])
            for p in plan.space
            if p.name in params and p.tunable
        }
        if store.params_key(labels) not in held:
            study.enqueue_trial(labels)


def _baseline_params(plan: SearchPlan) -> dict[str, Any]:
    """Trial 0 of ``--baseline``: BUILD's own defaults for the spec's names (constants still apply)."""
    _, _, defaults = build_signature(plan.build)
    params = {p.name: defaults[p.name] for p in plan.space if p.tunable and p.name in defaults}
    params.update({p.name: p.dist.value for p in plan.space if not p.tunable})  # type: ignore[union-attr]
    return params


def _record(
    record: Trial, study: optuna.Study, control: _Control, search: SearchRecord, bus: EventBus,
    hparams: HParamsLog | None = None,
) -> None:
    record.round = control.round
    snapshot = search.record_trial(record)
    _tell(study, control, record)
    if hparams is not None:
        hparams.trial(record)
    bus.emit(TrialFinished(snapshot))


def _hparams_log(plan: SearchPlan) -> HParamsLog | None:
    """With --tensorboard, the search's HParams log, its experiment written; else None."""
    if plan.config.tensorboard is None:
        return None
    log = HParamsLog(plan.config.tensorboard, plan.space.tunable_names, plan.config.objective)
    log.start()
    return log


def _tell(study: optuna.Study, control: _Control, record: Trial) -> None:
    """Save the record with the Optuna trial, then finish it: durable at once with a storage.

    A trial another process already finished in the storage keeps its record in
    this search, with a warning. A write that fails (disk full) raises
    StorageWriteError, the record staying in this search; after one, nothing more
    is written.
    """
    live = control.optuna_trials.pop(record.number, None)
    if live is None or control.storage_failed:
        return
    try:
        with store.writing(control.where, f"trial {record.number}'s result"):
            live.set_user_attr(store.RECORD_ATTR, record.to_dict())
            store.tell(study, live, record)
    except optuna.exceptions.UpdateFinishedTrialError:
        warnings.warn(
            f"trial {record.number} was finished in the storage by another process while it ran here; "
            "its result stays in this search but the study keeps the other process's outcome.",
            UserWarning,
            stacklevel=2,
        )
