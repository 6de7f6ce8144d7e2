"""The live dashboard: its state after search events, throttling, Stop and Export, views; then in a real kernel."""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import ROOT, tiny_setup_cell

from nnhp_magics.api import Search
from nnhp_magics.core.events import EpochEnded, SearchEnded, SearchStarted, TrialFinished, TrialStarted
from nnhp_magics.core.results import FINISHED_STATES, RUNNING, Trial, parse_objective
from nnhp_magics.search.rounds import DEFAULT_ROUND_TRIALS
from nnhp_magics.search.strategies import STRATEGIES
from nnhp_magics.views.dashboard import (
    CellOutput,
    Dashboard,
    DashboardState,
    DashboardView,
    jsonable,
    params_code,
    widget_frontend,
)
from nnhp_magics.views.frontend import STATIC, bundle_file


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeOutput:
    """Collects what the view displays, and the static results; ``home`` says whether events come on the cell's thread."""

    def __init__(self, home: bool = True) -> None:
        self.shown: list[Any] = []
        self.results: list[str] = []
        self.at_home = home

    def show(self, obj: Any) -> None:
        self.shown.append(obj)

    def result(self, search: Any) -> None:
        self.results.append(search.summary())

    def home(self) -> bool:
        return self.at_home


class FakeModel:
    """Stands in for a Keras model: ``save`` writes a file; it has no weights."""

    def save(self, path: Path) -> None:
        Path(path).write_bytes(b"model")

    def get_weights(self) -> list:
        return []

    def set_weights(self, weights: list) -> None:
        pass


def new_search(cv: int | None = None, budget: int = 4) -> Search:
    return Search(objective=parse_objective("val_loss"), param_names=["units", "act", "dropout"],
                  strategy="random", budget=budget, cv=cv, max_epochs=5)


def finished(number: int, state: str, score: float | None, params: dict, error: str | None = None) -> Trial:
    history = {"loss": [1.0, 0.5], "val_loss": [1.2, score if score is not None else float("nan")]}
    return Trial(number=number, params=params, state=state, score=score, history=history, epochs=2,
                 seconds=1.234, error=error)


def play(search: Search, state: DashboardState, clock: FakeClock) -> None:
    """Trial 0 completes, 1 is pruned, 2 fails, 3 is running: the events a search emits."""
    state.apply(SearchStarted(search))
    runs = [
        (0, {"units": 8, "act": "relu", "dropout": 0.1}, "complete", 0.5, None),
        (1, {"units": 4, "act": "tanh"}, "pruned", 0.9, None),
        (2, {"units": 16, "act": "relu", "dropout": 0.3}, "failed", None, "ValueError: boom"),
    ]
    for number, params, end, score, error in runs:
        state.apply(TrialStarted(number, params))
        for epoch in range(2):
            clock.now += 1
            state.apply(EpochEnded(number, epoch, {"loss": 1.0 / (epoch + 1), "val_loss": 1.2 - epoch * 0.1}, max_epochs=5))
        record = finished(number, end, score, params, error)
        search.record_trial(record)
        state.apply(TrialFinished(record))
    state.apply(TrialStarted(3, {"units": 32, "act": "relu", "dropout": 0.0}))
    search.record_trial(Trial(number=3, params={"units": 32, "act": "relu", "dropout": 0.0}))
    clock.now += 1
    state.apply(EpochEnded(3, 0, {"loss": 0.7, "val_loss": float("nan")}, max_epochs=5))


def test_state_follows_a_search_from_start_to_end():
    clock, search = FakeClock(), new_search()
    state = DashboardState(clock)
    assert state.snapshot()["status"] == "waiting"
    play(search, state, clock)
    snap = state.snapshot()
    assert snap["status"] == "running"
    assert snap["info"] == {"strategy": "random", "objective": "val_loss", "direction": "min", "budget": 4,
                            "cv": None, "max_epochs": 5, "params": ["units", "act", "dropout"], "round": 1, "plan": None}
    rows = {r["trial"]: r for r in snap["trials"]}
    assert [rows[n]["state"] for n in range(4)] == ["complete", "pruned", "failed", "running"]
    assert rows[2]["error"] == "ValueError: boom" and rows[2]["score"] is None
    assert rows[0]["error"] == "" and rows[0]["score"] == 0.5 and rows[0]["seconds"] == 1.23
    assert "dropout" not in rows[1]["params"], "an inactive conditional parameter stays blank"
    assert snap["running"] == [{"trial": 3, "fold": 1, "folds": 1, "epoch": 1, "max_epochs": 5,
                                "loss": [0.7], "val_loss": [None], "seconds": 1.0}]
    assert [c["trial"] for c in snap["curves"]] == [0, 1, 2]
    assert snap["curves"][2]["values"] == [1.2, None], "NaN is sent as null"
    assert snap["best"] == {"trial": 0, "score": 0.5, "params": {"units": 8, "act": "relu", "dropout": 0.1},
                            "text": "dict(units=8, act='relu', dropout=0.1)",
                            "code": "dict(units=8, act='relu', dropout=0.1)"}
    assert state.counted() == 3

    search.trials[-1].state, search.trials[-1].error = "interrupted", "the search ended while it ran"
    clock.now += 2
    state.apply(SearchEnded(search, "stopped"))
    end = state.snapshot()
    assert end["status"] == "stopped" and end["running"] == []
    assert end["trials"][-1]["state"] == "interrupted" and end["trials"][-1]["error"]
    assert end["clock"] == {"elapsed": 9.0, "eta": None}
    clock.now += 50
    assert state.snapshot()["clock"]["elapsed"] == 9.0, "the clock stops with the search"


