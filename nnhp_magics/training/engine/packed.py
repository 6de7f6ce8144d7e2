"""The packed executor: up to K folds trained side by side in one graph, each stopping on its own.

A member of a pack is one fold of one trial: under ``--cv`` a trial's folds train
together, each on its own rows with its own weights, optimizer state, early
stopping and history, with the seeds and batch orders the folds get one by one,
so the trial's record is the one training them in turn gives. Members that share
a batch size form a pack; one call of the pack's epoch program trains every live
member for one epoch, then each member's callbacks run exactly as in the fit path
(events, pruning reports, early stopping). A member whose fold ends is skipped by
its stop flag. A trial is accounted, fold by fold in order, when its last fold
ends, or at once when a fold fails, is pruned or is stopped (its other folds stop
with it: training them one by one would not have reached them). When half the
slots are free and more folds are waiting, the survivors are re-packed with the
next ones from the search. A trial that fails to build, goes NaN or raises fails
alone; a model the engine cannot run faithfully trains through fit, one trial at
a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnhp_magics.core.data import TrainingData
from nnhp_magics.core.results import COMPLETE, Trial
from nnhp_magics.core.routing import Routed, route
from nnhp_magics.errors import NnhpError
from nnhp_magics.training import backend
from nnhp_magics.training.engine.fold import FoldRun
from nnhp_magics.training.engine.graph import (
    EpochProgram,
    Feed,
    as_tensors,
    feed_for,
    forget_tensors,
    prepare_model,
)
from nnhp_magics.training.engine.select import use_xla
from nnhp_magics.training.trial import (
    STOP,
    FitConfig,
    FoldResult,
    TrialControl,
    TrialOutcome,
    TrialTask,
    account_fold,
    build_fold_model,
    close_record,
    complete_trial,
    engine_reason,
    fold_batch_size,
    fold_callbacks,
    fold_epochs,
    interrupted,
    judge_fold,
    mark_failed,
    order_seed,
    train_folds,
    trial_failures,
)


class PackedExecutor:
    """Runs trials K at a time in one graph, pulling the next trials from the search's stream as slots free up."""

    refills = True

    def __init__(self, pack: int) -> None:
        self.pack = int(pack)
        self.concurrency = self.pack

    def run(
        self,
        tasks: Iterable[TrialTask],
        build: Callable[..., Any],
        data: TrainingData,
        config: FitConfig,
        control: TrialControl,
    ) -> Iterator[TrialOutcome]:
        scheduler = Scheduler(iter(tasks), build, data, config, control, self.pack)
        try:
            yield from scheduler.outcomes()
        finally:
            backend.clear_session()
            forget_tensors()


@dataclass(eq=False)
class TrialRun:
    """One trial in the packed executor: its record, and the folds that have ended (by fold index)."""

    task: TrialTask
    routed: Routed
    record: Trial
    started: float
    batch_size: int
    ended: dict[int, FoldResult] = field(default_factory=dict)
    first_model: Any = None


@dataclass(eq=False)
class Job:
    """One fold of one trial, training as a pack member: its model, data, callbacks and epoch counter."""

    trial: TrialRun
    fold_index: int
    model: Any = None
    feed: Feed | None = None
    run: FoldRun | None = None
    reporter: Any = None
    solo: bool = False

    @property
    def batch_size(self) -> int:
        return self.trial.batch_size


@dataclass
class Pack:
    """The jobs traced into one epoch program; a slot is None once its trial has left.

    ``feeds`` and ``orders`` keep each slot's last inputs: an empty slot is still
    fed (its steps are skipped), so the program never retraces for it.
    """

    program: EpochProgram
    slots: list[Job | None]
    feeds: list[Feed] = field(default_factory=list)
    orders: list[np.ndarray] = field(default_factory=list)

    def live(self) -> list[Job]:
        return [job for job in self.slots if job is not None]


