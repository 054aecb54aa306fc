"""Attendance and descriptive plots for the notebooks (seaborn classic functions).

Every function draws on a given ``ax`` (or a new figure), returns the matplotlib Axes (or Figure for
multi-panel plots) and never calls ``plt.show()``. Inputs are the tidy tables of
:mod:`outcomes.attendance`; where it makes sense a raw sessions table is accepted too and the metrics
are computed on the fly.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..tables.attendance import patient_metrics
from ..tables.persistence import persistence_curve

__all__ = [
    "adherence_plot",
    "consistency_distribution",
    "frequency_distribution",
    "patient_timelines",
    "persistence_plot",
]

_SORT_KEYS = ["sessions_per_month", "n_sessions", "interval_cv", "coverage", "adherence",
              "longest_gap"]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _metrics(data: pd.DataFrame, column: str, **kwargs) -> pd.DataFrame:
    """``data`` if it already holds per-patient metrics, else ``patient_metrics(data, **kwargs)``."""
    if column in data.columns:
        return data
    return patient_metrics(data, **kwargs)


def patient_timelines(sessions: pd.DataFrame, assessments: pd.DataFrame | None = None, *,
                      n: int = 40, sort_by: str = "sessions_per_month", seed: int = 0,
                      treatments=None, data_end=None, ax=None):
    """One line per patient: session dots and assessment marks, patients sorted by frequency.

    Parameters
    ----------
    sessions : DataFrame
        ``patient_id``, ``date`` (``treatment`` colours the dots when present).
    assessments : DataFrame, optional
        ``patient_id``, ``date``; drawn as black vertical ticks (one per patient and day).
    n : int
        Patients shown (a random sample of ``n`` when there are more; default 40).
    sort_by : str
        Metric of :func:`~outcomes.attendance.patient_metrics` that orders the patients, largest at
        the top; one of ``sessions_per_month`` (default), ``n_sessions``, ``interval_cv``,
        ``coverage``, ``adherence``, ``longest_gap``.
    seed : int
        Seed of the random sample.
    treatments, data_end
        Passed to :func:`~outcomes.attendance.patient_metrics` (and ``treatments`` filters the dots).

    Returns
    -------
    matplotlib Axes
        x = days since the patient's first session (t0), y = patient. The first collection holds
        one dot per session day shown, the second (if any) one tick per assessment day.
    """
    if sort_by not in _SORT_KEYS:
        raise ValueError(f"The value for `sort_by` must be one of {_SORT_KEYS}, but {sort_by!r} "
                         "was passed.")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"The value for `n` must be a positive whole number, but {n!r} was passed.")
    metrics = patient_metrics(sessions, treatments=treatments, data_end=data_end)
    if len(metrics) > n:
        pick = np.random.default_rng(seed).choice(len(metrics), size=n, replace=False)
        metrics = metrics.iloc[np.sort(pick)]
    order = metrics.sort_values([sort_by, "patient_id"], ascending=[False, True],
                                na_position="last")
    rank = pd.Series(np.arange(len(order)), index=order["patient_id"].to_numpy())
    t0 = pd.Series(order["first_session"].to_numpy(), index=order["patient_id"].to_numpy())

    def place(df):
        df = df[df["patient_id"].astype("str").isin(rank.index)].copy()
        df["patient_id"] = df["patient_id"].astype("str")
        df["day"] = pd.to_datetime(df["date"]).dt.floor("D")
        df = df.drop_duplicates(["patient_id", "day"])
        df["days_since_t0"] = (df["day"] - t0.reindex(df["patient_id"]).to_numpy()).dt.days
        df["patient"] = rank.reindex(df["patient_id"]).to_numpy()
        return df

    s = sessions
    if treatments is not None:
        wanted = [treatments] if isinstance(treatments, str) else list(treatments)
        s = s[s["treatment"].astype("str").str.lower().isin([w.lower() for w in wanted])]
    dots = place(s)
    ax = _ax(ax)
    hue = "treatment" if "treatment" in dots.columns else None
    if hue:
        dots["treatment"] = dots["treatment"].astype("str")
    sns.scatterplot(data=dots, x="days_since_t0", y="patient", hue=hue, s=18, linewidth=0, ax=ax,
                    zorder=3)
    if assessments is not None and len(assessments):
        marks = place(assessments)
        ax.scatter(marks["days_since_t0"], marks["patient"], marker="|", s=80, color="black",
                   linewidths=1.2, label="assessment", zorder=4)
    ax.hlines(np.arange(len(order)), 0, order["window_days"].to_numpy() - 1, color="0.85",
              linewidth=0.8, zorder=1)
    ax.set_ylim(len(order) - 0.5, -0.5)
    if len(order) <= 60:
        ax.set_yticks(np.arange(len(order)), order["patient_id"].to_list(), fontsize=6)
    ax.set_xlabel("days since first session")
    ax.set_ylabel(f"patient (sorted by {sort_by.replace('_', ' ')})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    return ax


def frequency_distribution(data: pd.DataFrame, *, ax=None, **kwargs):
    """Histogram of ``sessions_per_month`` (``data``: patient metrics, or sessions).

    ``kwargs`` go to :func:`~outcomes.attendance.patient_metrics` when ``data`` is a sessions table.
    """
    metrics = _metrics(data, "sessions_per_month", **kwargs)
    ax = _ax(ax)
    sns.histplot(data=metrics, x="sessions_per_month", ax=ax)
    ax.set_xlabel("sessions per month")
    ax.set_ylabel("patients")
    return ax


def consistency_distribution(data: pd.DataFrame, **kwargs):
    """Two histograms: interval CV (0 = evenly spaced) and coverage with the 0.8 threshold.

    Returns the Figure (two Axes). ``kwargs`` go to :func:`patient_metrics` for a sessions table.
    """
    metrics = _metrics(data, "interval_cv", **kwargs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    sns.histplot(data=metrics.dropna(subset=["interval_cv"]), x="interval_cv", ax=left)
    left.set_xlabel("interval CV (SD / mean gap)")
    left.set_ylabel("patients")
    sns.histplot(data=metrics, x="coverage", binrange=(0, 1), bins=20, ax=right)
    right.axvline(0.8, color="black", linestyle="--", linewidth=1)
    right.set_xlabel("coverage (proportion of days covered)")
    right.set_ylabel("patients")
    fig.tight_layout()
    return fig


def persistence_plot(data: pd.DataFrame, *, label: str | None = None, ax=None, **kwargs):
    """Kaplan–Meier step curve of persistence with its confidence band.

    ``data`` is a :func:`~outcomes.tables.persistence.persistence_curve` table (``time``, ``survival``,
    ``ci_low``, ``ci_high``) or anything :func:`persistence_curve` accepts (``kwargs`` go to it).
    """
    curve = data if {"time", "survival"} <= set(data.columns) else persistence_curve(data,
                                                                                     **kwargs)
    ax = _ax(ax)
    (line,) = ax.step(curve["time"], curve["survival"], where="post", label=label)
    ax.fill_between(curve["time"], curve["ci_low"], curve["ci_high"], step="post", alpha=0.25,
                    color=line.get_color(), linewidth=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("days since first session")
    ax.set_ylabel("still attending (Kaplan–Meier)")
    if label:
        ax.legend(frameon=False)
    return ax


def adherence_plot(data: pd.DataFrame, *, ax=None, **kwargs):
    """Stacked histogram of protocol ``adherence`` by ``phase_reached``."""
    metrics = _metrics(data, "adherence", **kwargs).dropna(subset=["adherence"])
    if isinstance(metrics["phase_reached"].dtype, pd.CategoricalDtype):
        metrics = metrics.assign(
            phase_reached=metrics["phase_reached"].cat.remove_unused_categories())
    ax = _ax(ax)
    sns.histplot(data=metrics, x="adherence", hue="phase_reached",
                 multiple="stack", binrange=(0, 1), bins=10, ax=ax)
    ax.set_xlabel("share of due sessions received on time")
    ax.set_ylabel("patients")
    return ax
