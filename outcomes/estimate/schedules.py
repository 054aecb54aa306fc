"""Schedules compared: the emulated target trial (clone–censor–weight), docs/methods.md §4.

The question: *had every eligible patient followed schedule g, what would their mean improvement at
the landmark have been — and how much better is the protocol than coming every two months?*

Protocol of the emulated trial
------------------------------
eligibility
    a first session of the analysed treatments (t0), a baseline rating in ``[t0 − 30, t0]`` and
    enough time in the records to reach the landmark (``t0 + L + window ≤`` the last date in the
    records; a patient who started too recently could never have been followed to L).
time zero
    t0. Every eligible patient is a candidate for every strategy (:mod:`outcomes.strategies`).
follow-up
    until the *horizon* H: the landmark rating's day when the patient has one, else ``t0 + L``.
outcome
    improvement (positive = better) at the landmark rating, as in :mod:`outcomes.ratings`.
estimand
    ``μ_g = E[Y^g]`` over the eligible patients, and ``μ_g − μ_ref``.

Estimator
---------
1. **Clones and deviation steps.** Each eligible patient is cloned into every strategy. Step k
   starts right after the k-th on-schedule session (day ``s_k``); the clone *stays* in step k when
   its next session comes inside the window ``s_k + [lo_k, hi_k]``, or when it reaches H with no
   session too early and no window closed. It *deviates* at a session before ``s_k + lo_k``
   ("too early") or on day ``s_k + hi_k + 1`` with no session ("window missed"), if that is before
   H. Deviation censors the clone.
2. **Weights for deviation.** Per strategy, a pooled logistic model of staying at each step,
   ``P(stay_k | step, baseline rating, latest interim rating's change since baseline, an
   indicator of any interim rating, days since t0, days since the previous session,
   covariates)``, fitted by Newton–Raphson on every step row of that strategy's clones. The
   interim rating is the latest rating dated on or before ``s_k`` (a rating on a session day is
   taken before the session, so it is known when the next visit is decided).
3. **Weights for loss to follow-up.** One logistic model over all eligible patients of having a
   landmark rating, given the history at ``t0 + L − window`` (before any landmark rating can
   exist): baseline, latest interim change, sessions received before ``t0 + L``, days from the
   last of them to ``t0 + L``, covariates.
4. The weight of a clone that stayed to H and has its outcome is
   ``w = Π_k 1 / P(stay_k) × 1 / P(observed)``; weights above the ``truncate`` quantile (default
   the 99th percentile of that strategy's weights) are set to it, and the share truncated is
   reported.
5. **Means.** IPW (Hájek): ``Σ w Y / Σ w`` over uncensored clones. Doubly robust (the headline):
   a weighted least-squares outcome model ``Y ~ baseline + covariates`` among uncensored clones,
   its predictions averaged over *every* eligible patient (standardisation). The unweighted mean
   of the followers is shown as the naive per-protocol answer.
6. **Uncertainty.** Patient-level bootstrap: each replicate draws patients with replacement
   (multinomial counts used as case weights, so clones of one patient move together), refits
   every model, and recomputes every mean and contrast; 95 % percentile intervals.
7. **Positivity.** A strategy followed to the horizon, with an outcome, by fewer than
   ``min_followers`` (default 20) patients gets no number: *not estimable from these records*.

The per-session slope of :mod:`outcomes.models` is an association: with a saturating and fading
benefit one more session a month is not one effect, and patients who see no change stop coming, so
that slope mixes the effect of sessions with the effect of response on attendance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import RecordsError
from ..privacy import suppress_count
from ..protocols import Strategy
from ..records import Records
from ..records.dataset import read_strategies
from ..settings import Settings
from ..tables.ratings import landmark_ratings, measure_of, primary_ratings, select_sessions
from .mixed import one_blas_thread

__all__ = [
    "SCHEDULE_COLUMNS",
    "ScheduleComparison",
    "compare_strategies",
    "follow_strategy",
    "strategy_sentences",
    "strategy_text",
]

#: Columns of :attr:`ScheduleComparison.results` (one row per strategy and per contrast).
SCHEDULE_COLUMNS = ["measure", "model", "term", "estimate", "ci_low", "ci_high", "std_error",
                    "ipw_estimate", "naive_estimate", "n", "n_followed", "n_outcome",
                    "p_value", "note"]

_NUMERIC = ("age", "sleep_hours")
_CATEGORICAL = ("sex", "skin_type", "smoker", "sun_exposure", "skincare", "concern", "clinic_id")
_MIN_LEVEL = 5
_BIG = 1 << 20


# -------------------------------------------------------------------------------------------------
# deviation engine
# -------------------------------------------------------------------------------------------------

def follow_strategy(days: np.ndarray, horizon: np.ndarray, strategy: Strategy) -> dict:
    """Where each record deviates from ``strategy``.

    Parameters
    ----------
    days : ndarray (n, K)
        Session days since t0 per patient, ascending, ``days[:, 0] == 0``, padded with ``inf``.
    horizon : ndarray (n,)
        Day the follow-up ends (sessions on or after it do not count).
    strategy : Strategy

    Returns
    -------
    dict of arrays
        ``status`` per patient (``"followed"``, ``"too early"``, ``"window missed"``),
        ``step`` (the step at which the record deviated, 0 when followed), ``day`` (the day of the
        deviation, NaN when followed), ``n_steps`` (steps the patient was at risk in), and the step
        rows ``row_patient, row_step, row_start, row_prev_gap, row_stay`` — one per patient and
        step at risk, with the day the step starts (the on-schedule session it follows) and the gap
        from the session before that one.
    """
    days = np.asarray(days, dtype=np.float64)
    horizon = np.asarray(horizon, dtype=np.float64)
    n, K = days.shape
    status = np.full(n, "followed", dtype=object)
    step = np.zeros(n, dtype=np.int64)
    dev_day = np.full(n, np.nan)
    prev = np.zeros(n)
    prev_gap = np.zeros(n)
    nxt = np.ones(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    rows = {k: [] for k in ("patient", "step", "start", "prev_gap", "stay")}
    k = 1
    while active.any():
        ii = np.nonzero(active)[0]
        x = np.where(nxt[ii] < K, days[ii, np.minimum(nxt[ii], K - 1)], np.inf)
        h = horizon[ii]
        win = strategy.window(k)
        if win is None:
            early = x < h
            ontime = np.zeros(len(ii), dtype=bool)
            closed = np.zeros(len(ii), dtype=bool)
        else:
            lo, hi = prev[ii] + win[0], prev[ii] + win[1]
            early = (x < lo) & (x < h)
            ontime = ~early & (x <= hi) & (x < h)
            closed = ~early & ~ontime & (hi + 1 < h)
        finished = ~early & ~ontime & ~closed
        rows["patient"].append(ii)
        rows["step"].append(np.full(len(ii), k))
        rows["start"].append(prev[ii].copy())
        rows["prev_gap"].append(prev_gap[ii].copy())
        rows["stay"].append(ontime | finished)
        missed_day = x if win is None else hi + 1
        for mask, label, when in ((early, "too early", x), (closed, "window missed", missed_day)):
            sel = ii[mask]
            status[sel] = label
            step[sel] = k
            dev_day[sel] = when[mask]
        adv = ii[ontime]
        prev_gap[adv] = x[ontime] - prev[adv]
        prev[adv] = x[ontime]
        nxt[adv] += 1
        active[ii[~ontime]] = False
        k += 1
    out = {f"row_{key}": np.concatenate(v) if v else np.zeros(0) for key, v in rows.items()}
    out["row_stay"] = out["row_stay"].astype(bool)
    out.update(status=status, step=step, day=dev_day,
               n_steps=np.bincount(out["row_patient"].astype(np.int64), minlength=n))
    return out


# -------------------------------------------------------------------------------------------------
# fitting helpers (weighted, so that bootstrap replicates are case weights)
# -------------------------------------------------------------------------------------------------

def _logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, *, ridge: float = 1e-6,
              iters: int = 30, init: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Weighted logistic regression by Newton–Raphson with a tiny ridge on the slopes (keeps the
    fit finite under separation). Returns (coefficients, converged). ``init`` starts from given
    coefficients (the bootstrap starts from the fit to the data)."""
    p = X.shape[1]
    pen = np.full(p, ridge)
    pen[0] = 0.0
    if init is not None:
        beta = init.copy()
    else:
        beta = np.zeros(p)
        ybar = np.clip(np.average(y, weights=w) if w.sum() > 0 else 0.5, 1e-4, 1 - 1e-4)
        beta[0] = math.log(ybar / (1 - ybar))
    converged = False
    for _ in range(iters):
        eta = np.clip(X @ beta, -30, 30)
        mu = 1.0 / (1.0 + np.exp(-eta))
        grad = X.T @ (w * (y - mu)) - pen * beta
        hess = (X * (w * mu * (1 - mu))[:, None]).T @ X + np.diag(pen)
        try:
            delta = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            delta = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + delta
        if np.max(np.abs(delta)) < 1e-8:
            converged = True
            break
    return beta, converged


