"""The result model without Keras: objectives, leaderboard, CSV, export checks, HTML."""

from __future__ import annotations

import math
import sys

import pytest

from nnhp_magics.api import Search
from nnhp_magics.core.results import Objective, Trial, export_paths, format_params, parse_objective
from nnhp_magics.errors import NnhpError


@pytest.mark.parametrize(
    "text, name, direction",
    [
        ("val_loss", "val_loss", "minimize"),
        ("loss", "loss", "minimize"),
        ("val_mae", "val_mae", "minimize"),
        ("val_mean_squared_error", "val_mean_squared_error", "minimize"),
        ("val_accuracy", "val_accuracy", "maximize"),
        ("val_auc", "val_auc", "maximize"),
        ("r2", "r2", "maximize"),
        ("max:val_custom", "val_custom", "maximize"),
        ("min:val_custom", "val_custom", "minimize"),
    ],
)
def test_objective_direction_is_inferred_from_the_name(text, name, direction):
    assert parse_objective(text) == Objective(name, direction)


def test_unclassifiable_objective_asks_for_a_prefix():
    with pytest.raises(NnhpError, match="min:val_custom or --objective max:val_custom"):
        parse_objective("val_custom")


def make_search(minimize: bool = True) -> Search:
    search = Search(objective=Objective("val_loss", "minimize" if minimize else "maximize"), param_names=["a", "b"])
    search.record_trial(Trial(0, {"a": 1, "b": "x"}, state="complete", score=0.5, history={"val_loss": [0.9, 0.5]}, epochs=2))
    search.record_trial(Trial(1, {"a": 2}, state="failed", error="ValueError: boom"))
    search.record_trial(Trial(2, {"a": 3, "b": "y"}, state="complete", score=0.2, history={"val_loss": [0.4, 0.2]}, epochs=2))
    search.record_trial(Trial(3, {"a": 4, "b": "z"}, state="pruned", score=0.1, epochs=1))
    search.finish("done")
    return search


def test_best_is_the_best_complete_trial_in_the_objective_direction():
    assert make_search().best_trial.number == 2
    assert make_search(minimize=False).best_trial.number == 0
    assert make_search().best_params == {"a": 3, "b": "y"}
    assert make_search().best_score == pytest.approx(0.2)


def test_leaderboard_rows_put_complete_trials_first_by_score_then_the_rest():
    rows = make_search().leaderboard_rows()
    assert [r["trial"] for r in rows] == [2, 0, 3, 1]
    assert rows[-1]["error"] == "ValueError: boom"
    assert rows[-1]["b"] is None  # an inactive parameter stays blank


def test_leaderboard_is_a_dataframe_indexed_by_trial():
    frame = make_search().leaderboard()
    assert list(frame.index) == [2, 0, 3, 1]
    assert {"state", "score", "a", "b", "epochs", "seconds", "error"} <= set(frame.columns)


def test_leaderboard_falls_back_to_rows_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    rows = make_search().leaderboard()
    assert isinstance(rows, list) and rows[0]["trial"] == 2


def test_to_csv_writes_one_line_per_trial(tmp_path):
    text = make_search().to_csv(tmp_path / "board.csv")
    lines = text.strip().splitlines()
    assert lines[0].startswith("trial,state,score,a,b")
    assert len(lines) == 5
    assert (tmp_path / "board.csv").read_text() == text


def test_no_best_trial_explains_why():
    search = Search(objective=Objective("val_loss", "minimize"), param_names=["a"])
    with pytest.raises(NnhpError, match="no finished trial"):
        search.best_trial
    search.record_trial(Trial(0, {"a": 1}, state="failed", error="ValueError: bad"))
    with pytest.raises(NnhpError, match="(?s)every trial failed:.*ValueError: bad"):
        search.best_params


def test_export_paths_derive_from_the_model_path():
    paths = export_paths("out/best.keras")
    assert [p.name for p in paths.values()] == ["best.keras", "best.params.json", "best.leaderboard.csv"]
    assert export_paths("out/best")["model"].name == "best.keras"


def test_export_refuses_to_overwrite(tmp_path):
    (tmp_path / "best.params.json").write_text("{}")
    with pytest.raises(NnhpError, match="exists already; pass --overwrite"):
        make_search().export(tmp_path / "best.keras")


def test_format_params_is_a_pasteable_literal():
    text = format_params({"n": 3, "lr": 0.00123456789, "act": "relu", "sizes": (64, 32)})
    assert text == "dict(n=3, lr=0.001235, act='relu', sizes=(64, 32))", "floats in the shared 4-digit format"
    assert eval(text) == {"n": 3, "lr": 0.001235, "act": "relu", "sizes": (64, 32)}


def test_every_view_writes_numbers_in_four_significant_digits():
    from nnhp_magics.views.text import TextProgress

    search = make_search()
    search.trials[2].score = 0.00334593
    search.trials[2].params["a"] = 0.0033459293537374483
    html = search._repr_html_()
    assert "best val_loss = 0.003346" in search.summary() and "a=0.003346" in search.summary()
    assert "<td>0.003346</td>" in html and "0.00334593" not in html
    search.trials[2].score_std = 0.000123456
    line = TextProgress().trial_line(search.trials[2])
    assert "score=0.003346 ± 0.0001235" in line and "a=0.003346" in line
    assert search.leaderboard_rows()[0]["score"] == 0.00334593, "the data keeps full precision"


def test_static_html_shows_summary_best_params_leaderboard_and_curves():
    html = make_search()._repr_html_()
    assert "Best parameters" in html and "dict(a=3, b=&#x27;y&#x27;)" in html
    assert html.count("<tr class=") == 4
    assert 'class="nnhp-failed"' in html and "ValueError: boom" in html
    assert "nnhp-best" in html
    assert "data:image/png;base64," in html


def test_a_search_still_running_in_the_background_shows_one_line_not_a_frozen_table():
    search = Search(objective=Objective("val_loss", "minimize"), param_names=["a"])
    search.record_trial(Trial(0, {"a": 1}, state="running"))
    html = search._repr_html_()
    assert "running in the background" in html and "search.wait()" in html and "<table" not in html
    search.finish("done")
    assert "<table" in search._repr_html_()


def test_trial_round_trips_through_json():
    trial = Trial(4, {"sizes": (64, 32)}, state="complete", score=1.5, best_epochs=[3, 5])
    again = Trial.from_dict(trial.to_dict())
    assert again.params == {"sizes": [64, 32]}
    assert again.best_epoch == 4
    assert not math.isnan(again.score)


def test_an_interrupt_during_cleanup_is_held_then_raised():
    import os
    import signal

    from nnhp_magics.training.backend import deferred_interrupt

    reached_end_of_block = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            reached_end_of_block.append(True)
    assert reached_end_of_block == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
