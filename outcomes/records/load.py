"""Loading and validating a clinic's records (docs/methods.md §1), and ``outcomes check``.

How the loader works
--------------------
Every rule is decided on a column's *unique values* (a session table of a million rows holds a
few thousand distinct dates and a handful of treatments) and spread back to the rows with one
vectorised ``take``; Python-level work per row happens only for the few rows with a problem. This
general path reads every cell as text (CSV through ``pyarrow.csv``; Parquet and ``.xlsx`` values
are turned into the same form), so that a message can quote the cell exactly as written.

Three shortcuts make clean records load fast, each proven to give the general path's result
(``tests/test_records.py::TestFastPathsMatchGeneralPath`` compares them on clean, messy and
one-odd-cell folders):

* **typed CSV read**: date columns are read as dates, number columns as numbers and categories as
  dictionaries during the reader's parallel parse. pyarrow's date parser accepts only
  ``YYYY-MM-DD`` (a subset of the text rules), and a typed column is used only when every value
  passes the checks (no ``nan``/``inf``, no empty required date, all within range); otherwise
  that column is read again as text and takes the general path (a value the reader cannot
  convert at all sends the whole table to the all-text read).
* **columns used as read**: a text column whose bytes show that normalisation cannot change it
  (ASCII, no whitespace, no empty strings, no capitals where lower-cased) is handed over without
  encoding; the identifier rules then look at its distinct values only (found with one
  ``pc.unique``), or not at all when a byte test shows no digit and no ``@`` in it.
* **work in threads**: each table's columns are encoded in a worker pool while the next file is
  read (Arrow's kernels release the GIL).

Rules
-----
* Normalisation: surrounding spaces are stripped from every cell and header; empty cells are
  missing; headers are lower-cased (``Patient ID`` → ``patient_id``); categorical values are
  lower-cased (``Microneedling`` → ``microneedling``); sex ``f``/``female`` → ``F`` (``m``/``male``,
  ``x``); Fitzpatrick ``I``–``VI`` → 1–6; ``areas`` are lower-cased with the spaces around ``;``
  removed. Lines where every cell is empty are skipped and counted as *blank rows* (they are not
  records).
* Extra columns (not in docs/methods.md §1 and not a declared measure) are **kept** as text columns and listed
  as *extra columns* by ``outcomes check``.
* Row problems quarantine the row (see :data:`REJECT_COLUMNS`); dates must be ``YYYY-MM-DD``
  (optionally followed by a time, which is dropped). A stray ``23/11/2024`` is a row problem; when
  most dates of a column are not ``YYYY-MM-DD`` the column is a structural problem
  (:class:`RecordsError`): the loader never guesses day/month order. The same majority rule makes a
  numeric column whose values are mostly not numbers (``1,5`` or ``mild``) structural.
* Exact duplicate rows (identical after normalisation): the first is kept, repeats are quarantined.
  Rows of ``patients`` sharing a ``patient_id`` with *different* values are all quarantined (the
  loader cannot tell which is right).
* A quarantined ``patients`` row does not remove the patient: sessions and assessments stay, and the
  patient gets a row with missing covariates, like every patient seen in sessions or assessments but
  absent from ``patients`` (counted as ``added_patients``).
* Assessments must name a patient that appears in the sessions file or the patients file.
* Direct identifiers are refused (:class:`RecordsError` naming file, column and lines, never the
  value, and pointing to ``outcomes anonymise``): identifier column names, and identifiers inside
  any cell's text — e-mails, phone numbers, NHS numbers, UK postcodes, a title with a surname, and
  name-shaped ids in ``patient_id``/``clinician_id`` (:mod:`outcomes.identifiers`). Free text in a
  column the records do not define (by its name, ``notes``, ``comment``, ..., or by values of four
  or more words) is refused too: the analyses never read it.
* Dates are calendar dates in the clinic's own time. A Parquet timestamp with a time zone is read
  as the date and time on the clock of its zone (not converted to UTC, which would put a session
  at 00:30 in summer on the day before); a time of day, in any file, is dropped: the record is
  taken as its local calendar date.
* A value the loader cannot read is a row problem with its line, never a silent gap: a NaN
  stored in a Parquet number column is "not a number", and a workbook cell holding a formula
  with no saved value (a file written by a program that does not calculate) sets its line aside
  with the column named.
* Line numbers are those of a spreadsheet: the header is line 1, the first record line 2 (a CSV
  record spanning several physical lines counts once). For Parquet files and in-memory frames the
  line is the row position + 2, as if the table were exported with a header.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import itertools
import os
import re
import zipfile
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import RecordsError
from ..escape import terminal
from .contract import (
    ASSESSMENT_COLUMNS,
    CATEGORIES,
    CATEGORY_DEFAULTS,
    EARLIEST_DATE,
    NUMBER_RANGES,
    PATIENT_COLUMNS,
    REQUIRED,
    SESSION_COLUMNS,
    TABLES,
)
from .identifiers import (
    ID_COLUMNS,
    free_text_mask,
    identifier_columns,
    looks_like_free_text_column,
    value_kinds_mask,
)
from .scales import Measure, read_scales
from .schema import table_schema

__all__ = [
    "REJECT_COLUMNS",
    "Records",
    "RecordsError",
    "from_frames",
    "load_records",
    "rejects_table",
    "summary",
]

REJECT_COLUMNS = ["file", "line", "column", "value", "reason"]
_REJECT_ALL = [*REJECT_COLUMNS, "table"]

_ANONYMISE = ("Direct identifiers must not be in the records: pseudonymise the raw export first with "
              "`outcomes anonymise RAW OUT --key-file KEY` and load OUT.")
_STRICT_LIST = 20
#: rows validated against the pandera schema after loading (the first ones beyond this size)
_CONTRACT_ROWS = 20_000


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype="str"), "line": pd.Series(dtype="int64"),
                         "column": pd.Series(dtype="str"), "value": pd.Series(dtype="str"),
                         "reason": pd.Series(dtype="str"), "table": pd.Series(dtype="str")})


@dataclass
class Records:
    """A clinic's validated records.

    Attributes
    ----------
    sessions : DataFrame
        ``patient_id`` (str), ``date`` (datetime64[s]), ``treatment`` (category, lower-case),
        ``depth_mm`` (float), ``areas`` (str), ``clinician_id`` (str) — optional columns always present
        (all-missing when the file lacks them) — then any extra columns of the file, as text.
    assessments : DataFrame
        ``patient_id``, ``date``, ``region`` (category, default ``face``), ``rater`` (category,
        default ``clinician``), one float column per measure in ``measures``, then extra columns.
    patients : DataFrame
        ``patient_id`` (unique) and whichever covariates the file has: ``age`` (float), ``sex``
        (category F/M/X), ``skin_type`` (Int64 1–6), ``smoker``, ``sun_exposure``, ``skincare``,
        ``concern`` (categories), ``sleep_hours`` (float), ``clinic_id`` (str). Patients seen only in
        sessions or assessments (or whose patients row was quarantined) get a row with missing
        covariates; they are counted in ``added_patients``.
    measures : dict of str to Measure
        The scales of the measures present in ``assessments``.
    rejects : DataFrame
        Quarantined rows: ``file``, ``line`` (as seen in a spreadsheet, header = 1), ``column``,
        ``value``, ``reason`` and ``table`` (one row per problem; a row with two problems appears
        twice).
    input_rows : dict of str to int
        Records read per table, blank rows excluded (``loaded_rows + quarantined == input_rows``).
    source : Path or None
        The records folder (``None`` for records built in memory).
    files : dict of str to str
        The file (or workbook sheet) each table was read from.
    blank_rows : dict of str to int
        Lines skipped because every cell was empty.
    extra_columns : dict of str to list of str
        Columns kept as text that docs/methods.md §1 does not define.
    added_patients : int
        Rows of ``patients`` not read from a patients file (see ``patients``).
    """

    sessions: pd.DataFrame
    assessments: pd.DataFrame
    patients: pd.DataFrame
    measures: dict[str, Measure]
    rejects: pd.DataFrame = field(default_factory=_empty_rejects)
    input_rows: dict[str, int] = field(default_factory=dict)
    source: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    blank_rows: dict[str, int] = field(default_factory=dict)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    added_patients: int = 0

    @property
    def loaded_rows(self) -> dict[str, int]:
        """Rows loaded from each file (added patient rows excluded)."""
        return {"sessions": len(self.sessions), "assessments": len(self.assessments),
                "patients": len(self.patients) - self.added_patients}

    @property
    def quarantined_rows(self) -> dict[str, int]:
        """Input rows set aside per table (a row with several problems counts once)."""
        out = dict.fromkeys(TABLES, 0)
        if not self.rejects.empty:
            key = self.rejects.drop_duplicates(["file", "line"])
            table = key["table"] if "table" in key else key["file"].map(_table_of_file)
            for t, n in table.value_counts().items():
                out[str(t)] = int(n)
        return out

    @property
    def n_quarantined(self) -> int:
        """Number of input rows set aside (a row with several problems counts once)."""
        if self.rejects.empty:
            return 0
        return int(self.rejects[["file", "line"]].drop_duplicates().shape[0])


def _table_of_file(file: str) -> str:
    for t in TABLES:
        if t in str(file).lower():
            return t
    return ""


# ----------------------------------------------------------------------------------------------
# reading files into raw text tables


@dataclass
class _Raw:
    """One table as read: raw columns (any Arrow type), their header as written, line numbers."""

    table: str
    file: str
    columns: dict[str, pa.Array | pa.ChunkedArray]
    headers: dict[str, str]
    lines: np.ndarray
    #: lines read but not taken into the columns: (line, reason) or (line, reason, column)
    malformed: list[tuple] = field(default_factory=list)
    #: column → (lower, Future of its _Col), encoded ahead in worker threads (see _prefetch)
    prefetched: dict = field(default_factory=dict)
    #: typed date/number column of a CSV read → a function reading that column again as text,
    #: for when the column is not provably clean (see :func:`_typed_ok`)
    texts: dict = field(default_factory=dict)
    #: column → result of :func:`_is_plain` (cached: the prefetch and the checks both ask)
    plain: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.lines)


def _normalise_header(name) -> str:
    return re.sub(r"\s+", "_", str(name).strip().lower())


def _check_headers(file: str, headers: list) -> dict[str, str]:
    """Map normalised → written header; refuse empty/duplicate names and identifier columns."""
    ids = identifier_columns([str(h) for h in headers if h is not None])
    if ids:
        listed = ", ".join(f"{c!r} ({k})" for c, k in ids.items())
        raise RecordsError(f"{file}: column(s) {listed} look like direct identifiers. {_ANONYMISE}")
    out: dict[str, str] = {}
    for pos, h in enumerate(headers, start=1):
        name = _normalise_header(h) if h is not None else ""
        if not name:
            raise RecordsError(f"{file}: column {pos} of the header line has no name. Give every "
                               "column a name in line 1, or delete the empty column.")
        if name in out:
            raise RecordsError(f"{file}: the header names column {name!r} twice. Rename or delete "
                               "one of them.")
        out[name] = str(h)
    return out


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:200]:
        raise RecordsError(f"{path.name}: the file is UTF-16, not UTF-8 text. Save it again as "
                           "'CSV UTF-8 (comma delimited)'.")
    first = head.split(b"\n", 1)[0]
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RecordsError(_encoding_message(path.name)) from None
    header = next(csv.reader(io.StringIO(text)), [])
    if len(header) == 1 and ";" in header[0]:
        raise RecordsError(f"{path.name}: the columns are separated by ';'. Save the file as "
                           "comma-separated CSV ('CSV UTF-8 (comma delimited)').")
    if not any(h.strip() for h in header):
        raise RecordsError(f"{path.name}: line 1 must be the header with the column names, "
                           "but it is empty.")
    return header


def _encoding_message(file: str) -> str:
    return (f"{file}: the file is not UTF-8 text (it was probably saved as Latin-1/Windows-1252). "
            "Save it again as 'CSV UTF-8 (comma delimited)'.")


def _has_quote_after_header(path: Path) -> bool:
    """True when a ``"`` occurs anywhere after the first line (a quoted value may hold newlines)."""
    import mmap

    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start = mm.find(b"\n")
        return start < 0 or mm.find(b'"', start) >= 0