class Scheduler:
    """Forms packs of folds, runs their epochs, accounts each trial when it ends, and yields finished trials."""

    def __init__(
        self, stream: Iterator[TrialTask], build: Callable[..., Any], data: TrainingData, config: FitConfig,
        control: TrialControl, size: int,
    ) -> None:
        self.stream, self.build, self.data, self.config, self.control = stream, build, data, config, control
        self.size = size
        self.waiting: list[Job] = []
        self.pack: Pack | None = None
        self.exhausted = False
        self.stopping = False

    # ----- the loop ---------------------------------------------------------------------------
    def outcomes(self) -> Iterator[TrialOutcome]:
        """Run until the stream is exhausted and every started trial has finished."""
        while True:
            if self._should_repack():
                yield from self._fill()
                self._repack()
            if self.pack is None or not self.pack.live():
                if not self.waiting and (self.exhausted or self.stopping):
                    return
                continue
            yield from self._epoch(self.pack)

    def _should_repack(self) -> bool:
        live = len(self.pack.live()) if self.pack is not None else 0
        more = bool(self.waiting) or not (self.exhausted or self.stopping)
        return live == 0 or (more and self.size - live >= max(1, self.size // 2))

    def _fill(self) -> Iterator[TrialOutcome]:
        """Pull trials from the search until the live and waiting folds fill a pack."""
        while not (self.exhausted or self.stopping) and self._occupied() < self.size:
            task = next(self.stream, None)
            if task is None:
                self.exhausted = True
                return
            yield from self._start(task)

    def _occupied(self) -> int:
        return len(self.waiting) + (len(self.pack.live()) if self.pack is not None else 0)

    def _repack(self) -> None:
        """Trace a new pack from the survivors and the waiting folds that share their batch size."""
        survivors = self.pack.live() if self.pack is not None else []
        if not survivors and not self.waiting:
            self.pack = None
            return
        members = self._members(survivors)
        self.waiting = [j for j in self.waiting if j not in members]
        if self.pack is not None and members == survivors:
            return
        feeds = [_feed_of(j) for j in members]
        program = EpochProgram([j.model for j in members], members[0].batch_size, self._xla(members[0]))
        self.pack = Pack(program, list(members), feeds, [_identity(f) for f in feeds])

    def _xla(self, job: Job) -> bool:
        """XLA for a pack when forced, else when one member's fold pays for it (compile and savings grow with K)."""
        return use_xla(
            self.config.jit, fold_epochs(job.trial.routed, self.config), 1, _feed_of(job).rows, job.batch_size,
            self.config.patience > 0,
        )

    def _members(self, survivors: list[Job]) -> list[Job]:
        """Who trains in the next pack: survivors first, then waiting folds of the same batch size (solo alone)."""
        if survivors and survivors[0].solo:
            return survivors
        if not survivors and self.waiting[0].solo:
            return [self.waiting[0]]
        batch_size = (survivors or self.waiting)[0].batch_size
        joining = [j for j in self.waiting if j.batch_size == batch_size and not j.solo]
        return (survivors + joining)[: self.size]

    # ----- one epoch of a pack -----------------------------------------------------------------
    def _epoch(self, pack: Pack) -> Iterator[TrialOutcome]:
        """Train every live member for one epoch, then run each one's epoch end."""
        for k, job in enumerate(pack.slots):
            if job is not None:
                assert job.run is not None and job.feed is not None
                pack.feeds[k], pack.orders[k] = job.feed, job.run.begin_epoch()
        try:
            logs = pack.program.run(pack.feeds, pack.orders, [job is not None for job in pack.slots])
        except NnhpError:
            raise
        except KeyboardInterrupt:
            first = pack.live()[0].trial
            raise interrupted(first.record, first.started) from None
        except Exception as exc:
            yield from self._isolate(pack, exc)
            return
        for k, job in enumerate(pack.slots):
            if job is not None:
                yield from self._end_epoch(pack, k, job, logs[k])

    def _end_epoch(self, pack: Pack, k: int, job: Job, logs: dict[str, float]) -> Iterator[TrialOutcome]:
        assert job.run is not None
        trial = job.trial
        with trial_failures(trial.record, trial.started) as guard:
            job.run.end_epoch(logs)
        if guard.failed:
            yield self._end_trial(trial)
            return
        if job.reporter.stopped_by == STOP:
            self.stopping = True
        if job.run.done:
            yield from self._end_fold(pack, k, job)

    def _end_fold(self, pack: Pack, k: int, job: Job) -> Iterator[TrialOutcome]:
        """Judge the fold that just ended; account the trial when this ends it (its last fold, or a fold that ends early)."""
        assert job.run is not None
        trial = job.trial
        pack.slots[k] = None
        with trial_failures(trial.record, trial.started) as guard:
            history = job.run.finish()
            result = judge_fold(
                FoldResult(job.model, history, "packed", evaluate=_evaluator(pack.program, k)), job.reporter,
                self.config,
            )
            trial.ended[job.fold_index] = result
            if job.fold_index == 0:
                trial.first_model = job.model
            if result.failure is None and result.stopped_by is None and len(trial.ended) < len(self.data.folds):
                return
            self._account(trial)
        if guard.failed:
            trial.ended.clear()
        yield self._end_trial(trial)

    def _account(self, trial: TrialRun) -> None:
        """Add the ended folds to the trial's record in fold order, as training them one by one does."""
        folds = self.data.folds
        for index in sorted(trial.ended):
            if account_fold(trial.record, trial.ended[index], folds[index], self.config, len(folds)):
                return
        if len(trial.ended) == len(folds):
            complete_trial(trial.record, self.config)

    # ----- trials and folds --------------------------------------------------------------------
    def _start(self, task: TrialTask) -> Iterator[TrialOutcome]:
        """Build a new trial's folds: they wait for a pack, or the trial trains through fit when the engine cannot run it."""
        routed = route(task.params, self.build)
        record = Trial(number=task.number, params=dict(task.params), round=task.round, engine="packed")
        trial = TrialRun(task, routed, record, time.perf_counter(), fold_batch_size(routed, self.config))
        through_fit = None
        jobs: list[Job] = []
        with trial_failures(record, trial.started) as guard:
            model = self._fold_model(trial, 0)
            if engine_reason(model, self.data.folds[0], routed, self.config) is not None:
                through_fit = self._through_fit(trial, model)
            else:
                for index in range(len(self.data.folds)):
                    jobs.append(self._fold_job(trial, index, model if index == 0 else None))
        if guard.failed:
            yield self._outcome(trial)
        elif through_fit is not None:
            yield through_fit
        else:
            self.waiting.extend(jobs)

    def _fold_model(self, trial: TrialRun, fold_index: int) -> Any:
        fold = self.data.folds[fold_index]
        return build_fold_model(self.build, trial.routed, self.config, trial.task.number, fold_index, fold)

    def _fold_job(self, trial: TrialRun, fold_index: int, model: Any = None, solo: bool = False) -> Job:
        """A fold ready to train: its model built (``model`` when given), its state prepared, its callbacks begun."""
        job = Job(trial, fold_index, solo=solo)
        job.model = model if model is not None else self._fold_model(trial, fold_index)
        fold = self.data.folds[fold_index]
        job.feed = feed_for(fold.train, fold.monitor)
        prepare_model(job.model, job.feed, trial.batch_size)
        callbacks, job.reporter = fold_callbacks(
            self.config, self.control, trial.task.number, fold_index, len(self.data.folds), graph=True
        )
        job.run = FoldRun(
            job.model, job.feed, callbacks, fold_epochs(trial.routed, self.config),
            order_seed(self.config, trial.task.number, fold_index),
            shuffle=bool(self.config.fit_kwargs.get("shuffle", True)), batch_size=trial.batch_size,
        )
        return job

    def _through_fit(self, trial: TrialRun, model: Any) -> TrialOutcome:
        """Train every fold of a trial the graph engine cannot run through fit, as the trial runner does."""
        trial.record.engine = "fit"
        trial.first_model = train_folds(
            trial.record, self.build, trial.routed, self.data, self.config, self.control, first_model=model
        )
        return self._outcome(trial)

    # ----- failures ----------------------------------------------------------------------------
    def _end_trial(self, trial: TrialRun) -> TrialOutcome:
        """The trial has ended: its folds still training or waiting leave, and its outcome goes back."""
        if self.pack is not None:
            slots = self.pack.slots
            for k, job in enumerate(slots):  # in place: the epoch loop is iterating over this list
                if job is not None and job.trial is trial:
                    slots[k] = None
        self.waiting = [j for j in self.waiting if j.trial is not trial]
        return self._outcome(trial)

    def _isolate(self, pack: Pack, exc: BaseException) -> Iterator[TrialOutcome]:
        """The pack's graph raised: a lone member fails; several restart their folds alone to find the culprit."""
        live = pack.live()
        if len(live) == 1:
            mark_failed(live[0].trial.record, exc)
            yield self._end_trial(live[0].trial)
            return
        self.pack = None
        restarted: list[Job] = []
        for job in live:
            trial = job.trial
            if any(j.trial is trial for j in restarted):
                continue
            with trial_failures(trial.record, trial.started) as guard:
                siblings = [j for j in live if j.trial is trial]
                jobs = [self._fold_job(trial, j.fold_index, solo=True) for j in siblings]
            if guard.failed:
                yield self._end_trial(trial)
            else:
                restarted.extend(jobs)
        self.waiting = restarted + self.waiting

    def _outcome(self, trial: TrialRun) -> TrialOutcome:
        close_record(trial.record, trial.started)
        keep = trial.record.state == COMPLETE and len(self.data.folds) == 1
        return TrialOutcome(trial.record, trial.first_model if keep else None)


def _evaluator(program: EpochProgram, slot: int) -> Callable[[Any, Any], dict[str, float]]:
    """Evaluate a pack member on held-out arrays, as ``model.evaluate`` does."""
    return lambda x, y: program.evaluate(slot, as_tensors(x), as_tensors(y))


def _feed_of(job: Job) -> Feed:
    """The feed of a job's fold, which ``_fold_job`` sets before the job trains or packs."""
    assert job.feed is not None
    return job.feed


def _identity(feed: Feed | None) -> np.ndarray:
    """The identity batch order for a feed (an empty slot's placeholder)."""
    assert feed is not None
    return np.arange(feed.rows, dtype=np.int32)
