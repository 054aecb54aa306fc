"""What ``outcomes check`` shows of loaded records: a summary, the rejects, the text it prints.

:func:`summary` (JSON-ready counts, date ranges, treatments, measures, extra columns),
:func:`rejects_table` and :func:`reject_objects` (the quarantined rows as a table and as JSON
objects) and :func:`check_text` (the account printed on the terminal, with everything that came
from the files escaped).
"""

from __future__ import annotations

import pandas as pd

from ..escape import terminal
from .assemble import REJECT_COLUMNS, Records, _problem_text
from .contract import TABLES
from .sources.mapping import set_aside_lines, set_aside_summary

__all__ = ["check_text", "reject_objects", "rejects_table", "summary"]


def rejects_table(records: Records) -> pd.DataFrame:
    """The quarantined rows, one row per problem.

    Returns
    -------
    DataFrame
        ``table``, ``file``, ``line`` (spreadsheet line, header = 1), ``column``, ``value`` (as
        written in the file), ``reason``; sorted by table and line.
    """
    return records.rejects[["table", *REJECT_COLUMNS]].reset_index(drop=True)


def summary(records: Records) -> dict:
    """A JSON-ready summary of loaded records (what ``outcomes check`` shows).

    Returns
    -------
    dict
        ``loaded`` (rows loaded per table), ``input_rows``, ``quarantined`` (rows set aside),
        ``quarantined_by_table``, ``quarantined_by_reason``, ``blank_rows``, ``patients`` (distinct
        patients), ``patients_added`` (patients without a usable patients row), ``date_range``
        (first and last session and assessment date), ``treatments`` (sessions per treatment),
        ``measures`` (scale of each), ``ratings`` (non-missing ratings per measure),
        ``extra_columns``, ``files``; and for a practice system's export read through its
        ``[sources]`` mapping, ``set_aside`` (one object per reason and value),
        ``set_aside_rows`` per table and ``rows_in_files`` (``loaded + quarantined + set aside``
        per table; without a mapping, set aside is 0 and ``rows_in_files == input_rows``).
    """
    def span(frame):
        if frame.empty:
            return None
        return [str(frame["date"].min().date()), str(frame["date"].max().date())]

    rj = records.rejects
    by_reason = (rj.drop_duplicates(["file", "line", "reason"])["reason"].value_counts()
                 if len(rj) else pd.Series(dtype="int64"))
    return {
        "loaded": records.loaded_rows,
        "input_rows": dict(records.input_rows),
        "quarantined": records.n_quarantined,
        "quarantined_by_table": records.quarantined_rows,
        "quarantined_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "blank_rows": dict(records.blank_rows),
        "patients": len(records.patients),
        "patients_added": int(records.added_patients),
        "date_range": {"sessions": span(records.sessions),
                       "assessments": span(records.assessments)},
        "treatments": {str(k): int(v) for k, v in
                       records.sessions["treatment"].value_counts().items()},
        "measures": {k: {"label": m.label, "min": m.min, "max": m.max, "better": m.better,
                         "step": m.step} for k, m in records.measures.items()},
        "ratings": {k: int(records.assessments[k].notna().sum()) for k in records.measures},
        "extra_columns": {k: v for k, v in records.extra_columns.items() if v},
        "files": dict(records.files),
        **set_aside_summary(records.set_aside, records.input_rows),
    }


def reject_objects(rejects: pd.DataFrame) -> list[dict]:
    return [{"file": r.file, "line": int(r.line), "column": r.column, "value": r.value,
             "reason": r.reason} for r in rejects.itertuples()]


def _terminal_lines(lines: list[str]) -> str:
    """Lines the program composed, joined; within each, what came from the files is escaped
    (a newline or ESC in a cell is shown as ``\\x0a`` or ``\\x1b``, never acted on)."""
    return "\n".join(terminal(line) for line in lines)


def check_text(records: Records, info: dict, max_rejects: int) -> str:
    out = [f"records in {records.source}"]
    for t in TABLES:
        if t not in info["files"]:
            continue
        q = info["quarantined_by_table"].get(t, 0)
        line = f"  {t:<12}{info['loaded'][t]:>10,} rows loaded from {info['files'][t]}"
        line += f", {q:,} quarantined" if q else ""
        line += (f", {info['set_aside_rows'][t]:,} set aside by the mapping"
                 if info["set_aside_rows"].get(t) else "")
        if info["blank_rows"].get(t):
            line += f", {info['blank_rows'][t]:,} blank line(s) skipped"
        out.append(line)
    added = (f" ({info['patients_added']:,} without a patients row: covariates missing)"
             if info["patients_added"] else "")
    out.append(f"  {'patients':<12}{info['patients']:>10,} distinct{added}")
    for t, r in info["date_range"].items():
        if r:
            out.append(f"  {t} from {r[0]} to {r[1]}")
    if info["treatments"]:
        out.append("  treatments: " + ", ".join(f"{k} {v:,}" for k, v in
                                                info["treatments"].items()))
    out.append("measures:")
    for k, m in records.measures.items():
        out.append(f"  {k}: {m.label}, {m.min:g}–{m.max:g}, {m.better} is better "
                   f"({info['ratings'][k]:,} ratings)")
    for t, cols in info["extra_columns"].items():
        out.append(f"extra columns in {t} (kept as text, not used by the analyses): "
                   + ", ".join(cols))
    out += set_aside_lines(records.set_aside)
    if not info["quarantined"]:
        out.append("quarantined rows: none")
        return _terminal_lines(out)
    by_reason = info["quarantined_by_reason"]
    twice = sum(by_reason.values()) - info["quarantined"]
    out.append(f"quarantined rows: {info['quarantined']:,} (kept out of the analyses), by reason"
               + (f" (a row with two problems is counted once under each reason, so these add "
                  f"to {sum(by_reason.values()):,}):" if twice > 0 else ":"))
    for reason, n in by_reason.items():
        out.append(f"  {n:>8,}  {reason}")
    shown = records.rejects.head(max_rejects)
    more = len(records.rejects) - len(shown)
    if len(shown):
        out.append(f"first {len(shown)} problems (line 1 is the header):" if more else
                   "problems (line 1 is the header):")
    for r in shown.itertuples():
        out.append(f"  {r.file} line {r.line}: {_problem_text(r)}")
    if more:
        out.append(f"  ... {more:,} more (use --json for all)")
    return _terminal_lines(out)
