"""The learning-rate range test (``%lrfind``) and its suggestion.

Train once while the learning rate grows geometrically from ``start`` to ``end``
over ``steps`` mini-batches, record the loss, and read a learning rate off the
curve. The rule: ``suggestion`` is the learning rate at
the minimum of the smoothed loss divided by 10 (the textbook's "about 10x lower
than where the loss turns up"); ``steepest`` is the learning rate where the
smoothed loss falls fastest on the way down to that minimum. A flat or
always-rising curve gives ``suggestion = None`` and a warning. ``chosen`` is the
rate the user picks on the chart (``views/lrfind.py``); it is the suggestion until
a pick, and stays so where no chart is shown. The run emits events on the same
bus as a search; the views listen.

Importing this module is cheap: NumPy, the routing (Optuna), Keras and matplotlib
load only when a test runs or a figure is drawn.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from nnhp_magics.core.events import EventBus, RangeTestEnded, RangeTestFailed, RangeTestStep
from nnhp_magics.errors import NnhpError

FLAT_DROP = 0.1
DIVIDE_BY = 10.0
FINISHED, DIVERGED, INTERRUPTED, FAILED = "finished", "diverged", "interrupted", "failed"
DEFAULT_BATCH_SIZE = 32
#: The range-test figure's size in inches.
FIGURE_SIZE = (6.4, 3.6)


def rate_literal(rate: float) -> str:
    """A learning rate as the chart and its copy button write it: two significant digits, ``3.2e-02``."""
    return f"{rate:.1e}"


class LRFindWarning(UserWarning):
    """The range test found no (or only a doubtful) suggestion."""


class Reading(NamedTuple):
    """What the curve says: the suggestion, the steepest descent, the minimum, and any caveat."""

    suggestion: float | None
    steepest: float | None
    minimum: float | None
    problem: str | None


@dataclass
class LRFindResult:
    """The learning-rate range test: the curve, the suggestion and a plot.

    ``lrs``, ``losses`` and ``smoothed`` hold one value per mini-batch run;
    ``suggestion`` is the learning rate at the smoothed minimum ÷ 10 (None for a
    flat or always-rising curve), ``steepest`` the learning rate of the steepest
    smoothed descent, ``minimum`` the learning rate at the smoothed minimum.
    ``chosen`` is the rate picked on the chart, or set here; the suggestion until then.
    """

    start: float
    end: float
    steps: int
    diverge: float
    smoothing: float = 0.98
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggestion: float | None = None
    steepest: float | None = None
    minimum: float | None = None
    problem: str | None = None
    stopped: str = FINISHED
    seconds: float = 0.0
    widget: Any = field(default=None, init=False, repr=False, compare=False)
    _picked: float | None = field(default=None, init=False, repr=False, compare=False)
    shown_in_cell: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def chosen(self) -> float | None:
        """The learning rate picked on the chart (synced from the browser), else the suggestion."""
        if self.widget is not None:
            return self.widget.chosen
        return self.suggestion if self._picked is None else self._picked

    @chosen.setter
    def chosen(self, value: float | None) -> None:
        """Pick a rate from Python, clipped to :meth:`pick_range` (the chart's marker follows); None: the suggestion."""
        if value is None:
            rate = self.suggestion
        else:
            bounds = self.pick_range()
            if bounds is None:
                raise NnhpError("lr.chosen cannot be set: the range test ran no steps.")
            rate = clip_rate(value, *bounds)
        if self.widget is not None:
            self.widget.chosen = rate
        else:
            self._picked = rate

    def pick_range(self) -> tuple[float, float] | None:
        """The rates ``chosen`` may take: the tested ones, widened to the suggestion when it lies below them."""
        if not self.lrs:
            return None
        low, high = self.lrs[0], self.lrs[-1]
        if self.suggestion is not None:
            low = min(low, self.suggestion)
        return low, high

    def summary(self) -> str:
        """One line: the suggestion, the steepest descent, and how the run ended."""
        if self.suggestion is None:
            found = f"no suggestion ({self.problem})" if self.problem else "no suggestion"
        else:
            steepest = f"steepest {rate_literal(self.steepest)}, " if self.steepest is not None else ""
            minimum = self.minimum
            assert minimum is not None  # suggest() gives a suggestion only with the minimum it divides
            found = f"suggestion {rate_literal(self.suggestion)} ({steepest}loss minimum at {rate_literal(minimum)})"
        return f"lrfind: {found}; {self._ending()}"

    def picked_line(self) -> str:
        """The rate a search takes from ``lr.chosen``: "lr.chosen = 0.003 (picked on the chart)", or the suggestion's."""
        chosen = self.chosen
        if chosen is None:
            return "lr.chosen = None (no suggestion to start from)"
        how = "the suggestion" if chosen == self.suggestion else "picked"
        return f"lr.chosen = {rate_literal(chosen)} ({how})"

    def _ending(self) -> str:
        ran = f"{len(self.lrs)}/{self.steps} steps"
        if self.stopped == DIVERGED and self.lrs:
            return f"{ran}, stopped at lr {self.lrs[-1]:.2g} (loss diverged)"
        if self.stopped == INTERRUPTED:
            return f"{ran}, interrupted"
        return f"{ran}, lr {self.start:.2g} to {self.end:.2g}"

    def plot(self, ax: Any = None) -> Any:
        """A matplotlib figure of loss against learning rate (log x), the suggestion (and a rate picked apart from it) marked."""
        if ax is None:
            from matplotlib.figure import Figure

            figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
            ax = figure.subplots()
        ax.plot(self.lrs, self.losses, color="#8aa4c8", alpha=0.6, linewidth=1, label="loss")
        ax.plot(self.lrs, self.smoothed, color="#1f4e8c", linewidth=2, label="smoothed")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="#d62728", linestyle="--", label=f"suggestion {rate_literal(self.suggestion)}")
        if self.steepest is not None:
            ax.axvline(self.steepest, color="#2ca02c", linestyle=":", label=f"steepest {rate_literal(self.steepest)}")
        chosen = self.chosen
        if chosen is not None and chosen != self.suggestion:
            ax.axvline(chosen, color="#6a3d9a", linestyle="-", label=f"picked {rate_literal(chosen)}")
        ax.set_xscale("log")
        limits = y_limits(self.losses, self.smoothed, self.diverge)
        if limits is not None:
            ax.set_ylim(*limits)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("learning-rate range test")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        return ax.figure

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """One line in IPython's plain-text display."""
        printer.text(repr(self))

    def __repr__(self) -> str:
        return f"<LRFindResult {self.summary().removeprefix('lrfind: ')}>"


