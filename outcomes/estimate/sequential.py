"""The sequential doubly robust mean of one schedule: weighted iterated conditional expectations.

docs/methods.md §4.5. The clones of one strategy are followed step by step (step k starts at the
k-th on-schedule session; :func:`outcomes.estimate.target_trial.follow_strategy`). The g-formula
by iterated conditional expectations (ICE; Robins 1986, Bang & Robins 2005) fits, backwards:

- the **end**: ``Q_end = E[Y | history at the loss-to-follow-up cut, followed to L]`` among the
  followers whose outcome was seen, predicted for every follower;
- **step k = K … 1**: ``Q_k = E[Q_next | history at the start of step k]`` among the clones that
  stayed in step k (``Q_next`` is ``Q_{k+1}`` at their next step, or ``Q_end`` when step k ran to
  L), predicted for every clone at risk in step k;

and the mean is the average of ``Q_1`` over every eligible patient. Each regression is linear
with an intercept and a light ridge on the slopes (:data:`RIDGE`); in the **weighted** ICE each is weighted by the clone's cumulative inverse
probability of having stayed so far (``Π_{j≤k} 1 / P(stay_j)``; at the end also ``1 /
P(observed)``). With an intercept the weighted least-squares score makes each step's weighted
residuals sum to zero, which is what makes the estimator *sequentially* doubly robust: it is
consistent when, at every step, either that step's outcome regression or the models of staying
(and of coming to the review) are right (Bang & Robins 2005; Tran et al. 2019, the "weighted
ICE" of LTMLE). Unweighted (``weights=None``) it is the plain ICE g-formula, a check that leans
on the outcome regressions alone.

Everything is arrays: the plan (:func:`ice_plan`) is built once per strategy and every
bootstrap replicate is the same few least-squares solves with other case weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["IcePlan", "ice_mean", "ice_plan"]


@dataclass
class IcePlan:
    """The step rows of one strategy arranged for the backward pass."""

    steps: list            # per step k (ascending): indices of its rows
    nxt: np.ndarray        # per row: the row of the same clone at the next step, −1 when none
    stay: np.ndarray       # per row: stayed in the step
    patient: np.ndarray    # per row: the patient
    n: int                 # patients


def ice_plan(row_patient: np.ndarray, row_step: np.ndarray, row_stay: np.ndarray, n: int
             ) -> IcePlan:
    """Arrange the step rows of :func:`follow_strategy` (one per clone and step at risk)."""
    patient = np.asarray(row_patient, dtype=np.int64)
    step = np.asarray(row_step, dtype=np.int64)
    order = np.lexsort((step, patient))
    nxt = np.full(len(patient), -1, dtype=np.int64)
    same = (patient[order][1:] == patient[order][:-1])
    nxt[order[:-1][same]] = order[1:][same]
    ks = np.unique(step)
    return IcePlan([np.nonzero(step == k)[0] for k in ks], nxt,
                   np.asarray(row_stay, dtype=bool), patient, n)


#: Ridge on the slopes of every ICE regression, in pseudo-patients of average weight per column
#: (the columns are standardised): negligible with thousands of rows, it keeps a regression of a
#: few dozen followers on some forty columns from chasing noise, shrinking it towards the
#: weighted mean. The intercept is not penalised, so the weighted residuals still sum to zero
#: and the estimator stays doubly robust.
RIDGE = 2.0


def _fit_predict(X: np.ndarray, y: np.ndarray, w: np.ndarray, Xp: np.ndarray, count: float,
                 ridge: float = RIDGE) -> np.ndarray:
    """Weighted ridge least squares (intercept first and unpenalised), predicted at ``Xp``; the
    weighted mean of ``y`` when the design cannot be solved. ``count``: the patients behind the
    rows (their case weights summed), so that the ridge is per average patient's weight."""
    keep = w > 0
    if not keep.any():
        return np.full(len(Xp), np.nan)
    X, y, w = X[keep], y[keep], w[keep]
    p = X.shape[1]
    pen = np.full(p, ridge * float(w.sum()) / max(count, 1.0))
    pen[0] = 0.0
    Xw = X * w[:, None]
    try:
        coef = np.linalg.solve(Xw.T @ X + np.diag(pen), Xw.T @ y)
    except np.linalg.LinAlgError:
        return np.full(len(Xp), float(np.average(y, weights=w)))
    return Xp @ coef


