"""Privacy (docs/methods.md §5): pseudonymise a raw clinic export, check k-anonymity, suppress small counts.

Three tools:

- :func:`anonymise` (``outcomes anonymise RAW OUT --key-file KEY``) turns a raw export that names
  people into a records folder the loader accepts: keyed pseudonyms for patient and clinician ids,
  direct identifiers and free text dropped, date of birth turned into age at first session, dates
  optionally shifted back per patient (every interval within a patient kept, no valid date made
  invalid), every row kept. Every kept text column is searched for the loader's value patterns
  and for the names, e-mails, phones and record numbers of the export's own identifier columns;
  a hit is dropped with its count (an optional column) or stops the run (a required or --kept
  column), never silently kept.
- :func:`k_anonymity` lists the equivalence classes of the patients over quasi-identifiers (age band,
  sex, skin type, clinic) and flags those smaller than *k*; :func:`coarsening_options` says what wider
  age bands or leaving out a quasi-identifier would give, and which adjustment of the analyses a
  change would cost. The account of ``anonymise`` gives a verdict on OUT as written
  (:attr:`AnonymiseReport.meets_k`).
- :func:`suppress_small_counts` is THE helper for every count table shown to people (notebooks, the
  report): counts 1 to 4 become ``"<5"``, and whatever would let a reader work them out (their
  percentages, a lone hidden cell next to a known total) is hidden too. :func:`suppress_count` does the
  same for one number in a sentence.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import RecordsError
from ..escape import terminal
from ..records.identifiers import (
    free_text_mask,
    identifier_columns,
    identifier_values,
    looks_like_free_text_column,
    value_kinds,
)
from ..records.scales import read_scales

__all__ = [
    "ADJUSTED",
    "HIDDEN",
    "QUASI_IDENTIFIERS",
    "AnonymiseReport",
    "anonymise",
    "coarsening_options",
    "date_shift_days",
    "k_anonymity",
    "k_anonymity_summary",
    "load_or_create_key",
    "patient_shifts",
    "pseudonym",
    "suppress_count",
    "suppress_small_counts",
]

TABLES = ("sessions", "assessments", "patients")
REQUIRED_TABLES = ("sessions", "assessments")
#: columns of the records schema (docs/methods.md §1); assessments also hold one column per measure
SCHEMA = {
    "sessions": ("patient_id", "date", "treatment", "depth_mm", "areas", "clinician_id"),
    "assessments": ("patient_id", "date", "region", "rater"),
    "patients": ("patient_id", "age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours",
                 "skincare", "concern", "clinic_id"),
}
REQUIRED_COLUMNS = {"sessions": ("patient_id", "date", "treatment"),
                    "assessments": ("patient_id", "date"), "patients": ("patient_id",)}
#: id column → (HMAC domain, pseudonym prefix)
PSEUDONYMISED = {"patient_id": ("patient", "P-"), "clinician_id": ("clinician", "C-")}
PSEUDONYM_HEX = 12          # 48 bits
MAX_SHIFT_DAYS = 180
MIN_KEY_BYTES = 16
QUASI_IDENTIFIERS = ("age_band", "sex", "skin_type", "clinic_id")
#: quasi-identifiers the analyses adjust for (``outcomes.models.COVARIATES``; a test keeps the
#: two in step): leaving one out costs that adjustment, coarsening the age band does not
ADJUSTED = ("age", "sex", "skin_type", "clinic_id")
#: what a count or percentage withheld by secondary suppression shows
HIDDEN = "hidden"

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6"}
_TOTAL_LABELS = {"all", "total", "totals", "overall"}
_PERCENT_NAME = re.compile(r"(%|percent|pct|proportion|share)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# keys, pseudonyms, shifts


def load_or_create_key(key_file: str | Path) -> tuple[bytes, bool]:
    """Read the secret key, creating it (32 random bytes, permission 600) when the file is missing.

    Returns
    -------
    (key, created) : tuple of bytes and bool
    """
    path = Path(key_file).expanduser()
    if path.is_dir():
        raise RecordsError(f"--key-file {path} is a folder; give the path of a key file "
                           "(it is created when missing).")
    if path.exists():
        key = path.read_bytes()
        if len(key) < MIN_KEY_BYTES:
            raise RecordsError(f"Key file {path} holds {len(key)} bytes; a key needs at least "
                               f"{MIN_KEY_BYTES}. Point --key-file at the clinic's key, or at a "
                               "new path to create one.")
        return key, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key, True


def _digest(key: bytes, domain: str, value: str) -> bytes:
    return hmac.new(key, f"{domain}:{value}".encode(), hashlib.sha256).digest()


def pseudonym(value: str, key: bytes, *, kind: str = "patient") -> str:
    """The keyed pseudonym of an id.

    ``prefix + hex(HMAC-SHA256(key, kind + ":" + value.strip()))[:12]`` with prefix ``P-`` for
    patients and ``C-`` for clinicians. Twelve hex digits are 48 bits: among *n* ids the chance of
    any two sharing a pseudonym is about n² / 2⁴⁹ (≈ 2e-5 for 100 000 ids); :func:`anonymise` checks
    for it and stops if it happens.

    Examples
    --------
    >>> p = pseudonym("Jane Doe", b"0" * 32)
    >>> p.startswith("P-"), len(p), p == pseudonym(" Jane Doe ", b"0" * 32)
    (True, 14, True)
    """
    prefixes = {domain: prefix for domain, prefix in PSEUDONYMISED.values()}
    if kind not in prefixes:
        raise ValueError(f"The value for `kind` must be one of {sorted(prefixes)}, "
                         f"but {kind!r} was passed.")
    return prefixes[kind] + _digest(key, kind, str(value).strip()).hex()[:PSEUDONYM_HEX]


def date_shift_days(patient_id: str, key: bytes, *, max_days: int = MAX_SHIFT_DAYS) -> int:
    """The keyed per-patient date shift in days, in [-max_days, -1]: always back in time.

    ``shift = −1 − int(HMAC-SHA256(key, "shift:" + id)[:8]) mod max_days``.

    Backwards only, so that a shift can never carry a valid record into the future (a shift of
    up to +180 days pushed a clinic's recent sessions past today, and the loader then set them
    aside as "date in the future"). :func:`anonymise` also bounds it by the patient's earliest
    date, so that no date moves before the earliest the loader accepts (see
    :func:`patient_shifts`).
    """
    n = int.from_bytes(_digest(key, "shift", str(patient_id).strip())[:8], "big") % max_days
    return -1 - n


def patient_shifts(patient_ids: pd.Series, earliest: pd.Series, key: bytes, *,
                   max_days: int = MAX_SHIFT_DAYS) -> pd.Series:
    """The shift of each patient: :func:`date_shift_days`, bounded so that the patient's
    ``earliest`` date moves no further back than the loader's earliest accepted date.

    Parameters
    ----------
    patient_ids : Series of str
        One per row (missing → no shift, NaN).
    earliest : Series of datetime64
        The earliest date of each patient over every shifted column, indexed by patient id.

    Returns
    -------
    Series of float
        Days (≤ 0) per row of ``patient_ids``. A date valid before the shift is valid after it.
    """
    from ..records.contract import EARLIEST_DATE

    floor = pd.Timestamp(EARLIEST_DATE)
    room = (earliest - floor).dt.days  # days each patient can move back
    keyed = {p: date_shift_days(p, key, max_days=max_days) for p in patient_ids.dropna().unique()
             if isinstance(p, str) and p}
    def bounded(p):
        if p not in keyed:
            return np.nan
        r = room.get(p)
        return float(keyed[p] if r is None or pd.isna(r) or r < 0 else max(keyed[p], -int(r)))
    return patient_ids.map(bounded)


# --------------------------------------------------------------------------------------------------
# the report


@dataclass
class AnonymiseReport:
    """What :func:`anonymise` did.

    Attributes
    ----------
    tables : DataFrame
        ``table``, ``source`` (file, or ``workbook.xlsx[sheet]``), ``output``, ``rows_in``,
        ``rows_out`` (always equal: no row is dropped).
    dropped : DataFrame
        ``table``, ``column``, ``reason`` — one row per dropped column.
    renamed : DataFrame
        ``table``, ``column``, ``to``, ``how`` — pseudonymised ids, date of birth → age, headers
        written in the schema's spelling.
    shifted : DataFrame
        ``table``, ``column``, ``rows_shifted``, ``rows_blanked`` (dates that could not be read as
        ``YYYY-MM-DD`` are blanked rather than left unshifted). Empty without ``shift_dates``.
    k_anonymity : DataFrame
        The equivalence classes of the anonymised patients (see :func:`k_anonymity`).
    coarsening : DataFrame
        :func:`coarsening_options` when some class is smaller than *k*, else empty.
    as_written : DataFrame
        :func:`k_anonymity` of OUT as written: the verdict (:attr:`meets_k`) is about it.
    """

    raw: Path
    out: Path
    key_file: Path
    key_created: bool
    tables: pd.DataFrame
    dropped: pd.DataFrame
    renamed: pd.DataFrame
    shifted: pd.DataFrame
    n_patients: int
    n_clinicians: int
    k: int
    age_band: int
    quasi_identifiers: tuple[str, ...]
    k_anonymity: pd.DataFrame
    coarsening: pd.DataFrame
    copied: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: :func:`k_anonymity` of OUT as written (ages in whole years unless ``write_age_band``)
    as_written: pd.DataFrame = field(default_factory=pd.DataFrame)
    write_age_band: bool = False

    @property
    def meets_k(self) -> bool | None:
        """Whether OUT, as written, is k-anonymous over the quasi-identifiers (None: nothing to
        check)."""
        if not self.as_written.attrs.get("quasi_identifiers"):
            return None
        return not bool(self.as_written["below_k"].any())

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per table."""
        return dict(zip(self.tables["table"], self.tables["rows_out"].astype(int)))

    def to_text(self) -> str:
        """The plain-text account printed by ``outcomes anonymise``."""
        lines = [f"Anonymised {self.raw} -> {self.out}",
                 f"key:     {self.key_file} ("
                 + ("created now, permission 600; keep it safe and out of the repository"
                    if self.key_created else "existing key") + ")",
                 "read:    " + ", ".join(f"{r.source} {r.rows_in} rows"
                                         for r in self.tables.itertuples())]
        lines += _block("renamed:", [f"{r.table}.{r.column}: {r.how}" if r.column == r.to
                                     else f"{r.table}.{r.column} -> {r.to} ({r.how})"
                                     for r in self.renamed.itertuples()])
        lines += _block("dropped:", [f"{r.table}.{r.column} ({r.reason})"
                                     for r in self.dropped.itertuples()] or ["nothing"])
        if self.shifted.empty:
            lines.append("shifted: no dates (use --shift-dates to shift each patient's dates)")
        else:
            lines += _block("shifted:", [
                f"{r.table}.{r.column}: {r.rows_shifted} dates"
                + (f", {r.rows_blanked} unreadable dates blanked" if r.rows_blanked else "")
                for r in self.shifted.itertuples()])
            lines.append(f"         each patient back by one keyed offset of 1..{MAX_SHIFT_DAYS} "
                         "days, the same in every table, so every interval within a patient is "
                         "kept and no date moves into the future (nor before 1990)")
        if self.copied:
            lines.append("copied:  " + ", ".join(self.copied))
        if self.ignored:
            lines += _block("ignored:", [f"{f} (not a records table; not copied)"
                                         for f in self.ignored])
        lines.append("wrote:   " + ", ".join(f"{r.output} {r.rows_out} rows"
                                             for r in self.tables.itertuples())
                     + (" (every row kept)" if (self.tables["rows_in"]
                                                == self.tables["rows_out"]).all() else ""))
        lines += _block("note:", self.notes)
        lines += ["", *_k_text(self).split("\n")]
        # column and file names come from the export: escaped line by line for the terminal
        return "\n".join(terminal(line) for line in lines)