#: read known date and number columns of CSV files typed (date32/float64) during the parse and
#: use them as read when every value is valid; False: always the general all-text path (the tests
#: compare both)
_TYPED_READ = True


def _typed_columns(table: str, names: list[str], measures) -> dict[str, pa.DataType]:
    """Column types of the fast read: dates, numbers, dictionary-encoded categories."""
    known = _KINDS[table]
    out = {}
    for n in names:
        kind = known.get(n)
        if kind == "date":
            out[n] = pa.date32()
        elif kind in ("category", "skin_type"):
            # few distinct values: the reader's dictionary builder runs in its parallel parse,
            # cheaper than encoding the column afterwards on one core (benchmarks/load.py)
            out[n] = pa.dictionary(pa.int32(), pa.string())
        elif kind == "number" or (table == "assessments" and n in (measures or {})):
            out[n] = pa.float64()
    return out


def _read_csv(path: Path, table: str, measures=None) -> _Raw:
    """Read one CSV table: typed date/number columns when they parse, else all as text.

    The typed read is only a faster way to the same result: pyarrow's ISO date parser accepts
    a subset of what the text path accepts (``YYYY-MM-DD``, surrounding spaces), and its number
    parser accepts what the text path accepts plus ``nan``/``inf``, which the typed checks
    refuse. A conversion error sends the table to the all-text read; a typed column holding a
    value the checks refuse is read again as text and takes the general path alone (see
    :func:`_typed_ok`), so messages always quote the cell as written.
    """
    if _TYPED_READ:
        names = list(_check_headers(path.name, _csv_header(path))) if path.stat().st_size else []
        typed = _typed_columns(table, names, measures)
        if typed:
            try:
                raw = _read_csv_text(path, table, typed)
            except (RecordsError, pa.ArrowInvalid):
                pass  # the all-text read reports the problem, or reads the file
            else:
                exact = [n for n, kind in typed.items() if not pa.types.is_dictionary(kind)]
                again: dict = {}

                def text_of(name):
                    # the first column found unclean has all the typed ones read again as text
                    # in one pass (a read costs a whole tokenisation of the file)
                    if not again:
                        again.update(_read_csv_text(path, table, only=exact).columns)
                    return again[name]

                raw.texts.update({n: (lambda n=n: text_of(n)) for n in exact})
                return raw
    return _read_csv_text(path, table)


def _read_csv_text(path: Path, table: str, typed: dict | None = None,
                   only: list[str] | None = None) -> _Raw:
    """Read one CSV table, all as text except the ``typed`` columns; ``only``: these columns."""
    file = path.name
    if path.stat().st_size == 0:
        raise RecordsError(f"{file}: the file is empty. It needs a header line with the column "
                           f"names ({', '.join(REQUIRED[table])}, ...) and one line per record.")
    header = _csv_header(path)
    headers = _check_headers(file, header)
    names = list(headers)
    # plain strings: for columns of many distinct values (ids, dates as text) the CSV reader's
    # own dictionary builder measured ~2x slower than encoding each whole column afterwards
    text = pa.string()
    # a value can only span lines inside quotes: without any quote after the header line the
    # reader may split the file at every newline (measured ~25% faster on large files)
    multiline = _has_quote_after_header(path)
    bad: list = []

    def handler(row):
        bad.append(row)
        return "skip"

    def read(threads: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=threads, column_names=names,
                                           skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=multiline, ignore_empty_lines=False,
                                             invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(column_types={n: (typed or {}).get(n, text)
                                                               for n in names},
                                                 include_columns=only,
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True))

    try:
        data = read(True)
        if bad and any(r.number is None for r in bad):
            bad.clear()
            data = read(False)
    except pa.ArrowInvalid as exc:
        if typed:
            raise
        if "utf8" in str(exc).lower():
            raise RecordsError(_encoding_message(file)) from None
        raise RecordsError(f"{file}: cannot be read as CSV ({exc}). Check quotes and "
                           "separators around the place named.") from None
    n = data.num_rows
    malformed = [(int(r.number), (f"has {r.actual_columns} fields but the header has "
                                  f"{r.expected_columns} (a stray comma or quote?)"))
                 for r in bad]
    if malformed:
        # invalid rows are skipped by the reader; recover the line numbers of the kept rows
        skipped = np.array(sorted(m[0] for m in malformed), dtype=np.int64)
        all_lines = np.arange(2, n + len(skipped) + 2, dtype=np.int64)
        lines = np.setdiff1d(all_lines, skipped, assume_unique=True)
    else:
        lines = np.arange(2, n + 2, dtype=np.int64)
    return _Raw(table, file, {c: data.column(c) for c in (only or names)}, headers, lines,
                malformed)


def _read_parquet(path: Path, table: str) -> _Raw:
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RecordsError(f"{path.name}: cannot be read as Parquet ({exc}). Export the table "
                           "again, or save it as CSV.") from None
    headers = _check_headers(path.name, data.column_names)
    return _Raw(table, path.name, {c: _cells(c, data.column(i)) for i, c in enumerate(headers)},
                headers, np.arange(2, data.num_rows + 2, dtype=np.int64))


def _cells(name: str, col):
    """A column of a Parquet file or a DataFrame as cells the loader's rules can read.

    * A time-zoned timestamp becomes the clock on the wall of its zone (its local date and time,
      no zone): Arrow holds a zoned timestamp as UTC, and a session at 00:30 in London in summer
      (23:30 the day before in UTC) would come out a day early.
    * A nested value (a list, struct, map or union, e.g. ``area_list = ["nose", "chin"]``) is not
      a cell: it is kept as text, so that nothing is lost and every rule (identifiers, free text,
      dates, numbers) reads it like any other cell. The ``areas`` column's lists become the
      contract's ``nose;chin``; any other nested value its JSON text (``["nose", "chin"]``).
    """
    t = col.type
    if pa.types.is_dictionary(t) and pa.types.is_nested(t.value_type):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_nested(t):
        return _nested_as_text(name, col)
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pc.local_timestamp(col)
    return col


def _nested_as_text(name: str, col) -> pa.Array:
    import json

    def text(v):
        if v is None:
            return None
        if name == "areas" and isinstance(v, list):
            return ";".join("" if x is None else str(x) for x in v)
        return json.dumps(v, ensure_ascii=False, default=str)

    return pa.array([text(v) for v in col.to_pylist()], type=pa.string())


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


def _read_workbook(path: Path) -> dict[str, _Raw]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken files
        raise RecordsError(f"{path.name}: cannot be read as an .xlsx workbook ({exc}). Save it "
                           "again from the spreadsheet program as .xlsx, or as CSV files.") from None
    formulas = (openpyxl.load_workbook(path, read_only=True, data_only=False)
                if _has_formulas(path) else None)
    out = {}
    try:
        for sheet in wb.sheetnames:
            table = sheet.strip().lower()
            if table in TABLES:
                out[table] = _read_sheet(wb[sheet], f"{path.name} (sheet {sheet})", table,
                                         formulas[sheet] if formulas is not None else None)
    finally:
        wb.close()
        if formulas is not None:
            formulas.close()
    return out


def _has_formulas(path: Path) -> bool:
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


_FORMULA_REASON = ("formula with no saved value (the workbook was written by a program "
                   "that does not calculate): open it in the spreadsheet program, let it "
                   "calculate, save it, and load it again")


