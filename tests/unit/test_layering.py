"""The package's layers, read from the source with ``ast``: every import, lazy ones inside functions included.

Layers, lowest first: ``errors`` and ``core`` (pure), ``training`` (the only Keras and
TensorFlow importer), ``search`` and ``lr_finder``, ``views``, ``api``, ``magics``, and
the package's ``__init__``. A module may import its own subpackage and the layers
below it, never a layer above nor a sibling of its own rank; no two modules import
each other, directly or round a longer cycle; the heavy or front-end libraries stay
in the layer made for them.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "nnhp_magics"

RANKS = {
    "errors": -1,
    "core": 0,
    "training": 1,
    "search": 2,
    "lr_finder": 2,
    "views": 3,
    "api": 4,
    "magics": 5,
    "__init__": 6,
}

#: Third-party libraries only some layers may import (top-level module name -> layers).
CONFINED = {
    "tensorflow": {"training"},
    "keras": {"training"},
    "IPython": {"views", "magics"},
    "ipykernel": {"views", "magics"},
    "anywidget": {"views"},
    "ipywidgets": {"views"},
    "traitlets": {"views"},
    "zmq": {"views"},
    "matplotlib": {"views", "lr_finder"},
    "distributed": {"training"},
    "dask": {"training"},
}

#: What the pure layer may import beyond the standard library.
CORE_ALLOWED = {"numpy", "scipy", "optuna", "sklearn", "pandas"}


def module_name(path: Path, root: Path) -> str:
    """``nnhp_magics.core.spec`` for ``root/core/spec.py``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([root.name, *parts])


def layer_of(module: str) -> str:
    """The layer a module belongs to: its first part below the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line: absolute names, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The graph of the package's own modules, and every rule an import breaks."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    problems: list[str] = []
    for module, path in files.items():
        layer = layer_of(module)
        for line, target in imports_of(path, module, path.name == "__init__.py"):
            where = f"{path.relative_to(root.parent)}:{line}"
            top = target.split(".")[0]
            if top == root.name:
                if target not in files or target == module:
                    continue
                graph[module].add(target)
                other = layer_of(target)
                if other == layer:
                    continue
                if RANKS[other] >= RANKS[layer] and not module.startswith(target + "."):
                    problems.append(f"{where}: {layer} imports {target} ({other} is not below {layer})")
            elif top in CONFINED and layer not in CONFINED[top]:
                problems.append(f"{where}: {top} imported in {layer} (allowed only in {sorted(CONFINED[top])})")
            elif layer in ("core", "errors") and top not in CORE_ALLOWED and not _stdlib(top):
                problems.append(f"{where}: the pure layer imports {top}")
    return graph, sorted(set(problems))


def _stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of modules larger than one (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            # a package's __init__ importing its own modules is not a cycle with them
            if node + "." in nxt + ".":
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_imports_upward_or_outside_its_layer():
    _graph, problems = import_graph(PACKAGE)
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    graph, _problems = import_graph(PACKAGE)
    assert cycles(graph) == []


def test_every_module_belongs_to_a_known_layer():
    unknown = sorted({layer_of(m) for m in import_graph(PACKAGE)[0]} - set(RANKS))
    assert unknown == []


def test_a_planted_upward_import_and_cycle_are_caught(tmp_path):
    copy = tmp_path / "nnhp_magics"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "widgets"))
    spec = copy / "core" / "spec.py"
    spec.write_text(spec.read_text() + "\n\ndef _planted():\n    from nnhp_magics.views import dashboard\n")
    space = copy / "core" / "space.py"
    space.write_text(space.read_text() + "\n\ndef _planted():\n    from nnhp_magics.core import spec\n")
    spec.write_text(spec.read_text() + "\n\ndef _planted_keras():\n    import keras\n")
    graph, problems = import_graph(copy)
    assert any("core/spec.py" in p and "views" in p for p in problems), problems
    assert any("keras imported in core" in p for p in problems), problems
    assert any({"nnhp_magics.core.space", "nnhp_magics.core.spec"} <= set(group) for group in cycles(graph))


@pytest.mark.parametrize("layer", sorted(set(RANKS) - {"__init__", "api", "errors"}))
def test_each_layer_is_a_subpackage(layer):
    assert (PACKAGE / layer / "__init__.py").is_file()