def test_eta_appears_after_the_first_trial():
    clock, search = FakeClock(), new_search(budget=3)
    state = DashboardState(clock)
    state.apply(SearchStarted(search))
    state.apply(TrialStarted(0, {"units": 8}))
    clock.now += 10
    assert state.snapshot()["clock"] == {"elapsed": 10.0, "eta": None}
    state.apply(TrialFinished(finished(0, "complete", 0.4, {"units": 8})))
    clock.now += 4
    assert state.snapshot()["clock"] == {"elapsed": 14.0, "eta": 16.0}  # 10 s a trial, 2 to go, 4 s into the next


def test_elapsed_spans_rounds_and_eta_comes_from_this_rounds_completed_trials():
    clock, search = FakeClock(), new_search(budget=2)
    state = DashboardState(clock)
    state.apply(SearchStarted(search))
    clock.now += 20
    for n in range(2):
        state.apply(TrialFinished(finished(n, "complete", 0.4, {"units": 8})))
    state.apply(SearchEnded(search, "done"))
    assert state.snapshot()["clock"] == {"elapsed": 20.0, "eta": None}
    clock.now += 5
    search.budget = 12  # round 2: ten more trials
    state.apply(SearchStarted(search))
    clock.now += 1
    assert state.snapshot()["clock"] == {"elapsed": 26.0, "eta": None}, "elapsed counts from the first round"
    state.apply(TrialFinished(finished(2, "failed", None, {"units": 8}, error="ValueError: instant")))
    assert state.snapshot()["clock"]["eta"] is None, "an instant failure gives no rate: no 'ETA 0s' with 9 to go"
    clock.now += 3
    state.apply(TrialFinished(finished(3, "complete", 0.3, {"units": 8})))
    assert state.snapshot()["clock"] == {"elapsed": 29.0, "eta": 32.0}  # 4 s a trial this round, 8 to go


def test_an_overdue_eta_is_hidden_rather_than_zero():
    clock, search = FakeClock(), new_search(budget=10)
    state = DashboardState(clock)
    state.apply(SearchStarted(search))
    clock.now += 1
    state.apply(TrialFinished(finished(0, "complete", 0.4, {"units": 8})))
    assert state.snapshot()["clock"]["eta"] == 9.0
    clock.now += 30
    assert state.snapshot()["clock"]["eta"] is None


def test_rows_use_the_leaderboards_names_and_count_epochs_per_fold():
    search = new_search(cv=2)
    trial = Trial(number=0, params={"units": 8}, state="complete", score=0.4, score_std=0.05, epochs=199,
                  best_epochs=[97, 100], fold_scores=[0.35, 0.45], seconds=2.0)
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(search))
    state.apply(TrialFinished(trial))
    row = state.snapshot()["trials"][0]
    assert row["epochs"] == 99.5, "--epochs 100 under --cv 2 shows per fold, not the folds' sum"
    assert (row["score"], row["score_std"], row["best_epoch"]) == (0.4, 0.05, 98.5)
    board = search.leaderboard_columns()
    assert {"score", "score_std", "best_epoch", "epochs", "engine", "engine_reason"} <= set(row) & set(board)


def test_rows_say_which_engine_trained_a_trial_and_why_fit():
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(new_search()))
    trial = finished(0, "complete", 0.4, {"units": 8})
    trial.engine, trial.engine_reason = "fit", "the callback PerBatch acts per batch (on_train_batch_end)"
    state.apply(TrialFinished(trial))
    row = state.snapshot()["trials"][0]
    assert (row["engine"], row["engine_reason"]) == ("fit", trial.engine_reason)


def test_best_parameters_show_four_digits_and_copy_exactly():
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(new_search()))
    lr = 0.0033459293537374483
    state.apply(TrialFinished(finished(0, "complete", 0.4, {"learning_rate": lr})))
    best = state.snapshot()["best"]
    assert best["text"] == "dict(learning_rate=0.003346)"
    assert best["code"] == f"dict(learning_rate={lr!r})"


