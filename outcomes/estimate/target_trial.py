"""The emulated target trial's data and its one estimation: clones, deviations, weights, means.

The protocol and the estimator are written out in :mod:`outcomes.estimate.schedules` (and in
docs/methods.md §4); this module builds the trial from the derived tables (eligibility, t0, each
patient's sessions and interim ratings, covariates), follows every clone through every strategy,
and computes every strategy's means for one vector of patient case weights — the point estimate
(all ones) and each bootstrap replicate alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..protocols import Strategy
from ..records import Records
from ..settings import Settings
from ..tables.ratings import landmark_ratings, measure_of, primary_ratings, select_sessions
from .sequential import IcePlan, ice_mean, ice_plan

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

#: the penalty on standardised slopes of a weight model that has no maximum-likelihood fit
SEPARATION_RIDGE = 1.0


def _logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, *, ridge: float = 1e-6,
              iters: int = 30, init: np.ndarray | None = None,
              hess_inv: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Weighted logistic regression by Newton–Raphson with a tiny ridge on the slopes (keeps the
    fit finite under separation). Returns (coefficients, converged). ``init`` starts from given
    coefficients (the bootstrap starts from the fit to the data).

    ``hess_inv``: the inverse Hessian of the fit to the data. A bootstrap replicate then first
    iterates with that fixed Hessian (``β += H₀⁻¹ g(β)``: a gradient costs a tenth of a Newton
    step's Hessian, and a replicate's Hessian is close to the data's), to the same fixed point;
    when that has not settled in 12 steps it goes on by Newton–Raphson."""
    p = X.shape[1]
    pen = np.full(p, ridge)
    pen[0] = 0.0
    if init is not None:
        beta = init.copy()
    else:
        beta = np.zeros(p)
        ybar = np.clip(np.average(y, weights=w) if w.sum() > 0 else 0.5, 1e-4, 1 - 1e-4)
        beta[0] = math.log(ybar / (1 - ybar))
    if hess_inv is not None and init is not None:
        for _ in range(12):
            mu = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -30, 30)))
            delta = hess_inv @ (X.T @ (w * (y - mu)) - pen * beta)
            beta = beta + delta
            if not np.all(np.isfinite(beta)):
                beta = init.copy()
                break
            if np.max(np.abs(delta)) < 1e-8:
                return beta, True
    converged = False
    last = np.inf
    delta = np.full(p, np.inf)
    for _ in range(iters):
        eta = np.clip(X @ beta, -30, 30)
        mu = 1.0 / (1.0 + np.exp(-eta))
        # penalised log-likelihood: when it no longer moves, the fitted probabilities do not
        # either (under near-separation a coefficient drifts on without changing them): stop,
        # still reported as not settled
        ll = float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))) - 0.5 * np.sum(pen * beta ** 2))
        if abs(ll - last) < 1e-10 * (1.0 + abs(ll)):
            # settled when the last step was small too; a drifting coefficient is not
            converged = bool(np.max(np.abs(delta)) < 1e-4)
            break
        last = ll
        grad = X.T @ (w * (y - mu)) - pen * beta
        hess = (X * (w * mu * (1 - mu))[:, None]).T @ X + np.diag(pen)
        try:
            delta = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            delta = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + delta
        if not np.all(np.isfinite(beta)):
            if init is not None:        # a start that led astray: fit afresh
                return _logistic(X, y, w, ridge=ridge, iters=iters)
            break
        if np.max(np.abs(delta)) < 1e-8:
            converged = True
            break
    if not converged and ridge < SEPARATION_RIDGE:
        # no maximum-likelihood fit exists (some choices are almost perfectly predictable): the
        # fit with a weakly informative penalty on the standardised slopes (a normal prior of SD
        # 1 on the log-odds per SD of a covariate) exists, is unique, and does not depend on where
        # Newton started; docs/methods.md §4.9
        return _logistic(X, y, w, ridge=SEPARATION_RIDGE, iters=iters)
    return beta, converged


def _hess_inv(X: np.ndarray, w: np.ndarray, beta: np.ndarray, ridge: float = 1e-6
              ) -> np.ndarray | None:
    """Inverse Hessian of the penalised weighted log-likelihood at ``beta`` (None if singular)."""
    mu = 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -30, 30)))
    pen = np.full(X.shape[1], ridge)
    pen[0] = 0.0
    try:
        return np.linalg.inv((X * (w * mu * (1 - mu))[:, None]).T @ X + np.diag(pen))
    except np.linalg.LinAlgError:
        return None


