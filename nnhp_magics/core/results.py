"""The result model: one ``Trial`` record per trial, and the ``Search`` that holds them.

Pure logic: no TensorFlow or IPython import. A ``Search`` is live while its search
runs (trials fill in, ``best_*`` give the best so far) and final afterwards; the
same object backs the leaderboard, the exports and the static HTML view.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nnhp_magics.errors import NnhpError

if TYPE_CHECKING:
    from nnhp_magics.core.space import SearchSpace

RUNNING, COMPLETE, PRUNED, FAILED, INTERRUPTED = "running", "complete", "pruned", "failed", "interrupted"
FINISHED_STATES = (COMPLETE, PRUNED, FAILED)


@dataclass
class Trial:
    """Everything known about one trial: parameters, state, score, per-epoch history, cost."""

    number: int
    params: dict[str, Any]
    state: str = RUNNING
    score: float | None = None
    score_std: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    fold_histories: list[dict[str, list[float]]] = field(default_factory=list)
    best_epochs: list[int] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    error: str | None = None
    engine: str = "fit"
    engine_reason: str | None = None
    round: int = 1

    @property
    def best_epoch(self) -> float | None:
        """The restored best epoch (1-based); the mean over folds under CV."""
        if not self.best_epochs:
            return None
        return sum(self.best_epochs) / len(self.best_epochs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (tuples in parameters become lists)."""
        return json.loads(json.dumps(asdict(self), default=_jsonable))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return repr(value)