def test_cross_validation_shows_the_current_fold():
    clock, search = FakeClock(), new_search(cv=3)
    state = DashboardState(clock)
    state.apply(SearchStarted(search))
    state.apply(TrialStarted(0, {"units": 8}, folds=3))
    for fold in range(2):
        for epoch in range(3):
            state.apply(EpochEnded(0, epoch, {"loss": 1.0 + fold, "val_loss": 2.0}, fold=fold, folds=3, max_epochs=5))
    live = state.snapshot()["running"][0]
    assert (live["fold"], live["folds"], live["epoch"]) == (2, 3, 3)
    assert live["loss"] == [2.0, 2.0, 2.0], "curves restart with each fold"
    assert state.snapshot()["info"]["cv"] == 3


def test_folds_trained_together_keep_their_own_curves():
    clock, search = FakeClock(), new_search(cv=2)
    state = DashboardState(clock)
    state.apply(SearchStarted(search))
    state.apply(TrialStarted(0, {"units": 8}, folds=2))
    for epoch in range(3):
        for fold in range(2):
            state.apply(EpochEnded(0, epoch, {"loss": 1.0 + fold + epoch, "val_loss": 2.0}, fold=fold, folds=2,
                                   max_epochs=5))
    live = state.snapshot()["running"][0]
    assert (live["fold"], live["epoch"]) == (2, 3)
    assert live["loss"] == [2.0, 3.0, 4.0], "one fold's curve, not the two folds' epochs mixed"
    state.apply(EpochEnded(0, 3, {"loss": 9.0, "val_loss": 2.0}, fold=0, folds=2, max_epochs=5))
    live = state.snapshot()["running"][0]
    assert (live["fold"], live["epoch"], live["loss"]) == (1, 4, [1.0, 2.0, 3.0, 9.0])


def test_a_tuned_epochs_parameter_sets_the_epoch_bar():
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(new_search()))
    state.apply(TrialStarted(0, {"epochs": 3}))
    state.apply(EpochEnded(0, 0, {"loss": 1.0}, max_epochs=5))
    assert state.snapshot()["running"][0]["max_epochs"] == 3


def test_a_resumed_search_shows_its_earlier_trials():
    search = new_search()
    search.record_trial(finished(0, "complete", 0.3, {"units": 8}))
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(search))
    assert [r["trial"] for r in state.snapshot()["trials"]] == [0] and state.snapshot()["best"]["trial"] == 0


def test_maximised_objectives_pick_the_highest_score():
    search = Search(objective=parse_objective("val_accuracy"), param_names=["units"], budget=2)
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(search))
    state.apply(TrialFinished(finished(0, "complete", 0.7, {"units": 8})))
    state.apply(TrialFinished(finished(1, "complete", 0.9, {"units": 4})))
    assert state.snapshot()["best"]["trial"] == 1 and state.snapshot()["info"]["direction"] == "max"


def test_parameters_are_sent_as_json_and_copied_as_exact_code():
    params = {"layers": (64, 32), "n": np.int64(5), "lr": np.float64(0.0031234567891), "act": None, "f": float("nan")}
    assert jsonable(params) == {"layers": [64, 32], "n": 5, "lr": 0.0031234567891, "act": None, "f": None}
    code = params_code({"layers": (64, 32), "n": np.int64(5), "lr": np.float64(0.0031234567891), "act": "relu"})
    assert code == "dict(layers=(64, 32), n=5, lr=0.0031234567891, act='relu')"
    assert eval(code) == {"layers": (64, 32), "n": 5, "lr": 0.0031234567891, "act": "relu"}  # noqa: S307


def run_view(view: DashboardView, search: Search, epochs: int, clock: FakeClock | None = None) -> None:
    view(SearchStarted(search))
    view(TrialStarted(0, {"units": 8}))
    for epoch in range(epochs):
        if clock is not None:
            clock.now += 0.01
        view(EpochEnded(0, epoch, {"loss": 1.0, "val_loss": 1.0}, max_epochs=epochs))


def test_updates_are_throttled_and_the_last_one_arrives():
    output = FakeOutput()
    view = DashboardView(output, interval=0.2)
    search = new_search()
    run_view(view, search, epochs=200)
    widget = view.widget
    assert output.shown == [widget]
    assert widget.sent <= 2, "200 epochs in a burst are one or two messages"
    time.sleep(0.5)
    assert widget.running[0]["epoch"] == 200, "the trailing update came by timer"
    record = finished(0, "complete", 0.5, {"units": 8})
    search.record_trial(record)
    view(TrialFinished(record))
    search.finish("done")
    view(SearchEnded(search, "done"))
    assert widget.status == "done" and widget.exportable and not widget.stoppable
    assert widget.trials[0]["state"] == "complete" and widget.running == []