def _prob(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -30, 30)))


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = np.sqrt(w)
    return np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]


def _standardise(X: np.ndarray, keep_first: bool = True) -> np.ndarray:
    out = X.astype(np.float64).copy()
    sd = out.std(axis=0)
    mean = out.mean(axis=0)
    start = 1 if keep_first else 0
    for j in range(start, out.shape[1]):
        if sd[j] > 0:
            out[:, j] = (out[:, j] - mean[j]) / sd[j]
    return out


# -------------------------------------------------------------------------------------------------
# the trial's data
# -------------------------------------------------------------------------------------------------

def _covariates(patients: pd.DataFrame, ids: pd.Index) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """Baseline covariate design (no intercept) for ``ids``: numbers mean-imputed with a missing
    indicator, categories as dummies with a ``missing`` level, levels under 5 patients pooled
    into the most common one."""
    p = patients.drop_duplicates("patient_id").set_index("patient_id").reindex(ids)
    cols, names, raw = [], [], {}
    for name in _NUMERIC:
        if name not in p:
            continue
        v = pd.to_numeric(p[name], errors="coerce").astype("float64")
        if v.notna().sum() == 0:
            continue
        raw[name] = v
        miss = v.isna().to_numpy()
        filled = v.fillna(v.mean()).to_numpy()
        if np.ptp(filled) > 0:
            cols.append(filled)
            names.append(name)
        if miss.any() and (~miss).any():
            cols.append(miss.astype(float))
            names.append(f"{name} missing")
    for name in _CATEGORICAL:
        if name not in p:
            continue
        v = p[name].astype("object").where(p[name].notna(), "missing").astype(str)
        counts = v.value_counts()
        if len(counts) < 2:
            continue
        ref = counts.index[0]
        v = v.where(v.map(counts) >= _MIN_LEVEL, ref)
        raw[name] = v
        for level in sorted(set(v) - {ref}):
            cols.append((v == level).to_numpy(float))
            names.append(f"{name}: {level}")
    X = np.column_stack(cols) if cols else np.zeros((len(ids), 0))
    return X, names, pd.DataFrame(raw, index=ids)


@dataclass
class _Trial:
    ids: pd.Index
    t0: pd.Series
    baseline: np.ndarray
    outcome: np.ndarray          # improvement, NaN when no landmark rating
    observed: np.ndarray
    horizon: np.ndarray
    days: np.ndarray             # (n, K) session days since t0 before the horizon, inf padded
    rating_key: np.ndarray       # sorted patient_code * _BIG + day of primary ratings
    rating_change: np.ndarray    # change since baseline (positive = better) of those ratings
    histories: list              # (key, change / mic) of every measure, this one first
    X: np.ndarray                # covariates
    names: list[str]
    raw: pd.DataFrame
    ltfu_X: np.ndarray
    n_sessions: int
    n_rated_sessions: int
    excluded: dict = field(default_factory=dict)
    baseline_days: int = 30


