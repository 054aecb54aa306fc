"""The house shows its layers: imports point one way (down), argparse only in the command line.

Layers, bottom to top (docs/methods.md §0.2): foundations → records → derived tables →
estimation → presentation → command line; privacy and synthetic data beside them. A module may
import a module of its own layer or below, never above, and the import graph has no circle —
counting imports inside functions too (a circle hidden in a function is still a circle).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "outcomes"

LAYERS = {
    "errors": 0, "contract": 0, "scales": 0, "identifiers": 0, "escape": 0,
    "schema": 1, "records": 1,
    "privacy": 2, "attendance": 2, "ratings": 2, "strategies": 2,
    "mixed": 3, "ordinal": 3, "models": 3, "robustness": 3, "schedules": 3, "beliefs": 3,
    "synthetic": 3,
    "analysis": 4,
    "plots": 5, "views": 5, "widgets": 5, "report": 5,
    "cli": 6, "__main__": 7,
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    out.add(node.module.split(".")[0])
                else:
                    out.update(a.name for a in node.names)
            elif node.module and node.module.startswith("outcomes."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("outcomes."):
                    out.add(a.name.split(".")[1])
    return out


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
GRAPH = {m: _imports(PACKAGE / f"{m}.py") - {m} for m in MODULES}


def test_every_module_has_a_layer():
    assert sorted(set(MODULES) - set(LAYERS)) == []


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down(module):
    up = [m for m in GRAPH[module] if LAYERS.get(m, 99) > LAYERS[module]]
    assert not up, f"{module} (layer {LAYERS[module]}) imports {up} from a layer above"


def test_no_import_circle():
    state = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError("import circle: " + " → ".join(path + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in GRAPH.get(m, ()):
            if n in GRAPH:
                visit(n, path + [m])
        state[m] = 2

    for m in MODULES:
        visit(m, [])


@pytest.mark.parametrize("module", MODULES)
def test_no_importlib_detours_and_argparse_only_in_the_command_line(module):
    text = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    assert "importlib" not in text, f"{module} imports modules behind importlib"
    if module != "cli":
        assert "import argparse" not in text, f"{module}: argparse belongs in cli"
