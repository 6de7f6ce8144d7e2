"""A real JupyterLab in headless Chromium (Playwright), shared by the browser tests.

One server and one browser page for the whole session (fixtures ``jlab`` and
``page``, registered in conftest.py); each test module writes its own notebook
into ``jlab["root"]`` and opens it with ``open_notebook``. Screenshots go to
tests/artifacts/.
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

CHROMIUM = os.environ.get("NNHP_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
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




def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells with the default Python kernel."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in cells]
    nbformat.write(nb, str(path))


def open_notebook(page: Any, jlab: dict[str, Any], name: str, cells: list[str]) -> Any:
    """Write the notebook, open it alone in JupyterLab, wait for its kernel and click Run All."""
    write_notebook(jlab["root"] / name, cells)
    page.goto(f"{jlab['url']}/lab/tree/{name}?token={jlab['token']}&reset")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=120_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
    page.wait_for_function(JS_KERNEL_READY, timeout=120_000)
    menu(page, "Run", "runmenu:run-all")
    return page
