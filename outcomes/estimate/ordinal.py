"""Cumulative-link (proportional-odds) model with an analytic log-likelihood and gradient.

For ordered categories ``y ∈ {0, …, K−1}`` and covariates ``x`` (no intercept),

``P(y ≤ k | x) = F(c_k − x'β)``,  ``k = 0, …, K−2``,  ``c_0 < c_1 < … < c_{K−2}``,

with ``F`` the logistic (``distr="logit"``) or standard normal (``"probit"``) distribution
function, so ``P(y = k) = F(u) − F(l)`` with ``u = c_k − η``, ``l = c_{k−1} − η``, ``η = x'β``
(``c_{−1} = −∞``, ``c_{K−1} = +∞``). The cut-points are ``c_0 = a_0`` and
``c_k = c_{k−1} + exp(a_k)`` (the parametrisation of statsmodels ``OrderedModel``). The
log-likelihood ``ℓ = Σ log(F(u) − F(l))`` has gradient

``∂ℓ/∂β = −Σ x (f(u) − f(l)) / p``,  ``∂ℓ/∂c_k = Σ_{y=k} f(u)/p − Σ_{y=k+1} f(l)/p``

(``f = F'``, ``p = F(u) − F(l)``), chained to ``a`` by ``∂c_j/∂a_0 = 1``,
``∂c_j/∂a_m = exp(a_m)`` for ``1 ≤ m ≤ j``. It is maximised by BFGS with this gradient; the
covariance of the estimates is the inverse of the Hessian of ``−ℓ``, by central differences of
the analytic gradient. A larger ``β`` means higher (better, when the categories run from worst
to best) categories.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..errors import RecordsError
from ..records.scales import Measure
from .frames import (
    _Z,
    _check_choice,
    _covariates,
    _dropped_note,
    _dummies,
    _model_frame,
    _require,
    _tidy,
)

__all__ = ["OrdinalFit", "fit_ordinal", "ordinal_effect"]


@dataclass
class OrdinalFit:
    """Result of :func:`fit_ordinal`: ``params`` = ``β`` then ``a`` (cut-point parameters),
    ``bse`` their standard errors, ``names``, ``llf``, ``converged``, ``message``."""

    params: np.ndarray
    bse: np.ndarray
    names: list[str]
    llf: float
    converged: bool
    message: str

    def pvalues(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * stats.norm.sf(np.abs(self.params / self.bse))


def _cdf_pdf(distr):
    if distr == "logit":
        return special.expit, lambda z: special.expit(z) * special.expit(-z)
    return special.ndtr, stats.norm.pdf


class _Loglik:
    def __init__(self, codes, X, distr):
        self.y = np.asarray(codes, dtype=int)
        self.X = np.asarray(X, dtype="float64")
        self.K = int(self.y.max()) + 1
        self.p = self.X.shape[1]
        self.F, self.f = _cdf_pdf(distr)

    def cuts(self, a):
        return np.cumsum(np.concatenate([a[:1], np.exp(a[1:])]))

    def __call__(self, params):
        """``(−ℓ, −∂ℓ/∂params)``."""
        beta, a = params[:self.p], params[self.p:]
        c = np.concatenate([[-np.inf], self.cuts(a), [np.inf]])
        eta = self.X @ beta
        u = c[self.y + 1] - eta
        low = c[self.y] - eta
        Fu, Fl = self.F(u), self.F(low)
        fu = np.where(np.isfinite(u), self.f(np.where(np.isfinite(u), u, 0.0)), 0.0)
        fl = np.where(np.isfinite(low), self.f(np.where(np.isfinite(low), low, 0.0)), 0.0)
        # P(y = k) without cancellation in the upper tail: F(u) − F(l) = F(−l) − F(−u)
        prob = np.where(low > 0, self.F(-low) - self.F(-u), Fu - Fl)
        prob = np.clip(prob, 1e-300, None)
        ll = float(np.log(prob).sum())
        g_eta = -(fu - fl) / prob
        g_beta = self.X.T @ g_eta
        # ∂ℓ/∂c_k for k = 0..K−2
        g_c = (np.bincount(self.y, weights=fu / prob, minlength=self.K)[:self.K - 1]
               - np.bincount(self.y, weights=fl / prob, minlength=self.K)[1:self.K])
        # chain to a: ∂c_j/∂a_0 = 1, ∂c_j/∂a_m = exp(a_m) for m ≤ j
        tail = np.cumsum(g_c[::-1])[::-1]               # Σ_{j ≥ m} ∂ℓ/∂c_j
        g_a = tail.copy()
        g_a[1:] *= np.exp(a[1:])
        return -ll, -np.concatenate([g_beta, g_a])


def fit_ordinal(codes, X, *, names=None, distr: str = "logit", maxiter: int = 2000
                ) -> OrdinalFit:
    """Maximum-likelihood cumulative-link model (see the module docstring).

    Parameters
    ----------
    codes : array of int (N,)
        Categories ``0 … K−1``, every one present.
    X : array or DataFrame (N, p)
        Covariates, no intercept column.
    distr : {"logit", "probit"}

    Returns
    -------
    OrdinalFit
        ``names`` = the columns of ``X`` then ``"0/1", "1/2", …`` (cut-point parameters).
    """
    if names is None:
        names = list(X.columns) if hasattr(X, "columns") else [f"x{j}" for j in
                                                               range(np.shape(X)[1])]
    nll = _Loglik(codes, X, distr)
    K, p = nll.K, nll.p
    counts = np.bincount(nll.y, minlength=K)
    cum = np.cumsum(counts)[:-1] / len(nll.y)
    c0 = special.logit(cum) if distr == "logit" else special.ndtri(cum)
    start = np.concatenate([np.zeros(p), [c0[0]], np.log(np.maximum(np.diff(c0), 1e-3))])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = optimize.minimize(nll, start, jac=True, method="BFGS",
                                options={"maxiter": maxiter, "gtol": 1e-8})
        x = res.x
        h = 1e-5 * np.maximum(1.0, np.abs(x))
        k = len(x)
        H = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = h[j]
            H[:, j] = (nll(x + e)[1] - nll(x - e)[1]) / (2 * h[j])
        H = (H + H.T) / 2
        try:
            cov = np.linalg.inv(H)
            bse = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            bse = np.full(k, np.nan)
    grad = nll(x)[1]
    converged = bool(np.all(np.isfinite(x)) and (res.success or np.abs(grad).max() < 1e-4))
    cut_names = [f"{j}/{j + 1}" for j in range(K - 1)]
    return OrdinalFit(params=x, bse=bse, names=[*names, *cut_names], llf=float(-res.fun),
                      converged=converged, message=str(res.message))


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
        "odds ratio"``. Fitted by :func:`outcomes.estimate.ordinal.fit_ordinal` (analytic likelihood and
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
