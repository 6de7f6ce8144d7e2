"""Every option of a search, stated once: keyword, flag, type, default, constraint and help.

The ``%%hpsearch`` parser is built from ``SEARCH_OPTIONS``, ``plan_search`` checks
values with :func:`check_values`, and tests hold ``api.hpsearch``'s keywords and the
README's options table to the same names and defaults, so the five places an
option shows up cannot drift apart.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnhp_magics.errors import NnhpError


@dataclass(frozen=True)
class Option:
    """One option: ``name`` is the Python keyword, ``flag`` the magic's spelling.

    ``kind`` converts the magic's text (None: a flag that is off unless given; bool:
    ``--flag``/``--no-flag``, unset when neither is given);
    ``valid`` says whether a value is allowed, and ``rule`` finishes the sentence
    "FLAG must be ..." when it is not. ``shown_default`` is how the README's table
    writes the default.
    """

    name: str
    default: Any
    help: str
    shown_default: str
    kind: type | None = str
    valid: Callable[[Any], bool] | None = None
    rule: str = ""
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parser_arguments(self) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The ``argparse`` ``add_argument`` call for this option."""
        if self.kind is None:
            return (self.flag,), {"action": "store_true", "help": self.help}
        if self.kind is bool:
            return (self.flag,), {"action": argparse.BooleanOptionalAction, "default": self.default, "help": self.help}
        extra = {"metavar": self.metavar} if self.metavar else {}
        return (self.flag,), {"type": self.kind, "default": self.default, "help": self.help, **extra}

    def check(self, value: Any) -> None:
        """Raise an NnhpError naming the flag when ``value`` breaks the option's rule."""
        if value is not None and self.valid is not None and not self.valid(value):
            raise NnhpError(f"{self.flag} must be {self.rule}, got {value!r}.")


def _at_least(low: float) -> Callable[[Any], bool]:
    return lambda value: value >= low


SEARCH_OPTIONS: tuple[Option, ...] = (
    Option("validation_split", 0.2, "held-out fraction when no --valid/--cv (default 0.2)", "0.2", float),
    Option("cv", None, "K-fold cross-validation", "off", int, _at_least(2),
           "at least 2 folds (leave --cv out to train on one split)"),
    Option("strategy", "random", "random, grid, bayes, hyperband or evolution", "`random`"),
    Option("sampler", None, "the model proposing trials: bayes tpe (default) or gp (needs pip install "
           "'nnhp-magics[gp]'); hyperband random (default) or tpe (BOHB-style)", "the strategy's own"),
    Option("trials", None, "trials to finish (default 10; grid: its size; hyperband: its plan)", "10", int,
           _at_least(1), "at least 1"),
    Option("epochs", 100, "max epochs per trial (per fold)", "100", int, _at_least(1), "at least 1"),
    Option("patience", 10, "early-stopping patience; 0 = off", "10", int, _at_least(0), "0 (off) or more"),
    Option("batch_size", 32, "fit batch size unless the spec tunes batch_size", "32", int, _at_least(1), "at least 1"),
    Option("factor", 3, "hyperband: keep 1 in FACTOR trials at each rung (Keras Tuner's factor)", "3", int,
           _at_least(2), "at least 2"),
    Option("iterations", 1, "hyperband: run its whole plan this many times (Keras Tuner's hyperband_iterations)",
           "1", int, _at_least(1), "at least 1"),
    Option("objective", "val_loss", "metric to optimise; min:NAME / max:NAME for other names", "`val_loss`"),
    Option("seed", None, "seed for parameters and weights", "—", int),
    Option("timeout", None, "start no new trial after this many seconds", "—", float, lambda v: v > 0,
           "a positive number of seconds"),
    Option("export", None, "save the best model here when the search ends", "—"),
    Option("overwrite", False, "let --export replace existing files", "—", None),
    Option("storage", None, "storage URL to persist trials", "in memory"),
    Option("study", None, "study name in the storage", "in memory"),
    Option("keep_models", 1, "with --storage: keep the K best models next to it (0 = none)", "1", int,
           _at_least(0), "0 (none) or more"),
    Option("workers", 1, "trials at once on this machine", "1", int, _at_least(1), "at least 1"),
    Option("dask", None, "a Dask scheduler address or Client variable", "—"),
    Option("background", False, "run off the main thread; the cell returns at once", "off", None),
    Option("baseline", False, "trial 0 runs BUILD's own defaults", "off", None),
    Option("warmup", 0.0, "ramp the learning rate up over this many epochs", "0", float, _at_least(0),
           "0 or more epochs"),
    Option("engine", "auto", "auto (graph engine where faithful, else fit), graph or fit", "`auto`"),
    Option("pack", None, "folds trained side by side in one graph, a CV trial's folds together (default 1)", "1", int, _at_least(1),
           "at least 1 (1 = one trial at a time)"),
    Option("jit", None, "XLA for the epoch program: auto (where the trial's predicted steps pay for the compile), "
           "--jit always, --no-jit never", "auto", bool),
    Option("tensorboard", None, "log each trial's curves to DIR/trial-N and the HParams table (needs tensorboard)",
           "—", metavar="DIR"),
)

OPTIONS_BY_NAME = {option.name: option for option in SEARCH_OPTIONS}


def check_values(values: dict[str, Any]) -> None:
    """Check each named value against its option's rule, in table order; the first broken rule raises."""
    for option in SEARCH_OPTIONS:
        if option.name in values:
            option.check(values[option.name])