@dataclass(frozen=True)
class Objective:
    """The metric to optimise and its direction."""

    name: str
    direction: Literal["minimize", "maximize"]

    @property
    def minimize(self) -> bool:
        return self.direction == "minimize"

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` beats score ``b``."""
        return a < b if self.minimize else a > b

    def describe(self) -> str:
        return f"{self.name} ({'min' if self.minimize else 'max'})"


_MIN_WORDS = ("loss", "error", "mse", "mae", "mape", "msle", "rmse", "crossentropy", "hinge", "poisson", "kl")
_MAX_WORDS = ("accuracy", "acc", "auc", "r2", "precision", "recall", "f1", "iou")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def metric_words(name: str) -> list[str]:
    """The lowercase words of a metric name, snake_case or CamelCase: ``RootMeanSquaredError`` -> root, mean, squared, error."""
    return [w for w in _CAMEL_BOUNDARY.sub("_", name).lower().replace("-", "_").split("_") if w]


def parse_objective(text: str) -> Objective:
    """Turn ``val_loss``, ``val_RootMeanSquaredError``, ``max:val_f1`` and the like into an Objective.

    The direction is inferred from the metric name's words (snake_case or
    CamelCase); names it cannot classify need a ``min:`` or ``max:`` prefix.
    """
    text = text.strip()
    directions: tuple[tuple[str, Literal["minimize", "maximize"]], ...] = (("min:", "minimize"), ("max:", "maximize"))
    for prefix, direction in directions:
        if text.startswith(prefix):
            name = text[len(prefix):].strip()
            if not name:
                raise NnhpError(f"--objective {text!r} names no metric after {prefix!r}.")
            return Objective(name, direction)
    base = text[4:] if text.startswith("val_") else text
    words = metric_words(base)
    if any(w in _MAX_WORDS for w in words) or base.lower() in _MAX_WORDS:
        return Objective(text, "maximize")
    if any(w in _MIN_WORDS for w in words) or base.lower() in _MIN_WORDS:
        return Objective(text, "minimize")
    raise NnhpError(
        f"--objective {text!r}: cannot tell whether to minimise or maximise it. "
        f"Write --objective min:{text} or --objective max:{text}."
    )


def _spelling_key(name: str) -> str:
    return name.lower().replace("_", "")


def resolve_objective(objective: Objective, logged: list[str]) -> Objective:
    """The objective under the name the model logs: exact, or the same metric in the other case style.

    ``val_root_mean_squared_error`` resolves to a logged ``val_RootMeanSquaredError``
    and back; a name the model never logs is an error listing the names it does log.
    """
    if objective.name in logged:
        return objective
    matches = [name for name in logged if _spelling_key(name) == _spelling_key(objective.name)]
    if len(matches) == 1:
        return Objective(matches[0], objective.direction)
    raise NnhpError(
        f"--objective {objective.name} is not logged by the model. It logs: {', '.join(sorted(logged)) or 'nothing'}. "
        "Pick one of those, or add the metric in model.compile(metrics=[...]); name a model's outputs "
        '(e.g. keras.layers.Dense(1, name="main")) to get per-output names such as val_main_loss.'
    )


class SearchRecord:
    """The record of a search, live while it runs and final afterwards; ``Search`` (``nnhp_magics.api``) adds the views.

    ``best_params``, ``best_score``, ``best_trial`` and ``best_model`` give the best
    complete trial so far; ``trials`` holds a snapshot of every trial in start
    order: the search thread stores copies, so a reader's list never changes under
    it. ``leaderboard()``, ``to_csv()`` and ``export()`` read from them. ``space``
    is the SearchSpace it ran with (None when reopened from storage) and
    ``magic_line`` the ``%%hpsearch`` line that started it, when known, and
    ``plan_text`` hyperband's plan (brackets, configurations, epochs), else None.
    ``classes`` lists the class labels y's integer codes stand for when y held
    strings, categories or bools (None otherwise).
    ``run_round()`` runs a refined spec as more trials of the same search (in the
    kernel that ran it), and ``rounds`` keeps each round's spec. Only the search
    loop, its rounds and the storage fill a record in, through the methods under
    "filling in".
    """

    def __init__(
        self,
        *,
        objective: Objective,
        param_names: list[str],
        strategy: str = "random",
        budget: int = 10,
        cv: int | None = None,
        max_epochs: int = 100,
        spec_text: str = "",
        study_name: str | None = None,
        classes: list[Any] | None = None,
    ) -> None:
        self.objective = objective
        self.classes = classes
        self.param_names = list(param_names)
        self.strategy = strategy
        self.budget = budget
        self.cv = cv
        self.max_epochs = max_epochs
        self.study_name = study_name
        self.rounds: list[dict[str, Any]] = [
            {"round": 1, "spec": spec_text, "strategy": strategy, "trials": budget, "param_names": list(param_names)}
        ]
        self._trials: tuple[Trial, ...] = ()
        self.space: SearchSpace | None = None
        self.magic_line: str | None = None
        self.plan_text: str | None = None
        self.stop_reason: str | None = None
        self.started_at: float | None = None
        self._lock = threading.RLock()
        self._done = threading.Event()
        self._stop_requested = threading.Event()
        self._best_model: Any = None
        self._best_model_trial: int | None = None
        self._best_weights: list[Any] | None = None
        self._save_model: Callable[[Any, Path, Path], None] = _save_model
        self._refit: Callable[[Trial], Any] | None = None
        self._error: BaseException | None = None
        self._follow_up: Callable[..., SearchRecord] | None = None
        self._subscribe: Callable[[Callable[[Any], None]], None] | None = None
        #: The execution count of the cell whose dashboard already shows this search's static result (or None).
        self.shown_in_cell: int | None = None

    @property
    def trials(self) -> list[Trial]:
        """Every trial so far, in number order: copies the running search never changes."""
        return list(self._trials)

    # ----- filling in (the search loop, its rounds and the storage) ----------------------------
    def record_trial(self, trial: Trial) -> Trial:
        """Store a snapshot of ``trial``, replacing the one with its number, and return the snapshot."""
        snapshot = copy.deepcopy(trial)
        with self._lock:
            kept = [t for t in self._trials if t.number != trial.number] + [snapshot]
            self._trials = tuple(sorted(kept, key=lambda t: t.number))
        return snapshot

    def offer_model(self, trial: Trial, model: Any) -> None:
        """Keep ``model`` if ``trial`` is now the best complete trial (without CV)."""
        with self._lock:
            best = self.best_trial_or_none
            if best is not None and best.number == trial.number:
                self._best_model, self._best_model_trial, self._best_weights = model, trial.number, None

    def finish(self, reason: str, error: BaseException | None = None) -> None:
        """The search ended for ``reason``; ``error`` is re-raised by :meth:`wait`."""
        self.stop_reason = reason
        self._error = error
        self._done.set()

    def add_param_names(self, names: list[str]) -> None:
        """Leaderboard columns for parameters a later round added, in order."""
        with self._lock:
            self.param_names += [n for n in names if n not in self.param_names]

    def reopen(self, budget: int) -> None:
        """A follow-up round starts: live again, with the budget raised to ``budget`` finished trials."""
        with self._lock:
            self.budget = budget
            self.stop_reason, self._error = None, None
            self._stop_requested.clear()
            self._done.clear()

    def connect(
        self,
        *,
        refit: Callable[[Trial], Any] | None = None,
        follow_up: Callable[..., SearchRecord] | None = None,
        subscribe: Callable[[Callable[[Any], None]], None] | None = None,
        save: Callable[[Any, Path, Path], None] | None = None,
    ) -> None:
        """Wire the record to what only its search holds: the best-model refit, the next round, the event bus, the model saver."""
        if refit is not None:
            self._refit = refit
        if save is not None:
            self._save_model = save
        if follow_up is not None:
            self._follow_up = follow_up
        if subscribe is not None:
            self._subscribe = subscribe

    def subscribe(self, listener: Callable[[Any], None]) -> bool:
        """Send this search's future events (later rounds too) to ``listener``; False if none will come."""
        if self._subscribe is None:
            return False
        self._subscribe(listener)
        return True

    @property
    def can_run_round(self) -> bool:
        """Whether :meth:`run_round` works here (the kernel that ran the search holds BUILD and the data)."""
        return self._follow_up is not None

    # ----- control ----------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the search has ended (always True for a finished foreground search)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> SearchRecord:
        """Block until a background search ends; re-raises an error it ended with."""
        self._done.wait(timeout)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Ask the search to end gracefully: finished trials kept, running ones ``interrupted``."""
        self._stop_requested.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    # ----- reading ----------------------------------------------------------------------------
    def finished_trials(self) -> list[Trial]:
        return [t for t in self.trials if t.state in FINISHED_STATES]

    def count_toward_budget(self) -> int:
        return len(self.finished_trials())

    @property
    def best_trial_or_none(self) -> Trial | None:
        best: Trial | None = None
        for t in self.trials:
            if t.state != COMPLETE or t.score is None or math.isnan(t.score):
                continue
            if best is None or self.objective.better(t.score, best.score):  # type: ignore[arg-type]
                best = t
        return best

    @property
    def best_trial(self) -> Trial:
        """The complete trial with the best score."""
        best = self.best_trial_or_none
        if best is None:
            raise NnhpError(self._no_best_message())
        return best

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_score(self) -> float:
        return float(self.best_trial.score)  # type: ignore[arg-type]

    @property
    def best_model(self) -> Any:
        """The best model: the best trial's own model, or under CV a refit on all the data.

        The refit runs once, on first access: early-stopping on --valid when given, else
        for the mean restored-best epoch of the best trial's folds. Its weights are noted
        when first handed out, so :meth:`export` writes the search's result even after the
        user trains it further.
        """
        best = self.best_trial
        with self._lock:
            if self._best_model is not None and self._best_model_trial == best.number:
                if self._best_weights is None:
                    self._best_weights = self._best_model.get_weights()
                return self._best_model
        if self._refit is None:
            raise NnhpError(
                f"trial {best.number}'s model is not available in this process "
                "(reopened searches keep only the models saved with their trials)."
            )
        model = self._refit(best)
        with self._lock:
            self._best_model, self._best_model_trial, self._best_weights = model, best.number, model.get_weights()
        return model

    def _no_best_message(self) -> str:
        if not self.trials:
            return "the search has no finished trial yet."
        failed = [t for t in self.trials if t.state == FAILED]
        if failed and len(failed) == len(self.trials):
            return "every trial failed:\n" + summarize_failures(failed)
        return "no trial completed yet, so there is no best trial."

    def leaderboard(self) -> Any:
        """One row per trial, best first: a pandas DataFrame when pandas is installed, else dicts."""
        rows = self.leaderboard_rows()
        try:
            import pandas as pd
        except ImportError:
            return rows
        frame = pd.DataFrame(rows, columns=self.leaderboard_columns())
        return frame.set_index("trial")

    def leaderboard_columns(self) -> list[str]:
        cols = ["trial", "state", "score"]
        if self.cv:
            cols.append("score_std")
        cols += self.param_names + ["epochs", "best_epoch", "seconds", "round", "engine", "engine_reason", "error"]
        return cols

    def leaderboard_rows(self) -> list[dict[str, Any]]:
        """Rows sorted by score (best first); unscored trials follow in number order."""
        sign = 1 if self.objective.minimize else -1
        scored = [t for t in self.trials if t.score is not None and not math.isnan(t.score)]
        unscored = [t for t in self.trials if t not in scored]
        ordered = sorted(scored, key=lambda t: (t.state != COMPLETE, sign * t.score, t.number))  # type: ignore[operator]
        ordered += sorted(unscored, key=lambda t: t.number)
        rows = []
        for t in ordered:
            row: dict[str, Any] = {"trial": t.number, "state": t.state, "score": t.score}
            if self.cv:
                row["score_std"] = t.score_std
            for name in self.param_names:
                row[name] = t.params.get(name)
            best_epoch = t.best_epoch
            row.update(
                epochs=t.epochs,
                best_epoch=None if best_epoch is None else round(best_epoch, 1),
                seconds=round(t.seconds, 2),
                round=t.round,
                engine=t.engine,
                engine_reason=t.engine_reason,
                error=t.error,
            )
            rows.append(row)
        return rows

    def to_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The leaderboard as CSV text, also written to ``path`` when given."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.leaderboard_columns(), lineterminator="\n")
        writer.writeheader()
        for row in self.leaderboard_rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        text = buffer.getvalue()
        if path is not None:
            write_text_atomically(Path(path), text)
        return text

    def export(self, path: str | os.PathLike[str], overwrite: bool = False) -> dict[str, Path]:
        """Save the best model (``.keras``), its parameters (``.params.json``) and the leaderboard (``.leaderboard.csv``).

        With class labels, their classes go to ``.classes.json`` (a JSON list: the
        label of each class index the model predicts).

        The model is the search's own result (the best trial's weights at its best
        epoch, or the CV refit), even if ``best_model`` was trained further since.
        All three are written to hidden temporary files in the target folder first
        and renamed over the old ones only when all are written: on a failure the
        previous files are unchanged, and NnhpError says which step failed.
        """
        paths = export_paths(path)
        if self.classes is not None:
            paths["classes"] = paths["params"].with_name(paths["params"].name.replace(".params.json", ".classes.json"))
        check_export_paths(paths, overwrite)
        best = self.best_trial
        model = self.best_model
        texts = {
            "params": json.dumps(
                {"trial": best.number, "score": best.score, "objective": self.objective.name, "params": best.params},
                indent=2,
                default=_jsonable,
            ),
            "leaderboard": self.to_csv(),
        }
        if "classes" in paths:
            texts["classes"] = json.dumps(self.classes, default=_jsonable)
        paths["model"].parent.mkdir(parents=True, exist_ok=True)
        temps = {key: temporary_beside(p) for key, p in paths.items()}
        weights = paths["model"].with_suffix(".weights.h5")
        step, moved = "writing the model", []
        try:
            self._save_best_weights(model, temps["model"], weights)
            for key, text in texts.items():
                step = f"writing the {_EXPORT_TEXTS[key]}"
                temps[key].write_text(text)
            step = "moving the files into place"
            for key, target in paths.items():
                os.replace(temps[key], target)
                moved.append(str(target))
        except NnhpError:  # Keras cannot reload this model: its weights were saved instead, kept with their parameters
            for temp in temps.values():
                temp.unlink(missing_ok=True)
            for key, text in texts.items():
                write_text_atomically(paths[key], text)
            raise
        except Exception as exc:
            for temp in temps.values():
                temp.unlink(missing_ok=True)
            kept = f"{', '.join(moved)} replaced already, the others unchanged" if moved else "the previous files are unchanged"
            raise NnhpError(
                f"the export to {paths['model']} failed while {step}: {type(exc).__name__}: {exc}; {kept}."
            ) from exc
        return paths

    def _save_best_weights(self, model: Any, path: Path, weights: Path) -> None:
        """Save ``model`` with the search's own weights swapped in (the user's are put back after)."""
        with self._lock:
            current = model.get_weights()
            model.set_weights(self._best_weights)
            try:
                self._save_model(model, path, weights)
            finally:
                model.set_weights(current)

    def run_round(
        self,
        spec: str | None = None,
        *,
        strategy: str | None = None,
        trials: int | None = None,
        top: float = 0.25,
        selected: list[int] | None = None,
        background: bool = False,
    ) -> SearchRecord:
        """Run ``spec`` (default: ``refine(top, selected)``) as the next round of this search; returns ``self``.

        The new trials join ``trials`` and the leaderboard with their round number,
        in the same Optuna study (and storage); ``rounds`` gains the round's spec.
        ``strategy`` defaults to the last round's, ``trials`` to 10 (a grid's size
        under ``grid``). Works in the kernel that ran the search, once it has ended.
        """
        if self._follow_up is None:
            raise NnhpError(
                "this search cannot run another round here: a round needs the build function and the data, "
                "which only the kernel that ran the search holds. Re-run its cell (with --storage the "
                "finished trials come back at once), then call run_round()."
            )
        return self._follow_up(
            spec, strategy=strategy, trials=trials, top=top, selected=selected, background=background
        )

    def summary(self) -> str:
        """One line: trials by state and the best score with its parameters."""
        counts: dict[str, int] = {}
        for t in self.trials:
            counts[t.state] = counts.get(t.state, 0) + 1
        states = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no trials"
        best = self.best_trial_or_none
        if best is None:
            return f"{len(self.trials)} trials ({states}); no complete trial."
        score = best.score
        assert score is not None  # best_trial_or_none picks only trials with a score
        return (
            f"{len(self.trials)} trials ({states}); best {self.objective.name} = {format_number(score)} "
            f"(trial {best.number}) with {format_params(best.params)}"
        )

    def __repr__(self) -> str:
        status = "done" if self.done else "running"
        return f"<Search {self.strategy} {status}: {self.summary()}>"


def _save_model(model: Any, path: Path, weights: Path) -> None:
    """Save with the model's own ``save`` (a search wires in Keras' save-and-reload check, which uses ``weights``)."""
    model.save(path)


def format_number(value: float) -> str:
    """A number as every view shows it: four significant digits, like ``"{:.4g}"`` and the widgets' ``fmt``."""
    return f"{value:.4g}"


def format_params(params: dict[str, Any]) -> str:
    """``dict(a=1, b='relu')``: a pasteable literal, floats in the shared four-digit format."""
    return "dict(" + ", ".join(f"{k}={_short_repr(v)}" for k, v in params.items()) + ")"


def _short_repr(value: Any) -> str:
    if isinstance(value, float):
        return format_number(value) if math.isfinite(value) else repr(value)
    return repr(value)


def summarize_failures(trials: list[Trial]) -> str:
    """Distinct failure reasons with the trials that hit them."""
    reasons: dict[str, list[int]] = {}
    for t in trials:
        reasons.setdefault(t.error or "unknown error", []).append(t.number)
    lines = []
    for reason, numbers in reasons.items():
        shown = ", ".join(str(n) for n in numbers[:10]) + (" ..." if len(numbers) > 10 else "")
        lines.append(f"  - trials {shown}: {reason}")
    return "\n".join(lines)


def export_paths(path: str | os.PathLike[str]) -> dict[str, Path]:
    """The three files an export writes, from the model path the user typed."""
    model = Path(path).expanduser()
    if model.suffix != ".keras":
        model = model.with_name(model.name + ".keras")
    stem = model.with_suffix("")
    return {
        "model": model,
        "params": stem.with_name(stem.name + ".params.json"),
        "leaderboard": stem.with_name(stem.name + ".leaderboard.csv"),
    }


#: What each text file of an export holds, as an error about writing it names it.
_EXPORT_TEXTS = {"params": "parameters", "leaderboard": "leaderboard", "classes": "classes"}


def temporary_beside(path: Path) -> Path:
    """A new hidden name in ``path``'s folder ending as ``path`` ends, to write before renaming it over ``path``.

    The whole ending is kept (``.weights.h5``, not only ``.h5``): Keras checks it when saving.
    """
    ending = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(ending)] if ending else path.name
    return path.with_name(f".{stem}.{uuid.uuid4().hex[:8]}.partial{ending}")


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``: never a half-written file."""
    write_atomically(path, lambda temp: temp.write_text(text))


def write_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(temp)`` on a temporary file beside ``path``, then rename it over ``path`` (removed on failure)."""
    temp = temporary_beside(path)
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def check_export_paths(paths: dict[str, Path], overwrite: bool) -> None:
    """Refuse a folder in the way, a file where the folder should be, overwriting without ``overwrite`` and an unwritable folder."""
    for target in paths.values():
        if target.is_dir():
            raise NnhpError(f"cannot export to {target}: it is a folder; give a file name, such as {target / 'best.keras'}.")
    if not overwrite:
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing:
            raise NnhpError(f"{existing[0]} exists already; pass --overwrite (overwrite=True) to replace it.")
    folder = paths["model"].parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise NnhpError(f"cannot write the export to {folder}: {probe} is a file, not a folder.")
    if not os.access(probe, os.W_OK):
        raise NnhpError(f"cannot write the export to {folder}: the folder is not writable.")
