"""Adapt the preprocessing layers BUILD left un-adapted on each fold's own training rows, so nothing leaks.

``Normalization``, ``Discretization``, ``StringLookup``, ``IntegerLookup`` and
``TextVectorization`` layers whose state BUILD neither gave (``mean=``,
``bin_boundaries=``, ``vocabulary=``) nor adapted are adapted on the rows the
fold trains on, never on the held-out fold. A layer BUILD adapted itself is left
alone. A layer deeper in the model is adapted on what reaches it: the training
rows passed through the layers before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnhp_magics.core.data import Arrays
from nnhp_magics.training import backend

PREDICT_BATCH_SIZE = 256


def preprocessing_layers(model: Any) -> list[Any]:
    """Every layer of ``model`` (nested ones included) whose state is data, not variables, in model order."""
    layers = backend.keras().layers
    kinds = (layers.Normalization, layers.Discretization, layers.StringLookup, layers.IntegerLookup,
             layers.TextVectorization)
    return [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, kinds)]


def needs_adapting(layer: Any) -> bool:
    """Whether a preprocessing layer has neither been given its state nor adapted."""
    layers = backend.keras().layers
    if isinstance(layer, layers.Normalization):
        if layer.input_mean is not None:
            return False
        if not layer.built:
            return True
        return bool(np.all(np.asarray(layer.adapt_mean) == 0) and np.all(np.asarray(layer.adapt_variance) == 1))
    if isinstance(layer, layers.Discretization):
        return layer.bin_boundaries is None
    lookup = layer._lookup_layer if isinstance(layer, layers.TextVectorization) else layer
    return lookup.vocabulary_size() <= lookup._token_start_index()


def adapt_preprocessing(model: Any, train: Any) -> int:
    """Adapt ``model``'s un-adapted preprocessing layers on the training data ``train``; returns how many."""
    pending = [layer for layer in preprocessing_layers(model) if needs_adapting(layer)]
    for layer in pending:
        layer.adapt(_layer_input(model, layer, train))
    return len(pending)


def _layer_input(model: Any, layer: Any, train: Any) -> Any:
    """What reaches ``layer`` when ``model`` reads the training rows: the rows themselves, or the output before it."""
    keras = backend.keras()
    x = train.x if isinstance(train, Arrays) else train.map(lambda features, *_: features)
    if isinstance(model, keras.Sequential) and model.layers and model.layers[0] is layer:
        return x
    try:
        inputs = list(model.inputs)
        reached = layer.input
        before = None if len(inputs) == 1 and reached is inputs[0] else keras.Model(inputs, reached)
    except (AttributeError, ValueError) as exc:
        raise ValueError(
            f"cannot adapt the {type(layer).__name__} layer {layer.name!r} on the fold's training rows: "
            "it is not the first layer of a Sequential model nor reached from a functional model's inputs. "
            "Adapt it in BUILD, or give it its state (mean=, vocabulary=, ...)."
        ) from exc
    return x if before is None else before.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0)
