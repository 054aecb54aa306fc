"""The clinic summary report: notebook 06 executed on a records folder, written as one HTML file.

``outcomes report DIR -o FILE.html`` runs ``notebooks/06_clinic_summary.ipynb`` with papermill
(parameters ``records_path``, ``measures``, ``landmark_days``, ``boot``) in a kernel started from
the *current* interpreter — so it works inside ``.venv`` without any globally registered Jupyter
kernel — and converts the result with nbconvert's HTML exporter: code hidden, figures embedded as
base64 PNG, one self-contained file written atomically (a half-written report never replaces a
good one). What the notebooks show (tables, sentences, figures) lives in :mod:`outcomes.views`.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from ..errors import RecordsError, SettingError

__all__ = ["NOTEBOOK_DIR", "build_report", "execute_summary", "summary_notebook", "to_html"]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


SUMMARY_NOTEBOOK = "06_clinic_summary.ipynb"


KERNEL_NAME = "python3"


def summary_notebook() -> Path:
    """Path of the clinic-summary notebook the report executes."""
    return NOTEBOOK_DIR / SUMMARY_NOTEBOOK


# --------------------------------------------------------------------------------------------
# executing the summary notebook


def _kernel_manager_class():
    """A kernel manager that always starts ipykernel with ``sys.executable``.

    Kernel specs registered elsewhere (``~/.local/share/jupyter``, a conda base) are ignored, so the
    report runs in the environment that runs ``outcomes`` — nothing to register.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class CurrentPythonKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)

    return CurrentPythonKernelManager


def _measures(records, measures) -> list[str]:
    """The measures the report covers: pore and texture by default (those the records have)."""
    present = [m for m in records.measures if m in records.assessments]
    if measures is None:
        chosen = [m for m in ("pore", "texture") if m in present] or present[:2]
    else:
        chosen = [measures] if isinstance(measures, str) else list(measures)
    unknown = [m for m in chosen if m not in present]
    if unknown or not chosen:
        raise RecordsError(f"The value for `measure` must be among {sorted(present)}, but "
                           f"{(unknown or chosen)!r} was passed.")
    return chosen


def _check_inputs(records_dir: Path, measures, landmark_days: int) -> list[str]:
    from ..records import load_records

    if not records_dir.is_dir():
        raise RecordsError(f"{records_dir}: no such records folder. Pass the folder that holds "
                           "sessions.csv and assessments.csv (or run `outcomes demo DIR` first).")
    if isinstance(landmark_days, bool) or not isinstance(landmark_days, int) or landmark_days < 30:
        raise RecordsError(f"The value for `landmark_days` must be a whole number of days >= 30, "
                           f"but {landmark_days!r} was passed.")
    return _measures(load_records(records_dir), measures)


def execute_summary(records_dir: str | Path, *, measures=None, landmark_days: int = 182,
                    boot: int = 200, notebook: str | Path | None = None, timeout: int = 600):
    """Execute the summary notebook on ``records_dir``; returns the executed ``NotebookNode``.
    ``measures``: a measure or a list (default pore and texture)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    records_dir = Path(records_dir).resolve()
    measures = _check_inputs(records_dir, measures, landmark_days)
    notebook = Path(notebook) if notebook is not None else summary_notebook()
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook}: the summary notebook is missing from this install.")
    env_before = os.environ.get("MPLBACKEND")
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend embeds the figures
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return pm.execute_notebook(
                str(notebook), None,
                parameters={"records_path": str(records_dir), "measures": measures,
                            "landmark_days": int(landmark_days), "boot": int(boot)},
                kernel_name=KERNEL_NAME, kernel_manager_class=_kernel_manager_class(),
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                cwd=str(notebook.parent), progress_bar=False, log_output=False,
                execution_timeout=timeout)
    except PapermillExecutionError as exc:
        if exc.ename == "RecordsError":
            raise RecordsError(exc.evalue) from None
        if exc.ename == "SettingError":
            raise SettingError(exc.evalue) from None
        raise RuntimeError(f"The summary notebook failed in cell {exc.exec_count}: "
                           f"{exc.ename}: {exc.evalue}") from None
    finally:
        if env_before is not None:
            os.environ["MPLBACKEND"] = env_before


_TEMPLATE = "outcomes_report.html.j2"


# JupyterLab's page without the scripts it loads from a CDN (require.js and widgets, MathJax,
# mermaid): the report has no widgets, formulas or diagrams, and must open offline.
_TEMPLATE_TEXT = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


def to_html(nb) -> str:
    """One self-contained HTML page: code hidden, prompts hidden, figures embedded as base64."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(template_name="lab", template_file=_TEMPLATE, exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True,
                            extra_loaders=[DictLoader({_TEMPLATE: _TEMPLATE_TEXT})])
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"remove-cell", "injected-parameters"},
                              remove_all_outputs_tags={"remove-output"}), enabled=True)
    nb.metadata.pop("widgets", None)  # no widget state: nothing to load from a CDN
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {
        "name": "Clinic summary"}})
    return body


def _write_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_report(records_dir: str | Path, output_html: str | Path, *, measures=None,
                 landmark_days: int = 182, boot: int = 200, notebook: str | Path | None = None,
                 timeout: int = 600) -> Path:
    """Execute the clinic-summary notebook on a records folder and write one HTML file.

    Parameters
    ----------
    records_dir : str or Path
        The records folder (``sessions``, ``assessments``, optional ``patients`` and
        ``dataset.toml``; see docs/methods.md §1).
    output_html : str or Path
        Where to write the report; parent folders are created. Written atomically.
    measures : str or list of str, optional
        The measures the report is about (default pore and texture).
    landmark_days : int, default 182
        Days from the first session to the landmark assessment.
    boot : int, default 200
        Bootstrap replicates of the schedule comparison.
    notebook : str or Path, optional
        Another summary notebook with the same ``parameters`` cell (default: notebook 06).
    timeout : int, default 600
        Seconds one cell may run.

    Returns
    -------
    Path
        The written HTML file: code hidden, every figure embedded, no links to local files.

    Raises
    ------
    RecordsError
        The folder is missing, the records cannot be loaded, or the measure is unknown.
    """
    output_html = Path(output_html)
    if output_html.suffix.lower() not in (".html", ".htm"):
        raise RecordsError(f"The report is written as HTML: give a file name ending in .html, "
                           f"not {output_html.name!r}.")
    nb = execute_summary(records_dir, measures=measures, landmark_days=landmark_days, boot=boot,
                         notebook=notebook, timeout=timeout)
    _write_atomic(to_html(nb), output_html)
    return output_html
