"""Follow-up rounds: a refined spec run as more trials of the same search, study and dashboard."""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch, load_search
from nnhp_magics.errors import NnhpError, SpecError
from nnhp_magics.views.dashboard import Dashboard, DashboardView

SPEC = """
n_hidden = choice(0, 1, 2)
n_neurons = int(2, 16)
learning_rate = loguniform(1e-3, 1e-1)
"""


small = fast_search(trials=6, epochs=3, patience=0, seed=0)  # a round trip of a few seconds


@pytest.fixture(scope="module")
def first(keras_ready, data):
    """A finished six-trial random search, shared by the tests that only read it."""
    x, y = data
    return hpsearch(textbook_build, x, y, SPEC, **small())


def test_a_round_runs_the_refined_spec_and_its_trials_join_the_search(keras_ready, data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, **small())
    before = {t.number: (t.params, t.score) for t in search.trials}
    refined = search.refine()
    returned = search.run_round(trials=4)
    assert returned is search and search.done and search.stop_reason == "done"
    assert [r["round"] for r in search.rounds] == [1, 2]
    assert search.rounds[1]["spec"] == refined and search.rounds[1]["trials"] == 4
    second = [t for t in search.trials if t.round == 2]
    assert len(second) == 4 and len(search.trials) == 10
    assert {t.number: (t.params, t.score) for t in search.trials if t.round == 1} == before
    assert all(t.state == "complete" for t in second)
    board = search.leaderboard()
    assert sorted(board["round"].tolist()) == [1] * 6 + [2] * 4
    best_score = min(t.score for t in search.trials)
    assert search.best_score == best_score


def test_a_round_stays_inside_its_refined_ranges_even_where_optuna_sees_a_changed_choice(keras_ready, data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, **small())
    search.run_round("n_hidden = choice(1, 2)\nn_neurons = int(10, 12)\nlearning_rate = 0.01", trials=3)
    search.run_round("n_hidden = int(0, 1)\nn_neurons = [4, 5]", trials=2, strategy="grid")
    second = [t for t in search.trials if t.round == 2]
    assert all(t.params["n_hidden"] in (1, 2) and 10 <= t.params["n_neurons"] <= 12 for t in second)
    assert all(t.params["learning_rate"] == 0.01 for t in second)
    third = [t for t in search.trials if t.round == 3]
    assert sorted((t.params["n_hidden"], t.params["n_neurons"]) for t in third) == [(0, 4), (0, 5)]
    assert [r["strategy"] for r in search.rounds] == ["random", "random", "grid"]


def test_a_round_with_the_same_seed_draws_the_same_parameters(keras_ready, data):
    x, y = data
    drawn = []
    for _ in range(2):
        search = hpsearch(textbook_build, x, y, SPEC, **small(trials=3))
        search.run_round("n_hidden = choice(0, 1)\nn_neurons = int(4, 8)", trials=2)
        drawn.append([t.params for t in search.trials if t.round == 2])
    assert drawn[0] == drawn[1]


def test_a_round_in_the_background_returns_at_once_and_can_be_waited_for(keras_ready, data):
    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, **small(trials=3))
    search.run_round(trials=3, background=True)
    assert search.rounds[-1]["round"] == 2
    with pytest.raises(NnhpError, match="round 2 of this search is still running"):
        search.run_round(trials=1)
    search.wait(120)
    assert search.done and len([t for t in search.trials if t.round == 2]) == 3


def test_mistakes_in_a_round_are_reported_before_it_starts(first):
    count = len(first.trials)
    with pytest.raises(SpecError, match="not a parameter of textbook_build"):
        first.run_round("units = int(1, 4)", trials=2)
    with pytest.raises(SpecError, match="lo must be < hi|must be less"):
        first.run_round("n_neurons = int(9, 3)", trials=2)
    with pytest.raises(NnhpError, match="at least 1 trial"):
        first.run_round(trials=0)
    with pytest.raises(NnhpError, match="no trial 999999"):
        first.run_round(selected=[999_999])
    assert len(first.trials) == count and len(first.rounds) == 1


def test_a_reopened_search_explains_why_it_cannot_run_a_round(keras_ready, data, tmp_path):
    x, y = data
    url = f"sqlite:///{tmp_path / 'rounds.db'}"
    search = hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=4))
    search.run_round("n_hidden = choice(0, 1)\nn_neurons = int(4, 8)", trials=2, strategy="bayes")
    reopened = load_search(url, "s")
    assert [r["round"] for r in reopened.rounds] == [1, 2] and reopened.rounds[1]["strategy"] == "bayes"
    assert sorted(t.round for t in reopened.trials) == [1, 1, 1, 1, 2, 2]
    assert reopened.best_score == search.best_score
    with pytest.raises(NnhpError, match="only the kernel that ran the search"):
        reopened.run_round(trials=1)
    again = hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=4))
    assert len(again.trials) == 6 and [r["round"] for r in again.rounds] == [1, 2], "a re-run resumes every round"


class Returned:
    """Output for views in these tests: nothing is displayed; events come from the search's own thread."""

    def __init__(self) -> None:
        self.shown: list[Any] = []

    def home(self) -> bool:
        return True

    def show(self, obj: Any) -> None:
        self.shown.append(obj)

    def result(self, search: Any) -> None:
        """The static result a cell would show: not needed here."""


