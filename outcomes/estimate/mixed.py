"""A linear mixed model fitted by REML with per-patient sums (random intercept, optional slope).

The model for patient ``i`` with ``n_i`` ratings is

``y_i = X_i β + Z_i b_i + ε_i``,  ``b_i ~ N(0, σ² Λ Λ')``,  ``ε_i ~ N(0, σ² I)``

with ``Z_i`` the random-effect columns (``1`` for a random intercept, ``[1, t]`` for an intercept
and a slope on time ``t``) and ``Λ`` a lower-triangular ``q × q`` matrix whose entries ``θ`` are
the only parameters searched over (the relative Cholesky factor of Bates et al. 2015, *J Stat
Softw* 67(1), the parametrisation of lme4). ``V_i = I + Z_i Λ Λ' Z_i'`` is the marginal
covariance of ``y_i`` divided by ``σ²``. By Woodbury, with ``M_i = I_q + Λ' Z_i'Z_i Λ`` and its
Cholesky factor ``M_i = U_i U_i'``,

``a' V_i⁻¹ b = a'b − (U_i⁻¹ Λ' Z_i'a)' (U_i⁻¹ Λ' Z_i'b)``,  ``log |V_i| = log |M_i|``,

so every quantity below needs only the per-patient sums ``Z_i'Z_i`` (``q × q``), ``Z_i'X_i``
and ``Z_i'y_i``, computed once; each evaluation is a handful of batched ``q × q`` operations
(``q ≤ 2``) over patients and one ``(G q) × p`` matrix product. For given ``θ``

``β̂(θ) = (X'V⁻¹X)⁻¹ X'V⁻¹y``,  ``r²(θ) = y'V⁻¹y − β̂' X'V⁻¹y``,  ``σ̂² = r² / (N − p)``

and the profiled REML deviance (−2 × restricted log-likelihood) is

``d(θ) = Σ_i log|M_i| + log|X'V⁻¹X| + (N − p) (1 + log(2π r² / (N − p)))``.

It is minimised over ``θ`` (diagonal of ``Λ`` ≥ 0) by L-BFGS-B
— one fit per model, with the analytic gradient of :meth:`_Reml.deviance`. The covariance of ``β̂`` is ``σ̂² (X'V⁻¹X)⁻¹``; Wald 95 % intervals and
normal p-values, as statsmodels ``MixedLM`` reports them.

The fit says itself when a variance component is at the edge of the parameter space (a diagonal
entry of ``Λ`` at 0 — that random effect does not vary between patients in these data — or a
correlation of ±1) and when the optimiser did not converge: :attr:`MixedFit.note` in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats

from ..errors import RecordsError

__all__ = ["MixedFit", "fit_mixed", "one_blas_thread"]

#: a diagonal entry of Λ (SD of a random effect ÷ residual SD) below this counts as zero
_EDGE = 1e-4

#: cohorts of more than twice this many patients start from the optimum on this many
_WARM_GROUPS = 10_000


@dataclass
class MixedFit:
    """Result of :func:`fit_mixed`.

    Attributes
    ----------
    names : list of str
        Fixed-effect names (the columns of ``X``).
    fe_params, bse_fe : ndarray
        ``β̂`` and its standard errors ``sqrt(diag(σ̂² (X'V⁻¹X)⁻¹))``.
    cov_fe : ndarray
        ``σ̂² (X'V⁻¹X)⁻¹``.
    scale : float
        Residual variance ``σ̂²``.
    cov_re : ndarray
        Random-effect covariance ``σ̂² Λ Λ'`` (``q × q``), in the units of ``y`` (and ``y`` per
        unit of time for the slope).
    theta : ndarray
        The lower triangle of ``Λ`` (row-major) at the optimum.
    llf : float
        Restricted log-likelihood ``−d(θ̂)/2``.
    converged, boundary : bool
        The optimiser's verdict; a variance at zero or a correlation of ±1.
    note : str
        What the two flags mean, in plain words ("" when neither is set).
    n_obs, n_groups : int
    """

    names: list[str]
    fe_params: np.ndarray
    bse_fe: np.ndarray
    cov_fe: np.ndarray
    scale: float
    cov_re: np.ndarray
    theta: np.ndarray
    llf: float
    converged: bool
    boundary: bool
    n_obs: int
    n_groups: int
    re_names: list[str] = field(default_factory=list)
    note: str = ""

    def table(self, alpha: float = 0.05) -> pd.DataFrame:
        """``term, estimate, std_error, ci_low, ci_high, p_value`` (Wald, normal)."""
        z = stats.norm.ppf(1 - alpha / 2)
        est, se = self.fe_params, self.bse_fe
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.norm.sf(np.abs(est / se))
        return pd.DataFrame({"term": self.names, "estimate": est, "std_error": se,
                             "ci_low": est - z * se, "ci_high": est + z * se, "p_value": p})

    @property
    def re_sd(self) -> np.ndarray:
        """Standard deviations of the random effects."""
        return np.sqrt(np.clip(np.diag(self.cov_re), 0, None))


def _group_sums(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Σ over the rows of each group: ``(G, k)`` from ``(N, k)`` (one sparse product)."""
    n = len(codes)
    ind = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))
    return np.asarray(ind @ values)


def _mm(A, B):
    """Batched product of ``(G, q, q)`` arrays (or one of them ``(q, q)``), as ``q³`` vector
    operations — for ``q ≤ 2`` far faster than ``numpy.matmul``'s per-matrix loop."""
    q = A.shape[-1]
    G = A.shape[0] if A.ndim == 3 else B.shape[0]
    out = np.zeros((G, q, q))
    for a in range(q):
        for c in range(q):
            for b in range(q):
                out[:, a, c] += A[..., a, b] * B[..., b, c]
    return out


def _t(A):
    return np.swapaxes(A, -1, -2)


class _Reml:
    """Per-patient sufficient statistics and the profiled REML deviance ``d(θ)``.

    With ``A_i = Λ M_i⁻¹ Λ'`` (``q × q``, closed form for ``q ≤ 2``),
    ``X'V⁻¹X = X'X − Σ_ab Σ_i A_i[a,b] (Z_i'X_i)[a]' (Z_i'X_i)[b]``: for each pair ``(a, b)`` one
    weighted ``G × p`` Gram product (BLAS), and likewise for ``X'V⁻¹y`` and ``y'V⁻¹y``.
    """

    def __init__(self, y, X, Z, codes, n_groups):
        self.n, self.p = X.shape
        self.q = Z.shape[1]
        q, p = self.q, self.p
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, float(y @ y)
        zz = np.concatenate([Z[:, [a]] * Z for a in range(q)], axis=1)
        self.ZtZ = _group_sums(codes, n_groups, zz).reshape(n_groups, q, q)
        zx = np.concatenate([Z[:, [a]] * X for a in range(q)], axis=1)
        zx = _group_sums(codes, n_groups, zx).reshape(n_groups, q, p)
        self.ZtX = [np.ascontiguousarray(zx[:, a, :]) for a in range(q)]      # q × (G, p)
        self.Zty = _group_sums(codes, n_groups, Z * y[:, None])                # (G, q)
        self.tril = np.tril_indices(q)

    def lam(self, theta):
        L = np.zeros((self.q, self.q))
        L[self.tril] = theta
        return L

    def _small(self, L):
        """``M_i⁻¹`` with ``M_i = I + Λ' S_i Λ`` (closed form for ``q ≤ 2``), ``Σ log|M_i|`` and
        ``S_i Λ``, for all patients at once (arrays ``(G, q, q)``)."""
        SL = _mm(self.ZtZ, L)
        M = _mm(L.T, SL) + np.eye(self.q)
        if self.q == 1:
            det = M[:, 0, 0]
            Minv = (1.0 / det)[:, None, None]
        elif self.q == 2:
            m00, m01, m11 = M[:, 0, 0], M[:, 0, 1], M[:, 1, 1]
            det = m00 * m11 - m01 * m01
            Minv = np.empty_like(M)
            Minv[:, 0, 0], Minv[:, 1, 1] = m11 / det, m00 / det
            Minv[:, 0, 1] = Minv[:, 1, 0] = -m01 / det
        else:
            det = np.linalg.det(M)
            Minv = np.linalg.inv(M)
        return Minv, float(np.log(det).sum()), SL

    def _gram(self, A):
        """``Σ_i (Z_i'X_i)' A_i (Z_i'X_i)``, ``Σ_i (Z_i'X_i)' A_i Z_i'y_i``, ``Σ_i y_i'Z_i A_i Z_i'y_i``."""
        XAX = np.zeros((self.p, self.p))
        XAy = np.zeros(self.p)
        yAy = 0.0
        zy = self.Zty
        for a in range(self.q):
            for b in range(a, self.q):
                w = A[:, a, b]
                wa = self.ZtX[a] * w[:, None]
                if a == b:
                    XAX += wa.T @ self.ZtX[b]
                    XAy += wa.T @ zy[:, b]
                    yAy += float(w @ (zy[:, a] * zy[:, b]))
                else:
                    cross = wa.T @ self.ZtX[b]
                    XAX += cross + cross.T
                    XAy += wa.T @ zy[:, b] + (self.ZtX[b] * w[:, None]).T @ zy[:, a]
                    yAy += 2.0 * float(w @ (zy[:, a] * zy[:, b]))
        return XAX, XAy, yAy

    def solve(self, theta):
        """``(Σ log|M_i|, chol(X'V⁻¹X), X'V⁻¹X, β̂, r², small-matrix parts)`` at ``θ``."""
        L = self.lam(theta)
        Minv, logdet, SL = self._small(L)
        MiL = _mm(Minv, L.T)                              # M⁻¹ Λ'
        A = _mm(L, MiL)                                   # Λ M⁻¹ Λ'
        XAX, XAy, yAy = self._gram(A)
        XVX, XVy, yVy = self.XtX - XAX, self.Xty - XAy, self.yty - yAy
        C = np.linalg.cholesky(XVX)
        beta = np.linalg.solve(XVX, XVy)
        r2 = yVy - float(beta @ XVy)
        return logdet, C, XVX, beta, r2, (L, Minv, SL, MiL)

    def deviance(self, theta, grad: bool = False):
        """``d(θ)`` and, with ``grad=True``, its gradient

        ``∂d/∂θ_k = Σ_i tr(M_i⁻¹ ∂M_i) − Σ_i ⟨∂A_i, P_i + (N − p)/r² e_i e_i'⟩`` with
        ``A_i = Λ M_i⁻¹ Λ'``, ``P_i = Z_i'X_i (X'V⁻¹X)⁻¹ X_i'Z_i`` and
        ``e_i = Z_i'(y_i − X_i β̂)``; ``∂M_i = E_k' S_i Λ + Λ' S_i E_k``,
        ``∂A_i = E_k M_i⁻¹ Λ' + Λ M_i⁻¹ E_k' − Λ M_i⁻¹ ∂M_i M_i⁻¹ Λ'`` (``E_k = ∂Λ/∂θ_k``).
        """
        bad = (np.inf, np.full(len(theta), np.nan)) if grad else np.inf
        try:
            logdet, C, XVX, beta, r2, small = self.solve(theta)
        except np.linalg.LinAlgError:
            return bad
        dof = self.n - self.p
        if not r2 > 0:
            return bad
        value = (logdet + 2.0 * np.log(np.diag(C)).sum()
                 + dof * (1.0 + math.log(2.0 * math.pi * r2 / dof)))
        if not grad:
            return value
        _, Minv, SL, MiL = small
        q = self.q
        XVXinv = np.linalg.inv(XVX)
        B = [self.ZtX[a] @ XVXinv for a in range(q)]
        e = np.column_stack([self.Zty[:, a] - self.ZtX[a] @ beta for a in range(q)])
        W = np.empty((len(e), q, q))
        for a in range(q):
            for b in range(a, q):
                W[:, a, b] = W[:, b, a] = (np.einsum("gp,gp->g", B[a], self.ZtX[b])
                                           + dof / r2 * e[:, a] * e[:, b])
        g = np.empty(len(theta))
        LMi = _t(MiL)                                     # Λ M⁻¹
        for k, (i, j) in enumerate(zip(*self.tril)):
            E = np.zeros((q, q))
            E[i, j] = 1.0
            ESL = _mm(E.T, SL)
            dM = ESL + _t(ESL)
            EMiL = _mm(E, MiL)
            dA = EMiL + _t(EMiL) - _mm(_mm(LMi, dM), MiL)
            g[k] = float((Minv * dM).sum() - (dA * W).sum())
        return value, g


def one_blas_thread():
    """Context manager: BLAS limited to one thread (threadpoolctl) while models run.

    The fits here are many products of tall, narrow matrices (patients × ~30 columns), for
    which OpenBLAS's threads bring little, and on a busy machine their spin-waiting made single
    products ~200 times slower (2.3 s instead of 9 ms for a 100,000 × 30 weighted Gram matrix on
    a shared 2-core machine). Without threadpoolctl the BLAS default is kept.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit_mixed(y, X, groups, Z=None, *, names: Sequence[str] | None = None,
              re_names: Sequence[str] | None = None, maxiter: int = 500) -> MixedFit:
    """REML fit of ``y = Xβ + Zb + ε`` with independent patients (see the module docstring).

    Parameters
    ----------
    y : array (N,)
    X : DataFrame or array (N, p)
        Fixed-effect design (full column rank).
    groups : array (N,)
        Patient of each row.
    Z : array (N, q), optional
        Random-effect columns, ``q`` ≤ 2 in practice (any ``q`` works); default a random
        intercept (a column of ones).
    names, re_names : list of str, optional
        Names of the columns of ``X`` (default the DataFrame's columns) and of ``Z``.

    Returns
    -------
    MixedFit

    Raises
    ------
    RecordsError
        When ``X`` is not of full column rank or there are fewer rows than coefficients + 1.
    """
    with one_blas_thread():
        return _fit(y, X, groups, Z, names, re_names, maxiter)


def _fit(y, X, groups, Z, names, re_names, maxiter) -> MixedFit:
    if names is None:
        names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{j}" for j in
                                                                      range(np.shape(X)[1])]
    X = np.asarray(X, dtype="float64")
    y = np.asarray(y, dtype="float64")
    Z = np.ones((len(y), 1)) if Z is None else np.asarray(Z, dtype="float64").reshape(len(y), -1)
    codes, uniques = pd.factorize(np.asarray(groups))
    n_groups = len(uniques)
    n, p = X.shape
    q = Z.shape[1]
    re_names = list(re_names) if re_names is not None else (
        ["Intercept"] if q == 1 else [f"z{j}" for j in range(q)])
    if n - p < 1:
        raise RecordsError(f"A mixed model with {p} coefficients needs more than {p} ratings, "
                           f"but there are {n}; collect more records or drop covariates.")
    reml = _Reml(y, X, Z, codes, n_groups)
    tril = np.tril_indices(q)
    start = np.where(tril[0] == tril[1], 1.0, 0.0)
    bounds = [(0.0, None) if i == j else (None, None) for i, j in zip(*tril)]
    try:
        reml.solve(np.zeros_like(start))
    except np.linalg.LinAlgError as exc:
        raise RecordsError("The fixed-effect columns of the mixed model are not independent; "
                           "drop the redundant ones first.") from exc
    if n_groups > 2 * _WARM_GROUPS:
        start = _warm_start(y, X, Z, codes, n_groups, start, bounds)
    res = optimize.minimize(reml.deviance, start, args=(True,), method="L-BFGS-B", jac=True,
                            bounds=bounds,
                            options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-6})
    # at Λ_kk = 0 the deviance is even in Λ_kk, so its gradient there is exactly zero and the
    # optimiser can stop on that saddle: probe the inside and carry on from there if it is lower
    diag = tril[0] == tril[1]
    for _ in range(q):
        at_zero = np.flatnonzero(diag & (res.x < _EDGE))
        probes = []
        for k in at_zero:
            for delta in (1e-2, 1e-1, 0.5):
                trial = res.x.copy()
                trial[k] = delta
                probes.append((reml.deviance(trial), trial))
        if not probes:
            break
        value, trial = min(probes, key=lambda t: t[0])
        if not value < res.fun - 1e-8 * max(1.0, abs(res.fun)):
            break
        res = optimize.minimize(reml.deviance, trial, args=(True,), method="L-BFGS-B",
                                jac=True, bounds=bounds,
                                options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-6})
    theta = _canonical(res.x, tril)
    # a diagonal entry of Λ this close to zero is zero: take the exact edge when it fits as well
    edge = diag & (theta < _EDGE)
    if edge.any():
        trial = np.where(edge, 0.0, theta)
        if reml.deviance(trial) <= res.fun + 1e-9 * max(1.0, abs(res.fun)):
            theta = trial
    dev = reml.deviance(theta)
    if not np.isfinite(dev):
        raise RecordsError("The mixed model has no finite likelihood on these ratings (they do "
                           "not vary beyond what the fixed terms explain); check the measure's "
                           "values in the assessments.")
    # L-BFGS-B may stop on a failed line search at the optimum, where d is flat to rounding: then
    # the predicted further decrease ½ g'H⁻¹g (its own inverse-Hessian approximation, free
    # parameters only) decides — below 1e-4 deviance units nothing is left to gain
    _, g = reml.deviance(theta, True)
    free = ~(diag & (theta <= 0.0) & (g >= 0))
    gain = np.inf
    if np.all(np.isfinite(g)):
        gf = np.where(free, g, 0.0)
        gain = 0.5 * float(gf @ res.hess_inv.dot(gf))
    converged = bool(np.isfinite(dev) and (res.success or abs(gain) < 1e-4))
    _, _, XVX, beta, r2, _ = reml.solve(theta)
    dof = n - p
    scale = r2 / dof
    cov_fe = scale * np.linalg.inv(XVX)
    L = reml.lam(theta)
    cov_re = scale * (L @ L.T)
    singular = [j for j in range(q) if L[j, j] < _EDGE]
    zero = [re_names[j] for j in singular if np.all(np.abs(L[j, :j + 1]) < _EDGE)]
    corr_edge = len(zero) < len(singular)
    boundary = bool(singular)
    notes = []
    if zero:
        notes.append(_zero_words(zero) + " (a variance at the edge of what the data allow)")
    if corr_edge:
        notes.append("patients' average levels and time trends are perfectly correlated in "
                     "these data (a variance at the edge of what the data allow)")
    if not converged:
        notes.append(f"the fit did not settle ({res.message}); treat these estimates with "
                     "caution")
    return MixedFit(names=list(names), fe_params=beta, bse_fe=np.sqrt(np.diag(cov_fe)),
                    cov_fe=cov_fe, scale=float(scale), cov_re=cov_re, theta=theta,
                    llf=float(-dev / 2), converged=converged, boundary=boundary, n_obs=n,
                    n_groups=n_groups, re_names=re_names, note="; ".join(notes))


def _warm_start(y, X, Z, codes, n_groups, start, bounds) -> np.ndarray:
    """Starting ``θ`` for a large cohort: the optimum on :data:`_WARM_GROUPS` patients drawn at
    random (fixed seed) — a consistent estimate of the same ``θ``, so the optimiser on all
    patients starts close and needs a few iterations instead of a few dozen. Any failure on
    the subsample (e.g. a rare dummy absent from it) keeps the default start."""
    rng = np.random.default_rng(20240601)
    keep = np.zeros(n_groups, dtype=bool)
    keep[rng.choice(n_groups, _WARM_GROUPS, replace=False)] = True
    rows = keep[codes]
    sub = pd.factorize(codes[rows])[0]
    try:
        reml = _Reml(y[rows], X[rows], Z[rows], sub, _WARM_GROUPS)
        res = optimize.minimize(reml.deviance, start, args=(True,), method="L-BFGS-B",
                                jac=True, bounds=bounds, options={"maxiter": 200, "gtol": 1e-4})
    except (np.linalg.LinAlgError, ValueError):
        return start
    return res.x if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) else start


def _canonical(theta: np.ndarray, tril) -> np.ndarray:
    """Λ and Λ with a column negated give the same ΛΛ': make the diagonal non-negative."""
    q = int(max(tril[0])) + 1
    L = np.zeros((q, q))
    L[tril] = theta
    L = L * np.where(np.diag(L) < 0, -1.0, 1.0)[None, :]
    return L[tril]


def _zero_words(zero: list[str]) -> str:
    words = {"Intercept": "patients' average levels", "months": "patients' time trends"}
    said = " and ".join(words.get(z, z) for z in zero)
    return f"{said} do not differ detectably between patients beyond rating noise"
