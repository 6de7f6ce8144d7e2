"""The dashboard's front-end files ship inside the wheel, and both a wheel and the editable checkout find them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

FRONT_END = ("dom.js", "dashboard.js", "explore.js", "dashboard.css", "lrfind.js", "lrfind.css")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this checkout, the way a release is built."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = out.glob("nnhp_magics-*.whl")
    return path


def test_the_wheel_carries_the_front_end(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    for name in FRONT_END:
        assert f"nnhp_magics/widgets/{name}" in names, names
    assert not any(n.startswith("widgets/") for n in names), "front-end files live inside the package"
    js = zipfile.ZipFile(wheel).read("nnhp_magics/widgets/dashboard.js").decode()
    assert js == (ROOT / "widgets" / "dashboard.js").read_text()


def test_an_installed_wheel_finds_its_front_end(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import nnhp_magics, nnhp_magics.views.frontend as f, nnhp_magics.views.dashboard as d; "
        "print(nnhp_magics.__file__); print(f.widgets_dir()); print(all((f.widgets_dir() / n).read_text() in d.Dashboard._esm for n in ('dom.js', 'dashboard.js', 'explore.js')))"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    package, widgets, same = result.stdout.split()
    assert Path(package).parent == site / "nnhp_magics", "the checkout was imported instead of the wheel"
    assert Path(widgets) == site / "nnhp_magics" / "widgets" and same == "True"


def test_the_editable_checkout_finds_its_front_end():
    import nnhp_magics
    from nnhp_magics.views.frontend import widgets_dir

    assert Path(nnhp_magics.__file__).resolve().parent == ROOT / "nnhp_magics"
    assert widgets_dir() == ROOT / "widgets"
    assert all((widgets_dir() / name).is_file() for name in FRONT_END)
