"""How the simulated patients are drawn and how their skin and attendance unfold.

Drawing the clinic (patients, covariates, biology, attendance plans), the outcome biology
(severity over time under any schedule: vectorised over patients, looping only over the ≤ 32
planned sessions), the assessments and their rater noise, and the schedule unfolded slot by slot
with attendance and loss driven by the recorded ratings (:func:`_run_schedule`). :func:`simulate`
and the truths re-run these same functions on the same draws (common random numbers);
:func:`protocol_response` runs them for one fixed protocol.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .params import (
    _AREA_PATTERNS,
    _BASELINE_WINDOW,
    _DAYS_PER_MONTH,
    _LANDMARK_DAYS,
    _LANDMARK_WINDOW,
    _MAX_SESSIONS,
    _MEASURES,
    ADHERENCE_TYPES,
    SimParams,
)

__all__ = ["protocol_response"]


# ---------------------------------------------------------------------------------------------
# drawing the clinic
# ---------------------------------------------------------------------------------------------

def _choice(rng, shares: dict, n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    idx = rng.choice(len(keys), size=n, p=p / p.sum())
    return np.array(keys, dtype=object)[idx]


def _draw_patients(rng, n: int, p: SimParams) -> dict:
    age = np.round(np.clip(rng.normal(p.age_mean, p.age_sd, n), p.age_min, p.age_max))
    sex = _choice(rng, p.sex_shares, n)
    skin = _choice(rng, p.skin_type_shares, n).astype(int)
    smoker = _choice(rng, p.smoker_shares, n)
    sun = _choice(rng, p.sun_shares, n)
    sleep = np.clip(np.round(rng.normal(p.sleep_mean, p.sleep_sd, n) * 2) / 2, 4.0, 10.0)
    skincare = _choice(rng, p.skincare_shares, n)
    concern = _choice(rng, p.concern_shares, n)
    clinic = rng.integers(0, p.n_clinics, n)
    main = clinic * p.clinicians_per_clinic + rng.integers(0, p.clinicians_per_clinic, n)
    return {"age": age, "sex": sex, "skin_type": skin, "smoker": smoker, "sun": sun, "sleep": sleep,
                "skincare": skincare, "concern": concern, "clinic": clinic, "main_clinician": main}


def _covariate_design(pt: dict) -> dict[str, np.ndarray]:
    """Indicator/centred covariates shared by the baseline, response and linear terms."""
    return {
        "age_per_decade": (pt["age"] - 40.0) / 10.0,
        "male": (pt["sex"] == "M").astype(float),
        "smoker_current": (pt["smoker"] == "current").astype(float),
        "smoker_former": (pt["smoker"] == "former").astype(float),
        "sun_moderate": (pt["sun"] == "moderate").astype(float),
        "sun_high": (pt["sun"] == "high").astype(float),
        "sleep_per_hour": pt["sleep"] - 7.0,
        "skin_type_per_step": pt["skin_type"] - 3.0,
        "skincare_medical": (pt["skincare"] == "medical").astype(float),
        "skincare_none": (pt["skincare"] == "none").astype(float),
        "concern_enlarged": (pt["concern"] == "enlarged").astype(float),
        "concern_clogged": (pt["concern"] == "clogged").astype(float),
        "concern_both": (pt["concern"] == "both").astype(float),
    }


def _linear_combination(design: dict, coefs: dict, n: int) -> np.ndarray:
    out = np.zeros(n)
    for key, coef in coefs.items():
        if key not in design:
            raise ValueError(f"Unknown covariate effect {key!r}; known: {sorted(design)}.")
        out += coef * design[key]
    return out


def _draw_biology(rng, n: int, p: SimParams, pt: dict, design: dict) -> dict:
    z = rng.standard_normal((n, 2))
    corr = np.array([[1.0, 0.0], [p.baseline_corr, math.sqrt(1 - p.baseline_corr ** 2)]])
    u = z @ corr.T
    clog = np.array([p.clog_severity[c] for c in pt["concern"]])
    s0, ceiling, flare = {}, {}, {}
    for j, m in enumerate(_MEASURES):
        value = (p.baseline_mean[m] + _linear_combination(design, p.baseline_effects[m], n)
                 + p.baseline_sd[m] * u[:, j] + (clog if m == "pore" else 0.0))
        s0[m] = np.clip(value, p.floor + 0.5, 3.9)
        ceiling[m] = p.ceiling_fraction[m] * (s0[m] - p.floor - (clog if m == "pore" else 0.0))
        flare[m] = p.baseline_flare_mean + p.baseline_noise_sd * rng.standard_normal(n)
    nonresp = rng.random(n) < p.nonresponder_share
    r = np.exp(p.response_sd * rng.standard_normal(n) - p.response_sd ** 2 / 2)
    r = np.where(nonresp, p.nonresponder_response, r)
    clinic_eff = np.exp(p.clinic_response_sd * rng.standard_normal(p.n_clinics))
    response = r * np.exp(_linear_combination(design, p.response_effects, n)) \
        * clinic_eff[pt["clinic"]]
    seen = np.mean([s0[m] + flare[m] for m in _MEASURES], axis=0)
    indication = (seen - seen.mean()) / (seen.std() or 1.0)
    return {"s0": s0, "ceiling": ceiling, "flare": flare, "clog": clog, "nonresponder": nonresp,
                "response": response, "indication_z": indication}


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _normal_gaps(rng, mean, sd, shape, low):
    return np.maximum(np.round(rng.normal(mean, sd, shape)), low)


def _draw_plan(rng, n: int, p: SimParams, pt: dict, bio: dict) -> dict:
    """Attendance type, planned gaps, planned stop point and per-slot attributes.

    ``gaps[:, k]`` is the planned number of days from session k to k+1 (0-based); the schedule is
    built from them sequentially by :func:`_run_schedule`, which may stop it early or stretch a
    gap after looking at the recorded ratings.
    """
    K = _MAX_SESSIONS
    z = bio["indication_z"] * p.confounding
    eff = p.indication_effects
    types = list(ADHERENCE_TYPES)
    with np.errstate(divide="ignore"):                  # a share of 0 removes a pattern
        logits = np.log([p.adherence_shares[t] for t in types])[None, :] + z[:, None] * np.array(
            [eff.get(t, 0.0) for t in types])[None, :]
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    type_idx = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    type_idx = np.minimum(type_idx, len(types) - 1)
    adherence = np.array(types, dtype=object)[type_idx]
    is_ = {t: (adherence == t) for t in types}
    p_load = _expit(math.log(p.loading_p / (1 - p.loading_p)) + eff.get("loading", 0.0) * z)
    n_load = p.loading_min + (rng.random((n, p.loading_max - p.loading_min))
                              < p_load[:, None]).sum(axis=1)
    # gaps[:, k] = days between planned session k and k+1
    idx = np.arange(K - 1)[None, :]
    in_loading = idx < (n_load[:, None] - 1)
    regular_load = _normal_gaps(rng, p.loading_gap_mean, p.loading_gap_sd, (n, K - 1), 21)
    lo, hi = p.bunched_gap_range
    bunched_load = rng.integers(lo, hi + 1, (n, K - 1)).astype(float)
    gap_factor = np.exp(eff.get("maintenance_gap", 0.0) * z)[:, None]
    maint = np.maximum(np.round(rng.normal(p.maintenance_gap_mean, p.maintenance_gap_sd,
                                           (n, K - 1)) * gap_factor), 56)
    cv = p.bunched_maintenance_cv
    sig = math.sqrt(math.log(1 + cv ** 2))
    bunched_maint = np.maximum(np.round(p.maintenance_gap_mean * gap_factor * np.exp(
        sig * rng.standard_normal((n, K - 1)) - sig ** 2 / 2)), 14)
    is_b = is_["bunched"][:, None]
    gaps = np.where(in_loading, np.where(is_b, bunched_load, regular_load),
                    np.where(is_b, bunched_maint, maint))
    # the schedules the strategies describe, kept with small jitter
    proto = np.where(idx < 2, _normal_gaps(rng, p.protocol_gap_mean, p.protocol_gap_sd,
                                           (n, K - 1), 14),
                     _normal_gaps(rng, p.protocol_maintenance_mean, p.protocol_maintenance_sd,
                                  (n, K - 1), 28))
    monthly = _normal_gaps(rng, p.monthly_gap_mean, p.monthly_gap_sd, (n, K - 1), 14)
    bimonthly = _normal_gaps(rng, p.bimonthly_gap_mean, p.bimonthly_gap_sd, (n, K - 1), 21)
    gaps = np.where(is_["protocol"][:, None], proto, gaps)
    gaps = np.where(is_["monthly"][:, None], monthly, gaps)
    gaps = np.where(is_["bimonthly"][:, None], bimonthly, gaps)
    # lapses: one certain lapse in gaps 1..n_load (loading or first maintenance), more at random
    lapse_len = rng.integers(p.lapse_days_range[0], p.lapse_days_range[1] + 1, (n, K - 1))
    first_lapse = rng.integers(0, n_load)  # gap index in [0, n_load-1]
    lapsed = is_["lapsed"][:, None]
    extra = (idx == first_lapse[:, None]) | (rng.random((n, K - 1)) < p.lapse_rate)
    gaps = gaps + np.where(lapsed & extra, lapse_len, 0)
    # how many planned sessions happen (before any response to the ratings)
    persist = np.select([is_["protocol"] | is_["bimonthly"], is_["monthly"]],
                        [3, p.monthly_persist_sessions], n_load)
    maint_stop = rng.geometric(min(max(p.maintenance_stop_rate, 1e-9), 1.0), n)
    stop = np.minimum(persist + maint_stop, K)
    lo, hi = p.planned_dropout_range
    planned_drop = rng.integers(lo, hi + 1, n)
    stop = np.where(is_["dropout"], planned_drop, stop)
    stop = np.where(is_["single"], 1, stop)
    nonresp_stop = rng.integers(2, 4, n)
    informative = bio["nonresponder"] & (rng.random(n) < p.dropout_nonresponder) \
        & (nonresp_stop < stop)
    stop = np.where(informative, nonresp_stop, stop)
    reason = np.where(informative, "non_responder",
                      np.where(is_["dropout"] | is_["single"], "planned", "none")).astype(object)
    n_load = np.select([is_["protocol"], is_["monthly"], is_["bimonthly"], is_["single"]],
                       [3, p.monthly_persist_sessions, 1, 1], n_load)
    n_load = np.where(is_["dropout"], planned_drop, n_load)
    # per-session attributes
    hf_share = np.array([p.hydrafacial_shares[c] for c in pt["concern"]])
    hydra = rng.random((n, K)) < hf_share[:, None]
    base_depth = np.clip(rng.normal(p.depth_mean, p.depth_sd, n), 0.5, 2.5)
    depth = np.clip(np.round((base_depth[:, None] + p.depth_session_sd
                              * rng.standard_normal((n, K))) * 4) / 4, 0.5, 2.5)
    other = rng.integers(0, p.clinicians_per_clinic, (n, K)) \
        + (pt["clinic"] * p.clinicians_per_clinic)[:, None]
    clinician = np.where(rng.random((n, K)) < p.main_clinician_share,
                         pt["main_clinician"][:, None], other)
    area_pattern = np.where(rng.random(n) < p.full_face_share, 0,
                            rng.integers(1, len(_AREA_PATTERNS), n))
    # uniforms of the decisions taken along the way, and the jitter of forced strategies
    return {"adherence": adherence, "n_load": n_load, "gaps": gaps, "planned_stop": stop,
            "reason": reason, "hydra": hydra, "depth": depth, "clinician": clinician,
            "area_pattern": area_pattern, "u_stop": rng.random((n, K)),
            "u_space": rng.random((n, K)), "jitter": rng.standard_normal((n, K))}


# ---------------------------------------------------------------------------------------------
# the outcome biology (vectorised over patients; loops only over the ≤ 32 planned sessions)
# ---------------------------------------------------------------------------------------------

def _increments(p: SimParams, m: str, days, active, mn, depth, response, ceiling):
    """Benefit committed by each microneedling session (grades), with saturation and the
    consistency effect; ``days`` may be fractional (compressed schedules)."""
    n, K = days.shape
    state = _inc_state(n, K)
    for k in range(K):
        _inc_step(p, m, state, k, days[:, k], active[:, k] & mn[:, k], depth[:, k], response,
                  ceiling)
    return state["inc"]


def _inc_state(n: int, K: int) -> dict:
    return {"committed": np.zeros(n), "last": np.full(n, np.nan), "done": np.zeros(n),
            "inc": np.zeros((n, K))}


def _inc_step(p: SimParams, m: str, state: dict, k: int, t, use, depth_k, response, ceiling):
    """Slot ``k`` of :func:`_increments`: commit the benefit of the sessions ``use`` on days
    ``t``, given the sessions before (the same arithmetic whether run in one go or slot by slot as
    the schedule unfolds, so the severity seen at a session is the one recorded later)."""
    if not use.any():
        return
    committed, last, done = state["committed"], state["last"], state["done"]
    n = len(t)
    lam = math.log(2) / p.fade_half_life_days
    gap = t - last
    has_prev = ~np.isnan(last)
    decay = np.where(has_prev, np.exp(-lam * np.where(has_prev, gap, 0.0)), 1.0)
    c_now = committed * decay
    g = np.ones(n)
    if has_prev.any():
        short = np.clip((p.bunch_gap_days - gap) / p.bunch_gap_days, 0, 1)
        allowed = np.where(done < p.consolidation_sessions, p.lapse_gap_loading,
                           p.lapse_gap_maintenance)
        long = np.clip((gap - allowed) / p.lapse_penalty_days, 0, 1)
        g = np.where(has_prev, 1 - p.consistency_bunch * short - p.consistency_lapse * long, 1)
    efficacy = np.clip(p.gain_fraction[m] * response * (1 + p.depth_effect * (depth_k - 1.5))
                       * np.clip(g, 0, None), 0, 0.95)
    step = np.where(use, efficacy * np.maximum(ceiling - c_now, 0.0), 0.0)
    state["inc"][:, k] = step
    state["committed"] = np.where(use, c_now + step, committed)
    state["last"] = np.where(use, t, last)
    state["done"] = done + use


def _severity(p: SimParams, bio: dict, m: str, sched_days, active, mn, depth, rows, at_days,
              inc=None):
    """Noise-free severity of measure ``m`` for patient ``rows`` at ``at_days`` (since t0)."""
    if inc is None:
        inc = _increments(p, m, sched_days, active, mn, depth, bio["response"], bio["ceiling"][m])
    lam = math.log(2) / p.fade_half_life_days
    u = at_days[:, None] - sched_days[rows]                           # (rows, K)
    pos = u > 0
    up = np.where(pos, u, 0.0)
    kernel = np.where(pos, (1 - np.exp(-up / p.onset_days)) * np.exp(-lam * up), 0.0)
    benefit = (inc[rows] * kernel).sum(axis=1)
    value = bio["s0"][m][rows] + p.natural_drift_per_year * at_days / 365.25 - benefit
    if m == "pore":
        hf = active & ~mn
        lam_h = math.log(2) / p.hydrafacial_half_life_days
        clean = (hf[rows] * pos * np.exp(-lam_h * up)).sum(axis=1) * p.hydrafacial_gain
        value = value - bio["clog"][rows] * np.minimum(clean, 1.0)
    return value


# ---------------------------------------------------------------------------------------------
# assessments
# ---------------------------------------------------------------------------------------------

def _draw_observation(rng, n: int, p: SimParams, pt: dict) -> dict:
    """Everything about the ratings that does not depend on the schedule, drawn up front: the
    baseline visit, which sessions get a rating, the review days and their attendance draws, and
    the rater noise of every possible rating (so the rating a decision looked at is the one
    written to the records)."""
    K = _MAX_SESSIONS
    has_b = rng.random(n) < p.baseline_share
    on_t0 = rng.random(n) < p.baseline_on_t0_share
    before = rng.integers(1, _BASELINE_WINDOW + 1, n)
    early = rng.random(n) < p.early_consultation_share
    early_day = -rng.integers(_BASELINE_WINDOW + 5, 91, n)
    b_day = np.where(has_b, np.where(on_t0, 0, -before), early_day)
    keep_b = has_b | early
    u_rate = rng.random((n, K))
    months = np.asarray(p.review_months, dtype=float)
    R = len(months)
    rev = np.round(months[None, :] * _DAYS_PER_MONTH
                   + p.review_sd_days * rng.standard_normal((n, R)))
    attend = rng.random((n, R)) < p.review_attendance
    u_lost, u_loss_response = rng.random((n, R)), rng.random((n, R))
    clin_bias = p.clinician_bias_sd * rng.standard_normal(p.n_clinics * p.clinicians_per_clinic)
    eps = {m: {"base": rng.standard_normal(n), "sess": rng.standard_normal((n, K)),
               "rev": rng.standard_normal((n, R))} for m in _MEASURES}
    six = np.nonzero(np.isclose(months, _LANDMARK_DAYS / _DAYS_PER_MONTH, atol=0.05))[0]
    return {"b_day": b_day, "keep_b": keep_b, "u_rate": u_rate, "rev": rev, "attend": attend,
            "u_lost": u_lost, "u_loss_response": u_loss_response,
            "bias": clin_bias[pt["main_clinician"]], "eps": eps,
            "six": int(six[0]) if len(six) else -1}


def _baseline_ratings(p: SimParams, bio: dict, obs: dict) -> dict:
    """The pre-treatment rating as recorded (baseline or early consultation; NaN without one),
    per measure: before any session, with the flare, rater noise, clinician bias and rounding."""
    n = len(obs["b_day"])
    none = np.zeros((n, 1), dtype=bool)
    return {m: np.where(obs["keep_b"], _recorded(
        p, _severity(p, bio, m, np.zeros((n, 1)), none, none, np.ones((n, 1)), np.arange(n),
                     obs["b_day"].astype(float), inc=np.zeros((n, 1))),
        obs["bias"], obs["eps"][m]["base"], bio["flare"][m]), np.nan) for m in _MEASURES}


def _indication(p: SimParams, bio: dict, base: dict) -> np.ndarray:
    """z-score of the baseline that attendance responds to (``indication_source``)."""
    seen = np.mean([bio["s0"][m] + bio["flare"][m] for m in _MEASURES], axis=0)
    if p.indication_source == "recorded":
        rec = np.mean([base[m] for m in _MEASURES], axis=0)
        seen = np.where(np.isnan(rec), seen, rec)
    return (seen - seen.mean()) / (seen.std() or 1.0)


def _recorded(p: SimParams, true, bias, eps, flare=0.0):
    """A clinician's face rating as written to the records: rater noise, rounding, clipping."""
    return _round(true + flare + bias + p.rater_sd * eps, p)


