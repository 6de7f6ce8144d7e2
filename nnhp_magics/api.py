"""The Python API: ``hpsearch``, ``lrfind``, ``load_search`` and the ``Search`` facade.

The one module that may import every layer: it wires the search loop, the range
test and the storage to the views, so nothing below it imports upward. The
magics (``nnhp_magics.magics``) are thin adapters over these functions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from nnhp_magics.core import labels
from nnhp_magics.core.events import EventBus, Listener
from nnhp_magics.core.results import SearchRecord
from nnhp_magics.core.space import SearchSpace
from nnhp_magics.lr_finder.range_test import FIGURE_SIZE, LRFindResult, check_options, run_lrfind
from nnhp_magics.search import analysis, storage
from nnhp_magics.search.loop import plan_search, start_search
from nnhp_magics.search.rounds import FollowUp
from nnhp_magics.views import choose
from nnhp_magics.views import lrfind as lrfind_views
from nnhp_magics.views.text import TextProgress


class Search(SearchRecord):
    """The result of a search: the record (``best_params``, ``best_model``, ``trials``, ...) and its views.

    Live while its search runs and final afterwards. Beyond the record it shows
    itself (``plot()``, the notebook's static HTML view, ``explore()``) and reads
    what mattered (``importances()``, ``refine()``, ``refine_cell()``).
    """

    def plot(self) -> Any:
        """A matplotlib figure of every trial's validation curve, the best one marked; shown as a PNG in a notebook."""
        from nnhp_magics.views.plots import search_figure

        return search_figure(self)

    def importances(self) -> dict[str, float]:
        """Each tunable parameter's importance by Optuna's fANOVA, largest first."""
        return analysis.importances(self)

    def refine(self, top: float = 0.25, selected: list[int] | None = None, margin: float = 0.1) -> str:
        """Spec text narrowed around the best ``top`` fraction, or the ``selected``, of complete trials."""
        return analysis.refine_spec(
            analysis.search_space(self), self.trials, self.objective, top=top, selected=selected, margin=margin
        )

    def refine_cell(
        self,
        top: float = 0.25,
        selected: list[int] | None = None,
        margin: float = 0.1,
        *,
        strategy: str | None = None,
        trials: int | None = None,
    ) -> str:
        """A ready ``%%hpsearch`` cell running the refined spec; the spec text alone when ``magic_line`` is unknown."""
        return analysis.refine_cell(self, top=top, selected=selected, margin=margin, strategy=strategy, trials=trials)

    def predict_labels(self, x: Any, batch_size: int = 32) -> Any:
        """The best model's predicted labels for ``x``: argmax over a softmax, > 0.5 for one sigmoid unit, as ``classes``.

        Without ``classes`` (integer or 0/1 labels) the class indices themselves.
        """
        predictions = self.best_model.predict(x, batch_size=batch_size, verbose=0)
        return labels.decode(predictions, self.classes)

    def explore(self) -> Any:
        """A dashboard of this search for looking back: importances, scatter, parallel coordinates, refine, run again."""
        from nnhp_magics.views.dashboard import explore_widget

        return explore_widget(self)

    def _repr_html_(self) -> str:
        from nnhp_magics.views.html import search_html

        return search_html(self)

    def _ipython_display_(self) -> None:
        """The static view and the text line; nothing in the cell whose dashboard already shows the search as it
        ended (its static result there is redrawn at each round, where a returned value would stay at round 1)."""
        from nnhp_magics.views.html import display_search

        display_search(self)


class LRFind(LRFindResult):
    """The learning-rate range test's result (``suggestion``, ``chosen``, the curve) and its static view."""

    def plot(self, ax: Any = None) -> Any:
        """A matplotlib figure of loss against learning rate (log x), the suggestion marked; shown as a PNG in a notebook."""
        if ax is None:
            from nnhp_magics.views.plots import display_figure

            ax = display_figure(figsize=FIGURE_SIZE, layout="constrained").subplots()
        return super().plot(ax)

    def _repr_html_(self) -> str | None:
        """The summary and the plot as a PNG; None in the cell whose live view already left them there."""
        return lrfind_views.repr_html(self)

    def static_html(self) -> str:
        """The summary and the plot as a base64 PNG, in a ``div.nnhp-lrfind``."""
        return lrfind_views.static_html(self)


def hpsearch(
    build: Callable[..., Any],
    x: Any,
    y: Any = None,
    space: str | dict[str, Any] | SearchSpace = "",
    *,
    valid: tuple[Any, Any] | Any | None = None,
    validation_split: float = 0.2,
    cv: int | None = None,
    strategy: str = "random",
    sampler: str | None = None,
    trials: int | None = None,
    epochs: int = 100,
    patience: int = 10,
    batch_size: int = 32,
    objective: str = "val_loss",
    seed: int | None = None,
    timeout: float | None = None,
    export: str | None = None,
    overwrite: bool = False,
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    dask: Any = None,
    keep_models: int = 1,
    background: bool = False,
    fit_kwargs: dict[str, Any] | None = None,
    baseline: bool = False,
    warmup: float = 0,
    engine: str = "auto",
    pack: int | None = None,
    jit: bool | None = None,
    tensorboard: str | None = None,
    factor: int = 3,
    iterations: int = 1,
    quiet: bool = True,
    namespace: dict[str, Any] | None = None,
    listeners: Iterable[Listener] = (),
    on_created: Callable[[Search], None] | None = None,
) -> Search:
    """Search hyperparameters of a Keras build function and return the :class:`Search`.

    ``space`` is spec text (one ``name = form`` a line, see the README), a
    scikit-learn ``param_distributions`` dict, or a parsed SearchSpace. Every
    mistake a user can make is reported before training starts; ``on_created`` gets
    the Search as soon as it exists, so a caller can hold it even if the search
    fails or is interrupted. With ``storage``, every finished trial is saved and a
    re-run resumes the study; ``keep_models`` best models are saved next to it.
    """
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    plan = plan_search(
        build, x, y, space, valid=valid, validation_split=validation_split, cv=cv, strategy=strategy,
        sampler=sampler, trials=trials, epochs=epochs, patience=patience, batch_size=batch_size, objective=objective,
        seed=seed, timeout=timeout, export=export, overwrite=overwrite, storage=storage, study=study,
        workers=workers, dask=dask, keep_models=keep_models, fit_kwargs=fit_kwargs, baseline=baseline,
        warmup=warmup, engine=engine, pack=pack, jit=jit, tensorboard=tensorboard, factor=factor,
        iterations=iterations, namespace=namespace,
    )
    search = plan.new_search(Search)
    if on_created is not None:
        on_created(search)
    bus = EventBus()
    if not quiet:
        bus.subscribe(TextProgress())
    for listener in listeners:
        bus.subscribe(listener)
    search.connect(follow_up=FollowUp(plan, search, bus), subscribe=bus.subscribe)
    return start_search(plan, search, bus, background=background)




def lrfind(
    build: Any,
    x: Any,
    y: Any = None,
    /,
    *,
    start: float = 1e-5,
    end: float = 10.0,
    steps: int = 500,
    batch_size: int | None = None,
    diverge: float = 4.0,
    smoothing: float = 0.98,
    quiet: bool = False,
    **params: Any,
) -> LRFind:
    """Run the learning-rate range test on BUILD (a build function or a compiled model) and read a rate off it.

    The learning rate grows geometrically from ``start`` to ``end`` over ``steps``
    mini-batches; ``suggestion`` is the rate at the smoothed loss's minimum ÷ 10 and
    ``steepest`` the rate of its steepest descent (both None, with a warning, on a
    flat curve). BUILD gets ``params``; a compiled model is restored afterwards.
    Under a Jupyter kernel the curve draws live in a chart where a rate can be
    picked (``chosen``), with the static plot kept below it for saved notebooks;
    elsewhere, or with ``quiet``, one summary line is printed.
    """
    check_options(start, end, steps, batch_size, diverge, smoothing)
    result = LRFind(float(start), float(end), int(steps), float(diverge), float(smoothing))
    bus = EventBus()
    bus.subscribe(choose.lrfind_view(quiet))
    run_lrfind(build, x, y, result, batch_size=batch_size, bus=bus, params=params)
    return result


def load_search(storage_url: str, study: str | None = None) -> Search:
    """Reopen a search saved with ``--storage``: trials, ``best_params``, ``leaderboard()``, ``plot()``, ``best_model``.

    Needs no training and writes nothing; ``study`` may be left out when the
    storage holds one study.
    """
    return storage.load_search(storage_url, study, Search)
