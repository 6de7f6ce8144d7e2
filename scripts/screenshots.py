"""Screenshots of the dashboard for the README, taken in a real JupyterLab by the browser tests' harness.

    python scripts/screenshots.py               # run the two browser modules, then copy their shots to docs/
    python scripts/screenshots.py --copy-only   # copy the shots the last browser test run left

The browser tests (tests/browser/, harness jupyterlab_browser.py: JupyterLab on 127.0.0.1,
headless Chromium at /usr/bin/chromium or $NNHP_CHROMIUM) take element screenshots into
tests/browser/artifacts/; this script runs the modules that take the ones the README
shows and copies them, renamed, into docs/.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "browser" / "artifacts"
DOCS = ROOT / "docs"
#: docs/ name -> (the browser test module that takes it, its name in the artifacts).
SHOTS = {
    "dashboard-light.png": ("test_browser_dashboard.py", "dashboard_light.png"),
    "dashboard-dark.png": ("test_browser_dashboard.py", "dashboard_dark.png"),
    "dashboard-800px.png": ("test_browser_layout.py", "dashboard_800px.png"),
    "saved-notebook.png": ("test_browser_layout.py", "saved_static.png"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copy-only", action="store_true", help="copy the last run's shots without running the tests")
    args = parser.parse_args()
    if not args.copy_only:
        modules = sorted({f"tests/browser/{module}" for module, _ in SHOTS.values()})
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *modules], cwd=ROOT)
        if run.returncode:
            print("the browser tests failed: the shots may be missing or stale", file=sys.stderr)
    DOCS.mkdir(exist_ok=True)
    missing = []
    for name, (_, artifact) in SHOTS.items():
        source = ARTIFACTS / artifact
        if source.exists():
            shutil.copyfile(source, DOCS / name)
            print(f"docs/{name}")
        else:
            missing.append(artifact)
    if missing:
        print(f"not taken: {', '.join(missing)}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