def _delta(p: SimParams, base: dict, latest: dict) -> np.ndarray:
    """Recorded improvement since the recorded baseline (``response_measure``)."""
    if p.response_measure == "mean":
        return np.mean([base[m] - latest[m] for m in _MEASURES], axis=0)
    return base[p.response_measure] - latest[p.response_measure]


def _run_schedule(p: SimParams, bio: dict, plan: dict, obs: dict, t0) -> dict:
    """Unfold every patient's schedule slot by slot (vectorised over patients).

    At session k (k ≥ 1) the severity on its day depends only on sessions before k; its rating
    (taken before the session, when ``u_rate`` says it is rated) and any review since the
    previous session are recorded; then the decision about session k+1 is taken from the
    recorded baseline and the latest recorded rating (:func:`_delta`): stop
    (``response_stop``), stretch the next gap (``response_spacing``) — nothing from the future.
    Reviews after the last session are recorded at the end. A review is missed when not attended
    (``review_attendance``), after more than 90 days without a session (``followup_loss``) or
    after a recorded non-response (``loss_response``) — all decided from the past.
    """
    n, K = plan["gaps"].shape[0], _MAX_SESSIONS
    R = obs["rev"].shape[1]
    mn, depth, resp = ~plan["hydra"], plan["depth"], bio["response"]
    days = np.zeros((n, K))
    alive = np.zeros((n, K), dtype=bool)
    alive[:, 0] = True
    states = {m: _inc_state(n, K) for m in _MEASURES}
    base = obs["base"]
    latest = {m: base[m].copy() for m in _MEASURES}
    has_post = np.zeros(n, dtype=bool)
    rated = np.zeros((n, K), dtype=bool)
    rat_sess = {m: np.full((n, K), np.nan) for m in _MEASURES}
    rev_done = np.zeros((n, R), dtype=bool)
    rev_att = np.zeros((n, R), dtype=bool)
    rat_rev = {m: np.full((n, R), np.nan) for m in _MEASURES}
    delta_at = np.full((n, K), np.nan)
    stopped = np.zeros(n, dtype=bool)
    space = np.zeros(n, dtype=bool)
    reason = plan["reason"].copy()

    def rate(rows, at, target, col):
        for m in _MEASURES:
            true = _severity(p, bio, m, days, alive, mn, depth, rows, at, inc=states[m]["inc"])
            eps = obs["eps"][m]["sess" if target is rat_sess else "rev"][rows, col]
            target[m][rows, col] = latest[m][rows] = _recorded(p, true, obs["bias"][rows], eps)
        has_post[rows] = True

    def review(j, sel, last_session):
        lost = (obs["rev"][:, j] > last_session + 90) & (obs["u_lost"][:, j] < p.followup_loss)
        d = _delta(p, base, latest)
        gone = has_post & (d <= p.response_stop_delta) & (obs["u_loss_response"][:, j]
                                                           < p.loss_response)
        rev_done[sel, j] = True
        att = sel & obs["attend"][:, j] & ~gone & ~lost
        rows = np.nonzero(att)[0]
        rev_att[rows, j] = True
        if len(rows):
            rate(rows, obs["rev"][rows, j], rat_rev, j)

    def commit(k):
        for m in _MEASURES:
            _inc_step(p, m, states[m], k, days[:, k], alive[:, k] & mn[:, k], depth[:, k], resp,
                      bio["ceiling"][m])

    commit(0)
    for k in range(1, K):
        gap = plan["gaps"][:, k - 1]
        days[:, k] = days[:, k - 1] + np.where(space, np.round(gap * p.response_spacing), gap)
        alive[:, k] = alive[:, k - 1] & (k < plan["planned_stop"]) & ~stopped
        a = alive[:, k]
        if not a.any():
            days[:, k + 1:] = days[:, [k]] + np.cumsum(plan["gaps"][:, k:], axis=1)
            break
        for j in range(R):
            sel = a & ~rev_done[:, j] & (obs["rev"][:, j] <= days[:, k])
            if sel.any():
                review(j, sel, days[:, k - 1])
        rows = np.nonzero(a & (obs["u_rate"][:, k] < p.rate_at_session_share))[0]
        rated[rows, k] = True
        if len(rows):
            rate(rows, days[rows, k], rat_sess, k)
        d = _delta(p, base, latest)
        ok = a & has_post & ~np.isnan(d)
        delta_at[:, k] = np.where(ok, d, np.nan)
        stop_now = ok & (d <= p.response_stop_delta) & (plan["u_stop"][:, k] < p.response_stop)
        stop_now &= k + 1 < plan["planned_stop"]
        reason = np.where(stop_now & (reason == "none"), "response", reason)
        stopped |= stop_now
        space = ok & (d >= p.response_space_delta) & (plan["u_space"][:, k]
                                                        < p.response_space_prob)
        commit(k)
    n_sess = alive.sum(axis=1)
    last_day = days[np.arange(n), n_sess - 1]
    for j in range(R):
        review(j, ~rev_done[:, j], last_day)
    return {"days": days, "active": alive, "stop": n_sess, "reason": reason, "rated": rated,
            "rat_sess": rat_sess, "rev_att": rev_att, "rat_rev": rat_rev, "base": base,
            "delta_at": delta_at, "inc": {m: states[m]["inc"] for m in _MEASURES}}


