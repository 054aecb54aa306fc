"""The analysis tables: one row per included patient, and one row per rating (docs/methods.md §2).

:func:`analysis_table` — baseline, landmark and improvement (:mod:`outcomes.tables.ratings`), the
attendance metrics between t0 and the landmark rating (:mod:`outcomes.tables.attendance`) and the
covariates. :func:`mixed_table` — every rating with the sessions received before it, for the
mixed model and the trajectories. Both are derived from the records and the question's
:class:`~outcomes.settings.Settings` by :class:`outcomes.analysis.Analysis`.

Missing covariates (never listwise deletion)
--------------------------------------------
- categorical covariates (``sex``, ``skin_type``, ``smoker``, ``sun_exposure``, ``skincare``,
  ``concern``, ``clinic_id``): a missing value becomes its own level ``"missing"``; levels seen in
  fewer than :data:`MIN_LEVEL_N` analysed patients are pooled into ``"other"`` (and ``"other"`` into
  the reference level if it is still that small). The reference level is the most common one.
- numeric covariates (``age``, ``sleep_hours``): a missing value is replaced by the mean of the
  analysed patients and an indicator ``<name>_missing`` (1 = was missing) enters the model.
- a covariate enters only when it varies among the analysed patients; ``clinic_id`` therefore only
  when there are several clinics.
The counts of missing values per covariate are in ``analysis_table(...).attrs["missing"]``.
"""

from __future__ import annotations

import pandas as pd

from ..records import Records
from ..settings import Settings
from .attendance import DAYS_PER_MONTH, exposure_at, patient_metrics
from .ratings import exclusions, landmark_ratings, measure_of, primary_ratings, select_sessions

__all__ = [
    "ATTENDANCE_COLUMNS",
    "COVARIATES",
    "MIN_LEVEL_N",
    "analysis_table",
    "mixed_table",
    "pool_levels",
    "prepare_covariates",
    "reference_level",
    "trajectories",
]

#: Covariates taken from ``records.patients`` when present, in the order they are listed.
COVARIATES = ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "skincare",
              "concern", "clinic_id")
#: the numeric ones (the others are categories)
NUMERIC_COVARIATES = ("age", "sleep_hours")
#: Attendance metrics over [t0, landmark date) carried into the analysis table.
ATTENDANCE_COLUMNS = ["n_sessions", "sessions_per_month", "interval_cv", "longest_gap", "lapses",
                      "coverage", "regular", "adherence"]
#: Categorical levels seen in fewer analysed patients than this are pooled (module docstring).
MIN_LEVEL_N = 5


