"""The map in the README's design section holds: imports run one way and never in a circle
(lazy imports inside functions included: a circle hidden in one breaks as soon as it runs);
every package is in the wheel; and the code passes the linter."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("plugin", "converters", "operators", "cli", "testing")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``ldfa.plugin.io.images``)."""
    found = {"ldfa": REPO / "__init__.py"}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join(("ldfa", *parts))] = path
    return found


def imports(path: Path) -> set[str]:
    """The ldfa modules ``path`` imports anywhere in it (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ldfa"):
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ldfa")}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports(path) if m in known and m != name}
            for name, path in known.items()}


def test_no_import_circles():
    edges = graph()
    state: dict[str, str] = {}

    def visit(name, trail):
        state[name] = "open"
        for target in sorted(edges[name]):
            assert state.get(target) != "open", " -> ".join([*trail, name, target])
            if target not in state:
                visit(target, [*trail, name])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [])


def test_imports_run_from_the_front_ends_to_the_engine_and_never_back():
    edges = graph()
    for name, targets in edges.items():
        front = {t for t in targets if t.startswith(("ldfa.cli", "ldfa.operators"))}
        if name.startswith(("ldfa.plugin", "ldfa.converters")):
            assert not front, f"{name} imports {front}: the engine never imports its front ends"
        if name.startswith("ldfa.converters"):
            assert "ldfa.plugin.pipeline" not in targets, f"{name}: converters are round trips only"
        if name.startswith("ldfa.plugin") and name != "ldfa.plugin.pipeline":
            reached = {t for t in targets if t.startswith("ldfa.converters")}
            assert not reached, f"{name} imports {reached}: only the pipeline uses the converters"
        if not name.startswith("ldfa.testing"):
            assert not {t for t in targets if t.startswith("ldfa.testing")}, name
    assert edges["ldfa.plugin.schema"] == set(), "the schema names things; it imports nothing"


def test_every_package_is_listed_for_the_wheel():
    """An editable install finds any folder; a wheel holds only the packages pyproject lists."""
    import pytest

    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages == listed


def test_the_code_passes_the_linter():
    """pyflakes, pycodestyle and import order, as configured in pyproject.toml."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(REPO)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
