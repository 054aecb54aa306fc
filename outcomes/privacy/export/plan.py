"""What becomes of each column of the raw export, decided before any work is done.

:func:`_plan_columns` decides, per table and column: keep, drop (a direct identifier by its name
or its values, free text, a column outside the records schema, ``--drop``), pseudonymise
(``patient_id``, ``clinician_id``) or turn into age (a date of birth). It refuses what it cannot
make safe: an identifier in a column that must be kept, a ``--keep`` column of free text, and any
kept text holding a pattern of the loader's value checks or a name, record number or address
found in this export's own identifier columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...errors import RecordsError
from ...records.identifiers import (
    free_text_mask,
    identifier_columns,
    identifier_values,
    looks_like_free_text_column,
    value_kinds,
)
from .keys import PSEUDONYMISED
from .read import _is_date_column, _is_numeric_column

#: columns of the records schema (docs/methods.md §1); assessments also hold one column per measure
SCHEMA = {
    "sessions": ("patient_id", "date", "treatment", "depth_mm", "areas", "clinician_id"),
    "assessments": ("patient_id", "date", "region", "rater"),
    "patients": ("patient_id", "age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours",
                 "skincare", "concern", "clinic_id"),
}
REQUIRED_COLUMNS = {"sessions": ("patient_id", "date", "treatment"),
                    "assessments": ("patient_id", "date"), "patients": ("patient_id",)}


def _norm(name) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


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
                    f"at data row {values.index[rows[0]] + 1}). Free text often names people: "
                    f"{fix}; nothing was written.")


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
               f"{present.index[rows[0]] + 1}")
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
                               f"{frame.index[hit['rows'][0]] + 1}); remove them from the "
                               "export first.")
        decisions[col] = ("drop", target)
        dropped_here.append({"table": name, "column": col, "reason": what})