def test_a_steady_stream_of_events_sends_at_most_one_message_per_interval():
    clock = FakeClock()
    view = DashboardView(FakeOutput(), interval=0.25, clock=clock)
    run_view(view, new_search(), epochs=1000, clock=clock)  # 10 s of events, 100 a second
    assert 40 <= view.widget.sent <= 42
    view.state.ended = clock.now  # keep the trailing timer quiet


def test_each_search_gets_a_fresh_run_id_and_ignores_other_clicks():
    first, second = DashboardView(FakeOutput()), DashboardView(FakeOutput())
    s1, s2 = new_search(), new_search()
    run_view(first, s1, epochs=1)
    run_view(second, s2, epochs=1)
    w1, w2 = first.widget, second.widget
    assert w1.run_id and w2.run_id and w1.run_id != w2.run_id
    w2._on_message(w2, {"type": "stop", "run_id": w1.run_id}, [])
    w2._on_message(w2, {"type": "stop"}, [])
    assert not s2.stop_requested, "a click for another search, or without a run id, stops nothing"
    s1.finish("done")
    w1._on_message(w1, {"type": "stop", "run_id": w1.run_id}, [])
    assert not s1.stop_requested, "a click that arrives after its search ended stops nothing"
    w2._on_message(w2, {"type": "stop", "run_id": w2.run_id}, [])
    assert s2.stop_requested and w2.stopping
    for view in (first, second):
        view.state.ended = 0.0


def test_stop_is_offered_in_the_background_and_where_a_pump_runs():
    background = DashboardView(FakeOutput(home=False))
    run_view(background, new_search(), epochs=1)
    assert background.background and background.widget.stoppable
    pumped: list[int] = []
    foreground = DashboardView(FakeOutput(), pump_factory=lambda: lambda: pumped.append(1))
    run_view(foreground, new_search(), epochs=3)
    assert foreground.widget.stoppable and len(pumped) == 3, "the pump runs after every epoch"
    plain = DashboardView(FakeOutput())
    run_view(plain, new_search(), epochs=1)
    assert not plain.widget.stoppable, "without a pump the kernel's interrupt is the way to stop"
    for view in (background, foreground, plain):
        view.state.ended = 0.0


@pytest.mark.parametrize("home", [True, False], ids=["foreground", "background"])
def test_every_round_leaves_the_search_as_it_ended_in_the_cells_static_result(home):
    output = FakeOutput(home=home)
    view = DashboardView(output)
    search = new_search()
    run_view(view, search, epochs=1)
    search.finish("done")
    view(SearchEnded(search, "done"))
    assert output.shown == [view.widget] and output.results == [search.summary()]
    view(SearchStarted(search))  # the next round of the same search: same widget, same static output redrawn
    record = finished(0, "complete", 0.406, {"units": 8})
    search.record_trial(record)
    view(TrialFinished(record))
    view(SearchEnded(search, "done"))
    assert output.shown == [view.widget], "no second widget, no second static result"
    assert len(output.results) == 2 and "0.406" in output.results[-1]


class FakeHandle:
    """What IPython's ``display(..., display_id=True)`` returns: records each update."""

    def __init__(self, data: dict) -> None:
        self.data = [data]

    def update(self, data: dict, raw: bool = False) -> None:
        self.data.append(data)


def test_the_cells_static_result_is_one_display_updated_at_each_round(ip, monkeypatch):
    handles: list[FakeHandle] = []

    def display(obj: Any, raw: bool = False, display_id: bool = False) -> FakeHandle:
        assert raw
        handles.append(FakeHandle(obj))
        return handles[-1]

    monkeypatch.setattr("IPython.display.display", display)
    output = CellOutput(ip)
    search = new_search()
    search.record_trial(finished(0, "complete", 0.5, {"units": 8}))
    search.finish("done")
    output.result(search)
    search.record_trial(finished(1, "complete", 0.406, {"units": 4}))
    output.result(search)
    (handle,) = handles
    assert [("0.406" in d["text/html"], "0.406" in d["text/plain"]) for d in handle.data] == [(False, False), (True, True)]
    search._ipython_display_()
    assert len(handles) == 1, "the cell's value does not repeat the static result"
    monkeypatch.setattr(ip, "execution_count", ip.execution_count + 1)
    search._ipython_display_()
    assert "0.406" in handles[-1].data[0]["text/html"], "a later cell shows it"


def test_the_widgets_text_fallback_is_no_plumbing_line():
    data, _ = Dashboard()._repr_mimebundle_()
    assert data["text/plain"] == "" and "application/vnd.jupyter.widget-view+json" in data