def run_lrfind(
    build: Any,
    x: Any,
    y: Any,
    result: LRFindResult,
    *,
    batch_size: int | None,
    bus: EventBus,
    params: dict[str, Any],
) -> LRFindResult:
    """Run the range test configured in ``result`` (options already checked by ``check_options``) on BUILD (a build function or a compiled model), emitting events.

    The rate at mini-batch ``k`` (0-based) is ``start * (end / start) ** (k / steps)``,
    the textbook's factor ``exp(log(end / start) / steps)`` per batch, set on the
    optimizer before every batch; the data (shuffled, seed 0) is cycled as needed.
    ``smoothed`` is an exponential moving average of the loss with bias correction
    (``smoothing`` is its decay); the run stops once it passes ``diverge`` times its
    minimum or turns NaN/inf. BUILD is called with ``params`` (the rest from its
    defaults); a compiled model is used as it is, and its weights, optimizer state
    and learning rate (or schedule) are restored afterwards. Suggestion rule:
    ``suggestion`` = the learning rate at the smoothed minimum ÷ 10; ``steepest`` =
    the learning rate of the steepest smoothed descent before that minimum; when the
    smoothed loss never falls by 10% of its early level, or is lowest within the
    first steps, both are None and an :class:`LRFindWarning` says why. Every step
    emits ``RangeTestStep``; the run ends with ``RangeTestEnded`` or ``RangeTestFailed``.
    """
    from nnhp_magics.training import backend

    backend.keras()  # started before BUILD runs: TensorFlow's start-up lines stay out of the cell
    make_model = model_factory(build, params)
    first, batches = _peek(training_batches(x, y, batch_size))
    model = make_model()
    began = time.perf_counter()
    rates = learning_rates(result.start, result.end, result.steps)
    try:
        with _RestoredAfterwards(model, first[0]) as learning_rate:
            result.stopped = run_range_test(
                model, batches, rate_setter(learning_rate), rates, result, result.diverge, result.smoothing, bus
            )
    except BaseException as exc:
        bus.emit(RangeTestFailed(result, f"{type(exc).__name__}: {exc}"))
        raise
    result.seconds = time.perf_counter() - began
    finish(result)
    bus.emit(RangeTestEnded(result))
    return result