def _build_trial(records: Records, measure: str, *, landmark_days: int, window_days: int,
                 baseline_days: int, treatments, region: str, rater: str,
                 derived: dict | None = None) -> _Trial:
    st = Settings(measure=measure, landmark_days=landmark_days, window_days=window_days,
                  baseline_days=baseline_days, treatments=treatments, region=region, rater=rater)
    m = measure_of(records, st)
    derived = derived or {}
    lm = derived.get("ratings")
    if lm is None:
        lm = landmark_ratings(records, st)
    dates = [records.sessions["date"].max(), records.assessments["date"].max()]
    data_end = max(d for d in dates if pd.notna(d)) if any(pd.notna(d) for d in dates) else None
    has_t0 = lm["t0"].notna()
    has_base = has_t0 & lm["baseline"].notna()
    late = has_base & (lm["t0"] + pd.Timedelta(days=landmark_days + window_days) > data_end)
    keep = has_base & ~late
    excluded = {"no session of the analysed treatments": int((~has_t0).sum()),
                "no baseline rating": int((has_t0 & ~has_base).sum()),
                "started too recently to reach the landmark": int(late.sum())}
    lm = lm[keep].reset_index(drop=True)
    ids = pd.Index(lm["patient_id"].astype(str), name="patient_id")
    n = len(ids)
    code = pd.Series(np.arange(n), index=ids)
    observed = lm["status"].eq("included").to_numpy()
    horizon = np.where(observed, lm["followup_days"].to_numpy(), float(landmark_days))
    t0 = lm.set_index("patient_id")["t0"]

    s = derived.get("sessions")
    if s is None:
        s = select_sessions(records, st)
    s = s[s["patient_id"].astype(str).isin(ids)]
    pc = code.reindex(s["patient_id"].astype(str)).to_numpy()
    day = (s["date"].to_numpy() - t0.reindex(s["patient_id"].astype(str)).to_numpy()
           ) / np.timedelta64(1, "D")
    day = np.floor(day.astype(np.float64))
    order = np.lexsort((day, pc))
    pc, day = pc[order], day[order]
    first = np.r_[True, (pc[1:] != pc[:-1]) | (day[1:] != day[:-1])] if len(pc) else pc.astype(bool)
    pc, day = pc[first], day[first]
    before = day < horizon[pc]
    pc_h, day_h = pc[before], day[before]
    counts = np.bincount(pc_h, minlength=n)
    K = max(int(counts.max()) if n else 1, 1) + 1
    days = np.full((n, K), np.inf)
    starts = np.r_[0, np.cumsum(counts)[:-1]] if n else np.zeros(0, int)
    pos = np.arange(len(pc_h)) - starts[pc_h]
    days[pc_h, pos] = day_h

    base = lm["baseline"].to_numpy(np.float64)
    r = derived.get("primary")
    if r is None:
        r = primary_ratings(records, st)
    key, change, _ = _history(r, m, code, t0, baseline_days, base)
    histories = [(key, change / m.minimal_important_change)]
    X, names, raw = _covariates(records.patients, ids)
    # the other measures: the patient may decide on them too (their latest change, and their
    # baseline as a covariate, mean-imputed with a missing indicator)
    extra_cols, extra_names = [], []
    for other in records.measures:
        if other == measure or other not in records.assessments:
            continue
        om = records.measures[other]
        r2 = primary_ratings(records, st.replace(measure=other))
        k2, c2, b2 = _history(r2, om, code, t0, baseline_days, None)
        if not np.isfinite(b2).any():
            continue
        histories.append((k2, c2 / om.minimal_important_change))
        miss = ~np.isfinite(b2)
        extra_cols.append(np.where(miss, np.nanmean(b2), b2))
        extra_names.append(f"baseline {other}")
        if miss.any():
            extra_cols.append(miss.astype(float))
            extra_names.append(f"baseline {other} missing")
    if extra_cols:
        X = np.column_stack([X, *extra_cols]) if X.shape[1] else np.column_stack(extra_cols)
        names = names + extra_names
    # sessions before the horizon that carried a rating (taken before the session)
    sess_key = pc_h.astype(np.int64) * _BIG + (day_h + baseline_days).astype(np.int64)
    rated = np.isin(sess_key[day_h > 0], key)
    # loss to follow-up covariates, at t0 + L − window
    cut = float(landmark_days - window_days)
    lt_change, lt_has = _latest(key, change, np.arange(n), np.full(n, cut), baseline_days)
    s_before_L = day < landmark_days
    nL = np.bincount(pc[s_before_L], minlength=n)
    lastL = np.full(n, 0.0)
    np.maximum.at(lastL, pc[s_before_L], day[s_before_L])
    hist = _history_features(histories, np.arange(n), np.full(n, cut), baseline_days)
    # (the first two history columns are lt_change and lt_has themselves)
    ltfu_X = np.column_stack([base, lt_change, lt_has, nL, landmark_days - lastL, *hist[2:]])
    return _Trial(ids, t0, base, lm["improvement"].to_numpy(np.float64), observed, horizon, days,
                  key, change, histories, X, names, raw, ltfu_X, int((day_h > 0).sum()),
                  int(rated.sum()), excluded, baseline_days)


def _history(r: pd.DataFrame, m, code: pd.Series, t0: pd.Series, baseline_days: int,
             base: np.ndarray | None):
    """Sorted keys (patient code, day) and changes since baseline of one measure's ratings of the
    eligible patients; the baseline (latest in [t0 − baseline_days, t0]) is computed when not
    given."""
    n = len(code)
    r = r[r["patient_id"].astype(str).isin(code.index)]
    pid = r["patient_id"].astype(str)
    rc = code.reindex(pid).to_numpy()
    rday = np.floor(((r["date"].to_numpy() - t0.reindex(pid).to_numpy())
                     / np.timedelta64(1, "D")).astype(np.float64))
    value = r["value"].to_numpy(np.float64)
    inside = rday >= -baseline_days
    rc, rday, value = rc[inside], rday[inside], value[inside]
    key = rc.astype(np.int64) * _BIG + (rday + baseline_days).astype(np.int64)
    order = np.argsort(key, kind="stable")
    key, value, rc, rday = key[order], value[order], rc[order], rday[order]
    if base is None:
        base = np.full(n, np.nan)
        b = rday <= 0
        base[rc[b]] = value[b]            # sorted by day: the latest baseline rating wins
    change = np.asarray(m.improvement(pd.Series(base[rc]), pd.Series(value)), dtype=np.float64)
    ok = np.isfinite(change)
    return key[ok], change[ok], base