def _block(title: str, items: list[str]) -> list[str]:
    return [f"{title if i == 0 else '':<9}{item}" for i, item in enumerate(items)]


def _k_text(report: AnonymiseReport) -> str:
    classes = report.k_anonymity
    used = classes.attrs.get("quasi_identifiers", ())
    if not used:
        return ("k-anonymity: no quasi-identifier (" + ", ".join(report.quasi_identifiers)
                + ") in the patients table; nothing to check.")
    band = f"age in {report.age_band}-year bands"
    names = [band if q == "age_band" else q for q in used]
    lines = [f"k-anonymity over {', '.join(names)} with k={report.k}:", "  " + _verdict(report)]
    s = k_anonymity_summary(classes, k=report.k)
    if "age_band" in used and not report.write_age_band:
        lines.append(f"  with {band} (what --write-age-band would write): {s['patients']} "
                     f"patients in {s['groups']} groups; smallest group {s['smallest']}")
    if report.meets_k and not s["groups_below_k"]:
        return "\n".join(lines)
    shown_classes = report.as_written if not report.meets_k else classes
    below = shown_classes[shown_classes["below_k"]].drop(columns="below_k")
    if len(below):
        lines.append(f"  the smallest groups (of {len(below)} below k, as written):")
        lines += ["    " + line for line in below.head(10).to_string(index=False).splitlines()]
        if len(below) > 10:
            lines.append(f"    ... and {len(below) - 10} more")
    if not report.coarsening.empty:
        lines.append("  options (what each change would give; adjustment_lost: a variable the "
                     "analyses adjust for that the change removes):")
        opts = report.coarsening.drop(columns=["quasi_identifiers"]).to_string(index=False)
        lines += ["    " + line for line in opts.splitlines()]
        lines.append("  suggestion: " + _suggestion(report))
    return "\n".join(lines)