def _read_sheet(ws, file: str, table: str, formulas=None) -> _Raw:
    """One sheet as text columns. ``formulas``: the same sheet read with formulas instead of
    their saved values; a formula cell without a saved value makes its line a row problem
    (read as empty, a rating would be silently missing)."""
    rows = ws.iter_rows(values_only=True)
    if formulas is not None:
        rows = _with_formulas(rows, formulas.iter_rows(values_only=True))
    header = None
    for header in rows:
        break
    if header is None or not any(v is not None and str(v).strip() for v in header):
        raise RecordsError(f"{file}: the sheet is empty or line 1 is not the header. Put the "
                           f"column names ({', '.join(REQUIRED[table])}, ...) in line 1.")
    header = list(header)
    while header and (header[-1] is None or not str(header[-1]).strip()):
        header.pop()
    headers = _check_headers(file, header)
    width = len(header)
    cells: list[list] = [[] for _ in range(width)]
    lines = []
    malformed = []
    for line, row in enumerate(rows, start=2):
        unsaved = [i for i, v in enumerate(row) if isinstance(v, _Unsaved) and i < width]
        if unsaved:
            names = [str(header[i]).strip() for i in unsaved]
            malformed.append((line, _FORMULA_REASON, ",".join(names)))
            continue
        values = [_excel_text(v) for v in row]
        if any(v is not None and v.strip() for v in values[width:]):
            malformed.append((line, "has values to the right of the last named column"))
            continue
        values = values[:width] + [None] * (width - len(values))
        lines.append(line)
        for col, v in zip(cells, values):
            col.append(v)
    columns = {c: pa.array(v, type=pa.string()) for c, v in zip(headers, cells)}
    return _Raw(table, file, columns, headers, np.asarray(lines, dtype=np.int64), malformed)


class _Unsaved:
    """A formula cell whose workbook holds no saved value for it."""


_UNSAVED = _Unsaved()


def _with_formulas(values, formulas):
    """Rows of saved values, with :data:`_UNSAVED` where a formula has no saved value."""
    for row, frow in itertools.zip_longest(values, formulas, fillvalue=()):
        if any(v is None and isinstance(f, str) and f.startswith("=")
               for v, f in zip(row, frow)):
            row = tuple(_UNSAVED if v is None and isinstance(f, str) and f.startswith("=")
                        else v for v, f in itertools.zip_longest(row, frow))
        yield row


#: a sessions file at least this large has the other tables read in a background thread
_BACKGROUND_BYTES = 4 << 20
_READER = None


def _reader():
    global _READER
    _READER = _executor(_READER, 1, "outcomes-read")
    return _READER[1]


def _executor(current, workers: int, name: str):
    """``(pid, ThreadPoolExecutor)``, a new one in a forked child (its threads did not survive
    the fork: tasks submitted to the parent's executor would never run)."""
    if current is None or current[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        current = (os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name))
    return current


def _read_table_file(path: Path, table: str, measures) -> _Raw:
    raw = (_read_csv(path, table, measures) if path.suffix.lower() == ".csv"
           else _read_parquet(path, table))
    _prefetch({table: raw})  # encode this table's columns while the next is read
    return raw


def _find_tables(folder: Path, measures=None) -> dict:
    """The tables of a records folder: a :class:`_Raw` each, or a Future of one (read in the
    background; :func:`_assemble` waits for it)."""
    if not folder.exists():
        raise RecordsError(f"There is no records folder at {str(folder)!r}. Pass the folder that "
                           "holds sessions.csv and assessments.csv (`outcomes demo DIR` writes "
                           "an example).")
    if not folder.is_dir():
        raise RecordsError(f"{str(folder)!r} is a file, not a folder. Pass the folder that holds "
                           "sessions.csv and assessments.csv.")
    found: dict[str, list[Path]] = {t: [] for t in TABLES}
    workbooks = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(("~$", ".")):
            continue
        stem, suffix = p.stem.strip().lower(), p.suffix.lower()
        if suffix == ".xlsx":
            workbooks.append(p)
        elif stem in TABLES and suffix in (".csv", ".parquet", ".pq"):
            found[stem].append(p)
        elif stem in TABLES and suffix in (".xls", ".tsv", ".txt", ".json"):
            raise RecordsError(f"{p.name}: {suffix} files are not read. Save the table as "
                               f"{stem}.csv (UTF-8), {stem}.parquet, or a sheet {stem!r} of one "
                               ".xlsx workbook.")
    if len(workbooks) > 1:
        raise RecordsError(f"{folder.name}: found {len(workbooks)} .xlsx workbooks "
                           f"({', '.join(w.name for w in workbooks)}). Keep one workbook with "
                           "the sheets sessions, assessments and patients.")
    raws: dict = {}
    sheets = _read_workbook(workbooks[0]) if workbooks else {}
    # on large records the smaller tables are read in the background while the sessions are
    # validated (see _assemble, which keeps the order in which errors are reported)
    first = found["sessions"][0] if found["sessions"] else None
    background = (first is not None and first.stat().st_size >= _BACKGROUND_BYTES
                  and (os.cpu_count() or 1) >= 2)
    for t in TABLES:
        files = found[t]
        if len(files) + (t in sheets) > 1:
            names = [f.name for f in files] + ([sheets[t].file] if t in sheets else [])
            raise RecordsError(f"{folder.name}: the {t} table is in several files "
                               f"({', '.join(names)}). Keep only one of them.")
        if files:
            if background and t != "sessions":
                _pool()  # created here, not in two threads at once
                raws[t] = _reader().submit(_read_table_file, files[0], t, measures)
            else:
                raws[t] = _read_table_file(files[0], t, measures)
        elif t in sheets:
            raws[t] = sheets[t]
    for t in ("sessions", "assessments"):
        if t not in raws:
            where = f" or a sheet {t!r} in {workbooks[0].name}" if workbooks else ""
            raise RecordsError(f"{folder.name}: the {t} table is missing. Add {t}.csv (or "
                               f"{t}.parquet{where}) to the folder.")
    return raws


# ----------------------------------------------------------------------------------------------
# columns: encode once, work on the unique values

_ISO = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_OTHER_DATE = r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}$"
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_NULL_STR = pa.scalar(None, pa.string())


def _to_text(d: pa.Array) -> pa.Array:
    """Any Arrow array as strings (dates as YYYY-MM-DD)."""
    t = d.type
    if pa.types.is_string(t):
        return d
    if pa.types.is_large_string(t):
        return d.cast(pa.string())
    if pa.types.is_timestamp(t):
        return pc.strftime(d, "%Y-%m-%d %H:%M:%S")
    try:
        return d.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in d.to_pylist()], type=pa.string())


def _indices(d) -> np.ndarray:
    if d.null_count:
        d = pc.fill_null(d, -1)
    return np.asarray(d.to_numpy(), dtype=np.int32)


def _encode(col) -> tuple[np.ndarray, pa.Array]:
    """Row codes (-1 = missing) and the unique values of a column."""
    if isinstance(col, pa.ChunkedArray) and pa.types.is_dictionary(col.type):
        if not col.num_chunks:
            return np.zeros(0, dtype=np.int32), pa.array([], type=col.type.value_type)
        # chunks (CSV blocks, Parquet row groups) may each have their own dictionary
        col = pa.table({"c": col}).unify_dictionaries().column(0)
        values = col.chunk(0).dictionary
        idx = _indices(pa.chunked_array([ch.indices for ch in col.chunks],
                                        type=col.type.index_type))
    else:
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks() if col.num_chunks else pa.array([], type=col.type)
        if pa.types.is_null(col.type):
            return np.full(len(col), -1, dtype=np.int32), pa.array([], type=pa.string())
        if not pa.types.is_dictionary(col.type):
            enc = pc.dictionary_encode(col)
            return _indices(enc.indices), enc.dictionary
        idx, values = _indices(col.indices), col.dictionary
    if pc.count_distinct(values, mode="all").as_py() < len(values):
        return _recode(idx, values)  # a dictionary may repeat a value
    return idx, values


