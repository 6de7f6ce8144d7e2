"""One trial: build the user's model, fit it with early stopping, score it, under CV if asked.

The trial runner reports every epoch through a :class:`TrialControl`, which the
search uses to emit events, ask the pruner, and honour Stop. Errors in the user's
model mark the trial failed; configuration errors (a BUILD that returns no
compiled model, an objective the model never logs) abort the search.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nnhp_magics.core.data import Arrays, Fold, TrainingData, is_dataset
from nnhp_magics.core.results import COMPLETE, FAILED, INTERRUPTED, PRUNED, Objective, Trial
from nnhp_magics.core.routing import Routed, route
from nnhp_magics.errors import NnhpError
from nnhp_magics.training import backend
from nnhp_magics.training.callbacks import fold_copies, log_dir
from nnhp_magics.training.engine import DEFAULT_PACK
from nnhp_magics.training.preprocessing import adapt_preprocessing

if TYPE_CHECKING:
    from nnhp_magics.training.engine.single import ProgramCache

CONTINUE, PRUNE, STOP = None, "prune", "stop"


@dataclass
class FitConfig:
    """How every trial is trained and scored."""

    objective: Objective
    epochs: int = 100
    patience: int = 10
    batch_size: int = 32
    fit_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    warmup_epochs: float = 0
    engine: str = "auto"
    pack: int = DEFAULT_PACK
    jit: bool | None = None
    tensorboard: str | None = None


@dataclass
class TrialTask:
    """A trial to run: its number and parameters."""

    number: int
    params: dict[str, Any]
    round: int = 1


@dataclass
class TrialOutcome:
    """The finished record, and the trained model when the caller may keep it."""

    record: Trial
    model: Any = None


class TrialControl(Protocol):
    """What the runner calls back into while a trial trains."""

    def epoch_end(self, trial: int, fold: int, folds: int, epoch: int, logs: dict[str, float]) -> str | None:
        """Report one epoch; return ``"prune"`` or ``"stop"`` to end the trial, else None."""


class NoControl:
    """A control that never stops a trial (for refits and tests)."""

    def epoch_end(self, trial: int, fold: int, folds: int, epoch: int, logs: dict[str, float]) -> str | None:
        return CONTINUE


class ObjectiveNotLogged(NnhpError):
    """The model never logs the metric named by ``--objective``."""


class NotACompiledModel(NnhpError):
    """BUILD returned something other than a compiled Keras model."""


def trial_seed(seed: int, number: int, fold: int = 0) -> int:
    """A seed that depends only on (search seed, trial number, fold)."""
    digest = hashlib.sha256(f"{seed}:{number}:{fold}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def run_trial(
    task: TrialTask,
    build: Callable[..., Any],
    data: TrainingData,
    config: FitConfig,
    control: TrialControl,
    *,
    keep_model: bool = True,
    programs: ProgramCache | None = None,
) -> TrialOutcome:
    """Train and score one trial on every fold; never raises for the user's model failing.

    ``programs`` shares the graph engine's traced programs with earlier trials.
    """
    record = Trial(number=task.number, params=dict(task.params), round=task.round)
    started = time.perf_counter()
    routed = route(task.params, build)
    model = None
    with trial_failures(record, started):
        session = graph_session(config, len(data.folds), programs)
        model = train_folds(record, build, routed, data, config, control, session=session,
                            keep_programs=programs is not None)
    close_record(record, started)
    keep = keep_model and record.state == COMPLETE and len(data.folds) == 1
    return TrialOutcome(record, model if keep else None)


def train_folds(
    record: Trial,
    build: Callable[..., Any],
    routed: Routed,
    data: TrainingData,
    config: FitConfig,
    control: TrialControl,
    *,
    session: Any = None,
    first_model: Any = None,
    keep_programs: bool = False,
) -> Any:
    """The one fold loop: build each fold's model (``first_model`` for fold 0 when given), fit, score, account it.

    The trial ends at the first fold that fails, is pruned or is stopped, else it is
    complete with the mean over folds; returns the last fold's model.
    ``keep_programs``: seeding keeps TensorFlow's prepared programs (see :func:`backend.set_seed`).
    """
    folds = data.folds
    model = first_model
    for fold_index, fold in enumerate(folds):
        if model is None or fold_index > 0:
            model = build_fold_model(build, routed, config, record.number, fold_index, fold, keep_programs)
        result = fit_fold(model, fold, routed, config, control, record.number, fold_index, len(folds), session)
        model = result.model
        if account_fold(record, result, fold, config, len(folds)):
            return model
    complete_trial(record, config)
    return model


def build_fold_model(
    build: Callable[..., Any], routed: Routed, config: FitConfig, number: int, fold_index: int, fold: Fold,
    keep_programs: bool = False,
) -> Any:
    """Seed (with --seed) and build the model of one fold of one trial, its preprocessing adapted on the fold."""
    if config.seed is not None:
        backend.set_seed(trial_seed(config.seed, number, fold_index), keep_programs)
    model = build_model(build, routed)
    adapt_preprocessing(model, fold.train)
    return model


def account_fold(record: Trial, result: FoldResult, fold: Fold, config: FitConfig, folds: int) -> bool:
    """Add one fold's outcome to the trial's record; True when the trial ends with this fold."""
    record.engine, record.engine_reason = result.engine, result.reason
    record.fold_histories.append(result.history)
    record.epochs += len(next(iter(result.history.values()), []))
    if result.failure is not None:
        record.state, record.error = FAILED, result.failure
        return True
    record.best_epochs.append(result.best_index + 1)
    score = _fold_score(result, fold, config.objective, folds > 1)
    if result.stopped_by is not None:
        record.state = PRUNED if result.stopped_by == PRUNE else INTERRUPTED
        record.score = score
        return True
    record.fold_scores.append(score)
    return False


def complete_trial(record: Trial, config: FitConfig) -> None:
    """Mark a trial whose every fold finished complete, scored by the mean over folds."""
    record.state = COMPLETE
    record.score = float(np.mean(record.fold_scores))
    if len(record.fold_scores) > 1:
        record.score_std = float(np.std(record.fold_scores))
    if math.isnan(record.score):
        record.state, record.error = FAILED, f"the objective {config.objective.name} is NaN"


def close_record(record: Trial, started: float) -> None:
    """Stamp the trial's duration and its per-epoch history (the mean over folds)."""
    record.seconds = time.perf_counter() - started
    record.history = mean_history(record.fold_histories)


