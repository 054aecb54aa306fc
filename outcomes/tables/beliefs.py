"""The tables the clinic's beliefs are checked on (docs/methods.md §5).

:func:`baseline_covariates` — every patient with a baseline rating, with the patient's details
(do older patients, smokers, ... start worse?); :func:`zone_ratings` — the region ratings of one
assessment side by side (do oily zones rate worse than the cheeks?); :func:`hydrafacial_windows`
— each HydraFacial session with a rating shortly before and after it (does it help clogged pores
more than enlarged ones?). Derived by :class:`outcomes.analysis.Analysis` from the records and
its :class:`~outcomes.settings.Settings`; estimated in :mod:`outcomes.estimate.beliefs`.
"""

from __future__ import annotations

import math

import pandas as pd

from ..records import Records
from ..records.contract import CATEGORIES
from ..records.scales import Measure
from ..settings import Settings
from .ratings import measure_of, primary_ratings

__all__ = ["HF_AFTER", "HF_BEFORE_DAYS", "ZONES", "baseline_covariates", "hydrafacial_windows",
           "text_values", "zone_ratings"]

#: the regions other than the whole face
ZONES = tuple(r for r in CATEGORIES["region"] if r != "face")
#: a HydraFacial's "before" rating: up to this many days before the session
HF_BEFORE_DAYS = 14
#: … and its "after" rating: this many days after it, no other session between
HF_AFTER = (7, 42)


def text_values(series: pd.Series) -> pd.Series:
    """Values as lower-case trimmed strings, missing as NA."""
    out = series.astype("object").where(series.notna())
    return out.map(lambda v: v if v is None or (isinstance(v, float) and math.isnan(v))
                   else str(v).strip().lower())


def baseline_covariates(ratings: pd.DataFrame, patients: pd.DataFrame, measure: Measure
                        ) -> pd.DataFrame:
    """Every patient with a baseline rating (from :func:`~outcomes.tables.ratings.
    landmark_ratings`), with the patients table's columns and ``worse`` (the baseline oriented so
    that higher = worse)."""
    base = ratings.loc[ratings["baseline"].notna(), ["patient_id", "baseline"]]
    frame = base.merge(patients, on="patient_id", how="left")
    frame["worse"] = frame["baseline"] if measure.better == "lower" else -frame["baseline"]
    return frame.reset_index(drop=True)


def zone_ratings(records: Records, settings: Settings) -> pd.DataFrame:
    """The region ratings of ``settings.measure`` by ``settings.rater``, one row per patient and
    date, one column per zone with ratings (empty when the records hold none)."""
    parts = {}
    for zone in ZONES:
        r = primary_ratings(records, settings.replace(region=zone))
        if len(r):
            parts[zone] = r.set_index(["patient_id", "date"])["value"]
    return pd.DataFrame(parts) if parts else pd.DataFrame()


def hydrafacial_windows(records: Records, settings: Settings) -> pd.DataFrame:
    """Every HydraFacial window: ``patient_id, date`` (of the session), ``before_date, before,
    after_date, after, change`` (positive = better), ``concern``.

    A window has the patient's rating (``settings.measure``, region and rater) up to
    :data:`HF_BEFORE_DAYS` days before the session and the first one :data:`HF_AFTER` days after
    it, with no other session between. ``attrs``: ``has_concern`` (the patients file has
    concern values), ``hydrafacial_sessions`` (all of them), ``enlarged_sessions`` (those of
    patients whose concern is enlarged pores).
    """
    m = measure_of(records, settings)
    s = records.sessions
    treat = text_values(s["treatment"])
    concern = (text_values(records.patients.set_index("patient_id")["concern"])
               if "concern" in records.patients else pd.Series(dtype="object"))
    is_hf = treat == "hydrafacial"
    attrs = {"has_concern": bool(concern.notna().any()),
             "hydrafacial_sessions": int(is_hf.sum()),
             "enlarged_sessions": int((is_hf & s["patient_id"].map(concern).eq("enlarged")).sum())}
    hf = s.loc[is_hf, ["patient_id", "date"]].drop_duplicates()
    cols = ["patient_id", "date", "before_date", "before", "after_date", "after", "change",
            "concern"]
    if hf.empty:
        out = pd.DataFrame(columns=cols)
        out.attrs.update(attrs)
        return out
    ratings = primary_ratings(records, settings).rename(columns={"date": "rating_date"})
    ratings = ratings.sort_values("rating_date")
    hf = hf.sort_values("date")
    before = pd.merge_asof(hf, ratings.rename(columns={"value": "before"}), left_on="date",
                           right_on="rating_date", by="patient_id", direction="backward",
                           tolerance=pd.Timedelta(days=HF_BEFORE_DAYS))
    before = before.rename(columns={"rating_date": "before_date"})
    before["_from"] = (before["date"] + pd.Timedelta(days=HF_AFTER[0])).astype(
        ratings["rating_date"].dtype)
    after = pd.merge_asof(before.sort_values("_from"),
                          ratings.rename(columns={"value": "after"}), left_on="_from",
                          right_on="rating_date", by="patient_id", direction="forward",
                          tolerance=pd.Timedelta(days=HF_AFTER[1] - HF_AFTER[0]))
    after = after.rename(columns={"rating_date": "after_date"}).sort_values("date")
    nxt = s[["patient_id", "date"]].drop_duplicates().rename(columns={"date": "next_session"})
    after = pd.merge_asof(after, nxt.sort_values("next_session"), left_on="date",
                          right_on="next_session", by="patient_id", direction="forward",
                          allow_exact_matches=False)
    keep = after["before"].notna() & after["after"].notna() & (
        after["next_session"].isna() | (after["next_session"] >= after["after_date"]))
    out = after.loc[keep, cols[:6]].sort_values(["patient_id", "date"]).reset_index(drop=True)
    out["change"] = m.improvement(out["before"], out["after"])
    out["concern"] = out["patient_id"].map(concern)
    out = out[cols]
    out.attrs.update(attrs)
    return out
