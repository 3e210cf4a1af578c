"""The map in docs/design.md holds: imports run one way and never in a circle
(lazy imports inside functions included: a circle hidden in one breaks as soon as it runs);
the stages are siblings on one shared floor; every package is in the wheel and no test
support is; and the code passes the linter."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("plugin", "converters", "operators", "cli")
# The floors, bottom up. The stages (and the converters' round trip) stand side by side on the
# shared floor: none imports another. The pipeline level runs them one after another.
STAGES = ("ldfa.plugin.detection", "ldfa.plugin.anonymization", "ldfa.plugin.metrics",
          "ldfa.plugin.audit", "ldfa.converters")
PIPELINE = ("ldfa.plugin.pipeline", "ldfa.plugin.guard", "ldfa.plugin.pixels")
FRONT_ENDS = ("ldfa.cli", "ldfa.operators")
FLOORS = ("shared floor", "stage", "pipeline", "front end")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``ldfa.plugin.io.images``)."""
    found = {"ldfa": REPO / "__init__.py"}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join(("ldfa", *parts))] = path
    return found


def imported(path: Path) -> set[str]:
    """Every module name ``path`` imports anywhere in it (inside functions too), with the
    names a ``from`` import takes (they may be modules)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imported(path) if m in known and m != name}
            for name, path in known.items()}


def within(name: str, packages) -> str | None:
    """The one of ``packages`` that ``name`` is or lies in, else None."""
    return next((p for p in packages if name == p or name.startswith(p + ".")), None)


def floor(name: str) -> int:
    """0 the shared floor, 1 a stage, 2 the pipeline, 3 a front end: the command line, the App's
    operators, and the package root (its version, the SDK's names, the plugin's ``register``)."""
    if name == "ldfa":
        return 3
    for level, packages in ((3, FRONT_ENDS), (2, PIPELINE), (1, STAGES)):
        if within(name, packages):
            return level
    return 0


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


def test_imports_never_go_up_a_floor():
    upward = [f"{name} ({FLOORS[floor(name)]}) imports {target} ({FLOORS[floor(target)]})"
              for name, targets in graph().items() for target in sorted(targets)
              if floor(target) > floor(name)]
    assert not upward, "\n".join(upward)


def test_the_stages_are_siblings():
    """A stage uses the floor below it, never another stage: what two stages share moves down,
    what runs one after another moves up to the pipeline."""
    crossing = [f"{name} imports {target}" for name, targets in graph().items()
                for target in sorted(targets)
                if within(name, STAGES) and within(target, STAGES) not in (None, within(name, STAGES))]
    assert not crossing, "\n".join(crossing)


def test_the_shared_floor_imports_no_stage_and_knows_few_names():
    edges = graph()
    floor_modules = [name for name in edges if floor(name) == 0]
    assert {"ldfa.plugin.geometry.masks", "ldfa.plugin.models.face_mesh",
            "ldfa.plugin.models.embedders", "ldfa.plugin.models.detector.passes"} <= set(floor_modules)
    for name in floor_modules:
        assert all(floor(t) == 0 for t in edges[name]), f"{name} imports {edges[name]}"
    assert edges["ldfa.plugin.schema"] == set(), "the schema names things; it imports nothing"


def test_the_package_imports_no_test_support():
    """The test helpers (tests/ldfa_testing) are not installed: no module of ldfa may need them."""
    needing = {name for name, path in modules().items()
               if any(m.split(".")[0] == "ldfa_testing" for m in imported(path))}
    assert not needing


def test_anonymizing_loads_no_metrics_module(tmp_path):
    """`ldfa anonymize` runs the anonymization stage alone, up to where it opens the dataset:
    the identity metrics load only when its identity guard runs."""
    import json
    import subprocess
    import sys

    script = f"""
import json, sys
import ldfa.plugin.io.folders as folders

def opened(name):
    loaded = sorted(m for m in sys.modules if m.startswith("ldfa.plugin.metrics"))
    open({str(tmp_path / "loaded.json")!r}, "w").write(json.dumps(loaded))
    raise SystemExit(0)

folders.open_dataset = opened
from ldfa.cli import main
main(["anonymize", "--dataset", "d", "--method", "gauss"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "loaded.json").read_text()) == []


def test_every_package_is_listed_for_the_wheel():
    """An editable install finds any folder; a wheel holds only the packages pyproject lists."""
    import pytest

    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages == listed


def test_every_package_the_code_imports_is_declared():
    """What ldfa imports, at the top of a module or inside a function, is a dependency of its
    own in pyproject.toml (or of an extra), not something that happens to come with FiftyOne."""
    import re
    import sys
    from importlib import metadata

    import pytest

    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + sum(project["optional-dependencies"].values(), [])

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = {canonical(re.split(r"[\s;<>=!~\[]", r, maxsplit=1)[0]) for r in wanted}
    providers = metadata.packages_distributions()

    def provided_by(top: str) -> set[str]:
        """The distributions installing module ``top`` (by their files where their top_level.txt
        leaves it out, as dlib-bin's does)."""
        found = providers.get(top) or [d.metadata["Name"] for d in metadata.distributions()
                                       if any(str(f) in (f"{top}/__init__.py", f"{top}.py") for f in d.files or ())]
        return {canonical(d) for d in found or [top]}

    undeclared = {}
    for name, path in modules().items():
        for top in {m.split(".")[0] for m in imported(path)} - {"ldfa", *sys.stdlib_module_names}:
            if not provided_by(top) & declared:
                undeclared.setdefault(top, name)
    assert not undeclared, f"imported but not declared (package: a module importing it): {undeclared}"


def test_the_code_passes_the_linter():
    """pyflakes, pycodestyle and import order, as configured in pyproject.toml."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(REPO)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
