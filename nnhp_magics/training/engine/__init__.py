"""The fast trial engine: whole epochs in one compiled graph, several small models at once.

``graph`` holds the in-graph epoch program, ``fold`` the per-fold callbacks and
history around it, ``single`` the one-trial-at-a-time driver used by the trial
runner, ``packed`` the executor that trains K trials in one graph, and ``select``
decides whether a model can run here faithfully or goes through ``fit``.
Importing this package imports no TensorFlow.
"""

from __future__ import annotations

ENGINES = ("auto", "graph", "fit")

#: Trials packed into one graph when --pack is not given (see README: measured on CPU).
DEFAULT_PACK = 1
