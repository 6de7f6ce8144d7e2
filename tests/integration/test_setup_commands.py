"""The README's two set-up commands install what they go on to run, on a machine with nothing else installed."""

from __future__ import annotations

import importlib.metadata
import re

from helpers import ROOT
from packaging.requirements import Requirement


def setup_commands() -> list[str]:
    """The bash blocks of the README's "Set up" section, in order."""
    section = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, re.DOTALL)


def installed_by(command: str) -> set[str]:
    """The distributions `pip install -e .[extras]` in ``command`` brings: the package's requirements plus its extras'."""
    match = re.search(r"""pip install -e ["']?\.(?:\[([\w,-]+)\])?["']?""", command)
    assert match, f"no editable install in {command!r}"
    extras = set(filter(None, (match.group(1) or "").split(",")))
    names = set()
    for line in importlib.metadata.requires("nnhp-magics") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
            names.add(requirement.name.lower())
    return names


def test_there_are_exactly_two_set_up_commands():
    assert len(setup_commands()) == 2


def test_the_example_command_installs_jupyter_execute_and_a_kernel():
    example = setup_commands()[0]
    assert "jupyter execute examples/california_housing.ipynb" in example
    assert {"nbclient", "ipykernel", "jupyterlab", "pandas"} <= installed_by(example)


def test_the_test_command_installs_pytest_and_the_notebook_tools():
    tests = setup_commands()[1]
    assert "python -m pytest" in tests
    assert {"pytest", "nbclient", "ipykernel", "jupyterlab", "playwright"} <= installed_by(tests)
