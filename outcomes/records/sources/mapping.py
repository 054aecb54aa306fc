"""A practice system's export read as it is, through a mapping (docs/methods.md §1.14).

A practice-management system exports an appointments list, a consultation form's ratings and a
client list — not the records contract of docs/methods.md §1. A ``[sources]`` block in
``dataset.toml`` says how to read them (``outcomes sources RAW`` drafts it)::

    [sources.sessions]
    file = "appointments.csv"            # .csv, .xlsx (with sheet = "..."), .parquet
    columns = { patient_id = "Client ID", date = "Date", treatment = "Service" }
    dates = "day-first"                  # "day-first" | "month-first" | "iso"
    keep = { Status = ["Completed"] }
    treatments = { microneedling = ["microneedling", "skinpen"] }

This module reads the files named there (with the loader's own readers, :mod:`.files`) and hands
the loader (:func:`outcomes.records.assemble.load_records`) and ``outcomes anonymise``
(:func:`outcomes.privacy.export.anonymise`) the tables in their own raw form, so that every rule
of the records applies unchanged and quarantined rows keep the *source* file's line numbers.
What the mapping does, and nothing else:

* **renames** columns (``columns``; a column already named as in the contract needs no entry);
  measure columns by ``measures`` — one assessments row per source row, a column per measure;
* **parses dates** in the declared order (``dates``), never guessing; ``YYYY-MM-DD`` is always
  read (it is unambiguous), as are dates with a month name; a time after the date is allowed;
* **maps values** (``values``). A closed vocabulary (sex, skin type, smoking, sun exposure,
  skincare, concern, region, rater, and a measure given ``values``) must be mapped completely: a
  value that is neither mapped, nor already a value of the records, nor in the small built-in
  vocabulary (:data:`VOCABULARY`: ``Type IV``, ``Ex-smoker``, ``Medium``, ``Full face`` ...; each
  use is listed) stops with a message naming file, line, column and value and the line to add;
* **sets rows aside** that are not records — ``keep`` (e.g. cancelled appointments) and
  ``treatments`` (services matching no pattern: consultations, skin scans) — each counted by
  reason and value, so that ``loaded + quarantined + set aside = rows in the files``;
* turns a **date of birth** into age at the patient's first session (never kept).

Columns the mapping does not name are passed on as they are: the analyses ignore them, and the
loader's identifier guard still sees names, e-mails and phone numbers (and points to
``outcomes anonymise``, which drops them and writes contract records).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ...errors import RecordsError
from ..contract import REQUIRED
from ..identifiers import identifier_columns
from ..scales import default_measures
from .files import Source, read_source, text_of
from .spec import (
    _OTHER,
    CLOSED,
    DATES,
    ORDERS,
    TARGETS,
    VOCABULARY,
    TableSource,
    _as_is,
    _key,
    _norm,
    _norms,
    _vocabulary,
    has_mapping,
    parse_date,
    read_spec,
    strip_sources,
)

__all__ = ["ORDERS", "VOCABULARY", "Mapped", "TableSource", "has_mapping", "parse_date",
           "read_mapped", "read_spec", "set_aside_lines", "set_aside_summary", "strip_sources"]


# ----------------------------------------------------------------------------------------------
# one table through its mapping


@dataclass
class MappedTable:
    """One table after its mapping, in the loader's raw form (see :func:`read_mapped`)."""

    table: str
    file: str
    columns: dict            # key → Arrow column (records columns by their name)
    headers: dict            # key → the source header (for messages)
    lines: np.ndarray
    malformed: list
    rows_in_file: int
    passthrough: list        # keys of the columns the mapping does not name
    #: key → the source cells at the rows passed on (messages quote the cell as written)
    originals: dict = field(default_factory=dict)
    #: key → {line: reason} for dates that did not read in the declared order
    date_reasons: dict = field(default_factory=dict)
    set_aside: list = field(default_factory=list)
    vocabulary: list = field(default_factory=list)
    #: key → how the mapping reads it (for the preview)
    how: dict = field(default_factory=dict)


