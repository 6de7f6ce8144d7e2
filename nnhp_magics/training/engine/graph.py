"""The in-graph epoch: one ``tf.function`` call trains and validates K compiled Keras models for one epoch.

The graph loops over batch indices with ``tf.while_loop``, gathers each model's
shuffled rows and calls the model's own ``train_step``, so the compiled loss,
``model.losses`` (regularisers), the optimizer, ``training=True`` layers and the
compiled metrics behave exactly as in ``fit``; then it runs batched validation
with ``test_step``. Data and batch orders are arguments, not captures, so one
traced program serves every fold of a trial. In a pack (K > 1) each model has its
own stop flag and a stopped model's steps are skipped with ``tf.cond``.

Full batches run in a loop whose batches have a static size and the ragged last
batch after it. Without XLA the number of rows stays open (one traced program serves
folds of any size, nothing retraces per epoch) and the ragged batch runs in a loop
of zero or one steps. With XLA (``jit``) the loop over full batches is an inner
XLA-compiled function and the ragged last batch one step of the plain graph after
it, so XLA compiles one training and one validation step, not a second copy of each
for the tail.
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from nnhp_magics.training import backend
from nnhp_magics.training.engine.select import count_xla_program
from nnhp_magics.training.preprocessing import preprocessing_layers

EVALUATE_BATCH_SIZE = 32  # Keras' evaluate() default, used to score held-out folds

#: Rows per batch when validating or scoring a model whose logs cannot depend on how rows are batched
#: (:func:`row_wise`): the textbook's 3,870 validation rows took 121 batches of 32, ~15% of an epoch.
ROW_WISE_BATCH_SIZE = 1024

#: Built-in layers whose inference output for a row is computed from that row alone, a few values wide.
ROW_WISE_LAYERS = frozenset({
    "InputLayer", "Dense", "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "Activation", "ReLU",
    "LeakyReLU", "ELU", "PReLU", "Softmax", "Flatten", "BatchNormalization", "LayerNormalization", "Concatenate",
    "Add",
})


def tf() -> Any:
    """TensorFlow, imported on first use (after Keras has configured it)."""
    backend.keras()
    import tensorflow

    return tensorflow


@dataclass(frozen=True)
class Feed:
    """One model's data for an epoch as tensors: training rows, and the monitored rows when there are any.

    Each of x, y, vx, vy is a tensor or, for several inputs or outputs, the same
    structure of tensors (tuple, list or dict) the arrays came in.
    """

    x: Any
    y: Any
    vx: Any = None
    vy: Any = None

    @property
    def rows(self) -> int:
        """The number of training rows."""
        return int(_first(self.x).shape[0])


_TENSORS: dict[int, tuple[weakref.ref[np.ndarray], Any]] = {}


def as_tensor(array: np.ndarray) -> Any:
    """A tensor for a data array, cast as ``fit`` casts it (floats to floatx), converted once while the array lives."""
    key = id(array)
    cached = _TENSORS.get(key)
    if cached is not None and cached[0]() is array:
        return cached[1]
    values = np.asarray(array)
    floatx = backend.keras().backend.floatx()
    if np.issubdtype(values.dtype, np.floating) and values.dtype != np.dtype(floatx):
        values = values.astype(floatx)
    tensor = tf().convert_to_tensor(values)
    _TENSORS[key] = (weakref.ref(array), tensor)
    weakref.finalize(array, _TENSORS.pop, key, None)
    return tensor


def as_tensors(tree: Any) -> Any:
    """Tensors for an array or a structure of arrays, in the same structure."""
    return tf().nest.map_structure(as_tensor, tree)


def forget_tensors() -> None:
    """Drop the converted data tensors (between batches of trials)."""
    _TENSORS.clear()


def feed_for(train: Any, monitor: Any) -> Feed:
    """The Feed of one fold: ``train`` and ``monitor`` are Arrays (monitor may be None)."""
    if monitor is None:
        return Feed(as_tensors(train.x), as_tensors(train.y))
    return Feed(as_tensors(train.x), as_tensors(train.y), as_tensors(monitor.x), as_tensors(monitor.y))


def epoch_order(rows: int, seed: int | None, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The batch order of one epoch: a permutation that depends only on (seed, epoch), or the identity."""
    if not shuffle:
        return np.arange(rows, dtype=np.int32)
    rng = np.random.default_rng(None if seed is None else [seed, epoch])
    return rng.permutation(rows).astype(np.int32)


