"""Where the widgets' front-end files live: the bundles in ``nnhp_magics/views/static``.

``scripts/build_widgets.mjs`` bundles each widget's ES modules from the top-level
``widgets/`` folder into one file there and copies its CSS beside it; the bundles are
committed, so a wheel and an editable checkout load the same files and no install
needs Node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets

STATIC = Path(__file__).resolve().parent / "static"


def bundle_file(name: str) -> Path:
    """One built front-end file, e.g. ``bundle_file("dashboard.js")``."""
    path = STATIC / name
    if not path.is_file():
        msg = f"the widgets' front-end file {path} is missing; reinstall nnhp-magics."
        raise FileNotFoundError(msg)
    return path


def view_only(bundle: tuple[dict[str, Any], dict[str, Any]] | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A widget's mime bundle with an empty text form: IPython then adds no repr(), and the static view beside it speaks."""
    if bundle is None:  # no view (a closed widget): nothing to show
        return None
    data, metadata = bundle
    data["text/plain"] = ""
    return data, metadata


def redrawn_traits(widget: type[traitlets.HasTraits]) -> list[str]:
    """The synced traits a widget class declares itself (not ipywidgets' own), but ``constants``: what its front end redraws on."""
    return [name for name in widget.class_own_traits(sync=True) if name != "constants"]