class TrialInterrupted(Exception):
    """KeyboardInterrupt during a trial, carrying the partial record."""

    def __init__(self, record: Trial) -> None:
        super().__init__(record.number)
        self.record = record


class FailureGuard:
    """What :func:`trial_failures` saw: ``failed`` once the trial's code raised and the trial was marked failed."""

    failed = False


@contextlib.contextmanager
def trial_failures(record: Trial, started: float) -> Iterator[FailureGuard]:
    """The one failure policy for a trial's code, in every executor (in-process, packed, on Dask workers).

    The project's own errors propagate (the user must fix their input); an interrupt
    marks the trial ``interrupted`` and ends the search with it (``TrialInterrupted``);
    anything else marks the trial ``failed`` with its reason, and the search goes on.
    """
    guard = FailureGuard()
    try:
        yield guard
    except NnhpError:
        raise
    except KeyboardInterrupt:
        raise interrupted(record, started) from None
    except Exception as exc:
        mark_failed(record, exc)
        guard.failed = True


def interrupted(record: Trial, started: float) -> TrialInterrupted:
    """The user interrupted the trial: its record closed as ``interrupted``, to raise and end the search with."""
    record.state, record.error = INTERRUPTED, "interrupted by the user"
    close_record(record, started)
    return TrialInterrupted(record)


def mark_failed(record: Trial, exc: BaseException) -> None:
    """The trial failed with ``exc``: its state and the one-line reason it keeps."""
    record.state, record.error = FAILED, describe_exception(exc)


