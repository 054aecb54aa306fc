"""Anonymise a raw export (docs/methods.md §5): :func:`anonymise`, from RAW to OUT.

The run: check the paths (OUT new and outside RAW, the key apart from both), read RAW as text
(:mod:`.read`; a practice system's export through its ``[sources]`` mapping,
:mod:`outcomes.records.sources`), decide every column (:mod:`.plan`), then make OUT's tables — keyed pseudonyms for
the ids, age at first session from a date of birth, every date of a patient optionally shifted
back by one keyed offset (:mod:`.keys`), every row kept — write them into a temporary folder
renamed into place only when complete, and check k-anonymity of OUT as written
(:mod:`outcomes.privacy.disclosure`) for the account (:mod:`.account`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import RecordsError
from ...records.scales import read_scales
from ...records.sources.mapping import read_mapped
from ...records.sources.spec import strip_sources
from ..disclosure import QUASI_IDENTIFIERS, coarsening_options, k_anonymity
from .account import AnonymiseReport
from .keys import PSEUDONYMISED, load_or_create_key, patient_shifts, pseudonym
from .plan import SCHEMA, _plan_columns
from .read import _is_date_column, _parse_days, _read_mapped, _read_raw

__all__ = ["anonymise"]


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
        as is). Or a practice system's export with a ``[sources]`` mapping in its
        ``dataset.toml`` (docs/methods.md §1.14): read through it
        (:func:`outcomes.records.sources.mapping.read_mapped`), the rows it sets aside not
        written, ``dataset.toml`` written to OUT without the mapping. Read as text; never
        modified.
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
    # an export with a [sources] mapping in RAW/dataset.toml is read through it; OUT gets
    # records and dataset.toml without the mapping
    mapped = read_mapped(raw, read_scales(raw / "dataset.toml"), guard=False)
    tables, copied, ignored = _read_raw(raw) if mapped is None else _read_mapped(raw, mapped)
    texts = ({"dataset.toml": strip_sources((raw / "dataset.toml").read_text("utf-8-sig"))}
             if mapped is not None else {})
    measures = read_scales(raw / "dataset.toml" if "dataset.toml" in copied or texts else None)
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

    _write_atomically(out, frames, [raw / c for c in copied], texts)
    copied += [f"{name} (without its [sources] mapping: OUT holds records)" for name in texts]

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
        ignored=ignored, notes=notes, as_written=as_written, write_age_band=write_age_band,
        **({} if mapped is None else {"mapping": mapped.account(),
                                      "set_aside": mapped.set_aside}))


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


def _write_atomically(out: Path, frames: dict[str, pd.DataFrame], copies: list[Path],
                      texts: dict[str, str] | None = None) -> None:
    """Write ``frames`` as CSV, ``copies`` as they are and ``texts`` (name → text, e.g.
    ``dataset.toml`` without its mapping) into OUT, all or nothing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for name, frame in frames.items():
            _write_table(frame, tmp / f"{name}.csv")
        for src in copies:
            shutil.copyfile(src, tmp / src.name)
        for name, text in (texts or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        try:
            os.replace(tmp, out)
        except OSError as exc:
            raise RecordsError(f"Could not move the output into {out} ({exc}); nothing was "
                               "written there.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
