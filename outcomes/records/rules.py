"""The rules a table's cells are held to (docs/methods.md §1): a verdict per distinct value.

Per-value verdicts on a column's unique values (:func:`_date_verdict`, :func:`_number_verdict`,
:func:`_category_verdict`, :func:`_skin_verdict`: a reason or the loaded value each), spread back
to the rows that hold them; :class:`_Table`, the validation state of one table (its columns, its
row problems, how each loaded column is built); the checks of one column (dates, numbers, text,
categories; a typed column of the fast CSV read used as read when every value passes); and the
checks of a whole table that refuse it: direct identifiers in any cell's text, and free text in
a column the records do not define; and the rules on whole rows: exact duplicates of an earlier
row, and ``patients`` rows that give one patient different values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import RecordsError
from .columns import _NULL_STR, _Col, _combined, _has_digit_or_at, _Plain, _recode, _to_text
from .contract import CATEGORIES, CATEGORY_DEFAULTS, EARLIEST_DATE
from .identifiers import (
    ID_COLUMNS,
    free_text_mask,
    looks_like_free_text_column,
    value_kinds_mask,
)
from .read import _ANONYMISE, _AS_READ, _Raw, _raw_is_plain

_ISO = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_OTHER_DATE = r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}$"
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


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


def _conflicting_patients(p: _Table, blank: np.ndarray) -> None:
    col = p.col("patient_id")
    live = (col.idx >= 0) & ~p.dup & ~blank
    counts = np.bincount(col.idx[live], minlength=len(col.values))
    clash = np.flatnonzero(live & (np.append(counts, 0)[col.idx] > 1))
    p.flag(clash, "patient_id", "patient_id on several lines with different values")