def _recode(idx: np.ndarray, values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Re-encode after the unique values changed (some may now be equal or missing)."""
    enc = pc.dictionary_encode(values)
    remap = np.append(_indices(enc.indices), np.int32(-1))
    return remap[idx], enc.dictionary


class _Col:
    """One column: raw codes/values (for messages) and trimmed codes/values (for checks)."""

    def __init__(self, arr, *, lower: bool = False):
        self.raw_idx, raw = _encode(arr)
        self.raw_text = _to_text(raw)
        self.typed = raw if not (pa.types.is_string(raw.type)
                                 or pa.types.is_large_string(raw.type)) else None
        if self.typed is None and _is_plain(self.raw_text, lower=lower):
            self.idx, self.values = self.raw_idx, self.raw_text  # nothing to normalise
            return
        t = pc.utf8_trim_whitespace(self.raw_text)
        if lower:
            t = pc.utf8_lower(t)
        t = pc.if_else(pc.equal(t, ""), _NULL_STR, t)
        if t.null_count == 0 and t.equals(self.raw_text):
            self.idx, self.values = self.raw_idx, self.raw_text
        else:
            self.idx, self.values = _recode(self.raw_idx, t)
            self.typed = None if self.typed is None else self.typed  # typed values keep raw codes

    def cells(self, rows: np.ndarray) -> list:
        """The raw text of the cells at ``rows`` (``""`` when empty)."""
        i = self.raw_idx[rows]
        taken = pc.take(self.raw_text, pa.array(i, mask=i < 0)).to_pylist()
        return ["" if v is None else v for v in taken]

    def count(self) -> np.ndarray:
        """Rows per unique (trimmed) value."""
        return np.bincount(self.idx + 1, minlength=len(self.values) + 1)[1:]  # code -1 → bin 0


#: hand columns over as read when they provably need no normalisation (False: encode every
#: column, the general path; the tests compare both)
_PLAIN = True
_ASCII_SPACE = (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c")
_UPPER = bytes(range(65, 91))
def _string_chunks(arr):
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return [c for c in chunks if len(c)]


def _is_plain(arr, *, lower: bool = False) -> bool:
    """True when normalisation cannot change any cell of a string column.

    That is: ASCII only (so no Unicode space or case), no ASCII whitespace at all (so nothing to
    strip and no spaces around ``;``), no empty strings (empty cells are already nulls) and, when
    the column is lower-cased, no upper-case letters. A cheap, conservative proof on the bytes:
    a column it cannot vouch for takes the general path, which gives the same result.
    """
    if not _PLAIN or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return False
    for chunk in _string_chunks(arr):
        if chunk.null_count == len(chunk):
            continue
        data = chunk.buffers()[2]
        b = data.to_pybytes() if data is not None else b""
        if not b.isascii() or any(w in b for w in _ASCII_SPACE):
            return False
        if lower and len(b.translate(None, _UPPER)) != len(b):
            return False
        if pc.min(pc.binary_length(chunk)).as_py() == 0:
            return False
    return True


def _take_rows(arr, rows: np.ndarray) -> pa.Array:
    """A few rows of a (chunked) column, without concatenating its chunks first.

    (Arrow's take on a chunked string column measured ~10 ms on a million rows, most of it
    joining the chunks; slicing each chunk that holds a wanted row costs microseconds.)
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not isinstance(arr, pa.ChunkedArray):
        return arr.take(pa.array(rows))
    if arr.num_chunks == 0:
        return pa.array([], type=arr.type)
    bounds = np.cumsum([0] + [len(c) for c in arr.chunks])
    which = np.searchsorted(bounds, rows, side="right") - 1
    parts = [arr.chunk(int(c)).take(pa.array(rows[which == c] - bounds[c]))
             for c in np.unique(which)]
    taken = pa.concat_arrays(parts) if parts else pa.array([], type=arr.type)
    order = np.argsort(np.argsort(which, kind="stable"), kind="stable")  # back to rows' order
    return taken.take(pa.array(order))


class _Plain:
    """A column used as read: text that needs no normalisation, or typed dates/numbers whose
    every value passed the checks (see :func:`_is_plain`, :func:`_check_dates`)."""

    def __init__(self, arr, kind: str):
        self.arr = arr
        self.kind = kind  # "text", "date" or "number"

    def missing(self) -> np.ndarray:
        if self.arr.null_count == 0:
            return np.zeros(len(self.arr), dtype=bool)
        return np.asarray(self.arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)

    def cells(self, rows: np.ndarray) -> list:
        return ["" if v is None else str(v) for v in _to_text(_take_rows(self.arr, rows)).to_pylist()]

    def key(self) -> tuple[np.ndarray, int] | None:
        """Small non-negative integer per row (0 = missing) and its bound, when cheap."""
        if self.kind != "date" or len(self.arr) == self.arr.null_count:
            return None
        days = self.arr.cast(pa.int32())
        mm = pc.min_max(days)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        return pc.fill_null(pc.subtract(days, lo - 1), 0).to_numpy(), hi - lo + 2

    def at(self, rows: np.ndarray) -> np.ndarray:
        """Codes of the values at ``rows`` (equal values, equal codes; missing is a value)."""
        taken = _take_rows(self.arr, rows)
        return pd.factorize(np.asarray(taken.to_numpy(zero_copy_only=False), dtype=object),
                            use_na_sentinel=False)[0]


@dataclass
class _Verdict:
    """Per unique value: reason (or None) and parsed value; the last slot is the missing value."""

    reasons: np.ndarray  # object, len k + 1
    values: np.ndarray  # len k + 1


def _reasons(k: int, missing_reason: str | None) -> np.ndarray:
    r = np.full(k + 1, None, dtype=object)
    r[k] = missing_reason
    return r


def _date_verdict(col: _Col, name: str, required: bool, today: np.datetime64) -> _Verdict:
    k = len(col.values)
    reasons = _reasons(k, f"empty {name}" if required else None)
    if col.typed is not None and (pa.types.is_timestamp(col.typed.type)
                                  or pa.types.is_date(col.typed.type)):
        parsed = col.typed.cast(pa.timestamp("s")) if pa.types.is_date(col.typed.type) else \
            pc.floor_temporal(col.typed, unit="day").cast(pa.timestamp("s"))
        # typed dates keep the raw codes: map raw unique values to rows through raw_idx
        col.idx, col.values = col.raw_idx, col.raw_text
        k = len(col.values)
        reasons = _reasons(k, f"empty {name}" if required else None)
        days = np.append(parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]"),
                         np.datetime64("NaT", "s"))
        ok = np.ones(k, dtype=bool)
    else:
        s = col.values
        iso = pc.match_substring_regex(s, _ISO).to_numpy(zero_copy_only=False)
        head = pc.utf8_slice_codeunits(s, 0, 10)
        parsed = pc.strptime(head, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2024-02-30 over to 2024-03-01: require the round trip
        same = pc.equal(pc.strftime(parsed, "%Y-%m-%d"), head)
        exists = pc.fill_null(same, False).to_numpy(zero_copy_only=False)
        other = pc.match_substring_regex(s, _OTHER_DATE).to_numpy(zero_copy_only=False)
        reasons[:k][~iso & other] = "date not in YYYY-MM-DD form (day/month order is not guessed)"
        reasons[:k][~iso & ~other] = "not a date (dates must be YYYY-MM-DD)"
        reasons[:k][iso & ~exists] = "impossible date (no such day)"
        ok = iso & exists
        days = np.append(parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]"),
                         np.datetime64("NaT", "s"))
        days[:k][~ok] = np.datetime64("NaT")
    early = ok & (days[:k] < np.datetime64(EARLIEST_DATE, "s"))
    late = ok & (days[:k] > today)
    reasons[:k][early] = f"date before {EARLIEST_DATE[:4]} (implausible)"
    reasons[:k][late] = "date in the future"
    days[:k][early | late] = np.datetime64("NaT")
    return _Verdict(reasons, days)


def _number_verdict(col: _Col, lo: float, hi: float, out_reason: str) -> _Verdict:
    if col.typed is not None and (pa.types.is_integer(col.typed.type)
                                  or pa.types.is_floating(col.typed.type)
                                  or pa.types.is_decimal(col.typed.type)):
        col.idx, col.values = col.raw_idx, col.raw_text
        k = len(col.values)
        reasons = _reasons(k, None)
        vals = np.asarray(col.typed.cast(pa.float64()).to_numpy(zero_copy_only=False), float)
        ok = np.isfinite(vals)
        # a stored NaN (some writers keep it apart from a missing value) is no reading either:
        # a row problem with its line, not a silent gap
        reasons[:k][~ok] = "not a number"
        vals = np.where(ok, vals, np.nan)
    else:
        k = len(col.values)
        reasons = _reasons(k, None)
        ok = pc.match_substring_regex(col.values, _NUMBER).to_numpy(zero_copy_only=False)
        masked = pc.if_else(pa.array(ok), col.values, _NULL_STR)
        vals = np.asarray(masked.cast(pa.float64()).to_numpy(zero_copy_only=False), float)
        reasons[:k][~ok] = "not a number"
    bad = ok & ((vals < lo) | (vals > hi))
    reasons[:k][bad] = out_reason
    vals = np.where(ok & ~bad, vals, np.nan)
    return _Verdict(reasons, np.append(vals, np.nan))


_SEX = {"f": "F", "female": "F", "w": "F", "m": "M", "male": "M", "x": "X", "diverse": "X",
        "other": "X"}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}


def _category_verdict(col: _Col, name: str, allowed, *, default=None, open_vocab=False,
                      required=False) -> tuple[_Verdict, list[str]]:
    """Codes into a fixed category list (``allowed``), or the sorted observed values."""
    vals = col.values.to_pylist()
    k = len(vals)
    reasons = _reasons(k, f"empty {name}" if required else None)
    if open_vocab:
        cats = sorted(vals)
        pos = {v: i for i, v in enumerate(cats)}
        codes = np.array([pos[v] for v in vals] + [-1], dtype=np.int32)
        return _Verdict(reasons, codes), cats
    cats = list(allowed)
    pos = {v: i for i, v in enumerate(cats)}
    if name == "sex":
        mapped = [_SEX.get(v) for v in vals]
    else:
        mapped = vals
    codes = np.array([pos.get(v, -1) for v in mapped] + [pos.get(default, -1)], dtype=np.int32)
    unknown = np.array([v not in pos for v in mapped], dtype=bool)
    reasons[:k][unknown] = f"unknown {name} (allowed: {', '.join(cats)})"
    return _Verdict(reasons, codes), cats


def _skin_verdict(col: _Col) -> _Verdict:
    vals = col.values.to_pylist()
    k = len(vals)
    reasons = _reasons(k, None)
    out = np.zeros(k + 1, dtype=np.int64)
    mask = np.ones(k + 1, dtype=bool)
    for i, v in enumerate(vals):  # at most a handful of unique values
        n = _ROMAN.get(v)
        if n is None and re.fullmatch(r"[1-6](\.0*)?", v):
            n = int(v[0])
        if n is None:
            reasons[i] = "skin_type must be 1–6 or I–VI (Fitzpatrick)"
        else:
            out[i], mask[i] = n, False
    return _Verdict(reasons, np.ma.array(out, mask=mask))


# ----------------------------------------------------------------------------------------------
# validating a table


class _Table:
    """Validation state of one table: columns, row problems, builders of the output columns."""

    def __init__(self, raw: _Raw):
        self.raw = raw
        self.file = raw.file
        self.n = raw.n
        self.cols: dict[str, _Col] = {}
        self.problems: list[pd.DataFrame] = []
        self.dup = np.zeros(self.n, dtype=bool)
        self.parsed: dict[str, np.ndarray] = {}  # date/number column → unique values that parsed
        self.out: dict[str, object] = {}  # name → callable(rows) → array-like

    def plain(self, name: str, *, lower: bool = False) -> bool:
        """Whether the text column ``name`` can be used as read (see :func:`_is_plain`)."""
        return _raw_is_plain(self.raw, name, lower)

    def col(self, name: str, *, lower: bool = False) -> _Col:
        if name not in self.cols:
            ready = self.raw.prefetched.pop(name, None)
            if ready is not None and ready[0] == lower and ready[1].result() is not _AS_READ:
                self.cols[name] = ready[1].result()
            else:
                self.cols[name] = _Col(self.raw.columns[name], lower=lower)
        return self.cols[name]

    def flag(self, rows: np.ndarray, column: str, reasons, values=None) -> None:
        if len(rows) == 0:
            return
        if values is None:
            values = self.cols[column].cells(rows) if column in self.cols else [""] * len(rows)
        self.problems.append(pd.DataFrame({
            "file": self.file, "line": self.raw.lines[rows], "column": column,
            "value": pd.array(values, dtype="str"), "reason": reasons, "table": self.raw.table,
            "_row": rows}))

    def flag_verdict(self, name: str, verdict: _Verdict, *, parsed: bool = False) -> None:
        col = self.cols[name]
        has = pd.notna(verdict.reasons)
        if parsed:
            self.parsed[name] = ~has[:-1]
        if has.any():
            rows = np.flatnonzero(has[col.idx])
            self.flag(rows, name, verdict.reasons[col.idx[rows]].astype(str))

    def majority(self, name: str, verdict: _Verdict, fragment: str) -> int | None:
        """First row of a column whose reason contains ``fragment``, when most filled rows do."""
        col = self.cols[name]
        k = len(col.values)
        hit = np.zeros(k, dtype=bool)
        for i in np.flatnonzero(pd.notna(verdict.reasons[:k])):
            hit[i] = fragment in verdict.reasons[i]
        if hit.any():
            counts = col.count()
            filled = counts.sum()
            if filled and counts[hit].sum() * 2 > filled:
                return int(np.flatnonzero(np.append(hit, False)[col.idx])[0])
        return None


