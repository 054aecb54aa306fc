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
    :func:`outcomes.estimate.effects.consistency_effect` (improvement ~ sessions a month + on-schedule
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
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from ..errors import RecordsError
from ..format import number
from ..privacy import suppress_count
from ..records.scales import Measure
from ..tables.beliefs import HF_AFTER, HF_BEFORE_DAYS, text_values
from .effects import consistency_effect
from .verdict import trivial_size, verdict

__all__ = [
    "BELIEFS",
    "BELIEF_COLUMNS",
    "MIN_PATIENTS",
    "SCHEDULE_BELIEF",
    "belief_check",
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

#: Fewest patients in a compared group (and in a subgroup shown) — the small-count threshold.
MIN_PATIENTS = 5

_OILY = ("nose", "chin", "forehead")
_ADJUST = ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "concern",
           "clinic_id")
_REFERENCE = {"smoker": "never", "sun_exposure": "low"}
_WORDS = {"age": "age", "sex": "sex", "skin_type": "skin type", "smoker": "smoking",
          "sun_exposure": "sun exposure", "sleep_hours": "sleep", "concern": "pore concern",
          "clinic_id": "clinic"}


# --------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------

def _num(x: float) -> str:
    """A number in a note: two decimals (one from 10 on), three just off 0 (never "0.00" for a
    limit just above 0)."""
    return number(x, "limit")


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
        x = text_values(frame[name]).fillna("missing")
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


#: the two schedules the clinic's belief compares
SCHEDULE_BELIEF = ("protocol", "every_2_months")


def _schedule_belief(contrast, trivial: float, m: Measure) -> dict:
    """The clinic's protocol against coming every two months (:data:`SCHEDULE_BELIEF`), from
    the schedule comparison's contrast: a dict ``estimate, ci_low, ci_high, n, note``, or the
    reason there is none (``None``: the comparison has not been run)."""
    if contrast is None:
        return _row("schedule_protocol", trivial=trivial,
                    missing="the schedule comparison has not been run")
    if isinstance(contrast, str):
        return _row("schedule_protocol", trivial=trivial, missing=contrast)
    n = int(contrast.get("n") or 0)
    note = str(contrast.get("note") or "")
    if not np.isfinite(pd.to_numeric(pd.Series([contrast["estimate"]]), errors="coerce")).all():
        return _row("schedule_protocol", n=max(n, MIN_PATIENTS), trivial=trivial,
                    missing="the schedule comparison could not estimate it"
                    + (f": {note}" if note else ""))
    return _row("schedule_protocol", contrast["estimate"], contrast["ci_low"],
                contrast["ci_high"], n, trivial=trivial,
                unit=f"mean improvement at the landmark, {_unit_word(m)}, protocol minus every "
                "two months", note=note)


def _consistency_belief(table: pd.DataFrame, trivial: float, m: Measure) -> dict:
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


def _covariate_belief(belief: str, frame: pd.DataFrame, trivial: float, m: Measure) -> dict:
    column, term, unit, groups = _COVARIATE_BELIEFS[belief]
    unit = unit.replace("grades", _unit_word(m))
    if column not in frame or frame[column].notna().sum() == 0:
        return _row(belief, trivial=trivial,
                    missing=f"the patients file has no `{column}` values")
    data = frame[frame[column].notna()].reset_index(drop=True)
    if groups is not None:
        values = text_values(data[column])
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


def _oily_belief(wide: pd.DataFrame, m: Measure, trivial: float) -> dict:
    if "cheeks" not in wide or not any(z in wide for z in _OILY):
        return _row("oily_zones", trivial=trivial,
                    missing="the records hold no region ratings of the cheeks and an oily zone")
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


def _hydrafacial_belief(w: pd.DataFrame, m: Measure, trivial: float) -> dict:
    b = "clogged_hydrafacial"
    if not w.attrs.get("has_concern", False):
        return _row(b, trivial=trivial, missing="the patients file has no `concern` values")
    if not w.attrs.get("hydrafacial_sessions", 0):
        return _row(b, trivial=trivial, missing="the records hold no HydraFacial sessions")
    per = w.groupby(["patient_id", "concern"])["change"].mean().reset_index()
    clogged = per.loc[per["concern"] == "clogged", "change"]
    enlarged = per.loc[per["concern"] == "enlarged", "change"]
    n = len(clogged) + len(enlarged)
    if len(clogged) < MIN_PATIENTS or len(enlarged) < MIN_PATIENTS:
        return _row(b, n=n, trivial=trivial, missing=(
            f"too few patients with a HydraFacial rated up to {HF_BEFORE_DAYS} days before and "
            f"{HF_AFTER[0]}–{HF_AFTER[1]} days after ({MIN_PATIENTS} needed in each group): "
            f"clogged pores {suppress_count(len(clogged))}, enlarged pores "
            f"{suppress_count(len(enlarged))} (enlarged pores had "
            f"{suppress_count(w.attrs.get('enlarged_sessions', 0))} HydraFacial sessions in "
            "all)"))
    est, lo, hi = _welch_ci(clogged, enlarged)
    return _row(b, est, lo, hi, n, trivial=trivial,
                unit=f"{_unit_word(m)} more improvement after a HydraFacial, clogged minus "
                "enlarged pores", note=(
                    f"clogged {_num(clogged.mean())}, enlarged {_num(enlarged.mean())} "
                    f"{_unit_word(m)}; rating up to {HF_BEFORE_DAYS} days before against the "
                    f"next {HF_AFTER[0]}–{HF_AFTER[1]} days after, no other session between"))


def belief_check(measure: Measure, *, table: pd.DataFrame, baseline: pd.DataFrame,
                 zones: pd.DataFrame, hydrafacial: pd.DataFrame,
                 schedules: dict | str | None = None) -> pd.DataFrame:
    """What your records say about the clinic's beliefs: one row per belief.

    Parameters
    ----------
    measure : Measure
        The measure the beliefs are checked on.
    table : DataFrame
        The analysis table (:func:`outcomes.tables.analysis_table.analysis_table`): the
        consistency belief.
    baseline, zones, hydrafacial : DataFrame
        :func:`outcomes.tables.beliefs.baseline_covariates` (age, smoking, sleep, sun),
        :func:`~outcomes.tables.beliefs.zone_ratings` (oily zones) and
        :func:`~outcomes.tables.beliefs.hydrafacial_windows` (clogged pores and HydraFacial).
    schedules : dict or str, optional
        The schedule comparison's contrast of the clinic's protocol with coming every two months
        (``estimate, ci_low, ci_high, n, note``), or why there is none; ``None`` when the
        comparison has not been run.

    Returns
    -------
    DataFrame
        :data:`BELIEF_COLUMNS`: ``belief`` (id), ``statement`` (plain words), ``estimate``,
        ``ci_low``, ``ci_high`` (95 % CI, oriented so that positive = the claimed direction; the
        unit is in ``note``), ``n`` (patients the belief rests on), ``verdict`` (``supported`` /
        ``not supported`` / ``not enough data``) and ``note`` (the unit, the reason for the
        verdict, what is missing). ``attrs``: ``measure``, ``trivial`` (the clinically trivial
        size, rating units).
    """
    trivial = trivial_size(measure)
    rows = []

    def guarded(belief, compute):
        try:
            rows.append(compute())
        except (RecordsError, ValueError, np.linalg.LinAlgError, KeyError) as exc:
            rows.append(_row(belief, trivial=trivial,
                             missing=f"could not be computed from these records ({exc})"))

    guarded("schedule_protocol", lambda: _schedule_belief(schedules, trivial, measure))
    guarded("consistency", lambda: _consistency_belief(table, trivial, measure))
    for belief in _COVARIATE_BELIEFS:
        if baseline.empty:
            rows.append(_row(belief, trivial=trivial,
                             missing="no patient has a baseline rating before the first session"))
        else:
            guarded(belief, lambda b=belief: _covariate_belief(b, baseline, trivial, measure))
    guarded("oily_zones", lambda: _oily_belief(zones, measure, trivial))
    guarded("clogged_hydrafacial", lambda: _hydrafacial_belief(hydrafacial, measure, trivial))
    out = pd.DataFrame(rows, columns=BELIEF_COLUMNS)
    out["n"] = out["n"].astype("int64")
    out.attrs.update(measure=measure.name, trivial=trivial)
    return out
