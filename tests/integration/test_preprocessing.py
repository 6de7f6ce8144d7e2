"""Preprocessing layers BUILD leaves un-adapted are adapted on each fold's own training rows."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import fast_search

from nnhp_magics import hpsearch
from nnhp_magics.core.data import prepare

pytestmark = pytest.mark.usefixtures("keras_ready")

small = fast_search(trials=1, epochs=2, patience=0)


class NormalizingBuild:
    """A Normalization-first MLP; with ``adapt_on`` it adapts in BUILD. Keeps every model it built."""

    def __init__(self, adapt_on=None) -> None:
        self.adapt_on, self.models = adapt_on, []

    def __call__(self, units: int = 4):
        import keras

        norm = keras.layers.Normalization()
        if self.adapt_on is not None:
            norm.adapt(self.adapt_on)
        model = keras.Sequential([keras.Input(shape=(4,)), norm, keras.layers.Dense(units), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        self.models.append(model)
        return model


def means(build):
    return [np.asarray(m.layers[0].adapt_mean) for m in build.models[1:]]  # [0] is the objective probe


@pytest.mark.parametrize("engine", ["auto", "fit"])
def test_a_normalization_layer_is_adapted_on_each_folds_training_rows(data, engine):
    x, y = data
    x = x * np.arange(1, 5) + 3
    build = NormalizingBuild()
    search = hpsearch(build, x, y, "units = int(2, 8)", cv=3, engine=engine, **small())
    assert search.trials[0].state == "complete"
    folds = prepare(x, y, cv=3, seed=1).folds
    found = means(build)
    assert len(found) == 3
    for mean, fold in zip(found, folds):
        np.testing.assert_allclose(mean, fold.train.x.mean(axis=0), rtol=1e-5)
    assert not np.allclose(found[0], found[1])


def test_a_build_that_adapts_itself_is_left_alone(data):
    x, y = data
    build = NormalizingBuild(adapt_on=x)
    hpsearch(build, x, y, "units = int(2, 8)", cv=3, **small())
    for mean in means(build):
        np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-5)


def test_a_layer_deeper_in_a_functional_model_and_lookups_are_adapted():
    import keras

    from nnhp_magics.core.data import Arrays
    from nnhp_magics.training.preprocessing import adapt_preprocessing, needs_adapting

    x = np.arange(12, dtype="float32").reshape(6, 2)
    inputs = keras.Input(shape=(2,))
    scaled = keras.layers.Rescaling(2.0)(inputs)
    norm = keras.layers.Normalization()
    model = keras.Model(inputs, keras.layers.Dense(1)(norm(scaled)))
    assert adapt_preprocessing(model, Arrays(x, x[:, :1])) == 1
    np.testing.assert_allclose(np.asarray(norm.adapt_mean), (2 * x).mean(axis=0), rtol=1e-5)
    assert not needs_adapting(norm)
    assert needs_adapting(keras.layers.StringLookup())
    assert not needs_adapting(keras.layers.StringLookup(vocabulary=["a"]))
    assert needs_adapting(keras.layers.IntegerLookup())
    assert needs_adapting(keras.layers.TextVectorization())
    assert needs_adapting(keras.layers.Discretization(num_bins=3))
    assert not needs_adapting(keras.layers.Discretization(bin_boundaries=[0.0, 1.0]))
    assert not needs_adapting(keras.layers.Normalization(mean=0.0, variance=1.0))
