"""Reading a records folder into raw tables (docs/methods.md §1): what the loader reads first.

Finding the tables of a folder (``sessions``, ``assessments``, ``patients`` as CSV, Parquet or
sheets of one ``.xlsx`` workbook) and reading each, or an in-memory DataFrame, into one form,
:class:`_Raw`: columns as read, the header as written, spreadsheet line numbers, and the lines
that could not be taken into the columns. Here too: headers (normalised, refused when empty,
repeated or naming a direct identifier), nested Parquet values and zoned timestamps made cells
(:func:`cells`), the sheets of a workbook (its cells and formulas: :mod:`.workbook`), the typed
CSV read, and the worker threads that read the small tables and encode each table's columns while
the next file is read (:func:`_prefetch`). How the loader works as a whole: :mod:`outcomes.records`.

The same readers read a file of a practice system's export as it is (:func:`read_as_is`, for a
``[sources]`` mapping): one reader per format. This module does not know the mapping; the loader
(:func:`outcomes.records.assemble.load_records`) calls it.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import RecordsError
from .columns import _Col, _is_plain
from .contract import (
    ASSESSMENT_COLUMNS,
    PATIENT_COLUMNS,
    REQUIRED,
    SESSION_COLUMNS,
    TABLES,
)
from .identifiers import identifier_columns
from .workbook import (
    FORMULA_REASON,
    Unsaved,
    _excel_text,
    _open_workbook,
    has_formulas,
    with_formulas,
)

__all__ = ["cells", "read_as_is"]


_ANONYMISE = ("Direct identifiers must not be in the records: pseudonymise the raw export first with "
              "`outcomes anonymise RAW OUT --key-file KEY` and load OUT.")


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


def _check_headers(file: str, headers: list, *, guard: bool = True) -> dict[str, str]:
    """Map normalised → written header; refuse empty/duplicate names and (``guard``) identifier
    columns."""
    ids = identifier_columns([str(h) for h in headers if h is not None]) if guard else {}
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


def _names_hint(table: str) -> str:
    """`` (patient_id, date, treatment, ...)`` for a table of the records; nothing for a file of a
    practice system's export, whose columns a mapping names (:func:`read_as_is`)."""
    return f" ({', '.join(REQUIRED[table])}, ...)" if table in REQUIRED else ""


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
                   only: list[str] | None = None, *, guard: bool = True) -> _Raw:
    """Read one CSV table, all as text except the ``typed`` columns; ``only``: these columns;
    ``guard``: refuse a header naming a direct identifier."""
    file = path.name
    if path.stat().st_size == 0:
        raise RecordsError(f"{file}: the file is empty. It needs a header line with the column "
                           f"names{_names_hint(table)} and one line per record.")
    header = _csv_header(path)
    headers = _check_headers(file, header, guard=guard)
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


def _read_parquet(path: Path, table: str, *, guard: bool = True) -> _Raw:
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise RecordsError(f"{path.name}: cannot be read as Parquet ({exc}). Export the table "
                           "again, or save it as CSV.") from None
    headers = _check_headers(path.name, data.column_names, guard=guard)
    return _Raw(table, path.name, {c: cells(c, data.column(i)) for i, c in enumerate(headers)},
                headers, np.arange(2, data.num_rows + 2, dtype=np.int64))


def cells(name: str, col):
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


def _read_workbook(path: Path, sheets=None, *, guard: bool = True) -> dict[str, _Raw]:
    """The sheets of a workbook named as tables of the records (``{table: _Raw}``), or the sheets
    named in ``sheets`` (``{sheet: _Raw}``, for a file of an export: :func:`read_as_is`)."""
    wb = _open_workbook(path)
    formulas = _open_workbook(path, formulas=True) if has_formulas(path) else None
    out = {}
    try:
        for sheet in wb.sheetnames:
            table = sheet.strip().lower()
            key = (sheet if sheet in sheets else None) if sheets is not None else (
                table if table in TABLES else None)
            if key is not None:
                out[key] = _read_sheet(wb[sheet], f"{path.name} (sheet {sheet})",
                                       table if sheets is None else "",
                                       formulas[sheet] if formulas is not None else None,
                                       guard=guard)
    finally:
        wb.close()
        if formulas is not None:
            formulas.close()
    return out


def _read_sheet(ws, file: str, table: str, formulas=None, *, guard: bool = True) -> _Raw:
    """One sheet as text columns. ``formulas``: the same sheet read with formulas instead of
    their saved values; a formula cell without a saved value makes its line a row problem
    (read as empty, a rating would be silently missing)."""
    rows = ws.iter_rows(values_only=True)
    if formulas is not None:
        rows = with_formulas(rows, formulas.iter_rows(values_only=True))
    header = None
    for header in rows:
        break
    if header is None or not any(v is not None and str(v).strip() for v in header):
        raise RecordsError(f"{file}: the sheet is empty or line 1 is not the header. Put the "
                           f"column names{_names_hint(table)} in line 1.")
    header = list(header)
    while header and (header[-1] is None or not str(header[-1]).strip()):
        header.pop()
    headers = _check_headers(file, header, guard=guard)
    width = len(header)
    cells: list[list] = [[] for _ in range(width)]
    lines = []
    malformed = []
    for line, row in enumerate(rows, start=2):
        unsaved = [i for i, v in enumerate(row) if isinstance(v, Unsaved) and i < width]
        if unsaved:
            names = [str(header[i]).strip() for i in unsaved]
            malformed.append((line, FORMULA_REASON, ",".join(names)))
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


def read_as_is(path: Path, sheet: str | None = None) -> _Raw:
    """One file (or one ``sheet`` of a workbook) of a practice system's export, read as it is.

    The loader's own readers, with one difference: a header naming a direct identifier is not
    refused (an export names people, and its files are read before a ``[sources]`` mapping,
    :mod:`outcomes.records.sources`, decides which columns the records use; the guard runs on
    the columns the mapping passes on). Every column is read as text (CSV) or as stored
    (Parquet, as :func:`cells` makes it), under its normalised header (``headers`` keeps the
    header as written, in the file's order); the ``table`` of the result is ``""``: the mapping
    decides it. A ``.xlsx`` file needs ``sheet`` (see :func:`.workbook.sheet_names`)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv_text(path, "", guard=False)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path, "", guard=False)
    if suffix == ".xlsx" and sheet is not None:
        return _read_workbook(path, [sheet], guard=False)[sheet]
    raise ValueError(f"read_as_is: {path.name} (sheet {sheet!r}) is not a file it reads")


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
                               f"{t}.parquet{where}) to the folder; or, for a practice "
                               "system's export, say in dataset.toml how to read its files "
                               "(`outcomes sources DIR` drafts the [sources] mapping).")
    return raws


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


def _threaded(n: int) -> bool:
    """Whether work on a table of ``n`` rows goes to the worker threads (the loader's other
    modules ask here, so that :data:`_PREFETCH_ROWS` is read in one place)."""
    return n >= _PREFETCH_ROWS and (os.cpu_count() or 1) >= 2


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
    columns = {n: cells(n, _arrow_column(frame.iloc[:, i])) for i, n in enumerate(headers)}
    return _Raw(table, file, columns, headers, np.arange(2, len(frame) + 2, dtype=np.int64))
