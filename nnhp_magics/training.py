"""One trial: build the user's model, fit it with early stopping, score it, under CV if asked.

The trial runner reports every epoch through a :class:`TrialControl`, which the
search uses to emit events, ask the pruner, and honour Stop. Errors in the user's
model mark the trial failed; configuration errors (a BUILD that returns no
compiled model, an objective the model never logs) abort the search.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Protocol

import numpy as np

from . import backend
from .data import Arrays, Fold, TrainingData, is_dataset
from .errors import NnhpError
from .results import COMPLETE, FAILED, INTERRUPTED, PRUNED, Objective, Trial
from .routing import Routed, route

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
) -> TrialOutcome:
    """Train and score one trial on every fold; never raises for the user's model failing."""
    record = Trial(number=task.number, params=dict(task.params), round=task.round)
    started = time.perf_counter()
    routed = route(task.params, build)
    folds = data.folds
    model = None
    try:
        for fold_index, fold in enumerate(folds):
            if config.seed is not None:
                backend.set_seed(trial_seed(config.seed, task.number, fold_index))
            model = build_model(build, routed)
            verdict, history, best_index, stopped_by = _fit_fold(
                model, fold, routed, config, control, task.number, fold_index, len(folds)
            )
            record.fold_histories.append(history)
            record.epochs += len(next(iter(history.values()), []))
            if verdict is not None:
                record.state, record.error = FAILED, verdict
                break
            record.best_epochs.append(best_index + 1)
            if stopped_by is not None:
                record.state = PRUNED if stopped_by == PRUNE else INTERRUPTED
                record.score = _fold_score(model, fold, history, best_index, config.objective, len(folds) > 1)
                break
            record.fold_scores.append(_fold_score(model, fold, history, best_index, config.objective, len(folds) > 1))
        else:
            record.state = COMPLETE
            record.score = float(np.mean(record.fold_scores))
            if len(record.fold_scores) > 1:
                record.score_std = float(np.std(record.fold_scores))
            if math.isnan(record.score):
                record.state, record.error = FAILED, f"the objective {config.objective.name} is NaN"
    except NnhpError:
        raise
    except KeyboardInterrupt:
        record.state, record.error = INTERRUPTED, "interrupted by the user"
        record.seconds = time.perf_counter() - started
        record.history = mean_history(record.fold_histories)
        raise TrialInterrupted(record) from None
    except Exception as exc:
        record.state, record.error = FAILED, describe_exception(exc)
    record.seconds = time.perf_counter() - started
    record.history = mean_history(record.fold_histories)
    keep = keep_model and record.state == COMPLETE and len(folds) == 1
    return TrialOutcome(record, model if keep else None)


class TrialInterrupted(Exception):
    """KeyboardInterrupt during a trial, carrying the partial record."""

    def __init__(self, record: Trial) -> None:
        super().__init__(record.number)
        self.record = record


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


def _fit_fold(
    model: Any,
    fold: Fold,
    routed: Routed,
    config: FitConfig,
    control: TrialControl,
    number: int,
    fold_index: int,
    folds: int,
) -> tuple[str | None, dict[str, list[float]], int, str | None]:
    """Fit one fold; returns (failure reason or None, history, best epoch index, what stopped it)."""
    keras = backend.keras()
    objective = config.objective
    reporter = _callbacks().EpochReporter(control, objective, number, fold_index, folds)
    callbacks: list[Any] = [keras.callbacks.TerminateOnNaN(), reporter]
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
    warmup = config.warmup_epochs if routed.warmup_epochs is None else routed.warmup_epochs
    if warmup:
        callbacks.append(warm_up(warmup))
    user_kwargs = dict(config.fit_kwargs)
    callbacks += list(user_kwargs.pop("callbacks", []) or [])
    epochs = int(routed.fit.get("epochs", config.epochs))
    batch_size = int(routed.fit.get("batch_size", user_kwargs.pop("batch_size", config.batch_size)))
    fit_kwargs: dict[str, Any] = {"epochs": epochs, "verbose": 0, "callbacks": callbacks}
    fit_kwargs.update(user_kwargs)
    if fold.monitor is not None:
        fit_kwargs["validation_data"] = _as_fit_data(fold.monitor)
    if is_dataset(fold.train):
        history = model.fit(fold.train, **fit_kwargs)
    else:
        fit_kwargs["batch_size"] = batch_size
        history = model.fit(fold.train.x, fold.train.y, **fit_kwargs)
    logs = {k: [float(v) for v in values] for k, values in history.history.items()}
    if reporter.nan_epoch is not None or _has_nan(logs.get("loss", [])):
        epoch = reporter.nan_epoch if reporter.nan_epoch is not None else _first_nan(logs.get("loss", []))
        return f"the loss became NaN at epoch {epoch + 1}", logs, 0, None
    values = logs.get(objective.name, [])
    if not values:
        return f"no epoch finished, so {objective.name} was never logged", logs, 0, None
    best_index = _best_index(values, objective) if config.patience > 0 else len(values) - 1
    if math.isnan(values[best_index]):
        return f"the objective {objective.name} is NaN", logs, best_index, None
    return None, logs, best_index, reporter.stopped_by


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


def _fold_score(
    model: Any, fold: Fold, history: dict[str, list[float]], best_index: int, objective: Objective, cross_validated: bool
) -> float:
    """The objective at the restored best epoch: from the history, or evaluated on the held-out fold under CV."""
    if cross_validated and isinstance(fold.scored, Arrays):
        metric = objective.name[4:] if objective.name.startswith("val_") else objective.name
        results = model.evaluate(fold.scored.x, fold.scored.y, verbose=0, return_dict=True)
        if metric not in results:
            raise ObjectiveNotLogged(
                f"--objective {objective.name}: evaluating the held-out fold gives {', '.join(sorted(results))}, "
                f"not {metric}."
            )
        return float(results[metric])
    return float(history[objective.name][best_index])


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

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            if self.objective.name not in logs:
                raise ObjectiveNotLogged(
                    f"--objective {self.objective.name} is not logged by the model. It logs: "
                    f"{', '.join(sorted(logs)) or 'nothing'}. Pick one of those, or add the metric in "
                    "model.compile(metrics=[...])."
                )
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
            self.seen_rates: list[float] = []

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
                self.seen_rates.append(rate)
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
    build: Callable[..., Any], params: dict[str, Any], data: TrainingData, config: FitConfig, epochs: int
) -> Any:
    """Train the best parameters on all of X, y for ``epochs`` epochs (early stopping on --valid when given)."""
    routed = route(params, build)
    if config.seed is not None:
        backend.set_seed(trial_seed(config.seed, -1))
    model = build_model(build, routed)
    fold = Fold(data.full, data.valid, None)
    refit_config = FitConfig(
        objective=config.objective,
        epochs=max(1, epochs),
        patience=config.patience if data.valid is not None else 0,
        batch_size=config.batch_size,
        fit_kwargs=config.fit_kwargs,
        seed=config.seed,
        warmup_epochs=config.warmup_epochs,
    )
    if data.valid is None:
        refit_config.objective = Objective("loss", "minimize")
    routed_for_refit = Routed(build=routed.build, fit={**routed.fit, "epochs": max(1, epochs)}, warmup_epochs=routed.warmup_epochs)
    _fit_fold(model, fold, routed_for_refit, refit_config, NoControl(), -1, 0, 1)
    return model
