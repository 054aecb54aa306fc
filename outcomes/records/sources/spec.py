"""The ``[sources]`` mapping as written in ``dataset.toml``, and the dates it declares
(docs/methods.md §1.14).

:func:`read_spec` checks the block key by key — every mistake is one :class:`RecordsError`
naming the table, the key and what to write instead — and returns one :class:`TableSource` per
table; :func:`parse_date` reads one cell in the declared day/month order (never guessing:
``YYYY-MM-DD`` and month names are read whatever the order, being unambiguous);
:data:`VOCABULARY` holds the spellings a practice system uses for the records' values, read
without a ``values`` entry; :func:`strip_sources` gives ``dataset.toml`` without the block (for
``outcomes anonymise``'s OUT). Applying the mapping to the files is :mod:`.mapping`.
"""

from __future__ import annotations

import datetime as _dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import RecordsError
from ..contract import ASSESSMENT_COLUMNS, CATEGORIES, PATIENT_COLUMNS, SESSION_COLUMNS
from ..dataset import read_toml
from ..scales import default_measures
from ..toml_lines import loads

__all__ = ["CLOSED", "DATES", "KEYS", "ORDERS", "TARGETS", "VOCABULARY", "TableSource",
           "has_mapping", "parse_date", "parse_spec", "read_spec", "strip_sources"]

ORDERS = ("day-first", "month-first", "iso")
KEYS = ("file", "sheet", "columns", "dates", "keep", "treatments", "measures", "values")
#: the columns a mapping may name, per table (a date of birth becomes age)
TARGETS = {"sessions": tuple(SESSION_COLUMNS), "assessments": tuple(ASSESSMENT_COLUMNS),
           "patients": (*PATIENT_COLUMNS, "date_of_birth")}
DATES = ("date", "date_of_birth")
#: closed vocabularies: every value must be one of the records' or mapped
CLOSED = {**{k: tuple(v) for k, v in CATEGORIES.items()}, "skin_type": ("1", "2", "3", "4", "5",
                                                                        "6")}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
#: spellings a practice system uses for the records' values, read without a ``values`` entry
VOCABULARY = {
    "sex": {"woman": "F", "man": "M", "non-binary": "X", "nonbinary": "X", "non binary": "X"},
    "smoker": {"no": "never", "non-smoker": "never", "non smoker": "never", "never smoked": "never",
               "ex-smoker": "former", "ex smoker": "former", "ex": "former", "quit": "former",
               "former smoker": "former", "yes": "current", "smoker": "current",
               "current smoker": "current"},
    "sun_exposure": {"medium": "moderate", "minimal": "low", "none": "low"},
    "skincare": {"no routine": "none", "medical-grade": "medical", "medical grade": "medical",
                 "prescription": "medical"},
    "concern": {"enlarged pores": "enlarged", "large pores": "enlarged", "blackheads": "clogged",
                "clogged pores": "clogged", "congestion": "clogged", "congested": "clogged"},
    "rater": {"practitioner": "clinician", "therapist": "clinician", "doctor": "clinician",
              "nurse": "clinician", "staff": "clinician", "client": "patient",
              "self": "patient", "customer": "patient"},
    "region": {"full face": "face", "whole face": "face", "cheek": "cheeks"},
}
_SKIN_PREFIX = re.compile(r"^(?:fitzpatrick|skin\s*type|type|fst|phototype)[\s:\-]*", re.IGNORECASE)


def _norm(h) -> str:
    """A header as the loader names it (``Client ID`` → ``client_id``)."""
    return re.sub(r"\s+", "_", str(h).strip().lower())


def _norms(h) -> set[str]:
    """The names the loader and ``outcomes anonymise`` would read a header as."""
    return {_norm(h), re.sub(r"[\s\-]+", "_", str(h).strip().lower())}


# ----------------------------------------------------------------------------------------------
# the mapping, as written in dataset.toml


@dataclass
class TableSource:
    """How one table of the records is read from a file of the export."""

    table: str
    file: str
    sheet: str | None = None
    columns: dict = field(default_factory=dict)      # records column → source header
    dates: str = "iso"
    keep: dict = field(default_factory=dict)         # source header → values kept
    treatments: dict = field(default_factory=dict)   # treatment → substrings of the service
    measures: dict = field(default_factory=dict)     # measure → source header
    values: dict = field(default_factory=dict)       # records column → {value as written: to}
    #: where messages say the mapping is (``dataset.toml [sources.sessions]``)
    where: str = ""
    #: a contract-shaped file the mapping does not name: passed on untouched
    implicit: bool = False


