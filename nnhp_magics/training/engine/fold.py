"""One fold trained by the graph engine, epoch by epoch, with the same callbacks the fit path uses.

The engine runs the epochs; a :class:`FoldRun` does what ``fit`` does around them:
``set_model`` and ``set_params`` (epochs, steps, verbose), ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end`` with the epoch's logs (early stopping with its
best weights, the search's reporter that emits events and asks the pruner, the
user's epoch-level callbacks), the ``TerminateOnNaN`` rule at the epoch's end, the
History (Keras' own, last in the list as in ``fit``, so a key a callback adds,
such as ReduceLROnPlateau's ``learning_rate``, is kept), and at the end the
optimizer's ``finalize_variable_values`` and ``on_train_end`` (which restores the
best weights).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnhp_magics.training import backend
from nnhp_magics.training.engine.graph import Feed, epoch_order


class FoldRun:
    """The training state of one model on one fold: its callbacks, epoch counter, batch orders and history."""

    def __init__(
        self, model: Any, feed: Feed, callbacks: list[Any], epochs: int, seed: int | None, shuffle: bool = True,
        batch_size: int | None = None,
    ) -> None:
        self.model, self.feed, self.epochs = model, feed, int(epochs)
        self.seed, self.shuffle = seed, shuffle
        rows = feed.rows
        steps = -(-rows // batch_size) if batch_size else None
        keras = backend.keras()
        self.recorder = keras.callbacks.History()
        self.callbacks = keras.callbacks.CallbackList(
            [*callbacks, self.recorder], model=model, epochs=self.epochs, steps=steps, verbose=0
        )
        self.epoch = 0
        self.last_logs: dict[str, float] = {}
        self.done = self.epochs < 1
        model.stop_training = False
        self.callbacks.on_train_begin()

    def begin_epoch(self) -> np.ndarray:
        """Start the coming epoch (``on_epoch_begin``) and return its batch order."""
        self.callbacks.on_epoch_begin(self.epoch)
        return epoch_order(self.feed.rows, self.seed, self.epoch, self.shuffle)

    def end_epoch(self, logs: dict[str, float]) -> None:
        """Record one epoch's logs and run the epoch-end callbacks; sets ``done`` when training should stop."""
        self.callbacks.on_epoch_end(self.epoch, logs)
        self.last_logs = logs
        if not math.isfinite(logs.get("loss", 0.0)):
            self.model.stop_training = True
        self.epoch += 1
        self.done = bool(self.model.stop_training) or self.epoch >= self.epochs

    @property
    def history(self) -> dict[str, list[float]]:
        """Every epoch's logs so far, by key."""
        return self.recorder.history

    def finish(self) -> dict[str, list[float]]:
        """End training as ``fit`` does (optimizer finalisation, ``on_train_end``) and return the history."""
        if self.epoch > 0:
            self.model.optimizer.finalize_variable_values(self.model.trainable_weights)
        self.callbacks.on_train_end(self.last_logs or None)
        return self.history
