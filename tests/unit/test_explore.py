"""Exploring a search without a browser: refined specs, importances and plot data."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

from nnhp_magics.api import Search
from nnhp_magics.core.results import Objective, Trial
from nnhp_magics.core.space import Categorical, Fixed, FloatRange, IntRange
from nnhp_magics.core.spec import parse_spec, space_from_dict
from nnhp_magics.errors import NnhpError
from nnhp_magics.search.analysis import choose_trials, importances, parallel_coordinates_data, refine_spec

MIN = Objective("val_loss", "minimize")
MAX = Objective("val_accuracy", "maximize")


def complete(number: int, score: float, **params) -> Trial:
    return Trial(number, params, state="complete", score=score)


def refine(spec: str, trials: list[Trial], objective: Objective = MIN, **kwargs):
    """The refined text and the space parse_spec reads back from it."""
    text = refine_spec(parse_spec(spec), trials, objective, **kwargs)
    return text, parse_spec(text)


def make_search(spec: str, rows: list[tuple[dict, float]], objective: Objective = MIN) -> Search:
    space = parse_spec(spec)
    search = Search(objective=objective, param_names=space.tunable_names, spec_text=spec)
    search.space = space
    for number, (params, score) in enumerate(rows):
        search.record_trial(complete(number, score, **params))
    return search


# ----- refine: numeric ranges -------------------------------------------------------------------
def test_a_log_range_stays_log_and_spans_the_top_trials_with_a_margin_in_log_space():
    values = [1e-5, 3e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 5e-2]
    scores = [9.0, 8.0, 1.0, 0.5, 1.5, 7.0, 9.5, 6.0]  # the top quarter: 1e-3 and 1e-4
    trials = [complete(i, s, lr=v) for i, (v, s) in enumerate(zip(values, scores))]
    _, space = refine("lr = loguniform(1e-5, 1e-1)", trials)
    dist = space["lr"].dist
    pad = 0.1 * math.log(10)  # a tenth of the span 1e-4..1e-3, in log space
    assert isinstance(dist, FloatRange) and dist.log
    assert dist.low == pytest.approx(1e-4 * math.exp(-pad), rel=0.01) and dist.low <= 1e-4 * math.exp(-pad)
    assert dist.high == pytest.approx(1e-3 * math.exp(pad), rel=0.01) and dist.high >= 1e-3 * math.exp(pad)


def test_ints_stay_ints_on_their_step_grid_and_keep_log():
    trials = [
        complete(0, 0.1, units=40, n=10, width=16),
        complete(1, 0.2, units=56, n=20, width=64),
        complete(2, 0.9, units=128, n=90, width=1024),
        complete(3, 0.8, units=8, n=1, width=1),
    ]
    spec = "units = int(8, 128, step=8)\nn = int(1, 99)\nwidth = int(1, 1024, log=True)"
    text, space = refine(spec, trials, top=0.5)
    # units: 40..56 padded to the minimum width (2 x 10% of 120) = 36..60, then out to the grid
    assert space["units"].dist == IntRange(32, 64, step=8)
    assert "units = int(32, 64, step=8)" in text
    assert space["n"].dist == IntRange(5, 25)
    width = space["width"].dist
    assert isinstance(width, IntRange) and width.log and width.low <= 16 and width.high >= 64
    assert width.low > 1 and width.high < 1024


def test_a_stepped_float_lands_on_its_grid():
    trials = [complete(0, 0.1, drop=0.2), complete(1, 0.2, drop=0.3), complete(2, 0.9, drop=0.0)]
    _, space = refine("drop = float(0.0, 0.5, step=0.05)", trials, top=0.5)
    assert space["drop"].dist == FloatRange(0.15, 0.35, step=0.05)


def test_ranges_are_clipped_to_the_original_bounds():
    trials = [complete(0, 0.1, x=0.0, lr=0.1), complete(1, 0.2, x=0.05, lr=0.09)]
    _, space = refine("x = float(0.0, 1.0)\nlr = loguniform(1e-4, 0.1)", trials, top=1.0)
    assert space["x"].dist.low == 0.0 and space["lr"].dist.high == 0.1


def test_a_single_surviving_trial_gets_its_value_plus_or_minus_the_margin_of_the_original_range():
    trials = [complete(0, 0.1, x=0.5, lr=1e-3), complete(1, 0.9, x=0.9, lr=1e-1), complete(2, 0.5, x=0.1, lr=1e-5)]
    text, space = refine("x = float(0.0, 1.0)\nlr = loguniform(1e-5, 1e-1)", trials, selected=[0])
    assert space["x"].dist == FloatRange(0.4, 0.6)
    lr = space["lr"].dist
    factor = 10 ** (0.1 * 4)  # 10% of four decades either side
    assert lr.low == pytest.approx(1e-3 / factor, rel=0.01) and lr.high == pytest.approx(1e-3 * factor, rel=0.01)
    assert "1 selected complete trial: 0" in text


def test_the_margin_widens_the_range():
    trials = [complete(0, 0.1, x=0.3), complete(1, 0.2, x=0.7)]
    _, narrow = refine("x = float(0.0, 1.0)", trials, top=1.0, margin=0.1)
    _, wide = refine("x = float(0.0, 1.0)", trials, top=1.0, margin=0.25)
    assert narrow["x"].dist == FloatRange(0.26, 0.74)
    assert wide["x"].dist == FloatRange(0.2, 0.8)


# ----- refine: choices, constants, conditions --------------------------------------------------
def test_choices_shrink_to_the_values_that_appear_in_their_original_order():
    trials = [complete(0, 0.1, act="tanh"), complete(1, 0.2, act="relu"), complete(2, 0.9, act="selu")]
    text, space = refine("act = ['relu', 'selu', 'tanh', 'gelu']", trials, top=0.5)
    assert space["act"].dist == Categorical(("relu", "tanh"))
    assert "act = choice('relu', 'tanh')" in text


def test_a_choice_left_with_one_value_becomes_a_constant():
    trials = [
        complete(0, 0.1, act="relu", layers=[64, 32], bn=True),  # a reopened search: JSON lists for tuples
        complete(1, 0.9, act="tanh", layers=(32, 16), bn=False),
    ]
    spec = "act = ['relu', 'tanh']\nlayers = choice((64, 32), (32, 16))\nbn = choice(True, False)"
    text, space = refine(spec, trials, top=0.5)
    assert space["act"].dist == Fixed("relu")
    assert space["layers"].dist == Fixed((64, 32)) and "layers = fixed((64, 32))" in text
    assert space["bn"].dist == Fixed(True)


def test_constant_lines_are_unchanged():
    trials = [complete(0, 0.1, x=0.5, shape=[8]), complete(1, 0.2, x=0.6, shape=[8])]
    text, space = refine("x = float(0, 1)\nshape   = fixed([8])  # the input", trials)
    assert "shape   = fixed([8])  # the input" in text.splitlines()
    assert space["shape"].dist == Fixed([8])


def test_a_conditional_line_keeps_its_condition_and_is_narrowed_over_the_trials_where_it_was_active():
    spec = "n_hidden = choice(0, 1, 2)\nn_neurons = int(1, 99) if n_hidden > 0"
    trials = [
        complete(0, 0.1, n_hidden=1, n_neurons=30),
        complete(1, 0.2, n_hidden=0),
        complete(2, 0.3, n_hidden=2, n_neurons=50),
        complete(3, 0.9, n_hidden=2, n_neurons=99),
    ]
    text, space = refine(spec, trials, top=0.75)
    assert space["n_hidden"].dist == Categorical((0, 1, 2))
    neurons = space["n_neurons"]
    assert neurons.condition == "n_hidden > 0"
    assert neurons.dist == IntRange(28, 52)  # 30..50 from trials 0 and 2, plus 10% of 20 each side
    assert "n_neurons = int(28, 52) if n_hidden > 0" in text


def test_a_conditional_line_no_chosen_trial_had_active_is_kept_as_it_was():
    spec = "n_hidden = choice(0, 1)\nn_neurons = int(1, 99) if n_hidden > 0"
    trials = [complete(0, 0.1, n_hidden=0), complete(1, 0.9, n_hidden=1, n_neurons=5)]
    text, space = refine(spec, trials, top=0.5)
    assert "n_neurons = int(1, 99) if n_hidden > 0  # kept: no chosen trial had it active" in text
    assert space["n_hidden"].dist == Fixed(0)
    assert space["n_neurons"].dist == IntRange(1, 99) and space["n_neurons"].condition == "n_hidden > 0"


def test_a_scipy_line_keeps_its_text_and_round_trips_in_the_notebook_namespace():
    spec = "x = {scipy.stats.norm(0, 1)}\ny = float(0, 1)"
    trials = [complete(0, 0.1, x=0.2, y=0.5), complete(1, 0.9, x=-1.0, y=0.9)]
    text = refine_spec(parse_spec(spec, {"scipy": scipy}), trials, MIN)
    assert "x = {scipy.stats.norm(0, 1)}  # kept: a scipy distribution is not narrowed" in text
    assert parse_spec(text, {"scipy": scipy})["x"].dist.name == "norm"


# ----- refine: which trials ----------------------------------------------------------------------
def test_the_top_quarter_of_complete_trials_is_the_default_and_states_and_nan_are_ignored():
    trials = [complete(i, float(i), x=i / 10) for i in range(8)]
    trials += [Trial(8, {"x": 0.95}, state="failed", error="boom"), Trial(9, {"x": 0.99}, state="pruned", score=-1.0)]
    trials += [complete(10, float("nan"), x=0.9)]
    text, space = refine("x = float(0.0, 1.0)", trials)
    assert "the top 25% of 8 complete trials: 2 trials (0, 1" in text
    assert space["x"].dist.low == 0.0 and space["x"].dist.high < 0.5


def test_a_maximized_objective_refines_around_the_highest_scores():
    trials = [complete(0, 0.9, x=0.8), complete(1, 0.1, x=0.1), complete(2, 0.85, x=0.9), complete(3, 0.2, x=0.2)]
    text, space = refine("x = float(0.0, 1.0)", trials, objective=MAX, top=0.5)
    assert space["x"].dist.low > 0.5
    assert "val_accuracy (max): 0.85 to 0.9" in text


def test_an_empty_selection_says_so():
    trials = [complete(0, 0.1, x=0.5)]
    with pytest.raises(NnhpError, match="the selection is empty"):
        refine_spec(parse_spec("x = float(0, 1)"), trials, MIN, selected=[])


def test_a_selection_without_a_complete_trial_says_so():
    trials = [complete(0, 0.1, x=0.5), Trial(1, {"x": 0.2}, state="failed", error="boom")]
    with pytest.raises(NnhpError, match=r"none of the selected trials \(1\) is complete"):
        refine_spec(parse_spec("x = float(0, 1)"), trials, MIN, selected=[1])
    with pytest.raises(NnhpError, match="no trial 7 in this search"):
        refine_spec(parse_spec("x = float(0, 1)"), trials, MIN, selected=[0, 7])


def test_a_search_without_complete_trials_cannot_be_refined():
    trials = [Trial(0, {"x": 0.2}, state="failed", error="boom")]
    with pytest.raises(NnhpError, match="no complete trial yet"):
        refine_spec(parse_spec("x = float(0, 1)"), trials, MIN)


@pytest.mark.parametrize("top", [0, -0.5, 1.5])
def test_top_must_be_a_fraction(top):
    with pytest.raises(NnhpError, match="top must be a fraction"):
        refine_spec(parse_spec("x = float(0, 1)"), [complete(0, 0.1, x=0.5)], MIN, top=top)


def test_every_form_round_trips_through_parse_spec():
    spec = "\n".join(
        [
            "n_hidden = choice(0, 1, 2, 3)",
            "n_neurons = int(1, 99) if n_hidden > 0",
            "units = range(16, 257, 16)",
            "width = int(2, 512, log=True)",
            "lr = reciprocal(1e-5, 1e-1)",
            "mom = uniform(0.5, 0.99)",
            "drop = float(0.0, 0.6, step=0.1)",
            "act = ['relu', 'tanh', None]",
            "layers = choice((64, 32), (32, 16), (16,))",
            "shape = fixed([8])",
            "opt = 'adam'",
        ]
    )
    space = parse_spec(spec)
    rng = np.random.default_rng(0)
    trials = []
    for number in range(16):
        params = {name: _draw(space[name].dist, rng) for name in space.names}
        if params["n_hidden"] == 0:
            del params["n_neurons"]
        trials.append(complete(number, float(rng.uniform()), **params))
    for top in (0.25, 0.5, 1.0):
        refined = parse_spec(refine_spec(space, trials, MIN, top=top))
        assert refined.names == space.names
        for p in refined:
            assert type(p.dist) in (type(space[p.name].dist), Fixed)
            assert p.condition == space[p.name].condition
        for trial in choose_trials(trials, MIN, top=top):
            for name, value in trial.params.items():
                dist = refined[name].dist
                if isinstance(dist, (IntRange, FloatRange)):
                    assert dist.low <= value <= dist.high
                    assert dist.log == space[name].dist.log


def test_a_space_from_a_dict_refines_to_parseable_text():
    space = space_from_dict(
        {"lr": scipy.stats.loguniform(1e-4, 1e-1), "units": np.arange(8, 129, 8), "z": scipy.stats.norm(0, 2), "shape": [[8]]}
    )
    trials = [
        complete(0, 0.1, lr=1e-3, units=16, z=0.3, shape=[8]),
        complete(1, 0.3, lr=1e-2, units=64, z=1.3, shape=[8]),
    ]
    refined = parse_spec(refine_spec(space, trials, MIN, top=0.5), {"scipy": scipy})
    assert refined["units"].dist == IntRange(8, 32, step=8)
    assert refined["lr"].dist == FloatRange(0.000501, 0.002, log=True)
    assert refined["z"].dist.dist.kwds == {} and refined["z"].dist.dist.args == (0, 2)
    assert refined["shape"].dist == Fixed([8])


def _draw(dist, rng):
    if isinstance(dist, Categorical):
        return dist.choices[rng.integers(len(dist.choices))]
    if isinstance(dist, IntRange):
        return int(rng.choice(dist.values()))
    if isinstance(dist, FloatRange):
        if dist.step is not None:
            return round(float(rng.choice(dist.values())), 10)
        if dist.log:
            return float(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))))
        return float(rng.uniform(dist.low, dist.high))
    return dist.value


# ----- Search.refine and refine_cell -------------------------------------------------------------
def test_search_refine_and_refine_cell():
    search = make_search("x = float(0, 1)", [({"x": 0.5}, 0.1), ({"x": 0.1}, 0.9)])
    assert search.refine(top=0.5) == refine_spec(search.space, search.trials, MIN, top=0.5)
    assert search.refine_cell(top=0.5) == search.refine(top=0.5)  # no magic line known: the spec alone
    search.magic_line = "%%hpsearch build X y --strategy random --trials 20 -o search"
    cell = search.refine_cell(top=0.5, strategy="bayes", trials=10)
    first, *rest = cell.splitlines()
    assert first == "%%hpsearch build X y -o search --strategy bayes --trials 10"
    assert "\n".join(rest) + "\n" == search.refine(top=0.5)
    assert search.refine_cell(top=0.5).splitlines()[0] == search.magic_line


def test_a_reopened_search_reads_its_space_from_its_spec():
    search = make_search("x = float(0, 1)", [({"x": 0.5}, 0.1), ({"x": 0.1}, 0.9)])
    search.space = None
    assert "x = float(0.4, 0.6)" in search.refine(top=0.5)


def test_a_reopened_search_whose_spec_needs_the_notebook_asks_for_the_space():
    search = make_search("x = float(0, 1)", [({"x": 0.5}, 0.1)])
    search.space, search.rounds[0]["spec"] = None, "x = float(0, {hi})"
    with pytest.raises(NnhpError, match=r"search.space = nnhp_magics.parse_spec"):
        search.refine()


# ----- importances ---------------------------------------------------------------------------------
def synthetic(n: int = 40, seed: int = 0) -> list[tuple[dict, float]]:
    """x1 drives the score, x2 is noise-free irrelevant, act matters a little."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        x1, x2 = float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1))
        act = ["relu", "tanh"][int(rng.integers(2))]
        rows.append(({"x1": x1, "x2": x2, "act": act}, x1**2 + 0.01 * float(rng.normal())))
    return rows