def has_mapping(folder) -> bool:
    """Whether ``folder/dataset.toml`` holds a ``[sources]`` mapping."""
    doc = read_toml(Path(folder) / "dataset.toml") if Path(folder).is_dir() else None
    return bool(doc) and "sources" in doc


def read_spec(folder: Path, measures=None) -> dict[str, TableSource] | None:
    """The ``[sources]`` mapping of ``folder/dataset.toml``, or ``None`` when it has none."""
    doc = read_toml(Path(folder) / "dataset.toml")
    if not doc or "sources" not in doc:
        return None
    return parse_spec(doc["sources"], Path(folder), measures)


def parse_spec(block, folder: Path, measures=None) -> dict[str, TableSource]:
    """Check a ``[sources]`` block and return one :class:`TableSource` per table.

    A table the block does not name is read from the folder's contract-shaped file
    (``assessments.csv`` ...), when there is one.
    """
    measures = dict(measures or default_measures())
    if not isinstance(block, dict) or not block:
        raise RecordsError("dataset.toml: [sources] must hold tables such as [sources.sessions] "
                           "(`outcomes sources DIR` drafts them).")
    unknown = sorted(set(block) - {"sessions", "assessments", "patients"})
    if unknown:
        raise RecordsError(f"dataset.toml: [sources.{unknown[0]}] is not a table of the records; "
                           "the tables are sessions, assessments and patients.")
    out = {}
    for table in ("sessions", "assessments", "patients"):
        if table in block:
            out[table] = _table_spec(table, block[table], measures)
        else:
            found = [p.name for p in sorted(Path(folder).glob(f"{table}.*"))
                     if p.suffix.lower() in (".csv", ".parquet", ".pq")]
            if found:
                out[table] = TableSource(table, found[0], where=f"{found[0]}:", implicit=True)
            elif table != "patients":
                raise RecordsError(f"dataset.toml: [sources] names no {table} table, and the "
                                   f"folder has no {table}.csv. Add [sources.{table}] with the "
                                   "file it is read from (`outcomes sources DIR` drafts it).")
    return out


def _table_spec(table: str, spec, measures) -> TableSource:
    where = f"dataset.toml [sources.{table}]"
    if not isinstance(spec, dict):
        raise RecordsError(f"{where} must be a table with keys {', '.join(KEYS)}.")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise RecordsError(f"{where} has unknown key(s) {', '.join(unknown)}; the keys are "
                           f"{', '.join(KEYS)}.")
    if not isinstance(spec.get("file"), str) or not spec["file"].strip():
        raise RecordsError(f'{where} needs file = "..." (the file of the export it is read '
                           "from).")
    s = TableSource(table, spec["file"].strip(), where=where)
    if "sheet" in spec:
        s.sheet = _text(spec["sheet"], f"{where} sheet")
    s.dates = spec.get("dates", "iso")
    if s.dates not in ORDERS:
        raise RecordsError(f"{where} dates = {s.dates!r}; it must be one of "
                           f"{', '.join(map(repr, ORDERS))} (day-first: 25/03/2024).")
    s.columns = _pairs(spec.get("columns", {}), f"{where} columns")
    for target in s.columns:
        if target not in TARGETS[table]:
            hint = (" (measures go under measures = { ... })" if table == "assessments"
                    and target in measures else "")
            raise RecordsError(f"{where} columns: {target!r} is not a column of the {table} "
                               f"records{hint}; the columns are {', '.join(TARGETS[table])}.")
    if "age" in s.columns and "date_of_birth" in s.columns:
        raise RecordsError(f"{where} columns maps both age and date_of_birth; map one of them "
                           "(a date of birth becomes age at the first session).")
    keep = spec.get("keep", {})
    if not isinstance(keep, dict):
        raise RecordsError(f'{where} keep must be a table like keep = {{ Status = ["Completed"] '
                           "}.")
    s.keep = {str(k): _values_list(v, f"{where} keep.{k}") for k, v in keep.items()}
    if "treatments" in spec:
        if table != "sessions":
            raise RecordsError(f"{where}: treatments belong to [sources.sessions].")
        raw = spec["treatments"]
        if not isinstance(raw, dict) or not raw:
            raise RecordsError(f'{where} treatments must be a table like treatments = '
                               '{ microneedling = ["microneedling", "skinpen"] }.')
        s.treatments = {str(k).strip().lower(): _values_list(v, f"{where} treatments.{k}")
                        for k, v in raw.items()}
    if "measures" in spec:
        if table != "assessments":
            raise RecordsError(f"{where}: measures belong to [sources.assessments].")
        s.measures = _pairs(spec["measures"], f"{where} measures")
        for m in s.measures:
            if m not in measures:
                raise RecordsError(f"{where} measures: {m!r} has no scale; declare it in "
                                   f"dataset.toml as [measures.{m}] (min, max, better), or use "
                                   f"one of {', '.join(sorted(measures))}.")
    values = spec.get("values", {})
    if not isinstance(values, dict):
        raise RecordsError(f"{where} values must be a table like values = {{ sex = {{ Female "
                           '= "F" } }.')
    for column, mapping in values.items():
        if not isinstance(mapping, dict):
            raise RecordsError(f"{where} values.{column} must be a table like "
                               '{ "Value as written" = "value in the records" }.')
        allowed = (*TARGETS[table], *(s.measures or (measures if table == "assessments"
                                                     else {})))
        if column not in allowed or column in DATES:
            usable = ", ".join(c for c in allowed if c not in DATES)
            raise RecordsError(f"{where} values: {column!r} is not a column whose values can be "
                               f"mapped here; use one of {usable}.")
        s.values[column] = {_key(k): _target(table, column, v, f"{where} values.{column}", k,
                                             measures) for k, v in mapping.items()}
    return s


