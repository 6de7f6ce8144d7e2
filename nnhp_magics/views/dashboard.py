"""The live dashboard: search events in, a throttled anywidget out.

``DashboardState`` turns events into the plain data the browser shows (testable
without a browser or a kernel); ``Dashboard`` is the anywidget that syncs that data
and answers the Stop and Export buttons; ``DashboardView`` is the event listener
that applies every event at once but sends at most a few updates a second, so the
dashboard never slows the search.

Stop ends a search gracefully: finished trials are kept, the running ones end
``interrupted``. In the background (``--background``) the kernel is free and a
click arrives at once. In the foreground the kernel is busy, so between epochs
``kernelpump.CommPump`` hands widget messages to Python; where the kernel's
internals are not the ones it knows, Stop is greyed out and the kernel's
interrupt (the stop button of the notebook) does the same: finished trials kept,
the running one interrupted. Each search gets a fresh widget with a fresh run id,
and a click carries it, so a click left over from an earlier search stops nothing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anywidget
import traitlets

from nnhp_magics.core.events import EpochEnded, Event, SearchEnded, SearchStarted, TrialFinished, TrialStarted
from nnhp_magics.core.results import (
    COMPLETE,
    FINISHED_STATES,
    PRUNED,
    RUNNING,
    Objective,
    SearchRecord,
    Trial,
    format_params,
)
from nnhp_magics.errors import NnhpError, SpecError
from nnhp_magics.search.rounds import DEFAULT_ROUND_TRIALS
from nnhp_magics.search.strategies import STRATEGIES
from nnhp_magics.views.explore_panel import importances_payload, refine_payload, round_status, trials_payload
from nnhp_magics.views.frontend import bundle_file, redrawn_traits, view_only
from nnhp_magics.views.throttle import Throttle

#: Seconds between two updates sent to the browser (at most four a second).
SEND_INTERVAL = 0.25
#: The share of complete trials Refine narrows around when no trials are selected.
REFINE_TOP = 0.25

#: The browser's messages: each type's optional fields and the JSON types they may have; anything else is ignored.
MESSAGE_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "stop": {},
    "export": {"path": (str,), "overwrite": (bool,)},
    "refine": {"selected": (list,), "top": (int, float)},
    "run": {"spec": (str,), "strategy": (str,), "trials": (int, str)},
}

_log = logging.getLogger(__name__)


def number(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def jsonable(value: Any) -> Any:
    """Parameter values as JSON: tuples become lists, NumPy scalars Python numbers, NaN None."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float):
        return number(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def params_code(params: dict[str, Any]) -> str:
    """``dict(n_hidden=2, learning_rate=0.0031...)``: the exact literal a user can paste."""
    parts = []
    for name, value in params.items():
        if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
            value = value.item()
        parts.append(f"{name}={value!r}")
    return "dict(" + ", ".join(parts) + ")"


def _curve(values: list[float] | None) -> list[float | None]:
    return [number(v) for v in values or []]


@dataclass
class LiveTrial:
    """A running trial's progress: each fold's curves, and the fold that reported last (the one shown).

    Folds trained one by one report in turn; folds trained together as a pack
    interleave, so each keeps its own curves rather than restarting a shared one.
    """

    number: int
    params: dict[str, Any]
    started: float
    folds: int = 1
    fold: int = 0
    max_epochs: int = 0
    losses: dict[int, list[float | None]] = field(default_factory=dict)
    val_losses: dict[int, list[float | None]] = field(default_factory=dict)

    @property
    def loss(self) -> list[float | None]:
        return self.losses.get(self.fold, [])

    @property
    def val_loss(self) -> list[float | None]:
        return self.val_losses.get(self.fold, [])

    @property
    def epoch(self) -> int:
        """Epochs the shown fold has finished."""
        return len(self.loss)


class DashboardState:
    """What the dashboard shows, as plain data built from search events."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.status = "waiting"
        self.info: dict[str, Any] = {}
        self.objective: Objective | None = None
        self.search: SearchRecord | None = None
        #: When the search first started: elapsed counts from here across its rounds.
        self.started: float | None = None
        self.ended: float | None = None
        #: When the current round started, how many of its trials completed, and when the last of them did:
        #: the ETA comes from this round's rate of completed trials only (instant failures say nothing of it).
        self.round_started: float | None = None
        self.round_complete = 0
        self.last_complete: float | None = None
        self.finished: dict[int, Trial] = {}
        self.live: dict[int, LiveTrial] = {}

    def apply(self, event: Event) -> None:
        """Fold one search event into the state."""
        if isinstance(event, SearchStarted):
            self._start(event.search)
        elif isinstance(event, TrialStarted):
            self.live[event.trial] = LiveTrial(event.trial, dict(event.params), self.clock(), folds=event.folds,
                                               max_epochs=self._max_epochs(event.params))
        elif isinstance(event, EpochEnded):
            self._epoch(event)
        elif isinstance(event, TrialFinished):
            self.live.pop(event.trial, None)
            self.finished[event.trial] = event.record
            if event.record.state == COMPLETE:
                self.round_complete += 1
                self.last_complete = self.clock()
        elif isinstance(event, SearchEnded):
            self._end(event.search, event.reason)

    def _start(self, search: SearchRecord) -> None:
        self.status = RUNNING
        if self.search is not search or self.started is None:
            self.search, self.started = search, self.clock()
        self.ended = None
        self.round_started, self.round_complete, self.last_complete = self.clock(), 0, None
        self.objective = search.objective
        self.info = {
            "strategy": search.strategy,
            "objective": search.objective.name,
            "direction": "min" if search.objective.minimize else "max",
            "budget": search.budget,
            "cv": search.cv,
            "max_epochs": search.max_epochs,
            "params": list(search.param_names),
            "round": len(search.rounds),
            "plan": search.plan_text,
        }
        for trial in list(search.trials):
            if trial.state != RUNNING:
                self.finished[trial.number] = trial

    def _epoch(self, event: EpochEnded) -> None:
        live = self.live.get(event.trial)
        if live is None:
            live = self.live[event.trial] = LiveTrial(event.trial, {}, self.clock())
        live.fold, live.folds = event.fold, event.folds
        live.max_epochs = self._max_epochs(live.params, event.max_epochs)
        losses = live.losses.setdefault(event.fold, [])
        val_losses = live.val_losses.setdefault(event.fold, [])
        del losses[event.epoch:], val_losses[event.epoch:]
        losses.append(number(event.logs.get("loss")))
        val_losses.append(number(event.logs.get("val_loss")))

    def _max_epochs(self, params: dict[str, Any], reported: int = 0) -> int:
        """A tuned ``epochs`` parameter, else what the search reports, else its ``--epochs``."""
        return int(params.get("epochs") or reported or self.info.get("max_epochs") or 0)

    def _end(self, search: SearchRecord, reason: str) -> None:
        self.status = reason
        self.ended = self.clock()
        for trial in list(search.trials):
            if trial.state != RUNNING:
                self.finished[trial.number] = trial
                self.live.pop(trial.number, None)
        self.live.clear()

    # ----- what is sent -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Every synced value of the widget, as plain JSON-ready data."""
        now = self.clock()
        return {
            "status": self.status,
            "info": self.info,
            "clock": self._clock(now),
            "trials": self.rows(),
            "curves": self.curves(),
            "running": [self._live_row(self.live[n], now) for n in sorted(self.live)],
            "best": self.best(),
        }

    def counted(self) -> int:
        """Finished trials that count toward the budget (complete, pruned, failed)."""
        return sum(1 for t in self.finished.values() if t.state in ("complete", "pruned", "failed"))

    def _clock(self, now: float) -> dict[str, Any]:
        if self.started is None:
            return {"elapsed": 0.0, "eta": None}
        end = self.ended if self.ended is not None else now
        return {"elapsed": round(end - self.started, 1), "eta": self._eta(now)}

    def _eta(self, now: float) -> float | None:
        """Seconds left at this round's rate of completed trials; None until one completed, or once overdue."""
        left = int(self.info.get("budget") or 0) - self.counted()
        if self.ended is not None or left <= 0 or not self.round_complete:
            return None
        per_trial = (self.last_complete - self.round_started) / self.round_complete  # type: ignore[operator]
        eta = per_trial * left - (now - self.last_complete)  # type: ignore[operator]
        return round(eta, 1) if eta >= 1 else None

    def rows(self) -> list[dict[str, Any]]:
        """One leaderboard row per trial, in trial order (the browser sorts)."""
        rows = []
        for n in sorted(set(self.finished) | set(self.live)):
            trial = self.finished.get(n)
            if trial is None:
                rows.append({"trial": n, "state": RUNNING, "score": None, "score_std": None,
                             "params": jsonable(self.live[n].params), "epochs": None, "best_epoch": None,
                             "seconds": None, "error": "", "round": self.info.get("round", 1),
                             "engine": None, "engine_reason": None})
                continue
            best_epoch = trial.best_epoch
            rows.append({
                "trial": n,
                "state": trial.state,
                "score": number(trial.score),
                "score_std": number(trial.score_std),
                "params": jsonable(trial.params),
                "epochs": _epochs_per_fold(trial),
                "best_epoch": None if best_epoch is None else round(best_epoch, 1),
                "seconds": round(trial.seconds, 2),
                "error": "" if trial.state == COMPLETE else trial.error or "",
                "round": trial.round,
                "engine": trial.engine,
                "engine_reason": trial.engine_reason,
            })
        return rows

    def curves(self) -> list[dict[str, Any]]:
        """Each finished trial's validation curve (the training loss where there is none)."""
        out = []
        for n in sorted(self.finished):
            history = self.finished[n].history
            metric = "val_loss" if history.get("val_loss") else "loss"
            if history.get(metric):
                out.append({"trial": n, "metric": metric, "values": _curve(history[metric])})
        return out

    def _live_row(self, live: LiveTrial, now: float) -> dict[str, Any]:
        return {
            "trial": live.number,
            "fold": live.fold + 1,
            "folds": live.folds,
            "epoch": live.epoch,
            "max_epochs": live.max_epochs,
            "loss": list(live.loss),
            "val_loss": list(live.val_loss),
            "seconds": round(now - live.started, 1),
        }

    def best(self) -> dict[str, Any]:
        """The best complete trial so far: number, score and its parameters as code."""
        best: Trial | None = None
        for trial in self.finished.values():
            score = number(trial.score)
            if trial.state != COMPLETE or score is None or self.objective is None:
                continue
            if best is None or self.objective.better(score, best.score):  # type: ignore[arg-type]
                best = trial
        if best is None:
            return {}
        return {"trial": best.number, "score": number(best.score), "params": jsonable(best.params),
                "text": format_params(best.params), "code": params_code(best.params)}


def _epochs_per_fold(trial: Trial) -> float:
    """Epochs a trial trained, per fold under CV (``Trial.epochs`` sums the folds)."""
    folds = max(1, len(trial.best_epochs), len(trial.fold_scores))
    return round(trial.epochs / folds, 1)


class Dashboard(anywidget.AnyWidget):
    """The dashboard widget: synced state for ``widgets/dashboard.js`` (bundled with ``explore.js``) and its actions.

    Stop and Export work during and after a search; after it, the Explore panel
    shows importances, score-vs-parameter scatters and parallel coordinates,
    brushing selects trials (``selected``), Refine proposes a narrower spec and
    Run again runs it as the next round in the background.
    """

    _esm = bundle_file("dashboard.js")
    _css = bundle_file("dashboard.css")

    run_id = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("waiting").tag(sync=True)
    info = traitlets.Dict().tag(sync=True)
    clock = traitlets.Dict().tag(sync=True)
    trials: traitlets.List[Any] = traitlets.List().tag(sync=True)
    curves: traitlets.List[Any] = traitlets.List().tag(sync=True)
    running: traitlets.List[Any] = traitlets.List().tag(sync=True)
    best = traitlets.Dict().tag(sync=True)
    stoppable = traitlets.Bool(False).tag(sync=True)
    stopping = traitlets.Bool(False).tag(sync=True)
    exportable = traitlets.Bool(False).tag(sync=True)
    export_path = traitlets.Unicode("best_model.keras").tag(sync=True)
    notice = traitlets.Dict().tag(sync=True)
    explore = traitlets.Dict().tag(sync=True)
    importances = traitlets.Dict().tag(sync=True)
    refine = traitlets.Dict().tag(sync=True)
    selected: traitlets.List[Any] = traitlets.List().tag(sync=True)
    rounds: traitlets.List[Any] = traitlets.List().tag(sync=True)
    round_block = traitlets.Unicode("").tag(sync=True)
    #: Names and defaults the front end takes from Python instead of restating them.
    constants = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lock = threading.RLock()
        self.search: SearchRecord | None = None
        self.sent = 0
        self._notices = 0
        self.on_msg(self._on_message)

    @traitlets.default("constants")
    def _constants(self) -> dict[str, Any]:
        return {
            "synced": redrawn_traits(Dashboard),
            "running": RUNNING,
            "complete": COMPLETE,
            "pruned": PRUNED,
            "counted": list(FINISHED_STATES),
            "strategies": list(STRATEGIES),
            "round_trials": DEFAULT_ROUND_TRIALS,
            "refine_top": REFINE_TOP,
        }

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's view only: the cell's static result below it is what text-only front ends and saved notebooks show."""
        return view_only(super()._repr_mimebundle_(**kwargs))

    def begin(self, search: SearchRecord, *, stoppable: bool) -> None:
        """Bind to a search (or its next round) under a fresh run id: an earlier click cannot reach this run."""
        with self.lock, self.hold_sync():
            self.search = search
            self.run_id = uuid.uuid4().hex
            self.stoppable, self.stopping, self.exportable = stoppable, False, False
            self.rounds = jsonable(search.rounds)
            self.round_block = round_status(search)

    def show(self, snapshot: dict[str, Any]) -> None:
        """Send the values that changed, in one message."""
        with self.lock, self.hold_sync():
            for name, value in snapshot.items():
                setattr(self, name, value)
            self.sent += 1

    def finish(self, snapshot: dict[str, Any]) -> None:
        """The search ended: final values; Stop off, Export on when there is a best model; the Explore data
        (the refine editor empty until Refine is clicked)."""
        with self.lock, self.hold_sync():
            self.show(snapshot)
            self.stoppable, self.stopping = False, False
            self.exportable = bool(snapshot.get("best"))
            if self.search is not None:
                self.explore = trials_payload(self.search)
                self.importances = {"values": [], "error": None, "pending": True}
                self.refine = {}  # the editor stays empty until Refine is clicked
                self.rounds = jsonable(self.search.rounds)
                self.round_block = round_status(self.search)
        if self.search is not None:
            threading.Thread(target=self._compute_importances, args=(self.search,), daemon=True).start()

    def _compute_importances(self, search: SearchRecord) -> None:
        """fANOVA takes a second or two: computed off the cell's thread, sent when ready."""
        payload = importances_payload(search)
        with self.lock:
            if self.search is search:
                self.importances = payload

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A click in the browser: stop, export, refine or run. Malformed messages are logged at debug and ignored."""
        problem = malformed(content)
        if problem is not None:
            _log.debug("dashboard message ignored (%s): %.200r", problem, content)
            return
        if not self.run_id or content.get("run_id") != self.run_id:
            return
        kind = content["type"]
        if kind == "stop":
            self.request_stop()
        elif kind == "export":
            self.export(str(content.get("path") or "").strip(), overwrite=bool(content.get("overwrite")))
        elif kind == "refine":
            self.propose(_trial_numbers(content.get("selected")), top=float(content.get("top") or REFINE_TOP))
        elif kind == "run":
            self.run_round(str(content.get("spec") or ""), str(content.get("strategy") or "") or None,
                           _int_or_none(content.get("trials")))

    def propose(self, selected: list[int] | None, top: float = REFINE_TOP) -> None:
        """Refine: the narrower spec around the selected trials (else the top fraction), into ``refine``."""
        if self.search is None:
            return
        payload = refine_payload(self.search, selected, top)
        with self.lock:
            self.refine = payload

    def run_round(self, spec: str, strategy: str | None, trials: int | None) -> None:
        """Run again: the (edited) spec as the search's next round, in the background; problems go to ``notice``."""
        search = self.search
        if search is None:
            return
        try:
            search.run_round(spec, strategy=strategy, trials=trials, background=True)
        except (NnhpError, SpecError) as exc:
            self._notify("error", str(exc))
        else:
            self._notify("ok", f"round {len(search.rounds)} started: {search.rounds[-1]['trials']} trials")

    def request_stop(self) -> None:
        """End the search gracefully: finished trials kept, running ones interrupted."""
        search = self.search
        if search is None or search.done:
            return
        search.stop()
        with self.lock:
            self.stopping = True

    def export(self, path: str, *, overwrite: bool = False) -> None:
        """Write the best model like ``%hpexport`` and report the outcome in ``notice``."""
        search = self.search
        if search is None or not search.done:
            self._notify("error", "Export works once the search has ended.")
            return
        if not path:
            self._notify("error", "Type a path for the model, e.g. best_model.keras.")
            return
        with self.lock:
            self.export_path = path
        try:
            paths = search.export(path, overwrite=overwrite)
        except NnhpError as exc:
            self._notify("error", str(exc))
        except Exception as exc:  # a failed save must reach the user, not a log
            self._notify("error", f"{type(exc).__name__}: {exc}")
        else:
            self._notify("ok", "saved " + ", ".join(str(p) for p in paths.values()))

    def _notify(self, kind: str, text: str) -> None:
        with self.lock:
            self._notices += 1
            self.notice = {"kind": kind, "text": text, "seq": self._notices}


def malformed(content: Any) -> str | None:
    """Why a browser message must be ignored (not an object, unknown type, a field of the wrong type); None if sound."""
    if not isinstance(content, dict):
        return f"not an object but {type(content).__name__}"
    kind = content.get("type")
    fields = MESSAGE_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return f"unknown type {kind!r}"
    for name, types in fields.items():
        value = content.get(name)
        if value is not None and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            return f"{name} is {type(value).__name__}"
    if not all(type(v) is int for v in content.get("selected") or []):
        return "selected holds something other than trial numbers"
    top = content.get("top")
    if top is not None and not (math.isfinite(top) and 0 < top <= 1):
        return "top is not a fraction in (0, 1]"
    return None


def _trial_numbers(value: list[int] | None) -> list[int] | None:
    """The trial numbers of a checked message; None for no selection."""
    return list(value) if value else None


def _int_or_none(value: Any) -> int | None:
    """A trial count typed in the browser; None when blank or not a number (run_round checks the rest)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class Output(Protocol):
    """Where the view puts the widget, and the static result of the search as each round ends."""

    def show(self, obj: Any) -> None: ...

    def result(self, search: SearchRecord) -> None: ...

    def home(self) -> bool: ...


class DashboardView:
    """Event listener that applies each event at once and sends updates as the live views' ``Throttle`` allows."""

    # An update that comes too soon is sent by a timer once the interval has passed,
    # so the browser is never more than ``interval`` behind. ``pump`` (foreground
    # searches only) lets clicks reach Python between epochs.

    def __init__(
        self,
        output: Output,
        *,
        interval: float = SEND_INTERVAL,
        pump_factory: Callable[[], Callable[[], Any] | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.output = output
        self.throttle = Throttle(interval, clock=clock)
        self.pump_factory = pump_factory
        self.clock = clock
        self.state = DashboardState(clock)
        self.widget: Dashboard | None = None
        self.pump: Callable[[], Any] | None = None
        self.background = False
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.state.apply(event)
            if isinstance(event, SearchStarted):
                self._begin(event.search)
            elif isinstance(event, SearchEnded):
                self._end(event.search)
            elif self.widget is not None:
                self._send_soon()
        if isinstance(event, EpochEnded) and self.pump is not None:
            self.pump()

    def _begin(self, search: SearchRecord) -> None:
        """A search starts: a fresh widget, or for the next round of the same search the widget it already has."""
        self.background = not self.output.home()
        self.pump = None if self.background else self.pump_factory()
        fresh = self.widget is None or self.widget.search is not search
        if fresh:
            self.widget = Dashboard()
        self.widget.begin(search, stoppable=self.background or self.pump is not None)  # type: ignore[union-attr]
        self._send()
        if fresh:
            self.output.show(self.widget)

    def adopt(self, search: SearchRecord) -> Dashboard:
        """A widget showing a search that has ended (or was reopened), ready to explore and to run more rounds."""
        self.state.apply(SearchStarted(search))
        self.state.apply(SearchEnded(search, search.stop_reason or "done"))
        self.widget = Dashboard()
        self.widget.begin(search, stoppable=False)
        began = self.clock()
        self.widget.finish(self.state.snapshot())
        self.throttle.drew(began)
        return self.widget

    def _end(self, search: SearchRecord) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.widget is None:
            return
        began = self.clock()
        self.widget.finish(self.state.snapshot())
        self.throttle.drew(began)
        self.output.result(search)

    def _send_soon(self) -> None:
        wait = self.throttle.wait()
        if wait <= 0:
            self._send()
        elif self._timer is None:
            self._timer = threading.Timer(wait, self._send_late)
            self._timer.daemon = True
            self._timer.start()

    def _send_late(self) -> None:
        with self._lock:
            self._timer = None
            if self.widget is not None and self.state.ended is None:
                self._send()

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        began = self.clock()
        self.widget.show(self.state.snapshot())  # type: ignore[union-attr]
        self.throttle.drew(began)


class CellOutput:
    """Displays into the cell that started the search, also from the search's background thread.

    The search's static result (``views/html.py``) is one output of that cell, kept
    up to date through a display handle: each round's end redraws it, so a notebook
    saved without widget state shows the search as it ended, every round included.
    """

    def __init__(self, shell: Any) -> None:
        from nnhp_magics.views.lrfind import current_cell

        self.shell = shell
        self.parent = shell.get_parent() if hasattr(shell, "get_parent") else None
        self.thread = threading.get_ident()
        self.cell = current_cell()
        self.handle: Any = None

    def home(self) -> bool:
        """Whether events arrive on the thread that ran the cell (a foreground search)."""
        return threading.get_ident() == self.thread

    def show(self, obj: Any) -> None:
        from IPython.display import display

        self._in_cell(lambda: display(obj))

    def result(self, search: SearchRecord) -> None:
        """Show the search's static result below the dashboard, or redraw the one shown at an earlier round."""
        from IPython.display import display

        from nnhp_magics.views.html import search_html

        bundle = {"text/html": search_html(search), "text/plain": search.summary()}
        if self.handle is None:
            self._in_cell(lambda: setattr(self, "handle", display(bundle, raw=True, display_id=True)))
        else:
            self._in_cell(lambda: self.handle.update(bundle, raw=True))
        search.shown_in_cell = self.cell

    def _in_cell(self, send: Callable[[], Any]) -> None:
        """Run ``send`` with the outputs going to the search's cell (from any thread)."""
        set_parent = getattr(self.shell, "set_thread_parent", None)
        if self.home() or self.parent is None or set_parent is None:
            send()
            return
        tokens = set_parent(self.parent)
        try:
            send()
        finally:
            self.shell.reset_thread_parent(tokens)


class _Returned:
    """Output of ``search.explore()``: the caller displays the widget; later rounds run in the background."""

    def home(self) -> bool:
        return False

    def show(self, obj: Any) -> None:
        """Nothing to add: the explore widget is the cell's value, and updates itself."""

    def result(self, search: SearchRecord) -> None:
        """Nothing to add: the search's own cells show its static result."""


def explore_widget(search: SearchRecord) -> Dashboard:
    """``search.explore()``: the dashboard of a finished or reopened search, kept live for its next rounds."""
    if not search.done:
        raise NnhpError("the search is still running: its live dashboard explores it once it ends.")
    view = DashboardView(_Returned())
    widget = view.adopt(search)
    search.subscribe(view)
    return widget


def widget_frontend(shell: Any) -> bool:
    """Whether ``shell`` is an ipykernel, whose front ends (JupyterLab, Notebook, VS Code, Colab) show widgets."""
    try:
        from ipykernel.zmqshell import ZMQInteractiveShell
    except ImportError:
        return False
    return isinstance(shell, ZMQInteractiveShell) and getattr(shell, "kernel", None) is not None


def notebook_view(shell: Any) -> DashboardView | None:
    """The live dashboard for a search run from ``shell``, or None where widgets cannot show."""
    if not widget_frontend(shell):
        return None
    from nnhp_magics.views.comm_pump import CommPump

    return DashboardView(CellOutput(shell), pump_factory=lambda: CommPump.attach(shell.kernel))
