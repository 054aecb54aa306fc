"""The effect of session frequency and consistency on improvement (docs/methods.md §3).

The analysis table has one row per *included* patient (see :mod:`outcomes.tables.ratings`): baseline,
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
    :func:`outcomes.estimate.mixed.fit_mixed` (per-patient sums, profiled restricted likelihood).

Standard errors of the landmark models are heteroskedasticity-robust (HC3, MacKinnon & White 1985)
with t-based 95 % confidence intervals (residual degrees of freedom).

Missing covariates are never a reason to drop a patient: the rule (a ``missing`` level, mean
plus indicator) is applied where the table is built, :mod:`outcomes.tables.analysis_table`.
Design columns that are exact linear combinations of earlier ones (e.g. two missing-indicators for
the same patients) are dropped and named in ``note``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import RecordsError, SettingError, did_you_mean
from ..records.scales import Measure
from ..tables.analysis_table import COVARIATES, NUMERIC_COVARIATES

__all__ = [
    "CONSISTENCY_METRICS",
    "RESULT_COLUMNS",
    "adjusted_effect",
    "collinearity",
    "consistency_effect",
    "effects",
    "mixed_effect",
    "naive_effect",
]

RESULT_COLUMNS = ["measure", "model", "term", "estimate", "ci_low", "ci_high", "std_error",
                  "p_value", "n", "note"]

#: Consistency metrics allowed beside frequency, with the unit their coefficient is reported in.
#: The default is ``adherence`` — the share of protocol-due sessions that came on schedule
#: (:class:`outcomes.protocols.Protocol`: loading every 28 ± 7 days, then every 91 ± 21 days):
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
        if name in NUMERIC_COVARIATES:
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

def mixed_effect(data: pd.DataFrame, *, covariates=None, random_slope: bool = True,
                 all_terms: bool = False) -> pd.DataFrame:
    """Linear mixed model of every rating on sessions received before it (REML).

    ``score_ij = β0 + βw · within_ij + βb · between_i + βt · months_ij + γ'covariates_i
    + u0_i + u1_i · months_ij + ε_ij`` where ``score`` is the rating oriented so that higher =
    better, ``between_i`` is patient i's mean number of sessions received before a rating and
    ``within_ij`` the deviation from it (Curran & Bauer 2011). ``βw`` ("sessions_within") is
    the better rating per extra session *within the same patient*, at the same time since t0;
    ``βb`` compares patients. Random intercept ``u0`` per patient, random slope ``u1`` on months
    when estimable (some patient rated at two different times; otherwise intercept only, said in
    ``note``). One REML fit by :func:`outcomes.estimate.mixed.fit_mixed` (per-patient sums, profiled
    restricted likelihood); Wald 95 % CI. A variance at zero (e.g. patients' time trends do not
    differ) or a fit that did not converge is said in plain words in ``note``.

    Parameters
    ----------
    data : DataFrame
        :func:`outcomes.tables.analysis_table.mixed_table` (every rating with the sessions
        before it).

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`, model ``"mixed"``, terms ``sessions_within``,
        ``sessions_between``, ``months`` (``n`` = patients; ratings count in ``note``).
    """
    measure = data.attrs["measure"]
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
    """One REML fit (:func:`outcomes.estimate.mixed.fit_mixed`): random intercept, and a random slope on
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

def effects(table: pd.DataFrame, data: pd.DataFrame | None, measure: Measure, *,
            consistency: str = "adherence", extra_rows=None) -> pd.DataFrame:
    """Naive, adjusted, adjusted+consistency and mixed results of one measure.

    Parameters
    ----------
    table : DataFrame
        The analysis table (:func:`outcomes.tables.analysis_table.analysis_table`).
    data : DataFrame or None
        Every rating with the sessions before it
        (:func:`outcomes.tables.analysis_table.mixed_table`) for the mixed model; ``None``
        leaves the mixed model out (the slowest part).
    measure : Measure
    consistency : str, default "adherence"
        Consistency metric of the ``adjusted+consistency`` model (:data:`CONSISTENCY_METRICS`).
    extra_rows : callable, optional
        ``extra_rows(table, measure)`` adding the weighting and ordinal rows
        (:func:`outcomes.estimate.robustness.extra_effect_rows`, which builds on this module).

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`. A model that cannot be estimated on these records (too few
        patients, no variation in frequency, a measure with one value, ...) gives rows with a
        NaN estimate and the reason in ``note``; the other models are still fitted. BLAS runs on
        one thread meanwhile (:func:`outcomes.estimate.mixed.one_blas_thread`); a progress bar
        goes to stderr when it is a terminal or ``OUTCOMES_PROGRESS=1``.
    """
    from .mixed import one_blas_thread

    if consistency not in CONSISTENCY_METRICS:
        raise SettingError(f"The value for `consistency` must be one of "
                           f"{list(CONSISTENCY_METRICS)}, but {consistency!r} was passed."
                           f"{did_you_mean(consistency, CONSISTENCY_METRICS)}")
    name = measure.name
    jobs = [("naive", ["sessions_per_month"], partial(naive_effect, table)),
            ("adjusted", ["sessions_per_month", "baseline"], partial(adjusted_effect, table)),
            ("adjusted+consistency", ["sessions_per_month", consistency, "baseline"],
             partial(consistency_effect, table, consistency=consistency))]
    if data is not None:
        jobs.append(("mixed", ["sessions_within", "sessions_between", "months"],
                     partial(mixed_effect, data)))
    if extra_rows is not None:
        jobs.append(("ipw", ["regular"], partial(extra_rows, table, measure)))
    frames = []
    bar = _progress(total=len(jobs), label=f"outcomes effects ({name})")
    with one_blas_thread():
        for model, terms, job in jobs:
            bar.set_postfix_str(f"{name}: {_STEP_WORDS.get(model, model)}")
            frames.append(_guarded(job, name, model, terms, len(table)))
            bar.update()
    bar.close()
    return pd.concat(frames, ignore_index=True)


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