def _verdict(report: AnonymiseReport) -> str:
    s = k_anonymity_summary(report.as_written, k=report.k)
    written = ("age written in whole years" if "age_band" in report.as_written.attrs.get(
        "quasi_identifiers", ()) and not report.write_age_band else "as written")
    if report.meets_k:
        return (f"verdict: OUT meets k={report.k} ({written}): each of its {s['groups']} "
                f"groups holds at least {report.k} patients (the smallest {s['smallest']}).")
    return (f"verdict: OUT does NOT meet k={report.k} ({written}): {s['groups_below_k']} of "
            f"{s['groups']} groups hold fewer than {report.k} patients ({s['patients_below_k']} "
            f"of {s['patients']} patients); the smallest holds {s['smallest']}.")


def _suggestion(report: AnonymiseReport) -> str:
    k, options = report.k, report.coarsening
    write = "" if report.write_age_band else " --write-age-band"
    as_is = options[options["option"] == "as is"]
    if not report.write_age_band and len(as_is) and as_is["patients_below_k"].iloc[0] == 0:
        return (f"--write-age-band: writes each age as the midpoint of its {report.age_band}-year"
                f" band, so that OUT itself meets k={k}; every variable the analyses adjust for "
                "is kept.")
    changes = options[options["option"] != "as is"]
    reach = changes[changes["patients_below_k"] == 0]
    keeps = reach[reach["adjustment_lost"] == ""]
    tail = (" Otherwise share OUT only with the analysts, and outside it show only tables with "
            "small cells suppressed.")
    if not keeps.empty:
        return (f"{_with_write(keeps.iloc[0], write)}: reaches k={k} and keeps every variable the analyses adjust "
                "for (ages written as band midpoints).")
    if not reach.empty:
        r = reach.iloc[0]
        lost = r["adjustment_lost"]
        return (f"only leaving a variable out reaches k={k}: {_with_write(r, write)} (the "
                f"analyses then no longer adjust for {lost}, and "
                f"{'their' if ',' in lost else 'its'} confounding goes uncorrected)." + tail)
    best = changes.sort_values(["patients_below_k", "groups_below_k"]).iloc[0]
    return (f"nothing tried reaches k={k}; the best is {_with_write(best, write)} "
            f"({best['patients_below_k']} patients still in groups below k)." + tail)


def _with_write(option, write: str) -> str:
    """The option's command-line change, with --write-age-band when it keeps the age."""
    keeps_age = "age" not in option["adjustment_lost"].split(", ")
    return option["option"] + (write if keeps_age else "")


# --------------------------------------------------------------------------------------------------
# reading the raw export (as strings, without the loader's identifier guard)


