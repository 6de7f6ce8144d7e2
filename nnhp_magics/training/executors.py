"""Where trials run: in this process, or on a Dask cluster (a local one for ``--workers N``).

Every executor has ``run(tasks, build, data, config, control)``, which yields a
TrialOutcome as each trial finishes. The in-process executor takes a batch (a
list) and frees Keras' state after it. A refilling executor (``refills = True``)
takes a lazy stream instead: it keeps ``concurrency`` trials in flight and pulls
the next task as soon as one finishes, so the loop asks Optuna only when a worker
is free.

On Dask, the driver (this process) owns the Optuna study. The data is scattered
once per search; the build function travels with each task (cloudpickle). Each
worker streams every epoch back as a Dask event (``log_event`` on a per-search
topic) and checks a per-search ``distributed.Event`` for Stop every epoch; under a
pruning strategy it then waits for the driver's decision on a per-trial
``distributed.Queue``.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import logging
import math
import os
import queue
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from nnhp_magics.core.data import TrainingData, is_dataset
from nnhp_magics.core.results import INTERRUPTED, Trial
from nnhp_magics.errors import NnhpError
from nnhp_magics.training import backend
from nnhp_magics.training.engine.single import ProgramCache
from nnhp_magics.training.trial import STOP, FitConfig, TrialControl, TrialOutcome, TrialTask, run_trial

#: How long a worker waits for the driver's pruning decision before stopping its trial.
DECISION_TIMEOUT_S = 300.0


#: Trials between two frees of Keras' state: ``clear_session()`` plus a full garbage
#: collection cost ~0.5 s of CPU, about 15% of a short trial when paid after each one,
#: while every tenth trial keeps memory as flat (benchmarks/memory.py).
CLEAR_EVERY = 10


class Executor(Protocol):
    """What the search loop needs: how many trials run at once, whether it pulls lazily, and ``run``."""

    concurrency: int
    refills: bool

    def run(
        self,
        tasks: Iterable[TrialTask],
        build: Callable[..., Any],
        data: TrainingData,
        config: FitConfig,
        control: TrialControl,
    ) -> Iterator[TrialOutcome]:
        """Yield each trial's outcome as it finishes."""


class InProcessExecutor:
    """Runs a batch of trials one after another in this process, freeing Keras' state every few trials.

    Its ``programs`` (the last few traced epoch programs, which outlive Keras'
    cleared state) serve later trials and the search's refit. A seeded search's
    first batch empties TensorFlow's kernel cache, which its trials' seeding keeps
    (see :func:`backend.set_seed`).
    """

    concurrency = 1
    refills = False

    def __init__(self) -> None:
        self._since_clear = 0
        self._seeded = False
        self.programs = ProgramCache()

    def run(
        self,
        tasks: Iterable[TrialTask],
        build: Callable[..., Any],
        data: TrainingData,
        config: FitConfig,
        control: TrialControl,
    ) -> Iterator[TrialOutcome]:
        if config.seed is not None and not self._seeded:
            backend.set_seed(config.seed)
            self._seeded = True
        try:
            for task in tasks:
                self._since_clear += 1
                yield run_trial(task, build, data, config, control, programs=self.programs)
        finally:
            if self._since_clear >= CLEAR_EVERY:
                backend.clear_session()
                self._since_clear = 0


def make_executor(
    workers: int = 1, dask: Any = None, *, pruning: bool = False, engine: str = "auto", pack: int = 1
) -> Executor:
    """The executor for ``--workers`` / ``--dask`` / ``--pack``: in this process, packed, a local cluster, or the given cluster."""
    if dask is not None:
        return DaskExecutor(connect(dask), pruning=pruning)
    if workers > 1:
        return DaskExecutor(local_client(workers), pruning=pruning)
    if pack > 1 and engine != "fit":
        from nnhp_magics.training.engine.packed import PackedExecutor

        return PackedExecutor(pack)
    return InProcessExecutor()


_LOCAL: dict[str, Any] = {}
#: Dask's loggers that report a dying worker at ERROR; silenced while our local cluster lives.
DASK_LOGGERS = ("distributed.scheduler", "distributed.worker", "distributed.nanny", "distributed.core", "distributed.comm")
_CLIENTS: dict[str, Any] = {}


def local_client(workers: int) -> Any:
    """A Client of a LocalCluster of ``workers`` single-threaded processes, kept for the next search in this kernel.

    Scheduler, workers, nannies and the dashboard listen on 127.0.0.1 only: nothing beyond this machine can reach them.
    Dask's own log lines (``distributed.scheduler - ERROR ...`` when a worker dies) are silenced while the cluster
    lives, here and in its workers: they would print into the cell, and a lost trial is reported (and retried) by us.
    """
    from distributed import Client, LocalCluster

    client = _LOCAL.get("client")
    if client is not None and _LOCAL.get("workers") == workers and client.status == "running":
        return client
    close_local_cluster()
    _LOCAL["levels"] = {name: logging.getLogger(name).level for name in DASK_LOGGERS}
    for name in DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
            env=worker_env(workers),
        )
    except Exception as exc:
        _restore_dask_logging()
        raise NnhpError(f"--workers {workers}: the local Dask cluster did not start: {exc}") from None
    client = Client(cluster, set_as_default=False)
    atexit.unregister(close_local_cluster)
    atexit.register(close_local_cluster)
    _LOCAL.update(cluster=cluster, client=client, workers=workers)
    return client


