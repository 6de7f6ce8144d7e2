"""The search loop with a fake trial runner: budget, states, events and snapshots, no Keras anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pytest

from nnhp_magics.api import Search
from nnhp_magics.core.events import EpochEnded, EventBus, SearchEnded, SearchStarted, TrialFinished, TrialStarted
from nnhp_magics.core.results import COMPLETE, FAILED, Trial
from nnhp_magics.errors import AllTrialsFailed
from nnhp_magics.search.loop import plan_search, run_search
from nnhp_magics.training.trial import TrialOutcome, TrialTask


@pytest.fixture(autouse=True)
def no_keras_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning starts Keras first (to keep TensorFlow's start-up lines out of the cell); here there is none to start."""
    monkeypatch.setattr("nnhp_magics.training.backend.keras", lambda: None)


def build(units: int = 4, learning_rate: float = 0.01) -> None:
    """Never called: the fake runner stands in for training."""
    raise AssertionError("the fake runner trains nothing")


class FakeRunner:
    """An executor whose trials score ``units * learning_rate`` after three fake epochs; units == 3 fails."""

    concurrency = 1
    refills = False

    def __init__(self) -> None:
        self.ran: list[int] = []

    def run(
        self, tasks: Iterable[TrialTask], build: Callable[..., Any], data: Any, config: Any, control: Any
    ) -> Iterator[TrialOutcome]:
        for task in tasks:
            self.ran.append(task.number)
            losses = [1.0, 0.5, task.params["units"] * task.params["learning_rate"]]
            for epoch, loss in enumerate(losses):
                control.epoch_end(task.number, 0, 1, epoch, {"loss": loss, "val_loss": loss})
            if task.params["units"] == 3:
                record = Trial(task.number, dict(task.params), state=FAILED, error="ValueError: three units")
            else:
                record = Trial(
                    task.number, dict(task.params), state=COMPLETE, score=losses[-1],
                    history={"val_loss": losses}, best_epochs=[3], epochs=3,
                )
            yield TrialOutcome(record)


def plan(spec: str, **options: Any) -> Any:
    x, y = np.zeros((20, 2), dtype="float32"), np.zeros(20, dtype="float32")
    defaults = dict(
        valid=None, validation_split=0.2, cv=None, strategy="random", trials=5, epochs=3, patience=0,
        batch_size=8, objective="val_loss", seed=0, timeout=None, export=None, overwrite=False, storage=None,
        study=None, workers=1, dask=None, fit_kwargs=None, baseline=False, warmup=0, namespace={},
    )
    made = plan_search(build, x, y, spec, **{**defaults, **options})
    made.executor = FakeRunner()
    return made


def test_the_loop_runs_the_budget_and_reports_every_trial_and_epoch_as_events():
    search_plan = plan("units = int(4, 8)\nlearning_rate = loguniform(1e-3, 1e-1)")
    search, bus, events = search_plan.new_search(Search), EventBus(), []
    bus.subscribe(events.append)
    run_search(search_plan, search, bus)
    assert search_plan.executor.ran == [0, 1, 2, 3, 4]
    assert [t.state for t in search.trials] == [COMPLETE] * 5
    assert search.best_score == min(t.score for t in search.trials)
    assert isinstance(events[0], SearchStarted) and isinstance(events[-1], SearchEnded)
    assert sum(isinstance(e, TrialStarted) for e in events) == 5
    assert sum(isinstance(e, EpochEnded) for e in events) == 15
    assert [e.trial for e in events if isinstance(e, TrialFinished)] == [0, 1, 2, 3, 4]
    assert search.stop_reason == "done" and search.done


def test_a_failed_trial_counts_toward_the_budget_and_the_search_goes_on():
    search_plan = plan("units = choice(3, 5)\nlearning_rate = 0.1", trials=6)
    search = search_plan.new_search(Search)
    run_search(search_plan, search, EventBus())
    states = {t.params["units"]: t.state for t in search.trials}
    assert states == {3: FAILED, 5: COMPLETE}
    assert len(search.trials) == 6 and search.best_params["units"] == 5


def test_every_trial_failing_raises_with_the_reasons_after_the_search_ended():
    search_plan = plan("units = 3\nlearning_rate = loguniform(1e-3, 1e-1)", trials=2)
    search = search_plan.new_search(Search)
    with pytest.raises(AllTrialsFailed, match="three units"):
        run_search(search_plan, search, EventBus())
    assert search.done and len(search.trials) == 2


def test_readers_hold_snapshots_the_running_search_never_changes():
    search_plan = plan("units = int(4, 8)\nlearning_rate = 0.01", trials=3)
    search, seen = search_plan.new_search(Search), []

    def keep(event: Any) -> None:
        if isinstance(event, TrialStarted):
            seen.append(search.trials)

    bus = EventBus()
    bus.subscribe(keep)
    run_search(search_plan, search, bus)
    first = seen[0]
    assert [t.state for t in first] == ["running"], "the list taken when trial 0 started still shows it running"
    assert [t.state for t in search.trials] == [COMPLETE] * 3


@pytest.mark.parametrize(("epochs", "brackets", "configurations"), [(100, 5, 172), (27, 4, 49)])
def test_hyperband_plans_as_keras_tuner_and_runs_its_plan_without_trials(epochs, brackets, configurations):
    from nnhp_magics.search.strategies import hyperband_plan

    plan_for = hyperband_plan(epochs, factor=3)
    assert (len(plan_for.brackets), plan_for.configurations) == (brackets, configurations)
    assert hyperband_plan(epochs, factor=3, iterations=2).configurations == 2 * configurations
    search_plan = plan("units = int(4, 8)\nlearning_rate = 0.01", strategy="hyperband", trials=None, epochs=epochs)
    assert search_plan.trials == configurations
    search = search_plan.new_search(Search)
    assert f"{brackets} brackets, {configurations} configurations up to {epochs} epochs" in search.plan_text


def test_hyperband_with_trials_keeps_their_meaning():
    assert plan("units = int(4, 8)", strategy="hyperband", trials=7, epochs=27).trials == 7


def test_xla_is_left_to_each_trials_budget_except_under_a_pruning_strategy_unless_forced():
    assert plan("units = int(1, 4)").config.jit is None
    assert plan("units = int(1, 4)", strategy="hyperband", trials=None).config.jit is False
    assert plan("units = int(1, 4)", strategy="hyperband", trials=None, jit=True).config.jit is True
    assert plan("units = int(1, 4)", jit=False).config.jit is False


def test_objects_older_than_the_block_are_frozen_inside_and_garbage_made_inside_is_still_collected():
    import gc

    from nnhp_magics.training.backend import earlier_objects_frozen

    class Node:
        pass

    with earlier_objects_frozen():
        assert gc.get_freeze_count() > 0
        cycle = Node()
        cycle.self = cycle
        del cycle
        assert gc.collect() >= 1, "a cycle made inside is collected"
    assert gc.get_freeze_count() == 0


def test_objects_someone_else_froze_stay_frozen_as_they_were():
    import gc

    from nnhp_magics.training.backend import earlier_objects_frozen

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()  # it only shrinks from here, as frozen objects are freed
        with earlier_objects_frozen():
            assert 0 < gc.get_freeze_count() <= frozen, "nothing more frozen"
        assert 0 < gc.get_freeze_count() <= frozen, "nor unfrozen by the block"
    finally:
        gc.unfreeze()
