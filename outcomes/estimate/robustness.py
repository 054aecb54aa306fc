"""Robustness: the analyses that keep the answer honest (docs/methods.md §3.7, notebook 05).

A clinic lead will ask *"is this real, or just who comes more often?"*. Each function here answers one
form of that question on the clinic's own records and returns a tidy DataFrame (plots at the end of the
module take those DataFrames and return matplotlib Axes).

Effects of attendance, beside the primary adjusted OLS of ``models``:

- :func:`ipw_effect` — regular vs irregular attenders (or monthly start vs not) with stabilised,
  truncated inverse-probability weights; :func:`balance_table` and :func:`love_plot` show whether the
  weights balanced baseline grade and covariates.
- :func:`ordinal_effect` — proportional-odds model of the landmark *grade* (odds ratio per +1
  session a month of being in a better grade).
- :func:`dose_response` / :func:`dose_response_slopes` — adjusted spline of improvement on sessions a
  month, and whether the benefit flattens after monthly.
- :func:`cluster_bootstrap` — patient-level bootstrap as a check on the model-based CIs.
- :func:`sensitivity_grid` and :func:`e_value` — how much the answer moves with the analysis choices,
  and how strong an unmeasured confounder would have to be to explain it away.

The traps, demonstrated on the user's data:

- :func:`followup_bias` — follow-up / immortal-time bias (all sessions over all follow-up vs landmark).
- :func:`regression_to_mean` — change vs baseline, and change-score vs ANCOVA estimates.
- :func:`confounding_by_indication` — baseline grade by frequency group.
- :func:`dropout_comparison` — who stops before the landmark and how their last ratings looked.

Input tables are *analysis tables* as built by ``outcomes.models.analysis_table`` (one row per
included patient with ``improvement`` oriented positive = better, ``baseline``, ``landmark``,
``sessions_per_month``, ``n_sessions``, ``coverage``, ``regular`` and the covariates listed in
``table.attrs["covariates"]``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from ..errors import RecordsError
from ..records.scales import Measure

__all__ = [
    "EXPOSURES",
    "TIDY_COLUMNS",
    "add_monthly_start",
    "adjusted_e_value",
    "balance_table",
    "cluster_bootstrap",
    "confounding_by_indication",
    "dose_response",
    "dose_response_plot",
    "dose_response_slopes",
    "dropout_comparison",
    "dropout_plot",
    "e_value",
    "e_value_rr",
    "extra_effect_rows",
    "followup_bias",
    "followup_bias_plot",
    "indication_plot",
    "ipw_effect",
    "love_plot",
    "ordinal_effect",
    "propensity_weights",
    "regression_to_mean",
    "regression_to_mean_plot",
    "sensitivity_grid",
    "sensitivity_plot",
]

TIDY_COLUMNS = ["measure", "model", "term", "estimate", "ci_low", "ci_high", "std_error", "p_value",
                "n", "note"]
EXPOSURES = ("regular", "monthly_start")
KNOWN_COVARIATES = ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "skincare",
                    "concern", "clinic_id")
_Z = stats.norm.ppf(0.975)


# --------------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------------

def _check_choice(param: str, value, options) -> None:
    if value not in options:
        raise ValueError(f"The value for `{param}` must be one of {list(options)}, "
                         f"but {value!r} was passed.")


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RecordsError(f"{what} needs the column(s) {missing} in the analysis table; build it "
                           "with outcomes.models.analysis_table(records, measure).")


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _covariates(table: pd.DataFrame, covariates: Sequence[str] | None) -> list[str]:
    """Covariates to adjust for: given, else ``table.attrs["covariates"]``, else the known ones
    present; constant columns are left out (they carry no information in this table)."""
    if covariates is None:
        covariates = table.attrs.get("covariates")
    if covariates is None:
        covariates = [c for c in KNOWN_COVARIATES if c in table.columns]
    missing = [c for c in covariates if c not in table.columns]
    if missing:
        raise RecordsError(f"Covariate(s) {missing} are not columns of the analysis table; "
                           f"available columns: {list(table.columns)}.")
    used = [c for c in covariates if table[c].nunique(dropna=True) > 1]
    # numeric covariates imputed by models.analysis_table come with a `<name>_missing` indicator
    extra = [f"{c}_missing" for c in used if f"{c}_missing" in table.columns
             and f"{c}_missing" not in used and table[f"{c}_missing"].nunique() > 1]
    return used + extra


def _model_frame(table: pd.DataFrame, numeric: Sequence[str], covariates: Sequence[str]
                 ) -> tuple[pd.DataFrame, int]:
    """Copy of the model columns: numerics as float, categoricals as str (missing → "missing").

    Rows with a missing numeric value are dropped and counted (never silently).
    """
    cols = list(dict.fromkeys(["patient_id", *numeric, *covariates]))
    cols = [c for c in cols if c in table.columns]
    df = table[cols].copy()
    for c in cols:
        if c == "patient_id":
            df[c] = df[c].astype("str")
        elif c in covariates and _is_categorical(df[c]):
            df[c] = df[c].astype("object").where(df[c].notna(), "missing").astype("str")
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    num = [c for c in cols if c != "patient_id" and pd.api.types.is_float_dtype(df[c])]
    keep = df[num].notna().all(axis=1)
    return df.loc[keep].reset_index(drop=True), int((~keep).sum())


def _q(name: str) -> str:
    return f'Q("{name}")'


def _rhs(df: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    return [f"C({_q(c)})" if not pd.api.types.is_float_dtype(df[c]) else _q(c) for c in covariates]


def _tidy(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for c in TIDY_COLUMNS:
        if c not in out:
            out[c] = np.nan
    out = out[TIDY_COLUMNS + [c for c in out.columns if c not in TIDY_COLUMNS]]
    out["n"] = out["n"].astype("Int64")
    return out


def _measure_name(table: pd.DataFrame, measure=None) -> str:
    if isinstance(measure, Measure):
        return measure.name
    if measure is not None:
        return str(measure)
    return str(table.attrs.get("measure", ""))


def _dropped_note(n_dropped: int) -> str:
    return f"; {n_dropped} patient(s) left out for a missing value" if n_dropped else ""


def _reference_row(df: pd.DataFrame, covariates: Sequence[str]) -> dict:
    """Reference covariate values: mean of numerics, most frequent level of categoricals."""
    ref = {}
    for c in covariates:
        s = df[c]
        ref[c] = float(s.mean()) if pd.api.types.is_float_dtype(s) else s.mode().iloc[0]
    return ref


# --------------------------------------------------------------------------------------------------
# 1. propensity weighting
# --------------------------------------------------------------------------------------------------

def add_monthly_start(table: pd.DataFrame, sessions: pd.DataFrame, *, days: int = 45,
                      min_sessions: int = 2, treatments: Sequence[str] | None = None
                      ) -> pd.DataFrame:
    """Add the binary exposure ``monthly_start`` to an analysis table.

    A patient had a **monthly start** when they came back for a second session soon after the first:

    ``monthly_start = #{sessions with t0 <= date < t0 + days} >= min_sessions``

    with the defaults ``days = 45`` (the permissible gap) and ``min_sessions = 2``, i.e. the first
    gap between sessions was at most 44 days — the protocol's monthly loading interval (28 ± 7 days)
    with some slack. The exposure is fixed within the first 45 days, long before the 6-month
    landmark, so it is not affected by how long a patient stayed afterwards.

    Parameters
    ----------
    table : DataFrame
        Analysis table with ``patient_id`` and ``t0``.
    sessions : DataFrame
        The sessions table of the records (``patient_id``, ``date``, ``treatment``).
    days, min_sessions : int
        Window after t0 and number of sessions needed in it.
    treatments : list of str, optional
        Count only these treatments (as the analysis table did).

    Returns
    -------
    DataFrame
        ``table`` with a boolean ``monthly_start`` column (attrs kept).
    """
    _require(table, ["patient_id", "t0"], "add_monthly_start")
    s = sessions[["patient_id", "date", "treatment"]].copy()
    if treatments is not None:
        s = s[s["treatment"].astype("str").isin([t.lower() for t in treatments])]
    s["patient_id"] = s["patient_id"].astype("str")
    t0 = table[["patient_id", "t0"]].astype({"patient_id": "str"})
    s = s.merge(t0, on="patient_id")
    elapsed = (s["date"] - s["t0"]).dt.days
    early = s[(elapsed >= 0) & (elapsed < days)].groupby("patient_id").size()
    out = table.copy()
    out["monthly_start"] = (out["patient_id"].astype("str").map(early).fillna(0)
                            >= min_sessions).to_numpy()
    out.attrs = dict(table.attrs)
    return out


def _exposure(table: pd.DataFrame, exposure: str) -> pd.Series:
    _check_choice("exposure", exposure, EXPOSURES)
    if exposure not in table.columns:
        hint = ("call outcomes.robustness.add_monthly_start(table, records.sessions) first"
                if exposure == "monthly_start" else "build it with models.analysis_table")
        raise RecordsError(f"The analysis table has no `{exposure}` column; {hint}.")
    return table[exposure].astype("float64")


def propensity_weights(table: pd.DataFrame, *, exposure: str = "regular",
                       covariates: Sequence[str] | None = None,
                       trim: tuple[float, float] | None = (0.01, 0.99)) -> pd.DataFrame:
    """Propensity scores and stabilised, truncated inverse-probability weights.

    The propensity ``e(x) = P(exposed | baseline, covariates)`` is a logistic regression (binomial
    GLM) on the baseline rating and the covariates (categoricals as indicator levels). Stabilised
    weights are

    ``sw = P(A=1) / e(x)`` for exposed and ``sw = (1 - P(A=1)) / (1 - e(x))`` for unexposed patients,

    so the weighted sample keeps its size and the mean weight is close to 1. **Truncation**
    (Cole & Hernán 2008): weights below the ``trim[0]`` quantile or above the ``trim[1]`` quantile of
    all stabilised weights are set to those quantiles (no patient is dropped); ``trim=None`` keeps
    the raw stabilised weights.

    Parameters
    ----------
    table : DataFrame
        Analysis table (``baseline``, the exposure column and covariates).
    exposure : {"regular", "monthly_start"}
        ``regular``: coverage >= 0.8 over [t0, landmark) (column of the analysis table);
        ``monthly_start``: see :func:`add_monthly_start`.
    covariates : list of str, optional
        Default ``table.attrs["covariates"]``.
    trim : (float, float) or None
        Quantiles at which the weights are truncated.

    Returns
    -------
    DataFrame
        ``patient_id``, ``exposed`` (bool), ``propensity``, ``weight_raw`` (stabilised),
        ``weight`` (stabilised and truncated), ``truncated`` (bool). ``attrs``: ``n_dropped``,
        ``ess`` (Kish effective sample size ``(sum w)^2 / sum w^2``), ``covariates``,
        ``n_extreme`` (patients with a propensity below 0.025 or above 0.975: practically certain to
        be, or not to be, exposed — a positivity problem when they are many).
    """
    _require(table, ["patient_id", "baseline"], "propensity_weights")
    a = _exposure(table, exposure)
    if trim is not None and not (0 <= trim[0] < trim[1] <= 1):
        raise ValueError(f"The value for `trim` must be two quantiles 0 <= low < high <= 1, "
                         f"but {trim!r} was passed.")
    covs = _covariates(table, covariates)
    df, dropped = _model_frame(table.assign(_a=a), ["_a", "baseline"], covs)
    return _weights_from_frame(df, dropped, covs, exposure, trim)


def _weights_from_frame(df: pd.DataFrame, dropped: int, covs: Sequence[str], exposure: str,
                        trim, cov_block: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`propensity_weights` on a model frame already built (``_a`` = exposure, 0/1);
    ``cov_block`` = the covariates' design columns of that frame when already built."""
    n1 = int(df["_a"].sum())
    if n1 < 5 or len(df) - n1 < 5:
        raise RecordsError(f"Propensity weighting of `{exposure}` needs at least 5 exposed and 5 "
                           f"unexposed patients, but there are {n1} and {len(df) - n1}.")
    if cov_block is None:
        cov_block = _dummies(df, [], covs)
    x = np.column_stack([np.ones(len(df)), df["baseline"].to_numpy(dtype="float64"),
                         cov_block.to_numpy(dtype="float64")])
    # separation is reported below as a positivity problem
    e = np.clip(_logistic_fit(x, df["_a"].to_numpy()), 1e-6, 1 - 1e-6)
    p1 = df["_a"].mean()
    exposed = df["_a"].to_numpy() == 1
    sw = np.where(exposed, p1 / e, (1 - p1) / (1 - e))
    w = sw.copy()
    if trim is not None:
        lo, hi = np.quantile(sw, trim)
        w = np.clip(sw, lo, hi)
    out = pd.DataFrame({"patient_id": df["patient_id"], "exposed": exposed, "propensity": e,
                        "weight_raw": sw, "weight": w, "truncated": w != sw})
    out.attrs = {"n_dropped": dropped, "ess": float(w.sum() ** 2 / (w ** 2).sum()),
                 "covariates": list(covs), "exposure": exposure,
                 "n_extreme": int(((e < 0.025) | (e > 0.975)).sum())}
    return out


