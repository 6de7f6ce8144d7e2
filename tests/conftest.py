"""Session fixtures for every test folder: Keras imported once, one IPython shell, the shared data."""

from __future__ import annotations

import pytest
from helpers import pin_tensorflow_threads, regression_data


@pytest.fixture(scope="session")
def keras_ready():
    """Keras imported once, TF pinned to one thread."""
    pin_tensorflow_threads()
    import keras

    return keras


@pytest.fixture(scope="session")
def data():
    return regression_data()


@pytest.fixture(scope="session")
def ip():
    """One IPython shell for the session, with the extension loaded."""
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "nnhp_magics")
    return shell