def wait_for(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_dashboard_explores_refines_and_runs_the_next_round_in_the_same_widget(keras_ready, data):
    x, y = data
    output = Returned()
    view = DashboardView(output, interval=0)
    search = hpsearch(textbook_build, x, y, SPEC, listeners=[view], **small(trials=8))
    (widget,) = output.shown
    assert isinstance(widget, Dashboard) and widget.explore["trials"] == sorted(t.number for t in search.trials)
    assert [p["name"] for p in widget.explore["params"]] == ["n_hidden", "n_neurons", "learning_rate"]
    assert widget.refine == {} and widget.round_block == "", "the editor stays empty until Refine is clicked"
    wait_for(lambda: not widget.importances.get("pending"))
    assert [name for name, _ in widget.importances["values"]] == list(search.importances())
    complete = sum(t.state == "complete" for t in search.trials)
    assert widget.importances["caveat"].startswith(f"Only {complete} complete trials: importances from fewer than 10")

    widget._on_message(widget, {"type": "refine", "run_id": widget.run_id, "selected": None}, [])
    top = sorted((t for t in search.trials if t.state == "complete"), key=lambda t: t.score)[:2]
    assert widget.refine["spec"] == search.refine() and widget.refine["around"] == [t.number for t in top]
    assert widget.refine["top"] == 0.25 and widget.refine["selected"] == []

    picked = [t.number for t in search.trials[:2]]
    widget._on_message(widget, {"type": "refine", "run_id": widget.run_id, "selected": picked}, [])
    assert widget.refine["spec"] == search.refine(selected=picked) and widget.refine["selected"] == picked

    spec = "n_hidden = choice(0, 1)\nn_neurons = int(4, 8)"
    widget._on_message(widget, {"type": "run", "run_id": widget.run_id, "spec": spec, "strategy": "random",
                                "trials": "3"}, [])
    assert widget.notice["kind"] == "ok" and "round 2" in widget.notice["text"]
    search.wait(120)
    wait_for(lambda: widget.status == "done" and len(widget.trials) == 11)
    assert output.shown[0] is widget, "the next round updates the same widget"
    assert sorted(row["round"] for row in widget.trials) == [1] * 8 + [2] * 3
    assert [r["round"] for r in widget.rounds] == [1, 2] and widget.info["round"] == 2
    assert len(widget.explore["trials"]) == 11


def test_bad_input_from_the_run_again_control_becomes_a_notice(first):
    widget = DashboardView(Returned(), interval=0).adopt(first)
    widget._on_message(widget, {"type": "run", "run_id": widget.run_id, "spec": "n_neurons = int(9, 3)",
                                "strategy": "random", "trials": "2"}, [])
    assert widget.notice["kind"] == "error" and "n_neurons" in widget.notice["text"]
    widget._on_message(widget, {"type": "refine", "run_id": widget.run_id, "selected": [424242]}, [])
    assert widget.refine["error"] and "424242" in widget.refine["error"]
    assert len(first.rounds) == 1


def test_explore_shows_a_finished_search_and_a_reopened_one_without_run_again(first, keras_ready, data, tmp_path):
    widget = first.explore()
    assert widget.status == "done" and len(widget.trials) == len(first.trials)
    assert widget.explore["scores"] and widget.round_block == ""
    x, y = data
    url = f"sqlite:///{tmp_path / 'explore.db'}"
    hpsearch(textbook_build, x, y, SPEC, storage=url, **small(trials=3))
    reopened = load_search(url).explore()
    assert "kernel that ran the search" in reopened.round_block
    assert len(reopened.explore["trials"]) == 3


def test_a_magic_search_knows_its_line_so_a_refined_cell_can_be_copied(ip, data):
    ip.user_ns.update(build=textbook_build, X=data[0], Y=data[1])
    ip.run_cell_magic("hpsearch", "build X Y --trials 4 --epochs 2 --seed 3 -o found", SPEC)
    found = ip.user_ns["found"]
    assert found.magic_line == "%%hpsearch build X Y --trials 4 --epochs 2 --seed 3 -o found"
    cell = found.refine_cell(strategy="bayes", trials=5)
    head, spec = cell.split("\n", 1)
    assert head == "%%hpsearch build X Y --epochs 2 --seed 3 -o found --strategy bayes --trials 5"
    assert spec == found.refine()
    ip.user_ns["space"] = {"n_neurons": [2, 4]}
    ip.run_line_magic("hpsearch", "build X Y --space space --epochs 1 -o by_dict")
    assert ip.user_ns["by_dict"].magic_line == "%%hpsearch build X Y --epochs 1 -o by_dict"


def test_a_lost_trial_of_a_later_round_is_not_queued_into_the_first_rounds_space(tmp_path):
    import optuna
    from optuna.trial import TrialState

    from nnhp_magics.core.results import Trial
    from nnhp_magics.search import storage as store

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'lost.db'}", study_name="lost")
    first = study.ask()
    first.suggest_int("n_neurons", 2, 16)
    first.set_user_attr(store.RECORD_ATTR, Trial(first.number, dict(first.params)).to_dict())
    later = study.ask()
    later.suggest_categorical("n_hidden@2", [1, 2])
    later.set_user_attr(store.RECORD_ATTR, Trial(later.number, {"n_hidden": later.params["n_hidden@2"]}, round=2).to_dict())
    records = store.resume(study)
    assert [(r.number, r.state, r.round) for r in records] == [(0, "interrupted", 1), (1, "interrupted", 2)]
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert [t.system_attrs.get("fixed_params") for t in waiting] == [first.params], "only round 1 runs again"
