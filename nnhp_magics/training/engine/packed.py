"""The packed executor: up to K trials trained side by side in one graph, each stopping on its own.

Trials that share a batch size form a pack; one call of the pack's epoch program
trains every live member for one epoch, then each member's callbacks run exactly
as in the fit path (events, pruning reports, early stopping). A member whose fold
ends is skipped by its stop flag; its next fold is loaded into the same slot when
the architecture matches (no retrace). When half the slots are free and more
trials are waiting, the survivors are re-packed with the next trials from the
search. A trial that fails to build, goes NaN or raises fails alone; a model the
engine cannot run faithfully trains through fit, one trial at a time.
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
    adopt,
    as_tensors,
    feed_for,
    forget_tensors,
    prepare_model,
    structure,
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
class Job:
    """One trial in the packed executor: its record and the fold it is training."""

    task: TrialTask
    routed: Routed
    record: Trial
    started: float
    batch_size: int
    fold_index: int = 0
    model: Any = None
    feed: Feed | None = None
    run: FoldRun | None = None
    reporter: Any = None
    solo: bool = False


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
    """Forms packs, runs their epochs, moves each trial from fold to fold, and yields finished trials."""

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
        """Pull trials from the search until the live and waiting trials fill a pack."""
        while not (self.exhausted or self.stopping) and self._occupied() < self.size:
            task = next(self.stream, None)
            if task is None:
                self.exhausted = True
                return
            yield from self._start(task)

    def _occupied(self) -> int:
        return len(self.waiting) + (len(self.pack.live()) if self.pack is not None else 0)

    def _repack(self) -> None:
        """Trace a new pack from the survivors and the waiting trials that share their batch size."""
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
        """XLA for a pack when forced, else when one member's budget pays for it (compile and savings grow with K)."""
        return use_xla(
            self.config.jit, fold_epochs(job.routed, self.config), len(self.data.folds), _feed_of(job).rows,
            job.batch_size, self.config.patience > 0,
        )

    def _members(self, survivors: list[Job]) -> list[Job]:
        """Who trains in the next pack: survivors first, then waiting trials of the same batch size (solo alone)."""
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
            first = pack.live()[0]
            raise interrupted(first.record, first.started) from None
        except Exception as exc:
            yield from self._isolate(pack, exc)
            return
        for k, job in enumerate(pack.slots):
            if job is not None:
                yield from self._end_epoch(pack, k, job, logs[k])

    def _end_epoch(self, pack: Pack, k: int, job: Job, logs: dict[str, float]) -> Iterator[TrialOutcome]:
        assert job.run is not None
        with trial_failures(job.record, job.started) as guard:
            job.run.end_epoch(logs)
        if guard.failed:
            yield self._leave(pack, k, job)
            return
        if job.reporter.stopped_by == STOP:
            self.stopping = True
        if job.run.done:
            yield from self._end_fold(pack, k, job)

    def _end_fold(self, pack: Pack, k: int, job: Job) -> Iterator[TrialOutcome]:
        """Score the fold that just ended; start the trial's next fold or hand the finished trial back."""
        assert job.run is not None
        folds = self.data.folds
        ended, next_fold = True, False
        with trial_failures(job.record, job.started) as guard:
            history = job.run.finish()
            evaluate = _evaluator(pack.program, k)
            result = judge_fold(FoldResult(job.model, history, "packed", evaluate=evaluate), job.reporter, self.config)
            ended = account_fold(job.record, result, folds[job.fold_index], self.config, len(folds))
            if not ended and job.fold_index + 1 < len(folds):
                job.fold_index += 1
                self._next_fold(pack, k, job)
                next_fold = True
        if guard.failed:
            yield self._leave(pack, k, job)
            return
        if next_fold:
            return
        if not ended:
            complete_trial(job.record, self.config)
        pack.slots[k] = None
        yield self._outcome(job)

    # ----- trials and folds --------------------------------------------------------------------
    def _start(self, task: TrialTask) -> Iterator[TrialOutcome]:
        """Build a new trial's first fold: it waits for a pack, or trains through fit when the engine cannot run it."""
        routed = route(task.params, self.build)
        record = Trial(number=task.number, params=dict(task.params), round=task.round, engine="packed")
        job = Job(task, routed, record, time.perf_counter(), fold_batch_size(routed, self.config))
        through_fit = None
        with trial_failures(job.record, job.started) as guard:
            model = self._fold_model(job)
            if engine_reason(model, self.data.folds[0], routed, self.config) is not None:
                through_fit = self._through_fit(job, model)
            else:
                self._prepare(job, model)
                self._begin(job, model)
        if guard.failed:
            yield self._outcome(job)
        elif through_fit is not None:
            yield through_fit
        else:
            self.waiting.append(job)

    def _fold_model(self, job: Job) -> Any:
        fold = self.data.folds[job.fold_index]
        return build_fold_model(self.build, job.routed, self.config, job.task.number, job.fold_index, fold)

    def _prepare(self, job: Job, model: Any) -> None:
        """Build the fold's model state (optimizer included) on the fold's data."""
        fold = self.data.folds[job.fold_index]
        job.feed = feed_for(fold.train, fold.monitor)
        prepare_model(model, job.feed, job.batch_size)

    def _begin(self, job: Job, model: Any) -> None:
        """Start the fold on ``model``: its callbacks and its FoldRun."""
        job.model = model
        callbacks, job.reporter = fold_callbacks(
            self.config, self.control, job.task.number, job.fold_index, len(self.data.folds), graph=True
        )
        feed = _feed_of(job)
        job.run = FoldRun(
            model, feed, callbacks, fold_epochs(job.routed, self.config),
            order_seed(self.config, job.task.number, job.fold_index),
            shuffle=bool(self.config.fit_kwargs.get("shuffle", True)), batch_size=job.batch_size,
        )

    def _next_fold(self, pack: Pack, k: int, job: Job) -> None:
        """Load the trial's next fold into its slot (same architecture), else send it back to wait for a new pack."""
        model = self._fold_model(job)
        self._prepare(job, model)
        if structure(model) == structure(job.model):
            adopt(job.model, model)
            self._begin(job, job.model)
            return
        self._begin(job, model)
        pack.slots[k] = None
        self.waiting.append(job)

    def _through_fit(self, job: Job, model: Any) -> TrialOutcome:
        """Train every fold of a trial the graph engine cannot run through fit, as the trial runner does."""
        job.record.engine = "fit"
        job.model = train_folds(
            job.record, self.build, job.routed, self.data, self.config, self.control, first_model=model
        )
        return self._outcome(job)

    # ----- failures ----------------------------------------------------------------------------
    def _leave(self, pack: Pack, k: int, job: Job) -> TrialOutcome:
        """A member whose trial failed leaves the pack alone; its outcome goes back."""
        pack.slots[k] = None
        return self._outcome(job)

    def _isolate(self, pack: Pack, exc: BaseException) -> Iterator[TrialOutcome]:
        """The pack's graph raised: a lone member fails; several restart their folds alone to find the culprit."""
        live = pack.live()
        if len(live) == 1:
            mark_failed(live[0].record, exc)
            yield self._leave(pack, pack.slots.index(live[0]), live[0])
            return
        self.pack = None
        for job in live:
            job.solo = True
            with trial_failures(job.record, job.started) as guard:
                model = self._fold_model(job)
                self._prepare(job, model)
                self._begin(job, model)
            if guard.failed:
                yield self._outcome(job)
            else:
                self.waiting.append(job)

    def _outcome(self, job: Job) -> TrialOutcome:
        close_record(job.record, job.started)
        keep = job.record.state == COMPLETE and len(self.data.folds) == 1
        return TrialOutcome(job.record, job.model if keep else None)


def _evaluator(program: EpochProgram, slot: int) -> Callable[[Any, Any], dict[str, float]]:
    """Evaluate a pack member on held-out arrays, as ``model.evaluate`` does."""
    return lambda x, y: program.evaluate(slot, as_tensors(x), as_tensors(y))


def _feed_of(job: Job) -> Feed:
    """The feed of a job's current fold, which ``_prepare`` sets before the job trains or packs."""
    assert job.feed is not None
    return job.feed


def _identity(feed: Feed | None) -> np.ndarray:
    """The identity batch order for a feed (an empty slot's placeholder)."""
    assert feed is not None
    return np.arange(feed.rows, dtype=np.int32)
