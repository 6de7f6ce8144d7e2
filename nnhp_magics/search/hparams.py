"""``--tensorboard DIR``: the TensorBoard HParams summaries of a search, written with TensorBoard's own writers.

``DIR`` gets the experiment (the tuned parameters and the objective as metric);
each ``DIR/trial-N`` gets the trial's parameters and, once scored, its objective
under the objective's name, beside the ``train/`` and ``validation/`` curves the
trial's TensorBoard callback writes. ``%tensorboard --logdir DIR`` then shows the
HParams table and parallel-coordinates view.
"""

from __future__ import annotations

import importlib.util
import numbers
import os
import time
from typing import Any

from nnhp_magics.core.results import Objective, Trial
from nnhp_magics.errors import NnhpError

EXPERIMENT_SUFFIX = ".nnhp-experiment"
TRIAL_SUFFIX = ".nnhp-trial"


def check_tensorboard(directory: Any) -> str:
    """The --tensorboard folder as a string, once TensorBoard (and TensorFlow, for the curves) can be imported."""
    if not isinstance(directory, (str, os.PathLike)) or not str(directory):
        raise NnhpError(f"--tensorboard takes a folder for the logs, got {directory!r}.")
    missing = [name for name in ("tensorboard", "tensorflow") if importlib.util.find_spec(name) is None]
    if missing:
        raise NnhpError(
            f"--tensorboard needs {' and '.join(missing)}: pip install {' '.join(missing)} "
            "(or pip install 'nnhp-magics[bench]'), then run the search again."
        )
    return os.fspath(directory)


class HParamsLog:
    """Writes the search's HParams experiment into ``directory`` and one session per finished trial."""

    def __init__(self, directory: str, param_names: list[str], objective: Objective) -> None:
        self.directory, self.param_names, self.objective = directory, list(param_names), objective

    def start(self) -> None:
        """Write the experiment: every tuned parameter and the objective as the metric."""
        from tensorboard.plugins.hparams import summary_v2

        hparams = [summary_v2.HParam(name) for name in self.param_names]
        metric = summary_v2.Metric(self.objective.name, display_name=f"{self.objective.name} ({self.objective.direction})")
        self._write(self.directory, summary_v2.hparams_config_pb(hparams, [metric]), suffix=EXPERIMENT_SUFFIX)

    def trial(self, record: Trial) -> None:
        """Write one finished trial's parameters, and its score when it has one, into ``directory/trial-N``."""
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.plugins.hparams import summary_v2

        folder = os.path.join(self.directory, f"trial-{record.number}")
        values = {name: hparam_value(record.params[name]) for name in self.param_names if name in record.params}
        summaries = [summary_v2.hparams_pb(values, trial_id=f"trial-{record.number}")]
        if record.score is not None:
            summaries.append(Summary(value=[Summary.Value(tag=self.objective.name, simple_value=float(record.score))]))
        self._write(folder, *summaries, suffix=TRIAL_SUFFIX)

    @staticmethod
    def _write(folder: str, *summaries: Any, suffix: str) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        writer = EventFileWriter(folder, filename_suffix=suffix)
        try:
            for summary in summaries:
                writer.add_event(Event(wall_time=time.time(), step=0, summary=summary))
        finally:
            writer.close()


def hparam_value(value: Any) -> bool | int | float | str:
    """A parameter as HParams stores it: a bool, number or string (anything else as its repr)."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a NumPy scalar
        value = value.item()
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return repr(value)