def check_options(
    start: float, end: float, steps: int, batch_size: int | None, diverge: float, smoothing: float
) -> None:
    """Raise an NnhpError for an option outside its range, before anything loads."""
    if not start > 0:
        raise NnhpError(f"--start must be a learning rate above 0, got {start}.")
    if not end > start:
        raise NnhpError(f"--start ({start}) must be below --end ({end}): the learning rate grows from start to end.")
    if int(steps) != steps or steps < 10:
        raise NnhpError(f"--steps must be a whole number of at least 10 mini-batches, got {steps}.")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise NnhpError(f"--batch-size must be at least 1, got {batch_size}.")
    if not diverge > 1:
        raise NnhpError(f"--diverge must be above 1 (the loss's multiple of its minimum that stops), got {diverge}.")
    if not 0 <= smoothing < 1:
        raise NnhpError(f"smoothing must be in [0, 1) (0.98 is the textbook's), got {smoothing}.")


def clip_rate(value: Any, low: float, high: float) -> float:
    """``value`` as a float inside ``[low, high]``; an NnhpError for anything but a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise NnhpError(f"a learning rate must be a number, got {value!r}.")
    return min(max(float(value), low), high)


def learning_rates(start: float, end: float, steps: int) -> list[float]:
    """The geometric ramp: ``start * factor ** k`` for k < steps, with ``factor = exp(log(end / start) / steps)``."""
    factor = math.exp(math.log(end / start) / steps)
    return [start * factor**k for k in range(int(steps))]


def model_factory(build: Any, params: dict[str, Any]) -> Callable[[], Any]:
    """Check BUILD and its parameters now (same routing and errors as %%hpsearch); build the model later."""
    if _looks_like_keras_model(build):
        if params:
            raise NnhpError(
                f"BUILD is already a compiled model, so {', '.join(f'{k}=' for k in params)} cannot be applied: "
                "pass the build function instead, or drop the name=value parameters."
            )
        return lambda: _compiled(build)
    if not callable(build):
        raise NnhpError(f"BUILD must be a build function or a compiled Keras model, got {type(build).__name__}.")
    from nnhp_magics.core.routing import RESERVED, build_signature, check_names, route

    check_names(params, build, what="%lrfind")
    accepted, var_kw, _ = build_signature(build)
    for name in params:
        if name in RESERVED and name not in accepted and not var_kw:
            raise NnhpError(
                f"{name} is a fit() setting, which %lrfind does not take: it trains for --steps mini-batches "
                "of --batch-size samples."
            )
    routed = route(params, build)

    def make() -> Any:
        from nnhp_magics.training.trial import build_model

        return build_model(build, routed)

    return make


def _looks_like_keras_model(obj: Any) -> bool:
    """Whether ``obj`` is an instance of a Keras class (checked without importing Keras)."""
    return not isinstance(obj, type) and any(c.__module__.split(".")[0] == "keras" for c in type(obj).__mro__)


def _compiled(model: Any) -> Any:
    """The model itself, once it is known to be compiled."""
    from nnhp_magics.training import backend

    if not backend.is_compiled_model(model):
        raise NnhpError("BUILD is a Keras model that is not compiled: call model.compile(loss=..., optimizer=...).")
    return model


def training_batches(x: Any, y: Any, batch_size: int | None) -> Iterator[tuple[Any, ...]]:
    """Endless mini-batches: batches of shuffled arrays (seed 0; ``batch_size`` rows, 32 when None), or a batched tf.data.Dataset repeated."""
    import numpy as np

    from nnhp_magics.core.data import check_xy, is_dataset

    if is_dataset(x):
        if y is not None:
            raise NnhpError("X is a tf.data.Dataset, which carries its own targets: leave Y out.")
        if batch_size is not None:
            raise NnhpError(
                f"--batch-size {batch_size} cannot apply to X, a tf.data.Dataset: it is batched already. "
                "Leave --batch-size out, or batch the dataset with that size (dataset.unbatch().batch(n))."
            )
        return _dataset_batches(x)
    if y is None:
        raise NnhpError("Y is missing: %lrfind takes BUILD X Y (or a batched tf.data.Dataset as X).")
    data, _ = check_xy(x, y, "X, Y")
    size = DEFAULT_BATCH_SIZE if batch_size is None else int(batch_size)
    return _array_batches(data, min(size, len(data)), np.random.default_rng(0))


def _peek(batches: Iterator[tuple[Any, ...]]) -> tuple[tuple[Any, ...], Iterator[tuple[Any, ...]]]:
    """The first batch, and an iterator that still yields it first."""
    first = next(batches, None)
    if first is None:
        raise NnhpError("the dataset yields no batches.")
    return first, itertools.chain([first], batches)


def _array_batches(data: Any, size: int, rng: Any) -> Iterator[tuple[Any, ...]]:
    """Cycle through shuffled passes of equal-size batches of ``data`` (Arrays; a short last batch is left out)."""
    per_pass = len(data) // size
    while True:
        order = rng.permutation(len(data))
        for i in range(per_pass):
            batch = data.take(order[i * size : (i + 1) * size])
            yield batch.x, batch.y


def _dataset_batches(dataset: Any) -> Iterator[tuple[Any, ...]]:
    """The dataset's own batches, repeated; each element as a tuple of train_on_batch arguments."""
    for element in dataset.repeat():
        yield tuple(element) if isinstance(element, (tuple, list)) else (element,)