def test_the_parameter_that_drives_the_score_is_the_most_important():
    search = make_search("x1 = float(-1, 1)\nx2 = float(-1, 1)\nact = ['relu', 'tanh']", synthetic())
    found = search.importances()
    assert list(found)[0] == "x1"
    assert found["x1"] > 0.8 and found["x2"] < 0.1 and found["act"] < 0.1
    assert sum(found.values()) == pytest.approx(1.0)
    assert found == importances(search)  # seeded: the same every time


def test_importances_need_two_complete_trials():
    search = make_search("x = float(0, 1)", [({"x": 0.5}, 0.1)])
    search.record_trial(Trial(1, {"x": 0.2}, state="failed", error="boom"))
    with pytest.raises(NnhpError, match="at least 2 complete trials; this search has 1"):
        search.importances()


def test_scores_that_never_vary_give_zero_importances():
    search = make_search("x = float(0, 1)\ny = float(0, 1)", [({"x": 0.1, "y": 0.2}, 1.0), ({"x": 0.7, "y": 0.4}, 1.0)])
    assert search.importances() == {"x": 0.0, "y": 0.0}


def test_a_conditional_parameter_is_weighted_by_how_often_it_was_active():
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(40):
        wide = bool(rng.integers(2))
        noise = float(rng.uniform(0, 1))
        params = {"wide": wide, "noise": noise}
        score = 1.0
        if wide:
            params["units"] = int(rng.integers(1, 100))
            score = params["units"] / 100
        rows.append((params, score + 0.01 * noise))
    spec = "wide = choice(True, False)\nnoise = float(0, 1)\nunits = int(1, 99) if wide"
    search = make_search(spec, rows)
    found = search.importances()
    active = sum(1 for params, _ in rows if "units" in params) / len(rows)
    assert set(found) == {"wide", "noise", "units"}
    assert found["wide"] + found["noise"] == pytest.approx(1.0)
    assert found["units"] > 0.5 * active and found["units"] <= active + 1e-9
    assert found["units"] > found["noise"]


