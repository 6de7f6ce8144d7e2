"""Where trials run. The search hands an executor a batch of trials and gets outcomes back.

Only the in-process executor lives here for now; parallel and Dask executors plug
in behind the same ``run`` method (a batch in, outcomes out as they finish).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from . import backend
from .data import TrainingData
from .training import FitConfig, TrialControl, TrialOutcome, TrialTask, run_trial


class InProcessExecutor:
    """Runs a batch of trials one after another in this process, then frees Keras' state."""

    concurrency = 1
    name = "in-process"

    def run(
        self,
        tasks: list[TrialTask],
        build: Callable[..., Any],
        data: TrainingData,
        config: FitConfig,
        control: TrialControl,
    ) -> Iterator[TrialOutcome]:
        try:
            for task in tasks:
                yield run_trial(task, build, data, config, control)
        finally:
            backend.clear_session()


def make_executor(workers: int = 1, dask: Any = None) -> InProcessExecutor:
    """The executor for the search's options (only in-process so far)."""
    return InProcessExecutor()