def describe_exception(exc: BaseException) -> str:
    """``ValueError: message`` on one line (the reason kept with a failed trial)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    last = text[-1] if len(text) > 1 else ""
    message = first if not last or last == first else f"{first} ... {last}"
    return f"{type(exc).__name__}: {message}"[:500]


def build_model(build: Callable[..., Any], routed: Routed) -> Any:
    """Call BUILD with the trial's parameters and insist on a compiled Keras model."""
    model = build(**routed.build)
    if backend.is_compiled_model(model):
        return model
    name = getattr(build, "__name__", "BUILD")
    if model is None:
        raise NotACompiledModel(f"{name}() returned None. Did you forget `return model`?")
    if isinstance(model, backend.keras().Model):
        raise NotACompiledModel(
            f"{name}() returned a model that is not compiled: call model.compile(loss=..., optimizer=...) "
            "before returning it."
        )
    raise NotACompiledModel(f"{name}() returned {type(model).__name__}, not a compiled Keras model.")


def logged_names(build: Callable[..., Any], params: dict[str, Any], fold: Fold) -> list[str] | None:
    """The names ``fit`` logs for BUILD(params) on ``fold``, read off a fresh model evaluated on two rows.

    A dataset gives one batch instead; the ``val_`` names follow when the fold has
    validation data. None when BUILD or the evaluation fails: the trials report that.
    """
    try:
        model = build_model(build, route(params, build))
        if is_dataset(fold.train):
            results = model.evaluate(fold.train.take(1), verbose=0, return_dict=True)
        else:
            results = model.evaluate(*_as_fit_data(fold.train.take(slice(0, 2))), batch_size=2, verbose=0, return_dict=True)
    except NnhpError:
        raise
    except Exception:
        return None
    names = sorted(results)
    return names + [f"val_{name}" for name in names] if fold.monitor is not None else names


class EngineUnsupported(NnhpError):
    """``--engine graph`` was forced on a trial the graph engine cannot train faithfully."""


#: steps_per_execution for models that fall back to fit under --engine auto (no per-batch callbacks).
FIT_STEPS_PER_EXECUTION = 64


@dataclass
class FoldResult:
    """One fold's training: the trained model, its history, which engine ran it (and why fit) and how it ended."""

    model: Any
    history: dict[str, list[float]]
    engine: str = "fit"
    reason: str | None = None
    best_index: int = 0
    failure: str | None = None
    stopped_by: str | None = None
    evaluate: Callable[[Any, Any], dict[str, float]] | None = None


def graph_session(config: FitConfig, folds: int = 1, programs: ProgramCache | None = None) -> Any:
    """A graph-engine session that carries one trial's traced program across its ``folds`` (None for --engine fit).

    Width hosts only without the user's callbacks: they would see the host model.
    """
    if config.engine == "fit":
        return None
    from nnhp_magics.training.engine.single import GraphSession

    return GraphSession(config.jit, folds, early_stopping=config.patience > 0, programs=programs,
                        share_widths=not config.fit_kwargs.get("callbacks"))


def engine_reason(model: Any, fold: Fold, routed: Routed, config: FitConfig) -> str | None:
    """Why this fold trains through fit rather than the graph engine; None when the graph engine runs it."""
    if config.engine == "fit":
        return "--engine fit"
    from nnhp_magics.training.engine.select import model_reason, setup_reason

    reason = setup_reason(fold, config.fit_kwargs, routed.warmup_epochs or config.warmup_epochs) or model_reason(model)
    if reason is not None and config.engine == "graph":
        raise EngineUnsupported(
            f"--engine graph cannot train this model faithfully: {reason}. "
            "Use --engine auto (such trials fall back to fit) or --engine fit."
        )
    return reason


