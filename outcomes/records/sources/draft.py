"""``outcomes sources RAW``: the ``[sources]`` mapping drafted from an export's own files
(docs/methods.md §1.14).

A clinic lead should edit a draft, not a blank page. :func:`draft_sources` looks at the files of
an export — their names, headers and values — and writes the ``[sources]`` block of
``dataset.toml`` (:mod:`.mapping`) with a comment after every guess:

* which file is which table (appointments, a ratings form, a client list), and which column is
  the patient id (the one whose values the files share);
* the order of day and month, from the values: a first number above 12 means day-first, a
  second above 12 month-first; neither is a question left to the user, never a silent guess;
* the statuses seen, keeping the completed ones; the service names grouped into treatments
  (microneedling, HydraFacial), the rest listed as set aside;
* the rating columns (wide, one per measure), with a ``[measures.*]`` scale when they are not
  the 0–4 grades; and the values of every closed column to map (``Type IV`` → 4,
  ``Ex-smoker`` → former ...), with ``"?"`` — which the reader refuses until it is replaced —
  where no meaning can be guessed.

:func:`.preview.preview` shows what a mapping reads, before anything is
anonymised.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import RecordsError
from ..dataset import read_toml
from ..identifiers import identifier_columns
from ..scales import read_scales
from .files import READABLE, read_source, sheet_names, text_of
from .spec import (
    CLOSED,
    _as_is,
    _vocabulary,
    parse_date,
)

__all__ = ["FAMILIES", "Draft", "draft_sources", "export_files"]

#: keywords of service names, per treatment (a service matching none is set aside)
FAMILIES = {"microneedling": ["microneedling", "micro-needling", "micro needling", "skinpen",
                              "skin pen", "dermapen", "collagen induction", "dermaroll"],
            "hydrafacial": ["hydrafacial", "hydra facial", "hydra-facial"]}
_DONE = ("complete", "attended", "arrived", "checked out", "checked-out", "seen", "done",
         "finished", "fulfilled")
#: records column → words of a header that name it (first match wins, per table)
_COLUMN_WORDS = {
    "sessions": [("date", ["appointment date", "start date", "date", "start", "day"]),
                 ("treatment", ["service", "treatment", "procedure", "appointment type", "item"]),
                 ("clinician_id", ["employee", "staff", "practitioner", "therapist", "clinician",
                                   "provider", "doctor", "with"]),
                 ("depth_mm", ["depth"]), ("areas", ["areas", "area", "zones"])],
    "assessments": [("date", ["completed on", "completed", "submitted", "assessed on", "date",
                              "created", "taken"]),
                    ("rater", ["completed by", "rated by", "assessed by", "rater", "by"]),
                    ("region", ["area", "region", "zone", "site"])],
    "patients": [("date_of_birth", ["date of birth", "dob", "birth date", "birthday", "born"]),
                 ("sex", ["gender", "sex"]), ("skin_type", ["fitzpatrick", "skin type",
                                                           "phototype"]),
                 ("smoker", ["smoker", "smoking", "smokes"]), ("sun_exposure", ["sun"]),
                 ("sleep_hours", ["sleep"]), ("skincare", ["skincare", "skin care", "routine",
                                                           "regime"]),
                 ("concern", ["concern"]), ("clinic_id", ["location", "clinic", "site",
                                                          "branch"]), ("age", ["age"])],
}
_NOT_DATES = ("birth", "dob", "since", "created", "booked", "modified", "updated")
_TABLE_WORDS = {"sessions": ["appointment", "booking", "session", "diary", "treatment", "visit"],
                "assessments": ["assessment", "rating", "form", "score", "scan", "consultation",
                                "questionnaire"],
                "patients": ["client", "patient", "customer", "contact"]}
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_SCALE = re.compile(r"\(\s*(\d+(?:\.\d+)?)\s*[-–—to]+\s*(\d+(?:\.\d+)?)\s*\)")


def _words(text) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", str(text).lower())) + " "


def _has(header, word: str) -> bool:
    return f" {word} " in _words(header)


def _s(v) -> str:
    """A TOML basic string."""
    return json.dumps(str(v), ensure_ascii=False)


def _k(v) -> str:
    """A TOML key: bare when it may be, else quoted."""
    return v if re.fullmatch(r"[A-Za-z0-9_-]+", str(v)) else _s(v)


def _c(text: str) -> str:
    """Text for a TOML comment: one line, no control characters."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(text))


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _n(n: int) -> str:
    return f"{n:,}"


