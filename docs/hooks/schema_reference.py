"""Every name ``ldfa.plugin.schema`` defines, generated from the module itself.

Constants come with their values (imported) and the comments written beside them (read from the
source); name functions with their docstrings and the name they make, by calling them with
placeholders (``anon_<method>``). Run keys are the ``run_key(KIND, ...)`` calls the package makes.
A name added to the schema appears at the next build; one taken out disappears.
"""

from __future__ import annotations

import ast
import inspect
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from markdown_cells import code, text

import ldfa
from ldfa.plugin import schema

PACKAGE = Path(ldfa.__file__).resolve().parent


@dataclass(frozen=True)
class Name:
    """One public name of the schema module."""

    name: str
    shown: str  # a constant's value (repr), or the name a function makes, placeholders in <>
    doc: str  # its docstring or the comments beside it
    function: bool
    line: int  # where it is defined: names assigned together share it

    @property
    def view(self) -> bool:
        return self.name.lower().endswith("_view")


def names() -> list[Name]:
    """Every public constant and function of the schema, in the module's order."""
    source = Path(inspect.getsourcefile(schema)).read_text()
    tree = ast.parse(source)
    comments = _comments(source)
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            found.append(Name(node.name, made_by(getattr(schema, node.name)), inspect.cleandoc(
                ast.get_docstring(node) or ""), True, node.lineno))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            doc = _beside(node, comments)
            for target in targets:
                for leaf in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(leaf, ast.Name) and not leaf.id.startswith("_"):
                        found.append(Name(leaf.id, repr(getattr(schema, leaf.id)), doc, False, node.lineno))
    return found


def made_by(function) -> str:
    """The name ``function`` makes, its arguments shown as ``<argument>`` (defaults as they are)."""
    params = list(inspect.signature(function).parameters.values())
    # word characters only: run_key turns everything else into "_"
    stand_in = {p.name: f"ARG{i}Z" for i, p in enumerate(params) if p.default is p.empty}
    made = function(*[stand_in.get(p.name, p.default) for p in params])
    for name, token in stand_in.items():
        made = made.replace(token, f"<{name}>")
    return made


def run_kinds() -> dict[str, str]:
    """The schema constants the package passes to ``run_key`` as a kind, with their values."""
    kinds = {}
    for folder in sorted(init.parent for init in PACKAGE.glob("*/__init__.py")):  # the subpackages
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_key" and node.args
                        and isinstance(node.args[0], ast.Name) and hasattr(schema, node.args[0].id)):
                    kinds[node.args[0].id] = getattr(schema, node.args[0].id)
    return dict(sorted(kinds.items(), key=lambda item: item[1]))


def _comments(source: str) -> tuple[dict[int, str], dict[int, str]]:
    """The comments of ``source`` by line number, without their ``#``: those alone on their
    line, and those after code."""
    alone, after = {}, {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            (alone if tok.line.lstrip().startswith("#") else after)[tok.start[0]] = tok.string.lstrip("#").strip()
    return alone, after


def _beside(node: ast.stmt, comments: tuple[dict[int, str], dict[int, str]]) -> str:
    """The comment lines right above ``node`` (no blank line between) and those after its code."""
    alone, after = comments
    above, line = [], node.lineno - 1
    while line in alone:
        above.insert(0, alone[line])
        line -= 1
    own = [after[n] for n in range(node.lineno, node.end_lineno + 1) if n in after]
    return " ".join(above + own)


def render() -> str:
    """The schema reference as Markdown: fields and values, run keys, saved views."""
    found = names()
    kinds = run_kinds()
    made = [n for n in found if n.function and not n.view]
    views = [n for n in found if n.view]
    constants = [n for n in found if not n.function and not n.view]
    parts = ["## Run keys", "", "One FiftyOne run per kind and field; its config and results are read back "
             "from it (`dataset.get_run_info(key)`).", "", "| run key | kind |", "|---|---|"]
    parts += [f"| `{schema.run_key(value, 'FIELD').replace('FIELD', '<field>')}` | `{kind}` |"
              for kind, value in kinds.items()]
    parts += ["", "## Saved views", "", "| view | name in `ldfa.plugin.schema` | what it holds |", "|---|---|---|"]
    parts += [f"| `{n.shown.strip(chr(39))}` | `{n.name}` | {text(n.doc)} |" for n in views]
    parts += ["", "## Names made from a version or field", "",
              "A *version* is `original` or an anonymized field (`anon_<method>` by default).", "",
              "| name | made by | what it is |", "|---|---|---|"]
    parts += [f"| `{n.shown}` | `{n.name}` | {text(n.doc)} |" for n in made]
    parts += ["", "## Constants", "", "| constant | value | what it is |", "|---|---|---|"]
    for line in dict.fromkeys(n.line for n in constants):  # names assigned together: one row
        group = [n for n in constants if n.line == line]
        parts.append(f"| {', '.join(code(n.name) for n in group)} | {', '.join(code(n.shown) for n in group)} "
                     f"| {text(group[0].doc)} |")
    return "\n".join(parts) + "\n"

