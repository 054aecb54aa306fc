"""The traps, demonstrated on the clinic's own records (docs/methods.md §3.7, notebook 05).

- :func:`followup_bias` — follow-up / immortal-time bias (all sessions over all follow-up vs
  the landmark design).
- :func:`regression_to_mean` — change vs baseline, and change-score vs ANCOVA estimates.
- :func:`confounding_by_indication` — baseline grade by frequency group.
- :func:`dropout_comparison` — who stops before the landmark and how their last ratings looked.

Each takes the tables :class:`outcomes.analysis.Analysis` derived (the analysis table, the
ratings, the sessions) and returns tidy rows; the figures are in
:mod:`outcomes.present.robustness`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..records.scales import Measure
from ..settings import Settings
from .frames import _covariates, _is_categorical, _measure_name, _ols_row, _require, _tidy

__all__ = ["confounding_by_indication", "dropout_comparison", "followup_bias",
           "regression_to_mean"]


def _ratings(primary: pd.DataFrame, name: str) -> pd.DataFrame:
    """Primary ratings as ``patient_id, date, <measure>``, sorted by patient and date."""
    a = primary.rename(columns={"value": name}).astype({"patient_id": "str"})
    return a.sort_values(["patient_id", "date"])


def _sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    return sessions[["patient_id", "date", "treatment"]].astype({"patient_id": "str"})


def followup_bias(table: pd.DataFrame, primary: pd.DataFrame, sessions: pd.DataFrame,
                  measure: Measure) -> pd.DataFrame:
    """Follow-up (immortal-time) bias: all sessions over all follow-up vs the landmark design.

    The tempting analysis relates each patient's **total sessions over all follow-up** to the
    improvement at their **last rating**. Patients who stay longer get more sessions *and* more time
    to improve (or to be rated at their best), so sessions and follow-up time are entangled: the
    slope mixes the effect of sessions with the effect of time (gains that build up, or fade once
    maintenance stops). The landmark design counts sessions
    only in [t0, landmark date) and measures everyone at the same time (t0 + 182 ± 45 days).

    Both designs use the same patients (those in the analysis table, with its ``primary``
    ratings and ``sessions``) and the same baseline:

    - ``all follow-up``: OLS ``improvement_last ~ total_sessions`` (HC3), ``improvement_last`` from
      baseline to the last primary rating after t0, ``total_sessions`` = all sessions from t0 on;
    - ``landmark``: OLS ``improvement ~ n_sessions`` (HC3) on the analysis table.

    Returns
    -------
    DataFrame
        Tidy rows, ``model`` = design, ``term`` = the session count, estimate = extra improvement per
        extra session; extra columns ``mean_followup_days`` and ``corr_sessions_followup`` (Pearson
        correlation of the session count with follow-up time in that design).
    """
    m = measure
    landmark_days = table.attrs.get("landmark_days")
    _require(table, ["patient_id", "t0", "baseline", "improvement", "n_sessions", "landmark_date"],
              "followup_bias")
    t = table[["patient_id", "t0", "baseline", "improvement", "n_sessions", "landmark_date"]].copy()
    t["patient_id"] = t["patient_id"].astype("str")
    a = _ratings(primary, m.name).merge(t[["patient_id", "t0"]])
    last = a[a["date"] > a["t0"]].groupby("patient_id").tail(1).set_index("patient_id")
    s = _sessions(sessions).merge(t[["patient_id", "t0"]])
    total = s[s["date"] >= s["t0"]].groupby("patient_id").size()
    t["total_sessions"] = t["patient_id"].map(total).fillna(0).astype("float64")
    t["last"] = t["patient_id"].map(last[m.name])
    t["followup_days"] = (t["patient_id"].map(last["date"]) - t["t0"]).dt.days
    t["improvement_last"] = m.improvement(t["baseline"], t["last"])
    t["landmark_days_"] = (t["landmark_date"] - t["t0"]).dt.days
    t = t.dropna(subset=["improvement_last", "improvement"])
    rows = [
        {"model": "all follow-up", "term": "total_sessions",
         **_ols_row(t, "improvement_last ~ total_sessions", "total_sessions"),
         "mean_followup_days": float(t["followup_days"].mean()),
         "corr_sessions_followup": float(t["total_sessions"].corr(t["followup_days"])),
         "note": "sessions over all follow-up vs improvement at the last rating"},
        {"model": "landmark", "term": "n_sessions",
         **_ols_row(t.astype({"n_sessions": "float64"}), "improvement ~ n_sessions", "n_sessions"),
         "mean_followup_days": float(t["landmark_days_"].mean()),
         "corr_sessions_followup": float(t["n_sessions"].astype(float).corr(
             t["landmark_days_"].astype(float))),
         "note": f"sessions in [t0, landmark) vs improvement at the landmark ({landmark_days} d)"},
    ]
    for r in rows:
        r["measure"] = m.name
    return _tidy(rows)


def regression_to_mean(table: pd.DataFrame, *, measure=None) -> pd.DataFrame:
    """Regression to the mean: change vs baseline, and change-score vs ANCOVA estimates.

    A rating is the true state plus measurement noise. Patients who happened to be rated high at
    baseline are, on average, rated closer to their mean next time *even without any treatment*, so
    the raw change ``landmark - baseline`` correlates **negatively** with the baseline rating. With
    reliability ``r`` of the rating and no true change, the slope of change on baseline is
    ``-(1 - r)``, so ``1 + slope`` estimates the reliability (test–retest) when the true change does
    not depend on the baseline.

    If sicker patients come more often, the change score rewards frequency with this artefact.
    ANCOVA — landmark (or improvement) on frequency *and baseline* — compares patients at the same
    baseline and removes it; that is why the primary model adjusts for baseline.

    Returns
    -------
    DataFrame
        Tidy rows, ``model`` ∈ {``change vs baseline``, ``change score``, ``ANCOVA``}:
        the slope of raw change on baseline (extra column ``implied_reliability = 1 + slope``,
        ``correlation``), then the effect of +1 session/month on improvement without (change score)
        and with (ANCOVA) baseline adjustment.
    """
    _require(table, ["baseline", "landmark", "improvement", "sessions_per_month"],
             "regression_to_mean")
    df = table[["baseline", "landmark", "improvement", "sessions_per_month"]].astype(
        "float64").dropna()
    df["change"] = df["landmark"] - df["baseline"]
    name = _measure_name(table, measure)
    slope = _ols_row(df, "change ~ baseline", "baseline")
    rows = [
        {"model": "change vs baseline", "term": "baseline", **slope,
         "implied_reliability": 1 + slope["estimate"],
         "correlation": float(df["change"].corr(df["baseline"])),
         "note": "raw change (landmark - baseline) on baseline; negative = regression to the mean"},
        {"model": "change score", "term": "sessions_per_month",
         **_ols_row(df, "improvement ~ sessions_per_month", "sessions_per_month"),
         "note": "improvement on sessions/month, baseline ignored"},
        {"model": "ANCOVA", "term": "sessions_per_month",
         **_ols_row(df, "improvement ~ sessions_per_month + baseline", "sessions_per_month"),
         "note": "improvement on sessions/month at the same baseline"},
    ]
    for r in rows:
        r["measure"] = name
    return _tidy(rows)


def confounding_by_indication(table: pd.DataFrame, *,
                              bins: Sequence[float] = (0, 0.5, 1.0, math.inf),
                              measure=None) -> pd.DataFrame:
    """Baseline rating by frequency group: did the patients who came more often start worse?

    Patients are grouped by sessions a month (default ``< 0.5``, ``0.5–1``, ``>= 1``); for each group
    the mean baseline rating with a t-based 95 % CI, and the means of numeric covariates. A last row
    (``group = "trend"``) gives the Spearman correlation of baseline with sessions a month and its
    p-value in ``estimate``/``p_value`` — the size and sign of confounding by indication that the
    naive estimate carries.

    Returns
    -------
    DataFrame
        ``group``, ``n``, ``baseline_mean``, ``ci_low``, ``ci_high``, ``baseline_sd`` plus
        ``<covariate>_mean`` per numeric covariate; the ``trend`` row holds ``spearman_rho`` and
        ``p_value``.
    """
    _require(table, ["baseline", "sessions_per_month"], "confounding_by_indication")
    edges = list(bins)
    labels = [_bin_label(lo, hi) for lo, hi in itertools.pairwise(edges)]
    groups = pd.cut(table["sessions_per_month"], edges, right=False, labels=labels)
    numeric = [c for c in _covariates(table, None) if not _is_categorical(table[c])]
    rows = []
    for lab in labels:
        part = table[groups == lab]
        b = part["baseline"].astype("float64").dropna()
        n = len(b)
        half = (stats.t.ppf(0.975, n - 1) * b.std() / math.sqrt(n)) if n > 1 else np.nan
        rows.append({"group": lab, "n": n, "baseline_mean": b.mean() if n else np.nan,
                     "ci_low": b.mean() - half if n else np.nan,
                     "ci_high": b.mean() + half if n else np.nan,
                     "baseline_sd": b.std() if n > 1 else np.nan,
                     **{f"{c}_mean": float(part[c].astype("float64").mean()) for c in numeric}})
    rho, p = stats.spearmanr(table["baseline"], table["sessions_per_month"], nan_policy="omit")
    rows.append({"group": "trend", "n": int(table["baseline"].notna().sum()),
                 "spearman_rho": float(rho), "p_value": float(p)})
    out = pd.DataFrame(rows)
    out.attrs = {"measure": _measure_name(table, measure)}
    return out


def _bin_label(lo: float, hi: float) -> str:
    if lo <= 0:
        return f"< {hi:g}/month"
    if math.isinf(hi):
        return f">= {lo:g}/month"
    return f"{lo:g}–{hi:g}/month"


def dropout_comparison(ratings: pd.DataFrame, primary: pd.DataFrame, sessions: pd.DataFrame,
                       contacts: pd.DataFrame, measure: Measure, settings: Settings
                       ) -> pd.DataFrame:
    """Who stops before the landmark, and how their last ratings looked compared with stayers.

    For every patient with a baseline rating (``ratings``: latest primary rating in
    [t0 − baseline window, t0], t0 = first session, as docs/methods.md §2.3), with ``L`` =
    landmark days and ``w`` = window (``settings``), ``primary`` their ratings, ``sessions``
    their sessions and ``contacts`` every dated row of the records (the last contact):

    - ``reached landmark``: has a primary rating in [t0 + L − w, t0 + L + w];
    - ``stopped``: no landmark rating and the last contact (session or assessment) before t0 + L − w;
    - ``missed rating``: still seen after t0 + L − w but not rated in the window;
    - ``not yet due``: t0 + L + w after the last date in the records (left out of the comparison).

    The **interim improvement** is the improvement from baseline to the last primary rating in
    (t0, t0 + L − w) — the last look before the landmark window, for stayers and stoppers alike. If
    patients who were not improving stop coming (informative drop-out), stoppers' interim improvement
    is lower and the landmark analysis, which only sees stayers, overstates the average benefit.

    Returns
    -------
    DataFrame
        One row per group: ``group``, ``n``, ``baseline_mean``, ``n_interim`` (patients with an
        interim rating), ``interim_mean``, ``ci_low``, ``ci_high`` (t-based), ``sessions_mean``
        (sessions before t0 + L − w); a row ``stopped - reached`` with the Welch difference in
        interim improvement, its CI and ``p_value``; and a row ``stopped - reached (adjusted)``:
        the same difference from OLS (HC3) ``interim ~ stopped + baseline + sessions before the
        interim rating + days from t0 to it`` — stoppers have had fewer sessions and less time, so
        the adjusted row asks whether they were responding worse *for what they had received*.
    """
    m = measure
    landmark_days, window_days = settings.landmark_days, settings.window_days
    s = _sessions(sessions)
    lr = ratings
    p = lr.dropna(subset=["baseline"]).astype({"patient_id": "str"}).set_index("patient_id")
    p = p[["t0", "baseline"]]
    a = _ratings(primary, m.name).merge(p["t0"].reset_index())
    end = contacts["date"].max()
    last_contact = contacts.assign(patient_id=contacts["patient_id"].astype("str")
                                   ).groupby("patient_id")["date"].max()
    p["last_contact"] = last_contact.reindex(p.index)
    win_lo = p["t0"] + pd.Timedelta(days=landmark_days - window_days)
    win_hi = p["t0"] + pd.Timedelta(days=landmark_days + window_days)
    ap = a[a["patient_id"].isin(p.index)].copy()
    ap["lo"], ap["hi"] = ap["patient_id"].map(win_lo), ap["patient_id"].map(win_hi)
    has_lm = ap[(ap["date"] >= ap["lo"]) & (ap["date"] <= ap["hi"])]["patient_id"].unique()
    interim = ap[(ap["date"] > ap["t0"]) & (ap["date"] < ap["lo"])].groupby("patient_id").tail(1)
    interim = interim.set_index("patient_id").reindex(p.index)
    p["interim"] = m.improvement(p["baseline"], interim[m.name])
    p["interim_days"] = (interim["date"] - p["t0"]).dt.days.astype("float64")
    sp = s.merge(win_lo.rename("lo").reset_index(), on="patient_id")
    sp["interim_date"] = sp["patient_id"].map(interim["date"])
    p["sessions"] = sp[sp["date"] < sp["lo"]].groupby("patient_id").size().reindex(
        p.index).fillna(0)
    p["sessions_interim"] = sp[sp["date"] < sp["interim_date"]].groupby(
        "patient_id").size().reindex(p.index).fillna(0).astype("float64")
    group = np.select([p.index.isin(has_lm), win_hi > end, p["last_contact"] < win_lo],
                      ["reached landmark", "not yet due", "stopped"], "missed rating")
    p["group"] = group
    rows = []
    for g in ["reached landmark", "stopped", "missed rating", "not yet due"]:
        part = p[p["group"] == g]
        x = part["interim"].dropna()
        half = stats.t.ppf(0.975, len(x) - 1) * x.std() / math.sqrt(len(x)) if len(x) > 1 \
            else np.nan
        rows.append({"group": g, "n": len(part), "baseline_mean": part["baseline"].mean(),
                     "n_interim": len(x), "interim_mean": x.mean(),
                     "ci_low": x.mean() - half, "ci_high": x.mean() + half,
                     "sessions_mean": part["sessions"].mean()})
    xs = p.loc[p["group"] == "stopped", "interim"].dropna()
    xr = p.loc[p["group"] == "reached landmark", "interim"].dropna()
    diff = {"group": "stopped - reached", "n": len(xs) + len(xr)}
    if len(xs) > 1 and len(xr) > 1:
        r = stats.ttest_ind(xs, xr, equal_var=False)
        lo, hi = r.confidence_interval()
        diff.update({"interim_mean": xs.mean() - xr.mean(), "ci_low": lo, "ci_high": hi,
                     "p_value": float(r.pvalue)})
    rows.append(diff)
    both = p[p["group"].isin(["stopped", "reached landmark"])].dropna(subset=["interim"])
    both = both.assign(stopped=(both["group"] == "stopped").astype("float64"))
    if both["stopped"].sum() > 1 and (1 - both["stopped"]).sum() > 1:
        varying = [c for c in ("baseline", "sessions_interim", "interim_days")
                   if both[c].nunique() > 1]
        r = _ols_row(both, " + ".join(["interim ~ stopped", *varying]), "stopped")
        rows.append({"group": "stopped - reached (adjusted)", "n": r["n"],
                     "interim_mean": r["estimate"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "p_value": r["p_value"]})
    out = pd.DataFrame(rows)
    out.attrs = {"measure": m.name, "n_without_baseline": int(lr["t0"].notna().sum() - len(p))}
    return out