def test_importances_cover_trials_outside_the_space_such_as_the_baseline():
    rows = synthetic(20)
    rows[0] = ({"x1": 3.0, "x2": 0.0, "act": "gelu"}, 9.0)  # BUILD's defaults, outside the spec
    search = make_search("x1 = float(-1, 1)\nx2 = float(-1, 1)\nact = ['relu', 'tanh']", rows)
    found = search.importances()
    assert max(found, key=found.get) == "x1"


# ----- plot data -----------------------------------------------------------------------------------
def test_parallel_coordinates_data_has_one_axis_per_parameter_and_none_where_inactive():
    spec = "n_hidden = choice(0, 1)\nn = int(1, 99) if n_hidden > 0\nlr = loguniform(1e-4, 1e-1)"
    search = make_search(spec, [({"n_hidden": 0, "lr": 1e-3}, 0.5), ({"n_hidden": 1, "n": 40, "lr": 1e-2}, 0.2)], MAX)
    data = parallel_coordinates_data(search)
    assert data.trials == [0, 1] and data.scores == [0.5, 0.2] and not data.minimize
    axes = {a.name: a for a in data.axes}
    assert axes["n_hidden"].labels == ["0", "1"] and axes["n_hidden"].values == [0, 1]
    assert axes["n"].values == [None, 40] and (axes["n"].low, axes["n"].high) == (1, 99)
    assert axes["lr"].log and axes["lr"].low == 1e-4
    assert data._asdict()["axes"][0]._asdict()["name"] == "n_hidden"


def test_explore_imports_neither_tensorflow_nor_ipython():
    code = (
        "import sys, nnhp_magics.search.analysis; "
        "assert not {'tensorflow', 'keras', 'IPython'} & set(sys.modules), 'explore is not pure'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_refined_bound_the_original_range_clips_is_rounded_inwards():
    from nnhp_magics.search.analysis import _refined_float

    d = parse_spec("lr = loguniform(0.0026791683, 0.08037504974457205)")["lr"].dist
    refined = _refined_float(d, [0.01, 0.07], 0.1)
    assert refined.high == 0.0803 and d.low <= refined.low < refined.high <= d.high
    d = parse_spec("x = float(0.123456, 0.987654321)")["x"].dist
    refined = _refined_float(d, [0.2, 0.98], 0.1)
    assert (refined.low, refined.high) == (0.124, 0.987)
