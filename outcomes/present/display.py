"""The display primitives of the notebooks: markdown text, tables for people, the notebook set-up.

- :class:`Text` — markdown shown as a formatted cell output (data-derived text in it is escaped
  by :func:`outcomes.escape.markdown` where it is composed).
- :class:`Table` — a table for people: no index column, ``—`` (:data:`outcomes.format.MISSING`)
  where there is no value, every note in full.
- :func:`notebook_setup` — deterministic, quiet display settings shared by every notebook, with
  the hook that makes a trailing ``;`` hide a cell's result also under nbval.
"""

from __future__ import annotations

import html
import os

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from IPython import get_ipython
from matplotlib_inline.backend_inline import set_matplotlib_formats

from ..format import MISSING

__all__ = ["NO_VALUE", "Table", "Text", "notebook_setup"]

#: what a table shows where a value does not exist or cannot be estimated
NO_VALUE = MISSING


class Text:
    """Markdown text shown as a formatted cell output (and as plain text elsewhere)."""

    def __init__(self, markdown: str):
        self.markdown = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.markdown


class Table:
    """A table for people: no index column, ``—`` for a missing value, every note in full.

    Parameters
    ----------
    frame : DataFrame
        The rows to show, in order; its index is not shown.
    title : str, optional
        The table's title ("Table 1. Schedules compared — Pore size"), shown as its caption: part
        of the table, so that a printed page never leaves a title without its table.
    note : str, optional
        A line under the title, in the caption too (e.g. the measure's scale in words).
    """

    def __init__(self, frame: pd.DataFrame, title: str | None = None, note: str | None = None):
        self.frame = frame.reset_index(drop=True)
        self.title = title
        self.note = note

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            out = self.frame.to_html(index=False, na_rep=NO_VALUE, border=0, escape=True)
        if self.title:
            head, rest = out.split(">", 1)
            note = (f'<br><span style="font-weight: normal">{html.escape(self.note)}</span>'
                    if self.note else "")
            out = (f"{head}>\n  <caption><strong>{html.escape(self.title)}</strong>{note}"
                   f"</caption>{rest}")
        return out

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            text = self.frame.to_string(index=False, na_rep=NO_VALUE)
        head = [x for x in (self.title, self.note) if x]
        return "\n".join([*head, text])

    __str__ = __repr__


def notebook_setup() -> None:
    """Deterministic, quiet display settings shared by every notebook.

    - progress bars (tqdm) off, so no timing text lands in the outputs;
    - a fixed matplotlib/seaborn look (figure size, dpi), with mathtext off (a ``$`` in a label
      from the records is shown as typed, see :func:`outcomes.escape.plot_label`); inside
      IPython, figures inline as PNG and a trailing ``;`` honoured also under nbval (see
      :func:`_semicolon_without_history`);
    - numpy's global random generator seeded (jittered points are drawn the same every run);
    - pandas shows floats with 3 decimals, at most 60 rows, notes in full.
    """
    os.environ["TQDM_DISABLE"] = "1"
    np.random.seed(0)  # plots that jitter points with numpy's global generator draw the same
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update({"figure.figsize": (7.5, 4.0), "figure.dpi": 90,
                         "savefig.dpi": 90, "figure.autolayout": False,
                         "svg.hashsalt": "outcomes", "path.simplify": True,
                         # labels come from the records: a '$' in one is a dollar, not mathtext
                         "text.parse_math": False})
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", 200)
    ip = get_ipython()
    if ip is None or not hasattr(ip, "events"):
        return
    # figures inline as PNG only, also when MPLBACKEND=Agg is set (as `make notebooks` does)
    ip.run_line_magic("matplotlib", "inline")
    set_matplotlib_formats("png")
    _semicolon_without_history(ip)


def _semicolon_without_history(ip) -> None:
    """Make a trailing ``;`` hide a cell's result also for code run with ``store_history=False``.

    IPython decides on ``;`` by looking at the last cell in its input history, which code run
    without history (as nbval runs every cell) never enters; the result of a plot cell would then
    be shown under nbval but not in Jupyter (ipython/ipython#14162, nbval#194). Recording such
    cells in the parsed-input list gives both the same output.
    """
    if getattr(ip, "_outcomes_semicolon_hook", False):
        return

    def remember(info):
        if not info.store_history:
            ip.history_manager.input_hist_parsed.append(info.raw_cell)

    ip.events.register("pre_run_cell", remember)
    ip._outcomes_semicolon_hook = True
