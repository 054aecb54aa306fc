"""Dose–response: the adjusted spline of improvement on sessions a month, and whether the
benefit flattens after monthly (:func:`dose_response`, :func:`dose_response_slopes`). The figure is
:func:`outcomes.present.robustness.dose_response_plot`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from scipy import stats

from ..errors import RecordsError
from .frames import (
    _Z,
    _check_choice,
    _covariates,
    _dropped_note,
    _measure_name,
    _model_frame,
    _reference_row,
    _require,
    _rhs,
    _tidy,
)

__all__ = ["dose_response", "dose_response_slopes"]


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