def prepare_model(model: Any, feed: Feed, batch_size: int) -> None:
    """Build the model, its compiled loss/metrics and its optimizer state before any tracing (as ``fit`` does)."""
    def head(tensor: Any) -> np.ndarray:
        return tensor[:batch_size].numpy()

    x, y = tf().nest.map_structure(head, (feed.x, feed.y))
    model._symbolic_build(data_batch=(x, y))
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def supports_jit(models: Sequence[Any]) -> bool:
    """Whether every layer of every model can be compiled by XLA."""
    return all(getattr(layer, "supports_jit", True) for m in models for layer in m._flatten_layers())


class EpochProgram:
    """One compiled epoch for a fixed list of models (a pack) sharing one batch size.

    ``run(feeds, orders, active)`` trains every active model on its own feed in
    its own batch order, then validates it, and returns each model's epoch logs
    (``loss``…, ``val_loss``…) as floats, the same keys ``fit`` logs. Validation
    batches are the training batch size, as ``fit``'s, or for :func:`row_wise`
    models :data:`ROW_WISE_BATCH_SIZE` rows, which logs the same to round-off.
    """

    def __init__(self, models: Sequence[Any], batch_size: int, jit: bool = False) -> None:
        self.models = list(models)
        self.batch_size = int(batch_size)
        self.jit = bool(jit) and supports_jit(self.models)
        if self.jit:
            count_xla_program()
        self.masked = len(self.models) > 1
        rows_alone = all(row_wise(m) for m in self.models)
        self.validation_batch_size = max(ROW_WISE_BATCH_SIZE, self.batch_size) if rows_alone else self.batch_size
        self.evaluate_batch_size = ROW_WISE_BATCH_SIZE if rows_alone else EVALUATE_BATCH_SIZE
        self.executor = None if self.jit else one_thread_executor()
        self._epoch = self._epoch_function()
        self._evaluators: dict[int, Callable[..., Any]] = {}

    def run(
        self, feeds: Sequence[Feed], orders: Sequence[np.ndarray], active: Sequence[bool]
    ) -> list[dict[str, float]]:
        """One epoch for every model; entries for inactive models are meaningless."""
        arguments = _epoch_arguments(feeds, orders, active)
        with single_replica(self.models):
            if not self.jit and not self._epoch.experimental_get_tracing_count():
                self._trace_plain(arguments)
            try:
                train, val = self._call(self._epoch, *arguments)
            except tf().errors.FailedPreconditionError as error:
                if self.executor is None or "ingle-threaded executor" not in str(error):
                    raise
                self._use_default_executor(arguments)  # an op it cannot run
                train, val = self._call(self._epoch, *arguments)
        return [
            {**_floats(t), **{f"val_{k}": v for k, v in _floats(v).items()}} for t, v in zip(train, val)
        ]

    def trace(self, feeds: Sequence[Feed]) -> None:
        """Trace the plain-graph epoch now, for feeds of this structure and any number of rows."""
        orders = [np.zeros(f.rows, dtype=np.int32) for f in feeds]
        with single_replica(self.models):
            self._trace_plain(_epoch_arguments(feeds, orders, [True] * len(feeds)))

    def _trace_plain(self, arguments: tuple[Any, ...]) -> None:
        """Trace the plain-graph epoch for any number of rows, for the executor it will run in.

        TensorFlow lowers a traced while loop to low-level control flow, which the
        single-threaded executor cannot run, unless the trace is made for that
        executor; and a function called inside its loop (a ``tf.cond``'s branches, as
        in a loss-scale optimizer or a pack) waits forever for the one inter-op
        thread. Such a program is traced again for the default executor.
        """
        with call_options(executor=self.executor):
            concrete = self._epoch.get_concrete_function(*_any_rows(arguments))
        if self.executor is not None and _has_function_calls(concrete):
            self._use_default_executor(arguments)

    def _use_default_executor(self, arguments: tuple[Any, ...]) -> None:
        """Trace the plain-graph epoch again, this time for TensorFlow's default executor."""
        self.executor = None
        self._epoch = self._epoch_function()
        self._epoch.get_concrete_function(*_any_rows(arguments))

    def _epoch_function(self) -> Any:
        """The epoch as a ``tf.function``, not yet traced (an XLA epoch keeps its static shapes)."""
        return tf().function(self._graph_epoch, autograph=False, reduce_retracing=not self.jit)

    def evaluate(self, slot: int, x: Any, y: Any) -> dict[str, float]:
        """Evaluate model ``slot`` on (x, y) as ``model.evaluate`` does (batches of 32; larger for :func:`row_wise` models).

        Never with XLA, even in an XLA program: one pass over the held-out rows costs
        milliseconds, its compile more than half a second.
        """
        function = self._evaluators.get(slot)
        if function is None:
            function = tf().function(lambda x, y: self._graph_evaluate(slot, x, y), autograph=False,
                                     reduce_retracing=True)
            self._evaluators[slot] = function
        with single_replica(self.models):
            return _floats(self._call(function, x, y, any_rows=True))

    def _call(self, function: Any, *args: Any, any_rows: bool = False) -> Any:
        """Call a traced function; an evaluator is traced first for any number of rows, so folds of any size share it.

        An XLA epoch and an evaluator are prepared without Grappler's rewrites (:func:`without_graph_rewrites`);
        a plain epoch runs in :func:`one_thread_executor`'s executor.
        """
        if any_rows and not function.experimental_get_tracing_count():
            function.get_concrete_function(*_any_rows(args))
        if any_rows or self.jit:
            with without_graph_rewrites():
                return function(*args)
        with call_options(executor=self.executor):
            return function(*args)

    # ----- the traced graph -------------------------------------------------------------------
    def _graph_epoch(
        self, tensors: list[tuple[Any, ...]], orders: list[Any], active: Any
    ) -> tuple[list[Any], list[Any]]:
        feeds = [Feed(*t) for t in tensors]
        for model in self.models:
            model.reset_metrics()
        self._loop(
            [f.x for f in feeds],
            active,
            lambda k, lo, size: self.models[k].train_step(_shuffled_rows(feeds[k], orders[k], lo, size)),
            self.batch_size,
        )
        train = [m.get_metrics_result() for m in self.models]
        for model in self.models:
            model.reset_metrics()
        watched = [k for k, f in enumerate(feeds) if f.vx is not None]
        if watched:
            self._loop(
                [feeds[k].vx for k in watched],
                tf().gather(active, watched),
                lambda j, lo, size: self.models[watched[j]].test_step(_rows(feeds[watched[j]], lo, size)),
                self.validation_batch_size,
            )
        val = [m.get_metrics_result() if f.vx is not None else {} for m, f in zip(self.models, feeds)]
        return train, val

    def _graph_evaluate(self, slot: int, x: Any, y: Any) -> dict[str, Any]:
        model = self.models[slot]
        model.reset_metrics()
        feed = Feed(x, y, x, y)
        _batch_loop(
            [x], None, self.evaluate_batch_size, False, lambda _, lo, size: model.test_step(_rows(feed, lo, size))
        )
        return model.get_metrics_result()

    def _loop(self, tensors: list[Any], active: Any, step: Callable[[int, Any, Any], Any], batch_size: int) -> None:
        _batch_loop(tensors, active if self.masked else None, batch_size, self.jit, step)


