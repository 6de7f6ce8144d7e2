"""The widgets' front-end bundles ship inside the wheel, and both a wheel and the editable checkout load them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT

FRONT_END = ("dashboard.js", "dashboard.css", "lrfind.js", "lrfind.css")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this checkout with the installed hatchling (no isolated build env, so no network)."""
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = out.glob("nnhp_magics-*.whl")
    return path


def test_the_wheel_carries_the_front_end(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    for name in FRONT_END:
        assert f"nnhp_magics/views/static/{name}" in names, names
    assert not any(n.startswith("widgets/") for n in names), "front-end files live inside the package"
    js = zipfile.ZipFile(wheel).read("nnhp_magics/views/static/dashboard.js").decode()
    assert js == (ROOT / "nnhp_magics" / "views" / "static" / "dashboard.js").read_text()


def test_an_installed_wheel_finds_its_front_end(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import nnhp_magics, nnhp_magics.views.frontend as f, nnhp_magics.views.dashboard as d; "
        "print(nnhp_magics.__file__); print(f.STATIC); print(str(d.Dashboard._esm) == (f.STATIC / 'dashboard.js').read_text())"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    package, widgets, same = result.stdout.split()
    assert Path(package).parent == site / "nnhp_magics", "the checkout was imported instead of the wheel"
    assert Path(widgets) == site / "nnhp_magics" / "views" / "static" and same == "True"


def test_the_editable_checkout_finds_its_front_end():
    import nnhp_magics
    from nnhp_magics.views.frontend import STATIC

    assert Path(nnhp_magics.__file__).resolve().parent == ROOT / "nnhp_magics"
    assert STATIC == ROOT / "nnhp_magics" / "views" / "static"
    assert all((STATIC / name).is_file() for name in FRONT_END)