def _prob(X: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(X @ beta, -30, 30)))


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
    outcome: np.ndarray          # improvement, NaN when no admissible landmark rating
    observed: np.ndarray
    horizon: np.ndarray          # day L for every patient (never set by the outcome)
    days: np.ndarray             # (n, K) session days since t0 before L, inf padded
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
    n_later: np.ndarray | None = None      # sessions on or after L, per patient
    landmark_day: np.ndarray | None = None  # day of the outcome rating (NaN without one)
    n_moved: int = 0             # outcome taken before a session after L (the review came later)
    treatment: str = ""


def resolve_treatment(records: Records, treatment: str | None) -> str | None:
    """The treatment under study: ``treatment`` when given (checked against the sessions), else
    ``[analysis] treatment`` of the records' dataset.toml, else the most frequent treatment in
    the sessions (ties: the first alphabetically); ``None`` when there is no session."""
    from ..errors import SettingError, did_you_mean
    from ..records.dataset import read_treatment

    names = records.sessions["treatment"].astype("str")
    present = sorted(pd.unique(names))
    if treatment is None:
        source = getattr(records, "source", None)
        treatment = read_treatment(None if source is None else source / "dataset.toml")
    if treatment is None:
        if not len(names):
            return None
        counts = names.value_counts()
        return str(min(counts.index[counts == counts.max()]))
    if treatment not in present:
        raise SettingError(f"The value for `treatment` must be among {present}, but "
                           f"{treatment!r} was passed.{did_you_mean(treatment, present)}")
    return treatment


def _build_trial(records: Records, measure: str, *, landmark_days: int, window_days: int,
                 baseline_days: int, treatment: str | None, region: str, rater: str,
                 washout_days: int = 0, derived: dict | None = None) -> _Trial:
    treatment = resolve_treatment(records, treatment)
    st = Settings(measure=measure, landmark_days=landmark_days, window_days=window_days,
                  baseline_days=baseline_days, treatments=None if treatment is None
                  else (treatment,), region=region, rater=rater)
    m = measure_of(records, st)
    derived = derived or {}
    lm = derived.get("ratings")
    if lm is None:
        lm = landmark_ratings(records, st)
    dates = [records.sessions["date"].max(), records.assessments["date"].max()]
    data_end = max(d for d in dates if pd.notna(d)) if any(pd.notna(d) for d in dates) else None
    firsts = [records.sessions["date"].min(), records.assessments["date"].min()]
    data_start = min((d for d in firsts if pd.notna(d)), default=None)
    has_t0 = lm["t0"].notna()
    has_base = has_t0 & lm["baseline"].notna()
    washout = has_base & (lm["t0"] < data_start + pd.Timedelta(days=washout_days)) \
        if data_start is not None and washout_days > 0 else has_base & False
    late = has_base & ~washout & (lm["t0"] + pd.Timedelta(days=landmark_days + window_days)
                                  > data_end)
    keep = has_base & ~washout & ~late
    excluded = {"no session of the analysed treatments": int((~has_t0).sum()),
                "no baseline rating": int((has_t0 & ~has_base).sum()),
                f"first session in the records' first {washout_days} days (perhaps not a new "
                "patient)": int(washout.sum()),
                "started too recently to reach the landmark": int(late.sum())}
    lm = lm[keep].reset_index(drop=True)
    ids = pd.Index(lm["patient_id"].astype(str), name="patient_id")
    n = len(ids)
    code = pd.Series(np.arange(n), index=ids)
    # follow-up ends at L for everyone: it never depends on the outcome
    horizon = np.full(n, float(landmark_days))
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
    # the first session on or after L: no rating after it may be the outcome
    after_L = np.full(n, np.inf)
    np.minimum.at(after_L, pc[~before], day[~before])
    n_later = np.bincount(pc[~before], minlength=n)

    base = lm["baseline"].to_numpy(np.float64)
    r = derived.get("primary")
    if r is None:
        r = primary_ratings(records, st)
    key, change, _ = _history(r, m, code, t0, baseline_days, base)
    outcome, lday, n_moved = _landmark_outcome(key, change, n, landmark_days, window_days,
                                               baseline_days, after_L,
                                               lm["followup_days"].to_numpy(np.float64))
    observed = np.isfinite(outcome)
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
    # loss to follow-up covariates: the history strictly before t0 + L − window (the first day
    # a landmark rating can exist): ratings up to the day before, sessions before it
    cut = float(landmark_days - window_days)
    at = np.full(n, cut - 1)
    lt_change, lt_has = _latest(key, change, np.arange(n), at, baseline_days)
    s_before = day < cut
    n_cut = np.bincount(pc[s_before], minlength=n)
    last_cut = np.full(n, 0.0)
    np.maximum.at(last_cut, pc[s_before], day[s_before])
    hist = _history_features(histories, np.arange(n), at, baseline_days)
    # (the first two history columns are lt_change and lt_has themselves)
    ltfu_X = np.column_stack([base, lt_change, lt_has, n_cut, cut - last_cut, *hist[2:]])
    return _Trial(ids, t0, base, outcome, observed, horizon, days, key, change, histories, X,
                  names, raw, ltfu_X, int((day_h > 0).sum()), int(rated.sum()), excluded,
                  baseline_days, n_later, lday, n_moved, treatment or "")