def _example(t: _Table, name: str, row: int) -> str:
    return f"{t.cols[name].cells(np.array([row]))[0]!r} on line {t.raw.lines[row]}"


def _typed_ok(t: _Table, name: str, check) -> bool:
    """Use a typed column of a CSV read as read when ``check`` passes all its values (``check``
    returns the loaded values, or None).

    False when the column is not such a column, and when a value fails: the column is then read
    again as text and takes the general path (which finds the cells and quotes them).
    """
    arr = t.raw.columns[name]
    if name not in t.raw.texts:
        return False
    values = check(arr)
    if values is None:
        text = t.raw.texts.pop(name)()
        if len(text) != t.n:  # the file changed while being read
            raise RecordsError(f"{t.file}: the file changed while it was being read. Load it "
                               "again.")
        t.raw.columns[name] = text
        return False
    t.cols[name] = _Plain(arr, "date" if pa.types.is_date32(arr.type) else "number")
    t.out[name] = lambda rows, d=values: rows.take(d)
    return True


def _check_dates(t: _Table, name: str, today, required=True) -> None:
    def clean(arr):
        if required and arr.null_count:
            return None
        days = np.asarray(arr.cast(pa.timestamp("s")).to_numpy(zero_copy_only=False),
                          dtype="datetime64[s]")
        if arr.null_count < len(arr):
            mm = pc.min_max(arr)
            lo = np.datetime64(mm["min"].as_py(), "s")
            hi = np.datetime64(mm["max"].as_py(), "s")
            if lo < np.datetime64(EARLIEST_DATE, "s") or hi > today:
                return None
        return days

    if _typed_ok(t, name, clean):
        return
    _parsed_column(t, name, lambda col: _date_verdict(col, name, required, today), "YYYY-MM-DD",
                   lambda example: (
                       f"{t.file}: most values in column {name!r} are not dates in the form "
                       f"YYYY-MM-DD (e.g. {example}). Write dates as YYYY-MM-DD, e.g. "
                       "2024-11-23; the loader does not guess whether 23/11/2024 or 11/23/2024 "
                       "puts the day or the month first."))


def _parsed_column(t: _Table, name: str, verdict, fragment: str, structural) -> None:
    """The general path of a date or number column: verdicts on its unique values, a
    structural error when most cells fail with ``fragment``, else the failing rows flagged."""
    col = t.col(name)
    v = verdict(col)
    first = t.majority(name, v, fragment)
    if first is not None:
        raise RecordsError(structural(_example(t, name, first)))
    t.flag_verdict(name, v, parsed=True)
    idx = col.idx
    t.out[name] = lambda rows, d=v.values, i=idx: d[rows.take(i)]


def _check_number(t: _Table, name: str, lo, hi, out_reason, hint="") -> None:
    def clean(arr):
        vals = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=float)  # null → NaN
        inside = (vals >= lo) & (vals <= hi)  # False for NaN: a literal 'nan' counts as bad
        return vals if len(vals) - np.count_nonzero(inside) == arr.null_count else None

    if _typed_ok(t, name, clean):
        return
    _parsed_column(t, name, lambda col: _number_verdict(col, lo, hi, out_reason), "not a number",
                   lambda example: (
                       f"{t.file}: most values in column {name!r} are not numbers (e.g. "
                       f"{example}). Write numbers with a decimal point, e.g. 1.5.{hint}"))


def _check_text(t: _Table, name: str, *, required=False, areas=False) -> None:
    if name not in t.raw.columns:
        t.out[name] = lambda rows: pd.array([pd.NA] * len(rows), dtype="str")
        return
    if t.plain(name, lower=areas):
        arr = t.raw.columns[name]
        if required:
            missing = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else []
            t.flag(np.flatnonzero(missing), name, f"empty {name}")
        if name != "patient_id":
            t.cols[name] = _Plain(arr, "text")
        # (patient_id also needs its codes, for duplicates and across tables: t.col() fetches
        # them when first asked, so the encoding, running in a worker, is not waited for here)
        t.out[name] = lambda rows, a=arr: rows.filter(a).to_pandas()
        return
    col = t.col(name, lower=areas)
    if areas and len(col.values):
        joined = pc.replace_substring_regex(col.values, r"\s*;\s*", ";")
        if not joined.equals(col.values):
            col.idx, col.values = _recode(col.idx, joined)
    if required:
        missing = np.flatnonzero(col.idx < 0)
        t.flag(missing, name, f"empty {name}")
    idx, values = col.idx, col.values
    arr = t.raw.columns[name]
    if (_DIRECT_TEXT and idx is col.raw_idx and values is col.raw_text and t.n
            and (arr.type == pa.string() or arr.type == pa.large_string())):
        # no cell changed in normalisation: the loaded column is the file's column itself
        t.out[name] = lambda rows, a=arr: rows.filter(a).to_pandas()
    else:
        t.out[name] = lambda rows, d=values, i=idx: _strings(d, rows.take(i))


#: hand unchanged text columns over as read (False: rebuild them from the unique values, the
#: general path; the tests compare both)
_DIRECT_TEXT = True


def _strings(d: pa.Array, codes: np.ndarray):
    arr = pc.take(d, pa.array(codes, mask=codes < 0)) if len(d) else pa.nulls(len(codes),
                                                                              pa.string())
    return arr.to_pandas()


def _check_category(t: _Table, name: str, **kw) -> None:
    allowed = CATEGORIES.get(name, ())
    default = CATEGORY_DEFAULTS.get(name)
    if name not in t.raw.columns:
        if default is None:
            return
        cats = list(allowed)
        code = cats.index(default)
        t.out[name] = lambda rows, c=cats: pd.Categorical.from_codes(
            np.full(len(rows), code, dtype=np.int32), categories=c)
        return
    col = t.col(name, lower=True)
    v, cats = _category_verdict(col, name, allowed, default=default, **kw)
    t.flag_verdict(name, v)
    idx = col.idx
    # the codes are in range by construction: pandas need not check a million of them
    t.out[name] = lambda rows, d=v.values, i=idx, c=cats: pd.Categorical.from_codes(
        d[rows.take(i)], categories=pd.Index(c, dtype="str"), validate=False)


def _check_identifier_values(t: _Table) -> None:
    """Refuse a table whose values hold a direct identifier (see :mod:`outcomes.identifiers`).

    Decided on each column's distinct values (valid dates and numbers excluded); the message
    gives the column, the kind and the first lines, never the value itself.
    """
    for name in t.raw.columns:
        col = t.cols.get(name)
        if isinstance(col, _Plain):
            if col.kind != "text":
                continue  # typed dates and numbers that passed every check
            if name not in ID_COLUMNS and not _has_digit_or_at(col.arr):
                continue  # no cell without whitespace can hold one (see _has_digit_or_at)
            # a column used as read has no codes: its distinct values are cheap (pc.unique) and
            # the rows are only looked up when one of them is an identifier
            masks = value_kinds_mask(pc.unique(_combined(col.arr)),
                                     id_column=name in ID_COLUMNS)
            if not masks:
                continue
            col = _Col(col.arr)
        else:
            col = t.col(name, lower=name in CATEGORIES or name == "treatment")
        values = col.values
        if name in t.parsed:  # valid dates and numbers are neither e-mails nor phone numbers
            values = pc.if_else(pa.array(t.parsed[name]), _NULL_STR, _to_text(values))
        if not len(values):
            continue
        for kind, hit in value_kinds_mask(_to_text(values), id_column=name in ID_COLUMNS).items():
            rows = np.flatnonzero(np.append(hit, False)[col.idx])
            raise RecordsError(f"{t.file}: column {t.raw.headers[name]!r} holds values that "
                               f"look like {_plural(kind)} ({_lines(t, rows)}). {_ANONYMISE}")


def _plural(kind: str) -> str:
    return {"person's name": "people's names", "title and surname": "a title and a surname",
            "e-mail": "e-mail addresses"}.get(kind, kind + "s")


def _lines(t: _Table, rows: np.ndarray) -> str:
    shown = ", ".join(str(x) for x in t.raw.lines[rows[:3]])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    return f"lines {shown}{more}"


def _has_digit_or_at(arr) -> bool:
    """False when no cell of the column holds a digit or an ``@``: a cell without whitespace
    (a column used as read has none) can then hold none of the identifiers looked for outside id
    columns (an e-mail needs ``@``; phone and NHS numbers and postcodes need digits; a title and
    a surname need a space). A cheap test on the bytes, for columns used as read."""
    for chunk in _string_chunks(arr):
        data = chunk.buffers()[2]
        if data is None:
            continue
        b = np.frombuffer(data, dtype=np.uint8)
        if ((b - 48 < 10) | (b == 64)).any():  # uint8 wraps: b - 48 < 10 is "0" <= b <= "9"
            return True
    return False


def _combined(arr):
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks else pa.array([], type=arr.type)
    return arr


def _numbers_or_dates(col: _Col) -> bool:
    """Whether every value of a column is a number or a date (typed as such, or written so)."""
    if col.typed is not None and (pa.types.is_integer(col.typed.type)
                                  or pa.types.is_floating(col.typed.type)
                                  or pa.types.is_decimal(col.typed.type)
                                  or pa.types.is_temporal(col.typed.type)
                                  or pa.types.is_boolean(col.typed.type)):
        return True
    return _all_numbers_or_dates(col.values)


