"""A column encoded once, and the byte-level proofs that let a column be used as read.

:class:`_Col` encodes a column of a raw table once: codes per row and its unique values, as read
(for messages, which quote the cell as written) and normalised (trimmed, lower-cased where the
rule says so, empty → missing), so that every rule works on the unique values. :class:`_Plain`
is a column used as read, without encoding: text that :func:`_is_plain` proves normalisation
cannot change, or typed dates and numbers whose every value passed the checks. The proofs look
at the bytes of the Arrow buffers: :func:`_is_plain` (ASCII, no whitespace, no empty string, no
capital where lower-cased) and :func:`_has_digit_or_at` (no cell can hold an identifier looked for
outside id columns). Each is conservative: a column it cannot vouch for takes the general path,
which gives the same result (``tests/test_records.py::TestFastPathsMatchGeneralPath``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