class _RestoredAfterwards:
    """Snapshot weights and optimizer state, give a settable learning-rate variable, and restore everything on exit."""

    def __init__(self, model: Any, sample_x: Any) -> None:
        self.model = model
        self.sample_x = sample_x
        self.owner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
        self.schedule: Any = None

    def __enter__(self) -> Any:
        from nnhp_magics.training import backend

        keras = backend.keras()
        if not self.model.built:
            self.model(self.sample_x, training=False)
        if not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.weights = self.model.get_weights()
        self.optimizer_state = [(v, v.numpy().copy()) for v in self.model.optimizer.variables]
        rate = self.owner._learning_rate
        if isinstance(rate, keras.Variable):
            return rate
        self.schedule = rate
        self.owner._learning_rate = keras.Variable(
            0.0, dtype=keras.config.floatx(), trainable=False, name="learning_rate"
        )
        self.model.train_function = None
        return self.owner._learning_rate

    def __exit__(self, *exc: Any) -> None:
        self.model.set_weights(self.weights)
        for variable, value in self.optimizer_state:
            variable.assign(value)
        if self.schedule is not None:
            self.owner.learning_rate = self.schedule
            self.model.train_function = None
        self.model.reset_metrics()


def rate_setter(variable: Any) -> Callable[[float], Any]:
    """Set a Keras variable cheaply: TensorFlow's own variable without reading it back, else Keras' ``assign``."""
    native_assign = getattr(getattr(variable, "value", None), "assign", None)
    if native_assign is None:
        return variable.assign
    return lambda rate: native_assign(rate, read_value=False)


def run_range_test(
    model: Any,
    batches: Iterator[tuple[Any, ...]],
    set_rate: Callable[[float], Any],
    rates: list[float],
    result: LRFindResult,
    diverge: float,
    smoothing: float,
    bus: EventBus,
) -> str:
    """Train one batch per rate, recording raw and smoothed loss; returns how the run ended."""
    average, lowest = 0.0, math.inf
    try:
        for step, rate in enumerate(rates):
            set_rate(rate)
            loss = model.train_on_batch(*next(batches), return_dict=True)["loss"]
            average = smoothing * average + (1 - smoothing) * loss
            smooth = average / (1 - smoothing ** (step + 1))
            result.lrs.append(rate)
            result.losses.append(loss)
            result.smoothed.append(smooth)
            if not math.isfinite(smooth) or (lowest > 0 and smooth > diverge * lowest):
                return DIVERGED
            lowest = min(lowest, smooth)
            bus.emit(RangeTestStep(result))
    except KeyboardInterrupt:
        return INTERRUPTED
    return FINISHED


