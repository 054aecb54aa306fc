"""The committed notebooks are executed, clean and deterministic by construction.

nbval (``make notebooks``) re-runs every cell and compares outputs; these checks catch, without a
kernel, what would make that comparison fragile or the notebooks misleading: cells not run in order,
error outputs, warnings printed, figure reprs (a plot cell not ending in ``;``), memory addresses or
timestamps in outputs, logic defined in a notebook, and the papermill ``parameters`` cell of 05.
"""

import ast
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = ["00_your_records", "01_data_check", "02_attendance", "03_outcomes_and_attendance",
            "04_schedules_compared", "05_robustness", "06_clinic_summary"]
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\b\d{1,2}:\d{2}:\d{2}\b")
REPR = re.compile(r"^<(matplotlib|Figure|Axes|seaborn)[^>]*>$|^(Text|Line2D)\(")


def _load(name):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _texts(cell):
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            yield out.text
        for key, value in out.get("data", {}).items():
            if key.startswith("text/") or key.endswith("+json"):
                yield value if isinstance(value, str) else str(value)


@pytest.fixture(params=EXPECTED)
def nb(request):
    path = NOTEBOOKS / f"{request.param}.ipynb"
    assert path.is_file(), f"{path.name} is missing"
    return _load(request.param)


def test_the_seven_notebooks_exist():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


def test_every_code_cell_executed_in_order(nb):
    counts = [c.execution_count for c in _code(nb)]
    assert counts == list(range(1, len(counts) + 1))


def test_no_execution_timestamps_in_cell_metadata(nb):
    for cell in _code(nb):
        assert "execution" not in cell.metadata, "execute with record_timing=False"


def test_no_error_or_warning_outputs(nb):
    for cell in _code(nb):
        for out in cell.outputs:
            assert out.output_type != "error", cell.source
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"stderr (a warning?) in cell:\n{cell.source}\n---\n{out.text}")


def test_plot_cells_end_with_semicolon_and_show_no_repr(nb):
    for cell in _code(nb):
        images = any("image/png" in o.get("data", {}) for o in cell.outputs)
        if images and "NBVAL_IGNORE_OUTPUT" not in cell.source:
            assert cell.source.rstrip().endswith(";"), cell.source
        for out in cell.outputs:
            text = out.get("data", {}).get("text/plain", "")
            if out.output_type == "execute_result":
                assert not REPR.match(text.strip()), f"{text!r} from\n{cell.source}"


def test_no_memory_addresses_or_timestamps_in_outputs(nb):
    for cell in _code(nb):
        for text in _texts(cell):
            assert not ADDRESS.search(text), f"memory address in output of\n{cell.source}"
            assert not TIMESTAMP.search(text), f"timestamp in output of\n{cell.source}"


def test_no_logic_in_notebooks(nb):
    for cell in _code(nb):
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defs, f"define this in the package, not the notebook:\n{cell.source}"


def test_every_result_is_introduced_by_a_sentence(nb):
    previous = None
    for cell in nb.cells:
        shows = cell.cell_type == "code" and any(
            o.output_type in ("execute_result", "display_data") for o in cell.outputs)
        if shows:
            assert previous is not None and previous.cell_type == "markdown", (
                f"no markdown sentence before the result of\n{cell.source}")
        if cell.cell_type == "markdown" or cell.outputs:
            previous = cell        # a set-up cell that shows nothing is not between them


def test_widget_cells_are_not_compared(nb):
    for cell in _code(nb):
        if any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in cell.outputs):
            assert cell.source.startswith("# NBVAL_IGNORE_OUTPUT"), cell.source


def test_summary_has_a_papermill_parameters_cell():
    nb = _load("06_clinic_summary")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    names = {t.id for node in ast.parse(tagged[0].source).body for t in node.targets}
    assert names == {"records_path", "measures", "settings", "boot"}
    values = dict(re.findall(r"^(\w+) = (.+)$", tagged[0].source, flags=re.MULTILINE))
    assert values == {"records_path": '"../data/demo"', "measures": '["pore", "texture"]',
                      "settings": '{"landmark_days": 182}', "boot": "200"}


#: notebook 00 starts from the practice system's export of the same demo clinic
FIRST = {"00_your_records": 'export_path = "../data/demo-export"'}


@pytest.mark.parametrize("name", EXPECTED)
def test_notebooks_use_the_shipped_demo_records(name):
    first = "\n".join(c.source for c in _code(_load(name))[:3])
    assert FIRST.get(name, 'records_path = "../data/demo"') in first