def test_export_writes_the_best_model_once_the_search_ended(tmp_path):
    view = DashboardView(FakeOutput())
    search = new_search()
    run_view(view, search, epochs=1)
    record = finished(0, "complete", 0.5, {"units": 8})
    search.record_trial(record)
    search.offer_model(record, FakeModel())
    widget = view.widget
    target = tmp_path / "best.keras"
    widget._on_message(widget, {"type": "export", "run_id": widget.run_id, "path": str(target)}, [])
    assert widget.notice["kind"] == "error" and "ended" in widget.notice["text"] and not target.exists()
    search.finish("done")
    view(SearchEnded(search, "done"))
    widget._on_message(widget, {"type": "export", "run_id": widget.run_id, "path": str(target)}, [])
    assert widget.notice["kind"] == "ok" and target.read_bytes() == b"model"
    assert (tmp_path / "best.params.json").exists() and (tmp_path / "best.leaderboard.csv").exists()
    widget._on_message(widget, {"type": "export", "run_id": widget.run_id, "path": str(target)}, [])
    assert widget.notice["kind"] == "error" and "overwrite" in widget.notice["text"]
    widget._on_message(widget, {"type": "export", "run_id": widget.run_id, "path": " "}, [])
    assert widget.notice["kind"] == "error" and widget.notice["seq"] == 4


def test_a_terminal_shell_gets_the_text_view(ip):
    from nnhp_magics.views.choose import search_views
    from nnhp_magics.views.text import TextProgress

    assert not widget_frontend(ip)
    for quiet in (False, True):
        views = search_views(ip, quiet)
        assert len(views) == 1 and isinstance(views[0], TextProgress)


def test_without_anywidget_the_magic_falls_back_to_text(ip, monkeypatch):
    from nnhp_magics.views.choose import search_views
    from nnhp_magics.views.text import TextProgress

    monkeypatch.setitem(sys.modules, "anywidget", None)
    monkeypatch.delitem(sys.modules, "nnhp_magics.views.dashboard")
    views = search_views(ip, quiet=False)
    assert len(views) == 1 and isinstance(views[0], TextProgress)
    assert "nnhp_magics.views.dashboard" not in sys.modules, "the dashboard could not load, and the text view took over"


def test_the_widget_loads_its_bundle_from_the_package():
    assert bundle_file("dashboard.js") == ROOT / "nnhp_magics" / "views" / "static" / "dashboard.js"
    assert str(Dashboard._esm) == bundle_file("dashboard.js").read_text()
    assert str(Dashboard._css) == (ROOT / "widgets" / "dashboard.css").read_text()
    assert re.search(r"\bdashboard_default as default\b", bundle_file("dashboard.js").read_text())
    assert not (ROOT / "widgets" / ".keep").exists()


def test_the_front_end_imports_nothing_from_the_network():
    remote = re.compile(r"""(\bimport\b[^;]*?["'`](https?:)?//)|(\bimport\s*\(\s*["'`](https?:)?//)|(@import)|(url\(\s*["']?(https?:)?//)""")
    for path in [*(ROOT / "widgets").iterdir(), *STATIC.iterdir()]:
        if path.suffix in (".js", ".mjs", ".css"):
            text = path.read_text()
            assert not remote.search(text), f"{path.name} loads something from a URL"
    for path in (ROOT / "widgets").glob("*.js"):
        for source in re.findall(r"""^import\b[^;]*?from\s*["']([^"']+)["']""", path.read_text(), re.MULTILINE):
            assert re.fullmatch(r"\./\w+\.js", source), f"{path.name} imports {source}, not a module beside it"
    for name in ("dashboard.js", "lrfind.js"):
        js = bundle_file(name).read_text()
        assert not re.search(r"^\s*import\s", js, re.MULTILINE), f"the bundled {name} imports nothing at all"


def test_the_front_end_takes_names_and_defaults_from_python():
    constants = Dashboard().constants
    assert constants["counted"] == list(FINISHED_STATES) and constants["running"] == RUNNING
    assert (constants["complete"], constants["pruned"]) == ("complete", "pruned")
    assert constants["strategies"] == list(STRATEGIES) and constants["round_trials"] == DEFAULT_ROUND_TRIALS
    assert {"status", "trials", "running", "explore", "round_block"} <= set(constants["synced"])
    assert not {"constants", "layout", "_esm"} & set(constants["synced"])
    sources = "".join(path.read_text() for path in (ROOT / "widgets").glob("*.js"))
    for name in (*FINISHED_STATES, *STRATEGIES):
        assert f'"{name}"' not in sources, f"the front end restates {name!r} instead of reading constants"
    assert not re.search(rf'[!=]==\s*"{RUNNING}"', sources), "a state compared with a literal instead of constants"


