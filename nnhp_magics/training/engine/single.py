"""The graph engine for one trial at a time: its folds one after another, one traced program for all of them.

With a :class:`ProgramCache` (the in-process executor keeps one across the trials
of a batch), a model of a later trial whose whole configuration matches an earlier
one's, learning rate aside, trains in that trial's traced or XLA-compiled program
instead of tracing its own; and from the second width of an MLP on, the plain-graph
program of a :class:`~nnhp_magics.training.engine.widths.WidthHost` serves them all.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any

import numpy as np

from nnhp_magics.training.engine.fold import FoldRun
from nnhp_magics.training.engine.graph import (
    EpochProgram,
    Feed,
    adopt,
    as_tensors,
    load_state,
    prepare_model,
    shared_key,
    state_variables,
    structure,
)
from nnhp_magics.training.engine.select import use_xla
from nnhp_magics.training.engine.widths import WidthHost, width_key

#: Programs a cache keeps (least recently used first out): each holds a traced graph and the model it was traced on,
#: so the bound keeps memory flat over any number of trials.
CACHED_PROGRAMS = 4

ProgramKey = tuple[str, int, bool]
WidthKey = tuple[str, int]


class ProgramCache:
    """Traced epoch programs shared across trials, each with the model of the trial that traced it.

    Keyed by :func:`shared_key`, batch size and XLA, so only a model the program
    trains exactly as it would its own is loaded into it. The program's model
    belongs to the trial that traced it (that trial may keep it), so a later trial
    borrows it: :class:`GraphSession` saves its state first and puts it back after.
    Most keys of a search never recur (nearly every trial of the textbook space has
    its own width), so it also keeps width hosts: the first model of a width key
    traces its own program, the second builds the host every later one shares.
    """

    def __init__(self, size: int = CACHED_PROGRAMS) -> None:
        self.size = size
        self.entries: OrderedDict[ProgramKey, tuple[Any, EpochProgram]] = OrderedDict()
        self.hosts: OrderedDict[WidthKey, WidthHost | None] = OrderedDict()
        self.first_widths: set[WidthKey] = set()

    def get(self, key: ProgramKey) -> tuple[Any, EpochProgram] | None:
        """The (model, program) cached for this key, or None."""
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: ProgramKey, model: Any, program: EpochProgram) -> None:
        """Keep ``program``, traced on ``model``, for later trials with this key (the oldest program goes)."""
        self.entries[key] = (model, program)
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def width_host(self, model: Any, feed: Feed, batch_size: int) -> WidthHost | None:
        """The width host for ``model`` (built now for the second model of its width key), or None.

        None for a model that does not qualify, for the first model of its key (its
        own program is as cheap, and faster per epoch when no other width follows),
        and where the host cannot be traced.
        """
        text = width_key(model)
        if text is None:
            return None
        key = (text, batch_size)
        if key not in self.hosts:
            if key not in self.first_widths:
                self.first_widths.add(key)
                return None
            self.hosts[key] = WidthHost.for_model(model, feed, batch_size)
            while len(self.hosts) > self.size:
                self.hosts.popitem(last=False)
        self.hosts.move_to_end(key)
        return self.hosts[key]


class GraphSession:
    """Trains a trial's folds in the graph engine, re-using the traced epoch program across folds.

    Each fold's model is built fresh (its own seed, its own initial weights); when
    it has the same architecture as the model the program was traced for, its
    state is loaded into that model, the program runs again without a retrace,
    and the trained state is copied back, so the caller always gets its own model.
    A program borrowed from an earlier trial gets that trial's model state back
    after every fold. ``jit`` None lets :func:`use_xla` decide from the trial's
    budget (``folds`` folds, ``early_stopping`` or not) when the program is first traced.
    With ``share_widths`` (no callbacks of the user's, which would see the host and
    its configuration) a plain-graph model may train in its width key's host.
    """

    def __init__(
        self, jit: bool | None = False, folds: int = 1, early_stopping: bool = True,
        programs: ProgramCache | None = None, share_widths: bool = True,
    ) -> None:
        self.jit, self.folds, self.early_stopping, self.programs = jit, folds, early_stopping, programs
        self.share_widths = share_widths
        self.model: Any = None
        self.program: EpochProgram | None = None
        self.host: WidthHost | None = None
        self.lender_state: list[np.ndarray] | None = None
        self.last_model: Any = None

    def train(
        self, model: Any, feed: Feed, batch_size: int, callbacks: list[Any], epochs: int, seed: int | None,
        shuffle: bool = True,
    ) -> tuple[Any, dict[str, list[float]]]:
        """Train ``model`` on ``feed`` epoch by epoch; returns ``model``, trained, and its history."""
        trained = self._adopt(model, feed, batch_size, epochs)
        assert self.program is not None
        self.last_model = model
        try:
            run = FoldRun(trained, feed, callbacks, epochs, seed, shuffle, batch_size)
            while not run.done:
                order = run.begin_epoch()
                with self._open():
                    logs = self.program.run([feed], [order], [True])[0]
                run.end_epoch(logs)
            history = run.finish()
            if trained is not model:
                adopt(model, trained)
        finally:
            if self.lender_state is not None:
                load_state(trained, self.lender_state)
        return model, history

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        """Evaluate the last trained model on (x, y), as ``model.evaluate(x, y)`` does."""
        assert self.program is not None
        if self.host is not None:
            self.host.load(self.last_model)
            with self.host.open():
                return self.program.evaluate(0, as_tensors(x), as_tensors(y))
        if self.lender_state is None:
            return self.program.evaluate(0, as_tensors(x), as_tensors(y))
        adopt(self.model, self.last_model)
        try:
            return self.program.evaluate(0, as_tensors(x), as_tensors(y))
        finally:
            load_state(self.model, self.lender_state)

    def _adopt(self, model: Any, feed: Feed, batch_size: int, epochs: int) -> Any:
        """The model the program trains: its own, the trial's earlier fold's, or an earlier trial's (borrowed)."""
        prepare_model(model, feed, batch_size)
        reusable = (
            self.program is not None and self.program.batch_size == batch_size
            and structure(self.model) == structure(model)
        )
        if not reusable:
            jit = use_xla(self.jit, epochs, self.folds, feed.rows, batch_size, self.early_stopping)
            key = shared_key(model) if self.programs is not None else None
            entry = None if key is None or self.programs is None else self.programs.get((key, batch_size, jit))
            self.host = None
            if entry is None and not jit and self.share_widths and self.programs is not None:
                self.host = self.programs.width_host(model, feed, batch_size)
            if self.host is not None:
                self.model, self.program, self.lender_state = self.host.model, self.host.program, None
            elif entry is None:
                self.model, self.program, self.lender_state = model, EpochProgram([model], batch_size, jit), None
                if key is not None and self.programs is not None:
                    self.programs.put((key, batch_size, jit), model, self.program)
                return model
            else:
                self.model, self.program = entry
                self.lender_state = [np.array(v.numpy()) for v in state_variables(self.model)]
        if self.host is not None:
            self.host.load(model)
        else:
            adopt(self.model, model)
        return self.model

    def _open(self) -> contextlib.AbstractContextManager[None]:
        """Around a call of the program: the host's open shapes when training in a width host."""
        return self.host.open() if self.host is not None else contextlib.nullcontext()