def ice_mean(plan: IcePlan, step_X: np.ndarray, end_X: np.ndarray, y: np.ndarray,
             seen: np.ndarray, followed: np.ndarray, cw: np.ndarray,
             p_stay: np.ndarray | None = None, p_obs: np.ndarray | None = None,
             cap: float | None = None) -> float:
    """The ICE mean of one strategy for patient case weights ``cw``.

    Parameters
    ----------
    plan : IcePlan
    step_X : ndarray (rows, p)
        History at the start of each step row (intercept first).
    end_X : ndarray (n, q)
        History per patient at the loss-to-follow-up cut (intercept first).
    y, seen, followed : ndarray (n,)
        Outcome (any value where not ``seen``), whether it was seen, whether the clone followed
        the strategy to L.
    cw : ndarray (n,)
        Case weights (1 for the data, bootstrap counts for a replicate).
    p_stay, p_obs : ndarray, optional
        Fitted probabilities of staying (per row) and of the outcome being seen (per patient):
        given, the regressions are weighted by the cumulative inverse probabilities (the
        sequentially doubly robust estimator); ``None``, the plain ICE g-formula.
    cap : float, optional
        Quantile at which each regression's inverse-probability weights are capped.
    """
    weighted = p_stay is not None
    rows = len(plan.patient)
    rw = cw[plan.patient]
    if weighted:
        inv = 1.0 / np.maximum(p_stay, 1e-12)
        cum = np.ones(rows)
        for idx in plan.steps:            # cumulative product along each clone's steps
            nx = plan.nxt[idx]
            has = nx >= 0
            cum[nx[has]] = cum[idx[has]] * inv[idx[has]]
        cum_stay = cum * inv               # through the end of this row's step
    # the end: Y on the history at the cut among followers with an outcome
    fol = followed & (cw > 0)
    end_rows = fol & seen
    w_end = cw.copy()
    if weighted:
        last = np.ones(plan.n)
        is_last = plan.nxt < 0
        last[plan.patient[is_last]] = cum_stay[is_last]
        w_end = cw * last / np.maximum(p_obs, 1e-12)
        w_end = _capped(w_end, end_rows, cap)
    q_end = np.full(plan.n, np.nan)
    q_end[fol] = _fit_predict(end_X[end_rows], y[end_rows], w_end[end_rows], end_X[fol],
                              float(cw[end_rows].sum()))
    q_row = np.full(rows, np.nan)
    for idx in reversed(plan.steps):
        stayed = idx[plan.stay[idx]]
        if not len(stayed):
            q_row[idx] = np.nan
            continue
        nx = plan.nxt[stayed]
        target = np.where(nx >= 0, q_row[np.maximum(nx, 0)], q_end[plan.patient[stayed]])
        w = rw[stayed] * (cum_stay[stayed] if weighted else 1.0)
        ok = np.isfinite(target) & (w > 0)
        if weighted:
            w = _capped(w, ok, cap)
        q_row[idx] = _fit_predict(step_X[stayed][ok], target[ok], w[ok], step_X[idx],
                                  float(rw[stayed][ok].sum()))
    first = plan.steps[0]
    q1 = q_row[first]
    use = np.isfinite(q1) & (rw[first] > 0)
    if not use.any():
        return float("nan")
    return float(np.sum(rw[first][use] * q1[use]) / np.sum(rw[first][use]))


def _capped(w: np.ndarray, rows: np.ndarray, cap: float | None) -> np.ndarray:
    if cap is None or rows.sum() < 2:
        return w
    limit = np.quantile(w[rows], cap)
    return np.minimum(w, limit)
