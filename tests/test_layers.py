"""The house shows its layers: imports point one way (down), argparse only in the command line.

Layers, bottom to top (docs/methods.md §0.2): foundations → records (and the settings of the
question) → tables (derived) → estimate → present (numbers, words and figures of a result) → the
question and its answers (:mod:`outcomes.analysis`, :mod:`outcomes.results`) → views (what each
notebook, the report and the widgets show) → command line; privacy and synthetic data beside
them. A module may import a module of its own layer or below, never above,
and the import graph has no circle — counting imports inside functions too (a circle hidden in a
function is still a circle). A module longer than ~600 lines says at its top why it is one module.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "outcomes"

#: layer of a module: its dotted name (under ``outcomes``) or the nearest package that has one
LAYERS = {
    "errors": 0, "escape": 0, "format": 0, "protocols": 0, "privacy": 0,
    "privacy.disclosure": 0,
    "records": 1, "settings": 1,
    "tables": 2, "privacy.export": 2,
    "estimate": 3, "synthetic": 3,
    "present": 4,
    "analysis": 5, "results": 5,
    "views": 6,
    "cli": 7, "__main__": 8,
}
#: the longest a module may be without saying at its top why it is one module
MAX_LINES = 650
REASON = "Why one module"


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if _name(p)}


def _resolve(dotted: str) -> str | None:
    """The module a dotted import target names (an attribute import names its module)."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("outcomes."):
                stem = node.module[len("outcomes."):]
            else:
                continue
            targets = [f"{stem}.{a.name}" if stem else a.name for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name[len("outcomes."):] for a in node.names
                       if a.name.startswith("outcomes.")]
        out.update(t for t in map(_resolve, targets) if t and t != name)
    return out


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def layer(module: str) -> int | None:
    while module:
        if module in LAYERS:
            return LAYERS[module]
        module = module.rpartition(".")[0]
    return None


CHECKED = sorted(m for m in MODULES if "." in m or m not in ("outcomes",))


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer(m) is None] == []


def test_the_listing_shows_the_layers():
    """Subpackages for records, tables, estimate, present, views, privacy and synthetic data."""
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert {"records", "tables", "estimate", "present", "views", "privacy",
            "synthetic"} <= packages


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    up = sorted(m for m in GRAPH[module] if layer(m) > layer(module))
    assert not up, f"{module} (layer {layer(module)}) imports {up} from a layer above"


@pytest.mark.parametrize(("low", "high"), [("estimate", "present"), ("tables", "estimate"),
                                           ("records", "tables"), ("estimate", "analysis"),
                                           # the readers serve the [sources] mapping, unaware
                                           ("records.read", "records.sources"),
                                           ("records.workbook", "records.sources")])
def test_named_rules(low, high):
    bad = sorted((m, n) for m, targets in GRAPH.items() for n in targets
                 if (m == low or m.startswith(low + "."))
                 and (n == high or n.startswith(high + ".")))
    assert not bad, f"{low} must not import {high}: {bad}"


def test_no_import_circle():
    state = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError("import circle: " + " → ".join(path + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in GRAPH.get(m, ()):
            # a package importing its own submodules (to re-export them) is not a circle
            if n.startswith(m + "."):
                continue
            visit(n, path + [m])
        state[m] = 2

    for m in MODULES:
        visit(m, [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_importlib_detours_and_argparse_only_in_the_command_line(module):
    text = MODULES[module].read_text(encoding="utf-8")
    if module != "__init__":  # the package's lazy public names (import outcomes stays quick)
        assert "importlib" not in text, f"{module} imports modules behind importlib"
    if module != "cli":
        assert "import argparse" not in text, f"{module}: argparse belongs in cli"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_long_module_says_why_it_is_one(module):
    path = MODULES[module]
    n = len(path.read_text(encoding="utf-8").splitlines())
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert n <= MAX_LINES or REASON in doc, (
        f"{path.relative_to(PACKAGE.parent)} has {n} lines: split it, or say at its top "
        f"('{REASON} ...') why it is one module")