def _all_numbers_or_dates(values: pa.Array) -> bool:
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return True
    if len(values) == values.null_count:
        return True
    ok = pc.or_(pc.or_(pc.match_substring_regex(values, _NUMBER),
                       pc.match_substring_regex(values, _ISO)),
                pc.match_substring_regex(values, _OTHER_DATE))
    return bool(pc.all(pc.fill_null(ok, True)).as_py())


def _check_free_text(t: _Table, extra: list[str]) -> None:
    """Refuse free text in the columns the records do not define.

    The analyses never read an extra column, and free text is where names, phone numbers and
    addresses hide in ways no pattern finds. A column is free text when a value has four or more
    words, or when its name says so (``notes``, ``comment``, ...) — unless its values say
    otherwise: a column whose every value is a number or a date (``notes_length`` = 12) is not
    text, whatever its name.
    """
    for name in extra:
        col = t.cols.get(name)
        by_name = looks_like_free_text_column(name)
        if isinstance(col, _Plain):
            if not by_name or col.kind in ("number", "date") or _all_numbers_or_dates(
                    pc.unique(_combined(col.arr))):
                continue  # used as read: no whitespace in any cell, so no value of several words
            rows = np.flatnonzero(~col.missing())
        else:
            col = col if col is not None else t.col(name)
            if by_name and _numbers_or_dates(col):
                by_name = False
            hit = (np.ones(len(col.values), dtype=bool) if by_name
                   else free_text_mask(col.values))
            rows = np.flatnonzero(np.append(hit, False)[col.idx])
        if len(rows):
            raise RecordsError(
                f"{t.file}: column {t.raw.headers[name]!r} holds free text ({_lines(t, rows)}). "
                "The analyses have no use for free text, and free text often names people "
                "in ways no check can find: delete the column from the export, or run "
                "`outcomes anonymise RAW OUT --key-file KEY`, which drops free text, and load "
                "OUT.")


def _start(raw: _Raw, table: str, known: dict[str, str]) -> tuple[_Table, list[str]]:
    missing = [c for c in REQUIRED[table] if c not in raw.columns]
    if missing:
        raise RecordsError(f"{raw.file}: required column(s) {', '.join(map(repr, missing))} "
                           f"missing. The {table} table needs the columns "
                           f"{', '.join(REQUIRED[table])}; the header has "
                           f"{', '.join(raw.headers.values())}.")
    if raw.n + len(raw.malformed) == 0 and table != "patients":
        raise RecordsError(f"{raw.file}: the table has a header but no rows. Add one line per "
                           f"{table[:-1]}.")
    t = _Table(raw)
    for line, reason, *column in raw.malformed:
        t.problems.append(pd.DataFrame({"file": [raw.file], "line": [line],
                                        "column": [column[0] if column else ""],
                                        "value": [""], "reason": [reason], "table": [table],
                                        "_row": [-1]}))
    extra = [c for c in raw.columns if c not in known]
    return t, extra


def _missing(col) -> np.ndarray:
    return col.missing() if isinstance(col, _Plain) else col.idx < 0


def _blank(t: _Table) -> np.ndarray:
    blank = np.ones(t.n, dtype=bool)
    # columns used as read first: a column without a missing cell settles it at once
    names = sorted(t.raw.columns, key=lambda n: not isinstance(t.cols.get(n), _Plain))
    for name in names:
        col = t.cols.get(name) or t.col(name)
        if isinstance(col, _Plain) and col.arr.null_count == 0:
            return np.zeros(t.n, dtype=bool)
        blank &= _missing(col)
    return blank


def _dup_key(col) -> tuple[np.ndarray, int] | None:
    """Small non-negative integer per row (0 = missing) and its bound, when one is at hand."""
    if isinstance(col, _Plain):
        return col.key()
    return col.idx + 1, len(col.values) + 1


def _flag_duplicates(t: _Table, found) -> None:
    """Quarantine repeats of an earlier identical row (the first stays): ``found`` is what
    :func:`_find_duplicates` returned."""
    if found is not None:
        rows, values = found
        t.dup[rows] = True
        t.flag(rows, "(row)", "exact duplicate of an earlier row", values)


