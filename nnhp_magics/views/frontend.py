"""Where the dashboard's front-end files live: inside an installed wheel, or in a source checkout.

The wheel carries the top-level ``widgets/`` folder as ``nnhp_magics/widgets``; an
editable install imports the package from the checkout, where ``widgets/`` sits
beside it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_CANDIDATES = (_PACKAGE / "widgets", _PACKAGE.parent / "widgets")


def widgets_dir() -> Path:
    """The folder holding ``dashboard.js`` and ``dashboard.css``."""
    for candidate in _CANDIDATES:
        if (candidate / "dashboard.js").is_file():
            return candidate
    searched = ", ".join(str(c) for c in _CANDIDATES)
    msg = f"the dashboard's front-end files are missing (looked in {searched}); reinstall nnhp-magics."
    raise FileNotFoundError(msg)


def widget_file(name: str) -> Path:
    """One front-end file, e.g. ``widget_file("dashboard.js")``."""
    return widgets_dir() / name


def widget_module(*names: str) -> str:
    """One ES module from several front-end files, in order (a widget's code split by job, shipped as one)."""
    return "\n".join(widget_file(name).read_text() for name in names)
