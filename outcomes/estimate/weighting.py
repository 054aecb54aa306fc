"""Weighting: regular vs irregular attenders (or a monthly start vs not), made comparable.

- :func:`propensity_weights` — stabilised, truncated inverse-probability weights of an exposure
  (``regular`` attendance, or ``monthly_start``: two sessions in the first 45 days) given the
  baseline rating and the covariates;
- :func:`balance_table` — standardised mean differences before and after weighting;
- :func:`ipw_effect` — the weighted difference in improvement with a sandwich (HC3) CI.

The Love plot of the balance is :func:`outcomes.present.robustness.love_plot`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import RecordsError
from .frames import (
    _Z,
    EXPOSURES,
    _check_choice,
    _covariates,
    _dropped_note,
    _dummies,
    _measure_name,
    _model_frame,
    _require,
    _tidy,
)

__all__ = ["add_monthly_start", "balance_table", "ipw_effect", "propensity_weights"]


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
        hint = ("call outcomes.estimate.weighting.add_monthly_start(table, records.sessions) first"
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
