"""The one place that imports Keras/TensorFlow, lazily, when the first trial runs.

``import nnhp_magics`` and ``%load_ext nnhp_magics`` stay fast because nothing
else in the package imports TensorFlow at module level.
"""

from __future__ import annotations

import os
from types import ModuleType


def keras() -> ModuleType:
    """Import and return Keras, quieting TensorFlow's C++ start-up chatter unless the user chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras as keras_module

    return keras_module


def clear_session() -> None:
    """Free Keras' global state and Python garbage between batches of trials."""
    import gc

    keras().backend.clear_session()
    gc.collect()


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend for one trial."""
    keras().utils.set_random_seed(int(seed) % (2**31 - 1))


def is_compiled_model(model: object) -> bool:
    """Whether ``model`` is a Keras model that ``compile()`` has been called on."""
    k = keras()
    return isinstance(model, k.Model) and bool(getattr(model, "compiled", False)) and model.optimizer is not None