def _people(n: int) -> str:
    """A count of people as shown: 1 to 4 as <5."""
    return "<5" if 0 < n < 5 else f"{n:,}"


@dataclass
class _File:
    """One candidate file (or sheet) with what the draft needs of it."""

    file: str
    sheet: str | None
    label: str
    headers: list[str]
    values: list[list]   # trimmed text cells per column (None = empty)
    n: int


def _candidates(folder: Path) -> list[_File]:
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")) or p.suffix.lower() not in READABLE:
            continue
        sheets = sheet_names(p) if p.suffix.lower() == ".xlsx" else [None]
        for sheet in sheets:
            src = read_source(folder, p.name, sheet)
            cells = [[None if v is None or not str(v).strip() else str(v).strip()
                      for v in text_of(c).to_pylist()] for c in src.columns]
            out.append(_File(p.name, sheet, src.file, [h.strip() for h in src.headers], cells,
                             src.n))
    if not out:
        raise RecordsError(f"{folder}: no .csv, .xlsx or .parquet file to read. Put the "
                           "practice system's lists (appointments, ratings, clients) in the "
                           "folder.")
    return out


def export_files(folder: str | Path) -> pd.DataFrame:
    """The files (and sheets) of an export: rows, columns, and the table each is drafted as.
    Row counts of files, not of people; no value of any cell is shown."""
    files = _candidates(Path(folder))
    tables = {f.label: t for t, f in _assign(files).items()}
    return pd.DataFrame([{"file": f.label, "rows": f.n, "columns": ", ".join(f.headers),
                          "drafted as": tables.get(f.label, "")} for f in files])


def _score(f: _File, table: str) -> int:
    name = _words(f.sheet or Path(f.file).stem)
    score = 10 * (Path(f.file).stem.lower() == table or (f.sheet or "").lower() == table)
    score += 3 * any(w in name for w in _TABLE_WORDS[table])
    heads = " | ".join(_words(h) for h in f.headers)
    if table == "sessions":
        score += 3 * any(f" {w} " in heads for w in ("service", "treatment", "procedure"))
        score += 2 * (" status " in heads) + (" employee " in heads)
    elif table == "assessments":
        score += 3 * sum(any(f" {w} " in _words(h) for w in ("pore", "pores", "texture",
                                                              "percentile", "grade", "rating"))
                         for h in f.headers)
        score += 2 * any(f" {w} " in heads for w in ("completed by", "rater", "area", "region"))
    else:
        score += 3 * sum(any(f" {w} " in _words(h) for w in ("birth", "dob", "gender", "sex",
                                                             "fitzpatrick", "smoker"))
                         for h in f.headers)
    return score


def _assign(files: list[_File]) -> dict[str, _File]:
    out, used = {}, set()
    for table in ("sessions", "assessments", "patients"):
        ranked = sorted(((_score(f, table), -i, f) for i, f in enumerate(files)
                         if f.label not in used), key=lambda x: x[:2], reverse=True)
        if ranked and ranked[0][0] > 0:
            out[table] = ranked[0][2]
            used.add(ranked[0][2].label)
    return out


def _id_column(f: _File, others: list[_File]) -> int | None:
    """The column naming the patient: ``Client ID``-like, sharing most values with the others."""
    def named(h):
        w = _words(h)
        return (any(f" {p} " in w for p in ("client", "patient", "customer", "member"))
                and any(f" {x} " in w for x in ("id", "no", "number", "ref", "code"))) or (
            w.strip() in ("id", "patient id", "client id"))
    cands = [i for i, h in enumerate(f.headers) if named(h)]
    if len(cands) <= 1:
        return cands[0] if cands else None
    pool = {v for o in others for vals in o.values for v in vals if v}
    return max(cands, key=lambda i: len(set(f.values[i]) & pool))


def _column(f: _File, table: str, target: str, taken: set[int]) -> int | None:
    for words, in [(w,) for t, w in _COLUMN_WORDS[table] if t == target]:
        for word in words:
            for i, h in enumerate(f.headers):
                if i in taken or not _has(h, word):
                    continue
                if target == "date" and any(_has(h, x) for x in _NOT_DATES):
                    continue
                if target in ("date", "date_of_birth") and not _datelike(f.values[i]):
                    continue
                return i
    return None


