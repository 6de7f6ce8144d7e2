"""The graph engine for one trial at a time: its folds one after another, one traced program for all of them."""

from __future__ import annotations

from typing import Any

from nnhp_magics.training.engine.fold import FoldRun
from nnhp_magics.training.engine.graph import EpochProgram, Feed, adopt, as_tensors, prepare_model, structure


class GraphSession:
    """Trains a trial's folds in the graph engine, re-using the traced epoch program across folds.

    Each fold's model is built fresh (its own seed, its own initial weights); when
    it has the same architecture as the model the program was traced for, its
    state is loaded into that model and the program runs again without a retrace.
    """

    def __init__(self, jit: bool = False) -> None:
        self.jit = jit
        self.model: Any = None
        self.program: EpochProgram | None = None

    def train(
        self, model: Any, feed: Feed, batch_size: int, callbacks: list[Any], epochs: int, seed: int | None,
        shuffle: bool = True,
    ) -> tuple[Any, dict[str, list[float]]]:
        """Train ``model`` on ``feed`` epoch by epoch; returns the trained model (maybe the traced twin) and history."""
        model = self._adopt(model, feed, batch_size)
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

    def _adopt(self, model: Any, feed: Feed, batch_size: int) -> Any:
        prepare_model(model, feed, batch_size)
        reusable = (
            self.program is not None and self.program.batch_size == batch_size
            and structure(self.model) == structure(model)
        )
        if reusable:
            adopt(self.model, model)
            return self.model
        self.model, self.program = model, EpochProgram([model], batch_size, self.jit)
        return model