def test_the_trailing_update_comes_from_a_timer_thread():
    seen: list[str] = []
    view = DashboardView(FakeOutput(), interval=0.1)
    search = new_search()
    run_view(view, search, epochs=2)
    original = view.widget.show
    view.widget.show = lambda snap: (seen.append(threading.current_thread().name), original(snap))  # type: ignore[method-assign]
    view(EpochEnded(0, 2, {"loss": 1.0}, max_epochs=3))
    time.sleep(0.3)
    assert seen and seen[-1] != threading.main_thread().name
    view.state.ended = 0.0


# ----- in a real kernel -------------------------------------------------------------------------

SETUP = tiny_setup_cell(units=4, learning_rate=0.01, rows=64, extra=r'''
import time

class Slow(keras.callbacks.Callback):
    """Makes each epoch last long enough to watch."""
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(SLEEP)

SLEEP = 0.3
slow = {"callbacks": [Slow()]}
''')

SEARCH = "%%hpsearch build X y --epochs 3 --patience 0 --seed 0 --fit-kwargs slow {options}\nunits = int(2, 8)\n"
DASHBOARD_ID = "nnhp_magics.views.dashboard.Dashboard"


class KernelDriver:
    """Runs code in a real ipykernel and keeps every message it sends, to check what a front end would see."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km, self.kc = km, kc
        self.iopub: list[dict[str, Any]] = []
        self.replies: dict[str, dict[str, Any]] = {}
        self.reply_order: list[str] = []

    def execute(self, code: str) -> str:
        return self.kc.execute(code, store_history=False)

    def _pump_iopub(self, timeout: float) -> None:
        try:
            self.iopub.append(self.kc.get_iopub_msg(timeout=timeout))
        except Exception:  # queue.Empty
            pass

    def wait(self, predicate: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            self._pump_iopub(0.2)
        raise AssertionError("timed out waiting for the kernel")

    def idle(self, msg_id: str) -> bool:
        return any(m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                   and m["parent_header"].get("msg_id") == msg_id for m in self.iopub)

    def reply(self, msg_id: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while msg_id not in self.replies and time.monotonic() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=0.2)
            except Exception:
                self._pump_iopub(0.05)
                continue
            parent = msg["parent_header"].get("msg_id")
            self.replies[parent] = msg
            self.reply_order.append(parent)
        assert msg_id in self.replies, "no reply from the kernel"
        self.wait(lambda: self.idle(msg_id), 30)
        return self.replies[msg_id]

    def run(self, code: str, timeout: float = 180) -> list[dict[str, Any]]:
        msg_id = self.execute(code)
        reply = self.reply(msg_id, timeout)
        assert reply["content"]["status"] == "ok", reply["content"]
        return self.outputs(msg_id)

    def outputs(self, msg_id: str) -> list[dict[str, Any]]:
        kinds = ("stream", "display_data", "execute_result", "error")
        return [m for m in self.iopub if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] in kinds]

    def text(self, msg_id: str) -> str:
        return "".join(m["content"].get("text", "") for m in self.outputs(msg_id) if m["msg_type"] == "stream")

    def dashboards(self) -> list[str]:
        return [m["content"]["comm_id"] for m in self.iopub if m["msg_type"] == "comm_open"
                and m["content"]["data"].get("state", {}).get("_anywidget_id") == DASHBOARD_ID]

    def state(self, comm_id: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for m in self.iopub:
            content = m["content"]
            if m["msg_type"] in ("comm_open", "comm_msg") and content.get("comm_id") == comm_id:
                merged.update(content["data"].get("state", {}))
        return merged

    def click(self, comm_id: str, content: dict[str, Any]) -> None:
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}})
        self.kc.shell_channel.send(msg)


@pytest.fixture(scope="module")
def kernel():
    """One real ipykernel for this module's kernel tests, with TensorFlow pinned to one thread."""
    manager = pytest.importorskip("jupyter_client.manager")
    import os

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    km, kc = manager.start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT))
    driver = KernelDriver(km, kc)
    try:
        driver.run(SETUP, timeout=240)
        yield driver
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def new_dashboard(kernel: KernelDriver, before: list[str], timeout: float = 180) -> str:
    return kernel.wait(lambda: [c for c in kernel.dashboards() if c not in before], timeout)[0]


def when(kernel: KernelDriver, comm: str, check: Any, timeout: float = 240) -> dict[str, Any]:
    """The dashboard's synced state, once ``check(state)`` holds."""
    return kernel.wait(lambda: (lambda state: check(state) and state)(kernel.state(comm)), timeout)


def has_complete(state: dict[str, Any]) -> bool:
    return any(row["state"] == "complete" for row in state.get("trials", []))