def fold_callbacks(
    config: FitConfig, control: TrialControl, number: int, fold_index: int, folds: int, graph: bool,
    warmup: float = 0,
) -> tuple[list[Any], Any]:
    """One fold's callbacks and the search's reporter among them.

    In order: early stopping, NaN termination (fit), the reporter, the warm-up
    (fit), the --tensorboard logger, then fresh copies of the user's callbacks.
    """
    keras = backend.keras()
    objective = config.objective
    reporter = _callbacks().EpochReporter(control, objective, number, fold_index, folds)
    callbacks: list[Any] = [reporter] if graph else [keras.callbacks.TerminateOnNaN(), reporter]
    if config.patience > 0:
        callbacks.insert(
            0,
            keras.callbacks.EarlyStopping(
                monitor=objective.name,
                mode="min" if objective.minimize else "max",
                patience=config.patience,
                restore_best_weights=True,
            ),
        )
    if warmup and not graph:
        callbacks.append(warm_up(warmup))
    if config.tensorboard is not None:
        callbacks.append(keras.callbacks.TensorBoard(
            log_dir(config.tensorboard, number, fold_index, folds), update_freq="epoch", profile_batch=0,
            write_graph=False,
        ))
    callbacks += fold_copies(list(config.fit_kwargs.get("callbacks") or []), number, fold_index, folds)
    return callbacks, reporter


def fold_batch_size(routed: Routed, config: FitConfig) -> int:
    """The trial's batch size: tuned in the spec, else --fit-kwargs' batch_size, else --batch-size."""
    return int(routed.fit.get("batch_size", config.fit_kwargs.get("batch_size", config.batch_size)))


def fold_epochs(routed: Routed, config: FitConfig) -> int:
    """The trial's epoch budget: tuned in the spec, else --epochs."""
    return int(routed.fit.get("epochs", config.epochs))


def order_seed(config: FitConfig, number: int, fold_index: int) -> int | None:
    """The graph engine's shuffling seed for one fold (None without --seed)."""
    return trial_seed(config.seed, number, fold_index) if config.seed is not None else None


def fit_fold(
    model: Any,
    fold: Fold,
    routed: Routed,
    config: FitConfig,
    control: TrialControl,
    number: int,
    fold_index: int,
    folds: int,
    session: Any = None,
) -> FoldResult:
    """Fit one fold with the graph engine when it can run the model faithfully, else with fit, and judge it."""
    reason = engine_reason(model, fold, routed, config)
    callbacks, reporter = fold_callbacks(
        config, control, number, fold_index, folds, graph=reason is None,
        warmup=routed.warmup_epochs or config.warmup_epochs,
    )
    try:
        return _train_fold(model, fold, routed, config, callbacks, reporter, reason, number, fold_index, session)
    except NnhpError:
        raise
    except Exception as exc:  # the user's model failed mid-training: keep the epochs it trained
        return FoldResult(
            model, reporter.history, "graph" if reason is None else "fit", reason, failure=describe_exception(exc)
        )


def _train_fold(
    model: Any, fold: Fold, routed: Routed, config: FitConfig, callbacks: list[Any], reporter: Any,
    reason: str | None, number: int, fold_index: int, session: Any,
) -> FoldResult:
    """Train one fold with the engine ``reason`` picked (None: the graph engine) and judge it."""
    if reason is None:
        from nnhp_magics.training.engine.graph import feed_for

        session = session or graph_session(config)
        model, history = session.train(
            model, feed_for(fold.train, fold.monitor), fold_batch_size(routed, config), callbacks,
            fold_epochs(routed, config), order_seed(config, number, fold_index),
            shuffle=bool(config.fit_kwargs.get("shuffle", True)),
        )
        result = FoldResult(model, history, "graph", evaluate=session.evaluate)
    else:
        history = _keras_fit(model, fold, routed, config, callbacks, faster=config.engine == "auto")
        result = FoldResult(model, history, "fit", reason)
    return judge_fold(result, reporter, config)