def close_local_cluster() -> None:
    """Shut down the kept ``--workers`` cluster, if any."""
    client, cluster = _LOCAL.pop("client", None), _LOCAL.pop("cluster", None)
    _LOCAL.pop("workers", None)
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
    _restore_dask_logging()


def _restore_dask_logging() -> None:
    """Give Dask's loggers back the levels they had before our local cluster started."""
    for name, level in _LOCAL.pop("levels", {}).items():
        logging.getLogger(name).setLevel(level)


def worker_env(workers: int) -> dict[str, str]:
    """Environment of a local worker process: TensorFlow limited to its share of this machine's cores."""
    share = str(max(1, (os.cpu_count() or 1) // workers))
    return {
        "TF_NUM_INTRAOP_THREADS": share,
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": share,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }


def connect(target: Any) -> Any:
    """A Client from ``--dask``: a Client as it is, a cluster object, or a scheduler address (kept per address)."""
    from distributed import Client

    if isinstance(target, Client):
        return target
    if hasattr(target, "scheduler_address"):
        target = target.scheduler_address
    if not isinstance(target, str):
        raise NnhpError(f"--dask takes a scheduler address or a dask.distributed Client, got {type(target).__name__}.")
    client = _CLIENTS.get(target)
    if client is not None and client.status == "running":
        return client
    try:
        client = Client(target, set_as_default=False, timeout="5s")
    except Exception as exc:
        raise NnhpError(f"--dask {target}: cannot reach the Dask scheduler ({type(exc).__name__}: {exc}).") from None
    _CLIENTS[target] = client
    return client


def check_shippable(data: TrainingData) -> None:
    """Workers get the data by pickling: a tf.data.Dataset cannot travel."""
    if is_dataset(data.full):
        raise NnhpError("--workers and --dask need X, y as arrays: a tf.data.Dataset cannot be sent to worker processes.")


@dataclass(frozen=True)
class Link:
    """The names a worker uses to talk to the driver during one search."""

    topic: str
    stop: str
    replies: str
    pruning: bool

    def reply_queue(self, trial: int) -> str:
        return f"{self.replies}-{trial}"


class RemoteControl:
    """The worker's TrialControl: sends each epoch to the driver, checks Stop, waits for pruning decisions."""

    def __init__(self, link: Link) -> None:
        from distributed import Event, get_worker

        self.link = link
        self.token = uuid.uuid4().hex
        self.worker = get_worker()
        self.stop = Event(link.stop)
        self.replies: dict[int, Any] = {}

    def epoch_end(self, trial: int, fold: int, folds: int, epoch: int, logs: dict[str, float]) -> str | None:
        clean = {k: (v if math.isfinite(v) else None) for k, v in logs.items()}
        message = {"trial": trial, "fold": fold, "folds": folds, "epoch": epoch, "logs": clean, "token": self.token}
        self.worker.log_event(self.link.topic, message)
        if self.link.pruning:
            return self._decision(trial, fold, epoch)
        return STOP if self.stop.is_set() else None

    def _decision(self, trial: int, fold: int, epoch: int) -> str | None:
        """The driver's answer for this epoch; answers meant for an earlier attempt of the trial are skipped."""
        from distributed import Queue

        replies = self.replies.setdefault(trial, Queue(self.link.reply_queue(trial)))
        deadline = time.monotonic() + DECISION_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.stop.is_set():
                return STOP
            try:
                answer = replies.get(timeout=2)
            except TimeoutError:
                continue
            if answer["token"] == self.token and answer["fold"] == fold and answer["epoch"] == epoch:
                return answer["decision"]
        return STOP

    def close(self) -> None:
        for replies in self.replies.values():
            replies.close()


def train_remote(task: TrialTask, build: Callable[..., Any], data: TrainingData, config: FitConfig, link: Link) -> TrialOutcome:
    """Run one trial on a Dask worker; the model comes back as ``.keras`` bytes."""
    from distributed import get_worker

    control = RemoteControl(link)
    try:
        outcome = run_trial(task, build, data, config, control)
        if outcome.model is not None:
            outcome.model = backend.model_to_bytes(outcome.model)
        return outcome
    finally:
        control.close()
        if get_worker().state.nthreads == 1:
            free_worker_memory()


def free_worker_memory() -> None:
    """Clear Keras' state between trials on a worker, and hand freed heap pages back to the system.

    TensorFlow's import leaves ~400,000 objects, so each full garbage collection
    costs most of a second; after the first trial they are frozen, skipped by
    later collections (the worker process belongs to the search, not to the user).
    Without ``malloc_trim`` a worker's RSS creeps up ~4 MB a trial in freed but
    unreturned glibc arenas, as Dask's documentation warns.
    """
    backend.clear_session()
    if not gc.get_freeze_count():
        gc.freeze()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class DaskExecutor:
    """Runs trials on a Dask cluster, keeping one trial in flight per worker thread."""

    refills = True

    def __init__(self, client: Any, *, pruning: bool = False) -> None:
        self.client = client
        self.pruning = pruning
        self.concurrency = max(1, sum(client.nthreads().values()))

    def run(
        self,
        tasks: Iterable[TrialTask],
        build: Callable[..., Any],
        data: TrainingData,
        config: FitConfig,
        control: TrialControl,
    ) -> Iterator[TrialOutcome]:
        check_shippable(data)
        session = _Session(self, build, data, config, control)
        try:
            yield from session.drive(iter(tasks))
        finally:
            session.close()


class _Session:
    """One ``run`` on the cluster: the scattered data, the trials in flight, and the channels to the workers."""

    def __init__(
        self, executor: DaskExecutor, build: Callable[..., Any], data: TrainingData, config: FitConfig, control: TrialControl
    ) -> None:
        from distributed import Event

        self.client, self.concurrency = executor.client, executor.concurrency
        self.build, self.config, self.control = build, config, control
        self.run_id = uuid.uuid4().hex[:12]
        self.link = Link(f"nnhp-{self.run_id}", f"nnhp-stop-{self.run_id}", f"nnhp-reply-{self.run_id}", executor.pruning)
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client.subscribe_topic(self.link.topic, lambda event: self.inbox.put(("epoch", event[1])))
        self.stop = Event(self.link.stop, client=self.client)
        self.futures: dict[int, Any] = {}
        self.tasks: dict[int, TrialTask] = {}
        self.replies: dict[int, Any] = {}
        [self.data] = self.client.scatter([data], broadcast=True, hash=False)

    def drive(self, stream: Iterator[TrialTask]) -> Iterator[TrialOutcome]:
        """Keep the workers busy from the stream; yield each outcome as its trial ends."""
        self._fill(stream)
        while self.futures:
            kind, payload = self.inbox.get()
            if kind == "epoch":
                self._epoch(payload)
                continue
            outcome = self._outcome(payload)
            if outcome is not None:
                yield outcome
                self._fill(stream)

    def _fill(self, stream: Iterator[TrialTask]) -> None:
        """Submit tasks from the stream until every worker thread has one."""
        while len(self.futures) < self.concurrency:
            task = next(stream, None)
            if task is None:
                return
            future = self.client.submit(
                train_remote, task, self.build, self.data, self.config, self.link,
                key=f"nnhp-trial-{task.number}-{self.run_id}",
            )
            self.futures[task.number], self.tasks[task.number] = future, task
            future.add_done_callback(lambda _f, number=task.number: self.inbox.put(("done", number)))

    def _epoch(self, message: dict[str, Any]) -> None:
        """Forward a worker's epoch to the search; send back Stop and pruning decisions."""
        trial = message["trial"]
        if trial not in self.futures:
            return
        logs = {k: (math.nan if v is None else v) for k, v in message["logs"].items()}
        decision = self.control.epoch_end(trial, message["fold"], message["folds"], message["epoch"], logs)
        if decision == STOP:
            self.stop.set()
        if self.link.pruning:
            from distributed import Queue

            if trial not in self.replies:
                self.replies[trial] = Queue(self.link.reply_queue(trial), client=self.client)
            self.replies[trial].put({k: message[k] for k in ("token", "fold", "epoch")} | {"decision": decision})

    def _outcome(self, number: int) -> TrialOutcome | None:
        """The finished trial's outcome; a lost worker or a cancelled task gives an ``interrupted`` record."""
        from distributed import KilledWorker

        if number not in self.futures:
            return None
        future, task = self._forget(number)
        try:
            return future.result()
        except NnhpError:
            raise
        except KilledWorker as exc:
            return _interrupted(task, f"its worker died repeatedly ({exc})")
        except Exception as exc:
            if future.cancelled():
                return _interrupted(task, "cancelled on the cluster")
            raise NnhpError(
                f"trial {task.number} could not run on the Dask cluster: {type(exc).__name__}: {exc}. "
                "Are nnhp-magics, TensorFlow and what BUILD imports installed on every worker?"
            ) from None

    def _forget(self, number: int) -> tuple[Any, TrialTask]:
        replies = self.replies.pop(number, None)
        if replies is not None:
            replies.close()
        return self.futures.pop(number), self.tasks.pop(number)

    def close(self) -> None:
        """Stop what still runs, cancel its tasks, and release the data and the channels."""
        self.stop.set()
        self.client.cancel(list(self.futures.values()))
        for number in list(self.futures):
            self._forget(number)
        self.client.unsubscribe_topic(self.link.topic)
        self.data.release()


def _interrupted(task: TrialTask, reason: str) -> TrialOutcome:
    return TrialOutcome(Trial(number=task.number, params=dict(task.params), state=INTERRUPTED, error=reason, round=task.round))