def _assessment_rows(obs: dict, run: dict, t0, end_day: int):
    """Clinician face assessments: (patient row, day since t0, recorded rating per measure, rater
    noise per measure), sorted, one per patient-day (baseline visit, then a session's rating,
    then a review, on the same day), none after the window."""
    b = np.nonzero(obs["keep_b"])[0]
    rs, cs = np.nonzero(run["rated"])
    rr, cr = np.nonzero(run["rev_att"])
    pat = np.concatenate([b, rs, rr]).astype(np.int64)
    day = np.concatenate([obs["b_day"][b], run["days"][rs, cs], obs["rev"][rr, cr]]).astype(np.int64)
    vals = {m: np.concatenate([run["base"][m][b], run["rat_sess"][m][rs, cs],
                               run["rat_rev"][m][rr, cr]]) for m in _MEASURES}
    eps = {m: np.concatenate([obs["eps"][m]["base"][b], obs["eps"][m]["sess"][rs, cs],
                              obs["eps"][m]["rev"][rr, cr]]) for m in _MEASURES}
    ok = t0[pat] + day <= end_day
    order = np.nonzero(ok)[0]
    order = order[np.lexsort((day[order], pat[order]))]
    pat, day = pat[order], day[order]
    first = np.ones(len(pat), dtype=bool)
    first[1:] = (pat[1:] != pat[:-1]) | (day[1:] != day[:-1])
    keep = order[first]
    return (pat[first], day[first], {m: vals[m][keep] for m in _MEASURES},
            {m: eps[m][keep] for m in _MEASURES})


