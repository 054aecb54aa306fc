"""The clinic's beliefs, checked on its own records: who benefits, from what, and where.

The clinic's article makes claims a lead will want checked: come monthly to start, then 3–4 times a
year; consistency is key; pores look larger with age, smoking, poor sleep and sun; oily zones (nose,
chin, forehead) show larger pores; clogged pores (blackheads) may respond to a deep-cleansing facial
(HydraFacial) rather than to microneedling. This module answers each claim from the records.

Functions
---------
:func:`belief_check`
    One row per belief: a plain statement, the estimate and 95 % CI in a unit a person can use, the
    patients it rests on and a verdict (``supported`` / ``not supported`` / ``not enough data``).
:func:`who_benefits`
    Effect modification of the main answer (extra improvement per one more session a month,
    adjusted) by age band, smoking, sleep, sun, skin type and concern — exploratory, with
    Holm-adjusted interaction p-values.
:func:`regions`
    Baseline by zone and change by zone for each measure, within patient.
:func:`hydrafacial_windows`
    The HydraFacial before/after windows the ``clogged_hydrafacial`` belief rests on.
:func:`belief_table`, :func:`who_benefits_table`, :func:`regions_table`
    Presentation-ready tables with plain-language headers and small counts suppressed.
:func:`plot_who_benefits`, :func:`plot_beliefs`
    Forest plots (return the Axes).

The verdict rule
----------------
Every belief claims a direction; its estimate is oriented so that a positive value is the claimed
direction (e.g. "older patients have *worse* pores" → grades worse per 20 years of age). With ``trivial`` the
clinically trivial size (:data:`TRIVIAL_SHARE` × the measure's minimal important change, i.e.
0.1 grade on the 0–4 clinician grades, where one grade is the minimal important change; 1 point on
a 0–100 score):

- ``not supported`` — the upper CI limit is below ``trivial``: the records exclude every effect in
  the claimed direction that would matter (this covers an interval wholly in the opposite
  direction, and a real but trivially small effect);
- ``supported`` — otherwise, when the lower CI limit is above 0 (the claimed direction); for
  ``consistency``, an association that response-driven attendance biases towards the claim
  (patients who see little change stop or come irregularly), above ``trivial`` — in simulated
  clinics without any consistency effect a lower limit above 0 said ``supported`` in about one
  clinic in five;
- ``not enough data`` — otherwise (the interval is compatible both with no effect and with one that
  matters), or when the records cannot address the belief at all (no region ratings, no HydraFacial
  sessions, no concern column, no covariate, fewer than :data:`MIN_PATIENTS` patients in a group
  compared); ``note`` says what is missing. A number is never produced from nothing.

The beliefs (ids are a contract)
--------------------------------
``schedule_protocol``
    The clinic's protocol (monthly loading, then every 3 months) against every two months: the
    contrast ``protocol - every_2_months`` of the schedule comparison (an emulated target trial,
    ``compare_strategies`` of :mod:`outcomes.schedules`), mean improvement at the landmark,
    grades (positive = protocol better). Passed in, or run when that module exists.
``consistency``
    More regular attendance at the same frequency: the ``adherence`` coefficient of
    :func:`outcomes.models.consistency_effect` (improvement ~ sessions a month + on-schedule
    adherence + baseline + covariates, HC3), reported per 50 percentage points more sessions on
    schedule (all sessions on time against half of them).
``age``, ``smoking``, ``sleep``, ``sun``
    Baseline rating of the measure (oriented: positive = worse) regressed by OLS (HC3) on age,
    smoking, sleep, sun exposure, sex, skin type and concern (and clinic when several), among
    patients with a baseline rating (the latest in [t0 − 30 d, t0]). Units: grades worse per 20
    years of age (e.g. 55 against 35); current against never smokers; per 2 hours less sleep (e.g.
    5 h against 7 h a night); high against low sun exposure — each compares two kinds of patient a
    person recognises (about two standard deviations apart for age and sleep), so that the
    trivial size means the same for each.
``oily_zones``
    Region ratings at the same assessment: d = mean(nose, chin, forehead ratings available) −
    cheeks rating (oriented, positive = oily zones worse); d averaged per patient, then a t-interval
    over patients (so the CI is patient-clustered: each patient counts once).
``clogged_hydrafacial``
    A *HydraFacial window* is a HydraFacial session with a clinician face rating in the 14 days
    before it (a rating on the session day was taken before the session) and the next rating 7 to
    42 days after it, with no other session in between (so the change belongs to the HydraFacial,
    not to a microneedling session). Change = rating before − rating after (oriented, positive =
    better), each patient its own control; changes are averaged per patient, and the belief is the
    difference of the patient means clogged − enlarged (Welch t-interval over patients). Patients
    whose concern is ``both`` are left out of the contrast. Clinics that rarely give enlarged pores
    a HydraFacial cannot address this belief (``not enough data``, with the counts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..errors import RecordsError
from ..records import Records
from ..records.scales import Measure
from ..tables.ratings import check_measure, landmark_ratings, primary_ratings

__all__ = [
    "BELIEFS",
    "BELIEF_COLUMNS",
    "MIN_PATIENTS",
    "MODIFIERS",
    "REGION_COLUMNS",
    "TRIVIAL_SHARE",
    "WHO_BENEFITS_CAVEAT",
    "WHO_COLUMNS",
    "belief_check",
    "belief_table",
    "beliefs_text",
    "hydrafacial_windows",
    "plot_beliefs",
    "plot_who_benefits",
    "regions",
    "regions_table",
    "trivial_size",
    "verdict",
    "who_benefits",
    "who_benefits_table",
]

#: Columns of :func:`belief_check` (and keys of ``outcomes beliefs --json``), a contract.
BELIEF_COLUMNS = ["belief", "statement", "estimate", "ci_low", "ci_high", "n", "verdict", "note"]

#: Belief id → the plain statement checked.
BELIEFS = {
    "schedule_protocol": "Coming monthly to start, then every 3 months (the clinic's protocol), "
                         "gives more improvement at 6 months than coming every two months.",
    "consistency": "At the same number of sessions, coming more regularly (on schedule) goes "
                   "with more improvement.",
    "age": "Older patients have worse pores at their first visit.",
    "smoking": "Smokers have worse pores at their first visit than non-smokers.",
    "sleep": "Patients who sleep less have worse pores at their first visit.",
    "sun": "Patients with a lot of sun exposure have worse pores at their first visit.",
    "oily_zones": "The oily zones (nose, chin, forehead) rate worse than the cheeks.",
    "clogged_hydrafacial": "A HydraFacial helps clogged pores more than enlarged pores in the "
                           "weeks after it.",
}

#: Share of the measure's minimal important change below which an effect is clinically trivial.
TRIVIAL_SHARE = 0.1

#: Fewest patients in a compared group (and in a subgroup shown) — the small-count threshold.
MIN_PATIENTS = 5

#: Who-benefits modifiers: name → plain label.
MODIFIERS = {"age_band": "age band", "smoker": "smoking", "sleep": "sleep",
             "sun_exposure": "sun exposure", "skin_type": "skin type", "concern": "pore concern"}

_OILY = ("nose", "chin", "forehead")
_ZONES = ("nose", "forehead", "chin", "cheeks")
_ADJUST = ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "concern",
           "clinic_id")
_REFERENCE = {"smoker": "never", "sun_exposure": "low"}
_WORDS = {"age": "age", "sex": "sex", "skin_type": "skin type", "smoker": "smoking",
          "sun_exposure": "sun exposure", "sleep_hours": "sleep", "concern": "pore concern",
          "clinic_id": "clinic"}
_HF_BEFORE_DAYS = 14
_HF_AFTER = (7, 42)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


# --------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------

def trivial_size(measure: Measure) -> float:
    """The clinically trivial size in rating units: ``TRIVIAL_SHARE × minimal important change``
    (0.1 grade on the 0–4 grades, whose minimal important change is one grade)."""
    return TRIVIAL_SHARE * measure.minimal_important_change


def verdict(estimate: float, ci_low: float, ci_high: float, trivial: float, *,
            margin: float = 0.0) -> tuple[str, str]:
    """Verdict and its reason for an estimate oriented so that positive = the claimed direction.

    ``not supported`` when ``ci_high < trivial``; else ``supported`` when ``ci_low > margin``
    (0, or the trivial size for an association known to lean towards the claim); else
    ``not enough data`` (the interval is too wide to tell).

    Examples
    --------
    >>> verdict(0.3, 0.1, 0.5, 0.1)[0], verdict(0.0, -0.05, 0.05, 0.1)[0]
    ('supported', 'not supported')
    """
    if not all(np.isfinite([estimate, ci_low, ci_high])):
        return "not enough data", "the estimate could not be computed"
    if ci_high < trivial:
        return "not supported", (f"the interval excludes every effect of {_num(trivial)} or more "
                                 "in the claimed direction")
    if ci_low > margin:
        return "supported", ("the interval lies in the claimed direction" if margin == 0 else
                             f"the whole interval lies above {_num(margin)} in the claimed "
                             "direction")
    return "not enough data", ("the interval is too wide to tell: it is compatible with no "
                               "effect and with one that matters; more patients are needed")


def _row(belief: str, estimate=np.nan, ci_low=np.nan, ci_high=np.nan, n=0, *, trivial: float,
         unit: str = "", note: str = "", missing: str = "", margin: float = 0.0) -> dict:
    """One result row; ``missing`` (what the records lack) forces ``not enough data``."""
    if missing:
        return {"belief": belief, "statement": BELIEFS[belief], "estimate": np.nan,
                "ci_low": np.nan, "ci_high": np.nan, "n": int(n), "verdict": "not enough data",
                "note": missing}
    if 0 < n < MIN_PATIENTS:
        return _row(belief, n=n, trivial=trivial,
                    missing=f"fewer than {MIN_PATIENTS} patients to compare")
    word, why = verdict(estimate, ci_low, ci_high, trivial, margin=margin)
    notes = [f"{unit}" if unit else "", why, note]
    return {"belief": belief, "statement": BELIEFS[belief], "estimate": float(estimate),
            "ci_low": float(ci_low), "ci_high": float(ci_high), "n": int(n), "verdict": word,
            "note": "; ".join(x for x in notes if x)}


# --------------------------------------------------------------------------------------------
# Small statistics shared by the beliefs
# --------------------------------------------------------------------------------------------

def _mean_ci(values) -> tuple[float, float, float, int]:
    """Mean and t-based 95 % CI of independent values (one per patient)."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    n = len(v)
    if n < 2:
        return (float(v.mean()) if n else np.nan), np.nan, np.nan, n
    m, se = v.mean(), v.std(ddof=1) / math.sqrt(n)
    half = stats.t.ppf(0.975, n - 1) * se
    return float(m), float(m - half), float(m + half), n