def _keras_fit(
    model: Any, fold: Fold, routed: Routed, config: FitConfig, callbacks: list[Any], faster: bool
) -> dict[str, list[float]]:
    """Train with ``model.fit`` (steps_per_execution raised when ``faster`` and nothing acts per batch)."""
    warmup = routed.warmup_epochs or config.warmup_epochs
    user_kwargs = dict(config.fit_kwargs)
    user_callbacks = user_kwargs.pop("callbacks", None)
    batch_size = int(routed.fit.get("batch_size", user_kwargs.pop("batch_size", config.batch_size)))
    if faster and not warmup and not user_callbacks and getattr(model, "train_function", None) is None:
        model.steps_per_execution = max(int(model.steps_per_execution), FIT_STEPS_PER_EXECUTION)
    fit_kwargs: dict[str, Any] = {"epochs": fold_epochs(routed, config), "verbose": 0, "callbacks": callbacks}
    fit_kwargs.update(user_kwargs)
    if fold.monitor is not None:
        fit_kwargs["validation_data"] = _as_fit_data(fold.monitor)
    if is_dataset(fold.train):
        history = model.fit(fold.train, **fit_kwargs)
    else:
        fit_kwargs["batch_size"] = batch_size
        history = model.fit(fold.train.x, fold.train.y, **fit_kwargs)
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def judge_fold(result: FoldResult, reporter: Any, config: FitConfig) -> FoldResult:
    """Fill in how a trained fold ended: NaN, no objective, or its best epoch and what stopped it."""
    objective = config.objective
    logs = result.history
    if reporter.nan_epoch is not None or _has_nan(logs.get("loss", [])):
        epoch = reporter.nan_epoch if reporter.nan_epoch is not None else _first_nan(logs.get("loss", []))
        result.failure = f"the loss became NaN at epoch {epoch + 1}"
        return result
    values = logs.get(objective.name, [])
    if not values:
        result.failure = f"no epoch finished, so {objective.name} was never logged"
        return result
    result.best_index = _best_index(values, objective) if config.patience > 0 else len(values) - 1
    if math.isnan(values[result.best_index]):
        result.failure = f"the objective {objective.name} is NaN"
        return result
    result.stopped_by = reporter.stopped_by
    return result


def _as_fit_data(data: Arrays | Any) -> Any:
    return (data.x, data.y) if isinstance(data, Arrays) else data


def _has_nan(values: list[float]) -> bool:
    return any(not math.isfinite(v) for v in values)


def _first_nan(values: list[float]) -> int:
    return next((i for i, v in enumerate(values) if not math.isfinite(v)), 0)


def _best_index(values: list[float], objective: Objective) -> int:
    """The epoch Keras' EarlyStopping restores: the first strictly best value."""
    best = 0
    for i, v in enumerate(values):
        if math.isnan(v):
            continue
        if math.isnan(values[best]) or objective.better(v, values[best]):
            best = i
    return best


def _fold_score(result: FoldResult, fold: Fold, objective: Objective, cross_validated: bool) -> float:
    """The objective at the restored best epoch: from the history, or evaluated on the held-out fold under CV."""
    if cross_validated and isinstance(fold.scored, Arrays):
        metric = objective.name[4:] if objective.name.startswith("val_") else objective.name
        if result.evaluate is not None:
            results = result.evaluate(fold.scored.x, fold.scored.y)
        else:
            results = result.model.evaluate(fold.scored.x, fold.scored.y, verbose=0, return_dict=True)
        if metric not in results:
            raise ObjectiveNotLogged(
                f"--objective {objective.name}: evaluating the held-out fold gives {', '.join(sorted(results))}, "
                f"not {metric}."
            )
        return float(results[metric])
    return float(result.history[objective.name][result.best_index])