@pytest.mark.slow
def test_stop_reaches_a_busy_foreground_search_and_queued_cells_still_run(kernel):
    before = kernel.dashboards()
    cell = kernel.execute(SEARCH.format(options="--trials 40 -o fg"))
    comm = new_dashboard(kernel, before)
    state = when(kernel, comm, lambda s: s.get("run_id") and s.get("stoppable") and has_complete(s))
    queued = kernel.execute("after_search = 41 + 1")
    kernel.click(comm, {"type": "stop", "run_id": "an-earlier-search"})
    kernel.click(comm, {"type": "stop", "run_id": state["run_id"]})
    assert kernel.reply(cell)["content"]["status"] == "ok"
    assert kernel.reply(queued)["content"]["status"] == "ok"
    assert kernel.reply_order.index(cell) < kernel.reply_order.index(queued), "queued cells run after the search"
    check = kernel.execute("print(fg.stop_reason, len(fg.trials), fg.trials[-1].state, after_search)")
    kernel.reply(check)
    reason, count, last, after = kernel.text(check).split()
    assert (reason, last, after) == ("stopped", "interrupted", "42") and int(count) < 40
    final = kernel.state(comm)
    assert final["status"] == "stopped" and not final["stoppable"]
    assert any(r["state"] == "complete" for r in final["trials"]), "finished trials are kept"


@pytest.mark.slow
def test_a_background_search_streams_to_its_own_cell_and_stops(kernel):
    before = kernel.dashboards()
    cell = kernel.execute(SEARCH.format(options="--trials 40 --background -o bg"))
    kernel.reply(cell)
    comm = new_dashboard(kernel, before)
    state = when(kernel, comm, lambda s: s.get("run_id") and has_complete(s))
    assert state["stoppable"] and state["status"] == "running"
    kernel.run("x_between = 1")  # the kernel stays free for other cells
    kernel.click(comm, {"type": "stop", "run_id": state["run_id"]})
    wait = kernel.execute("bg.wait(); print(bg.stop_reason)")
    kernel.reply(wait)
    assert kernel.text(wait).strip() == "stopped"
    kernel.wait(lambda: [m for m in kernel.outputs(cell)
                         if "nnhp-static" in m["content"].get("data", {}).get("text/html", "")], 60)
    views = [m for m in kernel.outputs(cell) if "application/vnd.jupyter.widget-view+json" in m["content"].get("data", {})]
    assert len(views) == 1, "the dashboard lands in the cell that started the search"
    assert kernel.state(comm)["status"] == "stopped"


@pytest.mark.slow
def test_the_kernel_interrupt_ends_a_foreground_search_like_stop(kernel):
    before = kernel.dashboards()
    cell = kernel.execute(SEARCH.format(options="--trials 40 -o fi"))
    comm = new_dashboard(kernel, before)
    when(kernel, comm, lambda s: has_complete(s) and any(live["epoch"] >= 1 for live in s.get("running", [])))
    kernel.km.interrupt_kernel()  # mid-epoch: see the report on interrupts during garbage collection
    kernel.reply(cell)
    check = kernel.execute("print(fi.stop_reason, sum(t.state == 'complete' for t in fi.trials) > 0, fi.trials[-1].state)")
    kernel.reply(check)
    assert kernel.text(check).split() == ["interrupted", "True", "interrupted"]
    final = kernel.state(comm)
    assert final["status"] == "interrupted" and final["trials"][-1]["state"] == "interrupted"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.mark.slow
def test_saved_notebooks_and_nbconvert_show_the_result_without_widgets(tmp_path):
    import copy

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    exporters = pytest.importorskip("nbconvert.exporters")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP.replace("SLEEP = 0.3", "SLEEP = 0")),
                nbformat.v4.new_code_cell(SEARCH.format(options="--trials 3 -o search"))]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    views = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
    static = [o["data"]["text/html"] for o in outputs if "nnhp-static" in o.get("data", {}).get("text/html", "")]
    assert len(views) == 1 and len(static) == 1
    assert 'src="data:image/png;base64,' in static[0] and "<table>" in static[0]
    model = nb.metadata["widgets"][WIDGET_STATE]["state"][views[0]["data"][WIDGET_VIEW]["model_id"]]
    assert model["state"]["status"] == "done" and len(model["state"]["trials"]) == 3
    assert model["state"]["best"]["code"].startswith("dict(units=")

    bare = copy.deepcopy(nb)
    del bare.metadata["widgets"]
    nbformat.write(bare, tmp_path / "saved.ipynb")
    reopened = nbformat.read(tmp_path / "saved.ipynb", as_version=4)
    assert any("nnhp-static" in o.get("data", {}).get("text/html", "") for o in reopened.cells[1].outputs)
    html, _ = exporters.HTMLExporter().from_notebook_node(reopened)
    assert "nnhp-static" in html and "data:image/png;base64," in html
    assert "Dashboard(" not in html and "Box(" not in html and "object at 0x" not in html
    with_state, _ = exporters.HTMLExporter().from_notebook_node(nb)
    assert "nnhp-static" in with_state and WIDGET_STATE in with_state