def _norm(name) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _as_strings(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        midnight = series.dropna().dt.normalize().eq(series.dropna()).all()
        text = series.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
        return text.astype("str")
    out = series.astype("object").map(lambda v: None if _missing(v) else str(v))
    return out.astype("str")


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _read_raw(raw: Path) -> tuple[dict[str, tuple[pd.DataFrame, str]], list[str], list[str]]:
    """Read the tables of RAW as strings → ({table: (frame, source)}, copied, ignored)."""
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


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                           encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RecordsError(f"{path.name}: cannot be read as a UTF-8 comma-separated file "
                           f"({exc}). Export it again as CSV UTF-8.") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    from ..records.read import cells

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
    from ..records.read import FORMULA_REASON, Unsaved, has_formulas, with_formulas

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


# --------------------------------------------------------------------------------------------------
# anonymise


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_paths(raw: Path, out: Path, key_file: Path) -> None:
    if not raw.is_dir():
        raise RecordsError(f"RAW {raw} is not a folder; give the folder of the clinic's export.")
    if _inside(out, raw) or _inside(raw, out):
        raise RecordsError(f"OUT {out} must be outside RAW {raw} (RAW is never modified).")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RecordsError(f"OUT {out} already exists and is not empty; give a new folder "
                           "(anonymise never overwrites).")
    for folder, name in ((out, "OUT"), (raw, "RAW")):
        if _inside(key_file, folder):
            raise RecordsError(f"The key file {key_file} is inside {name} {folder}; keep the key "
                               "apart from the data (e.g. in your home folder), never next to it.")


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


def _age_at(first: pd.Series, dob: pd.Series) -> pd.Series:
    """Completed years: year difference minus one when the birthday is still to come that year."""
    before = (first.dt.month < dob.dt.month) | (
        (first.dt.month == dob.dt.month) & (first.dt.day < dob.dt.day))
    age = first.dt.year - dob.dt.year - before.astype("int64")
    return age.astype("Int64")


def anonymise(raw: str | Path, out: str | Path, *, key_file: str | Path, drop=(), keep=(),
              shift_dates: bool = False, k: int = 5, age_band: int = 10,
              drop_quasi=(), write_age_band: bool = False) -> AnonymiseReport:
    """Turn a raw clinic export into anonymised records (docs/methods.md §5).

    Parameters
    ----------
    raw : path
        Folder with ``sessions``, ``assessments`` (and optionally ``patients``) as ``.csv``,
        ``.parquet`` or sheets of one ``.xlsx`` workbook, plus an optional ``dataset.toml`` (copied
        as is). Read as text; never modified.
    out : path
        New (or empty) folder. Written to a temporary sibling folder, renamed into place only when
        complete. Every table is written as UTF-8 CSV; every row is kept.
    key_file : path
        Secret key (created with 32 random bytes, permission 600, when missing). Must not lie in
        RAW or OUT. The same key always gives the same pseudonyms and shifts.
    drop : iterable of str
        Extra columns to drop (in any table).
    keep : iterable of str
        Columns outside the records schema (free text, ...) to keep; dropped otherwise.
    shift_dates : bool
        Shift every date of a patient, in every table, by :func:`date_shift_days`.
    k, age_band, drop_quasi
        The k-anonymity check of the anonymised patients (see :func:`k_anonymity`).
    write_age_band : bool
        Write ``age`` as the midpoint of its ``age_band``-year band (``35`` for 30–39), so that
        OUT itself holds the bands the check assumes; the analyses still adjust for age.
        Without it OUT keeps age in whole years, and the verdict is given for that.

    Returns
    -------
    AnonymiseReport

    Notes
    -----
    - ``patient_id`` and ``clinician_id`` (wherever they appear) become :func:`pseudonym` values,
      whatever they held (names, record numbers, e-mails).
    - A column is dropped when its name looks like a direct identifier
      (:func:`outcomes.identifiers.identifier_columns`), when its values look like e-mail addresses
      or phone numbers (:func:`outcomes.identifiers.identifier_values`), when named in ``drop``, or
      when it is not in the records schema of docs/methods.md §1 (free text such as ``notes``; any unknown
      column, since a number can be a record number) unless named in ``keep``.
    - A date of birth in ``patients`` becomes ``age`` = completed years at the patient's first
      session date; the date of birth is then dropped.
    """
    raw, out = Path(raw).expanduser().resolve(), Path(out).expanduser().resolve()
    key_path = Path(key_file).expanduser().resolve()
    drop, keep, drop_quasi = list(drop), list(keep), list(drop_quasi)
    _check_int("k", k, 1)
    _check_int("age_band", age_band, 1)
    quasi = _quasi_after_drop(drop_quasi)
    _check_paths(raw, out, key_path)
    tables, copied, ignored = _read_raw(raw)
    measures = read_scales(raw / "dataset.toml" if "dataset.toml" in copied else None)
    plan = _plan_columns(tables, measures, drop, keep)
    key, created = load_or_create_key(key_path)

    notes: list[str] = []
    if _in_git_tree(key_path):
        notes.append(f"the key file is inside a git working tree ({key_path.parent}); keep it out "
                     "of version control")
    if not created and key_path.stat().st_mode & 0o077:
        notes.append(f"the key file {key_path} is readable by others; run chmod 600 on it")
    result = _transform(tables, plan, key, shift_dates=shift_dates, notes=notes)
    frames, renamed, shifted, ids = result
    if write_age_band and "patients" in frames and "age" in frames["patients"]:
        frames["patients"]["age"] = _age_band_midpoint(frames["patients"]["age"], age_band)
        renamed.append(("patients", "age", "age",
                        f"written as the midpoint of its {age_band}-year band"))

    summary = []
    for name, (frame, source) in tables.items():
        summary.append({"table": name, "source": source, "output": f"{name}.csv",
                        "rows_in": len(frame), "rows_out": len(frames[name])})
    summary = pd.DataFrame(summary)
    if not (summary["rows_in"] == summary["rows_out"]).all():  # pragma: no cover - a bug guard
        raise RecordsError("internal error: rows were lost while anonymising; nothing was written.")

    _write_atomically(out, frames, [raw / c for c in copied])

    patients = frames.get("patients")
    if patients is not None and "age" in patients:
        patients = patients.assign(age=pd.to_numeric(patients["age"], errors="coerce"))
    patients = patients if patients is not None else pd.DataFrame()
    classes = k_anonymity(patients, quasi_identifiers=quasi, k=k, age_band=age_band)
    # the verdict is about OUT as written: whole years unless the bands were written
    written_band = age_band if write_age_band else 1
    as_written = k_anonymity(patients, quasi_identifiers=quasi, k=k, age_band=written_band)
    options = pd.DataFrame()
    if ((classes["below_k"].any() or as_written["below_k"].any())
            and classes.attrs["quasi_identifiers"]):
        options = coarsening_options(patients, quasi_identifiers=quasi, k=k, age_band=age_band)
    return AnonymiseReport(
        raw=raw, out=out, key_file=key_path, key_created=created, tables=summary,
        dropped=pd.DataFrame(plan["dropped"], columns=["table", "column", "reason"]),
        renamed=pd.DataFrame(renamed, columns=["table", "column", "to", "how"]),
        shifted=pd.DataFrame(shifted, columns=["table", "column", "rows_shifted", "rows_blanked"]),
        n_patients=ids["patient"], n_clinicians=ids["clinician"], k=k, age_band=age_band,
        quasi_identifiers=quasi, k_anonymity=classes, coarsening=options, copied=copied,
        ignored=ignored, notes=notes, as_written=as_written, write_age_band=write_age_band)


def _age_band_midpoint(age: pd.Series, width: int) -> pd.Series:
    """Ages as the midpoint of their band ``[a, a + width)``: 30–39 → ``35``."""
    years = pd.to_numeric(age, errors="coerce")
    mid = np.floor(years / width) * width + width / 2
    text = mid.map(lambda v: "" if pd.isna(v) else (f"{v:.0f}" if v == int(v) else f"{v:g}"))
    return text.where(years.notna(), None).astype("str")


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise RecordsError(f"The value for `{name}` must be a whole number of at least {minimum}, "
                           f"but {value!r} was passed.")


def _quasi_after_drop(drop_quasi: list[str]) -> tuple[str, ...]:
    unknown = [q for q in drop_quasi if q not in QUASI_IDENTIFIERS]
    if unknown:
        raise RecordsError(f"The value for `--drop-quasi` must be one of {list(QUASI_IDENTIFIERS)}, "
                           f"but {unknown[0]!r} was passed.")
    return tuple(q for q in QUASI_IDENTIFIERS if q not in drop_quasi)


def _in_git_tree(path: Path) -> bool:
    return any((parent / ".git").exists() for parent in path.parents)


def _plan_columns(tables, measures, drop: list[str], keep: list[str]) -> dict:
    """Decide, per table and column, keep / drop / pseudonymise / age — before any work is done."""
    drop_n, keep_n = {_norm(c) for c in drop}, {_norm(c) for c in keep}
    both = drop_n & keep_n
    if both:
        raise RecordsError(f"Column {min(both)!r} is given to both --drop and --keep.")
    seen: set[str] = set()
    plan: dict = {"dropped": [], "columns": {}}
    for name, (frame, source) in tables.items():
        known = set(SCHEMA[name]) | (set(measures) if name == "assessments" else set())
        canon: dict[str, str] = {}
        for col in frame.columns:
            n = _norm(col)
            seen.add(n)
            target = n if n in known else str(col).strip()
            if target in canon.values():
                raise RecordsError(f"{source}: two columns are both read as {target!r}; "
                                   "remove or rename one.")
            canon[col] = target
        decisions = {}
        dropped_here = []
        for col, target in canon.items():
            decision, reason = _decide(name, frame[col], target, col, known, drop_n, keep_n,
                                       source)
            decisions[col] = (decision, target)
            if reason:
                dropped_here.append({"table": name, "column": str(col), "reason": reason})
        _check_values(name, frame, decisions, keep_n, source, dropped_here)
        missing = [c for c in ("patient_id",) if c not in {t for _, t in decisions.values()}]
        if missing:
            raise RecordsError(f"{source}: no patient_id column. Rename the column that "
                               "identifies the patient to patient_id (its values are "
                               "pseudonymised, whatever they are).")
        plan["columns"][name] = decisions
        plan["dropped"] += dropped_here
    unused = sorted((drop_n | keep_n) - seen)
    if unused:
        raise RecordsError(f"Column {unused[0]!r} given to --drop/--keep is in none of the tables; "
                           "check the spelling (columns: " + ", ".join(sorted(seen)) + ").")
    _check_kept_text(tables, plan, keep_n)
    return plan


_TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "nurse", "prof", "doctor", "sister", "the",
           "and", "von", "van", "der", "del", "de"}
