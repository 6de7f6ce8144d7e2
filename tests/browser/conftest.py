"""The browser tests' session fixtures: one JupyterLab server and one headless Chromium page."""

from jupyterlab_browser import jlab, page

__all__ = ["jlab", "page"]