@pytest.mark.parametrize(
    "content",
    [
        None, 5, "stop", [], {}, {"type": None}, {"type": ["stop"]}, {"type": "eval", "code": "1/0"},
        {"type": "export", "path": 5}, {"type": "export", "path": "best.keras", "overwrite": "no"},
        {"type": "refine", "selected": "x"}, {"type": "refine", "selected": [1.5, None]}, {"type": "refine", "top": "x"},
        {"type": "refine", "top": float("nan")}, {"type": "refine", "top": 7}, {"type": "refine", "top": True},
        {"type": "run", "spec": 5}, {"type": "run", "spec": "units = int(1, 9)", "strategy": {"a": 1}},
        {"type": "run", "spec": "units = int(1, 9)", "trials": [3]},
    ],
)
def test_malformed_browser_messages_are_ignored_and_logged(content, tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    view = DashboardView(FakeOutput())
    search = new_search()
    run_view(view, search, epochs=1)
    record = finished(0, "complete", 0.5, {"units": 8})
    search.record_trial(record)
    search.offer_model(record, FakeModel())
    search.finish("done")
    view(SearchEnded(search, "done"))
    widget = view.widget
    if isinstance(content, dict):
        content = {**content, "run_id": widget.run_id}
    before = (widget.notice, widget.refine, len(search.rounds))
    with caplog.at_level("DEBUG", logger="nnhp_magics.views.dashboard"):
        widget._on_message(widget, content, [])
    assert (widget.notice, widget.refine, len(search.rounds)) == before and list(tmp_path.iterdir()) == []
    assert "dashboard message ignored" in caplog.text


def test_a_chosen_rate_that_is_not_a_number_keeps_the_last_one():
    from nnhp_magics.views.lrfind_widget import LRFindWidget

    widget = LRFindWidget(low=1e-4, high=1.0, chosen=0.01)
    for value in (float("nan"), float("inf"), "x", [1], True):
        widget.set_state({"chosen": value})  # what the browser's update message calls
        assert widget.chosen == 0.01
    widget.chosen = 3.0
    assert widget.chosen == 1.0, "a rate past the range is clipped to it"


def test_a_saved_notebook_shows_the_search_as_it_ended_and_the_rate_picked_last(tmp_path):
    """Round 2 from a later cell and a pick on the lrfind chart redraw the earlier cells' static outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        SETUP.replace("SLEEP = 0.3", "SLEEP = 0"),
        SEARCH.format(options="--trials 2 -o search"),
        "search.run_round('units = int(2, 8)', trials=2)\nprint(search.summary())",
        "%lrfind build X y --steps 40 -o lr",
        "lr.chosen = lr.suggestion / 3 if lr.suggestion else 1e-3\nprint(lr.picked_line())",
    )]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(nb, tmp_path / "saved.ipynb")
    saved = nbformat.read(tmp_path / "saved.ipynb", as_version=4)
    final = saved.cells[2].outputs[-1]["text"].strip()
    static = [o["data"] for o in saved.cells[1].outputs if "nnhp-static" in o.get("data", {}).get("text/html", "")]
    assert len(static) == 1, "one static result, redrawn in place"
    assert static[0]["text/plain"] == final and "4 trials" in final, "the search as it ended after round 2"
    assert not [o for o in saved.cells[1].outputs if o.output_type == "execute_result"], "no value stuck at round 1"
    assert "round 2: 2 trials" in static[0]["text/html"]
    assert all(o.get("data", {}).get("text/plain", "") == "" for o in saved.cells[1].outputs if WIDGET_VIEW in o.get("data", {}))
    picked = saved.cells[4].outputs[-1]["text"].strip()
    assert picked.endswith("(picked)")
    lrfind_static = [o["data"] for o in saved.cells[3].outputs if "nnhp-lrfind" in o.get("data", {}).get("text/html", "")]
    assert len(lrfind_static) == 1 and picked in lrfind_static[0]["text/plain"] and picked in lrfind_static[0]["text/html"]


def test_the_header_shows_hyperbands_plan_before_the_first_trial():
    from nnhp_magics.search.strategies import hyperband_plan

    search = new_search(budget=172)
    search.plan_text = hyperband_plan(100).describe()
    state = DashboardState(FakeClock())
    state.apply(SearchStarted(search))
    assert "5 brackets, 172 configurations up to 100 epochs" in state.snapshot()["info"]["plan"]
