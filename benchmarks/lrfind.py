"""Benchmark: the whole %lrfind at 500 steps against 500 plain ``train_on_batch`` calls.

Run: ``python benchmarks/lrfind.py [--seeds 3] [--steps 500] [--check]``. Both sides
train the textbook regression MLP (2 hidden layers of 30) on the same 4,096 x 8
standardized data with batches of 32, on one TensorFlow thread; each side starts
from a fresh compiled model (so each pays its one trace of the train step). The
lrfind side runs its whole call (snapshot, geometric ramp, smoothing, restore,
suggestion) over a range that does not diverge, so all steps run, once on a
compiled model and once from the build function (which adds building the model).
Wall-clock and process CPU time are both reported: on a shared machine the CPU
ratio is the steadier reading of lrfind's own overhead.
The three runs of a round go in a rotating order, after one untimed warm-up round;
the spread over seeds is printed. ``--check`` exits 1 when the median ratio for
the compiled model exceeds 1.3.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
BUDGET = 1.3


def pin_threads() -> None:
    """One intra-op and one inter-op TensorFlow thread."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def make_data(n: int = 4096, features: int = 8, seed: int = 0) -> tuple:
    """Standardized features and a noisy nonlinear target."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (np.tanh(x @ rng.normal(size=features)) + 0.1 * rng.normal(size=n)).astype("float32")
    return x, y


def build_model(n_hidden: int = 2, n_neurons: int = 30, learning_rate: float = 3e-3):
    """The textbook regression MLP."""
    import keras

    model = keras.Sequential([keras.Input(shape=(8,))])
    for _ in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


def fresh_model(seed: int):
    """A compiled model with seeded initial weights."""
    import keras

    keras.utils.set_random_seed(seed)
    return build_model()


class Timing(NamedTuple):
    wall: float
    cpu: float


def timed(run: Callable[[], object]) -> Timing:
    """Wall-clock and process CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def plain_calls(model, x, y, steps: int, batch_size: int = 32) -> None:
    """``steps`` train_on_batch calls on batches cut beforehand (cycling through the data)."""
    batches = [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x) - batch_size + 1, batch_size)]
    for step in range(steps):
        model.train_on_batch(*batches[step % len(batches)])


def whole_lrfind(build, x, y, steps: int, end: float = 1e-2) -> None:
    """One quiet lrfind call (its summary line swallowed) that runs every step."""
    import nnhp_magics

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        result = nnhp_magics.lrfind(build, x, y, steps=steps, end=end, quiet=True)
    assert len(result.lrs) == steps, f"lrfind stopped after {len(result.lrs)} steps"


def one_round(seed: int, x, y, steps: int) -> dict[str, Timing]:
    """Plain calls, lrfind on a compiled model, lrfind from the build function: in an order rotating with the seed."""
    def on_model() -> Timing:
        model = fresh_model(seed)
        return timed(lambda: whole_lrfind(model, x, y, steps))

    def plain() -> Timing:
        model = fresh_model(seed)
        return timed(lambda: plain_calls(model, x, y, steps))

    runs = {"plain": plain, "model": on_model, "build": lambda: timed(lambda: whole_lrfind(build_model, x, y, steps))}
    names = list(runs)
    return {name: runs[name]() for name in names[seed % 3 :] + names[: seed % 3]}


def spread(values: list[float]) -> str:
    return f"x{statistics.median(values):.2f} (range {min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the median wall ratio exceeds {BUDGET}")
    args = parser.parse_args()
    pin_threads()
    x, y = make_data()
    one_round(0, x, y, 20)
    rounds = []
    for seed in range(args.seeds):
        t = one_round(seed, x, y, args.steps)
        rounds.append(t)
        print(
            f"seed {seed}: {args.steps} train_on_batch {t['plain'].wall:.3f} s wall / {t['plain'].cpu:.3f} s CPU | "
            f"lrfind(compiled model) {t['model'].wall:.3f} / {t['model'].cpu:.3f} | "
            f"lrfind(build function) {t['build'].wall:.3f} / {t['build'].cpu:.3f}",
            flush=True,
        )
    ratios = {
        (side, clock): [getattr(t[side], clock) / getattr(t["plain"], clock) for t in rounds]
        for side in ("model", "build")
        for clock in ("wall", "cpu")
    }
    print(f"lrfind / {args.steps} plain train_on_batch calls, median over {args.seeds} seeds (budget x{BUDGET}):")
    for (side, clock), values in ratios.items():
        label = "compiled model" if side == "model" else "build function"
        print(f"  {label:<15} {clock:<4} {spread(values)}")
    return 1 if args.check and statistics.median(ratios[("model", "wall")]) > BUDGET else 0


if __name__ == "__main__":
    raise SystemExit(main())
