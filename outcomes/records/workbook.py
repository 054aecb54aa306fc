"""A ``.xlsx`` workbook as the readers see it (docs/methods.md §1): opened, its sheets, a cell as
text, and formulas without a saved value.

What openpyxl gives, made cells for :mod:`outcomes.records.read` (the sheets of a records
workbook, and a sheet of a practice system's export read as it is) and for the anonymiser
(:mod:`outcomes.privacy.export.read`): :func:`sheet_names`; a workbook cell as the text a CSV
export would hold (:func:`_excel_text`: a date ``YYYY-MM-DD``, a whole number without ``.0``);
and a formula with no saved value (a file written by a program that does not calculate) found by
:func:`has_formulas` and marked :class:`Unsaved` by :func:`with_formulas`, so that it is a row
problem with its line, never a silently missing value.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import zipfile
from pathlib import Path

from ..errors import RecordsError

__all__ = ["FORMULA_REASON", "Unsaved", "has_formulas", "sheet_names", "with_formulas"]


def _excel_text(v):
    if v is None:
        return None
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == _dt.time() else v.isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _open_workbook(path: Path, *, formulas: bool = False):
    """The workbook read-only, with saved values (or, ``formulas``, with its formulas)."""
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=not formulas)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken files
        raise RecordsError(f"{path.name}: cannot be read as an .xlsx workbook ({exc}). Save "
                           "it again from the spreadsheet program as .xlsx, or as CSV files."
                           ) from None


def sheet_names(path: Path) -> list[str]:
    """The sheets of a workbook, in their order."""
    wb = _open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def has_formulas(path: Path) -> bool:
    """True when a worksheet of the workbook holds a formula (an ``<f>`` element)."""
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with z.open(name) as fh:
                        chunk, tail = fh.read(1 << 20), b""
                        while chunk:
                            if re.search(rb"<(?:\w+:)?f[ >/]", tail + chunk):
                                return True
                            tail, chunk = chunk[-16:], fh.read(1 << 20)
    except (zipfile.BadZipFile, OSError):
        return False
    return False


FORMULA_REASON = ("formula with no saved value (the workbook was written by a program "
                  "that does not calculate): open it in the spreadsheet program, let it "
                  "calculate, save it, and load it again")


class Unsaved:
    """A formula cell whose workbook holds no saved value for it."""


_UNSAVED = Unsaved()


def with_formulas(values, formulas):
    """Rows of saved values, with :data:`_UNSAVED` where a formula has no saved value."""
    for row, frow in itertools.zip_longest(values, formulas, fillvalue=()):
        if any(v is None and isinstance(f, str) and f.startswith("=")
               for v, f in zip(row, frow)):
            row = tuple(_UNSAVED if v is None and isinstance(f, str) and f.startswith("=")
                        else v for v, f in itertools.zip_longest(row, frow))
        yield row