def suggest(lrs: list[float], smoothed: list[float], stopped: str = FINISHED, smoothing: float = 0.98) -> Reading:
    """Apply the suggestion rule to a recorded curve (pure: no Keras).

    The first ``burn_in`` steps (the moving average's own warm-up) only set the
    reference level: a minimum inside them, or one less than 10% below the level at
    their end, gives no suggestion.
    """
    points = [(lr, s) for lr, s in zip(lrs, smoothed) if math.isfinite(s)]
    if len(points) < 3:
        return Reading(None, None, None, "too few steps ran to read the curve")
    burn_in = burn_in_steps(len(points), smoothing)
    values = [s for _, s in points]
    lowest = values.index(min(values))
    minimum, reference = points[lowest][0], values[burn_in - 1]
    if max(values) - min(values) < FLAT_DROP * abs(reference):
        return Reading(None, None, minimum, "the loss hardly changed: widen --start/--end, or check the model")
    if lowest < burn_in or reference - values[lowest] < FLAT_DROP * abs(reference):
        problem = f"the loss did not fall after the first steps: try a lower --start than {lrs[0]:.2g}"
        return Reading(None, None, minimum, problem)
    caveat = None
    if lowest == len(points) - 1 and stopped == FINISHED:
        caveat = "the loss was still falling at the last step: raise --end for a surer reading"
    window = max(1, len(points) // 50)
    return Reading(minimum / DIVIDE_BY, steepest_descent(points[burn_in - 1 : lowest + 1], window), minimum, caveat)


def burn_in_steps(count: int, smoothing: float) -> int:
    """Steps before the smoothed loss is trusted: the average's memory ``1 / (1 - smoothing)``, at most a fifth."""
    return max(1, min(round(1 / (1 - smoothing)), count // 5))


def steepest_descent(points: list[tuple[float, float]], window: int) -> float | None:
    """The learning rate where the smoothed loss falls fastest per unit of log learning rate (slope over ±window)."""
    slopes = []
    for i in range(window, len(points) - window):
        (low_lr, low_loss), (high_lr, high_loss) = points[i - window], points[i + window]
        slopes.append(((high_loss - low_loss) / math.log(high_lr / low_lr), points[i][0]))
    return min(slopes)[1] if slopes else None


def finish(result: LRFindResult) -> None:
    """Read the curve into the result, and warn when it gives no sure suggestion."""
    reading = suggest(result.lrs, result.smoothed, result.stopped, result.smoothing)
    result.suggestion, result.steepest, result.minimum, result.problem = reading
    if reading.problem is not None:
        warnings.warn(f"%lrfind: {reading.problem}.", LRFindWarning, stacklevel=4)


def failure_summary(result: LRFindResult, reason: str) -> str:
    """One line for a range test that raised: how far it got and why it stopped."""
    return f"failed after {len(result.lrs)} of {result.steps} steps: {reason}"


def y_limits(losses: list[float], smoothed: list[float], diverge: float) -> tuple[float, float] | None:
    """A y range that shows the whole descent and the turn without the divergence flattening it."""
    values = [v for v in losses + smoothed if math.isfinite(v)]
    finite_smooth = [v for v in smoothed if math.isfinite(v)]
    if not values or not finite_smooth:
        return None
    low = min(values)
    # Everything up to the smoothed minimum (the whole drop, its noisy start included), and above it at most
    # `diverge` times that minimum: the divergence after it does not flatten the drop.
    turn = smoothed.index(min(finite_smooth)) + 1
    drop = [v for v in losses[:turn] + smoothed[:turn] if math.isfinite(v)]
    high = min(max(values), max(max(drop), diverge * min(finite_smooth)))
    if high <= low:
        return None
    margin = 0.05 * (high - low)
    return low - margin, high + margin
