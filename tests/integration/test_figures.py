"""``search.plot()`` and ``lr.plot()`` display as images in a kernel that never imported pyplot."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from helpers import ROOT

SCRIPT = textwrap.dedent(
    """
    import os, sys
    os.environ.pop("MPLBACKEND", None)
    from IPython.core.interactiveshell import InteractiveShell
    from nnhp_magics.api import LRFind, Search
    from nnhp_magics.core.results import COMPLETE, Trial, parse_objective

    ip = InteractiveShell.instance()
    search = Search(objective=parse_objective("val_loss"), param_names=["units"], budget=2)
    for number, curve in enumerate(([1.0, 0.5, 0.4], [0.9, 0.7, 0.6])):
        search.record_trial(Trial(number, {"units": number}, state=COMPLETE, score=min(curve),
                                  history={"val_loss": curve}, best_epochs=[3]))
    lr = LRFind(1e-4, 1.0, 3, 4.0, 0.98)
    lr.lrs, lr.losses, lr.smoothed = [1e-4, 1e-2, 1.0], [1.0, 0.5, 2.0], [1.0, 0.7, 1.2]
    for figure in (search.plot(), lr.plot()):
        data, _ = ip.display_formatter.format(figure)
        assert "image/png" in data and data["image/png"], sorted(data)
    assert "matplotlib.pyplot" not in sys.modules
    print("ok")
    """
)


def test_plots_display_as_png_without_pyplot():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
