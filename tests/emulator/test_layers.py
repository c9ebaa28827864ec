"""The emulator's modules import one way: the HTTP layer calls the models, never the reverse.

Read from the source (every import, those under ``TYPE_CHECKING`` too), so a cycle is caught even
where Python would not fail at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import amplify_sandbox.emulator

PACKAGE = Path(amplify_sandbox.emulator.__file__).parent
#: the HTTP layer: what answers requests and calls the models
HTTP = {"server", "urls", "responses", "uploads", "admin", "site", "httpd"}
#: the state model and its rules
MODEL = {"models", "jobs", "state", "store", "content", "source_url", "paging", "faults", "knobs", "signing"}


def imports_of(module: str) -> set[str]:
    """The emulator modules ``module`` imports (relative imports of the package)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # from . import a, b
                found.update(alias.name for alias in node.names)
    return found & {p.stem for p in PACKAGE.glob("*.py")}


def graph() -> dict[str, set[str]]:
    return {p.stem: imports_of(p.stem) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_the_emulator_modules_form_no_import_cycle() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for dep in sorted(edges.get(module, ())):
            visit(dep, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert {"server", "models", "uploads", "admin", "site", "urls", "responses"} <= done


def test_only_the_entry_points_import_the_server_module() -> None:
    importers = {module for module, deps in graph().items() if "server" in deps}
    assert importers == {"sandbox"}


def test_the_models_import_nothing_of_the_http_layer() -> None:
    edges = graph()
    for module in MODEL:
        assert not edges[module] & HTTP, f"{module} imports {sorted(edges[module] & HTTP)}"
    assert "models" in edges["responses"]  # the HTTP layer calls the models