def mean_history(histories: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per-epoch mean over folds (each epoch averaged over the folds that reached it)."""
    if len(histories) <= 1:
        return dict(histories[0]) if histories else {}
    merged: dict[str, list[float]] = {}
    for key in histories[0]:
        longest = max(len(h.get(key, [])) for h in histories)
        merged[key] = [
            float(np.mean([h[key][i] for h in histories if len(h.get(key, [])) > i])) for i in range(longest)
        ]
    return merged


@functools.cache
def _callbacks() -> SimpleNamespace:
    """The Keras callback classes, defined on first use so that importing this module imports no Keras."""
    base = backend.keras().callbacks.Callback

    class EpochReporter(base):  # type: ignore[misc, valid-type]
        """Forwards each epoch's logs to the control; checks the objective exists; stops on prune/stop."""

        def __init__(self, control: TrialControl, objective: Objective, number: int, fold: int, folds: int) -> None:
            super().__init__()
            self.control, self.objective = control, objective
            self.number, self.fold, self.folds = number, fold, folds
            self.stopped_by: str | None = None
            self.nan_epoch: int | None = None
            self.history: dict[str, list[float]] = {}

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            if self.objective.name not in logs:
                raise ObjectiveNotLogged(
                    f"--objective {self.objective.name} is not logged by the model. It logs: "
                    f"{', '.join(sorted(logs)) or 'nothing'}. Pick one of those, or add the metric in "
                    "model.compile(metrics=[...])."
                )
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)
            if not math.isfinite(logs.get("loss", 0.0)):
                self.nan_epoch = epoch
            decision = self.control.epoch_end(self.number, self.fold, self.folds, epoch, logs)
            if decision in (PRUNE, STOP):
                self.stopped_by = decision
                self.model.stop_training = True

    class WarmUp(base):  # type: ignore[misc, valid-type]
        """Ramps the learning rate linearly, per batch, up to its compiled value over the first epochs.

        At step ``s`` (0-based) of ``warmup_epochs * steps_per_epoch`` ramp steps the
        rate is ``base * (s + 1) / ramp_steps``; after the ramp the compiled rate is
        left alone, and a fit that ends inside the ramp gets the compiled rate back.
        """

        def __init__(self, warmup_epochs: float) -> None:
            super().__init__()
            self.warmup_epochs = warmup_epochs
            self.step = 0
            self.base_lr = 0.0
            self.ramp_steps = 0

        def on_train_begin(self, logs: Any = None) -> None:
            lr = self.model.optimizer.learning_rate
            if not hasattr(lr, "assign"):
                raise ValueError("warmup_epochs needs an optimizer with a plain learning rate, not a schedule")
            self.base_lr = float(np.asarray(lr))
            steps = self.params.get("steps") or 1
            self.ramp_steps = max(1, int(round(self.warmup_epochs * steps)))

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if self.step < self.ramp_steps:
                rate = self.base_lr * (self.step + 1) / self.ramp_steps
                self.model.optimizer.learning_rate.assign(rate)
            elif self.step == self.ramp_steps:
                self.model.optimizer.learning_rate.assign(self.base_lr)
            self.step += 1

        def on_train_end(self, logs: Any = None) -> None:
            if self.step < self.ramp_steps:
                self.model.optimizer.learning_rate.assign(self.base_lr)

    return SimpleNamespace(EpochReporter=EpochReporter, WarmUp=WarmUp)


def warm_up(epochs: float) -> Any:
    """A Keras callback for the learning-rate warm-up over ``epochs`` epochs."""
    return _callbacks().WarmUp(epochs)


def refit(
    build: Callable[..., Any], params: dict[str, Any], data: TrainingData, config: FitConfig, epochs: int,
    programs: ProgramCache | None = None,
) -> Any:
    """Train the best parameters on all of X, y for ``epochs`` epochs (early stopping on --valid when given).

    With ``programs`` (the search's), the refit trains in the best trial's traced
    program when that is still kept and its XLA choice is the refit's own.
    """
    routed = route(params, build)
    if config.seed is not None:
        backend.set_seed(trial_seed(config.seed, -1), keep_programs=programs is not None)
    model = build_model(build, routed)
    fold = Fold(data.full, data.valid, None)
    adapt_preprocessing(model, fold.train)
    refit_config = replace(config, epochs=max(1, epochs), patience=config.patience if data.valid is not None else 0)
    if data.valid is None:
        refit_config.objective = Objective("loss", "minimize")
    routed_for_refit = Routed(build=routed.build, fit={**routed.fit, "epochs": max(1, epochs)}, warmup_epochs=routed.warmup_epochs)
    session = graph_session(refit_config, 1, programs)
    return fit_fold(model, fold, routed_for_refit, refit_config, NoControl(), -1, 0, 1, session).model