def _history_features(histories, patient: np.ndarray, at: np.ndarray, baseline_days: int
                      ) -> list[np.ndarray]:
    """Latest interim change of every measure (in units of its minimal important change) on or
    before ``at``: the change, an indicator that there is one, "no change or worse" (≤ 0) and
    "clearly better" (≥ 1); then the same three for the mean over the measures rated."""
    cols, changes, hases = [], [], []
    for key, change in histories:
        c, h = _latest(key, change, patient, at, baseline_days)
        cols += [c, h, h * (c <= 0), h * (c >= 1)]
        changes.append(c)
        hases.append(h)
    if len(histories) > 1:
        hs = np.sum(hases, axis=0)
        mean = np.where(hs > 0, np.sum(changes, axis=0) / np.maximum(hs, 1), 0.0)
        has = (hs > 0).astype(float)
        cols += [mean, has * (mean <= 0), has * (mean >= 1)]
    return cols


def _latest(key: np.ndarray, change: np.ndarray, patient: np.ndarray, at: np.ndarray,
            baseline_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Change since baseline of the latest rating after t0 and on or before day ``at`` (0 and
    indicator 0 when there is none)."""
    q = patient.astype(np.int64) * _BIG + (np.floor(at) + baseline_days).astype(np.int64)
    j = np.searchsorted(key, q, side="right") - 1
    ok = j >= 0
    jj = np.maximum(j, 0)
    same = ok & (key[jj] // _BIG == patient) & ((key[jj] % _BIG) > baseline_days)
    return np.where(same, change[jj], 0.0), same.astype(np.float64)


# -------------------------------------------------------------------------------------------------
# one estimation (all strategies) for a vector of patient case weights
# -------------------------------------------------------------------------------------------------

@dataclass
class _Arm:
    strategy: Strategy
    follow: dict
    step_X: np.ndarray           # design of the step rows (standardised, intercept first)
    stay: np.ndarray
    row_patient: np.ndarray
    uncensored: np.ndarray       # patients who followed to the horizon and have an outcome
    followed: np.ndarray


def _arm(trial: _Trial, strategy: Strategy, baseline_days: int) -> _Arm:
    f = follow_strategy(trial.days, trial.horizon, strategy)
    pat = f["row_patient"].astype(np.int64)
    hist = _history_features(trial.histories, pat, f["row_start"], baseline_days)
    steps = f["row_step"].astype(np.int64)
    n_levels = min(int(steps.max()) if len(steps) else 1, 4)
    dummies = [(np.minimum(steps, 4) == k).astype(float) for k in range(2, n_levels + 1)]
    cols = [np.ones(len(pat)), trial.baseline[pat], *hist, f["row_start"],
            f["row_prev_gap"], *dummies]
    X = np.column_stack(cols + ([trial.X[pat]] if trial.X.shape[1] else []))
    followed = f["status"] == "followed"
    return _Arm(strategy, f, _standardise(X), f["row_stay"], pat,
                followed & trial.observed, followed)


def _estimate(trial: _Trial, arms: dict[str, _Arm], ltfu_X: np.ndarray, out_X: np.ndarray,
              cw: np.ndarray, truncate: float | None, want_weights: bool = False,
              init: dict | None = None) -> dict:
    """Means under every strategy for patient case weights ``cw`` (1 for the data itself);
    ``init`` holds the coefficients of the fit to the data, as starting values."""
    init = init or {}
    beta, _ = _logistic(ltfu_X, trial.observed.astype(float), cw, init=init.get("_ltfu"))
    p_obs = _prob(ltfu_X, beta)
    res = {}
    for name, arm in arms.items():
        rw = cw[arm.row_patient]
        if arm.stay.all():
            p_stay = np.ones(len(arm.stay))
            b = None
            conv = True
        else:
            b, conv = _logistic(arm.step_X, arm.stay.astype(float), rw, init=init.get(name))
            p_stay = _prob(arm.step_X, b)
        logw = np.bincount(arm.row_patient, weights=-np.log(np.maximum(p_stay, 1e-12)),
                           minlength=len(cw))
        unc = arm.uncensored & (cw > 0)
        w = np.exp(logw) / np.maximum(p_obs, 1e-12)
        w_unc = w[unc]
        n_trunc = 0
        if truncate is not None and len(w_unc) > 1:
            cap = np.quantile(w_unc, truncate)
            n_trunc = int((w_unc > cap).sum())
            w_unc = np.minimum(w_unc, cap)
        y = trial.outcome[unc]
        cwu = cw[unc]
        tot = cwu * w_unc
        entry = {"n_outcome": int(unc.sum()), "converged": conv,
                 "beta": None if arm.stay.all() else b, "beta_ltfu": beta}
        if unc.sum() == 0 or tot.sum() <= 0:
            entry.update(dr=np.nan, ipw=np.nan, naive=np.nan)
        else:
            entry["ipw"] = float(np.sum(tot * y) / np.sum(tot))
            entry["naive"] = float(np.sum(cwu * y) / np.sum(cwu))
            Xo = out_X[unc]
            usable = _usable_columns(Xo, cwu)
            coef = _wls(Xo[:, usable], y, tot)
            pred = out_X[:, usable] @ coef
            entry["dr"] = float(np.sum(cw * pred) / np.sum(cw))
        if want_weights:
            entry.update(weights=w_unc, truncated=n_trunc, p_stay=p_stay, p_obs=p_obs, unc=unc)
        res[name] = entry
    return res


def _usable_columns(X: np.ndarray, cw: np.ndarray) -> np.ndarray:
    """Intercept and baseline always; a covariate column only when it varies among the
    uncensored (a dummy with at least 5 patients on each side), and at most one column per 10
    uncensored patients."""
    n = int(cw.sum())
    keep = [0, 1]
    budget = max(n // 10 - 2, 0)
    for j in range(2, X.shape[1]):
        if len(keep) - 2 >= budget:
            break
        col = X[:, j]
        vals = np.unique(col)
        if len(vals) <= 2:
            ones = cw[col == vals[-1]].sum() if len(vals) == 2 else 0
            if ones < _MIN_LEVEL or n - ones < _MIN_LEVEL:
                continue
        elif np.ptp(col) == 0:
            continue
        keep.append(j)
    return np.asarray(keep)


# -------------------------------------------------------------------------------------------------
# the results object
# -------------------------------------------------------------------------------------------------

@dataclass
class ScheduleComparison:
    """The schedule comparison of one measure: results, diagnostics and the settings behind them.

    Attributes
    ----------
    results : DataFrame
        :data:`SCHEDULE_COLUMNS`; one row per strategy (``term`` = its name, ``estimate`` = the
        doubly robust mean improvement, ``ipw_estimate`` the weighted mean, ``naive_estimate``
        the plain mean of the followers) and one per contrast ``"NAME - REFERENCE"``. A strategy
        that is not estimable has ``estimate``, ``ci_low``, ``ci_high`` missing and says why in
        ``note``.
    followers : DataFrame
        Per strategy and step: clones at risk, staying, deviating (too early / window missed),
        share of the eligible patients still following.
    weights : DataFrame
        Per strategy: patients with an outcome, largest and mean weight, effective sample size,
        share truncated.
    balance : DataFrame
        Per strategy and covariate: standardised mean difference between the followers with an
        outcome and all eligible patients, before and after weighting.
    sensitivity : DataFrame
        Contrasts with the grace windows halved and widened by half.
    loss : DataFrame
        Share of eligible patients with a landmark rating, by interim response.
    protocol : DataFrame
        The emulated trial's protocol (eligibility, time zero, strategies, outcome, estimand,
        analysis) filled from the settings.
    notes : list of str
        Plain-language warnings (no interim ratings, weight models that did not converge, …).
    settings : dict
    """

    results: pd.DataFrame
    followers: pd.DataFrame
    weights: pd.DataFrame
    balance: pd.DataFrame
    sensitivity: pd.DataFrame
    loss: pd.DataFrame
    protocol: pd.DataFrame
    notes: list[str]
    settings: dict
    excluded: dict
    replicates: dict = field(default_factory=dict)
    point: dict = field(default_factory=dict)

    def contrast(self, name: str, other: str) -> dict:
        """Difference ``name − other`` of two strategies' doubly robust means with its bootstrap
        95% CI (any pair, not only against the reference); NaN when either is not estimable."""
        res = self.results.set_index("term")
        for s in (name, other):
            if s not in res.index or " - " in s:
                raise RecordsError(f"The value for `name`/`other` must be one of "
                                   f"{list(self.settings['strategies'])}, but {s!r} was passed.")
        a, b = res.loc[name], res.loc[other]
        if not (np.isfinite(a["estimate"]) and np.isfinite(b["estimate"])):
            return {"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "std_error": np.nan}
        lo, hi, se = (_ci(self.replicates[name] - self.replicates[other])
                      if name in self.replicates else (np.nan,) * 3)
        return {"estimate": float(a["estimate"] - b["estimate"]), "ci_low": lo, "ci_high": hi,
                "std_error": se}


def _check_settings(strategies: dict, reference: str, min_followers, boot, truncate, seed):
    if reference not in strategies:
        raise RecordsError(f"The value for `reference` must be one of {list(strategies)}, but "
                           f"{reference!r} was passed.")
    for name, value, low in (("min_followers", min_followers, 1), ("boot", boot, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise RecordsError(f"`{name}` must be a whole number ≥ {low}, but {value!r} was "
                               "passed.")
    if truncate is not None and not (0.5 < float(truncate) <= 1.0):
        raise RecordsError(f"`truncate` must be a quantile in (0.5, 1] or None, but {truncate!r} "
                           "was passed.")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise RecordsError(f"`seed` must be a whole number, but {seed!r} was passed.")


def _resolve_strategies(records: Records, strategies) -> dict[str, Strategy]:
    if strategies is None:
        source = getattr(records, "source", None)
        path = None if source is None else source / "dataset.toml"
        return read_strategies(path)
    if isinstance(strategies, dict):
        return dict(strategies)
    out = {}
    for s in strategies:
        if not isinstance(s, Strategy):
            raise RecordsError(f"`strategies` must hold Strategy objects, but {s!r} was passed.")
        out[s.name] = s
    return out


def compare_strategies(records: Records, *, measure: str = "pore", landmark_days: int = 182,
                       window_days: int = 45, baseline_days: int = 30, treatments=None,
                       strategies: dict[str, Strategy] | Iterable[Strategy] | None = None,
                       reference: str = "every_2_months", min_followers: int = 20,
                       boot: int = 200, seed: int = 1, truncate: float | None = 0.99,
                       region: str = "face", rater: str = "clinician", sensitivity: bool = True,
                       progress: bool = False, derived: dict | None = None
                       ) -> ScheduleComparison:
    """Compare schedules as an emulated target trial (clone–censor–weight; module docstring).

    Parameters
    ----------
    records : Records
    measure : str
        The measure whose improvement is the outcome.
    landmark_days, window_days, baseline_days : int
        The landmark L (days after t0), its window and the baseline window, as in
        :func:`outcomes.ratings.landmark_ratings`.
    treatments : str or list, optional
        Sessions counted (and t0); every treatment by default.
    strategies : dict or list of Strategy, optional
        Default: the four defaults plus any declared in the records' ``dataset.toml``.
    reference : str
        The strategy every other one is compared with (default ``every_2_months``).
    min_followers : int
        Fewest patients who must have followed a strategy to the landmark (with a rating there)
        for it to get a number.
    boot : int
        Bootstrap replicates (0: no confidence intervals).
    seed : int
        Seed of the bootstrap.
    truncate : float or None
        Quantile at which weights are truncated (None: not truncated).
    sensitivity : bool
        Also compute the contrasts with the grace windows halved and widened by half.
    progress : bool
        Show a progress bar over the bootstrap replicates (on standard error).
    derived : dict, optional
        Tables already derived for exactly these settings (``ratings``, ``sessions``,
        ``primary``), as :class:`outcomes.analysis.Analysis` holds them; not recomputed.

    Returns
    -------
    ScheduleComparison
    """
    strategies = _resolve_strategies(records, strategies)
    _check_settings(strategies, reference, min_followers, boot, truncate, seed)
    with one_blas_thread():    # many small products: BLAS threads only spin (outcomes.mixed)
        return _compare(records, measure, landmark_days, window_days, baseline_days, treatments,
                        strategies, reference, min_followers, boot, seed, truncate, region,
                        rater, sensitivity, progress, derived)


def _compare(records, measure, landmark_days, window_days, baseline_days, treatments, strategies,
             reference, min_followers, boot, seed, truncate, region, rater, sensitivity,
             progress, derived) -> ScheduleComparison:
    trial = _build_trial(records, measure, landmark_days=landmark_days, window_days=window_days,
                         baseline_days=baseline_days, treatments=treatments, region=region,
                         rater=rater, derived=derived)
    settings = {"measure": measure, "landmark_days": landmark_days, "window_days": window_days,
                    "baseline_days": baseline_days, "treatments": treatments, "reference": reference,
                    "min_followers": min_followers, "boot": boot, "seed": seed, "truncate": truncate,
                    "region": region, "rater": rater,
                    "strategies": {k: v.label for k, v in strategies.items()},
                    "short": {k: v.short() for k, v in strategies.items()}}
    notes = []
    n = len(trial.ids)
    if n == 0:
        empty = _not_estimable_results(measure, strategies, reference, 0,
                                       "no eligible patient (a first session, a baseline rating "
                                       "and time to reach the landmark)")
        return ScheduleComparison(empty, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                                  pd.DataFrame(), pd.DataFrame(),
                                  _protocol_table(settings, strategies), notes, settings,
                                  trial.excluded)
    arms = {name: _arm(trial, s, baseline_days) for name, s in strategies.items()}
    ltfu_X = _standardise(np.column_stack([np.ones(n), trial.ltfu_X] +
                                          ([trial.X] if trial.X.shape[1] else [])))
    out_X = np.column_stack([np.ones(n), trial.baseline] +
                            ([trial.X] if trial.X.shape[1] else []))
    point = _estimate(trial, arms, ltfu_X, out_X, np.ones(n), truncate, want_weights=True)
    reps = _bootstrap(trial, arms, ltfu_X, out_X, boot, seed, truncate, progress, point)
    results = _results_table(measure, trial, arms, point, reps, reference, min_followers)
    notes += _notes(trial, arms, point)
    sens = _sensitivity(trial, strategies, reference, baseline_days, ltfu_X, out_X, truncate,
                        min_followers, measure) if sensitivity else pd.DataFrame()
    return ScheduleComparison(results, _followers_table(trial, arms),
                              _weights_table(arms, point), _balance_table(trial, arms, point),
                              sens, _loss_table(trial), _protocol_table(settings, strategies),
                              notes, settings, trial.excluded,
                              replicates={k: v[:, 0] for k, v in reps.items()},
                              point={k: {"dr": v["dr"], "ipw": v["ipw"], "naive": v["naive"],
                                         "n_outcome": v["n_outcome"]}
                                     for k, v in point.items()})


def _bootstrap(trial, arms, ltfu_X, out_X, boot, seed, truncate, progress, point
               ) -> dict[str, np.ndarray]:
    n = len(trial.ids)
    init = {name: e["beta"] for name, e in point.items() if e["beta"] is not None}
    if point:
        init["_ltfu"] = next(iter(point.values()))["beta_ltfu"]
    rng = np.random.default_rng(seed)
    out = {name: np.full((boot, 3), np.nan) for name in arms}
    iterator = range(boot)
    if progress and boot:
        from tqdm.auto import tqdm
        iterator = tqdm(iterator, desc="bootstrap", unit="replicate", leave=False)
    for b in iterator:
        cw = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64)
        est = _estimate(trial, arms, ltfu_X, out_X, cw, truncate, init=init)
        for name, e in est.items():
            out[name][b] = (e["dr"], e["ipw"], e["n_outcome"])
    return out


def _ci(values: np.ndarray) -> tuple[float, float, float]:
    v = values[np.isfinite(values)]
    if len(v) < 10:
        return np.nan, np.nan, np.nan
    lo, hi = np.quantile(v, [0.025, 0.975])
    return float(lo), float(hi), float(v.std(ddof=1))


def _results_table(measure, trial, arms, point, reps, reference, min_followers) -> pd.DataFrame:
    n = len(trial.ids)
    rows = []
    ok = {}
    for name, arm in arms.items():
        e = point[name]
        n_out = e["n_outcome"]
        n_fol = int(arm.followed.sum())
        ok[name] = n_out >= min_followers
        row = {"measure": measure, "model": "strategy", "term": name, "n": n, "n_followed": n_fol,
                   "n_outcome": n_out, "p_value": np.nan}
        if ok[name]:
            lo, hi, se = _ci(reps[name][:, 0])
            row.update(estimate=e["dr"], ci_low=lo, ci_high=hi, std_error=se,
                       ipw_estimate=e["ipw"], naive_estimate=e["naive"],
                       note=f"{arm.strategy.label}; followed to the review by "
                            f"{suppress_count(n_out)} of {n} eligible patients")
        else:
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, std_error=np.nan,
                       ipw_estimate=np.nan, naive_estimate=np.nan,
                       note=f"not estimable: only {suppress_count(n_out)} patients followed it "
                            f"to the review (at least {min_followers} needed)")
        rows.append(row)
    for name in arms:
        if name == reference:
            continue
        term = f"{name} - {reference}"
        row = {"measure": measure, "model": "strategy", "term": term, "n": n,
                   "n_followed": int(arms[name].followed.sum()),
                   "n_outcome": point[name]["n_outcome"], "ipw_estimate": np.nan,
                   "naive_estimate": np.nan, "p_value": np.nan}
        if ok[name] and ok[reference]:
            diff = reps[name][:, 0] - reps[reference][:, 0]
            lo, hi, se = _ci(diff)
            v = diff[np.isfinite(diff)]
            p = (min(1.0, 2 * min((v <= 0).mean(), (v >= 0).mean()) + 1 / (len(v) + 1))
                 if len(v) >= 10 else np.nan)
            row.update(estimate=point[name]["dr"] - point[reference]["dr"], ci_low=lo,
                       ci_high=hi, std_error=se, p_value=p,
                       ipw_estimate=point[name]["ipw"] - point[reference]["ipw"],
                       naive_estimate=point[name]["naive"] - point[reference]["naive"],
                       note="difference in mean improvement")
        else:
            bad = [s for s in (name, reference) if not ok[s]]
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, std_error=np.nan,
                       note="not estimable: " + " and ".join(bad) + " followed by too few "
                            "patients")
        rows.append(row)
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def _not_estimable_results(measure, strategies, reference, n, why) -> pd.DataFrame:
    rows = [{"measure": measure, "model": "strategy", "term": t, "n": n, "n_followed": 0, "n_outcome": 0,
                 "note": f"not estimable: {why}"}
            for t in list(strategies) + [f"{s} - {reference}" for s in strategies
                                         if s != reference]]
    return pd.DataFrame(rows).reindex(columns=SCHEDULE_COLUMNS)


def _notes(trial: _Trial, arms, point) -> list[str]:
    notes = []
    if trial.n_sessions and trial.n_rated_sessions == 0:
        notes.append("These records hold no ratings between the baseline and the review, so "
                     "patients who stopped or spaced out their visits because they saw (or did "
                     "not see) a change cannot be corrected for; the comparison assumes "
                     "attendance did not depend on how the skin responded.")
    elif trial.n_sessions:
        share = trial.n_rated_sessions / trial.n_sessions
        notes.append(f"{share:.0%} of the follow-up sessions carried a rating taken before the "
                     "session; the weights use the latest such rating to correct for patients "
                     "who changed their visits because of how their skin responded.")
        unseen = _stopped_unseen(trial)
        if unseen[0]:
            notes.append(f"Of the {suppress_count(unseen[0])} patients who stopped after 2 or 3 "
                         f"sessions, {suppress_count(unseen[1])} had no rating after their first "
                         "session before they stopped: if some of them stopped because they saw "
                         "no change, no weighting can know it, and the longer schedules look "
                         "somewhat better than they are (docs/methods.md §4.15).")
    for name, e in point.items():
        if not e["converged"] and e["n_outcome"] > 0:
            notes.append(f"The model of who kept to '{name}' did not settle (some choices were "
                         "almost perfectly predictable); its weights may be unstable.")
        w = e.get("weights")
        if w is not None and len(w) and w.max() > 20 * w.mean():
            notes.append(f"A few patients carry much of the weight under '{name}' (largest weight "
                         f"{w.max():.0f}× the average): treat its number with care.")
    return notes


def _stopped_unseen(trial: _Trial) -> tuple[int, int]:
    """Patients with 2–3 sessions before the horizon and none after it in the records window
    ("stopped early"), and how many of them had no interim rating on or before their last
    session."""
    n_s = np.isfinite(trial.days).sum(axis=1)
    early = (n_s >= 2) & (n_s <= 3)
    if not early.any():
        return 0, 0
    last = trial.days[np.arange(len(n_s)), np.maximum(n_s - 1, 0)]
    key, change = trial.rating_key, trial.rating_change
    idx = np.nonzero(early)[0]
    _, has = _latest(key, change, idx, last[idx], trial.baseline_days)
    return int(early.sum()), int((has == 0).sum())


def _share(k, n):
    return k / n if n else np.nan


def _followers_table(trial, arms) -> pd.DataFrame:
    n = len(trial.ids)
    rows = []
    for name, arm in arms.items():
        f = arm.follow
        steps = f["row_step"].astype(int)
        for k in np.unique(steps):
            at = steps == k
            stay = int(f["row_stay"][at].sum())
            early = int(((f["status"] == "too early") & (f["step"] == k)).sum())
            missed = int(((f["status"] == "window missed") & (f["step"] == k)).sum())
            rows.append({"strategy": name, "step": int(k), "at_risk": int(at.sum()), "stayed": stay,
                             "too_early": early, "window_missed": missed,
                             "share_of_eligible": _share(stay, n)})
        rows.append({"strategy": name, "step": "review", "at_risk": int(arm.followed.sum()),
                         "stayed": int(arm.uncensored.sum()), "too_early": 0,
                         "window_missed": 0, "share_of_eligible": _share(int(arm.uncensored.sum()), n)})
    return pd.DataFrame(rows)


def _weights_table(arms, point) -> pd.DataFrame:
    rows = []
    for name in arms:
        e = point[name]
        w = e["weights"]
        ess = float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else np.nan
        rows.append({"strategy": name, "n_outcome": e["n_outcome"],
                         "max_weight": float(w.max()) if len(w) else np.nan,
                         "mean_weight": float(w.mean()) if len(w) else np.nan,
                         "effective_n": ess, "truncated": e["truncated"]})
    return pd.DataFrame(rows)


def _smd(x, w, target):
    m1 = np.average(x, weights=w)
    m0 = target.mean()
    s = math.sqrt((np.average((x - m1) ** 2, weights=w) + target.var()) / 2) or 1.0
    return (m1 - m0) / s


def _balance_table(trial, arms, point) -> pd.DataFrame:
    cols = np.column_stack([trial.baseline, trial.X]) if trial.X.shape[1] else \
        trial.baseline[:, None]
    names = ["baseline rating", *trial.names]
    rows = []
    for name in arms:
        unc = point[name]["unc"]
        w = point[name]["weights"]
        if unc.sum() < 2:
            continue
        for j, cov in enumerate(names):
            x = cols[unc, j]
            target = cols[:, j]
            rows.append({"strategy": name, "covariate": cov,
                             "smd_unweighted": _smd(x, np.ones(len(x)), target),
                             "smd_weighted": _smd(x, w, target)})
    return pd.DataFrame(rows)


def _sensitivity(trial, strategies, reference, baseline_days, ltfu_X, out_X, truncate,
                 min_followers, measure) -> pd.DataFrame:
    rows = []
    n = len(trial.ids)
    for factor in (0.5, 1.0, 1.5):
        scaled = {k: _scaled(s, factor) for k, s in strategies.items()}
        arms = {k: _arm(trial, s, baseline_days) for k, s in scaled.items()}
        est = _estimate(trial, arms, ltfu_X, out_X, np.ones(n), truncate)
        for name in arms:
            if name == reference:
                continue
            ok = est[name]["n_outcome"] >= min_followers and \
                est[reference]["n_outcome"] >= min_followers
            rows.append({"measure": measure, "grace": factor, "contrast": f"{name} - {reference}",
                             "estimate": est[name]["dr"] - est[reference]["dr"] if ok else np.nan,
                             "n_outcome": est[name]["n_outcome"],
                             "n_reference": est[reference]["n_outcome"]})
    return pd.DataFrame(rows)


def _scaled(s: Strategy, factor: float) -> Strategy:
    if s.protocol is None or factor == 1.0:
        return s
    from dataclasses import replace
    p = s.protocol

    def tol(t, interval):
        return int(min(max(round(t * factor), 0), interval - 1))
    return Strategy(s.name, replace(p, loading_tolerance=tol(p.loading_tolerance,
                                                             p.loading_interval),
                                    maintenance_tolerance=tol(p.maintenance_tolerance,
                                                              p.maintenance_interval)), s.label)


def _loss_table(trial) -> pd.DataFrame:
    change, has = trial.ltfu_X[:, 1], trial.ltfu_X[:, 2]
    group = np.select([has == 0, change <= 0, change < 1.0],
                      ["no rating between baseline and review", "no change or worse",
                       "improved by less than 1 grade"], "improved by 1 grade or more")
    df = pd.DataFrame({"interim response": group, "reviewed": trial.observed})
    out = df.groupby("interim response").agg(patients=("reviewed", "size"),
                                             reviewed=("reviewed", "sum")).reset_index()
    out["share reviewed"] = out["reviewed"] / out["patients"]
    return out


def _protocol_table(settings, strategies) -> pd.DataFrame:
    L, W, B = settings["landmark_days"], settings["window_days"], settings["baseline_days"]
    treat = settings["treatments"] or "every treatment"
    rows = [
        ("Eligibility", (f"a first session ({treat}) at t0, a baseline rating in the {B} days up "
                        f"to t0, and records long enough to reach day {L} + {W}")),
        ("Time zero", "the first session (t0)"),
        ("Strategies", "; ".join(f"{k}: {v.label}" for k, v in strategies.items())),
        ("Outcome", (f"improvement of the {settings['measure']} rating at the review closest to "
                    f"day {L} (± {W} days), positive = better")),
        ("Estimand", ("the mean improvement had every eligible patient followed each schedule, "
                     f"and its difference from '{settings['reference']}'")),
        ("Analysis", ("each patient copied into every schedule and followed until their record "
                     "leaves it; weights for who stays and who comes to the review (using the "
                     "latest rating, time since the last session, baseline and patient "
                     f"details); standardised means; {settings['boot']} bootstrap replicates "
                     f"for 95% intervals; fewer than {settings['min_followers']} followers: "
                     "no number")),
    ]
    return pd.DataFrame(rows, columns=["element", "in this analysis"])


# -------------------------------------------------------------------------------------------------
# words
# -------------------------------------------------------------------------------------------------

def _num(x: float, digits: int = 2) -> str:
    """A number for people: fixed digits, never "-0.00"."""
    if x is None or not np.isfinite(x):
        return "—"
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text.replace("-", "−")


def _when(landmark_days: int) -> str:
    months = landmark_days / 30.4375
    if abs(months - round(months)) < 0.15 and round(months) >= 1:
        return f"at {round(months)} months"
    return f"{landmark_days} days after the first session"


def strategy_sentences(comparison: ScheduleComparison, measure_label: str | None = None
                       ) -> list[str]:
    """One plain sentence per contrast with the reference (and one per strategy that cannot be
    judged), e.g. "Had every patient followed the protocol, pore grades would have improved by
    0.95 (95% CI 0.80 to 1.10) at 6 months, against 0.70 (…) had they come every two months: a
    difference of 0.25 (…)."."""
    res = comparison.results.set_index("term")
    st = comparison.settings
    ref = st["reference"]
    label = measure_label or f"{st['measure']} grades"
    when = _when(st["landmark_days"])
    names = list(st["strategies"])
    out = []

    def ci(row):
        return f"95% CI {_num(row['ci_low'])} to {_num(row['ci_high'])}"
    r = res.loc[ref]
    for name in names:
        if name == ref:
            continue
        a = res.loc[name]
        d = res.loc[f"{name} - {ref}"]
        if not np.isfinite(d["estimate"]):
            continue
        out.append(f"Had every patient followed '{name}' ({st['strategies'][name]}), {label} "
                   f"would have improved by {_num(a['estimate'])} ({ci(a)}) {when}, against "
                   f"{_num(r['estimate'])} ({ci(r)}) had they followed '{ref}': a difference "
                   f"of {_num(d['estimate'])} ({ci(d)}).")
    for name in names:
        a = res.loc[name]
        if not np.isfinite(a["estimate"]):
            out.append(f"'{name}' cannot be judged from these records: only "
                       f"{suppress_count(int(a['n_outcome']))} patients followed it to the review "
                       f"(at least {st['min_followers']} are needed for a number).")
    return out


