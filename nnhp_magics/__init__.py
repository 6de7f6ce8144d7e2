"""nnhp-magics: neural-network hyperparameter search as a notebook experience.

``%load_ext nnhp_magics`` registers ``%%hpsearch``, ``%hpexport`` and ``%lrfind``;
``hpsearch()`` is the same search from Python. Importing the package imports no
TensorFlow: Keras loads when the first trial runs.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["hpsearch", "lrfind", "load_search", "Search", "Trial", "parse_spec", "__version__"]

from nnhp_magics.lr_finder.range_test import lrfind


def __getattr__(name: str) -> Any:
    """Load the public API on first use, keeping ``import nnhp_magics`` light."""
    if name == "hpsearch":
        from nnhp_magics.search.loop import hpsearch

        return hpsearch
    if name in ("Search", "Trial"):
        from nnhp_magics.core import results

        return getattr(results, name)
    if name == "parse_spec":
        from nnhp_magics.core.spec import parse_spec

        return parse_spec
    if name == "load_search":
        from nnhp_magics.search.storage import load_search

        return load_search
    raise AttributeError(f"module 'nnhp_magics' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nnhp_magics``: register the magics."""
    from nnhp_magics.magics.hpsearch import NnhpMagics

    ipython.register_magics(NnhpMagics)
    from nnhp_magics.magics.lrfind import LRFindMagics

    ipython.register_magics(LRFindMagics)
