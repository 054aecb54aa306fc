"""Loading records: each table validated, the tables put together, every row accounted for.

:func:`load_records` (a folder) and :func:`from_frames` (DataFrames) read the tables
(:mod:`.read`), validate each (:func:`_validate_sessions`, ... with the rules of :mod:`.rules`),
set aside blank lines, exact duplicates, conflicting patients rows and assessments of unknown
patients, quarantine every row with a problem (:data:`REJECT_COLUMNS`), and return
:class:`Records`, whose counts add up: ``loaded_rows + quarantined == input_rows`` per table.
"""

from __future__ import annotations

import datetime as _dt
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import RecordsError
from .columns import _Plain
from .contract import (
    ASSESSMENT_COLUMNS,
    NUMBER_RANGES,
    PATIENT_COLUMNS,
    REQUIRED,
    SESSION_COLUMNS,
    TABLES,
)
from .read import (
    _find_tables,
    _pool,
    _prefetch,
    _Raw,
    _raw_from_frame,
    _reader,
    _threaded,
)
from .rules import (
    _check_category,
    _check_dates,
    _check_free_text,
    _check_identifier_values,
    _check_number,
    _check_text,
    _conflicting_patients,
    _find_duplicates,
    _flag_duplicates,
    _skin_verdict,
    _strings,
    _Table,
)
from .scales import Measure, read_scales
from .schema import table_schema
from .sources.mapping import read_mapped

__all__ = ["REJECT_COLUMNS", "Records", "from_frames", "load_records"]


REJECT_COLUMNS = ["file", "line", "column", "value", "reason"]
_REJECT_ALL = [*REJECT_COLUMNS, "table"]


_STRICT_LIST = 20
#: rows validated against the pandera schema after loading (the first ones beyond this size)
_CONTRACT_ROWS = 20_000


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype="str"), "line": pd.Series(dtype="int64"),
                         "column": pd.Series(dtype="str"), "value": pd.Series(dtype="str"),
                         "reason": pd.Series(dtype="str"), "table": pd.Series(dtype="str")})


def _empty_set_aside() -> pd.DataFrame:
    return pd.DataFrame(columns=["table", "file", "column", "reason", "value", "rows"])


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
    set_aside : DataFrame
        Rows of a practice system's export that its ``[sources]`` mapping set aside before the
        rules, as not records (cancelled appointments, consultations): ``table``, ``file``,
        ``column``, ``reason``, ``value``, ``rows`` (one row per reason and value); empty without
        a mapping. ``input_rows`` + set aside = rows in the files
        (:func:`outcomes.records.check.summary`).
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
    set_aside: pd.DataFrame = field(default_factory=_empty_set_aside)

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
    if keep.all or not _threaded(t.n):
        data = {name: t.out[name](keep) for name in names}
    else:  # copying the kept rows of each column: NumPy and Arrow kernels, in the workers
        work = {name: _pool().submit(t.out[name], keep) for name in names}
        data = {name: f.result() for name, f in work.items()}
    return pd.DataFrame(data, copy=False), problems  # the columns are fresh: no copy


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
    s_dups = (_reader().submit(_find_duplicates, s, s_blank) if _threaded(s.n) else None)
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


def _problem_text(r) -> str:
    if r.column == "(row)":
        return f"{r.reason} ({r.value})"
    where = f"{r.column} " if r.column else ""
    value = f"{r.value!r}" if r.value else "(empty)"
    return f"{where}{value}: {r.reason}" if r.column else f"{r.reason}"


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

    Notes
    -----
    A ``[sources]`` mapping in ``dataset.toml`` reads a practice system's export as it is
    (:func:`outcomes.records.sources.mapping.read_mapped`, which reads the files with this
    loader's readers) into the same raw tables: the rules are the same, quarantined rows keep the
    export's file, line, column and cell, and the rows the mapping sets aside are in
    :attr:`Records.set_aside`.
    """
    folder = Path(path)
    measures = read_scales(folder / "dataset.toml") if folder.is_dir() else None
    mapped = read_mapped(folder, measures) if folder.is_dir() else None
    if mapped is None:
        raws = _find_tables(folder, measures)
        return _assemble(raws, measures, source=folder, strict=strict)
    raws = {t: _Raw(t, m.file, m.columns, m.headers, m.lines, m.malformed)
            for t, m in mapped.tables.items()}
    records = _assemble(raws, measures, source=folder)
    records.rejects = mapped.restate(records.rejects)  # the export's columns and cells
    records.set_aside = mapped.set_aside
    if strict and len(records.rejects):
        raise RecordsError(_strict_message(records.rejects))
    return records


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