def analysis_table(records: Records, settings: Settings, *, ratings: pd.DataFrame | None = None,
                   sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per included patient: ratings, attendance up to the landmark, and covariates.

    Parameters
    ----------
    records : Records
    settings : Settings
        Every setting of the ratings (:func:`outcomes.tables.ratings.landmark_ratings`:
        measure, landmark, windows, region, rater, treatments), and of attendance:
        ``treatments`` (only their sessions count), ``permissible_gap`` (lapses) and
        ``protocol`` (on-schedule adherence).
    ratings, sessions : DataFrame, optional
        :func:`~outcomes.tables.ratings.landmark_ratings` and
        :func:`~outcomes.tables.ratings.select_sessions` for these settings, when already derived.

    Returns
    -------
    DataFrame
        ``patient_id, t0, baseline_date, baseline, landmark_date, landmark, improvement,
        responder, followup_days``; the attendance metrics over ``[t0, landmark_date)``:
        ``n_sessions`` (sessions with t0 ≤ date < landmark date), ``sessions_per_month``
        (``n_sessions × 30.4375 / (landmark_date − t0 in days)``), ``interval_cv``,
        ``longest_gap``, ``lapses``, ``coverage``, ``regular``, ``adherence`` (definitions in
        :mod:`outcomes.tables.attendance`); then the covariates with the missing-value rule of
        this module applied (``<name>_missing`` indicators for numeric ones).
        ``attrs``: ``measure`` (name), ``exclusions`` (dict reason → n, in the order the reasons
        are checked), ``covariates`` (the covariates used, in model order), ``missing`` (dict
        covariate → missing count among the included patients), ``landmark_days``,
        ``window_days``, ``baseline_days``, ``n_patients`` (all patients considered), ``better``.
    """
    m = measure_of(records, settings)
    sessions = select_sessions(records, settings) if sessions is None else sessions
    if ratings is None:
        ratings = landmark_ratings(records, settings, sessions=sessions)
    table = ratings[ratings["status"] == "included"].drop(columns="status")
    windows = pd.DataFrame({"patient_id": table["patient_id"], "start": table["t0"],
                            "end": table["landmark_date"]})
    metrics = patient_metrics(sessions, windows=windows, permissible_gap=settings.permissible_gap,
                              protocol=settings.protocol)
    keep = ["patient_id"] + [c for c in ATTENDANCE_COLUMNS if c in metrics]
    table = table.merge(metrics[keep], on="patient_id", how="left", validate="one_to_one")
    table, used, missing = prepare_covariates(table, records.patients)
    table = table.reset_index(drop=True)
    excluded = exclusions(ratings)
    table.attrs.update(measure=m.name, exclusions=dict(zip(excluded["reason"], excluded["n"])),
                       covariates=used, missing=missing, landmark_days=settings.landmark_days,
                       window_days=settings.window_days, baseline_days=settings.baseline_days,
                       n_patients=len(ratings), better=m.better)
    return table


def mixed_table(records: Records, settings: Settings, *, sessions: pd.DataFrame | None = None,
                primary: pd.DataFrame | None = None, horizon_days: int | None = None
                ) -> pd.DataFrame:
    """Every rating of patients with a session, with the sessions received before it.

    Ratings dated from ``t0 − baseline_days`` to ``t0 + horizon_days``: by default the landmark
    window's far edge (``landmark_days + window_days``).

    Returns
    -------
    DataFrame
        ``patient_id, date, value`` (the rating), ``score`` (the rating oriented so that higher =
        better: ``value`` if higher is better, else ``−value``), ``sessions_before`` (sessions
        strictly before the rating date), ``months`` (days since t0 ÷ 30.4375, negative before
        t0), ``sessions_between`` (the patient's mean of ``sessions_before``),
        ``sessions_within`` (``sessions_before − sessions_between``) and the covariates.
    """
    m = measure_of(records, settings)
    ratings = primary_ratings(records, settings) if primary is None else primary
    sessions = select_sessions(records, settings) if sessions is None else sessions
    ratings = ratings[ratings["patient_id"].isin(sessions["patient_id"])].reset_index(drop=True)
    exposure = exposure_at(ratings, sessions)
    data = pd.concat([ratings, exposure[["sessions_before", "days_since_t0"]].set_axis(
        ratings.index)], axis=1)
    days = data["days_since_t0"]
    if horizon_days is None:
        horizon_days = settings.landmark_days + settings.window_days
    keep = (days >= -settings.baseline_days) & (days <= horizon_days)
    data = data[keep].copy()
    data["score"] = data["value"] if m.better == "higher" else -data["value"]
    data["months"] = data["days_since_t0"] / DAYS_PER_MONTH
    data["sessions_before"] = data["sessions_before"].astype("float64")
    data["sessions_between"] = data.groupby("patient_id")["sessions_before"].transform("mean")
    data["sessions_within"] = data["sessions_before"] - data["sessions_between"]
    data, used, missing = prepare_covariates(data.reset_index(drop=True), records.patients)
    data.attrs.update(measure=m.name, covariates=used, missing=missing, better=m.better)
    return data


def trajectories(records: Records, settings: Settings, *, sessions: pd.DataFrame | None = None,
                 primary: pd.DataFrame | None = None, horizon_days: int = 365,
                 groups: int = 3) -> pd.DataFrame:
    """Every rating over the first ``horizon_days`` with the patient's frequency group.

    :func:`mixed_table` to ``horizon_days``, with ``month`` (months since t0, rounded) and
    ``frequency``: the patient's group (``low``, ``middle``, ``high`` for three groups) by
    sessions a month in ``[t0, t0 + horizon_days)``, equal-sized groups of patients.
    """
    sessions = select_sessions(records, settings) if sessions is None else sessions
    data = mixed_table(records, settings, sessions=sessions, primary=primary,
                       horizon_days=horizon_days)
    t0 = sessions.groupby("patient_id")["date"].min()
    s = sessions.join(t0.rename("t0"), on="patient_id")
    within = s[(s["date"] - s["t0"]).dt.days < horizon_days]
    rate = within.groupby("patient_id").size() * DAYS_PER_MONTH / horizon_days
    labels = (["low", "middle", "high"] if groups == 3
              else [f"group {i + 1}" for i in range(groups)])
    band = pd.qcut(rate.rank(method="first"), groups, labels=labels)
    data = data.join(band.rename("frequency"), on="patient_id")
    data["month"] = data["months"].round()
    data.attrs["horizon_days"] = horizon_days
    return data


def prepare_covariates(table: pd.DataFrame, patients: pd.DataFrame
                       ) -> tuple[pd.DataFrame, list[str], dict[str, int]]:
    """Join the covariates of ``patients`` to ``table`` with the missing-value rule of this module.

    Returns the table, the covariates that vary (in :data:`COVARIATES` order) and the count of
    missing values per covariate column the records have.
    """
    present = [c for c in COVARIATES if c in patients.columns]
    cov = patients[["patient_id", *present]].drop_duplicates("patient_id")
    table = table.merge(cov, on="patient_id", how="left")
    used, missing = [], {}
    for name in present:
        col = table[name]
        missing[name] = int(col.isna().sum())
        if col.notna().sum() == 0:
            table = table.drop(columns=name)
            continue
        if name in NUMERIC_COVARIATES:
            values = pd.to_numeric(col, errors="coerce").astype("float64")
            table[name] = values.fillna(values.mean())
            if values.isna().any():
                table[f"{name}_missing"] = values.isna().astype("float64")
            varies = values.nunique() > 1 or values.isna().any()
        else:
            table[name] = pool_levels(col)
            varies = table[name].nunique() > 1
        if varies:
            used.append(name)
    return table, used, missing


def pool_levels(col: pd.Series) -> pd.Series:
    """A categorical covariate with missing as its own level and rare levels pooled."""
    values = col.astype("object").where(col.notna(), "missing").astype("str")
    counts = values.value_counts()
    rare = counts.index[counts < MIN_LEVEL_N]
    if len(rare) and len(rare) < len(counts):
        values = values.where(~values.isin(rare), "other")
        if (values == "other").sum() < MIN_LEVEL_N:
            values = values.where(values != "other", reference_level(values[values != "other"]))
    return values


def reference_level(values: pd.Series) -> str:
    """The most common level (ties: not ``missing``, then alphabetical)."""
    counts = values.value_counts()
    counts = counts.reindex(sorted(counts.index, key=lambda v: (-counts[v], v == "missing", v)))
    return str(counts.index[0])
