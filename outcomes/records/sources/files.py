"""The files a ``[sources]`` mapping names, read by the loader's readers (docs/methods.md §1.14).

:func:`read_source` finds a file (or a sheet of a workbook) the mapping names, says what to change
in ``dataset.toml`` when it cannot, and reads it with :func:`outcomes.records.read.read_as_is` —
the loader's readers of CSV, ``.xlsx`` and Parquet, without the identifier guard (the mapping runs
the guard on the columns it passes on) — so that there is one reader per format, and blank lines,
malformed lines and line numbers come out as the loader's. :class:`Source` is that file by column
position (headers as written), as the mapping and its draft use it; :func:`text_of` makes any of
its columns text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import RecordsError
from ..columns import _to_text
from ..read import read_as_is
from ..workbook import sheet_names

__all__ = ["READABLE", "Source", "read_source", "sheet_names", "text_of"]

#: file suffixes a mapping may name
READABLE = (".csv", ".xlsx", ".parquet", ".pq")


@dataclass
class Source:
    """One file (or sheet) as read: headers as written, one column each, spreadsheet lines."""

    file: str
    headers: list[str]
    columns: list
    lines: np.ndarray
    #: lines not taken into the columns: (line, reason) or (line, reason, column)
    malformed: list[tuple] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.lines)


def read_source(folder: Path, file: str, sheet: str | None = None, *, where: str = "") -> Source:
    """Read ``folder / file`` (a sheet of it, for a workbook). ``where`` prefixes messages about
    the mapping (e.g. ``dataset.toml [sources.sessions]``)."""
    path = folder / file
    if not path.is_file():
        present = sorted(p.name for p in folder.iterdir() if p.is_file()
                         and p.suffix.lower() in READABLE and not p.name.startswith((".", "~$")))
        raise RecordsError(f"{where} file = {file!r}, but {folder.name} has no such file "
                           f"(it has {', '.join(present) or 'no .csv, .xlsx or .parquet file'}). "
                           "Fix the file name in dataset.toml.")
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise RecordsError(f"{where} file = {file!r}: {suffix or 'files without a suffix'} files "
                           "are not read. Export the list as .csv (UTF-8), .xlsx or .parquet.")
    if suffix != ".xlsx" and sheet is not None:
        raise RecordsError(f"{where} sheet = {sheet!r}, but {file} is not an .xlsx workbook. "
                           "Remove the sheet line from dataset.toml.")
    if suffix == ".xlsx":
        sheet = _sheet(path, sheet, where)
    raw = read_as_is(path, sheet)
    return Source(raw.file, list(raw.headers.values()), list(raw.columns.values()), raw.lines,
                  raw.malformed)


def _sheet(path: Path, sheet: str | None, where: str) -> str:
    """The sheet of a workbook the mapping means: the one it names (any case), or the only one."""
    names = sheet_names(path)
    if sheet is None:
        if len(names) != 1:
            raise RecordsError(f"{where} file = {path.name!r} is a workbook of {len(names)} "
                               f"sheets ({', '.join(names)}): say which one with sheet = \"...\" "
                               "in dataset.toml.")
        return names[0]
    found = [s for s in names if s.strip().lower() == str(sheet).strip().lower()]
    if not found:
        raise RecordsError(f"{where} sheet = {sheet!r}, but {path.name} has no such sheet (its "
                           f"sheets: {', '.join(names)}). Fix the sheet name in dataset.toml.")
    return found[0]


def text_of(col) -> pa.Array:
    """Any Arrow column as one string array (dates ``YYYY-MM-DD``, a time kept when a cell has
    one, whole numbers without ``.0``; missing stays missing)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks else pa.array([], type=col.type)
    t = col.type
    if pa.types.is_timestamp(t):
        midnight = pc.all(pc.equal(pc.floor_temporal(col, unit="day"), col)).as_py()
        return pc.strftime(col, "%Y-%m-%d" if midnight in (True, None) else "%Y-%m-%d %H:%M:%S")
    if pa.types.is_floating(t):
        return pa.array([None if v is None else (str(int(v)) if float(v).is_integer() else repr(v))
                         for v in col.to_pylist()], type=pa.string())
    return _to_text(col)
