"""Ratings per patient: baseline, landmark and improvement (docs/methods.md §2).

Every patient known to the records gets one row per call, either ``included`` or with the reason it
cannot be analysed, so that no patient vanishes without a count.

Definitions (per patient, one measure, *primary* ratings = region ``face`` and rater ``clinician``
unless asked otherwise):

Every function takes the question's :class:`~outcomes.settings.Settings`; only
:class:`outcomes.analysis.Analysis` calls them, once per setting.

- **t0** — date of the first session (of the chosen ``treatments``, all treatments by default).
- **baseline** — the latest rating dated in ``[t0 − baseline_days, t0]``. A rating on the day of t0
  was taken before that session, so it is a valid baseline.
- **landmark** — the rating closest to ``t0 + landmark_days`` within ``± window_days`` and strictly
  after t0; on a tie (one rating as many days before as another after) the earlier one.
- **improvement** — ``baseline − landmark`` when lower is better, ``landmark − baseline`` otherwise
  (:meth:`outcomes.records.scales.Measure.improvement`): positive = better.
- **responder** — ``improvement ≥ mic`` (the measure's minimal important change unless given).

Several ratings of the same patient, region and rater on one day are averaged into one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import RecordsError, SettingError, did_you_mean
from ..records import Records
from ..records.scales import Measure
from ..settings import Settings

__all__ = [
    "STATUSES",
    "contacts",
    "exclusions",
    "landmark_ratings",
    "measure_of",
    "primary_ratings",
    "select_sessions",
]


#: Every status a patient can get, in the order the reasons are checked.
STATUSES = ("included", "no session", "no rating", "no baseline", "no landmark in window")

_COLUMNS = ["patient_id", "t0", "baseline_date", "baseline", "landmark_date", "landmark",
            "improvement", "responder", "followup_days", "status"]


def measure_of(records: Records, settings: Settings) -> Measure:
    """The :class:`Measure` of ``settings.measure``; a :class:`SettingError` naming the measures
    the records have when it is not one of them."""
    known = [m for m in records.measures if m in records.assessments]
    if settings.measure not in known:
        raise SettingError(f"The value for `measure` must be one of {known}, but "
                           f"{settings.measure!r} was passed.{did_you_mean(settings.measure, known)}"
                           " Declare other measures in dataset.toml and add their column to the "
                           "assessments file.")
    return records.measures[settings.measure]


def select_sessions(records: Records, settings: Settings) -> pd.DataFrame:
    """The sessions of ``settings.treatments`` (every session when it is None).

    A treatment no session has is a :class:`SettingError` listing the treatments present (a
    typo would otherwise empty the analysis).
    """
    s = records.sessions
    if settings.treatments is None:
        return s
    present = sorted(pd.unique(s["treatment"].astype("str")))
    unknown = [t for t in settings.treatments if t not in present]
    if unknown:
        raise SettingError(f"The value for `treatments` must be among {present}, but "
                           f"{unknown[0]!r} was passed.{did_you_mean(unknown[0], present)}")
    return s[s["treatment"].astype("str").isin(settings.treatments)]


def primary_ratings(records: Records, settings: Settings) -> pd.DataFrame:
    """Ratings of ``settings.measure`` by ``settings.rater`` on ``settings.region``:
    ``patient_id, date, value``.

    Missing ratings are left out; several ratings of a patient on one day are averaged.
    """
    measure = measure_of(records, settings).name
    a = records.assessments
    keep = ((a["region"].astype("str") == settings.region)
            & (a["rater"].astype("str") == settings.rater))
    a = a.loc[keep & a[measure].notna(), ["patient_id", "date", measure]]
    a = a.groupby(["patient_id", "date"], as_index=False, sort=True)[measure].mean()
    return a.rename(columns={measure: "value"})


def _all_patients(records: Records) -> pd.Index:
    ids = pd.concat([records.sessions["patient_id"], records.assessments["patient_id"],
                     records.patients["patient_id"]]).astype("str")
    return pd.Index(pd.unique(ids), name="patient_id")


def _days(n: int) -> pd.Timedelta:
    return pd.Timedelta(days=int(n))


def landmark_ratings(records: Records, settings: Settings, *, sessions: pd.DataFrame | None = None,
                     primary: pd.DataFrame | None = None, mic: float | None = None
                     ) -> pd.DataFrame:
    """Baseline, landmark rating and improvement of every patient, with the reason for exclusion.

    Parameters
    ----------
    records : Records
    settings : Settings
        ``measure``; ``landmark_days`` (L: the landmark is aimed at ``t0 + L``);
        ``window_days`` (the landmark rating must lie within ``t0 + L ± window_days``, after
        t0); ``baseline_days`` (the baseline is the latest rating in ``[t0 − baseline_days,
        t0]``); ``treatments`` (only their sessions count, and define t0); ``region``, ``rater``
        (which ratings).
    sessions, primary : DataFrame, optional
        :func:`select_sessions` and :func:`primary_ratings` for these settings, when already
        derived (:class:`outcomes.analysis.Analysis` passes its own).
    mic : float, optional
        Responder threshold in rating units; default ``Measure.minimal_important_change``.

    Returns
    -------
    DataFrame
        One row per patient known to the records (sessions, assessments or patients), sorted by
        ``patient_id``:
        ``patient_id``; ``t0``; ``baseline_date``, ``baseline``; ``landmark_date``, ``landmark``;
        ``improvement`` (positive = better); ``responder`` (boolean, ``improvement ≥ mic``);
        ``followup_days`` (landmark date − t0); ``status`` — ``"included"`` or the first reason
        that applies among ``"no session"``, ``"no rating"`` (no rating of this measure at all),
        ``"no baseline"``, ``"no landmark in window"``. Values that exist are filled even for an
        excluded patient (e.g. the baseline of a patient without landmark).
        ``attrs``: ``measure``, ``landmark_days``, ``window_days``, ``baseline_days``, ``mic``.

    Examples
    --------
    >>> table = landmark_ratings(records, Settings(measure="pore"))    # doctest: +SKIP
    >>> exclusions(table)                                               # doctest: +SKIP
    """
    m = measure_of(records, settings)
    landmark_days, window_days = settings.landmark_days, settings.window_days
    baseline_days = settings.baseline_days
    threshold = m.minimal_important_change if mic is None else float(mic)
    ratings = primary_ratings(records, settings) if primary is None else primary
    sessions = select_sessions(records, settings) if sessions is None else sessions
    t0 = sessions.groupby("patient_id")["date"].min().rename("t0")

    out = pd.DataFrame(index=_all_patients(records).sort_values())
    out = out.join(t0)
    # reset: on an empty frame pandas keeps the join key as an index level too
    r = ratings.join(t0, on="patient_id", how="inner").reset_index(drop=True)
    base = r[(r["date"] <= r["t0"]) & (r["date"] >= r["t0"] - _days(baseline_days))]
    base = base.sort_values(["patient_id", "date"]).groupby("patient_id").tail(1)
    out = out.join(base.set_index("patient_id")[["date", "value"]].rename(
        columns={"date": "baseline_date", "value": "baseline"}))
    target = r["t0"] + _days(landmark_days)
    distance = (r["date"] - target).abs()
    lm = r.assign(distance=distance)[(distance <= _days(window_days)) & (r["date"] > r["t0"])]
    lm = lm.sort_values(["patient_id", "distance", "date"]).groupby("patient_id").head(1)
    out = out.join(lm.set_index("patient_id")[["date", "value"]].rename(
        columns={"date": "landmark_date", "value": "landmark"}))

    out["improvement"] = m.improvement(out["baseline"], out["landmark"])
    out["responder"] = (out["improvement"] >= threshold - 1e-9).astype("boolean")
    out.loc[out["improvement"].isna(), "responder"] = pd.NA
    out["followup_days"] = (out["landmark_date"] - out["t0"]).dt.days.astype("float64")
    has_rating = out.index.isin(ratings["patient_id"])
    out["status"] = np.select(
        [out["t0"].isna(), ~has_rating, out["baseline"].isna(), out["landmark"].isna()],
        list(STATUSES[1:]), default="included")
    out = out.reset_index()[_COLUMNS]
    out.attrs.update(measure=m.name, landmark_days=landmark_days, window_days=window_days,
                     baseline_days=baseline_days, mic=threshold, region=settings.region,
                     rater=settings.rater)
    return out


def contacts(records: Records) -> pd.DataFrame:
    """Every dated row of the records, ``patient_id, date`` (sessions of every treatment and
    assessments): when each patient was last seen, and the records' last day."""
    return pd.concat([records.sessions[["patient_id", "date"]],
                      records.assessments[["patient_id", "date"]]], ignore_index=True)


def exclusions(table: pd.DataFrame) -> pd.DataFrame:
    """Patients set aside, counted by reason.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`landmark_ratings` (a ``status`` column), or an analysis table of
        :func:`outcomes.tables.analysis_table.analysis_table` (its ``attrs["exclusions"]``).

    Returns
    -------
    DataFrame
        ``reason``, ``n``: one row per exclusion reason that occurs, in the order the reasons are
        checked (unknown reasons last); patients ``included`` are not listed.
    """
    if "status" not in table:
        if isinstance(table.attrs.get("exclusions"), dict):
            found = table.attrs["exclusions"]
            return pd.DataFrame({"reason": list(found), "n": [int(v) for v in found.values()]})
        raise RecordsError("`exclusions` needs the table returned by `landmark_ratings` "
                           "(a `status` column) or by `models.analysis_table`.")
    counts = table["status"].astype("str").value_counts()
    counts = counts.drop("included", errors="ignore")
    order = [s for s in STATUSES if s in counts.index]
    order += sorted(s for s in counts.index if s not in STATUSES)
    return pd.DataFrame({"reason": order, "n": [int(counts[s]) for s in order]})
