"""nnhp-magics: neural-network hyperparameter search as a notebook experience.

``%load_ext nnhp_magics`` registers ``%%hpsearch``, ``%hpexport`` and ``%lrfind``;
``hpsearch()`` is the same search from Python. Importing the package imports no
TensorFlow: Keras loads when the first trial runs, or on ``from nnhp_magics import keras``
(Keras itself, imported with TensorFlow's start-up lines kept out of the notebook).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["LRFind", "Search", "Trial", "__version__", "hpsearch", "keras", "load_search", "lrfind", "parse_spec"]

_API = {"hpsearch", "lrfind", "load_search", "Search", "LRFind"}


def __getattr__(name: str) -> Any:
    """Load the public API on first use, keeping ``import nnhp_magics`` light."""
    if name in _API:
        from nnhp_magics import api

        return getattr(api, name)
    if name == "Trial":
        from nnhp_magics.core.results import Trial

        return Trial
    if name == "keras":
        from nnhp_magics.training import backend

        return backend.keras()
    if name == "parse_spec":
        from nnhp_magics.core.spec import parse_spec

        return parse_spec
    msg = f"module 'nnhp_magics' has no attribute {name!r}"
    raise AttributeError(msg)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nnhp_magics``: register the magics."""
    from nnhp_magics.magics import LRFindMagics, NnhpMagics

    ipython.register_magics(NnhpMagics)
    ipython.register_magics(LRFindMagics)
