"""The graph engine for one trial at a time: its folds one after another, one traced program for all of them.

With a :class:`ProgramCache` (the in-process executor keeps one across the trials
of a batch), a model of a later trial whose whole configuration matches an earlier
one's, learning rate aside, trains in that trial's traced or XLA-compiled program
instead of tracing its own.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from nnhp_magics.training import backend
from nnhp_magics.training.engine.fold import FoldRun
from nnhp_magics.training.engine.graph import (
    EpochProgram,
    Feed,
    adopt,
    as_tensors,
    prepare_model,
    shared_key,
    structure,
)
from nnhp_magics.training.engine.select import use_xla

#: Programs a cache keeps (least recently used first out): each holds a traced graph and a model.
CACHED_PROGRAMS = 4


class ProgramCache:
    """Traced epoch programs shared across trials, each with its own private model (a clone no trial keeps).

    Keyed by :func:`shared_key`, batch size and XLA, so only a model the program
    trains exactly as it would its own is loaded into it.
    """

    def __init__(self, size: int = CACHED_PROGRAMS) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, int, bool], tuple[Any, EpochProgram]] = OrderedDict()

    def program_for(self, key: str, model: Any, feed: Feed, batch_size: int, jit: bool) -> tuple[Any, EpochProgram]:
        """The cached (private model, program) for this key, traced on a clone of ``model`` the first time."""
        entry_key = (key, batch_size, jit)
        entry = self.entries.get(entry_key)
        if entry is None:
            keras = backend.keras()
            private = keras.models.clone_model(model)
            private.compile_from_config(model.get_compile_config())
            prepare_model(private, feed, batch_size)
            entry = self.entries[entry_key] = (private, EpochProgram([private], batch_size, jit))
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        self.entries.move_to_end(entry_key)
        return entry

    def clear(self) -> None:
        """Forget every program (before Keras' state is cleared)."""
        self.entries.clear()


class GraphSession:
    """Trains a trial's folds in the graph engine, re-using the traced epoch program across folds.

    Each fold's model is built fresh (its own seed, its own initial weights); when
    it has the same architecture as the model the program was traced for, its
    state is loaded into that model, the program runs again without a retrace,
    and the trained state is copied back, so the caller always gets its own model.
    ``jit`` None lets :func:`use_xla` decide from the trial's budget (``folds`` folds,
    ``early_stopping`` or not) when the program is first traced.
    """

    def __init__(
        self, jit: bool | None = False, folds: int = 1, early_stopping: bool = True,
        programs: ProgramCache | None = None,
    ) -> None:
        self.jit, self.folds, self.early_stopping, self.programs = jit, folds, early_stopping, programs
        self.model: Any = None
        self.program: EpochProgram | None = None

    def train(
        self, model: Any, feed: Feed, batch_size: int, callbacks: list[Any], epochs: int, seed: int | None,
        shuffle: bool = True,
    ) -> tuple[Any, dict[str, list[float]]]:
        """Train ``model`` on ``feed`` epoch by epoch; returns ``model``, trained, and its history."""
        trained = self._adopt(model, feed, batch_size, epochs)
        assert self.program is not None
        run = FoldRun(trained, feed, callbacks, epochs, seed, shuffle, batch_size)
        while not run.done:
            order = run.begin_epoch()
            run.end_epoch(self.program.run([feed], [order], [True])[0])
        history = run.finish()
        if trained is not model:
            adopt(model, trained)
        return model, history

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        """Evaluate the last trained model on (x, y), as ``model.evaluate(x, y)`` does."""
        assert self.program is not None
        return self.program.evaluate(0, as_tensors(x), as_tensors(y))

    def _adopt(self, model: Any, feed: Feed, batch_size: int, epochs: int) -> Any:
        """The model the program trains: its own, the trial's earlier fold's, or a cached program's private one."""
        prepare_model(model, feed, batch_size)
        reusable = (
            self.program is not None and self.program.batch_size == batch_size
            and structure(self.model) == structure(model)
        )
        if not reusable:
            jit = use_xla(self.jit, epochs, self.folds, feed.rows, batch_size, self.early_stopping)
            key = shared_key(model) if self.programs is not None else None
            if key is None or self.programs is None:
                self.model, self.program = model, EpochProgram([model], batch_size, jit)
                return model
            self.model, self.program = self.programs.program_for(key, model, feed, batch_size, jit)
        adopt(self.model, model)
        return self.model