def _welch_ci(a, b) -> tuple[float, float, float]:
    """Difference of means a − b with a Welch t-interval (Welch–Satterthwaite df)."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff, se = a.mean() - b.mean(), math.sqrt(va + vb)
    if se == 0:
        return float(diff), float(diff), float(diff)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * se
    return float(diff), float(diff - half), float(diff + half)


def _text(series: pd.Series) -> pd.Series:
    """Values as lower-case trimmed strings, missing as NA."""
    out = series.astype("object").where(series.notna())
    return out.map(lambda v: v if v is None or (isinstance(v, float) and math.isnan(v))
                   else str(v).strip().lower())


def _covariate_columns(frame: pd.DataFrame, names: Sequence[str], *, drop_small=True
                       ) -> tuple[pd.DataFrame, list[str]]:
    """Design columns of the covariates ``names`` present and varying in ``frame``.

    Numeric (``age`` in decades, ``sleep_hours``): missing → mean + indicator ``<name>_missing``.
    Categorical: missing → level ``missing``; reference ``never`` (smoking), ``low`` (sun) or the
    most common level; levels under :data:`MIN_PATIENTS` patients pooled into the reference.
    """
    cols, used = {}, []
    for name in names:
        if name not in frame or frame[name].notna().sum() == 0:
            continue
        if name in ("age", "sleep_hours"):
            x = pd.to_numeric(frame[name], errors="coerce").astype("float64")
            if x.nunique() < 2:
                continue
            scale = 10.0 if name == "age" else 1.0
            cols[name] = (x.fillna(x.mean()) / scale).to_numpy()
            if x.isna().any():
                cols[f"{name}_missing"] = x.isna().to_numpy(dtype="float64")
            used.append(name)
            continue
        x = _text(frame[name]).fillna("missing")
        counts = x.value_counts()
        if len(counts) < 2:
            continue
        ref = _REFERENCE.get(name) if _REFERENCE.get(name) in counts.index else counts.index[0]
        for level in counts.index:
            if level != ref and (counts[level] >= MIN_PATIENTS or not drop_small):
                cols[f"{name}[{level}]"] = (x == level).to_numpy(dtype="float64")
        used.append(name)
    return pd.DataFrame(cols, index=frame.index), used


def _independent(design: pd.DataFrame, protect: Sequence[str]) -> pd.DataFrame:
    """Drop columns that are linear combinations of earlier ones (never those in ``protect``)."""
    if np.linalg.matrix_rank(design.to_numpy()) == design.shape[1]:
        return design
    keep: list[str] = []
    order = [c for c in design.columns if c in protect or c == "Intercept"] + [
        c for c in design.columns if c not in protect and c != "Intercept"]
    for c in order:
        trial = keep + [c]
        if np.linalg.matrix_rank(design[trial].to_numpy()) == len(trial):
            keep.append(c)
    return design[[c for c in design.columns if c in keep]]


def _ols(y: np.ndarray, design: pd.DataFrame):
    return sm.OLS(y, design).fit(cov_type="HC3", use_t=True)


# --------------------------------------------------------------------------------------------
# The beliefs one by one
# --------------------------------------------------------------------------------------------

def _unit_word(measure: Measure) -> str:
    return "grades" if measure.is_grade or measure.step is not None else "points"


def _schedule_comparer():
    """:func:`outcomes.schedules.compare_strategies` (the emulated target trial)."""
    from .schedules import compare_strategies

    return compare_strategies


def _schedule_belief(records, measure, schedules, trivial, m) -> dict:
    if schedules is None:
        compare = _schedule_comparer()
        if compare is None:
            return _row("schedule_protocol", trivial=trivial,
                        missing="the schedule comparison has not been run")
        try:
            schedules = compare(records, measure=measure)
        except Exception as exc:  # noqa: BLE001 - another module's failure is a note, not a crash
            return _row("schedule_protocol", trivial=trivial,
                        missing=f"the schedule comparison could not be run ({exc})")
    schedules = getattr(schedules, "results", schedules)   # a ScheduleComparison or its table
    rows = schedules
    if "measure" in rows:
        rows = rows[rows["measure"] == measure]
    rows = rows[rows["term"] == "protocol - every_2_months"]
    if rows.empty:
        return _row("schedule_protocol", trivial=trivial,
                    missing="the schedule comparison has no row 'protocol - every_2_months'")
    r = rows.iloc[0]
    n = int(r["n"]) if pd.notna(r.get("n")) else 0
    if not np.isfinite(pd.to_numeric(pd.Series([r["estimate"]]), errors="coerce")).all():
        return _row("schedule_protocol", n=max(n, MIN_PATIENTS), trivial=trivial,
                    missing="the schedule comparison could not estimate it"
                    + (f": {r['note']}" if isinstance(r.get("note"), str) and r["note"] else ""))
    return _row("schedule_protocol", r["estimate"], r["ci_low"], r["ci_high"], n,
                trivial=trivial, unit=f"mean improvement at the landmark, {_unit_word(m)}, "
                "protocol minus every two months", note=str(r.get("note") or ""))


def _consistency_belief(table: pd.DataFrame, trivial: float, m: Measure) -> dict:
    from .effects import consistency_effect

    if len(table) < 2 * MIN_PATIENTS:
        return _row("consistency", n=len(table), trivial=trivial,
                    missing=f"only {len(table)} patients with a baseline and a landmark rating")
    res = consistency_effect(table, consistency="adherence")
    r = res[res["term"] == "adherence"].iloc[0]
    if not np.isfinite(r["estimate"]):
        return _row("consistency", n=int(r["n"]), trivial=trivial,
                    missing=f"the consistency model could not be fitted: {r['note']}")
    k = 5.0  # per 10 percentage points → per 50
    return _row("consistency", k * r["estimate"], k * r["ci_low"], k * r["ci_high"], int(r["n"]),
                trivial=trivial, margin=trivial, unit=f"{_unit_word(m)} more improvement at the "
                "landmark per 50 percentage points more sessions on schedule, at the same "
                "sessions a month", note="an association, not a trial: patients who see little "
                "change tend to stop or come irregularly, which makes regular attenders look "
                "better than regularity alone would, so 'supported' needs the whole interval "
                "above the trivial size")


_COVARIATE_BELIEFS = {
    # belief: (column, design term, unit, needed groups)
    "age": ("age", "age", "grades worse per 20 years of age (e.g. 55 against 35)", None),
    "smoking": ("smoker", "smoker[current]", "grades worse, current against never smokers",
                ("current", "never")),
    "sleep": ("sleep_hours", "sleep_hours", "grades worse per 2 hours less sleep", None),
    "sun": ("sun_exposure", "sun_exposure[high]", "grades worse, high against low sun exposure",
            ("high", "low")),
}


def _baseline_frame(records: Records, measure: str, m: Measure) -> pd.DataFrame:
    lr = landmark_ratings(records, measure)
    base = lr.loc[lr["baseline"].notna(), ["patient_id", "baseline"]]
    frame = base.merge(records.patients, on="patient_id", how="left")
    frame["worse"] = frame["baseline"] if m.better == "lower" else -frame["baseline"]
    return frame.reset_index(drop=True)


def _covariate_belief(belief: str, frame: pd.DataFrame, trivial: float, m: Measure) -> dict:
    column, term, unit, groups = _COVARIATE_BELIEFS[belief]
    unit = unit.replace("grades", _unit_word(m))
    if column not in frame or frame[column].notna().sum() == 0:
        return _row(belief, trivial=trivial,
                    missing=f"the patients file has no `{column}` values")
    data = frame[frame[column].notna()].reset_index(drop=True)
    if groups is not None:
        values = _text(data[column])
        counts = {g: int((values == g).sum()) for g in groups}
        small = [g for g, c in counts.items() if c < MIN_PATIENTS]
        if small:
            return _row(belief, n=sum(counts.values()), trivial=trivial,
                        missing=f"fewer than {MIN_PATIENTS} patients with a baseline rating "
                        f"are {' or '.join(small)} ({column})")
    elif pd.to_numeric(data[column], errors="coerce").nunique() < 2:
        return _row(belief, n=len(data), trivial=trivial, missing=f"`{column}` does not vary")
    design, _ = _covariate_columns(data, _ADJUST)
    design.insert(0, "Intercept", 1.0)
    if term not in design:
        return _row(belief, n=len(data), trivial=trivial, missing=f"`{column}` does not vary")
    design = _independent(design, protect=[term])
    if len(data) - design.shape[1] < 2:
        return _row(belief, n=len(data), trivial=trivial,
                    missing=f"only {len(data)} patients with a baseline rating and `{column}`")
    fit = _ols(data["worse"].to_numpy(dtype="float64"), design)
    # the design holds age in decades and sleep in hours: per 20 years, per 2 hours *less* sleep
    sign = {"sleep": -2.0, "age": 2.0}.get(belief, 1.0)
    est, (lo, hi) = sign * fit.params[term], sorted(sign * fit.conf_int().loc[term].to_numpy())
    adjusted = [_WORDS[c] for c in _ADJUST if c != column and any(
        k == c or k.startswith(f"{c}[") for k in design.columns)]
    return _row(belief, est, lo, hi, len(data), trivial=trivial, unit=unit,
                note="rating at the first visit" + (", adjusted for " + ", ".join(adjusted)
                                                     if adjusted else ""))


def _oily_belief(records: Records, measure: str, m: Measure, trivial: float) -> dict:
    a = records.assessments
    regions_present = set(_text(a["region"]).dropna()) if "region" in a else set()
    if "cheeks" not in regions_present or not regions_present & set(_OILY):
        return _row("oily_zones", trivial=trivial,
                    missing="the records hold no region ratings of the cheeks and an oily zone")
    wide = _zone_wide(records, measure)
    if "cheeks" not in wide or not any(z in wide for z in _OILY):
        return _row("oily_zones", trivial=trivial,
                    missing="no region ratings of the cheeks and an oily zone")
    oily = wide[[z for z in _OILY if z in wide]].mean(axis=1)
    d = (oily - wide["cheeks"]) * (1 if m.better == "lower" else -1)
    per_patient = d.groupby(level="patient_id").mean().dropna()
    est, lo, hi, n = _mean_ci(per_patient)
    zones = []
    for z in _OILY:
        if z in wide:
            dz = ((wide[z] - wide["cheeks"]) * (1 if m.better == "lower" else -1))
            zones.append(f"{z} {_num(dz.groupby(level='patient_id').mean().mean())}")
    if n < 2:
        return _row("oily_zones", n=n, trivial=trivial,
                    missing="fewer than 2 patients with cheeks and oily-zone ratings the same day")
    return _row("oily_zones", est, lo, hi, n, trivial=trivial,
                unit=f"{_unit_word(m)} worse, oily zones minus cheeks at the same assessment",
                note="per zone: " + ", ".join(zones))


def _zone_wide(records: Records, measure: str) -> pd.DataFrame:
    """Clinician region ratings, one row per patient and date, one column per zone present."""
    parts = {}
    for z in _ZONES:
        r = primary_ratings(records, measure, region=z)
        if len(r):
            parts[z] = r.set_index(["patient_id", "date"])["value"]
    return pd.DataFrame(parts) if parts else pd.DataFrame()


def hydrafacial_windows(records: Records, measure: str = "pore") -> pd.DataFrame:
    """Every HydraFacial window (see the module docstring): ``patient_id, date`` (of the session),
    ``before_date, before, after_date, after, change`` (positive = better), ``concern``."""
    m = check_measure(records, measure)
    s = records.sessions
    treat = _text(s["treatment"])
    hf = s.loc[treat == "hydrafacial", ["patient_id", "date"]].drop_duplicates()
    cols = ["patient_id", "date", "before_date", "before", "after_date", "after", "change",
            "concern"]
    if hf.empty:
        return pd.DataFrame(columns=cols)
    ratings = primary_ratings(records, measure).rename(columns={"date": "rating_date"})
    ratings = ratings.sort_values("rating_date")
    hf = hf.sort_values("date")
    before = pd.merge_asof(hf, ratings.rename(columns={"value": "before"}), left_on="date",
                           right_on="rating_date", by="patient_id", direction="backward",
                           tolerance=pd.Timedelta(days=_HF_BEFORE_DAYS))
    before = before.rename(columns={"rating_date": "before_date"})
    before["_from"] = (before["date"] + pd.Timedelta(days=_HF_AFTER[0])).astype(
        ratings["rating_date"].dtype)
    after = pd.merge_asof(before.sort_values("_from"),
                          ratings.rename(columns={"value": "after"}), left_on="_from",
                          right_on="rating_date", by="patient_id", direction="forward",
                          tolerance=pd.Timedelta(days=_HF_AFTER[1] - _HF_AFTER[0]))
    after = after.rename(columns={"rating_date": "after_date"}).sort_values("date")
    nxt = s[["patient_id", "date"]].drop_duplicates().rename(columns={"date": "next_session"})
    after = pd.merge_asof(after, nxt.sort_values("next_session"), left_on="date",
                          right_on="next_session", by="patient_id", direction="forward",
                          allow_exact_matches=False)
    keep = after["before"].notna() & after["after"].notna() & (
        after["next_session"].isna() | (after["next_session"] >= after["after_date"]))
    out = after.loc[keep, cols[:6]].sort_values(["patient_id", "date"]).reset_index(drop=True)
    out["change"] = m.improvement(out["before"], out["after"])
    concern = (_text(records.patients.set_index("patient_id")["concern"])
               if "concern" in records.patients else pd.Series(dtype="object"))
    out["concern"] = out["patient_id"].map(concern)
    return out[cols]


def _hydrafacial_belief(records: Records, measure: str, m: Measure, trivial: float) -> dict:
    b = "clogged_hydrafacial"
    if "concern" not in records.patients or records.patients["concern"].notna().sum() == 0:
        return _row(b, trivial=trivial, missing="the patients file has no `concern` values")
    if not (_text(records.sessions["treatment"]) == "hydrafacial").any():
        return _row(b, trivial=trivial, missing="the records hold no HydraFacial sessions")
    w = hydrafacial_windows(records, measure)
    per = w.groupby(["patient_id", "concern"])["change"].mean().reset_index()
    clogged = per.loc[per["concern"] == "clogged", "change"]
    enlarged = per.loc[per["concern"] == "enlarged", "change"]
    n = len(clogged) + len(enlarged)
    if len(clogged) < MIN_PATIENTS or len(enlarged) < MIN_PATIENTS:
        from ..privacy import suppress_count

        sessions = (_text(records.sessions["treatment"]) == "hydrafacial") & \
            records.sessions["patient_id"].map(_text(records.patients.set_index(
                "patient_id")["concern"])).eq("enlarged")
        return _row(b, n=n, trivial=trivial, missing=(
            f"too few patients with a HydraFacial rated up to {_HF_BEFORE_DAYS} days before and "
            f"{_HF_AFTER[0]}–{_HF_AFTER[1]} days after ({MIN_PATIENTS} needed in each group): "
            f"clogged pores {suppress_count(len(clogged))}, enlarged pores "
            f"{suppress_count(len(enlarged))} (enlarged pores had "
            f"{suppress_count(int(sessions.sum()))} HydraFacial sessions in all)"))
    est, lo, hi = _welch_ci(clogged, enlarged)
    return _row(b, est, lo, hi, n, trivial=trivial,
                unit=f"{_unit_word(m)} more improvement after a HydraFacial, clogged minus "
                "enlarged pores", note=(
                    f"clogged {_num(clogged.mean())}, enlarged {_num(enlarged.mean())} "
                    f"{_unit_word(m)}; rating up to {_HF_BEFORE_DAYS} days before against the "
                    f"next {_HF_AFTER[0]}–{_HF_AFTER[1]} days after, no other session between"))


def belief_check(records: Records, *, measure: str = "pore", schedules: pd.DataFrame | None = None,
                 landmark_days: int = 182, window_days: int = 45, treatments=None
                 ) -> pd.DataFrame:
    """What your records say about the clinic's beliefs: one row per belief.

    Parameters
    ----------
    records : Records
    measure : str, default "pore"
        The measure the beliefs are checked on.
    schedules : DataFrame, optional
        A precomputed schedule comparison (columns ``measure, term, estimate, ci_low, ci_high, n,
        note``; the contrast row has term ``"protocol - every_2_months"``), or an object with
        that table as ``.results``. Without it the comparison is run with
        ``compare_strategies(records, measure=measure)`` of ``outcomes.schedules`` (or
        ``outcomes.strategies``) when that exists.
    landmark_days, window_days, treatments
        The landmark analysis of the consistency belief (see
        :func:`outcomes.models.analysis_table`).

    Returns
    -------
    DataFrame
        :data:`BELIEF_COLUMNS`: ``belief`` (id), ``statement`` (plain words), ``estimate``,
        ``ci_low``, ``ci_high`` (95 % CI, oriented so that positive = the claimed direction; the
        unit is in ``note``), ``n`` (patients the belief rests on), ``verdict`` (``supported`` /
        ``not supported`` / ``not enough data``) and ``note`` (the unit, the reason for the
        verdict, what is missing). ``attrs``: ``measure``, ``trivial`` (the clinically trivial
        size, rating units).

    Examples
    --------
    >>> belief_check(load_records("data/demo"))[["belief", "verdict"]]   # doctest: +SKIP
    """
    m = _check_options(records, measure, landmark_days, window_days, treatments)
    trivial = trivial_size(m)
    rows = []

    def guarded(belief, compute):
        try:
            rows.append(compute())
        except (RecordsError, ValueError, np.linalg.LinAlgError, KeyError) as exc:
            rows.append(_row(belief, trivial=trivial,
                             missing=f"could not be computed from these records ({exc})"))

    guarded("schedule_protocol",
            lambda: _schedule_belief(records, measure, schedules, trivial, m))
    guarded("consistency", lambda: _consistency_belief(_analysis(
        records, measure, landmark_days, window_days, treatments), trivial, m))
    frame = None
    try:
        frame = _baseline_frame(records, measure, m)
    except (RecordsError, ValueError, KeyError):
        pass
    for belief in _COVARIATE_BELIEFS:
        if frame is None or frame.empty:
            rows.append(_row(belief, trivial=trivial,
                             missing="no patient has a baseline rating before the first session"))
        else:
            guarded(belief, lambda b=belief: _covariate_belief(b, frame, trivial, m))
    guarded("oily_zones", lambda: _oily_belief(records, measure, m, trivial))
    guarded("clogged_hydrafacial", lambda: _hydrafacial_belief(records, measure, m, trivial))
    out = pd.DataFrame(rows, columns=BELIEF_COLUMNS)
    out["n"] = out["n"].astype("int64")
    out.attrs.update(measure=measure, trivial=trivial)
    return out


def _check_options(records, measure, landmark_days, window_days, treatments) -> Measure:
    """Validate the options before any work: a bad option is the user's to fix, not a note."""
    from ..tables.ratings import select_sessions

    m = check_measure(records, measure)
    for name, value in (("landmark_days", landmark_days), ("window_days", window_days)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise RecordsError(f"`{name}` must be a whole number of days ≥ 0, but {value!r} "
                               "was passed.")
    select_sessions(records, treatments)   # raises on a treatment no session has
    return m


def _analysis(records, measure, landmark_days, window_days, treatments) -> pd.DataFrame:
    from .effects import analysis_table

    return analysis_table(records, measure, landmark_days=landmark_days,
                          window_days=window_days, treatments=treatments)


# --------------------------------------------------------------------------------------------
# Who benefits
# --------------------------------------------------------------------------------------------

#: The plain statement that goes with every who-benefits table.
WHO_BENEFITS_CAVEAT = (
    "These subgroup comparisons are exploratory: several groups were looked at, so one of them "
    "will often look different by chance. Only a Holm-adjusted p-value below 0.05 (which allows "
    "for the number of comparisons) is a signal worth checking on more records; the estimates "
    "are associations, not proof that a group benefits more.")

WHO_COLUMNS = ["measure", "modifier", "subgroup", "estimate", "ci_low", "ci_high", "n",
               "interaction_p", "interaction_p_holm", "note"]


_ORDER = {"age_band": ["under 35", "35 to 49", "50 and over"],
          "smoker": ["never", "former", "current"], "sleep": ["7 h or more", "under 7 h"],
          "sun_exposure": ["low", "moderate", "high"], "skin_type": ["I–II", "III–IV", "V–VI"],
          "concern": ["enlarged", "clogged", "both"]}


def _groups(patients: pd.DataFrame, modifier: str) -> pd.Series:
    """Subgroup label per patient (index patient_id), NA when the value is missing."""
    p = patients.set_index("patient_id")
    if modifier == "age_band":
        if "age" not in p:
            return pd.Series(dtype="object")
        age = pd.to_numeric(p["age"], errors="coerce")
        return pd.cut(age, [-np.inf, 35, 50, np.inf], right=False,
                      labels=["under 35", "35 to 49", "50 and over"]).astype("object")
    if modifier == "sleep":
        if "sleep_hours" not in p:
            return pd.Series(dtype="object")
        h = pd.to_numeric(p["sleep_hours"], errors="coerce")
        return pd.Series(np.where(h.isna(), None, np.where(h < 7, "under 7 h", "7 h or more")),
                         index=p.index, dtype="object")
    if modifier == "skin_type":
        if "skin_type" not in p:
            return pd.Series(dtype="object")
        t = pd.to_numeric(p["skin_type"], errors="coerce")
        return pd.cut(t, [0, 2.5, 4.5, 6.5], labels=["I–II", "III–IV", "V–VI"]).astype("object")
    if modifier not in p:
        return pd.Series(dtype="object")
    return _text(p[modifier])


def _subgroup_row(measure, modifier, group, n, note="", est=np.nan, lo=np.nan, hi=np.nan):
    return {"measure": measure, "modifier": MODIFIERS[modifier], "subgroup": str(group),
            "estimate": est, "ci_low": lo, "ci_high": hi, "n": int(n), "note": note}


def _interaction_design(data: pd.DataFrame, modifier: str, levels: list[str]):
    """``1, sessions_per_month, baseline``, per non-reference subgroup an indicator and its
    product with sessions a month, then the other covariates; returns (design, product terms)."""
    spm = data["sessions_per_month"].to_numpy(dtype="float64")
    design = pd.DataFrame({"Intercept": 1.0, "sessions_per_month": spm,
                           "baseline": data["baseline"].to_numpy(dtype="float64")},
                          index=data.index)
    inter = []
    for g in levels[1:]:
        ind = (data["_group"] == g).to_numpy(dtype="float64")
        design[f"group[{g}]"] = ind
        design[f"sessions_per_month:group[{g}]"] = ind * spm
        inter.append(f"sessions_per_month:group[{g}]")
    own = {"age_band": "age", "sleep": "sleep_hours"}.get(modifier, modifier)
    covs, _ = _covariate_columns(data, [c for c in _ADJUST if c != own])
    design = pd.concat([design, covs], axis=1)
    return _independent(design, protect=["Intercept", "sessions_per_month", *inter]), inter


def _modifier_rows(table, patients, modifier, measure) -> tuple[list[dict], float]:
    """Subgroup slopes and the interaction p-value of one modifier (see :func:`who_benefits`)."""
    from ..privacy import suppress_count

    data = table.assign(_group=table["patient_id"].map(_groups(patients, modifier)))
    missing = int(data["_group"].isna().sum())
    counts = data["_group"].value_counts()
    order = _ORDER.get(modifier, [])
    every = [g for g in order if g in counts.index] + sorted(
        g for g in counts.index if g not in order)
    if not every:
        return [_subgroup_row(measure, modifier, "", 0,
                              "no analysed patient has a value for it")], np.nan
    levels = [g for g in every if counts[g] >= MIN_PATIENTS]
    data = data[data["_group"].isin(levels)].reset_index(drop=True)
    small = {g: _subgroup_row(measure, modifier, g, counts[g],
                              f"fewer than {MIN_PATIENTS} patients: not shown")
             for g in every if g not in levels}
    design, inter = (_interaction_design(data, modifier, levels) if len(levels) >= 2
                     else (None, []))
    why = ("only one subgroup with enough patients: no comparison" if design is None else
           "too few patients for the model" if len(data) - design.shape[1] < 2 else "")
    if why:
        shown = {g: _subgroup_row(measure, modifier, g, counts[g], why) for g in levels}
        return [small.get(g) or shown[g] for g in every], np.nan
    fit = _ols(data["improvement"].to_numpy(dtype="float64"), design)
    names = list(design.columns)
    left_out = (f"{suppress_count(missing)} patient(s) without this value left out"
                if missing else "")
    shown = {}
    for g in levels:
        c = np.zeros(len(names))
        c[names.index("sessions_per_month")] = 1.0
        if g != levels[0]:
            c[names.index(f"sessions_per_month:group[{g}]")] = 1.0
        t = fit.t_test(c)
        lo, hi = np.asarray(t.conf_int()).ravel()
        note = "; ".join(x for x in ("reference subgroup" if g == levels[0] else "", left_out)
                         if x)
        shown[g] = _subgroup_row(measure, modifier, g, counts[g], note,
                                 float(np.asarray(t.effect).ravel()[0]), float(lo), float(hi))
    R = np.zeros((len(inter), len(names)))
    for i, term in enumerate(inter):
        R[i, names.index(term)] = 1.0
    p = float(np.asarray(fit.wald_test(R, use_f=True, scalar=True).pvalue))
    return [small.get(g) or shown[g] for g in every], p


def who_benefits(records: Records, *, measure: str = "pore", landmark_days: int = 182,
                 window_days: int = 45, treatments=None, table: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """Who benefits: the extra improvement per one more session a month, by subgroup.

    For each modifier (age band: under 35 / 35 to 49 / 50 and over; smoking; sleep: under 7 h /
    7 h or more; sun exposure; skin type: I–II / III–IV / V–VI; concern) one OLS with HC3 errors::

        improvement ~ sessions_per_month × subgroup + baseline + other covariates

    The subgroup's estimate is its slope of improvement on sessions a month (the reference slope
    plus its interaction); ``interaction_p`` is the Wald F-test that all slopes are equal, and
    ``interaction_p_holm`` the Holm-adjusted p-value over the modifiers tested. Subgroups under
    :data:`MIN_PATIENTS` patients are not shown (and left out of the model), patients without the
    value are left out of that modifier.

    These comparisons are **exploratory**: several groups are looked at, so one will often differ
    by chance; read only Holm-adjusted p-values below 0.05 as a signal worth checking.

    Returns
    -------
    DataFrame
        ``measure, modifier, subgroup, estimate, ci_low, ci_high, n, interaction_p,
        interaction_p_holm, note``. ``attrs``: ``overall`` (the adjusted slope of all
        patients), ``modifiers_tested``, ``caveat`` (:data:`WHO_BENEFITS_CAVEAT`, to show with
        it).
    """
    from statsmodels.stats.multitest import multipletests

    _check_options(records, measure, landmark_days, window_days, treatments)
    if table is None:
        table = _analysis(records, measure, landmark_days, window_days, treatments)
    base = table[["patient_id", "improvement", "sessions_per_month", "baseline"]]
    data = base.merge(records.patients, on="patient_id", how="left")
    rows, pvals = [], {}
    for modifier, label in MODIFIERS.items():
        try:
            found, p = _modifier_rows(data, records.patients, modifier, measure)
        except (ValueError, np.linalg.LinAlgError) as exc:
            found, p = [], np.nan
            rows.append({"measure": measure, "modifier": label, "subgroup": "",
                         "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": 0,
                         "note": f"could not be estimated ({exc})"})
        for r in found:
            r["interaction_p"] = p
        rows += found
        pvals[label] = p
    out = pd.DataFrame(rows, columns=WHO_COLUMNS)
    tested = {k: v for k, v in pvals.items() if np.isfinite(v)}
    holm = dict(zip(tested, multipletests(list(tested.values()), method="holm")[1])) \
        if tested else {}
    out["interaction_p_holm"] = out["modifier"].map(holm).astype("float64")
    out["interaction_p"] = out["interaction_p"].astype("float64")
    out["n"] = out["n"].astype("int64")
    out.attrs.update(measure=measure, modifiers_tested=len(tested), overall=_overall(table),
                     caveat=WHO_BENEFITS_CAVEAT)
    return out


def _overall(table: pd.DataFrame) -> float:
    from .effects import adjusted_effect

    try:
        res = adjusted_effect(table)
    except (RecordsError, ValueError, np.linalg.LinAlgError):
        return np.nan
    row = res[res["term"] == "sessions_per_month"]
    return float(row["estimate"].iloc[0]) if len(row) else np.nan


def who_benefits_table(result: pd.DataFrame) -> pd.DataFrame:
    """:func:`who_benefits` for people: plain headers, counts under 5 shown as ``<5``;
    ``attrs["caveat"]`` is the exploratory statement to show with it."""
    from ..privacy import suppress_count

    shown = pd.DataFrame({
        "Group": result["modifier"].map(_plain),
        "Subgroup": result["subgroup"].map(_plain),
        "Extra improvement per extra session a month (95% CI)": [
            _ci_text(e, lo, hi) for e, lo, hi in zip(result["estimate"], result["ci_low"],
                                                     result["ci_high"])],
        "Patients": result["n"].map(suppress_count),
        "Do the groups differ? (p, Holm-adjusted)": result["interaction_p_holm"].map(_p_text),
        "Note": result["note"].fillna("").map(_plain),
    })
    shown.attrs["caveat"] = WHO_BENEFITS_CAVEAT
    return shown


def plot_who_benefits(result: pd.DataFrame, *, ax=None):
    """Forest plot of :func:`who_benefits`: each subgroup's estimate and 95 % CI, grouped by
    modifier, with the overall adjusted slope as a dashed line when known. Returns the Axes."""
    import matplotlib.pyplot as plt

    data = result.dropna(subset=["estimate"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.6 + 0.32 * max(len(data), 1)))
    if data.empty:
        ax.set_title("no subgroup with enough patients")
        return ax
    labels = [f"{_plain(m)}: {_plain(s)}" for m, s in zip(data["modifier"], data["subgroup"])]
    y = np.arange(len(data))
    ax.axvline(0, color="0.6", lw=1, ls=":")
    overall = result.attrs.get("overall")
    if overall is not None and np.isfinite(overall):
        ax.axvline(overall, color="0.4", lw=1, ls="--", label="all patients")
    ax.errorbar(data["estimate"], y, xerr=[data["estimate"] - data["ci_low"],
                data["ci_high"] - data["estimate"]], fmt="o", color="C0", ecolor="0.3",
                capsize=3)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("extra improvement per extra session a month (95% CI)")
    ax.set_title("Who benefits (exploratory)")
    return ax


# --------------------------------------------------------------------------------------------
# Where: regions
# --------------------------------------------------------------------------------------------

REGION_COLUMNS = ["measure", "region", "quantity", "estimate", "ci_low", "ci_high", "n"]


def regions(records: Records, *, measures: Sequence[str] | str | None = None,
            landmark_days: int = 182, window_days: int = 45) -> pd.DataFrame:
    """Baseline by zone and change by zone, within patient, for each measure.

    Per zone (``nose, forehead, chin, cheeks``; clinician ratings) the baseline and landmark are
    defined as for the face (:func:`outcomes.ratings.landmark_ratings` with ``region=zone``).
    Quantities, each a mean over patients with a t-based 95 % CI (one value per patient):

    - ``baseline`` — the zone's baseline rating;
    - ``baseline vs face`` — zone minus face rating at the same baseline assessment (oriented:
      positive = the zone looks worse);
    - ``improvement`` — the zone's improvement at the landmark (positive = better);
    - ``improvement vs face`` — zone minus face improvement of the same patient, when both
      baseline and landmark ratings are from the same assessments.

    Returns
    -------
    DataFrame
        ``measure, region, quantity, estimate, ci_low, ci_high, n`` (empty when the records hold no
        region ratings).
    """
    if measures is None:
        measures = [m for m in records.measures if m in records.assessments]
    elif isinstance(measures, str):
        measures = [measures]
    rows = []
    for measure in measures:
        m = check_measure(records, measure)
        sign = 1.0 if m.better == "lower" else -1.0
        kw = {"landmark_days": landmark_days, "window_days": window_days}
        face = landmark_ratings(records, measure, **kw).set_index("patient_id")
        for zone in _ZONES:
            z = landmark_ratings(records, measure, region=zone, **kw).set_index("patient_id")
            if z["baseline"].notna().sum() == 0 and z["improvement"].notna().sum() == 0:
                continue
            f = face.reindex(z.index)
            same_b = z["baseline_date"] == f["baseline_date"]
            same_l = same_b & (z["landmark_date"] == f["landmark_date"])
            values = {
                "baseline": z["baseline"],
                "baseline vs face": sign * (z["baseline"] - f["baseline"]).where(same_b),
                "improvement": z["improvement"],
                "improvement vs face": (z["improvement"] - f["improvement"]).where(same_l),
            }
            for quantity, v in values.items():
                est, lo, hi, n = _mean_ci(v)
                if n < MIN_PATIENTS:
                    est = lo = hi = np.nan
                rows.append({"measure": measure, "region": zone, "quantity": quantity,
                             "estimate": est, "ci_low": lo, "ci_high": hi, "n": n})
    out = pd.DataFrame(rows, columns=REGION_COLUMNS)
    out["n"] = out["n"].astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------

def _plain(text) -> str:
    """Text that came from the data, safe for a terminal or a table: control and bidi characters
    removed."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return _CONTROL.sub("", str(text))


def _num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    digits = 3 if 0 < abs(x) < 0.005 else (2 if abs(x) < 10 else 1)   # never "0.00" for a
    return f"{x:.{digits}f}".replace("-", "−")                       # limit just above 0


def _ci_text(est, lo, hi) -> str:
    if est is None or not np.isfinite(est):
        return "–"
    return f"{_num(est)} ({_num(lo)} to {_num(hi)})"


def _p_text(p) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def belief_table(result: pd.DataFrame) -> pd.DataFrame:
    """:func:`belief_check` for people: "What your records say about the clinic's beliefs".

    Columns: ``Belief``, ``Estimate (95% CI)``, ``Patients`` (counts under 5 as ``<5``),
    ``Verdict``, ``What it means`` (unit and reason).
    """
    from ..privacy import suppress_count

    return pd.DataFrame({
        "Belief": result["statement"].map(_plain),
        "Estimate (95% CI)": [_ci_text(e, lo, hi) for e, lo, hi in
                              zip(result["estimate"], result["ci_low"], result["ci_high"])],
        "Patients": result["n"].map(suppress_count),
        "Verdict": result["verdict"],
        "What it means": result["note"].fillna("").map(_plain),
    })


def regions_table(result: pd.DataFrame) -> pd.DataFrame:
    """:func:`regions` for people: one row per measure and zone, one column per quantity
    (estimate and 95 % CI), patients under 5 shown as ``<5``."""
    from ..privacy import suppress_count

    heads = {"baseline": "Rating at the start", "baseline vs face": "Worse than the whole face by",
             "improvement": "Improvement at the landmark",
             "improvement vs face": "Improvement beyond the whole face"}
    rows = []
    for (measure, zone), g in result.groupby(["measure", "region"], sort=False):
        row = {"Measure": _plain(measure), "Zone": _plain(zone)}
        for q, head in heads.items():
            r = g[g["quantity"] == q]
            row[head] = _ci_text(*r[["estimate", "ci_low", "ci_high"]].iloc[0]) if len(r) else "–"
        base = g.loc[g["quantity"] == "baseline", "n"]
        imp = g.loc[g["quantity"] == "improvement", "n"]
        row["Patients (start)"] = suppress_count(int(base.iloc[0])) if len(base) else "0"
        row["Patients (landmark)"] = suppress_count(int(imp.iloc[0])) if len(imp) else "0"
        rows.append(row)
    return pd.DataFrame(rows)


def plot_beliefs(result: pd.DataFrame, *, ax=None):
    """Forest plot of :func:`belief_check`: estimate and 95 % CI per belief (positive = the
    claimed direction), with 0 and the trivial size marked. Returns the Axes."""
    import matplotlib.pyplot as plt

    data = result.dropna(subset=["estimate"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.8 + 0.4 * max(len(data), 1)))
    if data.empty:
        ax.set_title("no belief could be estimated from these records")
        return ax
    y = np.arange(len(data))
    colours = {"supported": "C2", "not supported": "C3", "not enough data": "0.5"}
    ax.axvline(0, color="0.6", lw=1, ls=":")
    trivial = result.attrs.get("trivial")
    if trivial:
        ax.axvline(trivial, color="0.7", lw=1, ls="--", label="trivial size")
    for i, r in data.iterrows():
        ax.errorbar(r["estimate"], i, xerr=[[r["estimate"] - r["ci_low"]],
                    [r["ci_high"] - r["estimate"]]], fmt="o", capsize=3,
                    color=colours.get(r["verdict"], "C0"))
    ax.set_yticks(y, data["belief"].map(_plain))
    ax.invert_yaxis()
    ax.set_xlabel("estimate in the claimed direction (95% CI; unit per belief)")
    return ax


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def json_value(x):
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, str):
        return _plain(x)
    return x



def beliefs_text(records: Records, result: pd.DataFrame) -> str:
    """The human output of ``outcomes beliefs``: one block per belief, verdict first."""
    m = records.measures[result.attrs["measure"]]
    trivial = _num(result.attrs["trivial"])
    lines = [f"What your records say about the clinic's beliefs — {_plain(m.label)}",
             (f"(positive = the claimed direction; an effect under {trivial} {_unit_word(m)} "
              "counts as clinically trivial)"), ""]
    table = belief_table(result)
    for r, rec in zip(table.to_dict(orient="records"), result.to_dict(orient="records")):
        lines += [f"[{r['Verdict']}] {rec['belief']}: {r['Belief']}",
                  f"    estimate {r['Estimate (95% CI)']}, patients {r['Patients'] or '0'}",
                  f"    {r['What it means']}", ""]
    lines.append(f"quarantined input rows (set aside, see `outcomes check`): "
                 f"{records.n_quarantined}")
    return "\n".join(lines)