def _baseline_landmark(pat: np.ndarray, day: np.ndarray, n: int):
    """docs/methods.md §2 on the primary ratings: index of the baseline (latest in [t0-30, t0]) and of the
    landmark (closest to t0+182 within ±45 days, tie → earlier) per patient, -1 when missing."""
    base = np.full(n, -1)
    inb = np.nonzero((day >= -_BASELINE_WINDOW) & (day <= 0))[0]
    base[pat[inb]] = inb                       # rows sorted by (patient, day): last wins = latest
    land = np.full(n, -1)
    dist = np.abs(day - _LANDMARK_DAYS)
    inl = np.nonzero(dist <= _LANDMARK_WINDOW)[0]
    order = inl[np.lexsort((day[inl], dist[inl], pat[inl]))]
    firsts = order[np.r_[True, pat[order][1:] != pat[order][:-1]]] if len(order) else order
    land[pat[firsts]] = firsts
    return base, land


def _round(x: np.ndarray, p: SimParams) -> np.ndarray:
    if p.rating_step > 0:
        x = np.round(x / p.rating_step) * p.rating_step
    else:
        x = np.round(x, 6)
    return np.clip(x, p.scale_min, p.scale_max) + 0.0


def _n_before(days, active, limit):
    return ((days < limit[:, None]) & active).sum(axis=1)


