"""Notebook 02 (attendance): how often and how regularly patients come, against a protocol.

Every view takes the notebook's :class:`~outcomes.analysis.Analysis`: the attendance window is its
``landmark_days``, lapses its ``permissible_gap``, adherence its ``protocol``. The explorer of
notebook 02 (:func:`outcomes.views.widgets.attendance_explorer`) builds one analysis per choice.
"""

from __future__ import annotations

import pandas as pd

from ..analysis import Analysis
from ..present.plots import frequency_distribution
from ..privacy import suppress_count, suppress_small_counts
from ..protocols import Protocol
from ..settings import choice
from ..tables.attendance import patient_metrics

__all__ = ["FREQUENCY_BINS", "FREQUENCY_LABELS", "adherence_table", "attendance_metrics",
           "attendance_view", "describe_metrics", "frequency_group", "protocol_choices",
           "protocol_named"]

#: frequency groups (sessions a month between t0 and the landmark), as in
#: :func:`outcomes.estimate.traps.confounding_by_indication`
FREQUENCY_BINS = (0.0, 0.5, 1.0, float("inf"))
FREQUENCY_LABELS = ("under 0.5 a month", "0.5 to 1 a month", "1 or more a month")

_METRIC_NAMES = {"n_sessions": "sessions", "sessions_per_month": "sessions a month",
                 "interval_cv": "interval CV", "longest_gap": "longest gap (days)",
                 "lapses": "lapses (gaps > 45 days)", "coverage": "coverage (share of days)",
                 "adherence": "on-schedule adherence"}


def frequency_group(sessions_per_month: pd.Series) -> pd.Series:
    """Frequency group of each patient: ``under 0.5``, ``0.5 to 1``, ``1 or more`` a month."""
    return pd.cut(sessions_per_month, list(FREQUENCY_BINS), right=False,
                  labels=list(FREQUENCY_LABELS))


def attendance_metrics(analysis: Analysis) -> pd.DataFrame:
    """Attendance of every patient over their first ``landmark_days`` days.

    The window is ``[t0, min(t0 + landmark_days, data end + 1 day))`` (data end = last session
    date) — the same period for everyone, whether or not they were rated at the landmark.
    Columns of :func:`outcomes.tables.attendance.patient_metrics` plus ``frequency`` (group).
    """
    s, settings = analysis.records.sessions, analysis.settings
    t0 = s.groupby("patient_id")["date"].min()
    end_of_data = s["date"].max() + pd.Timedelta(days=1)
    end = (t0 + pd.Timedelta(days=int(settings.landmark_days))).clip(upper=end_of_data)
    windows = pd.DataFrame({"patient_id": t0.index.astype("str"), "start": t0.to_numpy(),
                            "end": end.to_numpy()})
    m = patient_metrics(s, windows=windows, permissible_gap=settings.permissible_gap,
                        protocol=settings.protocol)
    m["frequency"] = frequency_group(m["sessions_per_month"])
    return m


def describe_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Median, quartiles and mean of each attendance metric, with the patients it is known for."""
    rows = []
    for col, name in _METRIC_NAMES.items():
        if col not in metrics:
            continue
        x = metrics[col].astype("float64").dropna()
        q = x.quantile([0.25, 0.5, 0.75]) if len(x) else pd.Series([float("nan")] * 3)
        rows.append({"metric": name, "patients": suppress_count(len(x)),
                     "median": q.iloc[1], "25%": q.iloc[0], "75%": q.iloc[2], "mean": x.mean()})
    return pd.DataFrame(rows).set_index("metric").round(2)


def adherence_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """By frequency group: patients, loading completed, on schedule (≥ 80 % of due sessions on
    time), median adherence and coverage. Counts below 5 suppressed (and their percentages)."""
    m = metrics.copy()
    if "frequency" not in m:
        m["frequency"] = frequency_group(m["sessions_per_month"])
    m["maintenance"] = m["phase_reached"].astype("str") == "maintenance"
    m["on_schedule"] = m["adherence"] >= 0.8
    g = m.groupby("frequency", observed=False)
    out = pd.DataFrame({
        "patients": g.size(),
        "loading completed": g["maintenance"].sum().astype("int64"),
        "on schedule": g["on_schedule"].sum().astype("int64"),
        "median adherence": g["adherence"].median().round(2),
        "median coverage": g["coverage"].median().round(2)})
    total = pd.DataFrame({"patients": [len(m)], "loading completed": [int(m["maintenance"].sum())],
                          "on schedule": [int(m["on_schedule"].sum())],
                          "median adherence": [round(m["adherence"].median(), 2)],
                          "median coverage": [round(m["coverage"].median(), 2)]}, index=["All"])
    out = pd.concat([out, total])
    out.index = out.index.astype("str")
    out.index.name = "frequency"
    out.insert(2, "% loading completed", 100 * out["loading completed"] / out["patients"])
    out.insert(4, "% on schedule", 100 * out["on schedule"] / out["patients"])
    return suppress_small_counts(out, count_columns=["patients", "loading completed",
                                                     "on schedule"],
                                 percent_columns={"% loading completed": "loading completed",
                                                  "% on schedule": "on schedule"}, decimals=0)


def protocol_choices() -> dict[str, Protocol]:
    """Protocols offered in notebook 02: the clinic's, and three alternatives."""
    return {"clinic: 3 monthly, then every 3 months": Protocol(),
            "6 monthly, then every 3 months": Protocol(loading_sessions=6),
            "3 monthly, then every 2 months": Protocol(maintenance_interval=61,
                                                       maintenance_tolerance=14),
            "monthly throughout": Protocol(loading_sessions=1, loading_interval=28,
                                           maintenance_interval=28, maintenance_tolerance=7)}


def protocol_named(name: str) -> Protocol:
    """The protocol of :func:`protocol_choices` called ``name`` (else a
    :class:`~outcomes.errors.SettingError` naming those there are)."""
    choices = protocol_choices()
    choice("protocol", name, choices)
    return choices[name]


def attendance_view(analysis: Analysis):
    """Notebook 02's explorer view: adherence by frequency group and the frequency histogram,
    over the analysis's ``landmark_days`` and against its ``protocol``."""
    metrics = attendance_metrics(analysis)
    ax = frequency_distribution(metrics)
    ax.set_title(f"Sessions a month over the first {analysis.settings.landmark_days} days")
    return adherence_table(metrics), ax
