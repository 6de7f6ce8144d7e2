"""The IPython adapters: ``%%hpsearch`` and ``%hpexport`` (``hpsearch.py``), ``%lrfind`` (``lrfind.py``)."""

from nnhp_magics.magics.hpsearch import NnhpMagics
from nnhp_magics.magics.lrfind import LRFindMagics

__all__ = ["LRFindMagics", "NnhpMagics"]
