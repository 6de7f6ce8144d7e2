"""One traced program for every width of an MLP: Sequential models that differ only in their hidden layers' units.

Tracing a model's ``train_step`` and preparing the traced program cost about 0.25 s
on CPU, more than the few epochs a pruned trial trains; in a search over widths
(the textbook's ``n_neurons``) nearly every trial has widths of its own. Here the
program is traced once per architecture on a private copy of the model, the
*host*, whose variables leave the hidden-width dimensions of their static shapes
open. A model of any widths loads its state into the host, trains in the host's
program and gets the trained state back; the arithmetic is the same, so the
weights agree with the model's own program to round-off.

Only models where an open dimension cannot change what the code computes
qualify: a ``keras.Sequential`` of built-in Dense, Dropout, activation and
Flatten layers (their ``call`` reads shapes at run time) with an optimizer that
updates each variable element by element. The last Dense layer's units (the
output's width, which the loss reads statically) stay part of the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from nnhp_magics.training import backend
from nnhp_magics.training.engine.graph import (
    EpochProgram,
    Feed,
    adopt,
    prepare_model,
    program_config,
    program_key,
    state_variables,
    tf,
)

#: Layers whose ``call`` computes from their variables' runtime shapes only.
OPEN_LAYERS = ("InputLayer", "Dense", "Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Flatten")

#: Optimizers whose update of a variable is element by element (so an open shape changes nothing they compute).
OPEN_OPTIMIZERS = ("SGD", "Adam", "AdamW", "Nadam", "RMSprop", "Adamax", "Adagrad", "Adadelta", "Lion")

#: What stands for a hidden layer's units in a width key.
WIDTH = "<width>"


def width_key(model: Any) -> str | None:
    """What must match for two models to share a width host: :func:`shared_key`'s, hidden units left out.

    None when the model does not qualify (see the module) or has no hidden Dense
    layer, whose units are all that may differ.
    """
    keras = backend.keras()
    if type(model) is not keras.Sequential or type(model.optimizer).__name__ not in OPEN_OPTIMIZERS:
        return None
    if not all(type(layer).__name__ in OPEN_LAYERS for layer in model._flatten_layers(include_self=False)):
        return None
    if any(getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None)
           for layer in model.layers):
        return None
    config = program_config(model)
    if config is None:
        return None
    layers = config["model"]["layers"]
    dense = [entry for entry in layers if entry.get("class_name") == "Dense"]
    if len(dense) < 2:
        return None
    open_input = False
    for entry in layers:
        shape = entry.get("build_config", {}).get("input_shape")
        if open_input and shape:
            shape[-1] = WIDTH  # the width of the hidden layer before
        if entry.get("class_name") == "Dense":
            open_input = entry is not dense[-1]
            if open_input:
                entry["config"]["units"] = WIDTH
    return "widths " + program_key(model, config)


class WidthHost:
    """The host of one width key: its model with open hidden dimensions, and the program traced on it.

    Between calls of the program the host's variables report the static shapes of
    the model last loaded (so callbacks such as early stopping's ``set_weights``
    see that model's shapes); during a call they report the open shapes, so
    whatever traces then traces for every width.
    """

    def __init__(self, model: Any, feed: Feed, batch_size: int) -> None:
        keras = backend.keras()
        host = keras.Sequential.from_config(model.get_config())
        host.compile_from_config(model.get_compile_config())
        prepare_model(host, feed, batch_size)
        self.model = host
        self.open_shapes = _open_variables(host)
        self.program = EpochProgram([host], batch_size)

    @classmethod
    def for_model(cls, model: Any, feed: Feed, batch_size: int) -> WidthHost | None:
        """A host for ``model``'s width key with its program traced, or None where that fails.

        The rules of :func:`width_key` admit only code known to read widths at run
        time; should a model's code read one statically after all, tracing fails here
        and its trials trace programs of their own, as they would without hosts.
        """
        try:
            host = cls(model, feed, batch_size)
            with host.open():
                host.program.trace([feed])
        except Exception:  # any failure only means no host: the trial's own program is exact
            return None
        return host

    def load(self, model: Any) -> None:
        """Load ``model``'s whole state (weights, seed states, optimizer state) into the host."""
        for variable, source in zip(state_variables(self.model), state_variables(model)):
            variable._shape = tuple(source.shape)
        adopt(self.model, model)

    @contextlib.contextmanager
    def open(self) -> Iterator[None]:
        """While inside, the host's variables report their open shapes (around every call of its program)."""
        variables = state_variables(self.model)
        loaded = [variable._shape for variable in variables]
        for variable, shape in zip(variables, self.open_shapes):
            variable._shape = shape
        try:
            yield
        finally:
            for variable, shape in zip(variables, loaded):
                variable._shape = shape


def _open_variables(host: Any) -> list[tuple[int | None, ...]]:
    """Leave the hidden-width dimensions of the host's variables open; returns every state variable's open shape.

    The kernel and bias of each hidden Dense layer get an open units dimension, and
    the next Dense layer's kernel an open input dimension; the optimizer's slots
    (momenta, second moments) are left open in every dimension, as they only ever
    meet their variable's values element by element.
    """
    dense = [layer for layer in host.layers if type(layer).__name__ == "Dense"]
    pattern: dict[int, tuple[bool, ...]] = {}
    open_input = False
    for index, layer in enumerate(dense):
        hidden = index < len(dense) - 1
        pattern[id(layer.kernel)] = (open_input, hidden)
        if layer.bias is not None:
            pattern[id(layer.bias)] = (hidden,)
        open_input = hidden
    optimizer = host.optimizer
    slots = {id(v) for v in optimizer.variables if len(v.shape)}
    shapes = []
    for variable in state_variables(host):
        dims = pattern.get(id(variable), (True,) * len(variable.shape) if id(variable) in slots else None)
        if dims is None or not any(dims):
            shapes.append(tuple(variable.shape))
            continue
        shape = tuple(None if opened else size for size, opened in zip(variable.shape, dims))
        old = variable._value
        variable._value = tf().Variable(
            old.read_value(), shape=tf().TensorShape(shape), dtype=old.dtype, trainable=old.trainable,
            name=old.name.split(":")[0],
        )
        variable._shape = shape
        shapes.append(shape)
    # The optimizer finds a variable's slots by the identity of its TensorFlow variable, replaced above.
    optimizer._trainable_variables_indices = {
        optimizer._var_key(variable): index for index, variable in enumerate(optimizer._trainable_variables)
    }
    return shapes

