"""The raw export read as text, without the loader's identifier guard (it is what anonymise cleans).

:func:`_read_raw` finds the tables of RAW (CSV, Parquet, sheets of one ``.xlsx`` workbook) and
reads every cell as a string: Parquet's nested values and zoned timestamps as the loader reads
them (:func:`outcomes.records.read.cells`), and a workbook formula with no saved value refused
(read as empty it would be written to OUT as a missing value). Also the two readings of text
values the anonymiser needs: a day written ``YYYY-MM-DD`` (:func:`_parse_days`) and a column of
dates or of numbers.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ...errors import RecordsError
from ..disclosure import _missing

TABLES = ("sessions", "assessments", "patients")
REQUIRED_TABLES = ("sessions", "assessments")


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _as_strings(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        midnight = series.dropna().dt.normalize().eq(series.dropna()).all()
        text = series.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
        return text.astype("str")
    out = series.astype("object").map(lambda v: None if _missing(v) else str(v))
    return out.astype("str")


def _read_raw(raw: Path) -> tuple[dict[str, tuple[pd.DataFrame, str]], list[str], list[str]]:
    """Read the tables of RAW as strings → ({table: (frame, source)}, copied, ignored).

    A frame's index + 1 is its data row in the file (messages quote it): a RangeIndex here; the
    line − 2 of each row in an export read through a [sources] mapping (:func:`_read_mapped`),
    whose rows set aside are not in the frame."""
    files = sorted(p for p in raw.iterdir() if not p.name.startswith((".", "~$")))
    found: dict[str, list[tuple[pd.DataFrame, str]]] = {t: [] for t in TABLES}
    used: set[str] = set()
    for path in files:
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if stem in TABLES and suffix == ".csv":
            found[stem].append((_read_csv(path), path.name))
            used.add(path.name)
        elif stem in TABLES and suffix == ".parquet":
            found[stem].append((_read_parquet(path), path.name))
            used.add(path.name)
        elif suffix == ".xlsx":
            sheets = _read_workbook(path)
            for sheet, frame in sheets.items():
                found[sheet].append((frame, f"{path.name}[{sheet}]"))
            if sheets:
                used.add(path.name)
    tables = {}
    for name, hits in found.items():
        if len(hits) > 1:
            raise RecordsError(f"{raw}: the {name} table is in several places "
                               f"({', '.join(s for _, s in hits)}); keep exactly one.")
        if hits:
            tables[name] = hits[0]
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise RecordsError(f"{raw}: no {' or '.join(missing)} table found. A raw export needs "
                           "sessions and assessments as .csv, .parquet or sheets of one .xlsx "
                           "workbook (see docs/methods.md §1).")
    copied = [p.name for p in files if p.name == "dataset.toml"]
    ignored = [p.name + ("/" if p.is_dir() else "") for p in files
               if p.name not in used and p.name not in copied]
    return tables, copied, ignored


def _read_mapped(raw: Path, mapped) -> tuple[dict, list[str], list[str]]:
    """The tables of an export read through its [sources] mapping (a
    :class:`~outcomes.records.sources.mapping.Mapped`), as :func:`_read_raw` returns them:
    ``dataset.toml`` is not copied (OUT gets it without the mapping) and the files the mapping
    does not read are listed as ignored."""
    used = {t.file.split(" (sheet ")[0] for t in mapped.tables.values()}
    ignored = [p.name + ("/" if p.is_dir() else "") for p in sorted(raw.iterdir())
               if not p.name.startswith((".", "~$")) and p.name not in used
               and p.name != "dataset.toml"]
    return mapped.frames(), [], ignored


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                           encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RecordsError(f"{path.name}: cannot be read as a UTF-8 comma-separated file "
                           f"({exc}). Export it again as CSV UTF-8.") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    from ...records.read import cells

    try:
        data = pq.read_table(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise RecordsError(f"{path.name}: cannot be read as Parquet ({exc}).") from None
    # nested values (lists, structs, maps) and zoned timestamps as the loader reads them
    return pd.DataFrame({c: _as_strings(cells(c, data.column(i)).to_pandas())
                         for i, c in enumerate(data.column_names)})


def _read_workbook(path: Path) -> dict[str, pd.DataFrame]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise RecordsError(f"{path.name}: cannot be read as an Excel workbook ({exc}).") from None
    _refuse_unsaved_formulas(path, [n for n in sheets if n.strip().lower() in TABLES])
    return {name.strip().lower(): pd.DataFrame({c: _as_strings(f[c]) for c in f.columns})
            for name, f in sheets.items() if name.strip().lower() in TABLES}


def _refuse_unsaved_formulas(path: Path, sheets: list[str]) -> None:
    """Stop when a cell holds a formula with no saved value: read as empty, it would be written
    to OUT as a missing value and no row problem would ever show it."""
    from ...records.workbook import FORMULA_REASON, Unsaved, has_formulas, with_formulas

    if not has_formulas(path):
        return
    import openpyxl

    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for sheet in sheets:
            rows = with_formulas(values[sheet].iter_rows(values_only=True),
                                 formulas[sheet].iter_rows(values_only=True))
            header = next(rows, ())
            for line, row in enumerate(rows, start=2):
                for i, v in enumerate(row):
                    if isinstance(v, Unsaved):
                        column = header[i] if i < len(header) else i + 1
                        raise RecordsError(f"{path.name}[{sheet}] line {line}, column "
                                           f"{column!r}: {FORMULA_REASON}. Nothing was "
                                           "written.")
    finally:
        values.close()
        formulas.close()


def _parse_days(values: pd.Series) -> pd.Series:
    """Dates written ``YYYY-MM-DD`` (optionally with a time) → datetime64 at midnight, else NaT."""
    text = values.astype("str").str.strip()
    iso = text.str.match(_ISO_DAY).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(iso), errors="coerce", format="ISO8601")
    return parsed.dt.normalize()


def _is_date_column(values: pd.Series) -> bool:
    present = values.dropna()
    return not present.empty and bool(_parse_days(present).notna().all())


def _is_numeric_column(values: pd.Series) -> bool:
    present = values.dropna().str.strip()
    present = present[present != ""]
    return not present.empty and bool(pd.to_numeric(present, errors="coerce").notna().all())
