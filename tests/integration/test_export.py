"""Export writes the search's own result and checks Keras can load it back."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.errors import NnhpError

small = fast_search(trials=2, epochs=2, patience=1)


def test_export_writes_the_searchs_weights_even_after_the_user_trained_best_model(data, tmp_path, keras_ready):
    x, y = data
    search = hpsearch(textbook_build, x, y, "learning_rate = loguniform(1e-3, 1e-2)", **small())
    model = search.best_model
    found = model.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    trained = model.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(found, trained))
    paths = search.export(tmp_path / "best.keras")
    exported = keras_ready.models.load_model(paths["model"]).get_weights()
    for ours, theirs in zip(found, exported):
        np.testing.assert_array_equal(ours, theirs)
    for kept, now in zip(trained, search.best_model.get_weights()):  # the user's model is left as they trained it
        np.testing.assert_array_equal(kept, now)


def test_a_model_keras_cannot_reload_is_explained_and_its_weights_kept(data, tmp_path, keras_ready):
    keras = keras_ready
    x, y = data

    class Wrapped(keras.Model):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def call(self, inputs):
            return self.layer(inputs)

    def build(units=2):
        model = Wrapped(keras.layers.Dense(1))
        model.compile(loss="mse", optimizer="sgd")
        return model

    search = hpsearch(build, x, y, "units = int(1, 4)", engine="fit", **small())
    with pytest.raises(NnhpError, match=r"get_config\(\).*register_keras_serializable") as caught:
        search.export(tmp_path / "best.keras")
    assert "best.weights.h5" in str(caught.value)
    assert (tmp_path / "best.weights.h5").exists() and not (tmp_path / "best.keras").exists()
    assert (tmp_path / "best.params.json").exists()
    rebuilt = build()
    rebuilt(x[:1])
    rebuilt.load_weights(tmp_path / "best.weights.h5")
    for ours, theirs in zip(search.best_model.get_weights(), rebuilt.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