def strategy_text(comparison: ScheduleComparison, *, measure_label: str | None = None,
                  sentence_label: str | None = None, details: bool = False) -> str:
    """The human output of ``outcomes strategies`` for one measure (``measure_label`` heads it,
    ``sentence_label`` — e.g. "pore grades" — names the measure in the sentences)."""
    st = comparison.settings
    res = comparison.results
    n = int(res["n"].iloc[0]) if len(res) else 0
    lines = [(f"== Schedules compared: {measure_label or st['measure']} — mean improvement "
             f"{_when(st['landmark_days'])} (positive = better)"),
             f"eligible patients: {suppress_count(n)}"]
    lines += [f"  not eligible, {why}: {suppress_count(k)}"
              for why, k in comparison.excluded.items() if k]
    table = pd.DataFrame({
        "schedule": res["term"],
        "followed to review": [suppress_count(int(k)) if " - " not in t else ""
                               for k, t in zip(res["n_outcome"], res["term"])],
        "mean improvement": res["estimate"].map(_num),
        "95% CI": [f"{_num(a)} to {_num(b)}" if np.isfinite(a) else "—"
                   for a, b in zip(res["ci_low"], res["ci_high"])],
        "weighted mean": res["ipw_estimate"].map(_num),
        "plain mean of followers": res["naive_estimate"].map(_num),
    })
    lines += ["", table.to_string(index=False), ""]
    lines += ["- " + s for s in strategy_sentences(comparison, sentence_label or measure_label)]
    lines.append("- 'weighted mean' is a check on the headline number; 'plain mean of followers' "
                 "ignores who kept to a schedule and why, and can mislead.")
    lines += ["- " + note for note in comparison.notes if details or "settle" not in note]
    if details and len(comparison.weights):
        lines += ["", "weights per schedule:", comparison.weights.to_string(index=False)]
        if len(comparison.sensitivity):
            lines += ["", "contrasts with grace windows halved (0.5) and widened by half (1.5):",
                      comparison.sensitivity.to_string(index=False)]
    return "\n".join(lines)