def _epoch_arguments(feeds: Sequence[Feed], orders: Sequence[np.ndarray], active: Sequence[bool]) -> tuple[Any, ...]:
    """The epoch function's arguments: each model's tensors, its batch order, and the active flags."""
    tensors = [(f.x, f.y, f.vx, f.vy) for f in feeds]
    return tensors, [tf().constant(o) for o in orders], tf().constant(np.asarray(active, dtype=bool))


#: TensorFlow's executor that runs a function's ops one by one in the calling thread.
SINGLE_THREADED_EXECUTOR = "SINGLE_THREADED_EXECUTOR"

_CALL_OPTIONS: dict[tuple[bytes, str, bool, str], Any] = {}


def without_graph_rewrites() -> contextlib.AbstractContextManager[None]:
    """Functions first called inside are prepared without Grappler's graph rewrites (this thread only).

    TensorFlow rewrites each function's graph at its first call (fusions, constant
    folding), about 0.1 s per program. That pays off for a plain graph that trains
    many epochs (the hyperband plan took 14% longer without it), not for an XLA
    epoch, whose batch loops XLA compiles itself, nor for an evaluator, which scores
    a held-out fold once: without the rewrites there the seed's CV workflow takes
    45 s instead of 49 s, to the same weights.
    """
    return call_options(rewrites=False)


