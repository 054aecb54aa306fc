"""The effect of session frequency and consistency on improvement (docs/methods.md §3).

The analysis table has one row per *included* patient (see :mod:`outcomes.ratings`): baseline,
landmark, improvement, the attendance metrics between t0 and the landmark rating, and the covariates.
The models all return the same tidy result table, one row per term:

``measure, model, term, estimate, ci_low, ci_high, std_error, p_value, n, note``

Models
------
``naive``
    OLS ``improvement ~ sessions_per_month`` — the raw comparison: patients who came more often
    against those who came less, nothing else taken into account.
``adjusted`` (the primary answer)
    OLS ``improvement ~ sessions_per_month + baseline + covariates``. The coefficient of
    ``sessions_per_month`` is the extra improvement per one more session a month among patients
    with the same baseline rating and covariates.
``adjusted+consistency``
    The adjusted model with a consistency metric beside frequency (default ``adherence``, the
    share of protocol-due sessions that came on schedule; see :data:`CONSISTENCY_METRICS`), so that "more regular at the same frequency" has its own estimate.
    The variance inflation factors of frequency and consistency are reported in ``note``.
``mixed``
    A linear mixed model of every rating (oriented, positive = better) on the sessions received
    before it, split into a within-patient part (deviation from the patient's mean) and a
    between-patient part (the patient's mean), months since t0 and covariates, with a random
    intercept per patient and a random slope on time when it can be estimated; one REML fit by
    :func:`outcomes.mixed.fit_mixed` (per-patient sums, profiled restricted likelihood).

Standard errors of the landmark models are heteroskedasticity-robust (HC3, MacKinnon & White 1985)
with t-based 95 % confidence intervals (residual degrees of freedom).

Missing covariates (never listwise deletion)
--------------------------------------------
- categorical covariates (``sex``, ``skin_type``, ``smoker``, ``sun_exposure``, ``skincare``,
  ``concern``, ``clinic_id``): a missing value becomes its own level ``"missing"``; levels seen in
  fewer than :data:`MIN_LEVEL_N` analysed patients are pooled into ``"other"`` (and ``"other"`` into
  the reference level if it is still that small). The reference level is the most common one.
- numeric covariates (``age``, ``sleep_hours``): a missing value is replaced by the mean of the
  analysed patients and an indicator ``<name>_missing`` (1 = was missing) enters the model.
- a covariate enters only when it varies among the analysed patients; ``clinic_id`` therefore only
  when there are several clinics. Design columns that are exact linear combinations of earlier ones
  (e.g. two missing-indicators for the same patients) are dropped and named in ``note``.
The counts of missing values per covariate are in ``analysis_table(...).attrs["missing"]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import partial

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import RecordsError
from ..records import Records
from ..records.scales import Measure
from ..tables.ratings import (
    check_measure,
    exclusions,
    landmark_ratings,
    primary_ratings,
    select_sessions,
)

__all__ = [
    "ATTENDANCE_COLUMNS",
    "CONSISTENCY_METRICS",
    "COVARIATES",
    "MIN_LEVEL_N",
    "RESULT_COLUMNS",
    "adjusted_effect",
    "analysis_table",
    "collinearity",
    "consistency_effect",
    "describe_effect",
    "effects",
    "mixed_effect",
    "naive_effect",
    "plot_effects",
    "plot_improvement_by_frequency",
    "plot_trajectories",
]

RESULT_COLUMNS = ["measure", "model", "term", "estimate", "ci_low", "ci_high", "std_error",
                  "p_value", "n", "note"]

#: Covariates taken from ``records.patients`` when present, in the order they are listed.
COVARIATES = ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "skincare",
              "concern", "clinic_id")
_NUMERIC = ("age", "sleep_hours")
_WORDS = {"baseline": "baseline rating", "age": "age", "sex": "sex", "skin_type": "skin type",
          "smoker": "smoking", "sun_exposure": "sun exposure", "sleep_hours": "sleep",
          "skincare": "home skincare", "concern": "kind of pore concern", "clinic_id": "clinic"}

#: Attendance metrics over [t0, landmark date) carried into the analysis table.
ATTENDANCE_COLUMNS = ["n_sessions", "sessions_per_month", "interval_cv", "longest_gap", "lapses",
                      "coverage", "regular", "adherence"]

#: Consistency metrics allowed beside frequency, with the unit their coefficient is reported in.
#: The default is ``adherence`` — the share of protocol-due sessions that came on schedule
#: (:class:`outcomes.attendance.Protocol`: loading every 28 ± 7 days, then every 91 ± 21 days):
#: it penalises both bunching and lapses, is defined for nearly every patient (no minimum number
#: of sessions) and overlaps little with frequency (VIF ≈ 1.2 in simulated clinics, against ≈ 27
#: for ``coverage`` and ≈ 3.7 for ``longest_gap``). In the linear simulated scenario (no planted
#: consistency effect) its coefficient is ≈ 0 and leaves the frequency estimate unchanged, whereas
#: ``interval_cv`` (needs ≥ 3 sessions; fewer get 0 plus an indicator ``fewer_than_3_sessions``)
#: makes that indicator absorb part of the frequency effect. A missing value of the metric is set
#: to 0 with an indicator ``<metric>_missing``.
CONSISTENCY_METRICS = {
    "adherence": "each 10 percentage points more sessions on schedule",
    "interval_cv": "each 0.1 more interval CV (less even gaps)",
    "coverage": "each 10 percentage points more coverage",
    "longest_gap": "each 30 days longer longest gap",
    "lapses": "each extra lapse",
}
_CONSISTENCY_SCALE = {"interval_cv": 0.1, "coverage": 0.1, "longest_gap": 30.0, "lapses": 1.0,
                      "adherence": 0.1}

#: Categorical levels seen in fewer analysed patients than this are pooled (see module docstring).
MIN_LEVEL_N = 5

DAYS_PER_MONTH = 30.4375


# --------------------------------------------------------------------------------------------
# The analysis table
# --------------------------------------------------------------------------------------------

def analysis_table(records: Records, measure: str, *, landmark_days: int = 182,
                   window_days: int = 45, treatments=None, permissible_gap: int = 45,
                   protocol=None, region: str = "face", rater: str = "clinician"
                   ) -> pd.DataFrame:
    """One row per included patient: ratings, attendance up to the landmark, and covariates.

    Parameters
    ----------
    records : Records
    measure : str
        Any measure of ``records.measures``.
    landmark_days, window_days : int
        Landmark rating at ``t0 + landmark_days ± window_days`` (see
        :func:`outcomes.ratings.landmark_ratings`).
    treatments : str or list of str, optional
        Count only these treatments (for t0 and for every attendance metric).
    permissible_gap, protocol
        Passed to :func:`outcomes.attendance.patient_metrics` (lapses; on-schedule adherence).
    region, rater : str
        Which ratings; default the primary ones.

    Returns
    -------
    DataFrame
        ``patient_id, t0, baseline_date, baseline, landmark_date, landmark, improvement,
        responder, followup_days``; the attendance metrics over ``[t0, landmark_date)``:
        ``n_sessions`` (sessions with t0 ≤ date < landmark date), ``sessions_per_month``
        (``n_sessions × 30.4375 / (landmark_date − t0 in days)``), ``interval_cv``,
        ``longest_gap``, ``lapses``, ``coverage``, ``regular``, ``adherence`` (definitions in
        :mod:`outcomes.attendance`); then the covariates with the missing-value rule of this
        module applied (``<name>_missing`` indicators for numeric ones).
        ``attrs``: ``measure`` (name), ``exclusions`` (dict reason → n, in the order the reasons
        are checked; ``ratings.exclusions(table)`` gives it as a DataFrame ``reason, n`` — a dict
        because pandas compares ``attrs`` on concat and a DataFrame there breaks it), ``covariates``
        (the covariates used, in model order), ``missing`` (dict covariate → missing count among
        the included patients, for every covariate column the records have),
        ``landmark_days``, ``window_days``, ``n_patients`` (all patients considered).
    """
    from ..tables.attendance import patient_metrics

    ratings = landmark_ratings(records, measure, landmark_days=landmark_days,
                               window_days=window_days, treatments=treatments,
                               region=region, rater=rater)
    table = ratings[ratings["status"] == "included"].drop(columns="status")
    windows = pd.DataFrame({"patient_id": table["patient_id"], "start": table["t0"],
                            "end": table["landmark_date"]})
    kwargs = {"windows": windows, "treatments": treatments, "permissible_gap": permissible_gap}
    if protocol is not None:
        kwargs["protocol"] = protocol
    metrics = patient_metrics(records.sessions, **kwargs)
    keep = ["patient_id"] + [c for c in ATTENDANCE_COLUMNS if c in metrics]
    table = table.merge(metrics[keep], on="patient_id", how="left", validate="one_to_one")
    table, used, missing = _prepare_covariates(table, records.patients)
    table = table.reset_index(drop=True)
    excluded = exclusions(ratings)
    table.attrs.update(measure=measure, exclusions=dict(zip(excluded["reason"], excluded["n"])),
                       covariates=used,
                       missing=missing, landmark_days=int(landmark_days),
                       window_days=int(window_days), n_patients=len(ratings),
                       better=records.measures[measure].better)
    return table


def _prepare_covariates(table: pd.DataFrame, patients: pd.DataFrame
                        ) -> tuple[pd.DataFrame, list[str], dict[str, int]]:
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
        if name in _NUMERIC:
            values = pd.to_numeric(col, errors="coerce").astype("float64")
            table[name] = values.fillna(values.mean())
            if values.isna().any():
                table[f"{name}_missing"] = values.isna().astype("float64")
            varies = values.nunique() > 1 or values.isna().any()
        else:
            table[name] = _pool_levels(col)
            varies = table[name].nunique() > 1
        if varies:
            used.append(name)
    return table, used, missing


def _pool_levels(col: pd.Series) -> pd.Series:
    values = col.astype("object").where(col.notna(), "missing").astype("str")
    counts = values.value_counts()
    rare = counts.index[counts < MIN_LEVEL_N]
    if len(rare) and len(rare) < len(counts):
        values = values.where(~values.isin(rare), "other")
        if (values == "other").sum() < MIN_LEVEL_N:
            values = values.where(values != "other", _reference(values[values != "other"]))
    return values


def _reference(values: pd.Series) -> str:
    counts = values.value_counts()
    counts = counts.reindex(sorted(counts.index, key=lambda v: (-counts[v], v == "missing", v)))
    return str(counts.index[0])


# --------------------------------------------------------------------------------------------
# Design matrices and OLS
# --------------------------------------------------------------------------------------------

def _check_table(table: pd.DataFrame, needed: Iterable[str]) -> None:
    missing = [c for c in needed if c not in table]
    if missing:
        raise RecordsError(f"The analysis table lacks column(s) {missing}; build it with "
                           "`analysis_table(records, measure)`.")


def _design(table: pd.DataFrame, main: Sequence[str], covariates: Sequence[str]
            ) -> pd.DataFrame:
    """Intercept, the main columns, then numeric covariates (+ missing indicators) and
    treatment-coded dummies ``name[level]`` (reference = most common level)."""
    cols = {"Intercept": np.ones(len(table))}
    for name in main:
        cols[name] = table[name].to_numpy(dtype="float64")
    for name in covariates:
        if name in _NUMERIC:
            cols[name] = table[name].to_numpy(dtype="float64")
            if f"{name}_missing" in table:
                cols[f"{name}_missing"] = table[f"{name}_missing"].to_numpy(dtype="float64")
        else:
            codes, levels = pd.factorize(table[name].astype("str").to_numpy(dtype=object))
            levels = [str(v) for v in levels]
            counts = np.bincount(codes, minlength=len(levels))
            ref = min(range(len(levels)),      # as _reference: most common, "missing" last
                      key=lambda k: (-counts[k], levels[k] == "missing", levels[k]))
            for k in sorted(range(len(levels)), key=levels.__getitem__):
                if k != ref:
                    cols[f"{name}[{levels[k]}]"] = (codes == k).astype("float64")
    return pd.DataFrame(cols, index=table.index)


def _independent(design: pd.DataFrame, protect: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Drop columns that are linear combinations of earlier ones; report the dropped names.
    A dropped *protected* column means its effect cannot be estimated.

    One pivoted QR of the design with columns scaled to max |x| = 1 (``scipy.linalg.qr``,
    ``pivoting=True``) gives the rank: ``|R_kk| > 1e-8 · n``. At full rank (the usual case) that
    is all. Otherwise the columns to drop are found in the order of the design, so that the
    earlier of two redundant columns is kept: column j is redundant when its distance to the span
    of the kept earlier columns, ``|R_jj|`` of an unpivoted QR of the same scaled matrix, is
    below the same tolerance.
    """
    from scipy import linalg

    x = design.to_numpy(dtype="float64")
    if x.shape[1] == 0:
        return design, []
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    x = x / scale
    tol = 1e-8 * len(design)
    r = linalg.qr(x, mode="r", pivoting=True, check_finite=False)[0]
    if int((np.abs(np.diag(r)) > tol).sum()) == x.shape[1]:
        return design, []
    r = linalg.qr(x, mode="r", check_finite=False)[0]
    k = min(r.shape)
    diag = np.abs(np.diag(r))
    independent = np.zeros(x.shape[1], dtype=bool)
    independent[:k] = diag[:k] > tol
    names = list(design.columns)
    kept = [n for n, ok in zip(names, independent) if ok]
    return design[kept], [n for n, ok in zip(names, independent) if not ok]


