"""The clinic summary report: notebook 06 executed on a records folder, written as one HTML file.

``outcomes report DIR -o FILE.html`` runs ``notebooks/06_clinic_summary.ipynb`` with papermill in a
kernel started from the *current* interpreter — so it works inside ``.venv`` without any globally
registered Jupyter kernel — and converts the result with nbconvert's HTML exporter: code hidden,
figures embedded as base64 PNG, one self-contained file written atomically (a half-written report
never replaces a good one). What the summary shows lives in :mod:`outcomes.views.summary`.

The notebook's parameters are plain JSON: ``records_path``, ``measures``, ``boot`` and
``settings``, the question's :class:`~outcomes.settings.Settings` as a dict of the settings that
JSON can carry (:data:`PLAIN`); the notebook builds one ``Analysis`` per measure from them.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import papermill as pm
from jinja2 import DictLoader
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from papermill.exceptions import PapermillExecutionError
from traitlets import default

from ..errors import RecordsError, SettingError
from ..records import load_records
from ..settings import Settings

__all__ = ["NOTEBOOK_DIR", "PLAIN", "build_report", "execute_summary", "summary_notebook",
           "to_html"]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: the settings the report passes to the summary notebook (as plain JSON); its measure is each of
#: the report's ``measures``, and the protocol and the schedules are those of ``dataset.toml``
PLAIN = ("landmark_days", "window_days", "baseline_days", "permissible_gap", "region", "rater",
         "treatments", "reference", "min_followers")

#: the shortest landmark a report is written for (days)
MIN_LANDMARK_DAYS = 30


SUMMARY_NOTEBOOK = "06_clinic_summary.ipynb"


KERNEL_NAME = "python3"


def summary_notebook() -> Path:
    """Path of the clinic-summary notebook the report executes."""
    return NOTEBOOK_DIR / SUMMARY_NOTEBOOK


# --------------------------------------------------------------------------------------------
# executing the summary notebook


class CurrentPythonKernelManager(AsyncKernelManager):
    """A kernel manager that always starts ipykernel with ``sys.executable``.

    Kernel specs registered elsewhere (``~/.local/share/jupyter``, a conda base) are ignored, so the
    report runs in the environment that runs ``outcomes`` — nothing to register.
    """

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self):
        return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)


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


def parameters(settings: Settings | None) -> dict:
    """The settings as the summary notebook's ``settings`` parameter: the :data:`PLAIN` ones, as
    JSON holds them. A protocol or schedules other than the defaults cannot be passed (they come
    from the records folder's ``dataset.toml``): a :class:`SettingError` says so."""
    settings = Settings() if settings is None else settings
    if not isinstance(settings, Settings):
        raise SettingError("The value for `settings` must be an outcomes.Settings, but "
                           f"{type(settings).__name__} was passed.")
    base = Settings()
    for name in ("protocol", "strategies"):
        if getattr(settings, name) != getattr(base, name):
            raise SettingError(f"The report takes `{name}` from the records folder's "
                               "dataset.toml: write it there instead of passing it.")
    if settings.landmark_days < MIN_LANDMARK_DAYS:
        raise SettingError(f"The value for `landmark_days` must be a whole number of days >= "
                           f"{MIN_LANDMARK_DAYS} for a report, but {settings.landmark_days!r} "
                           "was passed.")
    values = {name: getattr(settings, name) for name in PLAIN}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def execute_summary(records_dir: str | Path, settings: Settings | None = None, *, measures=None,
                    boot: int = 200, notebook: str | Path | None = None, timeout: int = 600):
    """Execute the summary notebook on ``records_dir`` with ``settings`` (default
    ``Settings()``); returns the executed ``NotebookNode``. ``measures``: a measure or a list
    (default pore and texture)."""
    records_dir = Path(records_dir).resolve()
    plain = parameters(settings)
    if not records_dir.is_dir():
        raise RecordsError(f"{records_dir}: no such records folder. Pass the folder that holds "
                           "sessions.csv and assessments.csv (or run `outcomes demo DIR` first).")
    measures = _measures(load_records(records_dir), measures)
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
                            "settings": plain, "boot": int(boot)},
                kernel_name=KERNEL_NAME, kernel_manager_class=CurrentPythonKernelManager,
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
{%- block html_head_css -%}
{{ super() }}
<style type="text/css">
""" + "{% raw %}" + """
/* the report read on screen: a column of text a person reads, not the notebook's full width */
body.jp-Notebook { max-width: 60rem; margin: 0 auto; }
.jp-RenderedHTMLCommon table { font-size: 0.85rem; width: 100%; table-layout: auto; }
.jp-RenderedHTMLCommon table td, .jp-RenderedHTMLCommon table th { white-space: normal;
  text-align: left !important; vertical-align: top; }
