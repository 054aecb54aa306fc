"""Notebook 01 (data check): what is in the records, what was set aside, who is analysed.

The rows views take the :class:`~outcomes.records.Records` (rows read and set aside do not depend
on the question); the patient views take the notebook's :class:`~outcomes.analysis.Analysis`.
Rows are not people, so their counts are shown as they are; counts of patients below 5 are
suppressed (:mod:`outcomes.privacy`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from tableone import TableOne

from ..analysis import Analysis
from ..present.display import Table, Text
from ..privacy import suppress_count, suppress_small_counts
from ..records import Records
from ..tables.ratings import exclusions
from ._shared import COHORT_LABELS
from .attendance import FREQUENCY_LABELS, attendance_metrics

__all__ = ["cohort_table", "followup_plot", "followup_table", "rows_table", "set_aside_examples",
           "set_aside_reasons"]

_COHORT_CATEGORICAL = ("sex", "skin_type", "smoker", "sun_exposure", "skincare", "concern",
                       "clinic_id")
_COHORT_NUMERIC = ("age", "sleep_hours")


# ---- rows (not people: never suppressed)


def _table_of(file: str) -> str:
    stem = Path(str(file)).stem.lower()
    for name in ("sessions", "assessments", "patients"):
        if name in stem:
            return name
    return stem


def rows_table(records: Records) -> Table:
    """Rows read, used and set aside per file. Rows are not people, so no count is suppressed."""
    rej = records.rejects
    aside = (rej.assign(table=rej["file"].map(_table_of)).drop_duplicates(["file", "line"])
             .groupby("table").size() if not rej.empty else pd.Series(dtype="int64"))
    rows = []
    for name, loaded in records.loaded_rows.items():
        read = records.input_rows.get(name)
        if read is None and loaded == 0:
            continue
        rows.append({"table": name, "rows read": int(read if read is not None else loaded),
                     "rows used": int(loaded), "rows set aside": int(aside.get(name, 0))})
    return Table(pd.DataFrame(rows))


def set_aside_reasons(records: Records) -> Table | Text:
    """Rows set aside, counted by file and reason (rows, not people: counts shown as they are)."""
    rej = records.rejects
    if rej.empty:
        return Text("No row was set aside: every row of every file could be used.")
    counts = (rej.groupby(["file", "reason"], sort=True).size().rename("rows set aside")
              .reset_index().sort_values(["file", "rows set aside"], ascending=[True, False]))
    return Table(counts)


def set_aside_examples(records: Records, *, n: int = 8) -> Table | Text:
    """The first ``n`` problems as a spreadsheet shows them: file, line, column, value, reason."""
    rej = records.rejects
    if rej.empty:
        return Text("No row was set aside, so there is nothing to correct.")
    out = rej.sort_values(["file", "line"], kind="stable").head(n)
    out = out[["file", "line", "column", "value", "reason"]].astype({"value": "str"})
    return Table(out.rename(columns={"line": "line in the file", "value": "value as written"}))


# ---- the patients


def cohort_table(analysis: Analysis) -> pd.DataFrame:
    """Patients' characteristics by frequency group (tableone), counts below 5 suppressed.

    Frequency group from :func:`outcomes.views.attendance.attendance_metrics`; ``baseline`` is
    the patient's baseline rating of the analysis's measure. Categorical rows show n (%), numeric
    rows mean (SD); ``Missing`` counts missing values. A count from 1 to 4 shows as ``<5`` and a
    second count of the same variable and group is hidden when it would reveal it by subtraction.
    """
    m = attendance_metrics(analysis)[["patient_id", "frequency"]]
    base = analysis.ratings[["patient_id", "baseline"]]
    data = m.merge(analysis.records.patients, on="patient_id", how="left").merge(
        base, on="patient_id", how="left")
    categorical = [c for c in _COHORT_CATEGORICAL
                   if c in data and data[c].notna().any() and data[c].nunique() > 1]
    numeric = [c for c in (*_COHORT_NUMERIC, "baseline") if c in data and data[c].notna().any()]
    for c in categorical:
        data[c] = data[c].astype("str").where(data[c].notna())
    data["frequency"] = data["frequency"].astype("str")
    order = {"frequency": [g for g in FREQUENCY_LABELS if g in set(data["frequency"])]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = TableOne(data, columns=numeric[:-1] + categorical + numeric[-1:],
                     categorical=categorical, groupby="frequency", order=order,
                     rename={c: COHORT_LABELS.get(c, c) for c in data}, missing=True,
                     overall=True, pval=False)
    return _suppress_tableone(t.tableone, [COHORT_LABELS.get(c, c) for c in categorical])


def _suppress_tableone(table: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = table.copy()
    out.columns = [c[-1] if isinstance(c, tuple) else c for c in out.columns]
    groups = [c for c in out.columns if c != "Missing"]
    first = out.index.get_level_values(0)
    is_n = first == "n"
    out.loc[is_n, groups] = out.loc[is_n, groups].map(
        lambda v: suppress_count(int(v)) if str(v).strip().isdigit() else v)
    if "Missing" in out:
        out["Missing"] = out["Missing"].map(
            lambda v: suppress_count(int(float(v))) if str(v).strip().replace(".0", "").isdigit()
            else v)
    for var in categorical:
        rows = (first == var) | first.str.startswith(f"{var}, ")
        if not rows.any():
            continue
        block = out.loc[rows, groups]
        counts = block.map(lambda v: int(str(v).split("(")[0]) if str(v).strip() else 0)
        shown = suppress_small_counts(counts, count_columns=groups)
        out.loc[rows, groups] = block.where(shown == counts.astype("str"), shown)
    return out


def followup_table(analysis: Analysis) -> pd.DataFrame:
    """Patients with a baseline and a landmark rating, and the others by reason (suppressed)."""
    table = analysis.ratings
    excl = exclusions(table)
    rows = pd.concat([pd.DataFrame({"reason": ["included (baseline and landmark)"],
                                    "n": [int((table["status"] == "included").sum())]}),
                      excl.assign(reason="left out: " + excl["reason"])], ignore_index=True)
    rows["% of patients"] = 100 * rows["n"] / max(len(table), 1)
    rows = rows.rename(columns={"n": "patients"}).set_index("reason")
    return suppress_small_counts(rows, count_columns=["patients"],
                                 percent_columns={"% of patients": "patients"}, decimals=0)


def followup_plot(analysis: Analysis, *, ax=None):
    """Histogram of the days from the first session to the landmark rating (included patients)."""
    s = analysis.settings
    table = analysis.ratings
    table = table[table["status"] == "included"]
    if ax is None:
        _, ax = plt.subplots()
    sns.histplot(data=table, x="followup_days", binwidth=7, ax=ax)
    ax.axvline(s.landmark_days, color="black", ls="--", lw=1)
    ax.set(xlabel="days from first session to landmark rating", ylabel="patients",
           title=f"Landmark ratings (target day {s.landmark_days} ± {s.window_days})")
    return ax