# a word of letters: "Denholm55" and "microneedling (Denholm)" both hold the word "denholm"
_LETTERS = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_PATTERN_TEXT = {"e-mail": "an e-mail address", "phone number": "a phone number",
                 "NHS number": "an NHS number", "postcode": "a postcode",
                 "title and surname": "a title and a surname", "person's name": "a person's name"}


def _export_identifiers(tables, plan) -> tuple[set[str], set[str]]:
    """The identifying values of this export: words of its names (and of its ids made of
    several words), and whole values of its other identifier columns (e-mails, phones, record
    numbers, addresses, postcodes, ids), lower-cased."""
    words, phrases = set(), set()
    for name, decisions in plan["columns"].items():
        frame = tables[name][0]
        for col, (d, target) in decisions.items():
            kind = identifier_columns([col]).get(str(col))
            if not (d == "pseudonymise" or (kind and kind != "date of birth")):
                continue
            for value in frame[col].dropna().str.strip().str.lower().unique():
                tokens = _LETTERS.findall(value)
                if kind == "name" or (d == "pseudonymise" and len(tokens) > 1):
                    words |= {t for t in tokens if len(t) >= 3 and t not in _TITLES}
                elif len(value) >= 4:
                    phrases.add(value)
    return words, phrases


def _check_kept_text(tables, plan, keep_n) -> None:
    """Stop when a kept text column holds an identifier: a pattern of the loader's value checks
    (e-mail, phone, NHS number, postcode, title and surname; see
    :func:`outcomes.identifiers.value_kinds`), or a name, record number, address or id found in
    this export's own identifier columns ("microneedling (Denholm55)" in ``treatment``).

    Every kept column is searched, those of the records schema too, on its distinct values;
    columns whose every value is a number or a date are skipped (they hold no name). The message
    gives the column, the count and the first data row, never the value.
    """
    words, phrases = _export_identifiers(tables, plan)
    phrase = (re.compile("|".join(map(re.escape, sorted(phrases, key=len, reverse=True))))
              if phrases else None)
    for name, decisions in plan["columns"].items():
        frame, source = tables[name]
        for col, (d, target) in decisions.items():
            values = frame[col]
            if d != "keep" or _is_numeric_column(values) or _is_date_column(values):
                continue
            codes, uniques = pd.factorize(values.str.lower(), use_na_sentinel=True)
            found = {}
            for i, text in enumerate(uniques):
                what = _embedded_identifier(text, words, phrase)
                if what:
                    found.setdefault(what, []).append(i)
            for what, hits in found.items():
                rows = np.flatnonzero(np.isin(codes, hits))
                how = ", kept with --keep," if _norm(col) in keep_n else ""
                fix = ("clean that column in the export first, or leave out --keep" if how else
                       "clean that column in the export first (or --drop it when the records "
                       "do not need it)")
                raise RecordsError(
                    f"{source}: column {col!r}{how} holds {what} in {len(rows)} row(s) (first "
                    f"at data row {rows[0] + 1}). Free text often names people: {fix}; "
                    "nothing was written.")


def _embedded_identifier(text: str, words: set[str], phrase) -> str | None:
    kinds = value_kinds(text)
    if kinds:
        return _PATTERN_TEXT[kinds[0]]
    if words & set(_LETTERS.findall(text)):
        return "a name found in the export's name or id columns"
    if phrase is not None and phrase.search(text):
        return "an id, record number, address or contact found in the export's identifier columns"
    return None


def _decide(table, values, target, col, known, drop_n, keep_n, source):
    """→ (decision, reason for dropping or None); decision in keep/pseudonymise/age/drop."""
    n = _norm(col)
    if target in PSEUDONYMISED:
        if n in drop_n:
            raise RecordsError(f"{target} cannot be dropped: it is pseudonymised instead.")
        return "pseudonymise", None
    kind = identifier_columns([col]).get(str(col))
    if kind:
        if n in keep_n:
            raise RecordsError(f"{source}: column {col!r} looks like {_a(kind)}, a direct "
                               "identifier; it cannot be kept with --keep.")
        if kind == "date of birth" and table == "patients":
            return "age", "date of birth; turned into age at first session"
        return "drop", f"looks like {_a(kind)}"
    if n in drop_n:
        if target in REQUIRED_COLUMNS[table]:
            raise RecordsError(f"{source}: {target} is required by the records; it cannot be "
                               "dropped with --drop.")
        return "drop", "--drop"
    if n in keep_n and target not in known:
        _refuse_free_text(col, values, source)
    if target in known or n in keep_n:
        return "keep", None
    hits = identifier_values(values.astype("str").to_frame())
    if hits:
        return "drop", "; ".join(f"{h['count']} value(s) hold {_PATTERN_TEXT[h['kind']]}"
                                 for h in hits)
    if _is_numeric_column(values) or values.dropna().empty:
        return "drop", f"not in the records schema; keep with --keep {col}"
    return "drop", f"free text; keep with --keep {col}"


def _refuse_free_text(col, values: pd.Series, source: str) -> None:
    """A column kept with --keep must not be free text: the loader refuses free text (by the
    column's name, or values of four or more words), so OUT would not load."""
    present = values.dropna()
    by_name = looks_like_free_text_column(str(col))
    rows = np.flatnonzero(free_text_mask(list(present.unique()))[
        pd.factorize(present)[0]]) if len(present) else []
    if by_name or len(rows):
        why = ("its name says free text" if by_name else
               f"{len(rows)} value(s) of four or more words, first at data row "
               f"{values.index.get_loc(present.index[rows[0]]) + 1}")
        raise RecordsError(f"{source}: column {col!r} cannot be kept with --keep: it reads as "
                           f"free text ({why}), which the loader refuses (free text names "
                           "people in ways no check finds). Leave out --keep "
                           f"{col}; if it holds short codes, rename it.")


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _check_values(name, frame, decisions, keep_n, source, dropped_here) -> None:
    kept = [c for c, (d, _) in decisions.items() if d == "keep"]
    if not kept:
        return
    for hit in identifier_values(frame[kept].astype("str")):
        col = hit["column"]
        target = decisions[col][1]
        what = f"{hit['count']} value(s) hold {_PATTERN_TEXT[hit['kind']]}"
        if target in REQUIRED_COLUMNS[name] or _norm(col) in keep_n:
            raise RecordsError(f"{source}: column {col!r}: {what} (first at data row "
                               f"{hit['rows'][0] + 1}); remove them from the export first.")
        decisions[col] = ("drop", target)
        dropped_here.append({"table": name, "column": col, "reason": what})