def _find_duplicates(t: _Table, skip: np.ndarray):
    """Rows repeating an earlier identical row, and "same as line N" for each (or None)."""
    if "patient_id" in t.raw.columns:
        t.col("patient_id")
    # patient_id first: with the date, it makes the candidate key of few rows
    names = sorted(t.cols, key=lambda n: n != "patient_id")
    if t.n < 2 or not names:
        return None
    # candidates: rows equal in (up to) two columns with integer codes at hand; then compare all
    keys = [k for k in (_dup_key(t.cols[n]) for n in names) if k is not None][:2]
    span = int(np.prod([b for _, b in keys], dtype=float)) if keys else 1
    # int32 keys sort twice as fast; rows to skip get distinct negative keys
    key = np.zeros(t.n, dtype=np.int32 if span + t.n < 2**31 else np.int64)
    for codes, bound in keys:  # in place: fresh large arrays cost page faults
        key *= bound
        key += codes
    if skip.any():
        key[skip] = -1 - np.flatnonzero(skip)
    # rows whose key occurs more than once: sort the keys (a vectorised sort is several times
    # faster than a hash table on a million rows) and look the repeated keys up
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated) == 0:
        return None
    repeated = np.unique(repeated)
    # rows holding a repeated key: a bitmap on the low 20 bits narrows a million rows to a
    # few (a gather, ~10x faster than a hash lookup per row), then the exact test on those
    low = (1 << 20) - 1
    mark = np.zeros(low + 1, dtype=bool)
    mark[repeated & low] = True
    maybe = np.flatnonzero(mark[key & low])
    cand = maybe[np.isin(key[maybe], repeated)]  # increasing row positions
    if len(cand) == 0:
        return None
    # compare whole rows among the candidates: sort them by every column, then by position,
    # so that each run of identical rows starts with its first occurrence in the file
    codes = np.column_stack([t.cols[n].at(cand) if isinstance(t.cols[n], _Plain)
                             else t.cols[n].idx[cand] for n in names]).astype(np.int64)
    order = np.lexsort([np.arange(len(cand))] + [codes[:, j] for j in
                                                  reversed(range(codes.shape[1]))])
    ranked = codes[order]
    starts = np.ones(len(cand), dtype=bool)
    starts[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    if starts.all():
        return None
    first = order[starts][np.cumsum(starts) - 1]  # per sorted row: its run's first member
    rows, firsts = cand[order[~starts]], cand[first[~starts]]
    return rows, [f"same as line {x}" for x in t.raw.lines[firsts]]


def _validate_sessions(raw: _Raw, today) -> tuple[_Table, list[str]]:
    t, extra = _start(raw, "sessions", SESSION_COLUMNS)
    _check_text(t, "patient_id", required=True)
    _check_dates(t, "date", today)
    _check_category(t, "treatment", open_vocab=True, required=True)
    if "depth_mm" in raw.columns:
        _check_number(t, "depth_mm", *NUMBER_RANGES["depth_mm"],
                      "depth outside 0–3.0 mm (negative or absurd)")
    else:
        t.out["depth_mm"] = lambda rows: np.full(len(rows), np.nan)
    _check_text(t, "areas", areas=True)
    _check_text(t, "clinician_id")
    return t, extra


def _validate_assessments(raw: _Raw, measures: dict[str, Measure], today):
    present = {k: m for k, m in measures.items() if k in raw.columns}
    if not present:
        raise RecordsError(f"{raw.file}: no measure column. The assessments need at least one "
                           f"rating column: {', '.join(sorted(measures))}, or a measure declared "
                           "in dataset.toml (e.g. [measures.redness] with min, max, better).")
    t, extra = _start(raw, "assessments", {**ASSESSMENT_COLUMNS, **present})
    _check_text(t, "patient_id", required=True)
    _check_dates(t, "date", today)
    _check_category(t, "region")
    _check_category(t, "rater")
    for name, m in present.items():
        hint = (f" If {name!r} holds words, map them to numbers on its scale "
                f"({m.min:g}–{m.max:g}).")
        _check_number(t, name, m.min, m.max, f"outside the {name} scale {m.min:g}–{m.max:g}", hint)
    empty = np.ones(t.n, dtype=bool)
    for name in present:
        empty &= _missing(t.cols[name])
    t.flag(np.flatnonzero(empty), ",".join(present), "no rating in any measure column")
    return t, extra, present


def _validate_patients(raw: _Raw) -> tuple[_Table, list[str]]:
    t, extra = _start(raw, "patients", PATIENT_COLUMNS)
    _check_text(t, "patient_id", required=True)
    for name, kind in PATIENT_COLUMNS.items():
        if name == "patient_id" or name not in raw.columns:
            continue
        if kind == "number":
            _check_number(t, name, *NUMBER_RANGES[name],
                          f"{name} outside {NUMBER_RANGES[name][0]:g}–"
                          f"{NUMBER_RANGES[name][1]:g}")
        elif kind == "skin_type":
            col = t.col(name, lower=True)
            v = _skin_verdict(col)
            t.flag_verdict(name, v)
            t.out[name] = lambda rows, d=v.values, i=col.idx: pd.arrays.IntegerArray(
                np.asarray(d.data[rows.take(i)]), np.asarray(d.mask[rows.take(i)]))
        elif kind == "category":
            _check_category(t, name)
        else:
            _check_text(t, name)
    return t, extra


class _Rows:
    """The rows a table keeps, as a mask; selecting with it costs nothing when all are kept.

    When only a few rows are dropped (the usual case: a handful of bad lines in a large file),
    the kept rows are a few long runs: copying the runs (NumPy) or slicing them (Arrow, no copy
    at all) is several times faster than selecting with the mask.
    """

    #: up to this many dropped rows, NumPy columns are copied run by run
    FEW = 4096
    #: up to this many, Arrow columns are sliced run by run (each run becomes a chunk)
    FEW_ARROW = 64

    def __init__(self, mask: np.ndarray):
        self.mask = mask
        self.n = int(np.count_nonzero(mask))
        self.all = self.n == len(mask)
        self._arrow = None
        dropped = len(mask) - self.n
        self.runs = None
        if 0 < dropped <= self.FEW:
            gone = np.flatnonzero(~mask)
            starts = np.append(0, gone + 1)
            stops = np.append(gone, len(mask))
            self.runs = [(int(a), int(b)) for a, b in zip(starts, stops) if b > a]

    def __len__(self) -> int:
        return self.n

    def take(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row of the file) at the kept rows."""
        if self.all:
            return values
        if self.runs is not None:
            return np.concatenate([values[a:b] for a, b in self.runs] or [values[:0]])
        return values[self.mask]

    def filter(self, arr):
        """An Arrow column at the kept rows."""
        if self.all:
            return arr
        if self.runs is not None and len(self.runs) <= self.FEW_ARROW + 1:
            pieces = [arr.slice(a, b - a) for a, b in self.runs]
            chunks = [c for piece in pieces for c in
                      (piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece]) if len(c)]
            return pa.chunked_array(chunks, type=arr.type)
        if self._arrow is None:
            self._arrow = pa.array(self.mask)
        return pc.filter(arr, self._arrow)


def _finish(t: _Table, blank: np.ndarray, order: list[str]) -> tuple[pd.DataFrame, list]:
    """The loaded table (rows without problems) and the problems of non-blank rows."""
    problems = []
    bad = blank.copy()
    for frame in t.problems:
        rows = frame["_row"].to_numpy()
        real = rows < 0  # a malformed line (no row of the table) is always a problem
        real[~real] = ~blank[rows[~real]]  # (indexing blank only at rows: it may be empty)
        frame = frame[real]
        bad[rows[real & (rows >= 0)]] = True
        if len(frame):
            problems.append(frame.drop(columns="_row"))
    t.keep = keep = _Rows(~bad)
    names = [n for n in order if n in t.out]
    if keep.all or t.n < _PREFETCH_ROWS or (os.cpu_count() or 1) < 2:
        data = {name: t.out[name](keep) for name in names}
    else:  # copying the kept rows of each column: NumPy and Arrow kernels, in the workers
        work = {name: _pool().submit(t.out[name], keep) for name in names}
        data = {name: f.result() for name, f in work.items()}
    return pd.DataFrame(data, copy=False), problems  # the columns are fresh: no copy


#: columns each table's validation encodes lower-cased (categories, Fitzpatrick types, areas)
_LOWERED = {"sessions": {"treatment", "areas"}, "assessments": {"region", "rater"},
            "patients": {"sex", "skin_type", "smoker", "sun_exposure", "skincare", "concern"}}
_POOL = None
#: tables smaller than this (rows, all tables) are encoded in the calling thread
_PREFETCH_ROWS = 50_000


def _pool():
    global _POOL
    _POOL = _executor(_POOL, min(8, os.cpu_count() or 1), "outcomes-load")
    return _POOL[1]


def _prefetch(raws: dict[str, _Raw]) -> None:
    """Encode every column ahead, in worker threads (Arrow's kernels release the GIL).

    Only an optimisation: :meth:`_Table.col` uses a prefetched column when it asks for the same
    normalisation (``lower``) and otherwise encodes again; an error raised while encoding
    surfaces where the column is first used, as without prefetching.
    """
    if (os.cpu_count() or 1) < 2:
        return
    pool = _pool()
    tasks = []
    for table, raw in raws.items():
        if not isinstance(raw, _Raw) or raw.n < _PREFETCH_ROWS or raw.prefetched:
            continue
        kinds = _KINDS.get(table, {})
        for name, arr in raw.columns.items():
            lower = name in _LOWERED.get(table, ())
            if name in raw.texts:
                continue  # typed and used as read when clean
            may_be_plain = kinds.get(name, "text") in ("id", "text") and name != "patient_id"
            tasks.append((raw.n, raw, name, arr, lower, may_be_plain))
    # the largest columns first, so that no worker is left with a long one at the end
    for _n, raw, name, arr, lower, may_be_plain in sorted(tasks, key=lambda x: -x[0]):
        raw.prefetched[name] = (lower, pool.submit(_prepare, arr, lower, may_be_plain),
                                may_be_plain)


#: what a prefetch task returns for a column that is used as read (see _is_plain)
_AS_READ = object()


def _prepare(arr, lower: bool, may_be_plain: bool):
    if may_be_plain and _is_plain(arr, lower=lower):
        return _AS_READ
    return _Col(arr, lower=lower)


_KINDS = {"sessions": SESSION_COLUMNS, "assessments": ASSESSMENT_COLUMNS,
          "patients": PATIENT_COLUMNS}


def _raw_is_plain(raw: _Raw, name: str, lower: bool) -> bool:
    ready = raw.prefetched.get(name)
    if ready is not None and ready[0] == lower and ready[2] and (name, lower) not in raw.plain:
        raw.plain[name, lower] = ready[1].result() is _AS_READ
    if (name, lower) not in raw.plain:
        raw.plain[name, lower] = _is_plain(raw.columns[name], lower=lower)
    return raw.plain[name, lower]


def _assemble(raws: dict[str, _Raw], measures: dict[str, Measure], *, source=None,
              strict=False) -> Records:
    today = np.datetime64(_dt.date.today(), "s")
    _prefetch(raws)
    # (running the tables side by side in threads measured slower: most of this work holds the
    # GIL, and the encodings already run in the prefetch pool)
    try:
        (s, s_extra), s_blank = _table_stage(raws["sessions"],
                                             lambda r: _validate_sessions(r, today))
    finally:
        # the other tables may still be being read: a problem found reading them was found
        # first (as when the files were read one after the other), so it is raised first
        for t in TABLES:
            if isinstance(raws.get(t), Future):
                raws[t] = raws[t].result()
    # the sessions' duplicates (mostly NumPy sorting, which releases the GIL) in the reader
    # thread, idle by now, while the other tables are checked here
    s_dups = (_reader().submit(_find_duplicates, s, s_blank) if s.n >= _PREFETCH_ROWS
              and (os.cpu_count() or 1) >= 2 else None)
    (a, a_extra, present), a_blank = _table_stage(
        raws["assessments"], lambda r: _validate_assessments(r, measures, today))
    (p, p_extra), p_blank = (_table_stage(raws["patients"], _validate_patients)
                             if "patients" in raws else ((None, []), None))
    a_dups = _find_duplicates(a, a_blank)
    p_dups = _find_duplicates(p, p_blank) if p is not None else None
    s_dups = s_dups.result() if s_dups is not None else _find_duplicates(s, s_blank)
    tables = [x for x in (s, a, p) if x is not None]
    blanks = {"sessions": s_blank, "assessments": a_blank, "patients": p_blank}
    # assessments of unknown patients
    aid = a.col("patient_id")
    ok = np.zeros(len(aid.values), dtype=bool)
    for known in [p, s] if p is not None else [s]:
        rest = np.flatnonzero(~ok)
        if not len(rest):
            break
        asked = aid.values if len(rest) == len(ok) else aid.values.take(pa.array(rest))
        ok[rest] = pc.is_in(asked, value_set=known.col("patient_id").values).to_numpy(
            zero_copy_only=False)
    unknown = np.append(~ok, False)[aid.idx] & ~blanks["assessments"]
    a.flag(np.flatnonzero(unknown), "patient_id", "patient_id in neither sessions nor patients")
    for t, found in ((s, s_dups), (a, a_dups), (p, p_dups)):
        if t is not None:
            _flag_duplicates(t, found)
    if p is not None:
        _conflicting_patients(p, blanks["patients"])
    orders = {"sessions": [*SESSION_COLUMNS, *s_extra],
              "assessments": [*ASSESSMENT_COLUMNS, *present, *a_extra],
              "patients": [*PATIENT_COLUMNS, *p_extra]}
    frames, problems = {}, []
    for t in tables:
        frames[t.raw.table], found = _finish(t, blanks[t.raw.table], orders[t.raw.table])
        problems += found
    rejects = (pd.concat(problems, ignore_index=True) if problems else _empty_rejects())
    if len(rejects):
        rank = rejects["table"].map({k: i for i, k in enumerate(TABLES)})
        rejects = rejects.assign(_r=rank).sort_values(["_r", "line"], kind="stable").drop(
            columns="_r").reset_index(drop=True)
    if strict and len(rejects):
        raise RecordsError(_strict_message(rejects))
    patients, added = _patients_frame(frames, s, a, p)
    input_rows = {t.raw.table: int(t.n - blanks[t.raw.table].sum() + len(t.raw.malformed))
                  for t in tables}
    input_rows.setdefault("patients", 0)
    sessions, assessments = frames["sessions"], frames["assessments"]
    for name, frame in (("sessions", sessions), ("assessments", assessments),
                        ("patients", patients)):
        _postcondition(name, frame, present)
    return Records(sessions, assessments, patients, present, rejects, input_rows, source,
                   files={t.raw.table: t.file for t in tables},
                   blank_rows={t.raw.table: int(blanks[t.raw.table].sum()) for t in tables},
                   extra_columns={"sessions": s_extra, "assessments": a_extra,
                                  "patients": p_extra},
                   added_patients=added)


def _table_stage(raw: _Raw, validate):
    """One table's own checks (before the tables meet), and its blank rows."""
    checked = validate(raw)
    t, extra = checked[0], checked[1]
    for name in extra:
        _check_text(t, name)
    _check_identifier_values(t)
    _check_free_text(t, extra)
    return checked, _blank(t)


def _conflicting_patients(p: _Table, blank: np.ndarray) -> None:
    col = p.col("patient_id")
    live = (col.idx >= 0) & ~p.dup & ~blank
    counts = np.bincount(col.idx[live], minlength=len(col.values))
    clash = np.flatnonzero(live & (np.append(counts, 0)[col.idx] > 1))
    p.flag(clash, "patient_id", "patient_id on several lines with different values")


def _used_ids(t: _Table) -> pa.Array:
    """The patient_ids of the rows kept (a boolean mark per code: no counting needed)."""
    col = t.col("patient_id")
    present = np.zeros(len(col.values) + 1, dtype=bool)  # code -1 (missing) marks the last slot
    present[t.keep.take(col.idx)] = True
    codes = np.flatnonzero(present[:-1])
    return col.values.take(pa.array(codes, type=pa.int64()))


def _patients_frame(frames, s: _Table, a: _Table, p: _Table | None) -> tuple[pd.DataFrame, int]:
    """The patients table plus a row (covariates missing) per patient seen only elsewhere."""
    used = pa.concat_arrays([_used_ids(s), _used_ids(a)])
    if p is None:
        seen = pc.unique(used)
        return pd.DataFrame({"patient_id": _strings(seen, np.arange(len(seen)))}), len(seen)
    listed = frames["patients"]
    kept = p.keep.take(p.col("patient_id").idx)
    if len(kept) and np.bincount(kept).max() > 1:
        raise RecordsError("the loaded patients table repeats a patient_id. This is a bug "
                           "in outcomes; please report it with the file.")
    new = pc.unique(used.filter(pc.invert(pc.is_in(used, value_set=_used_ids(p)))))
    if len(new) == 0:
        return listed, 0
    extra = listed.iloc[:0].reindex(range(len(new)))
    extra["patient_id"] = _strings(new, np.arange(len(new)))
    return pd.concat([listed, extra], ignore_index=True), len(new)


def _postcondition(table: str, frame: pd.DataFrame, measures) -> None:
    """Validate the loaded table against its pandera schema (a guard against loader bugs)."""
    import pandera.errors

    # a view; the loader's own checks cover every row, and _patients_frame checks that no
    # patient_id repeats in the whole table
    sample = frame.iloc[:_CONTRACT_ROWS]
    try:
        table_schema(table, measures).validate(sample, lazy=False)
    except (pandera.errors.SchemaError, pandera.errors.SchemaErrors) as exc:
        raise RecordsError(f"the loaded {table} table breaks the data contract ({exc}). This is a "
                           "bug in outcomes; please report it with the file.") from None


def _strict_message(rejects: pd.DataFrame) -> str:
    rows = rejects.drop_duplicates(["file", "line"])
    lines = [f"  {r.file} line {r.line}: {_problem_text(r)}"
             for r in rejects.head(_STRICT_LIST).itertuples()]
    more = len(rejects) - _STRICT_LIST
    tail = [f"  ... and {more} more problem(s)"] if more > 0 else []
    return "\n".join([f"{len(rows)} row(s) have problems (strict mode stops at any):", *lines,
                      *tail, "Fix these lines, or load without --strict to quarantine them."])


# ----------------------------------------------------------------------------------------------
# public API


def load_records(path: str | Path, strict: bool = False) -> Records:
    """Load and validate a records folder (docs/methods.md §1).

    Parameters
    ----------
    path : str or Path
        Folder with ``sessions`` and ``assessments`` (and optionally ``patients``) as ``.csv``
        (UTF-8, with or without BOM) or ``.parquet``, or as sheets of one ``.xlsx`` workbook; and an
        optional ``dataset.toml`` with the scales of the measures.
    strict : bool, default False
        Raise on any row problem instead of quarantining the row.

    Returns
    -------
    Records
        Loaded tables, quarantined rows in ``rejects`` with their file line numbers, and
        ``input_rows`` such that ``loaded_rows[t] + quarantined_rows[t] == input_rows[t]``.

    Raises
    ------
    RecordsError
        On a structural problem (missing folder, table or column; empty or non-UTF-8 file; broken
        ``dataset.toml``; dates not YYYY-MM-DD; measure values that are not numbers), on direct
        identifiers, and with ``strict=True`` on any row problem.
    """
    folder = Path(path)
    measures = read_scales(folder / "dataset.toml") if folder.is_dir() else None
    raws = _find_tables(folder, measures)
    return _assemble(raws, measures, source=folder, strict=strict)


def _arrow_column(s: pd.Series):
    try:
        return pa.array(s, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        missing = s.isna().to_numpy()
        return pa.array([None if m else str(v) for v, m in zip(s, missing)], type=pa.string())


def _raw_from_frame(frame: pd.DataFrame, table: str) -> _Raw:
    file = f"{table} (DataFrame)"
    if not isinstance(frame, pd.DataFrame):
        raise RecordsError(f"{file}: expected a pandas DataFrame, got {type(frame).__name__}.")
    headers = _check_headers(file, list(frame.columns))
    columns = {n: _cells(n, _arrow_column(frame.iloc[:, i])) for i, n in enumerate(headers)}
    return _Raw(table, file, columns, headers, np.arange(2, len(frame) + 2, dtype=np.int64))


def from_frames(sessions: pd.DataFrame, assessments: pd.DataFrame,
                patients: pd.DataFrame | None = None,
                measures: dict[str, Measure] | None = None, *, strict: bool = False) -> Records:
    """Build :class:`Records` from in-memory tables with the rules of :func:`load_records`.

    Typed columns (datetime64 dates, float ratings, categoricals) are used as they are; text
    columns are parsed like CSV cells. Line numbers in ``rejects`` are row position + 2, as if
    the frame were written to a CSV file with a header.
    """
    from .scales import default_measures

    raws = {"sessions": _raw_from_frame(sessions, "sessions"),
            "assessments": _raw_from_frame(assessments, "assessments")}
    if patients is not None:
        raws["patients"] = _raw_from_frame(patients, "patients")
    return _assemble(raws, dict(measures or default_measures()), strict=strict)


def rejects_table(records: Records) -> pd.DataFrame:
    """The quarantined rows, one row per problem.

    Returns
    -------
    DataFrame
        ``table``, ``file``, ``line`` (spreadsheet line, header = 1), ``column``, ``value`` (as
        written in the file), ``reason``; sorted by table and line.
    """
    return records.rejects[["table", *REJECT_COLUMNS]].reset_index(drop=True)


def summary(records: Records) -> dict:
    """A JSON-ready summary of loaded records (what ``outcomes check`` shows).

    Returns
    -------
    dict
        ``loaded`` (rows loaded per table), ``input_rows``, ``quarantined`` (rows set aside),
        ``quarantined_by_table``, ``quarantined_by_reason``, ``blank_rows``, ``patients`` (distinct
        patients), ``patients_added`` (patients without a usable patients row), ``date_range``
        (first and last session and assessment date), ``treatments`` (sessions per treatment),
        ``measures`` (scale of each), ``ratings`` (non-missing ratings per measure),
        ``extra_columns``, ``files``.
    """
    def span(frame):
        if frame.empty:
            return None
        return [str(frame["date"].min().date()), str(frame["date"].max().date())]

    rj = records.rejects
    by_reason = (rj.drop_duplicates(["file", "line", "reason"])["reason"].value_counts()
                 if len(rj) else pd.Series(dtype="int64"))
    return {
        "loaded": records.loaded_rows,
        "input_rows": dict(records.input_rows),
        "quarantined": records.n_quarantined,
        "quarantined_by_table": records.quarantined_rows,
        "quarantined_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "blank_rows": dict(records.blank_rows),
        "patients": len(records.patients),
        "patients_added": int(records.added_patients),
        "date_range": {"sessions": span(records.sessions),
                       "assessments": span(records.assessments)},
        "treatments": {str(k): int(v) for k, v in
                       records.sessions["treatment"].value_counts().items()},
        "measures": {k: {"label": m.label, "min": m.min, "max": m.max, "better": m.better,
                         "step": m.step} for k, m in records.measures.items()},
        "ratings": {k: int(records.assessments[k].notna().sum()) for k in records.measures},
        "extra_columns": {k: v for k, v in records.extra_columns.items() if v},
        "files": dict(records.files),
    }


def reject_objects(rejects: pd.DataFrame) -> list[dict]:
    return [{"file": r.file, "line": int(r.line), "column": r.column, "value": r.value,
             "reason": r.reason} for r in rejects.itertuples()]


def _problem_text(r) -> str:
    if r.column == "(row)":
        return f"{r.reason} ({r.value})"
    where = f"{r.column} " if r.column else ""
    value = f"{r.value!r}" if r.value else "(empty)"
    return f"{where}{value}: {r.reason}" if r.column else f"{r.reason}"


def _terminal_lines(lines: list[str]) -> str:
    """Lines the program composed, joined; within each, what came from the files is escaped
    (a newline or ESC in a cell is shown as ``\\x0a`` or ``\\x1b``, never acted on)."""
    return "\n".join(terminal(line) for line in lines)


def check_text(records: Records, info: dict, max_rejects: int) -> str:
    out = [f"records in {records.source}"]
    for t in TABLES:
        if t not in info["files"]:
            continue
        q = info["quarantined_by_table"].get(t, 0)
        line = f"  {t:<12}{info['loaded'][t]:>10,} rows loaded from {info['files'][t]}"
        line += f", {q:,} quarantined" if q else ""
        if info["blank_rows"].get(t):
            line += f", {info['blank_rows'][t]:,} blank line(s) skipped"
        out.append(line)
    added = (f" ({info['patients_added']:,} without a patients row: covariates missing)"
             if info["patients_added"] else "")
    out.append(f"  {'patients':<12}{info['patients']:>10,} distinct{added}")
    for t, r in info["date_range"].items():
        if r:
            out.append(f"  {t} from {r[0]} to {r[1]}")
    if info["treatments"]:
        out.append("  treatments: " + ", ".join(f"{k} {v:,}" for k, v in
                                                info["treatments"].items()))
    out.append("measures:")
    for k, m in records.measures.items():
        out.append(f"  {k}: {m.label}, {m.min:g}–{m.max:g}, {m.better} is better "
                   f"({info['ratings'][k]:,} ratings)")
    for t, cols in info["extra_columns"].items():
        out.append(f"extra columns in {t} (kept as text, not used by the analyses): "
                   + ", ".join(cols))
    if not info["quarantined"]:
        out.append("quarantined rows: none")
        return _terminal_lines(out)
    out.append(f"quarantined rows: {info['quarantined']:,} (kept out of the analyses), by reason:")
    for reason, n in info["quarantined_by_reason"].items():
        out.append(f"  {n:>8,}  {reason}")
    shown = records.rejects.head(max_rejects)
    more = len(records.rejects) - len(shown)
    if len(shown):
        out.append(f"first {len(shown)} problems (line 1 is the header):" if more else
                   "problems (line 1 is the header):")
    for r in shown.itertuples():
        out.append(f"  {r.file} line {r.line}: {_problem_text(r)}")
    if more:
        out.append(f"  ... {more:,} more (use --json for all)")
    return _terminal_lines(out)