def _logistic_fit(x: np.ndarray, a: np.ndarray, *, maxiter: int = 50) -> np.ndarray:
    """Fitted probabilities of the logistic regression of ``a`` (0/1) on ``x`` by Newton–Raphson
    (= IRLS): ``β ← β + (X'WX)⁻¹ X'(a − μ)``, ``W = diag(μ(1 − μ))``, ``μ = expit(Xβ)``, from
    ``β = 0`` until the largest step is below 1e-10 (the binomial GLM of statsmodels, without
    its formula machinery). Under separation the linear predictor grows without bound; it is
    capped at ±30 and the loop stops after ``maxiter`` steps."""
    from scipy import special

    beta = np.zeros(x.shape[1])
    mu = np.full(len(a), 0.5)
    for _ in range(maxiter):
        w = mu * (1 - mu)
        step = np.linalg.lstsq((x * w[:, None]).T @ x, x.T @ (a - mu), rcond=None)[0]
        beta = beta + step
        mu = special.expit(np.clip(x @ beta, -30, 30))
        if np.abs(step).max() < 1e-10:
            break
    return mu


def _wls_hc3(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares and its HC3 covariance, as statsmodels ``WLS(...).fit(cov_type=
    "HC3")``: with ``X* = √w X``, ``y* = √w y``, ``e* = y* − X*β``, ``h = diag(X*(X*'X*)⁻¹X*')``,
    ``cov = (X*'X*)⁻¹ X*' diag(e*² / (1 − h)²) X* (X*'X*)⁻¹``."""
    sw = np.sqrt(w)
    xs, ys = x * sw[:, None], y * sw
    bread = np.linalg.pinv(xs.T @ xs)
    beta = bread @ (xs.T @ ys)
    e = ys - xs @ beta
    h = np.einsum("ij,jk,ik->i", xs, bread, xs)
    scaled = xs * (e / (1 - h))[:, None]
    meat = scaled.T @ scaled
    return beta, bread @ meat @ bread


def _wald_p(est: float, se: float) -> float:
    """Two-sided normal p-value; NaN when the standard error is zero or undefined."""
    return float(2 * stats.norm.sf(abs(est / se))) if se > 0 and np.isfinite(se) else np.nan


def _smd(x: np.ndarray, a: np.ndarray, w: np.ndarray, binary: bool) -> tuple[float, float, float]:
    """Weighted means of the two groups and the SMD with the *unweighted* pooled SD."""
    m1 = np.average(x[a], weights=w[a])
    m0 = np.average(x[~a], weights=w[~a])
    if binary:
        p1, p0 = x[a].mean(), x[~a].mean()
        sd = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    else:
        sd = math.sqrt((x[a].var(ddof=1) + x[~a].var(ddof=1)) / 2)
    return m1, m0, (m1 - m0) / sd if sd > 0 else 0.0


def balance_table(table: pd.DataFrame, weights: pd.DataFrame | None = None, *,
                  exposure: str = "regular", covariates: Sequence[str] | None = None,
                  trim: tuple[float, float] | None = (0.01, 0.99)) -> pd.DataFrame:
    """Standardised mean differences of baseline and covariates, before and after weighting.

    ``SMD = (mean_exposed - mean_unexposed) / sqrt((s1^2 + s0^2) / 2)`` for continuous variables and
    ``(p1 - p0) / sqrt((p1(1-p1) + p0(1-p0)) / 2)`` for each level of a categorical variable. After
    weighting the means are weighted; the denominator stays the unweighted pooled SD, so before and
    after are on the same scale (the convention of Austin & Stuart 2015 and R's cobalt).
    ``|SMD| < 0.1`` is the usual threshold for adequate balance.

    Parameters
    ----------
    table : DataFrame
        Analysis table.
    weights : DataFrame, optional
        Output of :func:`propensity_weights`; computed with ``exposure``, ``covariates``, ``trim``
        when not given.

    Returns
    -------
    DataFrame
        ``variable``, ``level`` (empty for continuous), ``mean_exposed``, ``mean_unexposed``
        (unweighted), ``smd_before``, ``smd_after``.
    """
    if weights is None:
        weights = propensity_weights(table, exposure=exposure, covariates=covariates, trim=trim)
    covs = weights.attrs.get("covariates", _covariates(table, covariates))
    df, _ = _model_frame(table, ["baseline"], covs)
    df = df.merge(weights[["patient_id", "exposed", "weight"]], on="patient_id")
    return _balance_rows(df, covs)


def _balance_rows(df: pd.DataFrame, covs: Sequence[str]) -> pd.DataFrame:
    """:func:`balance_table` on a model frame with ``exposed`` and ``weight`` columns."""
    a = df["exposed"].to_numpy(dtype=bool)
    w = df["weight"].to_numpy(dtype=float)
    ones = np.ones_like(w)
    rows = []
    for var in ["baseline", *covs]:
        s = df[var]
        if pd.api.types.is_float_dtype(s):
            items = [("", s.to_numpy(dtype=float), False)]
        else:
            items = [(str(lv), (s == lv).to_numpy(dtype=float), True) for lv in sorted(s.unique())]
        for level, x, binary in items:
            m1, m0, before = _smd(x, a, ones, binary)
            after = _smd(x, a, w, binary)[2]
            rows.append({"variable": var, "level": level, "mean_exposed": m1,
                         "mean_unexposed": m0, "smd_before": before, "smd_after": after})
    return pd.DataFrame(rows)


def ipw_effect(table: pd.DataFrame, *, exposure: str = "regular",
               covariates: Sequence[str] | None = None,
               trim: tuple[float, float] | None = (0.01, 0.99), adjust: bool = True,
               at_same_frequency: bool = False, measure=None) -> pd.DataFrame:
    """Effect of being a regular attender (or having a monthly start) by inverse-probability weighting.

    The estimand is the average treatment effect on improvement at the landmark,
    ``E[Y(1)] - E[Y(0)]``: the mean improvement if every patient had been exposed minus if none had.
    It is the coefficient of the exposure in a weighted least-squares fit of

    ``improvement ~ exposed [+ baseline + covariates]``

    with the stabilised, truncated weights of :func:`propensity_weights`. With ``adjust=True``
    (default) the outcome model also contains baseline and covariates: in the weighted sample
    exposure is independent of them, so the coefficient is still the marginal difference, but it is
    more precise and stays consistent if either the propensity or the outcome model is right
    (weighted-regression doubly robust estimator, Kang & Schafer 2007).

    Regular attenders also tend to come more often, so by default the estimate is the *total*
    effect of regular attendance, extra sessions included. With ``at_same_frequency=True``
    ``sessions_per_month`` joins the propensity and outcome models and the estimate is the effect of
    being regular *at the same frequency* (term ``regular|frequency``) — "consistency is key".

    **Confidence interval**: robust sandwich (HC3) standard error of the weighted fit. It treats the
    weights as known; because estimating the propensity score *reduces* the variance of the IPW
    estimator, this sandwich is conservative (valid, slightly wide) for the ATE (Lunceford &
    Davidian 2004; Hernán & Robins, *Causal Inference: What If*, §12.2).

    Returns
    -------
    DataFrame
        One tidy row, ``model = "ipw"``, ``term`` = the exposure; ``note`` gives the exposure
        definition, number exposed, truncation, effective sample size and worst balance after
        weighting. Positive = more improvement with the exposure.
    """
    _require(table, ["improvement", "baseline"], "ipw_effect")
    covs = _covariates(table, covariates)
    if at_same_frequency:
        _require(table, ["sessions_per_month"], "ipw_effect(at_same_frequency=True)")
        covs = [*covs, "sessions_per_month"]
    a = _exposure(table, exposure)
    if trim is not None and not (0 <= trim[0] < trim[1] <= 1):
        raise ValueError(f"The value for `trim` must be two quantiles 0 <= low < high <= 1, "
                         f"but {trim!r} was passed.")
    # one model frame and one covariate block for the propensity, the outcome fit and balance
    covs = _covariates(table, covs)
    df, dropped = _model_frame(table.assign(_a=a), ["_a", "improvement", "baseline"], covs)
    block = _dummies(df, [], covs)
    w = _weights_from_frame(df, dropped, covs, exposure, trim, cov_block=block)
    df = df.assign(exposed=w["exposed"].to_numpy(dtype="float64"),
                   weight=w["weight"].to_numpy())
    x = np.column_stack([np.ones(len(df)), df["exposed"].to_numpy()]
                        + ([df["baseline"].to_numpy(dtype="float64"),
                            block.to_numpy(dtype="float64")] if adjust else []))
    beta, cov = _wls_hc3(x, df["improvement"].to_numpy(dtype="float64"),
                         df["weight"].to_numpy(dtype="float64"))
    est, se = float(beta[1]), float(np.sqrt(cov[1, 1]))
    bal = _balance_rows(df.assign(exposed=df["exposed"] == 1), covs)
    worst = float(bal["smd_after"].abs().max())
    warn = ""
    if worst > 0.25 or w.attrs["n_extreme"] > 0.1 * len(w):
        warn = (f"; CAUTION: weighting could not balance the groups ({w.attrs['n_extreme']} "
                "patients with propensity < 0.025 or > 0.975: too few comparable patients "
                "in one group, do not trust this row)")
    definition = {"regular": "coverage >= 0.8", "monthly_start": ">= 2 sessions in first 45 days"}
    note = (f"ATE of {exposure} ({definition[exposure]})"
            + (" at the same sessions/month" if at_same_frequency else "")
            + f" on improvement; {int(df['exposed'].sum())}"
            f" of {len(df)} exposed; stabilised IPW"
            + (f" truncated at the {trim[0]:g}/{trim[1]:g} quantiles ({int(w['truncated'].sum())}"
               " weights)" if trim else "")
            + f"; ESS {w.attrs['ess']:.0f}; max |SMD| {bal['smd_before'].abs().max():.2f} before, "
            f"{worst:.2f} after; "
            + ("outcome model with baseline + covariates" if adjust else "weighted difference")
            + "; HC3 sandwich CI" + _dropped_note(w.attrs["n_dropped"]) + warn)
    term = f"{exposure}|frequency" if at_same_frequency else exposure
    return _tidy([{"measure": _measure_name(table, measure), "model": "ipw", "term": term,
                   "estimate": est, "ci_low": est - _Z * se, "ci_high": est + _Z * se,
                   "std_error": se, "p_value": _wald_p(est, se), "n": len(df),
                   "note": note}])


# --------------------------------------------------------------------------------------------------
# 2. ordinal model
# --------------------------------------------------------------------------------------------------

def _collapse(codes: pd.Series, min_count: int) -> tuple[pd.Series, list[str]]:
    """Merge sparse ordered levels into their smaller neighbour until each has ``min_count``."""
    levels = sorted(codes.unique())
    groups = [[lv] for lv in levels]
    counts = codes.value_counts()
    size = [int(counts[lv]) for lv in levels]
    while len(groups) > 2 and min(size) < min_count:
        i = int(np.argmin(size))
        if i == 0:
            j = 1
        elif i == len(groups) - 1:
            j = i - 1
        else:
            j = i - 1 if size[i - 1] <= size[i + 1] else i + 1
        lo, hi = sorted((i, j))
        groups[lo:hi + 1] = [groups[lo] + groups[hi]]
        size[lo:hi + 1] = [size[lo] + size[hi]]
    mapping = {lv: k for k, g in enumerate(groups) for lv in g}
    merged = [g for g in groups if len(g) > 1]
    return codes.map(mapping), merged


def _dummies(df: pd.DataFrame, numeric: Sequence[str], covariates: Sequence[str]
             ) -> pd.DataFrame:
    """Numeric columns, then treatment-coded indicators ``C(name)[T.level]`` (reference = first
    level in sorted order, as patsy) of the categorical covariates; no intercept."""
    cols = {c: df[c].to_numpy(dtype="float64") for c in numeric}
    for c in covariates:
        if pd.api.types.is_float_dtype(df[c]):
            cols[c] = df[c].to_numpy(dtype="float64")
        else:
            values = df[c].astype("str")
            for level in sorted(values.unique())[1:]:
                cols[f"C({c})[T.{level}]"] = (values == level).to_numpy(dtype="float64")
    return pd.DataFrame(cols, index=df.index)


def ordinal_effect(table: pd.DataFrame, measure: Measure, *,
                   covariates: Sequence[str] | None = None, min_count: int = 10,
                   per: float = 1.0, distr: str = "logit") -> pd.DataFrame:
    """Proportional-odds model of the landmark grade on sessions a month and baseline grade.

    ``P(grade better than k) = F(x'beta - theta_k)`` with ``F`` logistic: the landmark grades are
    ordered **from worst to best** (for ``better = "lower"`` grade 4 is the worst category and 0 the
    best), so ``OR = exp(per * beta_sessions_per_month) > 1`` means that a patient coming ``per``
    more times a month had higher odds of being in a *better* landmark grade, at the same baseline
    grade (and covariates). Same OR for every cut-point between grades (proportional odds).
    As most patients come between 0.2 and 1 time a month, ``per = 1`` is a large step and the OR
    is large; ``per = 0.25`` (one more session every four months) may read more naturally.

    Grades with fewer than ``min_count`` patients are merged with their neighbour (the smaller one)
    before fitting; the note says which. Covariates are included when the fit converges with them;
    otherwise the model is refitted on sessions a month and baseline only, and the note says so.

    Returns
    -------
    DataFrame
        One tidy row, ``model = "ordinal"``, ``term = "sessions_per_month"``, ``estimate`` = odds
        ratio per +1 session/month with its 95 % CI (Wald on the log-odds scale), ``scale =
        "odds ratio"``. Fitted by :func:`outcomes.ordinal.fit_ordinal` (analytic likelihood and
        gradient).
    """
    from .ordinal import fit_ordinal

    _require(table, ["landmark", "baseline", "sessions_per_month"], "ordinal_effect")
    _check_choice("distr", distr, ("logit", "probit"))
    if not measure.is_grade:
        raise RecordsError(f"Measure {measure.name!r} is not a grade scale (no small `step` in "
                           "dataset.toml), so an ordinal model of its grades is not meaningful.")
    covs = _covariates(table, covariates)
    df, dropped = _model_frame(table, ["landmark", "baseline", "sessions_per_month"], covs)
    oriented = df["landmark"] if measure.better == "higher" else -df["landmark"]
    if len(df) == 0:
        raise RecordsError(f"No patient has a landmark {measure.name} grade; an ordinal model "
                           "needs patients with a baseline and a landmark grade.")
    codes, merged = _collapse(oriented.round(6), min_count)
    if codes.nunique() < 2:
        raise RecordsError(f"All landmark {measure.name} grades are the same; an ordinal model "
                           "needs at least two grades.")
    codes = codes.to_numpy(dtype=int)
    notes = []
    res, used = None, covs
    full = _dummies(df, ["sessions_per_month", "baseline"], covs)
    for attempt in ([covs, []] if covs else [[]]):
        x = full if attempt else full[["sessions_per_month", "baseline"]]
        x = x.loc[:, x.std() > 0]
        if "sessions_per_month" not in x or len(df) <= x.shape[1] + codes.max() + 1:
            continue
        r = fit_ordinal(codes, x, distr=distr)
        se = float(r.bse[0])
        if r.converged and np.isfinite(se) and np.isfinite(r.params[0]):
            res, used = r, attempt
            break
        if attempt:
            notes.append("did not converge with covariates; refitted without them")
    if res is None:
        raise RecordsError(f"The ordinal model of {measure.name} could not be fitted on "
                           f"{len(df)} patients: too few patients or grades — see the "
                           "adjusted result instead.")
    b = per * float(res.params[0])
    se = per * float(res.bse[0])
    direction = "lower" if measure.better == "lower" else "higher"
    if merged:
        groups = "; ".join("+".join(f"{abs(v):g}" for v in sorted(g, key=abs)) for g in merged)
        notes.append(f"grades merged (fewer than {min_count} patients): {groups}")
    note = (f"odds ratio per +{per:g} session/month of a better landmark grade (better = "
            f"{direction} {measure.name}), proportional odds, adjusted for baseline grade"
            + (" and covariates" if used else "") + f"; {len(np.unique(codes))} grade categories"
            + "".join("; " + n for n in notes) + _dropped_note(dropped))
    if abs(b) + _Z * se > 700:          # exp would overflow: the grades separate completely
        raise RecordsError(f"The ordinal model of {measure.name} has no finite estimate: sessions "
                           "a month separate the landmark grades (too few patients) — see the "
                           "adjusted result instead.")
    return _tidy([{"measure": measure.name, "model": "ordinal", "term": "sessions_per_month",
                   "estimate": math.exp(b), "ci_low": math.exp(b - _Z * se),
                   "ci_high": math.exp(b + _Z * se), "std_error": se,
                   "p_value": float(res.pvalues()[0]), "n": len(df),
                   "note": note, "scale": "odds ratio"}])


# --------------------------------------------------------------------------------------------------
# 3. dose-response
# --------------------------------------------------------------------------------------------------

def _spline_fit(table, covariates, df_spline, spline):
    _check_choice("spline", spline, ("cr", "bs"))
    _require(table, ["improvement", "baseline", "sessions_per_month"], "dose_response")
    covs = _covariates(table, covariates)
    df, dropped = _model_frame(table, ["improvement", "baseline", "sessions_per_month"], covs)
    basis = (f"cr(sessions_per_month, df={df_spline}, constraints='center')" if spline == "cr"
             else f"bs(sessions_per_month, df={df_spline})")
    formula = " + ".join([f"improvement ~ {basis}", "baseline", *_rhs(df, covs)])
    y, x = patsy.dmatrices(formula, df, return_type="dataframe", NA_action="raise")
    fit = sm.OLS(y, x).fit(cov_type="HC3")
    fit.design_info_ = x.design_info        # kept for predictions at new sessions_per_month
    return fit, df, covs, dropped


def _design_at(fit, df, covs, x) -> np.ndarray:
    ref = _reference_row(df, covs)
    new = pd.DataFrame({"sessions_per_month": np.asarray(x, dtype=float),
                        "baseline": float(df["baseline"].mean()), **ref})
    return np.asarray(patsy.build_design_matrices([fit.design_info_], new)[0])


def dose_response(table: pd.DataFrame, *, covariates: Sequence[str] | None = None,
                  df: int = 4, spline: str = "cr", grid: int = 50,
                  limits: tuple[float, float] = (0.01, 0.99)) -> pd.DataFrame:
    """Adjusted dose–response curve of improvement on sessions a month.

    OLS ``improvement ~ s(sessions_per_month) + baseline + covariates`` where ``s`` is a natural
    cubic regression spline (patsy ``cr``, ``df`` basis functions, knots at quantiles; ``spline="bs"``
    for a cubic B-spline). The curve is the predicted improvement with baseline at its mean, numeric
    covariates at their mean and categorical covariates at their most frequent level; the pointwise
    95 % band is ``x' b ± 1.96 sqrt(x' V x)`` with ``V`` the HC3 covariance.

    Parameters
    ----------
    grid : int
        Number of points between the ``limits`` quantiles of sessions a month (the curve is not
        drawn where there are few patients).

    Returns
    -------
    DataFrame
        ``sessions_per_month``, ``estimate``, ``ci_low``, ``ci_high``; ``attrs``: ``n``, ``df``,
        ``reference`` (values held fixed), ``measure``.
    """
    fit, data, covs, dropped = _spline_fit(table, covariates, df, spline)
    lo, hi = np.quantile(data["sessions_per_month"], limits)
    x = np.linspace(lo, hi, grid)
    xm = _design_at(fit, data, covs, x)
    est = xm @ fit.params.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", xm, fit.cov_params().to_numpy(), xm))
    out = pd.DataFrame({"sessions_per_month": x, "estimate": est, "ci_low": est - _Z * se,
                        "ci_high": est + _Z * se})
    out.attrs = {"n": len(data), "df": df, "n_dropped": dropped, "measure": _measure_name(table),
                 "reference": {"baseline": float(data["baseline"].mean()),
                               **_reference_row(data, covs)}}
    return out


def dose_response_slopes(table: pd.DataFrame, *, knee: float = 1.0, low: float | None = None,
                         high: float | None = None, covariates: Sequence[str] | None = None,
                         df: int = 4, spline: str = "cr", min_above: int = 10) -> pd.DataFrame:
    """Does the benefit flatten after ``knee`` sessions a month? Average slopes of the spline.

    With ``f`` the adjusted spline of :func:`dose_response`:

    - ``slope below = (f(knee) - f(low)) / (knee - low)``,
    - ``slope above = (f(high) - f(knee)) / (high - knee)``,
    - ``difference = slope above - slope below`` (negative = flattens).

    Each is a linear contrast ``c' b`` of the spline coefficients with variance ``c' V c`` (HC3), so
    its CI and p-value are exact Wald quantities. ``low``/``high`` default to the 5th/99th
    percentiles of sessions a month; at least ``min_above`` patients must lie above the knee
    (and below it), otherwise the comparison is refused with a RecordsError.

    Returns
    -------
    DataFrame
        Tidy rows (``model = "dose-response"``), terms ``slope below <knee>``, ``slope above
        <knee>``, ``difference (above - below)``; estimates in improvement units per session/month.
    """
    fit, data, covs, dropped = _spline_fit(table, covariates, df, spline)
    x = data["sessions_per_month"]
    low = float(np.quantile(x, 0.05)) if low is None else float(low)
    high = float(np.quantile(x, 0.99)) if high is None else float(high)
    n_above, n_below = int((x > knee).sum()), int((x < knee).sum())
    if not low < knee < high or min(n_above, n_below) < min_above:
        raise RecordsError(f"Sessions a month range from {low:.2f} to {high:.2f} (5th–99th "
                           f"percentile) with {n_below} patient(s) below and {n_above} above "
                           f"{knee:g}, so slopes below and above {knee:g} cannot be compared "
                           f"(at least {min_above} on each side are needed).")
    xl, xk, xh = _design_at(fit, data, covs, [low, knee, high])
    below, above = (xk - xl) / (knee - low), (xh - xk) / (high - knee)
    b, v = fit.params.to_numpy(), fit.cov_params().to_numpy()
    rows = []
    for term, c in ((f"slope below {knee:g}", below), (f"slope above {knee:g}", above),
                    ("difference (above - below)", above - below)):
        est, se = float(c @ b), float(np.sqrt(c @ v @ c))
        rows.append({"measure": _measure_name(table), "model": "dose-response", "term": term,
                     "estimate": est, "ci_low": est - _Z * se, "ci_high": est + _Z * se,
                     "std_error": se, "p_value": float(2 * stats.norm.sf(abs(est / se))),
                     "n": len(data),
                     "note": f"average slope of the adjusted spline between {low:.2f}, {knee:g} "
                             f"and {high:.2f} sessions/month ({n_below} patients below, "
                             f"{n_above} above {knee:g}); HC3" + _dropped_note(dropped)})
    return _tidy(rows)


# --------------------------------------------------------------------------------------------------
# 4. cluster bootstrap
# --------------------------------------------------------------------------------------------------

def _adjusted_design(table, covariates, formula):
    covs = _covariates(table, covariates)
    if formula is None:
        df, dropped = _model_frame(table, ["improvement", "sessions_per_month", "baseline"], covs)
        formula = " + ".join(["improvement ~ sessions_per_month", "baseline", *_rhs(df, covs)])
    else:
        df, dropped = table.reset_index(drop=True), 0
    y, x = patsy.dmatrices(formula, df, return_type="dataframe", NA_action="raise")
    return y.iloc[:, 0].to_numpy(), x, df, dropped


def cluster_bootstrap(table: pd.DataFrame, *, reps: int = 1000, seed: int = 0,
                      terms: Sequence[str] = ("sessions_per_month",),
                      covariates: Sequence[str] | None = None, formula: str | None = None,
                      cluster: str = "patient_id", alpha: float = 0.05,
                      progress: bool = True) -> pd.DataFrame:
    """Cluster (patient) bootstrap of the adjusted OLS as a check on the model-based CIs.

    Each replicate draws patients with replacement (all rows of a drawn patient come along, so the
    function also works on long tables with several rows per patient) and refits
    ``improvement ~ sessions_per_month + baseline + covariates`` (or ``formula``) by least squares.
    The CI is the percentile interval ``[q(alpha/2), q(1 - alpha/2)]`` of the replicate coefficients;
    ``std_error`` is their SD; ``p_value`` is the two-sided bootstrap p ``2 min(P*(b <= 0),
    P*(b >= 0))``. Replicates whose design is rank-deficient in the term are skipped and counted.

    Parameters
    ----------
    reps : int
        Number of bootstrap replicates (1000 for a report, 100–200 is enough for a quick look).
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same CI.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    DataFrame
        Tidy rows ``model = "bootstrap"``, one per term; ``estimate`` is the full-sample coefficient.
    """
    from tqdm.auto import tqdm

    if reps < 20:
        raise ValueError(f"The value for `reps` must be at least 20, but {reps!r} was passed.")
    y, x, df, dropped = _adjusted_design(table, covariates, formula)
    cols = list(x.columns)
    missing = [t for t in terms if t not in cols]
    if missing:
        raise ValueError(f"The value for `terms` must be among the model terms {cols}, but "
                         f"{missing!r} was passed.")
    idx = [cols.index(t) for t in terms]
    xa = x.to_numpy()
    full = np.linalg.lstsq(xa, y, rcond=None)[0][idx]
    ids = df[cluster].astype("str").to_numpy()
    uniq, inverse = np.unique(ids, return_inverse=True)
    rows_of = [np.flatnonzero(inverse == k) for k in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws = np.full((reps, len(idx)), np.nan)
    for r in tqdm(range(reps), disable=not progress, desc="bootstrap", leave=False):
        pick = rng.integers(0, len(uniq), len(uniq))
        rows = np.concatenate([rows_of[k] for k in pick])
        xb, yb = xa[rows], y[rows]
        beta, _, rank, _ = np.linalg.lstsq(xb, yb, rcond=None)
        if rank == xb.shape[1] or _identified(xb, idx):
            draws[r] = beta[idx]
    ok = ~np.isnan(draws[:, 0])
    out = []
    for j, term in enumerate(terms):
        d = draws[ok, j]
        lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
        p = min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean()))
        out.append({"measure": _measure_name(table), "model": "bootstrap", "term": term,
                    "estimate": float(full[j]), "ci_low": float(lo), "ci_high": float(hi),
                    "std_error": float(d.std(ddof=1)), "p_value": float(p), "n": len(uniq),
                    "note": f"percentile CI from {ok.sum()} patient-cluster resamples (seed {seed})"
                            + (f", {(~ok).sum()} skipped (rank-deficient)" if (~ok).any() else "")
                            + _dropped_note(dropped)})
    return _tidy(out)


def _identified(x: np.ndarray, idx: Sequence[int]) -> bool:
    """True when dropping all-zero columns (absent categorical levels) leaves a full-rank design."""
    keep = np.flatnonzero(np.abs(x).sum(axis=0) > 0)
    return all(i in keep for i in idx) and np.linalg.matrix_rank(x[:, keep]) == len(keep)


# --------------------------------------------------------------------------------------------------
# 5. sensitivity grid and E-value
# --------------------------------------------------------------------------------------------------

def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele & Ding 2017): ``E = RR + sqrt(RR (RR - 1))``.

    For ``RR < 1`` the reciprocal is used. ``E-value(3.9) = 7.26`` (the paper's example).
    """
    rr = float(rr)
    if not rr > 0:
        raise ValueError(f"The value for `rr` must be a positive risk ratio, but {rr!r} was passed.")
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def e_value(estimate: float, *, sd: float, ci_low: float | None = None,
            ci_high: float | None = None) -> pd.DataFrame:
    """E-value of a difference in a continuous outcome (VanderWeele & Ding 2017, approximate).

    The effect is standardised ``d = estimate / sd`` (``sd`` = SD of the outcome), converted to an
    approximate risk ratio ``RR ≈ exp(0.91 d)`` and then ``E = RR + sqrt(RR (RR - 1))``
    (:func:`e_value_rr`). The E-value is the minimum strength of association (on the risk-ratio
    scale) that an unmeasured confounder would need with both the exposure and the outcome, beyond
    the measured covariates, to explain the estimate away. For the CI, the limit closer to the null
    is converted the same way; if the CI contains 0 that E-value is 1.

    Returns
    -------
    DataFrame
        One row: ``estimate``, ``sd``, ``d``, ``rr``, ``e_value``, ``e_value_ci``.
    """
    if not sd > 0:
        raise ValueError(f"The value for `sd` must be positive, but {sd!r} was passed.")
    d = estimate / sd
    rr = math.exp(0.91 * d)
    e_ci = np.nan
    if ci_low is not None and ci_high is not None:
        if ci_low <= 0 <= ci_high:
            e_ci = 1.0
        else:
            near = ci_low if estimate > 0 else ci_high
            e_ci = e_value_rr(math.exp(0.91 * near / sd))
    return pd.DataFrame([{"estimate": estimate, "sd": sd, "d": d, "rr": rr,
                          "e_value": e_value_rr(rr), "e_value_ci": e_ci}])


def adjusted_e_value(table: pd.DataFrame, *, covariates: Sequence[str] | None = None
                     ) -> pd.DataFrame:
    """E-value of the adjusted effect of +1 session/month (OLS with HC3, as the primary model).

    ``sd`` is the SD of improvement across patients (the unconditional SD; a larger SD gives a
    smaller, more cautious E-value than a residual SD would).
    """
    covs = _covariates(table, covariates)
    df, _ = _model_frame(table, ["improvement", "sessions_per_month", "baseline"], covs)
    formula = " + ".join(["improvement ~ sessions_per_month", "baseline", *_rhs(df, covs)])
    fit = smf.ols(formula, df).fit(cov_type="HC3")
    lo, hi = fit.conf_int().loc["sessions_per_month"]
    out = e_value(float(fit.params["sessions_per_month"]), sd=float(df["improvement"].std()),
                  ci_low=float(lo), ci_high=float(hi))
    out.insert(0, "term", "sessions_per_month")
    return out


SENSITIVITY_MODELS = ("adjusted", "ipw", "lapses")


def _effect_at(records, measure, models, settings: dict) -> list[dict]:
    from . import effects as mdl

    rater = settings.get("rater", "clinician")
    a = records.assessments
    name = measure.name if isinstance(measure, Measure) else measure
    if name in a and not (a["rater"].astype("str").eq(rater) & a[name].notna()).any():
        return [{"model": m, "note": f"no {rater} ratings of {name} in the records"}
                for m in models]
    try:
        table = mdl.analysis_table(records, measure, **settings)
    except RecordsError as exc:
        return [{"model": m, "note": str(exc)} for m in models]
    rows = []
    for model in models:
        try:
            if model == "adjusted":
                res = mdl.adjusted_effect(table)
                res = res[res["term"] == "sessions_per_month"]
            elif model == "ipw":
                res = ipw_effect(table, measure=measure)
            else:
                res = mdl.consistency_effect(table, consistency="lapses")
                res = res[res["term"] == "lapses"].assign(model="lapses")
            rows.extend(res.iloc[:1].to_dict("records"))
        except RecordsError as exc:
            rows.append({"model": model, "n": len(table), "note": str(exc)})
    return rows


def sensitivity_grid(records, measure, *, landmarks: Sequence[int] = (120, 182, 270),
                     windows: Sequence[int] = (30, 45, 60), gaps: Sequence[int] = (30, 45, 60),
                     treatments: Sequence[str] | str | None = "each",
                     raters: Sequence[str] = ("clinician", "patient"),
                     models: Sequence[str] = SENSITIVITY_MODELS, landmark_days: int = 182,
                     window_days: int = 45, permissible_gap: int = 45,
                     progress: bool = False) -> pd.DataFrame:
    """How much the answer moves with the analysis choices, one choice at a time.

    Starting from the primary settings (landmark 182 days, window ±45, permissible gap 45, all
    treatments, clinician ratings) each *setting* is varied alone over its values and the models are
    refitted: ``adjusted`` = the primary adjusted OLS coefficient of sessions per month
    (``models.adjusted_effect``), ``ipw`` = :func:`ipw_effect` of regular attendance,
    ``lapses`` = coefficient of the number of lapses (gaps longer than the permissible gap) beside
    frequency (``models.consistency_effect(consistency="lapses")``) — the permissible gap only
    changes what counts as a lapse, so the other two do not move with it.

    Parameters
    ----------
    treatments : "each", list of str or None
        ``"each"``: every treatment in the sessions (sessions of other treatments are then not
        counted); ``None``: leave the treatment filter out of the grid.
    raters : list of str
        Raters to compare (absent raters give a row with the reason in ``note``).

    Returns
    -------
    DataFrame
        ``setting``, ``value``, ``primary`` (bool), ``model``, ``term``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n``, ``note``; a setting that cannot be analysed gets a row with a missing
        estimate and the reason in ``note``.
    """
    from tqdm.auto import tqdm

    base = {"landmark_days": landmark_days, "window_days": window_days,
            "permissible_gap": permissible_gap}
    plan = [("landmark_days", v, {**base, "landmark_days": v}) for v in landmarks]
    plan += [("window_days", v, {**base, "window_days": v}) for v in windows]
    plan += [("permissible_gap", v, {**base, "permissible_gap": v}) for v in gaps]
    if treatments is not None:
        names = (sorted(records.sessions["treatment"].astype("str").unique())
                 if isinstance(treatments, str) and treatments == "each" else list(treatments))
        plan += [("treatment", "all", base)]
        plan += [("treatment", t, {**base, "treatments": [t]}) for t in names]
    plan += [("rater", r, {**base, "rater": r}) for r in raters]
    primary = {"landmark_days": landmark_days, "window_days": window_days,
               "permissible_gap": permissible_gap, "treatment": "all", "rater": "clinician"}
    rows = []
    for model in models:
        _check_choice("models", model, SENSITIVITY_MODELS)
    done: dict = {}      # the primary settings recur once per setting: fit them once
    for setting, value, kw in tqdm(plan, disable=not progress, desc="sensitivity", leave=False):
        key = repr(sorted(kw.items()))
        if key not in done:
            done[key] = _effect_at(records, measure, models, kw)
        for r in done[key]:
            rows.append({"setting": setting, "value": str(value),
                         "primary": primary[setting] == value, **r})
    out = pd.DataFrame(rows)
    cols = ["setting", "value", "primary", "model", "term", "estimate", "ci_low", "ci_high", "n",
            "note"]
    for c in cols:
        if c not in out:
            out[c] = np.nan
    out["n"] = out["n"].astype("Int64")
    return out[cols]


# --------------------------------------------------------------------------------------------------
# 6. the traps
# --------------------------------------------------------------------------------------------------

def _primary(records, measure: str, region: str, rater: str) -> pd.DataFrame:
    """Primary ratings as ``patient_id, date, <measure>`` (the ratings module's rule: same-day
    ratings averaged), sorted by patient and date."""
    from ..tables.ratings import primary_ratings

    a = primary_ratings(records, measure, region=region, rater=rater)
    a = a.rename(columns={"value": measure}).astype({"patient_id": "str"})
    return a.sort_values(["patient_id", "date"])


def _sessions(records, treatments) -> pd.DataFrame:
    """Sessions of the chosen treatments (unknown names are an error, as everywhere)."""
    from ..tables.ratings import select_sessions

    s = select_sessions(records, treatments)[["patient_id", "date", "treatment"]]
    return s.astype({"patient_id": "str"})


def _ols_row(df: pd.DataFrame, formula: str, term: str, **extra) -> dict:
    fit = smf.ols(formula, df).fit(cov_type="HC3")
    est, (lo, hi) = float(fit.params[term]), fit.conf_int().loc[term]
    return {"estimate": est, "ci_low": float(lo), "ci_high": float(hi),
            "std_error": float(fit.bse[term]), "p_value": float(fit.pvalues[term]),
            "n": int(fit.nobs), **extra}


def _measure_obj(records, measure) -> Measure:
    if isinstance(measure, Measure):
        return measure
    if measure not in records.measures:
        raise ValueError(f"The value for `measure` must be one of {list(records.measures)}, but "
                         f"{measure!r} was passed.")
    return records.measures[measure]


def followup_bias(records, measure, *, table: pd.DataFrame | None = None,
                  landmark_days: int = 182, window_days: int = 45,
                  treatments: Sequence[str] | None = None, region: str = "face",
                  rater: str = "clinician") -> pd.DataFrame:
    """Follow-up (immortal-time) bias: all sessions over all follow-up vs the landmark design.

    The tempting analysis relates each patient's **total sessions over all follow-up** to the
    improvement at their **last rating**. Patients who stay longer get more sessions *and* more time
    to improve (or to be rated at their best), so sessions and follow-up time are entangled: the
    slope mixes the effect of sessions with the effect of time (gains that build up, or fade once
    maintenance stops). The landmark design counts sessions
    only in [t0, landmark date) and measures everyone at the same time (t0 + 182 ± 45 days).

    Both designs use the same patients (those in the analysis table) and the same baseline:

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
    m = _measure_obj(records, measure)
    if table is None:
        from . import effects as mdl
        table = mdl.analysis_table(records, m.name, landmark_days=landmark_days,
                                   window_days=window_days, treatments=treatments, region=region,
                                   rater=rater)
    _require(table, ["patient_id", "t0", "baseline", "improvement", "n_sessions", "landmark_date"],
              "followup_bias")
    t = table[["patient_id", "t0", "baseline", "improvement", "n_sessions", "landmark_date"]].copy()
    t["patient_id"] = t["patient_id"].astype("str")
    a = _primary(records, m.name, region, rater).merge(t[["patient_id", "t0"]])
    last = a[a["date"] > a["t0"]].groupby("patient_id").tail(1).set_index("patient_id")
    s = _sessions(records, treatments).merge(t[["patient_id", "t0"]])
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


def dropout_comparison(records, measure, *, landmark_days: int = 182, window_days: int = 45,
                       baseline_days: int = 30, treatments: Sequence[str] | None = None,
                       region: str = "face", rater: str = "clinician") -> pd.DataFrame:
    """Who stops before the landmark, and how their last ratings looked compared with stayers.

    For every patient with a baseline rating (latest primary rating in [t0 − 30 d, t0], t0 = first
    session, as docs/methods.md §2.3), with ``L`` = landmark days and ``w`` = window:

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
    m = _measure_obj(records, measure)
    from ..tables.ratings import landmark_ratings

    s = _sessions(records, treatments)
    lr = landmark_ratings(records, m.name, landmark_days=landmark_days, window_days=window_days,
                          baseline_days=baseline_days, treatments=treatments, region=region,
                          rater=rater)
    p = lr.dropna(subset=["baseline"]).astype({"patient_id": "str"}).set_index("patient_id")
    p = p[["t0", "baseline"]]
    a = _primary(records, m.name, region, rater).merge(p["t0"].reset_index())
    end = max(records.sessions["date"].max(), records.assessments["date"].max())
    allcontacts = pd.concat([records.sessions[["patient_id", "date"]],
                             records.assessments[["patient_id", "date"]]])
    last_contact = allcontacts.assign(patient_id=allcontacts["patient_id"].astype("str")
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


# --------------------------------------------------------------------------------------------------
# hook for `outcomes effects`
# --------------------------------------------------------------------------------------------------

def extra_effect_rows(table: pd.DataFrame, measure: Measure, *,
                      sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The robustness rows of ``outcomes effects``: ``ipw`` (regular; monthly start when the table
    has ``monthly_start`` or ``sessions`` is given) and, for grade scales, ``ordinal``.

    An analysis that cannot be done on these records gives a row with a missing estimate and the
    reason in ``note`` rather than an error, so the other results are still shown.
    """
    if sessions is not None and "monthly_start" not in table.columns and "t0" in table.columns:
        table = add_monthly_start(table, sessions)
    jobs: list[tuple[str, str, Callable[[], pd.DataFrame]]] = [
        ("ipw", "regular", lambda: ipw_effect(table, exposure="regular", measure=measure))]
    if "monthly_start" in table.columns:
        jobs.append(("ipw", "monthly_start",
                     lambda: ipw_effect(table, exposure="monthly_start", measure=measure)))
    if measure.is_grade:
        jobs.append(("ordinal", "sessions_per_month", lambda: ordinal_effect(table, measure)))
    parts = []
    for model, term, job in jobs:
        try:
            parts.append(job())
        except (RecordsError, ValueError, ArithmeticError, np.linalg.LinAlgError,
                KeyError) as exc:
            parts.append(_tidy([{"measure": measure.name, "model": model, "term": term,
                                 "n": len(table),
                                 "note": f"not estimable: {exc or type(exc).__name__}"}]))
    out = pd.concat(parts, ignore_index=True)
    if "scale" in out:
        out["scale"] = out["scale"].fillna("difference in improvement")
    return out


# --------------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------------

def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    return ax


def love_plot(balance: pd.DataFrame, *, threshold: float = 0.1, ax=None):
    """Love plot: |SMD| of each variable (level) before and after weighting, with the 0.1 line."""
    import seaborn as sns

    ax = _axes(ax)
    b = balance.assign(label=np.where(balance["level"].astype(str) == "", balance["variable"],
                                      balance["variable"] + ": " + balance["level"].astype(str)))
    long = pd.concat([b.assign(weighting="before", smd=b["smd_before"].abs()),
                      b.assign(weighting="after", smd=b["smd_after"].abs())])
    sns.scatterplot(data=long, x="smd", y="label", hue="weighting", style="weighting", ax=ax,
                    s=50)
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set(xlabel="|standardised mean difference|", ylabel="",
           title="Balance before and after weighting")
    return ax


def dose_response_plot(curve: pd.DataFrame, *, table: pd.DataFrame | None = None, ax=None):
    """Adjusted dose–response curve with its pointwise 95 % band (and patients' rug if given)."""
    import seaborn as sns

    ax = _axes(ax)
    sns.lineplot(data=curve, x="sessions_per_month", y="estimate", ax=ax, color="C0")
    ax.fill_between(curve["sessions_per_month"], curve["ci_low"], curve["ci_high"], alpha=0.25,
                    color="C0", lw=0)
    if table is not None:
        sns.rugplot(x=table["sessions_per_month"], ax=ax, color="grey", alpha=0.3)
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set(xlabel="sessions per month", ylabel="adjusted improvement (positive = better)",
           title="Dose–response (95% pointwise band)")
    return ax


def _forest(df: pd.DataFrame, label: pd.Series, ax, title: str, xlabel: str, ref: float = 0.0):
    ax = _axes(ax)
    y = np.arange(len(df))[::-1]
    est = df["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - df["ci_low"].to_numpy(dtype=float),
                     df["ci_high"].to_numpy(dtype=float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", color="C0", capsize=3)
    ax.set_yticks(y, list(label))
    ax.set_ylim(-0.6, len(df) - 0.4)
    ax.axvline(ref, color="grey", ls="--", lw=1)
    ax.set(xlabel=xlabel, title=title)
    return ax


def sensitivity_plot(grid: pd.DataFrame, *, model: str = "adjusted", ax=None):
    """Forest plot of the sensitivity grid for one model; the primary setting's estimate dotted."""
    g = grid[(grid["model"] == model) & grid["estimate"].notna()]
    ax = _forest(g, g["setting"] + " = " + g["value"].astype(str), ax,
                 f"Sensitivity of the {model} estimate", "estimate (95% CI)")
    prim = g.loc[g["primary"], "estimate"]
    if len(prim):
        ax.axvline(float(prim.iloc[0]), color="C1", ls=":", lw=1)
    return ax


def followup_bias_plot(result: pd.DataFrame, *, ax=None):
    """Per-session estimate in the all-follow-up design vs the landmark design."""
    return _forest(result, result["model"], ax, "Follow-up bias: per-session estimate",
                   "extra improvement per session (95% CI)")


def regression_to_mean_plot(table: pd.DataFrame, *, ax=None):
    """Raw change (landmark − baseline) against baseline with the least-squares line."""
    import seaborn as sns

    ax = _axes(ax)
    df = table[["baseline", "landmark"]].astype("float64").dropna()
    df["change"] = df["landmark"] - df["baseline"]
    sns.regplot(data=df, x="baseline", y="change", ax=ax, x_jitter=0.05, y_jitter=0.05, seed=0,
                scatter_kws={"alpha": 0.3, "s": 12}, line_kws={"color": "C1"})
    ax.axhline(0, color="grey", lw=1)
    ax.set(xlabel="baseline rating", ylabel="landmark − baseline",
           title="Regression to the mean: change vs baseline")
    return ax


def _labelled(groups: pd.Series, counts: pd.Series) -> pd.Series:
    """Group labels with their size, counts under 5 shown as "<5" (privacy.suppress_count)."""
    from ..privacy import suppress_count

    return groups.astype("str") + " (n=" + counts.map(lambda n: suppress_count(int(n))) + ")"


def indication_plot(result: pd.DataFrame, *, ax=None):
    """Mean baseline rating (95 % CI) by frequency group from :func:`confounding_by_indication`."""
    g = result[result["group"] != "trend"].rename(columns={"baseline_mean": "estimate"})
    ax = _forest(g, _labelled(g["group"], g["n"]), ax,
                 "Baseline rating by sessions per month", "mean baseline rating (95% CI)",
                 ref=float(np.nanmean(g["estimate"])))
    return ax


def dropout_plot(result: pd.DataFrame, *, ax=None):
    """Interim improvement (95 % CI) of stayers, stoppers and the other groups."""
    g = result[(result["group"] != "stopped - reached") & (result["n_interim"] > 0)]
    g = g.rename(columns={"interim_mean": "estimate"})
    return _forest(g, _labelled(g["group"], g["n_interim"]), ax,
                   "Drop-out: last rating before the landmark window",
                   "interim improvement (95% CI)")