def _text(v, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise RecordsError(f"{where} must be a name in quotes, but {v!r} was given.")
    return v


def _pairs(v, where: str) -> dict[str, str]:
    if not isinstance(v, dict):
        raise RecordsError(f'{where} must be a table like {{ patient_id = "Client ID" }}.')
    return {str(k): _text(h, f"{where}.{k}") for k, h in v.items()}


def _values_list(v, where: str) -> tuple[str, ...]:
    v = [v] if isinstance(v, str) else v
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
        raise RecordsError(f'{where} must be a list of values in quotes, like ["Completed"].')
    return tuple(x.strip() for x in v)


def _key(k) -> str:
    return re.sub(r"\s+", " ", str(k).strip()).casefold()


def _target(table, column, v, where, written, measures):
    """A value's mapping target as the loader will read it (``""`` = missing)."""
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise RecordsError(f"{where}: {written!r} = {v!r}; give a value in quotes or a number.")
    if v == "?":
        raise RecordsError(f"{where}: {written!r} = \"?\" is a question the draft left for you: "
                           "replace the ? with what the value means.")
    text = str(v).strip()
    if text == "":
        return ""
    if column in measures and table == "assessments":
        if isinstance(v, str):
            raise RecordsError(f"{where}: {written!r} = {v!r}; a rating maps to a number.")
        return repr(float(v)) if not float(v).is_integer() else str(int(v))
    if column in CLOSED and _as_is(column, text) is None:
        raise RecordsError(f"{where}: {written!r} = {v!r}, but {v!r} is not a {column} of the "
                           f"records; use one of {', '.join(CLOSED[column])} (or \"\" for "
                           "missing).")
    return _as_is(column, text) if column in CLOSED else text


_SEX = {"f": "F", "female": "F", "w": "F", "m": "M", "male": "M", "x": "X", "diverse": "X",
        "other": "X"}


def _as_is(column: str, value: str) -> str | None:
    """The records' own spelling of ``value`` when the loader reads it as it is in a closed
    column (``Female`` → ``F``, ``IV`` → ``4``, ``Never`` → ``never``), else None."""
    low = value.strip().lower()
    if column == "sex":
        return _SEX.get(low)
    if column == "skin_type":
        return _ROMAN.get(low) or (low[0] if re.fullmatch(r"[1-6](\.0*)?", low) else None)
    return low if low in CLOSED[column] else None


def _vocabulary(column: str, value: str) -> str | None:
    low = re.sub(r"\s+", " ", value.strip().lower())
    if column == "skin_type":
        rest = _SKIN_PREFIX.sub("", low)
        if rest != low:
            return _ROMAN.get(rest) or (rest if re.fullmatch(r"[1-6]", rest) else None)
        return None
    return VOCABULARY.get(column, {}).get(low)


# ----------------------------------------------------------------------------------------------
# dates in a declared order

_TIME = r"(?:(?:\s+|T|,\s*)\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?(?:\s*[ap]\.?m\.?)?)?"
_DAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_ISO_RE = re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}$", re.IGNORECASE)
_NUM_RE = re.compile(rf"^{_DAY}(\d{{1,2}})[/.\-](\d{{1,2}})[/.\-](\d{{4}}|\d{{2}}){_TIME}$",
                     re.IGNORECASE)