def _find(src: Source, header: str, where: str, what: str) -> int:
    exact = [i for i, h in enumerate(src.headers) if h.strip() == header.strip()]
    loose = [i for i, h in enumerate(src.headers) if _key(h) == _key(header)]
    if exact or len(loose) == 1:
        return (exact or loose)[0]
    close = difflib.get_close_matches(header, [h.strip() for h in src.headers], n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise RecordsError(f"{where} {what} = {header!r}, but {src.file} line 1 (the header) has no "
                       f"column {header!r}; it has {', '.join(repr(h) for h in src.headers)}."
                       f"{hint} Fix the name in dataset.toml.")


def _cells(col) -> list:
    return text_of(col).to_pylist()


def _map_table(spec: TableSource, src: Source, measures) -> MappedTable:
    table, where, n = spec.table, spec.where, src.n
    known = set(TARGETS[table]) | (set(spec.measures or measures) if table == "assessments"
                                   else set())
    claims: dict[str, int] = {}
    for target, header in {**spec.columns, **spec.measures}.items():
        claims[target] = _find(src, header, where, "columns" if target in spec.columns
                               else "measures")
        clash = [t for t, i in claims.items() if i == claims[target] and t != target]
        if clash:
            raise RecordsError(f"{where}: column {header!r} is mapped to both {clash[0]} and "
                               f"{target}; map it once.")
    for i, h in enumerate(src.headers):  # columns already named as in the records
        k = _norm(h)
        twin = {"age": "date_of_birth", "date_of_birth": "age"}.get(k)  # one gives the other
        if i not in claims.values() and k in known and k not in claims and twin not in claims:
            claims[k] = i
    missing = [c for c in REQUIRED[table] if c not in claims]
    if missing:
        raise RecordsError(f"{where}: {src.file} gives no {' and no '.join(missing)}; map the "
                           f"column(s) that hold them, e.g. columns = {{ {missing[0]} = "
                           f'"{src.headers[0].strip()}" }}. Its columns: '
                           f"{', '.join(repr(h) for h in src.headers)}.")
    if table == "assessments" and not any(c in measures for c in claims):
        raise RecordsError(f"{where}: no measure column. Name the rating columns, e.g. measures "
                           '= { pore = "Pore size (0-4)", texture = "Texture (0-4)" }.')
    blank = np.ones(n, dtype=bool)
    for col in src.columns:
        blank &= np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    aside = np.zeros(n, dtype=bool)
    out = MappedTable(table, src.file, {}, {}, src.lines, src.malformed,
                      n + len(src.malformed), [])
    for header, kept in spec.keep.items():
        i = _find(src, header, where, "keep")
        cells = [None if v is None else v.strip() for v in _cells(src.columns[i])]
        allowed = {_key(x) for x in kept}
        drop = np.array([v is None or _key(v) not in allowed for v in cells], dtype=bool)
        drop &= ~blank & ~aside
        _count_aside(out, drop, cells, src.headers[i].strip(), "keep")
        aside |= drop
    treatment = None
    if spec.treatments and "treatment" in claims:
        i = claims["treatment"]
        cells = [None if v is None else v.strip() for v in _cells(src.columns[i])]
        groups = _group_services(spec, cells, src)
        treatment = [None if v is None or not v else groups.get(v) for v in cells]
        drop = np.array([v is not None and v != "" and groups.get(v) is None for v in cells],
                        dtype=bool) & ~blank & ~aside
        _count_aside(out, drop, cells, src.headers[i].strip(), "treatments")
        aside |= drop
        out.how["treatment"] = f"services grouped into {', '.join(spec.treatments)}"
    rows = np.flatnonzero(~aside)
    take = pa.array(rows, type=pa.int64())
    out.lines = src.lines[rows]
    for key, i in claims.items():
        col = src.columns[i].take(take) if len(rows) < n else src.columns[i]
        out.headers[key] = src.headers[i].strip()
        out.originals[key] = text_of(col)
        if spec.implicit:
            pass
        elif key == "treatment" and treatment is not None:
            col = pa.array([treatment[r] for r in rows], type=pa.string())
        elif key in DATES:
            col = _dates(out, key, col, spec)
        elif key in spec.values or key in CLOSED:
            col = _values(out, key, col, spec, measures)
        out.columns[key] = col
    taken = set(out.columns)
    for i, h in enumerate(src.headers):
        if i in claims.values():
            continue
        key, header = _norm(h), h.strip()
        if _norms(h) & (taken | known):
            key, header = _norm(f"{h} (not mapped)"), f"{header} (not mapped)"
        col = src.columns[i]
        out.columns[key] = col.take(take) if len(rows) < n else col
        out.headers[key] = header
        out.passthrough.append(key)
        taken.add(key)
    return out


def _count_aside(out: MappedTable, drop: np.ndarray, cells: list, header: str, kind: str):
    if not drop.any():
        return
    values = pd.Series([cells[r] if cells[r] else "(empty)" for r in np.flatnonzero(drop)])
    for value, count in values.value_counts(sort=True).items():
        reason = (f"{header} not kept" if kind == "keep" else f"{header} not mapped to a "
                  "treatment")
        out.set_aside.append({"table": out.table, "file": out.file, "column": header,
                              "reason": reason, "value": str(value), "rows": int(count)})


def _group_services(spec: TableSource, cells: list, src: Source) -> dict[str, str | None]:
    groups: dict[str, str | None] = {}
    for service in dict.fromkeys(v for v in cells if v):
        low = service.casefold()
        hits = [(len(p), g, p) for g, pats in spec.treatments.items() for p in pats
                if p.casefold() in low]
        if not hits:
            groups[service] = None
            continue
        best = max(h[0] for h in hits)
        top = {g: p for n, g, p in hits if n == best}
        if len(top) > 1:
            (g1, p1), (g2, p2) = list(top.items())[:2]
            line = src.lines[cells.index(service)]
            raise RecordsError(
                f"{src.file} line {line}, column {spec.columns.get('treatment', 'treatment')!r}: "
                f"the service {service!r} matches {g1} ({p1!r}) and {g2} ({p2!r}) alike, in "
                f"{spec.where} treatments. Add the whole service name to the group it belongs "
                f'to, e.g. {g1} = [..., "{service}"] (the longest matching pattern wins).')
        groups[service] = next(iter(top))
    return groups


def _dates(out: MappedTable, key: str, col, spec: TableSource) -> pa.Array:
    cells = text_of(col).to_pylist()
    verdicts = {v: parse_date(v, spec.dates) for v in dict.fromkeys(c for c in cells if c and
                                                                  c.strip())}
    filled = [c for c in cells if c and c.strip()]
    bad = [c for c in filled if verdicts[c][1]]
    other = [c for c in bad if verdicts[c][2]]
    if filled and (2 * len(bad) > len(filled) or len(other) >= max(3, 0.1 * len(filled))):
        first = (other or bad)[0]
        line = out.lines[cells.index(first)]
        if other and spec.dates in _OTHER:
            fix = (f'They read as {_OTHER[spec.dates]}: set dates = "{_OTHER[spec.dates]}" under '
                   f"[sources.{out.table}] in dataset.toml.")
        elif other:
            fix = (f'Say their order under [sources.{out.table}] in dataset.toml: dates = '
                   '"day-first" (25/03/2024) or "month-first" (03/25/2024).')
        else:
            fix = (f"Check that [sources.{out.table}] columns names the column that holds the "
                   f"{key}.")
        raise RecordsError(f"{out.file} line {line}, column {out.headers[key]!r}: {first!r} is "
                           f"{verdicts[first][1]}, and so are {len(other or bad)} of the "
                           f"{len(filled)} dates in the column. {fix}")
    out.date_reasons[key] = {int(out.lines[r]): verdicts[c][1] for r, c in enumerate(cells)
                             if c and c.strip() and verdicts[c][1]}
    out.how[key] = f"dates read {spec.dates}" if spec.dates != "iso" else "dates YYYY-MM-DD"
    return pa.array([c if not c or not c.strip() or verdicts[c][0] is None else verdicts[c][0]
                     for c in cells], type=pa.string())


def _values(out: MappedTable, key: str, col, spec: TableSource, measures) -> pa.Array:
    cells = text_of(col).to_pylist()
    explicit = spec.values.get(key, {})
    header = out.headers[key]
    closed = key in CLOSED or (key in measures and key in spec.values)
    prefix = re.compile(rf"^\s*{re.escape(header)}\s*:\s*", re.IGNORECASE)
    resolved, unresolved = {}, []
    for value in dict.fromkeys(c for c in cells if c and c.strip()):
        bare = prefix.sub("", value).strip()
        for v in (value, bare):
            if _key(v) in explicit:
                resolved[value] = explicit[_key(v)] or None
                break
        else:
            if key in measures:
                if closed and not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", bare):
                    unresolved.append(value)
                resolved[value] = bare
            elif key not in CLOSED or _as_is(key, bare) is not None:
                resolved[value] = _as_is(key, bare) if key in CLOSED else value
                if bare != value:  # "Sun exposure: High" read as high: say so
                    out.vocabulary.append({"table": out.table, "file": out.file,
                                           "column": header, "value": value,
                                           "to": resolved[value],
                                           "rows": cells.count(value)})
            elif _vocabulary(key, bare) is not None:
                resolved[value] = _vocabulary(key, bare)
                out.vocabulary.append({"table": out.table, "file": out.file, "column": header,
                                       "value": value, "to": resolved[value],
                                       "rows": cells.count(value)})
            else:
                unresolved.append(value)
    if unresolved:
        listed = "; ".join(f"{v!r} ({cells.count(v)} rows, first on line "
                           f"{out.lines[cells.index(v)]})" for v in unresolved[:8])
        allowed = CLOSED.get(key, ("a number on the scale",))
        add = "\n".join(f'  "{v}" = "..."' for v in unresolved[:8])
        raise RecordsError(
            f"{out.file}, column {header!r} ({key}): value(s) with no mapping: {listed}. Say "
            f"what each means in dataset.toml, under [sources.{out.table}.values.{key}] (one of "
            f"{', '.join(allowed)}, or \"\" for missing):\n{add}")
    if explicit or any(resolved.get(c, c) != c for c in resolved):
        out.how[key] = "values mapped"
    return pa.array([None if not c or not c.strip() else resolved.get(c, c) for c in cells],
                    type=pa.string())


# ----------------------------------------------------------------------------------------------
# the export as a whole


@dataclass
class Mapped:
    """The tables of an export read through its mapping."""

    tables: dict[str, MappedTable]
    spec: dict[str, TableSource]

    @property
    def set_aside(self) -> pd.DataFrame:
        """Rows set aside: ``table, file, column, reason, value, rows`` (one row per value)."""
        rows = [r for t in self.tables.values() for r in t.set_aside]
        return pd.DataFrame(rows, columns=["table", "file", "column", "reason", "value", "rows"])

    @property
    def vocabulary(self) -> pd.DataFrame:
        """Values read by the built-in vocabulary: ``table, file, column, value, to, rows``."""
        rows = [r for t in self.tables.values() for r in t.vocabulary]
        return pd.DataFrame(rows, columns=["table", "file", "column", "value", "to", "rows"])

    def restate(self, rejects: pd.DataFrame) -> pd.DataFrame:
        """Quarantined rows in the words of the export: the source column, the cell as written
        in the source file, and why a date did not read in the declared order."""
        if rejects.empty:
            return rejects
        out = rejects.copy()
        columns, values, reasons = [], [], []
        for r in rejects.itertuples():
            t = self.tables.get(r.table)
            keys = str(r.column).split(",")
            if t is None or not all(k in t.headers for k in keys):
                columns.append(r.column), values.append(r.value), reasons.append(r.reason)
                continue
            columns.append(",".join(t.headers[k] for k in keys))
            pos = int(np.searchsorted(t.lines, r.line))
            ok = pos < len(t.lines) and t.lines[pos] == r.line and len(keys) == 1
            if ok and keys[0] in t.originals and r.value != "":
                cell = t.originals[keys[0]][pos].as_py()
                values.append("" if cell is None else str(cell))
            else:
                values.append(r.value)
            reasons.append(t.date_reasons.get(keys[0], {}).get(int(r.line), r.reason))
        out["column"], out["value"], out["reason"] = columns, values, reasons
        return out

    def account(self) -> list[str]:
        """Lines for the account of ``outcomes anonymise``: how each file was read, the values
        read by the built-in vocabulary, and the rows set aside."""
        lines = []
        for name, t in self.tables.items():
            if self.spec[name].implicit:
                continue
            read = [f"{t.headers[k]} -> {k}" + (f" ({t.how[k]})" if k in t.how else "")
                    for k in t.headers if k not in t.passthrough]
            lines.append(f"{t.file} -> {name}: " + ", ".join(read))
        lines += [f"{r.file}: {r.column} {r.value!r} read as {r.to!r} (built-in vocabulary, "
                  f"{r.rows} rows)" for r in self.vocabulary.itertuples()]
        out = [f"{'mapped:' if i == 0 else '':<9}{x}" for i, x in enumerate(lines)]
        aside = set_aside_lines(self.set_aside)
        if aside:
            out.append("set aside (rows of the export that are not records; not written):")
            out += [" " * 7 + x for x in aside[1:]]
        return out

    def frames(self) -> dict[str, tuple[pd.DataFrame, str]]:
        """The tables as text frames for ``outcomes anonymise``: records columns under their
        names (dates ``YYYY-MM-DD``, values mapped), the others under their source header;
        indexed by line − 2, so that index + 1 is the row's data row in the export's file."""
        out = {}
        for name, t in self.tables.items():
            index = pd.Index(t.lines - 2)  # + 1 = the row's data row in the export's file
            data = {(k if k not in t.passthrough else t.headers[k]):
                    pd.Series(text_of(c).to_pylist(), dtype="str", index=index)
                    for k, c in t.columns.items()}
            out[name] = (pd.DataFrame(data, index=index), t.file)
        return out


def read_mapped(folder, measures=None, *, guard: bool = True,
                ages: bool | None = None) -> Mapped | None:
    """Read the export in ``folder`` through its ``[sources]`` mapping (None without one).

    ``guard``: for the loader, refuse columns the mapping passes on whose name says they identify
    people (the loader's own rule), and turn a date of birth into age at the first session.
    ``outcomes anonymise`` reads with ``guard=False``: it drops those columns itself and turns
    the date of birth (given here as ``date_of_birth``, ``YYYY-MM-DD``) into age. ``ages``: turn
    the date of birth into age here (default: as ``guard``).
    """
    folder = Path(folder)
    spec = read_spec(folder, measures) if folder.is_dir() else None
    if spec is None:
        return None
    measures = dict(measures or default_measures())
    tables = {}
    for name, s in spec.items():
        src = read_source(folder, s.file, s.sheet, where=s.where)
        tables[name] = _map_table(s, src, measures)
    if guard:
        for t in tables.values():
            ids = identifier_columns([t.headers[k] for k in t.passthrough])
            if ids:
                listed = ", ".join(f"{c!r} ({k})" for c, k in ids.items())
                raise RecordsError(
                    f"{t.file}: column(s) {listed} look like direct identifiers. Direct "
                    "identifiers must not be in the records: `outcomes anonymise RAW OUT "
                    "--key-file KEY` reads the export through its [sources] mapping, drops "
                    "them and writes records to OUT; load OUT.")
    if (guard if ages is None else ages) and "patients" in tables and (
            "date_of_birth" in tables["patients"].columns):
        _ages(tables["patients"], tables["sessions"])
    return Mapped(tables, spec)


def _ages(p: MappedTable, s: MappedTable) -> None:
    """Date of birth → completed years at the first session passed on (never kept)."""
    first: dict[str, _dt.date] = {}
    for pid, day in zip(text_of(s.columns["patient_id"]).to_pylist(),
                        text_of(s.columns["date"]).to_pylist()):
        if pid and pid.strip() and day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            d = _dt.date.fromisoformat(day)
            key = pid.strip()
            first[key] = min(first.get(key, d), d)
    ages = []
    for pid, dob in zip(text_of(p.columns["patient_id"]).to_pylist(),
                        p.columns["date_of_birth"].to_pylist()):
        if not dob or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", dob):
            ages.append(dob)  # not a date: the loader sets the row aside (reason restated)
            continue
        at = first.get((pid or "").strip())
        born = _dt.date.fromisoformat(dob)
        ages.append(None if at is None else str(at.year - born.year - (
            (at.month, at.day) < (born.month, born.day))))
    cols = dict(p.columns)
    del cols["date_of_birth"]
    cols["age"] = pa.array(ages, type=pa.string())
    p.columns = cols
    for d in (p.headers, p.originals, p.date_reasons, p.how):
        if "date_of_birth" in d:
            d["age"] = d.pop("date_of_birth")
    p.how["age"] = "age at the first session; the date of birth is not kept"


# ----------------------------------------------------------------------------------------------
# what `outcomes check` adds, and dataset.toml without the mapping


def set_aside_summary(set_aside: pd.DataFrame, input_rows: dict) -> dict:
    """The JSON of ``outcomes check``: ``set_aside`` (one object per reason and value),
    ``set_aside_rows`` per table and ``rows_in_files`` = input rows + set aside."""
    per = dict.fromkeys(input_rows, 0)
    if len(set_aside):
        for t, n in set_aside.groupby("table")["rows"].sum().items():
            per[str(t)] = int(n)
    return {"set_aside": [{k: (int(v) if k == "rows" else str(v)) for k, v in r.items()}
                          for r in set_aside.to_dict(orient="records")],
            "set_aside_rows": per,
            "rows_in_files": {t: int(input_rows.get(t, 0)) + per.get(t, 0) for t in per}}


def set_aside_lines(set_aside: pd.DataFrame) -> list[str]:
    """Lines for ``outcomes check``: what the mapping set aside, by file, reason and value."""
    if set_aside.empty:
        return []
    out = [(f"set aside by the [sources] mapping: {int(set_aside['rows'].sum()):,} rows (not "
           "records of a session, a rating or a patient; counted, never loaded):")]
    for (file, column, reason), g in set_aside.groupby(["file", "column", "reason"], sort=False):
        if reason.endswith("not kept"):
            out += [f"  {file}: {column} = {r.value}: {r.rows:,} rows" for r in g.itertuples()]
        else:
            listed = ", ".join(f"{r.value} ({r.rows:,} rows)" for r in g.itertuples())
            out.append(f"  {file}: {column} not mapped to a treatment: {listed}")
    return out
