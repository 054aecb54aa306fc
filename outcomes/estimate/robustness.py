"""Robustness of the association: is it real, or just who comes more often? (docs/methods.md
§3.7, notebook 05).

- :func:`cluster_bootstrap` — patient-level bootstrap as a check on the model-based CIs;
- :func:`e_value` / :func:`adjusted_e_value` — how strong an unmeasured confounder would have to
  be to explain the estimate away;
- :func:`sensitivity_rows` — the models of the sensitivity grid on one analysis table (the grid
  itself varies the settings: :meth:`outcomes.analysis.Analysis.sensitivity`);
- :func:`extra_effect_rows` — the weighting and ordinal rows of ``outcomes effects``.

Beside it: :mod:`~outcomes.estimate.weighting`, :mod:`~outcomes.estimate.ordinal`,
:mod:`~outcomes.estimate.dose_response`, :mod:`~outcomes.estimate.traps`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import patsy
import statsmodels.formula.api as smf

from ..errors import RecordsError
from ..records.scales import Measure
from . import effects as mdl
from .frames import (
    _check_choice,
    _covariates,
    _dropped_note,
    _measure_name,
    _model_frame,
    _rhs,
    _tidy,
)
from .ordinal import ordinal_effect
from .weighting import add_monthly_start, ipw_effect

__all__ = ["SENSITIVITY_MODELS", "adjusted_e_value", "cluster_bootstrap", "e_value",
           "e_value_rr", "extra_effect_rows", "sensitivity_rows"]


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


def sensitivity_rows(table: pd.DataFrame, measure: Measure,
                     models: Sequence[str] = SENSITIVITY_MODELS) -> list[dict]:
    """The models of the sensitivity grid on one analysis table: ``adjusted`` = the adjusted OLS
    coefficient of sessions per month (:func:`outcomes.estimate.effects.adjusted_effect`),
    ``ipw`` = :func:`~outcomes.estimate.weighting.ipw_effect` of regular attendance, ``lapses`` =
    the coefficient of the number of lapses beside frequency
    (:func:`~outcomes.estimate.effects.consistency_effect` with ``consistency="lapses"``). A model
    that cannot be fitted gives a row with the reason in ``note``."""
    for model in models:
        _check_choice("models", model, SENSITIVITY_MODELS)
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
