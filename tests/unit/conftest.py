"""Unit tests train nothing: Keras and TensorFlow cannot even be imported here, so a test that needs them fails loudly."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def no_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import tensorflow`` and ``import keras`` raise ImportError for the length of each unit test."""
    for name in ("tensorflow", "keras"):
        if name not in sys.modules:
            monkeypatch.setitem(sys.modules, name, None)