def _count(n: int) -> str:
    """A count of people in a note or line shown to people: 1–4 as ``<5``
    (:func:`outcomes.privacy.suppress_count`)."""
    from ..privacy import suppress_count

    return suppress_count(int(n))


def _people(text: str) -> str:
    """Counts of 1–4 people (patients, ratings, exposed/unexposed) in a note shown by
    ``outcomes effects`` written as ``<5`` (:func:`outcomes.privacy.suppress_count`); the notes
    in the result table and ``--json`` keep the numbers."""
    import re

    def small(m):
        return _count(int(m.group(0)))

    text = re.sub(r"(?<=patients \()\d+(?=\))|(?<=ratings \()\d+(?=\))", small, text)
    text = re.sub(r"(?<![\w.])\d+(?= (?:patient|rating|exposed|unexposed))", small, text)
    return re.sub(r"(?<=there are )\d+|(?<=there are <5 and )\d+|(?<=\d and )\d+(?=\.)",
                  small, text)


def _empty_rows(measure: str, model: str, terms: Sequence[str], n: int, note: str
                ) -> pd.DataFrame:
    return pd.DataFrame({"measure": measure, "model": model, "term": list(terms),
                         "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                         "std_error": np.nan, "p_value": np.nan, "n": n, "note": note})


#: fewer patients than this per regression coefficient gets a plain warning in ``note``
#: (the usual rule of thumb for linear models, e.g. Harrell, Regression Modeling Strategies §4.4)
_MIN_PER_COEFFICIENT = 10


def _ols(table: pd.DataFrame, *, model: str, main: Sequence[str], covariates: Sequence[str],
         report: Sequence[str], all_terms: bool, note: str = "",
         extra_columns: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, object]:
    measure = table.attrs.get("measure", "")
    _check_table(table, ["improvement", *main, *covariates])
    data = table.dropna(subset=["improvement", *main])
    n = len(data)
    design = _design(data, main, covariates)
    for name, values in (extra_columns or {}).items():
        design[name] = values[data.index] if len(values) == len(table) else values
    notes = [note] if note else []
    if len(data) < len(table):
        notes.append(f"{len(table) - len(data)} patient(s) without {', '.join(main)} left out")
    if n - design.shape[1] < 2:
        return _empty_rows(measure, model, report, n, "; ".join(
            notes + [f"too few patients ({n}) for {design.shape[1]} coefficients"])), None
    design, dropped = _independent(design, protect=main)
    lost = [c for c in main if c in dropped]
    if lost:
        return _empty_rows(measure, model, report, n, "; ".join(
            [*notes, (f"cannot estimate {', '.join(lost)}: it does not vary independently "
                      "of the other terms")])), None
    if dropped:
        notes.append("redundant columns dropped: " + ", ".join(dropped))
    if n < _MIN_PER_COEFFICIENT * design.shape[1]:
        notes.append(f"only {n / design.shape[1]:.1f} patients per coefficient ({n} patients, "
                     f"{design.shape[1]} coefficients; {_MIN_PER_COEFFICIENT} or more is the "
                     "usual rule): the estimate is unstable, collect more records")
    y = data["improvement"].to_numpy(dtype="float64")
    fit = sm.OLS(y, design).fit(cov_type="HC3", use_t=True)
    terms = [c for c in design.columns if c != "Intercept"] if all_terms else [
        t for t in report if t in design.columns]
    ci = fit.conf_int()
    rows = pd.DataFrame({
        "measure": measure, "model": model, "term": terms,
        "estimate": fit.params[terms].to_numpy(), "ci_low": ci.loc[terms, 0].to_numpy(),
        "ci_high": ci.loc[terms, 1].to_numpy(), "std_error": fit.bse[terms].to_numpy(),
        "p_value": fit.pvalues[terms].to_numpy(), "n": n})
    if not np.isfinite(rows["std_error"]).all():
        notes.append("robust standard errors undefined (a patient alone determines a "
                     "coefficient)")
    rows["note"] = "; ".join(notes)
    return rows, fit


def naive_effect(table: pd.DataFrame) -> pd.DataFrame:
    """The raw association: OLS ``improvement ~ sessions_per_month`` with HC3 standard errors.

    ``estimate`` = Σ (x − x̄)(y − ȳ) / Σ (x − x̄)² with x = sessions per month, y = improvement.
    It mixes the effect of coming more often with who comes more often (confounding by
    indication) and where they started (regression to the mean); compare with
    :func:`adjusted_effect`.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`, one row (term ``sessions_per_month``), model ``"naive"``.
    """
    rows, _ = _ols(table, model="naive", main=["sessions_per_month"], covariates=[],
                   report=["sessions_per_month"], all_terms=False)
    return rows[RESULT_COLUMNS]


def _covariates(table: pd.DataFrame, covariates: Sequence[str] | None) -> list[str]:
    if covariates is None:
        return list(table.attrs.get("covariates", [c for c in COVARIATES if c in table]))
    covariates = list(covariates)
    for c in covariates:
        if c not in table:
            raise RecordsError(f"The value for `covariates` must be among "
                               f"{[c for c in COVARIATES if c in table]}, but {c!r} was passed.")
    return covariates


def adjusted_effect(table: pd.DataFrame, *, covariates: Sequence[str] | None = None,
                    all_terms: bool = False) -> pd.DataFrame:
    """The primary answer: OLS ``improvement ~ sessions_per_month + baseline + covariates``, HC3.

    Parameters
    ----------
    table : DataFrame
        From :func:`analysis_table`.
    covariates : list of str, optional
        Default ``table.attrs["covariates"]`` (every covariate present and varying).
    all_terms : bool, default False
        Return every coefficient (dummies named ``name[level]``) instead of
        ``sessions_per_month`` and ``baseline`` only.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`, model ``"adjusted"``. The ``sessions_per_month`` estimate is the
        extra improvement (rating units, positive = better) per one more session a month at the
        same baseline and covariates.
    """
    rows, _ = _ols(table, model="adjusted", main=["sessions_per_month", "baseline"],
                   covariates=_covariates(table, covariates),
                   report=["sessions_per_month", "baseline"], all_terms=all_terms)
    return rows[RESULT_COLUMNS]


def _consistency_column(table: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, dict]:
    if metric not in CONSISTENCY_METRICS:
        raise RecordsError(f"The value for `consistency` must be one of "
                           f"{list(CONSISTENCY_METRICS)}, but {metric!r} was passed.")
    _check_table(table, [metric])
    values = pd.to_numeric(table[metric], errors="coerce").astype("float64")
    extra = {}
    if values.isna().any():
        extra["fewer_than_3_sessions" if metric == "interval_cv" else f"{metric}_missing"] = (
            values.isna().to_numpy(dtype="float64"))
        values = values.fillna(0.0)
    table = table.assign(**{metric: values / _CONSISTENCY_SCALE[metric]})
    return table, extra


def consistency_effect(table: pd.DataFrame, *, consistency: str = "adherence",
                       covariates: Sequence[str] | None = None,
                       all_terms: bool = False) -> pd.DataFrame:
    """Frequency and consistency together: OLS ``improvement ~ sessions_per_month + consistency
    + baseline + covariates``, HC3.

    The consistency coefficient answers "more regular at the same frequency". It is reported per
    the unit in :data:`CONSISTENCY_METRICS` (default: per 10 percentage points more on-schedule
    adherence = sessions on time ÷ sessions due under the protocol). ``note`` gives the
    variance inflation factors (VIF_j = 1 / (1 − R²_j), R²_j from regressing term j on the other
    columns) of the two terms; above 5 the two are hard to tell apart in these data.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`, model ``"adjusted+consistency"``, terms ``sessions_per_month`` and
        the metric (and ``baseline``).
    """
    prepared, extra = _consistency_column(table, consistency)
    main = ["sessions_per_month", consistency, "baseline"]
    rows, fit = _ols(prepared, model="adjusted+consistency", main=main,
                     covariates=_covariates(table, covariates), report=main,
                     all_terms=all_terms, extra_columns=extra,
                     note=f"{consistency} estimate is for {CONSISTENCY_METRICS[consistency]}")
    if fit is not None:
        vif = _vif(fit.model.exog, list(fit.model.exog_names))
        rows["note"] = rows["note"] + "; VIF " + ", ".join(
            f"{t} {vif[t]:.1f}" for t in ("sessions_per_month", consistency))
    return rows[RESULT_COLUMNS]


def _vif(exog: np.ndarray, names: list[str]) -> dict[str, float]:
    """VIF_j = 1 / (1 − R²_j) for every non-constant column: the diagonal of the inverse of the
    columns' correlation matrix (R²_j from the regression of column j on the others with an
    intercept), one inverse for all columns. The intercept gets NaN."""
    x = np.asarray(exog, dtype="float64")
    sd = x.std(axis=0)
    varying = sd > 0
    out = dict.fromkeys(names, float("nan"))
    if varying.sum() == 0:
        return out
    corr = np.atleast_2d(np.corrcoef(x[:, varying], rowvar=False))
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            diag = np.diag(np.linalg.inv(corr))
        except np.linalg.LinAlgError:
            diag = np.full(int(varying.sum()), np.inf)
    for name, v in zip([n for n, ok in zip(names, varying) if ok], diag):
        out[name] = float(v)
    return out


def collinearity(table: pd.DataFrame, *, consistency: str = "adherence",
                 covariates: Sequence[str] | None = None) -> pd.DataFrame:
    """Variance inflation factors of the ``adjusted+consistency`` design.

    VIF_j = 1 / (1 − R²_j), R²_j from regressing column j on all other columns (with intercept).
    1 = no overlap; above 5 (R² > 0.8) the term is hard to separate from the others.

    Returns
    -------
    DataFrame
        ``term, vif`` for every column but the intercept.
    """
    prepared, extra = _consistency_column(table, consistency)
    design = _design(prepared.dropna(subset=["sessions_per_month", "baseline"]),
                     ["sessions_per_month", consistency, "baseline"],
                     _covariates(table, covariates))
    for name, values in extra.items():
        design[name] = values[design.index]
    design, _ = _independent(design, protect=[])
    vif = _vif(design.to_numpy(), list(design.columns))
    return pd.DataFrame({"term": list(vif), "vif": list(vif.values())}).query(
        "term != 'Intercept'").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Mixed model of every rating over time
# --------------------------------------------------------------------------------------------

def mixed_table(records: Records, measure: str, *, treatments=None, baseline_days: int = 30,
                horizon_days: int | None = 227, region: str = "face",
                rater: str = "clinician") -> pd.DataFrame:
    """Every rating of patients with a session, with the sessions received before it.

    Ratings dated from ``t0 − baseline_days`` to ``t0 + horizon_days`` (``None``: no limit);
    the default horizon is the landmark window's far edge (182 + 45 days).

    Returns
    -------
    DataFrame
        ``patient_id, date, value`` (the rating), ``score`` (the rating oriented so that higher =
        better: ``value`` if higher is better, else ``−value``), ``sessions_before`` (sessions
        strictly before the rating date), ``months`` (days since t0 ÷ 30.4375, negative before
        t0), ``sessions_between`` (the patient's mean of ``sessions_before``),
        ``sessions_within`` (``sessions_before − sessions_between``) and the covariates.
    """
    from ..tables.attendance import exposure_at

    m = check_measure(records, measure)
    ratings = primary_ratings(records, measure, region=region, rater=rater)
    sessions = select_sessions(records, treatments)
    ratings = ratings[ratings["patient_id"].isin(sessions["patient_id"])].reset_index(drop=True)
    exposure = exposure_at(ratings, sessions)
    data = pd.concat([ratings, exposure[["sessions_before", "days_since_t0"]].set_axis(
        ratings.index)], axis=1)
    days = data["days_since_t0"]
    keep = days >= -baseline_days
    if horizon_days is not None:
        keep &= days <= horizon_days
    data = data[keep].copy()
    data["score"] = data["value"] if m.better == "higher" else -data["value"]
    data["months"] = data["days_since_t0"] / DAYS_PER_MONTH
    data["sessions_before"] = data["sessions_before"].astype("float64")
    data["sessions_between"] = data.groupby("patient_id")["sessions_before"].transform("mean")
    data["sessions_within"] = data["sessions_before"] - data["sessions_between"]
    data, used, missing = _prepare_covariates(data.reset_index(drop=True), records.patients)
    data.attrs.update(measure=measure, covariates=used, missing=missing, better=m.better)
    return data


def mixed_effect(records: Records, measure: str, *, treatments=None, covariates=None,
                 horizon_days: int | None = 227, random_slope: bool = True,
                 region: str = "face", rater: str = "clinician",
                 all_terms: bool = False) -> pd.DataFrame:
    """Linear mixed model of every rating on sessions received before it (REML).

    ``score_ij = β0 + βw · within_ij + βb · between_i + βt · months_ij + γ'covariates_i
    + u0_i + u1_i · months_ij + ε_ij`` where ``score`` is the rating oriented so that higher =
    better, ``between_i`` is patient i's mean number of sessions received before a rating and
    ``within_ij`` the deviation from it (Curran & Bauer 2011). ``βw`` ("sessions_within") is
    the better rating per extra session *within the same patient*, at the same time since t0;
    ``βb`` compares patients. Random intercept ``u0`` per patient, random slope ``u1`` on months
    when estimable (some patient rated at two different times; otherwise intercept only, said in
    ``note``). One REML fit by :func:`outcomes.mixed.fit_mixed` (per-patient sums, profiled
    restricted likelihood); Wald 95 % CI. A variance at zero (e.g. patients' time trends do not
    differ) or a fit that did not converge is said in plain words in ``note``.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`, model ``"mixed"``, terms ``sessions_within``,
        ``sessions_between``, ``months`` (``n`` = patients; ratings count in ``note``).
    """
    data = mixed_table(records, measure, treatments=treatments, horizon_days=horizon_days,
                       region=region, rater=rater)
    covs = list(data.attrs["covariates"]) if covariates is None else list(covariates)
    main = ["sessions_within", "sessions_between", "months"]
    n_pat = int(data["patient_id"].nunique())
    if n_pat < 3 or len(data) < 10:
        return _empty_rows(measure, "mixed", main, n_pat, f"too few ratings ({len(data)}) or "
                           f"patients ({n_pat}) for a mixed model")
    design, dropped = _independent(_design(data, main, covs), protect=main)
    lost = [c for c in main if c in dropped]
    if lost:
        return _empty_rows(measure, "mixed", main, n_pat, f"cannot estimate {', '.join(lost)}: "
                           "it does not vary independently of the other terms")
    fit, notes = _fit_mixed(data, design, random_slope)
    notes.insert(0, f"{len(data)} ratings of {n_pat} patients; score oriented higher = better")
    if dropped:
        notes.append("redundant columns dropped: " + ", ".join(dropped))
    if fit is None:
        return _empty_rows(measure, "mixed", main, n_pat, "; ".join(notes))
    terms = [c for c in design.columns if c != "Intercept"] if all_terms else main
    res = fit.table().set_index("term").loc[terms]
    rows = pd.DataFrame({
        "measure": measure, "model": "mixed", "term": terms,
        "estimate": res["estimate"].to_numpy(), "ci_low": res["ci_low"].to_numpy(),
        "ci_high": res["ci_high"].to_numpy(), "std_error": res["std_error"].to_numpy(),
        "p_value": res["p_value"].to_numpy(), "n": n_pat, "note": "; ".join(notes)})
    return rows[RESULT_COLUMNS]


def _fit_mixed(data: pd.DataFrame, design: pd.DataFrame, random_slope: bool):
    """One REML fit (:func:`outcomes.mixed.fit_mixed`): random intercept, and a random slope on
    months when asked for and estimable (some patient has ratings at two different times).
    The fit itself says when a variance is at zero or it did not converge; no refits."""
    from .mixed import fit_mixed

    y = data["score"].to_numpy(dtype="float64")
    groups = data["patient_id"].to_numpy()
    months = data["months"].to_numpy(dtype="float64")
    notes = []
    slope = random_slope
    if slope:
        by = pd.Series(months).groupby(pd.factorize(groups)[0])
        if not ((by.max() - by.min()) > 1e-9).any():
            slope = False
            notes.append("a random slope on time was not estimable (no patient was rated at "
                         "two different times)")
    z = np.column_stack([np.ones(len(y)), months]) if slope else None
    try:
        fit = fit_mixed(y, design, groups, z, re_names=["Intercept", "months"][:2 if slope else 1])
    except (RecordsError, np.linalg.LinAlgError, ValueError) as exc:
        notes.append(f"the mixed model could not be fitted ({exc})")
        return None, notes
    sd = fit.re_sd
    spread = (f"SD between patients {sd[0]:.3g} in level"
              + (f" and {sd[1]:.3g} a month in trend" if slope else "")
              + f", rating noise SD {np.sqrt(fit.scale):.3g}")
    notes.append(("random intercept and slope on time per patient" if slope
                  else "random intercept per patient") + f" ({spread})")
    if fit.note:
        notes.append(fit.note)
    if not np.isfinite(fit.bse_fe).all():
        notes.append("standard errors undefined: treat these estimates with caution")
    return fit, notes


# --------------------------------------------------------------------------------------------
# All models for every measure
# --------------------------------------------------------------------------------------------

def effects(records: Records, *, measures: Sequence[str] | str | None = None,
            landmark_days: int = 182, window_days: int = 45, treatments=None,
            consistency: str = "adherence", mixed: bool = True, extra_rows=None
            ) -> pd.DataFrame:
    """Naive, adjusted, adjusted+consistency and mixed results for every measure.

    Parameters
    ----------
    records : Records
    measures : str or list of str, optional
        Default: every measure with a column in the assessments.
    landmark_days, window_days, treatments
        See :func:`analysis_table`.
    consistency : str, default "adherence"
        Consistency metric of the ``adjusted+consistency`` model (:data:`CONSISTENCY_METRICS`).
    mixed : bool, default True
        Also fit the mixed model (the slowest part).
    extra_rows : callable, optional
        ``extra_rows(table, Measure, sessions=...)`` adding rows per measure — the command line
        and :func:`outcomes.analysis.effects` pass
        :func:`outcomes.robustness.extra_effect_rows` (weighting and ordinal rows); this module
        does not import the robustness analyses, which build on it.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`; ``attrs["tables"]`` holds the analysis table of each measure.
        A model that cannot be estimated on these records (too few patients, no variation in
        frequency, a measure with one value, ...) gives rows with a NaN estimate and the reason
        in ``note``; the other models are still fitted. BLAS runs on one thread meanwhile
        (:func:`outcomes.mixed.one_blas_thread`); a progress bar goes to stderr when it is a
        terminal or ``OUTCOMES_PROGRESS=1``.
    """
    if measures is None:
        measures = [m for m in records.measures if m in records.assessments]
    elif isinstance(measures, str):
        measures = [measures]
    from .mixed import one_blas_thread

    with one_blas_thread():
        out, tables = _effects(records, measures, landmark_days, window_days, treatments,
                               consistency, mixed, extra_rows)
    out.attrs["tables"] = tables
    return out


def _effects(records, measures, landmark_days, window_days, treatments, consistency, mixed,
             extra=None):
    frames, tables = [], {}
    bar = _progress(total=len(measures) * (5 + bool(mixed)), label="outcomes effects")
    for measure in measures:
        bar.set_postfix_str(f"{measure}: analysis table")
        table = analysis_table(records, measure, landmark_days=landmark_days,
                               window_days=window_days, treatments=treatments)
        bar.update()
        tables[measure] = table
        jobs = [("naive", ["sessions_per_month"], partial(naive_effect, table)),
                ("adjusted", ["sessions_per_month", "baseline"],
                 partial(adjusted_effect, table)),
                ("adjusted+consistency", ["sessions_per_month", consistency, "baseline"],
                 partial(consistency_effect, table, consistency=consistency))]
        if mixed:
            jobs.append(("mixed", ["sessions_within", "sessions_between", "months"],
                         partial(mixed_effect, records, measure, treatments=treatments,
                                 horizon_days=landmark_days + window_days)))
        if extra is not None:
            jobs.append(("ipw", ["regular"],
                         partial(extra, table, records.measures[measure],
                                 sessions=select_sessions(records, treatments))))
        for model, terms, job in jobs:
            bar.set_postfix_str(f"{measure}: {_STEP_WORDS.get(model, model)}")
            frames.append(_guarded(job, measure, model, terms, len(table)))
            bar.update()
    bar.close()
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    return out, tables


#: what can go wrong inside a model on odd data; turned into a row with the reason
_MODEL_ERRORS = (RecordsError, ValueError, ArithmeticError, np.linalg.LinAlgError, KeyError,
                 IndexError)


def _guarded(job, measure: str, model: str, terms: Sequence[str], n: int) -> pd.DataFrame:
    """Run one model; a failure on these records becomes rows with a NaN estimate and the reason
    in ``note`` (the other models are still shown)."""
    try:
        return job()
    except _MODEL_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        return _empty_rows(measure, model, terms, n, f"could not be estimated: {reason}")


_STEP_WORDS = {"naive": "raw comparison", "adjusted": "adjusted model",
               "adjusted+consistency": "frequency and regularity", "mixed": "every rating",
               "ipw": "weighting and grade models"}


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass


def _progress(*, total: int, label: str):
    """A tqdm progress bar on stderr when stderr is a terminal or ``OUTCOMES_PROGRESS=1``
    (``OUTCOMES_PROGRESS=0`` switches it off); otherwise an object that does nothing."""
    import os
    import sys

    flag = os.environ.get("OUTCOMES_PROGRESS", "")
    if not (flag == "1" or (flag != "0" and sys.stderr.isatty())):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, file=sys.stderr, leave=False)


# --------------------------------------------------------------------------------------------
# Plain words
# --------------------------------------------------------------------------------------------

def _fmt(x: float) -> str:
    text = f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"
    if float(text) == 0:
        text = text.lstrip("-")          # never "−0.00"
    return text.replace("-", "−")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _unit(measure: Measure) -> str:
    return "grades" if measure.is_grade or measure.step is not None else "points"


def describe_effect(row: pd.Series | dict, measure: Measure, covariates: Sequence[str] = (),
                    *, landmark_days: int = 182) -> str:
    """One plain-language sentence for one result row.

    Parameters
    ----------
    row : Series or dict
        A row of a result table (``model``, ``term``, ``estimate``, ``ci_low``, ``ci_high``).
    measure : Measure
        The measure's scale (label, unit, direction).
    covariates : list of str
        The covariates the model adjusted for (``table.attrs["covariates"]``).
    landmark_days : int
        For "at 6 months".

    Examples
    --------
    "Each additional session a month went with 0.60 (95% CI 0.40 to 0.80) grades more pore
    improvement at 6 months, after adjusting for baseline rating, age, smoking, sun exposure
    and skin type."
    """
    row = dict(row)
    est, lo, hi = row["estimate"], row["ci_low"], row["ci_high"]
    name = measure.label.split("(")[0].strip().lower() or measure.name
    if not np.isfinite(est):
        return (f"The {row['model']} estimate for {row['term']} could not be computed"
                + (f": {row['note']}." if row.get("note") else "."))
    months = landmark_days / DAYS_PER_MONTH
    when = f"at {months:.0f} months" if abs(months - round(months)) < 0.1 else \
        f"{landmark_days} days after the first session"
    size = (f"{_fmt(abs(est))} (95% CI {_fmt(lo if est >= 0 else -hi)} to "
            f"{_fmt(hi if est >= 0 else -lo)}) {_unit(measure)} {'more' if est >= 0 else 'less'}")
    model, term = row["model"], row["term"]
    unsure = " The interval includes zero, so the data are also compatible with no effect." \
        if lo <= 0 <= hi else ""
    adjusted = ", after adjusting for " + _join(
        [_WORDS["baseline"]] + [_WORDS.get(c, c) for c in covariates])
    if model == "naive":
        return (f"Comparing patients as they are, each additional session a month went with "
                f"{size} {name} improvement {when}. This raw comparison does not account for "
                "where patients started (worse starting ratings improve more by chance — "
                "regression to the mean) or for who chooses to come more often, which is why "
                f"it can differ from the adjusted answer.{unsure}")
    if term == "sessions_per_month":
        return (f"Each additional session a month went with {size} {name} improvement {when}"
                f"{adjusted if model.startswith('adjusted') else ''}"
                f"{' and for how regular the visits were' if 'consistency' in model else ''}."
                f"{unsure}")
    if term in CONSISTENCY_METRICS:
        return (f"At the same number of sessions a month, {CONSISTENCY_METRICS[term]} went with "
                f"{size} {name} improvement {when}{adjusted}.{unsure}")
    better = size.replace(" more", " better").replace(" less", " worse")
    if model == "mixed" and term == "sessions_within":
        return (f"Within the same patient and at the same time since the first session, each "
                f"additional session received went with a {name} rating {better}.{unsure}")
    if model == "mixed" and term == "sessions_between":
        return (f"Between patients, one more session received on average went with a {name} "
                f"rating {better}.{unsure}")
    return (f"{term} ({model}): {_fmt(est)} (95% CI {_fmt(lo)} to {_fmt(hi)}) {_unit(measure)}."
            f"{unsure}")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

_MAIN_TERMS = {"naive": ["sessions_per_month"], "adjusted": ["sessions_per_month"],
               "adjusted+consistency": ["sessions_per_month", *CONSISTENCY_METRICS],
               "mixed": ["sessions_within", "sessions_between"]}


def json_value(x):
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(x) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if x is pd.NA or x is None:
        return None
    return x


def _num(v: float, digits: int = 3) -> str:
    """A number for a table: no "-0.000"."""
    if not np.isfinite(v):
        return "—"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _pct(p: float) -> str:
    return ">99%" if p > 0.995 else "<1%" if p < 0.005 else f"{100 * p:.0f}%"


#: the label in words of each result shown to the clinic lead
_LABELS = {("naive", "sessions_per_month"): "Raw comparison",
           ("adjusted", "sessions_per_month"): "Main answer",
           ("adjusted+consistency", "sessions_per_month"): "Frequency, with regularity held equal",
           ("mixed", "sessions_within"): "Every rating over time, within patients",
           ("mixed", "sessions_between"): "Every rating over time, between patients",
           ("ipw", "regular"): "Regular attenders",
           ("ipw", "monthly_start"): "A monthly start",
           ("ordinal", "sessions_per_month"): "Chance of a better grade"}


def _label(model: str, term: str) -> str:
    if (model, term) in _LABELS:
        return _LABELS[(model, term)]
    if model == "adjusted+consistency":
        return "Regularity, at the same frequency"
    return f"{model} {term}"


def _one_sentence(text: str) -> str:
    return text.replace(". The interval includes zero, so the data are also compatible with no "
                        "effect.", "; the interval includes zero, so the data are also "
                        "compatible with no effect.")


def _plain(r: dict, m: Measure, covs: Sequence[str], landmark_days: int) -> str:
    """One plain-language sentence for one result row of ``outcomes effects``."""
    model, term, est, lo, hi = r["model"], r["term"], r["estimate"], r["ci_low"], r["ci_high"]
    name = m.label.split("(")[0].strip().lower() or m.name
    if not np.isfinite(est):
        why = str(r.get("note") or "").split("could not be estimated: ")[-1]
        why = _people(why.split("not estimable: ")[-1].split("; ")[-1])
        why = why.replace("`regular`", "regular attendance").replace(
            "`monthly_start`", "a monthly start").replace("Propensity weighting", "Weighting")
        return f"could not be estimated on these records: {why.rstrip('.')}."
    unsure = ("; the interval includes zero, so the data are also compatible with no effect"
              if lo <= 0 <= hi else "")
    months = landmark_days / DAYS_PER_MONTH
    when = f"at {months:.0f} months" if abs(months - round(months)) < 0.1 else \
        f"{landmark_days} days after the first session"
    size = (f"{_fmt(abs(est))} (95% CI {_fmt(lo if est >= 0 else -hi)} to "
            f"{_fmt(hi if est >= 0 else -lo)}) {_unit(m)} {'more' if est >= 0 else 'less'}")
    caution = (" — treat this with caution: the two groups could not be made comparable"
               if "CAUTION" in str(r.get("note") or "") else "")
    if model == "naive":
        return (f"Comparing patients as they are, each additional session a month went with "
                f"{size} {name} improvement {when}, without taking into account where patients "
                "started (worse starting ratings improve more by chance — regression to the "
                f"mean) or who chooses to come more often{unsure}.")
    if model == "ipw":
        who = ("came regularly (a session at least about once a month for 80% or more of their "
               "time up to the landmark)" if term == "regular" else
               "came back for a second session within 45 days of their first")
        return (f"Patients who {who} improved {size} {when} than comparable patients who did "
                f"not, comparable in baseline rating and the other recorded characteristics"
                f"{unsure}{caution}.")
    if model == "ordinal":
        odds = [est, lo, hi]
        p, plo, phi = (o / (1 + o) for o in odds)
        return (f"Where a patient had an even (50%) chance of a given {name} grade or better "
                f"{when}, a similar patient coming one more session a month had about a "
                f"{_pct(p)} chance (95% CI {_pct(plo)} to {_pct(phi)}), at the same baseline "
                "grade" + (" — the data are also compatible with no difference"
                           if lo <= 1 <= hi else "") + ".")
    return _one_sentence(describe_effect(r, m, covs, landmark_days=landmark_days))


def _exclusion_lines(table: pd.DataFrame) -> list[str]:
    """``excluded, <reason>: <n>`` with counts of 1–4 shown as ``<5`` and, so that a hidden
    count cannot be worked out from the total, :func:`outcomes.privacy.suppress_small_counts`'
    secondary suppression over the analysed and excluded counts."""
    from ..privacy import suppress_small_counts

    reasons = dict(table.attrs.get("exclusions", {}))
    if not reasons:
        return [], str(len(table))
    counts = pd.DataFrame({"n": [len(table), *reasons.values()]},
                          index=["analysed", *reasons])
    shown = suppress_small_counts(counts)["n"]
    return [f"  excluded, {reason}: {shown[reason]}" for reason in reasons], shown["analysed"]


def effects_text(records: Records, result: pd.DataFrame, landmark_days: int, *,
                 details: bool = False) -> str:
    """The human output of ``outcomes effects``: one plain sentence per result, per measure."""
    lines = [("These are associations between how often patients came and how much they improved. "
             "With benefits that level off and fade, and patients who stop when they see no "
             "change, they can mislead about what a schedule would do: for that, run "
             "`outcomes strategies` (the schedules compared)."), ""]
    for measure, table in result.attrs["tables"].items():
        m = records.measures[measure]
        res = result[result["measure"] == measure]
        change = "fall" if m.better == "lower" else "rise"
        excluded, analysed = _exclusion_lines(table)
        lines += [(f"== {m.label}: improvement = {change} in the rating ({_unit(m)}), "
                   "positive = better"),
                  f"patients analysed: {analysed} of {_count(table.attrs['n_patients'])}"]
        lines += excluded
        is_main = np.array([t in _MAIN_TERMS.get(mod, [t]) for mod, t in
                            zip(res["model"], res["term"])], dtype=bool)
        main = res[is_main]
        covs = table.attrs["covariates"]
        lines.append("")
        for r in main.to_dict(orient="records"):
            lines.append(f"- {_label(r['model'], r['term'])}: "
                         + _plain(r, m, covs, landmark_days))
        if not m.is_grade:
            lines.append(f"- Chance of a better grade: not run, because {m.label} is not a grade "
                         "scale (no `step` for it in dataset.toml).")
        if details:
            show = main[["model", "term", "estimate", "ci_low", "ci_high", "p_value", "n"]].copy()
            for col in ("estimate", "ci_low", "ci_high"):
                show[col] = show[col].map(_num)
            show["p_value"] = show["p_value"].map(
                lambda v: "—" if not np.isfinite(v) else "<0.001" if v < 0.001 else f"{v:.3f}")
            lines += ["", "details (model and term names as in --json):",
                      show.to_string(index=False), ""]
            notes = sorted({n for n in res["note"].dropna() if n})
            lines += [f"  note: {_people(n)}" for n in notes]
        lines.append("")
    lines.append(f"quarantined input rows (set aside, see `outcomes check`): "
                 f"{records.n_quarantined}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------

def plot_effects(results: pd.DataFrame, *, term: str = "sessions_per_month", ax=None):
    """Coefficient plot: the estimate and 95 % CI of ``term`` per model (rows) and measure (colour).

    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = results[results["term"] == term].dropna(subset=["estimate"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 + 0.45 * max(len(data), 1)))
    if data.empty:
        ax.set_title(f"no estimate of {term}")
        return ax
    data["label"] = data["measure"] + " · " + data["model"]
    ax.axvline(0, color="0.6", lw=1, ls="--")
    ax.errorbar(data["estimate"], data.index, xerr=[data["estimate"] - data["ci_low"],
                data["ci_high"] - data["estimate"]], fmt="none", ecolor="0.3", capsize=3)
    sns.scatterplot(data=data, x="estimate", y=data.index, hue="model", style="measure",
                    s=60, ax=ax, zorder=3)
    ax.set_yticks(data.index, data["label"])
    ax.invert_yaxis()
    ax.set_xlabel(f"{term}: extra improvement (95% CI)")
    ax.set_ylabel("")
    return ax


def plot_trajectories(records: Records, measure: str, *, groups: int = 3, treatments=None,
                      horizon_days: int = 365, ax=None):
    """Mean rating over months since t0, by frequency group (tertiles of sessions per month in
    the first ``horizon_days``). Returns the Axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = mixed_table(records, measure, treatments=treatments, horizon_days=horizon_days)
    sessions = select_sessions(records, treatments)
    t0 = sessions.groupby("patient_id")["date"].min()
    s = sessions.join(t0.rename("t0"), on="patient_id")
    within = s[(s["date"] - s["t0"]).dt.days < horizon_days]
    rate = within.groupby("patient_id").size() * DAYS_PER_MONTH / horizon_days
    labels = [f"{['low', 'middle', 'high'][i] if groups == 3 else f'group {i + 1}'}" for i in
              range(groups)]
    band = pd.qcut(rate.rank(method="first"), groups, labels=labels)
    data = data.join(band.rename("frequency"), on="patient_id")
    data["month"] = data["months"].round()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=data, x="month", y="value", hue="frequency", errorbar=("ci", 95),
                 seed=0, marker="o", ax=ax)
    m = records.measures[measure]
    ax.set_xlabel("months since first session")
    ax.set_ylabel(f"{m.label} ({m.better} is better)")
    ax.legend(title="sessions a month")
    return ax


def plot_improvement_by_frequency(table: pd.DataFrame, *, ax=None):
    """Improvement against sessions per month (one dot per patient) with the naive OLS line —
    the raw view. For the adjusted dose-response curve see
    :func:`outcomes.robustness.dose_response_plot`. Returns the Axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.regplot(data=table, x="sessions_per_month", y="improvement", ax=ax,
                scatter_kws={"s": 12, "alpha": 0.5}, x_jitter=0.02, y_jitter=0.05)
    ax.axhline(0, color="0.6", lw=1, ls="--")
    ax.set_xlabel("sessions per month (t0 to landmark)")
    ax.set_ylabel("improvement (positive = better)")
    return ax
