"""The front end's own checks: the JS helpers' unit tests under ``node --test``, and the committed bundles are fresh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT

STATIC = ROOT / "nnhp_magics" / "views" / "static"
BUILT = ("dashboard.js", "dashboard.css", "lrfind.js", "lrfind.css")


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not on PATH: the JS unit tests and the bundle check need Node.js")
    return path


def test_the_js_helpers_pass_their_unit_tests():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert files, "no JS unit tests found in tests/js"
    result = subprocess.run([node(), "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def test_the_committed_bundles_are_built_from_the_sources(tmp_path: Path):
    executable = node()
    if not (ROOT / "node_modules" / "esbuild").is_dir():
        pytest.skip("node_modules/esbuild is absent: run `npm ci` to check the bundles against widgets/")
    result = subprocess.run([executable, "scripts/build_widgets.mjs", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in BUILT:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"nnhp_magics/views/static/{name} is stale: run `npm run build` and commit it"
        )
    assert sorted(p.name for p in STATIC.iterdir()) == sorted(BUILT), "the static folder holds only built files"
