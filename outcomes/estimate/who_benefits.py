"""Who benefits, and where: the slope per extra session a month by subgroup, and the zones of the
face (docs/methods.md §5.3–§5.4).

:func:`who_benefits` — per modifier (age band, smoking, sleep, sun exposure, skin type, concern)
the subgroup slopes of improvement on sessions a month, with a Holm-adjusted interaction test;
exploratory. :func:`regions` — baseline and improvement by zone, within patient. Both take the
tables :class:`outcomes.analysis.Analysis` derived.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from ..errors import RecordsError
from ..privacy import suppress_count
from ..records.scales import Measure
from ..tables.beliefs import text_values
from .beliefs import _ADJUST, MIN_PATIENTS, _covariate_columns, _independent, _mean_ci, _ols

__all__ = ["MODIFIERS", "REGION_COLUMNS", "WHO_BENEFITS_CAVEAT", "WHO_COLUMNS", "regions",
           "who_benefits"]

#: Who-benefits modifiers: name → plain label.
MODIFIERS = {"age_band": "age band", "smoker": "smoking", "sleep": "sleep",
             "sun_exposure": "sun exposure", "skin_type": "skin type", "concern": "pore concern"}


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
    return text_values(p[modifier])


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


def who_benefits(table: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
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

    Parameters
    ----------
    table : DataFrame
        The analysis table (:func:`outcomes.tables.analysis_table.analysis_table`).
    patients : DataFrame
        The patients table (the subgroups).

    Returns
    -------
    DataFrame
        ``measure, modifier, subgroup, estimate, ci_low, ci_high, n, interaction_p,
        interaction_p_holm, note``. ``attrs``: ``overall`` (the adjusted slope of all
        patients), ``modifiers_tested``, ``caveat`` (:data:`WHO_BENEFITS_CAVEAT`, to show with
        it).
    """
    measure = table.attrs["measure"]
    base = table[["patient_id", "improvement", "sessions_per_month", "baseline"]]
    data = base.merge(patients, on="patient_id", how="left")
    rows, pvals = [], {}
    for modifier, label in MODIFIERS.items():
        try:
            found, p = _modifier_rows(data, patients, modifier, measure)
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


# --------------------------------------------------------------------------------------------
# Where: regions
# --------------------------------------------------------------------------------------------

REGION_COLUMNS = ["measure", "region", "quantity", "estimate", "ci_low", "ci_high", "n"]


def regions(face: pd.DataFrame, zones: dict[str, pd.DataFrame], measure: Measure
            ) -> pd.DataFrame:
    """Baseline by zone and change by zone, within patient, for each measure.

    Per zone (``nose, forehead, chin, cheeks``; clinician ratings) the baseline and landmark are
    defined as for the face (:func:`outcomes.tables.ratings.landmark_ratings` with ``region=zone``).
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
    sign = 1.0 if measure.better == "lower" else -1.0
    face = face.set_index("patient_id")
    rows = []
    for zone, z in zones.items():
        z = z.set_index("patient_id")
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
            rows.append({"measure": measure.name, "region": zone, "quantity": quantity,
                         "estimate": est, "ci_low": lo, "ci_high": hi, "n": n})
    out = pd.DataFrame(rows, columns=REGION_COLUMNS)
    out["n"] = out["n"].astype("int64")
    return out