def _transform(tables, plan, key: bytes, *, shift_dates: bool, notes: list[str]):
    frames, renamed, shifted = {}, [], []
    first_session = None
    sessions = tables["sessions"][0]
    pid_col = next(c for c, (d, t) in plan["columns"]["sessions"].items() if t == "patient_id")
    date_col = next((c for c, (d, t) in plan["columns"]["sessions"].items() if t == "date"), None)
    if date_col is not None:
        first_session = (pd.DataFrame({"p": sessions[pid_col].str.strip(),
                                       "d": _parse_days(sessions[date_col])})
                         .dropna().groupby("p")["d"].min())
    raw_ids: dict[str, set] = {"patient": set(), "clinician": set()}
    mapped: dict[str, set] = {"patient": set(), "clinician": set()}
    for name, (frame, source) in tables.items():
        decisions = plan["columns"][name]
        pid = next(c for c, (d, t) in decisions.items() if t == "patient_id")
        raw_pid = frame[pid].str.strip()
        out: dict[str, pd.Series] = {}
        for col, (decision, target) in decisions.items():
            values = frame[col]
            if decision == "pseudonymise":
                domain, _ = PSEUDONYMISED[target]
                ids = values.str.strip()
                present = ids.dropna()
                present = present[present != ""]
                table = {v: pseudonym(v, key, kind=domain) for v in present.unique()}
                raw_ids[domain] |= set(table)
                mapped[domain] |= set(table.values())
                out[target] = ids.map(table).astype("str")
                renamed.append((name, str(col), target,
                                (f"{len(table)} ids -> keyed pseudonyms "
                                 f"{PSEUDONYMISED[target][1]}<12 hex digits>")))
                if len(present) < len(values):
                    notes.append(f"{name}: {len(values) - len(present)} rows without "
                                 f"{target} (the loader will set them aside)")
            elif decision == "age":
                out["age"] = _age_column(name, col, values, raw_pid, first_session,
                                         frame.get(_col_for(decisions, "age")), renamed, notes)
            elif decision == "keep" and target != "age":
                out[target] = values
                if target != col:
                    renamed.append((name, str(col), target, "header in the schema's spelling"))
            elif decision == "keep" and "age" not in out:
                out["age"] = values
        frame_out = pd.DataFrame(out, index=frame.index)
        if "date" in frame_out and not shift_dates:
            frame_out["date"] = _day_text(frame_out["date"])
        frames[name] = frame_out
    if shift_dates:
        earliest = _earliest_dates(tables, frames, plan)
        for name, frame_out in frames.items():
            frame, _ = tables[name]
            pid = next(c for c, (d, t) in plan["columns"][name].items() if t == "patient_id")
            shifts = patient_shifts(frame[pid].str.strip(), earliest, key)
            for target in _shifted_columns(name, frame_out):
                frame_out[target], n_ok, n_blank = _shift(frame_out[target], shifts)
                shifted.append((name, target, n_ok, n_blank))
    for domain, originals in raw_ids.items():
        if len(mapped[domain]) != len(originals):
            raise RecordsError(f"Two different {domain} ids got the same pseudonym (odds about "
                               "n²/2⁴⁹). Nothing was written; anonymise again with a new key "
                               "file.")
    return frames, renamed, shifted, {d: len(v) for d, v in raw_ids.items()}


def _shifted_columns(name: str, frame_out: pd.DataFrame) -> list[str]:
    return [t for t in frame_out.columns
            if t == "date" or (t not in SCHEMA[name] and t not in PSEUDONYMISED
                               and _is_date_column(frame_out[t]))]


def _earliest_dates(tables, frames, plan) -> pd.Series:
    """Each (raw) patient id's earliest date over every column that will be shifted."""
    parts = []
    for name, frame_out in frames.items():
        frame = tables[name][0]
        pid = next(c for c, (d, t) in plan["columns"][name].items() if t == "patient_id")
        pid = frame[pid].str.strip()
        for target in _shifted_columns(name, frame_out):
            parts.append(pd.DataFrame({"p": pid, "d": _parse_days(frame_out[target])}))
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    both = pd.concat(parts).dropna()
    return both.groupby("p")["d"].min()


def _col_for(decisions, target):
    return next((c for c, (d, t) in decisions.items() if t == target and d == "keep"), None)


def _age_column(name, col, dob_values, raw_pid, first_session, existing, renamed, notes):
    dob = _parse_days(dob_values)
    first = raw_pid.map(first_session) if first_session is not None else pd.Series(
        pd.NaT, index=raw_pid.index)
    first = pd.to_datetime(first)
    age = _age_at(first, dob)
    implausible = age.notna() & ((age < 0) | (age > 120))
    age = age.mask(implausible)
    if existing is not None:
        age_text = age.astype("str").where(age.notna(), existing)
    else:
        age_text = age.astype("str").where(age.notna(), None)
    renamed.append((name, str(col), "age", "completed years at first session, then dropped"))
    unread = int((dob_values.notna() & dob.isna()).sum())
    no_session = int((dob.notna() & first.isna()).sum())
    for n, why in ((unread, "a date of birth not written YYYY-MM-DD"),
                   (no_session, "no dated session to measure the age at"),
                   (int(implausible.sum()), "an age below 0 or above 120 (check the dates)")):
        if n:
            notes.append(f"{name}: {n} patients with {why}: age left "
                         + ("as in the age column" if existing is not None else "missing"))
    return pd.Series(age_text, index=dob_values.index).astype("str")


def _shift(values: pd.Series, shifts: pd.Series) -> tuple[pd.Series, int, int]:
    """Shift each date by its patient's days; a date that cannot be shifted is blanked."""
    days = _parse_days(values)
    moved = days + pd.to_timedelta(shifts, unit="D")
    text = moved.dt.strftime("%Y-%m-%d").astype("str")
    present = values.notna() & (values.str.strip() != "")
    blanked = present & text.isna()
    return text.where(text.notna(), None).astype("str"), int(text.notna().sum()), int(
        blanked.sum())


def _day_text(values: pd.Series) -> pd.Series:
    """Dates readable as ``YYYY-MM-DD[ time]`` written as ``YYYY-MM-DD``; others left as they are."""
    days = _parse_days(values)
    return days.dt.strftime("%Y-%m-%d").astype("str").where(days.notna(), values)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, na_rep="", lineterminator="\n", encoding="utf-8")