def _landmark_outcome(key, change, n, L, W, baseline_days, after_L, old_day):
    """The outcome: the change at the rating closest to day L within ± W (after t0; ties: the
    earlier), among the ratings dated on or before the first session on or after L (a rating on
    a session's day is taken before it) — so no session after L is ever in the outcome. Returns
    (change, its day, how many patients' outcome rating moved or went because of it)."""
    pat = key // _BIG
    rday = (key % _BIG - baseline_days).astype(np.float64)
    ok = (rday > 0) & (np.abs(rday - L) <= W) & (rday <= after_L[pat])
    outcome = np.full(n, np.nan)
    lday = np.full(n, np.nan)
    if ok.any():
        p, d, c = pat[ok], rday[ok], change[ok]
        order = np.lexsort((d, np.abs(d - L), p))
        p, d, c = p[order], d[order], c[order]
        head = np.r_[True, p[1:] != p[:-1]]
        outcome[p[head]] = c[head]
        lday[p[head]] = d[head]
    moved = np.isfinite(old_day) & ~(lday == old_day)
    return outcome, lday, int(moved.sum())


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
    plan: IcePlan | None = None


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
                followed & trial.observed, followed,
                ice_plan(pat, steps, f["row_stay"], len(trial.ids)))


def kish(w: np.ndarray, cw: np.ndarray | None = None) -> float:
    """Kish's effective sample size ``(Σ c w)² / Σ c w²`` of weights ``w`` with case counts
    ``c`` (0 when there is no weight)."""
    cw = np.ones(len(w)) if cw is None else cw
    den = float(np.sum(cw * w * w))
    return float(np.sum(cw * w) ** 2 / den) if den > 0 else 0.0


def _estimate(trial: _Trial, arms: dict[str, _Arm], ltfu_X: np.ndarray, cw: np.ndarray,
              truncate: float | None, want_weights: bool = False, init: dict | None = None,
              methods: tuple = ("dr", "ice")) -> dict:
    """Means under every strategy for patient case weights ``cw`` (1 for the data itself);
    ``init`` holds the coefficients of the fit to the data, as starting values.

    Per strategy: ``dr`` the weighted ICE (sequentially doubly robust,
    :mod:`outcomes.estimate.sequential`), ``ice`` the unweighted ICE g-formula, ``ipw`` the
    Hájek mean, ``naive`` the followers' plain mean; ``ess`` the Kish effective number of the
    followers' weights; ``converged`` whether the weight models settled."""
    init = init or {}
    hinv = init.get("_hess_inv", {})
    beta, conv_ltfu = _logistic(ltfu_X, trial.observed.astype(float), cw, init=init.get("_ltfu"),
                                hess_inv=hinv.get("_ltfu"))
    p_obs = _prob(ltfu_X, beta)
    y_all = np.where(trial.observed, trial.outcome, 0.0)
    res = {}
    for name, arm in arms.items():
        rw = cw[arm.row_patient]
        if arm.stay.all():
            p_stay = np.ones(len(arm.stay))
            b = None
            conv = True
        else:
            b, conv = _logistic(arm.step_X, arm.stay.astype(float), rw, init=init.get(name),
                                hess_inv=hinv.get(name))
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
        entry = {"n_outcome": int(unc.sum()), "converged": conv and conv_ltfu,
                 "beta": None if arm.stay.all() else b, "beta_ltfu": beta,
                 "ess": kish(w_unc, cwu)}
        if unc.sum() == 0 or tot.sum() <= 0:
            entry.update(dr=np.nan, ipw=np.nan, naive=np.nan, ice=np.nan)
        else:
            entry["ipw"] = float(np.sum(tot * y) / np.sum(tot))
            entry["naive"] = float(np.sum(cwu * y) / np.sum(cwu))
            args = (arm.plan, arm.step_X, ltfu_X, y_all, trial.observed, arm.followed, cw)
            entry["dr"] = (ice_mean(*args, p_stay=p_stay, p_obs=p_obs, cap=truncate)
                           if "dr" in methods else np.nan)
            entry["ice"] = ice_mean(*args) if "ice" in methods else np.nan
        if want_weights:
            entry.update(weights=w_unc, truncated=n_trunc, p_stay=p_stay, p_obs=p_obs, unc=unc,
                         hess_inv=None if b is None else _hess_inv(arm.step_X, rw, b),
                         hess_inv_ltfu=_hess_inv(ltfu_X, cw, beta))
        res[name] = entry
    return res