def one_thread_executor() -> str | None:
    """The executor for a plain-graph epoch: single-threaded where TensorFlow has one inter-op thread on CPU only.

    With one inter-op thread the default executor still hands every op of the
    batch loop to its thread pool; running them inline in the calling thread
    trains the textbook MLPs 8-15% faster per epoch to the same bits. With more
    threads the pool runs independent ops (one layer's gradients) side by side,
    which a 3x100 MLP on two cores trained 12% faster with; a GPU needs the
    default executor's asynchronous kernels.
    """
    t = tf()
    if t.config.threading.get_inter_op_parallelism_threads() != 1 or t.config.list_logical_devices("GPU"):
        return None
    return SINGLE_THREADED_EXECUTOR


@contextlib.contextmanager
def call_options(rewrites: bool = True, executor: str | None = None) -> Iterator[None]:
    """Calls of traced functions made inside run with these options (this thread only).

    ``rewrites=False`` prepares functions first called inside without Grappler's
    rewrites; ``executor`` names TensorFlow's executor for them (None: the current
    one). Only the options of calls made inside change; TensorFlow's global
    configuration, and so the user's own functions, are left as they are.
    """
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.eager import context

    eager = context.context()
    current = eager.function_call_options
    if rewrites and executor is None:
        yield
        return
    chosen = executor or current.executor_type or ""
    key = (current.config_proto_serialized, current.executor_type or "", rewrites, chosen)
    options = _CALL_OPTIONS.get(key)
    if options is None:
        config = config_pb2.ConfigProto.FromString(current.config_proto_serialized)
        if not rewrites:
            config.graph_options.rewrite_options.disable_meta_optimizer = True
        options = _CALL_OPTIONS[key] = context.FunctionCallOptions(chosen or None, config)
    eager.function_call_options = options
    try:
        yield
    finally:
        eager.function_call_options = current


@contextlib.contextmanager
def single_replica(models: Sequence[Any]) -> Iterator[None]:
    """While tracing, skip the optimizers' cross-replica gradient sum, an identity on one replica.

    Keras' TensorFlow optimizer sums gradients with the replica context's
    ``all_reduce`` even without a distribution strategy; in a graph that registers a
    new global gradient function per trace, which keeps every traced graph alive.
    """
    optimizers = [o for m in models for o in _optimizer_chain(m.optimizer)]
    for optimizer in optimizers:
        optimizer._all_reduce_sum_gradients = list
    try:
        yield
    finally:
        for optimizer in optimizers:
            del optimizer._all_reduce_sum_gradients


def _optimizer_chain(optimizer: Any) -> list[Any]:
    """An optimizer and the ones it wraps (a LossScaleOptimizer's inner optimizer)."""
    chain = []
    while optimizer is not None and optimizer not in chain:
        chain.append(optimizer)
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return chain