def _linear_improvement(p: SimParams, m: str, spm, rest):
    return p.linear_beta[m] * spm + rest[m]


# ---------------------------------------------------------------------------------------------
# a fixed protocol on the simulated population
# ---------------------------------------------------------------------------------------------

def protocol_response(session_days, at_day: float, *, n_patients: int = 4000, seed: int = 0,
                      params: SimParams | None = None) -> pd.DataFrame:
    """Mean noise-free improvement if every simulated patient followed one fixed schedule.

    The biology of :func:`simulate` (same patients for the same seed) with everyone receiving
    microneedling on ``session_days`` (days since t0) and rated at ``at_day``; improvement
    ``= S(0) - S(at_day)`` per measure, averaged over patients. Used to check the literature
    anchors, e.g. Ablon 2018: four sessions 30 days apart, texture −1.54 grades at day 150.

    Returns
    -------
    DataFrame
        ``measure, mean_improvement, sd, n``.
    """
    p = params if params is not None else SimParams()
    rng = np.random.default_rng(seed)
    pt = _draw_patients(rng, n_patients, p)
    bio = _draw_biology(rng, n_patients, p, pt, _covariate_design(pt))
    days = np.asarray(session_days, dtype=float)[None, :].repeat(n_patients, axis=0)
    active = np.ones(days.shape, dtype=bool)
    depth = np.full(days.shape, 1.5)
    rows = np.arange(n_patients)
    out = []
    for m in _MEASURES:
        imp = bio["s0"][m] - _severity(p, bio, m, days, active, active, depth, rows,
                                       np.full(n_patients, float(at_day)))
        out.append((m, float(imp.mean()), float(imp.std(ddof=1)), n_patients))
    return pd.DataFrame(out, columns=["measure", "mean_improvement", "sd", "n"])
