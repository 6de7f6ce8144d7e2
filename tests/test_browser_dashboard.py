"""The live dashboard in a real JupyterLab, driven through headless Chromium (Playwright).

One server and one browser for the session. The notebook runs three cells with
Run All: a grid search whose trials sleep per epoch and half of which fail, a long
foreground search that the test stops from the dashboard while it runs, and a
plain cell that must still run after it. The tests run in file order and share
that one notebook run. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("NNHP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NB_NAME = "dashboard.ipynb"

SETUP = r'''
import os
os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = "1"
import time
import numpy as np
import keras

def build(units=4, crash=False, learning_rate=0.01):
    if crash:
        raise ValueError(f"this model refuses units={units}")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model

class Slow(keras.callbacks.Callback):
    """Makes each epoch last long enough to watch."""
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(0.5)

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3)).astype("float32")
y = X @ np.array([1.0, -1.0, 0.5], dtype="float32")
slow = {"callbacks": [Slow()]}
%load_ext nnhp_magics
'''
GRID = """%%hpsearch build X y --strategy grid --epochs 4 --patience 0 --seed 0 --fit-kwargs slow -o grid
units = [2, 4, 8]
crash = [False, True]
"""
LONG = """%%hpsearch build X y --trials 40 --epochs 3 --patience 0 --seed 1 --fit-kwargs slow -o long
units = int(2, 8)
"""
AFTER = 'print("ran after the searches:", grid.stop_reason, long.stop_reason)'


def make_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in (SETUP, GRID, LONG, AFTER)]
    nbformat.write(nb, str(path))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """PIDs of every descendant of ``pid`` (kernels run in their own process group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture(scope="session")
def jlab(tmp_path_factory: pytest.TempPathFactory):
    """A JupyterLab server on 127.0.0.1 with isolated settings; stopped by PID with everything it started."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"chromium not found at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    base = tmp_path_factory.mktemp("jlab")
    root = base / "root"
    root.mkdir()
    make_notebook(root / NB_NAME)
    settings = base / "lab-settings"
    _write_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings", {"windowingMode": "none"})
    _write_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False})
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"), JUPYTER_PLATFORM_DIRS="1",
               PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(base / "jupyter.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {proc.returncode}; see {base}/jupyter.log")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("jupyter lab did not answer within 90 s")
            time.sleep(0.3)
        yield {"url": url, "token": token, "root": root, "base": base}
    finally:
        kids = _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        log.close()


@pytest.fixture(scope="session")
def page(jlab, tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium page for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1600},
        )
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            context.close()


JS_KERNEL_READY = """() => {
  const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!p) return false;
  const name = (p.querySelector('.jp-KernelName')?.textContent || '').trim();
  const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
  return name !== '' && name !== 'No Kernel' && ind?.dataset.status === 'idle';
}"""


def shot(locator: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(ARTIFACTS / name))


def menu(page: Any, top: str, command: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(f"^{top}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def trial_order(dash: Any) -> list[int]:
    return [int(n) for n in dash.locator("table.nnhp-board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.trial)")]


@pytest.fixture(scope="session")
def notebook(jlab, page):
    """The test notebook opened in JupyterLab, its kernel ready, Run All clicked."""
    page.goto(f"{jlab['url']}/lab/tree/{NB_NAME}?token={jlab['token']}&reset")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=120_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
    page.wait_for_function(JS_KERNEL_READY, timeout=120_000)
    menu(page, "Run", "runmenu:run-all")
    return page


def test_the_dashboard_shows_a_search_live(notebook):
    from playwright.sync_api import expect

    dash = notebook.locator(".nnhp-dash").nth(0)
    expect(dash).to_have_attribute("data-status", "running", timeout=180_000)
    counter = dash.locator(".nnhp-counter")
    seen, points, running_rows = set(), 0, 0
    deadline = time.monotonic() + 180
    while dash.get_attribute("data-status") == "running" and time.monotonic() < deadline:
        seen.add(counter.get_attribute("data-finished"))
        points = max(points, int(dash.locator("svg.nnhp-chart").get_attribute("data-points") or 0))
        running_rows = max(running_rows, dash.locator("tr.nnhp-row-running").count())
        if len(seen) == 2:
            shot(dash, "dashboard_running.png")
        time.sleep(0.2)
    assert len(seen - {"0"}) >= 2, f"the trial counter did not advance while the search ran: {seen}"
    assert points > 0, "the running trial's curves got no points"
    assert running_rows >= 1, "the running trial has a row of its own"
    expect(dash).to_have_attribute("data-status", "done", timeout=60_000)
    expect(counter).to_have_text("6 of 6 trials")
    shot(dash, "dashboard_done.png")


def test_sort_and_stop_while_a_foreground_search_runs(notebook):
    from playwright.sync_api import expect

    dash = notebook.locator(".nnhp-dash").nth(1)
    expect(dash).to_have_attribute("data-status", "running", timeout=180_000)
    notebook.wait_for_function(
        "d => d.querySelectorAll('tr.nnhp-row-complete').length >= 2 && d.querySelector('tr.nnhp-row-running')",
        arg=dash.element_handle(), timeout=120_000)
    header = dash.locator('th[data-key="trial"]')
    header.click()
    ascending = trial_order(dash)
    assert ascending == sorted(ascending), ascending
    header.click()
    descending = trial_order(dash)
    assert descending == sorted(descending, reverse=True) and len(descending) >= 3, descending
    expect(dash).to_have_attribute("data-status", "running")
    shot(dash, "dashboard_sorted_while_running.png")
    stop = dash.locator("button.nnhp-stop")
    expect(stop).to_be_enabled()
    stop.click()
    expect(dash).to_have_attribute("data-status", "stopped", timeout=60_000)
    expect(dash.locator("tr.nnhp-row-interrupted")).to_have_count(1)
    assert dash.locator("tr.nnhp-row-complete").count() >= 2, "finished trials are kept"
    assert int(dash.locator(".nnhp-counter").get_attribute("data-finished")) < 40
    after = notebook.locator(".jp-CodeCell").nth(3).locator(".jp-OutputArea-output")
    expect(after).to_contain_text("ran after the searches: done stopped", timeout=60_000)
    shot(dash, "dashboard_stopped.png")


def test_leaderboard_sorting_failures_and_export_after_the_search(notebook, jlab, keras_ready):
    from playwright.sync_api import expect

    notebook.wait_for_function(JS_KERNEL_READY, timeout=120_000)
    dash = notebook.locator(".nnhp-dash").nth(0)
    rows = dash.locator("table.nnhp-board tbody tr")
    expect(rows).to_have_count(6)
    states = rows.evaluate_all("rows => rows.map(r => r.dataset.state)")
    assert states == ["complete"] * 3 + ["failed"] * 3, "sorted by score, failures last"
    assert dash.locator("tr.nnhp-best-row").count() == 1
    expect(dash.locator("tr.nnhp-best-row")).to_have_attribute("data-trial", str(trial_order(dash)[0]))
    failed = dash.locator("tr.nnhp-row-failed").first
    expect(failed.locator(".nnhp-reason")).to_contain_text("ValueError: this model refuses units=")
    units = dash.locator('th[data-key="p:units"]')
    units.click()
    values = dash.locator('td[data-key="p:units"]').all_text_contents()
    assert values == sorted(values, key=int)
    units.click()
    assert dash.locator('td[data-key="p:units"]').all_text_contents() == sorted(values, key=int, reverse=True)
    expect(dash.locator("th.nnhp-sorted-desc")).to_have_attribute("data-key", "p:units")
    expect(dash.locator(".nnhp-best-code")).to_contain_text("dict(units=")

    dash.locator("svg.nnhp-chart").scroll_into_view_if_needed()
    point = dash.locator(".nnhp-series-best path").evaluate(
        "p => { const q = p.getPointAtLength(0).matrixTransform(p.getScreenCTM()); return [q.x, q.y]; }")
    notebook.mouse.move(point[0], point[1])
    expect(dash.locator(".nnhp-tooltip")).to_contain_text(re.compile(r"trial \d+ · epoch 1 · val_loss"))
    dash.locator(".nnhp-log-toggle").check()
    assert int(dash.locator("svg.nnhp-chart").get_attribute("data-points")) > 0

    target = jlab["root"] / "exported" / "best.keras"
    dash.locator(".nnhp-export-path").fill(str(target))
    dash.locator("button.nnhp-export").click()
    expect(dash.locator(".nnhp-notice")).to_have_attribute("data-kind", "ok", timeout=60_000)
    shot(dash, "dashboard_exported.png")
    model = keras_ready.saving.load_model(target)
    assert model.output_shape == (None, 1)
    assert (target.parent / "best.params.json").exists() and (target.parent / "best.leaderboard.csv").exists()