def _write_atomically(out: Path, frames: dict[str, pd.DataFrame], copies: list[Path]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for name, frame in frames.items():
            _write_table(frame, tmp / f"{name}.csv")
        for src in copies:
            shutil.copyfile(src, tmp / src.name)
        try:
            os.replace(tmp, out)
        except OSError as exc:
            raise RecordsError(f"Could not move the output into {out} ({exc}); nothing was "
                               "written there.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------------
# k-anonymity


def _quasi_frame(patients: pd.DataFrame, quasi_identifiers, age_band: int) -> pd.DataFrame:
    cols = {}
    for q in quasi_identifiers:
        if q == "age_band" and "age_band" not in patients and "age" in patients:
            age = pd.to_numeric(patients["age"], errors="coerce")
            lo = (np.floor(age / age_band) * age_band).astype("Int64")
            label = lo.astype("str") + ("-" + (lo + age_band - 1).astype("str")
                                         if age_band > 1 else "")
            cols[q] = label
        elif q in patients:
            values = patients[q].astype("str").str.strip()
            if q == "sex":
                values = values.str.upper()
            elif q == "skin_type":
                values = values.str.upper().replace(_ROMAN).str.replace(r"\.0$", "", regex=True)
            cols[q] = values
    frame = pd.DataFrame(cols, index=patients.index)
    return frame.astype("str").fillna("missing").replace("", "missing")


def k_anonymity(patients: pd.DataFrame, *, quasi_identifiers=QUASI_IDENTIFIERS, k: int = 5,
                age_band: int = 10) -> pd.DataFrame:
    """Equivalence classes of patients over quasi-identifiers, flagging those smaller than *k*.

    A table is *k-anonymous* when every combination of quasi-identifier values that occurs is
    shared by at least *k* patients (Sweeney 2002): anyone who knows a patient's age band, sex,
    skin type and clinic then finds at least *k* candidate rows.

    Parameters
    ----------
    patients : DataFrame
        One row per patient (duplicated ``patient_id`` rows count once).
    quasi_identifiers : sequence of str
        Columns to combine. ``"age_band"`` is ``age`` cut into bands ``[a, a + age_band)`` labelled
        ``"30-39"``. Missing values form their own value ``"missing"``. Columns absent from
        ``patients`` are skipped (listed in ``attrs["absent"]``).
    k : int
        Smallest acceptable class size.
    age_band : int
        Width of the age bands in years.

    Returns
    -------
    DataFrame
        One row per class: the quasi-identifier columns used, ``size`` (patients) and ``below_k``
        (size < k), smallest classes first. ``attrs``: ``k``, ``quasi_identifiers`` (used),
        ``absent``.

    Examples
    --------
    >>> p = pd.DataFrame({"age": [31, 35, 52], "sex": ["F", "F", "M"]})
    >>> k_anonymity(p, k=2)[["age_band", "sex", "size", "below_k"]].values.tolist()
    [['50-59', 'M', 1, True], ['30-39', 'F', 2, False]]
    """
    for name, value in (("k", k), ("age_band", age_band)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"The value for `{name}` must be a whole number of at least 1, "
                             f"but {value!r} was passed.")
    if "patient_id" in patients:
        patients = patients.drop_duplicates("patient_id")
    frame = _quasi_frame(patients, quasi_identifiers, age_band)
    used = list(frame.columns)
    absent = [q for q in quasi_identifiers if q not in used]
    if used:
        classes = frame.groupby(used, dropna=False).size().rename("size").reset_index()
    else:
        classes = pd.DataFrame({"size": [len(frame)]} if len(frame) else {"size": []})
    classes["size"] = classes["size"].astype("int64")
    classes["below_k"] = classes["size"] < k
    classes = classes.sort_values(["size", *used], kind="stable").reset_index(drop=True)
    classes.attrs.update({"k": k, "quasi_identifiers": tuple(used), "absent": tuple(absent)})
    return classes


def k_anonymity_summary(classes: pd.DataFrame, *, k: int | None = None) -> dict:
    """Summary of :func:`k_anonymity`: ``k``, ``patients``, ``groups``, ``smallest``,
    ``groups_below_k``, ``patients_below_k`` (all ints; ``smallest`` is 0 for no patients)."""
    k = classes.attrs.get("k", 5) if k is None else k
    below = classes["size"] < k
    return {"k": int(k), "patients": int(classes["size"].sum()), "groups": len(classes),
            "smallest": int(classes["size"].min()) if len(classes) else 0,
            "groups_below_k": int(below.sum()),
            "patients_below_k": int(classes.loc[below, "size"].sum())}


def coarsening_options(patients: pd.DataFrame, *, quasi_identifiers=QUASI_IDENTIFIERS, k: int = 5,
                       age_band: int = 10) -> pd.DataFrame:
    """What coarser quasi-identifiers would give: wider age bands, or one quasi-identifier left out.

    Each option is named by the ``outcomes anonymise`` argument that gives it: ``--age-band W``
    (wider bands in the check), ``--drop COL`` (the column removed, ``age`` for the age band). When
    no single change reaches *k*, pairs of changes are added.

    Returns
    -------
    DataFrame
        One row per option (``"as is"`` first): ``option`` (the command-line change),
        ``quasi_identifiers``, ``age_band``, ``groups``, ``smallest``, ``groups_below_k``,
        ``patients_below_k``, ``adjustment_lost`` (the quasi-identifiers the option leaves out
        that the analyses adjust for, :data:`ADJUSTED`; ``""`` when none).
    """
    quasi = tuple(quasi_identifiers)
    options = [("as is", quasi, age_band)]
    if "age_band" in quasi:
        for width in sorted({2 * age_band, 20, 30} - set(range(age_band + 1))):
            options.append((f"--age-band {width}", quasi, width))
    for q in quasi:
        column = "age" if q == "age_band" else q
        options.append((f"--drop {column}", tuple(x for x in quasi if x != q), age_band))
    options += _combined_options(patients, options, k)
    rows = []
    for option, qs, width in options:
        s = k_anonymity_summary(k_anonymity(patients, quasi_identifiers=qs, k=k, age_band=width))
        lost = [("age" if q == "age_band" else q) for q in quasi if q not in qs]
        rows.append({"option": option, "quasi_identifiers": ", ".join(qs), "age_band": width,
                     "groups": s["groups"], "smallest": s["smallest"],
                     "groups_below_k": s["groups_below_k"],
                     "patients_below_k": s["patients_below_k"],
                     "adjustment_lost": ", ".join(c for c in lost if c in ADJUSTED)})
    return pd.DataFrame(rows)


def _combined_options(patients, options, k):
    """Pairs of single changes, offered only when no single change reaches k."""
    singles = options[1:]
    for _, qs, width in singles:
        classes = k_anonymity(patients, quasi_identifiers=qs, k=k, age_band=width)
        if not classes["below_k"].any():
            return []
    pairs = []
    for (o1, q1, w1), (o2, q2, w2) in itertools.combinations(singles, 2):
        if o1.startswith("--age-band") and o2.startswith(("--age-band", "--drop age")):
            continue
        qs = tuple(q for q in q1 if q in q2)
        if qs:
            pairs.append((f"{o1} {o2}", qs, max(w1, w2)))
    return pairs


# --------------------------------------------------------------------------------------------------
# small-cell suppression


def suppress_count(n, threshold: int = 5) -> str:
    """One count for a sentence: ``"<5"`` for 1 to threshold − 1, else the number (0 stays ``"0"``).

    Examples
    --------
    >>> suppress_count(3), suppress_count(0), suppress_count(12)
    ('<5', '0', '12')
    """
    _check_threshold(threshold)
    if n is None or _missing(n):
        return ""
    if n < 0 or n != int(n):
        raise ValueError(f"The value for `n` must be a count (a whole number >= 0), "
                         f"but {n!r} was passed.")
    return f"<{threshold}" if 0 < n < threshold else str(int(n))


def _check_threshold(threshold) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"The value for `threshold` must be a whole number of at least 1, "
                         f"but {threshold!r} was passed.")


def _is_total(label) -> bool:
    return str(label).strip().lower() in _TOTAL_LABELS


def suppress_small_counts(table, *, threshold: int = 5, count_columns=None, percent_columns=None,
                          decimals: int = 1) -> pd.DataFrame:
    """Hide small counts in a table shown to people (docs/methods.md §5), and what would reveal them.

    Rules, applied in this order:

    1. **Primary**: a count 1 ≤ n < threshold is shown as ``"<5"`` (with the threshold); 0 stays
       ``"0"`` and missing stays ``""``.
    2. **Secondary** (so a hidden count cannot be worked out by subtraction from a total, shown
       in the table or known from elsewhere): wherever a row or a column of the count block holds
       exactly one hidden cell, the smallest other non-zero count of that line is hidden too
       (shown as ``"hidden"``; a zero only when no non-zero is left), repeated until no line holds
       a lone hidden cell. Rows are checked only with two or more count columns, columns only with
       two or more rows. Margins (rows or columns labelled ``All``/``Total``, as made by
       ``pd.crosstab(..., margins=True)``) get the primary rule; a total is never hidden to
       protect an inner cell, but the line of row totals (the ``All`` column) and of column totals
       (the ``All`` row) is checked like any other, so a small total cannot be worked out from the
       grand total either. This blocks recovery by subtraction from one row or column total; it is
       not a full audit against every combination of totals.
    3. **Percentages**: a percentage cell is hidden (``"hidden"``) when the count it belongs to is
       hidden — the paired count when ``percent_columns`` maps percentage → count column (or when
       there is one count column), else when any count in its row is hidden.

    Parameters
    ----------
    table : DataFrame or Series
        Counts, e.g. ``s.value_counts().to_frame()`` or ``pd.crosstab(a, b, margins=True)``.
    threshold : int
        Smallest count shown as is (5).
    count_columns : list of str, optional
        Default: the numeric columns holding whole numbers that are not percentage columns.
    percent_columns : list of str or dict, optional
        Default: numeric columns whose name contains ``%``, ``percent``, ``pct``, ``proportion`` or
        ``share``. A dict maps each percentage column to its count column.
    decimals : int
        Decimals of the percentages shown.

    Returns
    -------
    DataFrame
        Same index and columns; count and percentage columns as text, other columns unchanged.

    Examples
    --------
    >>> t = pd.DataFrame({"count": [20, 3, 9]}, index=["F", "M", "X"])
    >>> suppress_small_counts(t)["count"].tolist()
    ['20', '<5', 'hidden']
    """
    _check_threshold(threshold)
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    counts, pairs = _suppression_columns(frame, count_columns, percent_columns)
    # float64: nullable Int64 counts with missing cells would give NA-valued masks
    values = (frame[counts].apply(lambda c: pd.to_numeric(c, errors="coerce").astype("float64"))
              if counts else pd.DataFrame(index=frame.index))
    _check_counts(values)
    primary = (values >= 1) & (values < threshold)
    hidden = _secondary(values, primary.copy())
    out = frame.copy()
    for col in counts:
        text = values[col].map(lambda v: "" if _missing(v) else str(int(v)))
        text = text.mask(hidden[col], HIDDEN).mask(primary[col], f"<{threshold}")
        out[col] = text.astype("str")
    any_hidden = hidden.any(axis=1) if counts else pd.Series(False, index=frame.index)
    for pct, count in pairs.items():
        numbers = pd.to_numeric(frame[pct], errors="coerce")
        text = numbers.map(lambda v: "" if _missing(v) else f"{v:.{decimals}f}")
        mask = hidden[count] if count is not None else any_hidden
        out[pct] = text.mask(mask, HIDDEN).astype("str")
    return out


def _suppression_columns(frame, count_columns, percent_columns):
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if isinstance(percent_columns, dict):
        pairs = dict(percent_columns)
    else:
        pcts = (list(percent_columns) if percent_columns is not None
                else [c for c in numeric if _PERCENT_NAME.search(str(c))])
        pairs = dict.fromkeys(pcts)
    if count_columns is None:
        counts = [c for c in numeric if c not in pairs and _whole(frame[c])]
    else:
        counts = list(count_columns)
    for col in [*counts, *pairs, *[c for c in pairs.values() if c is not None]]:
        if col not in frame.columns:
            raise ValueError(f"The value for a count or percent column must be one of "
                             f"{list(frame.columns)}, but {col!r} was passed.")
    if len(counts) == 1:
        pairs = {p: (c if c is not None else counts[0]) for p, c in pairs.items()}
    return counts, pairs


def _whole(series: pd.Series) -> bool:
    present = pd.to_numeric(series, errors="coerce").dropna()
    return bool((present == np.floor(present)).all())


def _check_counts(values: pd.DataFrame) -> None:
    bad = values.notna() & ((values < 0) | (values != np.floor(values)))
    if bad.any().any():
        col = bad.any()[bad.any()].index[0]
        value = values.loc[bad[col], col].iloc[0]
        raise ValueError(f"Count column {col!r} must hold whole numbers >= 0, but {value!r} "
                         "was passed; give percentages with `percent_columns`.")


def _secondary(values: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Grow ``hidden`` until no row/column line of the count block holds exactly one hidden cell."""
    inner_rows = [i for i, label in enumerate(values.index) if not _is_total(label)]
    inner_cols = [j for j, label in enumerate(values.columns) if not _is_total(label)]
    v = values.to_numpy(dtype="float64")
    h = np.array(hidden.to_numpy(dtype=bool), copy=True)
    lines = []
    if len(inner_cols) >= 2:
        lines += [[(i, j) for j in inner_cols] for i in range(v.shape[0])]
    if len(inner_rows) >= 2:
        lines += [[(i, j) for i in inner_rows] for j in range(v.shape[1])]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(h[c] for c in line) != 1:
                continue
            candidates = [c for c in line if not h[c] and not np.isnan(v[c])]
            if not candidates:
                continue
            nonzero = [c for c in candidates if v[c] > 0]
            pick = min(nonzero or candidates, key=lambda c: (v[c], c))
            h[pick] = True
            changed = True
    return pd.DataFrame(h, index=values.index, columns=values.columns)