_DMY_RE = re.compile(rf"^{_DAY}(\d{{1,2}})(?:st|nd|rd|th)?[\s\-/]+([a-z]{{3,9}})\.?,?[\s\-/]+"
                     rf"(\d{{4}}){_TIME}$", re.IGNORECASE)
_MDY_RE = re.compile(rf"^{_DAY}([a-z]{{3,9}})\.?[\s\-/]+(\d{{1,2}})(?:st|nd|rd|th)?,?[\s\-/]+"
                     rf"(\d{{4}}){_TIME}$", re.IGNORECASE)
_MONTHS = {m: i for i, ms in enumerate([("jan", "january"), ("feb", "february"),
                                         ("mar", "march"), ("apr", "april"), ("may",),
                                         ("jun", "june"), ("jul", "july"), ("aug", "august"),
                                         ("sep", "sept", "september"), ("oct", "october"),
                                         ("nov", "november"), ("dec", "december")], start=1)
           for m in ms}
_OTHER = {"day-first": "month-first", "month-first": "day-first"}
_EXAMPLE = {"day-first": "25/03/2024", "month-first": "03/25/2024", "iso": "2024-03-25"}


def _ymd(y, m, d) -> str | None:
    try:
        return _dt.date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def parse_date(text: str, order: str) -> tuple[str | None, str | None, bool]:
    """One cell → (``YYYY-MM-DD`` or None, the reason it is not a date, whether it would read in
    the other day/month order). ``YYYY-MM-DD`` and month names are read whatever the order."""
    s = text.strip()
    m = _ISO_RE.match(s)
    if m:
        iso = _ymd(*m.groups()[:3])
        return (iso, None, False) if iso else (None, "impossible date (no such day)", False)
    m, n = _DMY_RE.match(s), _MDY_RE.match(s)
    word = ((m.group(1), m.group(2), m.group(3)) if m and m.group(2).lower() in _MONTHS
            else (n.group(2), n.group(1), n.group(3)) if n and n.group(1).lower() in _MONTHS
            else None)
    if word:
        day, month, year = word
        iso = _ymd(year, _MONTHS[month.lower()], day)
        return (iso, None, False) if iso else (None, "impossible date (no such day)", False)
    m = _NUM_RE.match(s)
    if not m:
        return None, f"not a date (dates here are written like {_EXAMPLE[order]})", False
    a, b, y = m.groups()
    if len(y) == 2:
        return None, "two-digit year (the year must have four digits, e.g. 25/03/2024)", False
    if order == "iso":
        return None, ('not a YYYY-MM-DD date (dates = "iso"; for dates like 25/03/2024 set '
                      'dates = "day-first", for 03/25/2024 "month-first")'), True
    d, mo = (a, b) if order == "day-first" else (b, a)
    iso = _ymd(y, mo, d)
    if iso:
        return iso, None, False
    if _ymd(y, d, mo):
        return None, f"not a {order} date (it reads only as {_OTHER[order]})", True
    return None, f"impossible date (no such day, read {order})", False


# ----------------------------------------------------------------------------------------------
# dataset.toml without the mapping


def strip_sources(text: str) -> str:
    """``dataset.toml`` without its ``[sources.*]`` tables (what ``outcomes anonymise`` writes
    to OUT: contract records need no mapping). Comments and the other tables are kept."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        head = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]", line)
        if head:
            inside = re.match(r'^"?sources"?(\.|$)', head.group(1).strip()) is not None
            while inside and out and re.match(r"^\s*(#.*)?$", out[-1]):
                out.pop()  # the comments just above a [sources] table belong to it
        if not inside:
            out.append(line)
    stripped = "".join(out)
    try:
        if "sources" in loads(stripped):
            raise RecordsError("dataset.toml: write the mapping as [sources.sessions], "
                               "[sources.assessments] and [sources.patients] tables, so that "
                               "outcomes anonymise can leave it out of OUT.")
    except tomllib.TOMLDecodeError as exc:
        raise RecordsError(f"dataset.toml: without its [sources] tables it is not valid TOML "
                           f"({exc}); keep the [sources] tables after the others.") from None
    return stripped