def _batch_loop(
    tensors: list[Any], active: Any, batch_size: int, xla: bool, step: Callable[[int, Any, Any], Any]
) -> None:
    """Call ``step(k, start, size)`` for every batch of every tensor k, batch index by batch index.

    Full batches come first, in one loop whose batches have a static size, then each
    ragged last batch. With a static batch size TensorFlow folds the loss's and
    gradients' shape arithmetic away, which trained the textbook MLPs 13-30% faster
    per epoch in the plain graph, where the ragged batch runs in a loop of zero or one
    steps after the full ones. With ``xla`` the loop over full batches is compiled by
    XLA and each ragged last batch runs after it in the plain graph. With ``active``
    (a pack), member k's step runs only while it is active and has batches left;
    without it the single member runs unguarded.
    """
    t = tf()
    rows = [_rows_of(x, xla) for x in tensors]
    full = [n // batch_size for n in rows]
    bound: Any = max(full) if xla else t.reduce_max(t.stack(full))

    def body(i: Any) -> Any:
        for k in range(len(tensors)):
            more = i < full[k] if active is not None else None
            _guarded(active, k, more, partial(step, k, i * batch_size, batch_size))
        return i + 1

    def batches() -> None:
        t.while_loop(lambda i: i < bound, body, [t.constant(0)])

    if xla:
        t.function(batches, autograph=False, jit_compile=True)()
        for k, n in enumerate(rows):
            if n % batch_size:
                _guarded(active, k, None, partial(step, k, full[k] * batch_size, n % batch_size))
        return
    batches()
    ragged = [n % batch_size for n in rows]

    def last_batches(j: Any) -> Any:
        for k in range(len(tensors)):
            more = ragged[k] > 0 if active is not None else None
            _guarded(active, k, more, partial(step, k, full[k] * batch_size, ragged[k]))
        return j + 1

    any_ragged = t.cast(t.reduce_max(t.stack(ragged)) > 0, t.int32)
    t.while_loop(lambda j: j < any_ragged, last_batches, [t.constant(0)])


def _guarded(active: Any, k: int, more: Any, run: Callable[[], Any]) -> None:
    """Run ``run`` unconditionally, or under ``tf.cond`` on member k's active flag (and ``more``)."""
    if active is None:
        run()
        return
    t = tf()
    predicate = active[k] if more is None else t.logical_and(active[k], more)

    def on() -> Any:
        run()
        return t.constant(True)

    t.cond(predicate, on, lambda: t.constant(False))


#: The ops that call a function and still run in the single-threaded executor: loops, which run their body themselves.
LOOP_OPS = frozenset({"While", "StatelessWhile"})


def _has_function_calls(concrete: Any) -> bool:
    """Whether a traced function's graph has an op other than a loop that calls a function (a cond, a nested call)."""
    graph = concrete.graph.as_graph_def()
    nodes = [*graph.node, *(node for function in graph.library.function for node in function.node_def)]
    return any(
        node.op not in LOOP_OPS and any(value.HasField("func") or len(value.list.func) for value in node.attr.values())
        for node in nodes
    )


def _any_rows(args: Any) -> Any:
    """TensorSpecs for ``args`` with the leading (rows) dimension left open."""
    t = tf()
    def spec(a: Any) -> Any:
        return None if a is None else t.TensorSpec([None, *a.shape[1:]] if a.shape.rank else [], a.dtype)

    return t.nest.map_structure(spec, args)


def _rows_of(x: Any, static: bool) -> Any:
    """The rows of a tensor (of a structure's first tensor): a number when ``static``, else a tensor."""
    x = _first(x)
    if static:
        if x.shape[0] is None:
            raise ValueError("XLA needs data with a known number of rows")
        return int(x.shape[0])
    return tf().shape(x)[0]


def _shuffled_rows(feed: Feed, order: Any, start: Any, size: Any) -> tuple[Any, Any]:
    t = tf()
    index = t.slice(order, t.reshape(start, [1]), t.reshape(size, [1]))
    return _gather((feed.x, feed.y), index)


def _rows(feed: Feed, start: Any, size: Any) -> tuple[Any, Any]:
    index = start + tf().range(size)
    return _gather((feed.vx, feed.vy), index)


def _gather(tree: Any, index: Any) -> Any:
    """The rows ``index`` of every tensor of a structure."""
    t = tf()
    return t.nest.map_structure(lambda tensor: t.gather(tensor, index), tree)


def _first(tree: Any) -> Any:
    """The first tensor of a structure (the tensor itself for one tensor)."""
    return tf().nest.flatten(tree)[0]


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {k: float(np.asarray(v)) for k, v in logs.items()}


def structure(model: Any) -> tuple[Any, ...]:
    """What must match for one traced program to train another model: layer types and every state shape.

    A model with preprocessing layers matches only itself: their state (a mean, a
    vocabulary) is traced into the program as constants, not loaded by ``adopt``.
    """
    layers: tuple[Any, ...] = tuple(type(layer).__name__ for layer in model._flatten_layers())
    if preprocessing_layers(model):
        layers += (id(model),)
    optimizer = model.optimizer
    shapes = tuple((tuple(v.shape), str(v.dtype)) for v in state_variables(model))
    return layers, type(optimizer).__name__, shapes


def shared_key(model: Any) -> str | None:
    """What must match for one traced program to train a model of another trial, or None when that is not safe.

    Within a trial the folds come from the same parameters, so :func:`structure`
    suffices; across trials the parameters differ, so everything the program bakes
    in must match: the architecture's whole configuration (activations, rates,
    regularisers), the loss and metrics, and the optimizer's settings other than
    its learning rate (a variable, loaded with the weights). Only built-in Keras
    layers and optimizers (whose configurations are what saving a model relies on)
    and losses and metrics named by strings qualify: a custom class's configuration
    need not say everything its code does, and neither does every built-in loss
    object's (``Huber``'s leaves out ``delta``).
    """
    config = program_config(model)
    return None if config is None else program_key(model, config)


def row_wise(model: Any) -> bool:
    """Whether a model's held-out logs are the same, to round-off, however its rows are batched.

    So for a model of :data:`ROW_WISE_LAYERS` whose loss and metrics are built-ins
    named by strings (:func:`program_config`): each is a mean over rows, and each
    row's prediction depends on that row alone. A custom layer, loss or metric may
    compute over the batch (a loss summed per batch, a metric returning one value
    per batch), so any other model is validated in batches of its training size, as
    ``fit`` does, and scored in Keras' ``evaluate`` batches.
    """
    layers = model._flatten_layers(include_self=False)
    return all(type(layer).__name__ in ROW_WISE_LAYERS for layer in layers) and program_config(model) is not None


def program_config(model: Any) -> dict[str, Any] | None:
    """Everything a traced program bakes in, as plain data (see :func:`shared_key`), or None when not safe to share."""
    keras = backend.keras()
    layers = list(model._flatten_layers())
    built_in = all(type(layer).__module__.startswith("keras.") for layer in layers)
    if not built_in or preprocessing_layers(model) or any(isinstance(x, keras.layers.Lambda) for x in layers):
        return None
    optimizer = model.optimizer
    if not isinstance(getattr(optimizer, "_learning_rate", None), keras.Variable):
        return None  # a schedule: its settings are traced into the program
    try:
        compiled = dict(model.get_compile_config())
        if any(True for _ in _modules({k: v for k, v in compiled.items() if k != "optimizer"})):
            return None  # a loss or metric object, not a name
        settings = {k: v for k, v in optimizer.get_config().items() if k not in ("name", "learning_rate")}
        config = {"model": model.get_config(), "compiled": {**compiled, "optimizer": None}, "optimizer": settings,
                  "optimizer_class": type(optimizer).__module__ + type(optimizer).__name__}
        config = json.loads(json.dumps(config, sort_keys=True))
    except Exception:  # a configuration Keras cannot serialise: no sharing
        return None
    if any(not module.startswith("keras") for module in _modules(config)):
        return None
    return config


def program_key(model: Any, config: dict[str, Any]) -> str:
    """A :func:`program_config` as text, the model's layer names replaced by their positions."""
    text = json.dumps(config, sort_keys=True)
    names = [layer.name for layer in model._flatten_layers()]
    for index, name in sorted(enumerate(names), key=lambda item: -len(item[1])):
        text = text.replace(json.dumps(name), f'"<layer {index}>"')
    return text


def _modules(tree: Any) -> Iterator[str]:
    """Every ``module`` named in a serialised Keras configuration."""
    if isinstance(tree, dict):
        if isinstance(tree.get("module"), str):
            yield tree["module"]
        for value in tree.values():
            yield from _modules(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _modules(value)


def state_variables(model: Any) -> list[Any]:
    """Every variable of a model's training state: weights, seed states, then the optimizer's."""
    return list(model.variables) + list(model.optimizer.variables)


def adopt(target: Any, source: Any) -> None:
    """Load ``source``'s whole state (weights, seed states, optimizer state) into ``target``."""
    load_state(target, [variable.value for variable in state_variables(source)])


def load_state(model: Any, values: Sequence[Any]) -> None:
    """Assign ``values`` (tensors or arrays, in :func:`state_variables` order) to a model's state."""
    for variable, value in zip(state_variables(model), values):
        variable.assign(value)
    model.stop_training = False