.jp-RenderedHTMLCommon caption { caption-side: top; text-align: left; font-weight: bold;
  padding: 0.4em 0; }
/* printed (A4 or Letter): a figure and its caption share a cell and stay on one page, a table
   row is never split, a heading stays with what follows it */
@page { margin: 14mm 12mm; }
@media print {
  body.jp-Notebook { max-width: none; padding: 0; }
  .jp-OutputArea-child, .jp-OutputArea-output { display: block; width: 100%; }
  .jp-Cell { padding: 0; }
  /* JupyterLab keeps every output whole on a page, which pushes a long table to the next page
     and leaves the one before near-empty: only a figure (with its caption) is kept whole */
  .jp-OutputArea-child { break-inside: auto; }
  .jp-OutputArea-child:has(img), .jp-Cell:has(img) { break-inside: avoid;
    page-break-inside: avoid; }
  .jp-Cell:has(img) img { max-height: 150mm; width: auto; max-width: 100%; }
  .jp-RenderedHTMLCommon tr, .jp-RenderedHTMLCommon li { break-inside: avoid;
    page-break-inside: avoid; }
  .jp-RenderedHTMLCommon thead { display: table-header-group; }
  .jp-RenderedHTMLCommon caption, .jp-RenderedHTMLCommon thead { break-after: avoid;
    page-break-after: avoid; }
  .jp-RenderedHTMLCommon h1, .jp-RenderedHTMLCommon h2, .jp-RenderedHTMLCommon h3 {
    break-after: avoid; page-break-after: avoid; }
  .jp-MarkdownCell:has(h2), .jp-MarkdownCell:has(h1) { break-after: avoid;
    page-break-after: avoid; }
  .jp-RenderedHTMLCommon p { orphans: 3; widows: 3; }
}
""" + "{% endraw %}" + """
</style>
{%- endblock html_head_css -%}
"""


def to_html(nb) -> str:
    """One self-contained HTML page: code hidden, prompts hidden, figures embedded as base64."""
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


def build_report(records_dir: str | Path, output_html: str | Path,
                 settings: Settings | None = None, *, measures=None, boot: int = 200,
                 notebook: str | Path | None = None, timeout: int = 600) -> Path:
    """Execute the clinic-summary notebook on a records folder and write one HTML file.

    Parameters
    ----------
    records_dir : str or Path
        The records folder (``sessions``, ``assessments``, optional ``patients`` and
        ``dataset.toml``; see docs/methods.md §1).
    output_html : str or Path
        Where to write the report; parent folders are created. Written atomically.
    settings : Settings, optional
        The question (default ``Settings()``); those of :data:`PLAIN` reach the notebook (a
        landmark of at least 30 days), its measure is each of ``measures``.
    measures : str or list of str, optional
        The measures the report is about (default pore and texture).
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
    SettingError
        A setting the report cannot take.
    """
    output_html = Path(output_html)
    if output_html.suffix.lower() not in (".html", ".htm"):
        raise RecordsError(f"The report is written as HTML: give a file name ending in .html, "
                           f"not {output_html.name!r}.")
    nb = execute_summary(records_dir, settings, measures=measures, boot=boot, notebook=notebook,
                         timeout=timeout)
    _write_atomic(to_html(nb), output_html)
    return output_html
