"""The graph engine for one trial at a time: its folds one after another, one traced program for all of them."""

from __future__ import annotations

from typing import Any

from nnhp_magics.training.engine.fold import FoldRun
from nnhp_magics.training.engine.graph import EpochProgram, Feed, adopt, as_tensors, prepare_model, structure
from nnhp_magics.training.engine.select import use_xla


class GraphSession:
    """Trains a trial's folds in the graph engine, re-using the traced epoch program across folds.

    Each fold's model is built fresh (its own seed, its own initial weights); when
    it has the same architecture as the model the program was traced for, its
    state is loaded into that model and the program runs again without a retrace.
    ``jit`` None lets :func:`use_xla` decide from the trial's budget (``folds`` folds,
    ``early_stopping`` or not) when the program is first traced.
    """

    def __init__(self, jit: bool | None = False, folds: int = 1, early_stopping: bool = True) -> None:
        self.jit, self.folds, self.early_stopping = jit, folds, early_stopping
        self.model: Any = None
        self.program: EpochProgram | None = None

    def train(
        self, model: Any, feed: Feed, batch_size: int, callbacks: list[Any], epochs: int, seed: int | None,
        shuffle: bool = True,
    ) -> tuple[Any, dict[str, list[float]]]:
        """Train ``model`` on ``feed`` epoch by epoch; returns the trained model (maybe the traced twin) and history."""
        model = self._adopt(model, feed, batch_size, epochs)
        assert self.program is not None
        run = FoldRun(model, feed, callbacks, epochs, seed, shuffle, batch_size)
        while not run.done:
            order = run.begin_epoch()
            run.end_epoch(self.program.run([feed], [order], [True])[0])
        return model, run.finish()

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        """Evaluate the last trained model on (x, y), as ``model.evaluate(x, y)`` does."""
        assert self.program is not None
        return self.program.evaluate(0, as_tensors(x), as_tensors(y))

    def _adopt(self, model: Any, feed: Feed, batch_size: int, epochs: int) -> Any:
        prepare_model(model, feed, batch_size)
        reusable = (
            self.program is not None and self.program.batch_size == batch_size
            and structure(self.model) == structure(model)
        )
        if reusable:
            adopt(self.model, model)
            return self.model
        jit = use_xla(self.jit, epochs, self.folds, feed.rows, batch_size, self.early_stopping)
        self.model, self.program = model, EpochProgram([model], batch_size, jit)
        return model