def _datelike(values: list) -> bool:
    filled = [v for v in values if v]
    if not filled:
        return False
    sample = filled[:: max(1, len(filled) // 200)]
    return sum(parse_date(v, "day-first")[0] is not None or parse_date(v, "day-first")[2]
               for v in sample) >= 0.9 * len(sample)


def _order(cells: list) -> tuple[str, str]:
    """The day/month order of date cells, and the evidence for the comment."""
    first = second = numeric = 0
    example = {}
    for v in dict.fromkeys(cells):  # in file order: the example shown is the same every run
        m = re.match(r"^\D*?(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}", v or "")
        if not m:
            continue
        numeric += 1
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12:
            first += 1
            example.setdefault("day-first", v)
        if b > 12:
            second += 1
            example.setdefault("month-first", v)
    if not numeric:
        return "iso", "dates written YYYY-MM-DD (or as date cells)"
    if first and not second:
        return "day-first", (f"{_n(first)} dates have a first number above 12 (e.g. "
                             f"{example['day-first']!r}), none a second")
    if second and not first:
        return "month-first", (f"{_n(second)} dates have a second number above 12 (e.g. "
                               f"{example['month-first']!r}), none a first")
    if first and second:
        return "day-first", ("FIX: some dates have the first number above 12 and others the "
                             "second: the file mixes orders; check the export")
    return "day-first", ("CHECK: no date has a number above 12 to tell day from month; "
                         "day-first is a guess (UK systems write 05/03/2024 for 5 March)")


def _value_lines(table, target, values: list, where_people: bool) -> tuple[list[str], int]:
    """``[sources.T.values.C]`` lines for a closed column's values, and the questions left."""
    counts = Counter(v for v in values if v)
    lines, questions = [], 0
    order = sorted(counts.items(), key=(lambda kv: kv[0]) if where_people else (lambda kv: -kv[1]))
    for value, count in order:
        if _as_is(target, value) is not None:
            continue
        to = _vocabulary(target, value)
        shown = "" if where_people else f"{_n(count)} rows; "
        if to is None:
            questions += 1
            lines.append(f"{_k(value)} = \"?\"  # FIX: {shown}what is it? one of "
                         f"{', '.join(CLOSED[target])}, or \"\" for missing")
        else:
            lines.append(f"{_k(value)} = {_s(to) if target != 'skin_type' else to}"
                         f"  # {_c(shown)}the built-in vocabulary reads it so too")
    return lines, questions


@dataclass
class Draft:
    """A drafted ``[sources]`` block (``text``, TOML with a comment per guess)."""

    folder: Path
    text: str
    questions: int
    checks: int

    def summary(self) -> str:
        """One sentence: how many questions and guesses to check the draft leaves."""
        if not self.questions and not self.checks:
            return ("The draft leaves no question (FIX) and no guess to confirm (CHECK): read "
                    "its comments, then use it.")
        return (f"The draft leaves {self.questions} question(s) marked FIX (a value or a column "
                f"it cannot guess; the reader refuses them until answered) and {self.checks} "
                "guess(es) marked CHECK to confirm.")

    @property
    def sources(self) -> dict:
        """The block as TOML data (``"?"`` values included)."""
        return tomllib.loads(self.text).get("sources", {})

    def write(self) -> Path:
        """Add the draft to ``folder/dataset.toml`` (created when missing); refuse when it
        already has a ``[sources]`` mapping."""
        path = self.folder / "dataset.toml"
        old = path.read_text(encoding="utf-8-sig") if path.exists() else ""
        doc = read_toml(path) if old else {}
        if doc and "sources" in doc:
            raise RecordsError(f"{path} already has a [sources] mapping; edit it there, or "
                               "delete it to draft a new one.")
        text = self.text
        for name in (doc or {}).get("measures", {}):  # a scale the file already declares
            text = re.sub(rf"(?ms)^\[measures\.{re.escape(name)}\]\n.*?(?=^\[|\Z)", "", text)
        path.write_text(old + ("\n" if old and not old.endswith("\n\n") else "") + text,
                        encoding="utf-8")
        return path


def draft_sources(folder: str | Path) -> Draft:
    """Draft the ``[sources]`` block for the export in ``folder`` (see the module's text)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordsError(f"There is no folder at {str(folder)!r}. Pass the folder holding the "
                           "practice system's export.")
    files = _candidates(folder)
    tables = _assign(files)
    for t in ("sessions", "assessments"):
        if t not in tables:
            raise RecordsError(f"{folder.name}: none of the files looks like the {t} ("
                               + ("an appointments list with a service and a date"
                                  if t == "sessions" else "a form with rating columns")
                               + "). Files seen: " + ", ".join(f.label for f in files) + ".")
    measures = read_scales(folder / "dataset.toml")
    out = ["# How to read this practice system's export (drafted by `outcomes sources`).",
           ("# Every guess has a comment: check them (FIX marks a question, CHECK a guess to "
            "confirm),"), "# then see what it reads with `outcomes sources DIR`.", ""]
    questions = checks = 0
    scales = []
    for table, f in tables.items():
        others = [g for t, g in tables.items() if t != table]
        taken: set[int] = set()
        cols: dict[str, int] = {}
        pid = _id_column(f, others)
        if pid is not None:
            cols["patient_id"] = pid
            taken.add(pid)
        for target, _ in _COLUMN_WORDS[table]:
            i = _column(f, table, target, taken)
            if i is not None and target not in cols:
                cols[target] = i
                taken.add(i)
        if "age" in cols and "date_of_birth" in cols:
            taken.discard(cols.pop("age"))
        meas = _measures(f, taken, measures, scales) if table == "assessments" else {}
        taken |= set(meas.values())
        status = next((i for i, h in enumerate(f.headers)
                       if i not in taken and any(_has(h, w) for w in ("status", "state",
                                                                       "outcome"))), None)
        out += [f"[sources.{table}]",
                f"file = {_s(f.file)}  # {_c(_n(f.n))} rows; read as the {table}"]
        if f.sheet is not None:
            out.append(f"sheet = {_s(f.sheet)}")
        dated = [v for key in ("date", "date_of_birth") if key in cols for v in
                 f.values[cols[key]]]
        order, why = _order(dated)
        checks += why.startswith("CHECK")
        questions += why.startswith("FIX")
        out.append(f"dates = {_s(order)}  # {_c(why)}")
        keep_rows = np.ones(f.n, dtype=bool)
        if status is not None:
            seen = Counter(v for v in f.values[status] if v)
            kept = [v for v in seen if any(w in v.lower() for w in _DONE)
                    and not v.lower().startswith(("not ", "in"))]
            listed = ", ".join(f"{v} {_n(c)}" for v, c in seen.most_common())
            if kept:
                out.append(f"keep = {{ {_k(f.headers[status])} = "
                           f"[{', '.join(_s(v) for v in kept)}] }}  # {_c(f.headers[status])} "
                           f"seen: {_c(listed)}")
                keep_rows = np.array([v in kept for v in f.values[status]], dtype=bool)
            else:
                out.append(f"# FIX: {_c(f.headers[status])} seen: {_c(listed)}; say which "
                           "rows are records: keep = { Column = [\"Value\"] }")
                questions += 1
        out += ["", f"[sources.{table}.columns]"]
        for target, i in cols.items():
            out.append(f"{target} = {_s(f.headers[i])}  # {_c(_why(table, target, f, i, others))}")
        if "patient_id" not in cols:
            out.append('patient_id = "?"  # FIX: which column identifies the patient?')
            questions += 1
        left = [h + (f" ({_a(identifier_columns([h])[h])})" if identifier_columns([h]) else "")
                for i, h in enumerate(f.headers) if i not in taken and i != status]
        if left:
            out.append(f"# not mapped (not used by the analyses; outcomes anonymise drops them): "
                       f"{_c(', '.join(left))}")
        if table == "sessions" and "treatment" in cols:
            out += _treatment_lines(f, cols["treatment"], keep_rows)
        if meas:
            out += ["", f"[sources.{table}.measures]"]
            out += [f"{m} = {_s(f.headers[i])}  # {_c(_measure_why(m, f.values[i]))}"
                    for m, i in meas.items()]
        for target, i in cols.items():
            if target in CLOSED:
                lines, q = _value_lines(table, target, f.values[i], table == "patients")
                questions += q
                if lines:
                    out += ["", f"[sources.{table}.values.{target}]", *lines]
        out.append("")
    out += scales
    return Draft(folder, "\n".join(out).rstrip("\n") + "\n", questions, checks)


def _why(table, target, f: _File, i: int, others) -> str:
    filled = [v for v in f.values[i] if v]
    if target == "patient_id":
        mine = set(filled)
        shared = [f"{_people(len(mine & {v for v in o.values[_id_column(o, [f]) or 0] if v}))}"
                  f" in {o.label}" for o in others if _id_column(o, [f]) is not None]
        return (f"{_people(len(mine))} distinct ids" + (f"; shared: {', '.join(shared)}"
                                                          if shared else ""))
    if target in ("date", "date_of_birth"):
        return f"dates, e.g. {filled[0]!r}" if filled and target == "date" else "dates"
    if target == "clinician_id":
        return f"{_people(len(set(filled)))} names (outcomes anonymise pseudonymises them)"
    if filled and all(_NUMBER.match(v) for v in filled):
        return f"numbers {min(map(float, filled)):g} to {max(map(float, filled)):g}"
    if table == "patients" or target in CLOSED:
        return "values: " + ", ".join(sorted(set(filled))[:8])
    return f"{_n(len(set(filled)))} distinct values"


def _treatment_lines(f: _File, i: int, keep_rows: np.ndarray) -> list[str]:
    services = Counter(v for v, k in zip(f.values[i], keep_rows) if v and k)
    groups: dict[str, list[str]] = {}
    matched: dict[str, list[str]] = {}
    rest = []
    for service, _count in services.most_common():
        low = service.casefold()
        hits = [(len(p), g, p) for g, ps in FAMILIES.items() for p in ps if p in low]
        if not hits:
            rest.append(service)
            continue
        _, g, p = max(hits)
        groups.setdefault(g, [])
        if p not in groups[g]:
            groups[g].append(p)
        matched.setdefault(g, []).append(service)
    if not groups:
        return [("# CHECK: no microneedling or HydraFacial service recognised; every service "
                 "is read as a treatment of its own name (add [sources.sessions.treatments] to "
                 "group them)")]
    out = ["", "[sources.sessions.treatments]",
           "# a service belongs to a treatment when it contains one of its patterns (any case)"]
    for g, pats in groups.items():
        listed = ", ".join(f"{s} ({_n(services[s])})" for s in matched[g])
        out.append(f"{g} = [{', '.join(_s(p) for p in pats)}]  # {_c(listed)}")
    if rest:
        listed = ", ".join(f"{s} ({_n(services[s])})" for s in rest)
        out.append(f"# set aside (no pattern matches): {_c(listed)}; add a pattern to a "
                   "treatment if one of them is a session to count")
    return out


def _measures(f: _File, taken: set[int], measures, scales: list) -> dict[str, int]:
    out = {}
    for i, h in enumerate(f.headers):
        filled = [v for v in f.values[i] if v]
        if i in taken or not filled or not all(_NUMBER.match(v) for v in filled):
            continue
        w = _words(h)
        name = ("pore" if " pore " in w or " pores " in w else "texture" if " texture " in w
                else re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", h.lower())).strip("_"))
        if name in out or not name or name[0].isdigit():
            continue
        lo, hi = min(map(float, filled)), max(map(float, filled))
        m = _SCALE.search(h)
        low, high = (float(m.group(1)), float(m.group(2))) if m else (
            (0.0, 100.0) if " percentile " in w or hi > 4 else (lo, hi))
        known = measures.get(name)
        if known is None or (known.min, known.max) != (low, high):
            better = "higher" if " percentile " in w else "lower"
            scales += [f"[measures.{name}]", f"label = {_s(h)}", f"min = {low:g}",
                       f"max = {high:g}", f'better = "{better}"  # CHECK: a {better} value better?',
                       ""]
        out[name] = i
    return out


def _measure_why(m: str, values: list) -> str:
    filled = [float(v) for v in values if v]
    return (f"ratings {min(filled):g} to {max(filled):g}, {_n(len(filled))} filled"
            if filled else "no ratings")
