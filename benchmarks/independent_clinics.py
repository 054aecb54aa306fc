"""Simulated clinics written apart from ``outcomes.synthetic``, to validate the schedule comparison.

Issue 22 item 6: the schedule comparison must be measured on clinics whose patients do *not*
decide the way its weight model assumes. This module is that generator. It does not import
``outcomes.synthetic`` and shares none of its code or decision rules; from the package it uses
nothing at all (records are written as plain CSV files following the records contract of
docs/methods.md §1, which ``outcomes.load_records`` then reads like any clinic's export).

Skin biology (per patient, per measure, time ``t`` in days since the patient's real first session)
--------------------------------------------------------------------------------------------------
* a latent severity ``S(t)`` on the 0–4 grade scale; at baseline ``S0`` depends on skin type, age,
  sex and clinic;
* session ``j`` (1 = first) on day ``d_j`` lowers it by
  ``gain_j · (1 − exp(−Δ/RAMP)) · (PERSIST + (1 − PERSIST) · exp(−Δ/FADE))``, ``Δ = t − d_j > 0``,
  with ``gain_j = G · (S0 / 2.5) · RHO^(j−1)``: the benefit builds up over a few weeks, about half of
  it fades over months, and each session adds less than the one before (saturation). ``G``, the
  patient's responsiveness, depends on age, sex and skin type and on a latent part the records
  never hold;
* a clinician rating is ``S(t) + e`` with ``e ~ N(0, RATER_SD)``, fresh at every rating, rounded to
  the half grade and clipped to 0–4. A rating on a session day is taken before that session.

Attendance (a point process in continuous time, one-day steps, decided *between* sessions too)
---------------------------------------------------------------------------------------------
Each patient means to keep a rhythm — the clinic's protocol (3 sessions 28 days apart, then every
91 days), monthly, every two months, or their own (40–60 days by clinic, younger patients slower,
log-normal spread); which one depends on clinic, age and chance, never on the skin. After each
session the target gap is that rhythm's, 25 % longer for responders (a recorded change ≥ 1 grade)
not on the protocol; the daily hazard of a session is 0.003 until ``target − 4`` days and 0.25
from then on. About 12 % come once to try it (more often the young and men). Ratings are recorded
at 75 % of sessions (before the session), at a rating-only check-in 10–20 days after 35 % of
sessions, and at reviews near day 182 and day 364 (attended with a probability falling with age
and when the last session was more than 75 days before; in ``g_lost`` also with a worse recorded
change). Patients stop for good for the reasons of each :class:`Design`; a small background
hazard (0.1 % a day) stops anyone.

Scenarios (:data:`SCENARIOS`), each labelled ``records_only`` when attendance and loss to follow-up
depend only on what the records hold (baseline covariates and recorded ratings, plus chance that
has nothing to do with the outcome):

``baseline``      decisions at sessions on the rating recorded there (smooth logistic in the change)
                  and on covariates; review attendance on age and the time since the last session.
``a_between``     decisions *between* sessions: at rating-only check-ins and day by day, on the latest
                  recorded rating; none at sessions.                              (records only)
``b_threshold``   at sessions, stop with probability 0.6 when the recorded change is below 0.5
                  grade (from the 3rd session on; else 4 %).                      (records only)
``c_unrecorded``  the patient sees their own latent change (with perception noise) every day and
                  stops on it; the clinic never records it.                       (NOT records only)
``d_window``      reviews late in the window (day 187–226), and half the patients still coming get
                  a session booked 1–10 days before it (if 21 days since the last), so followers
                  often have a session after day 182 before their landmark rating.
                                                                                  (records only)
``e_positivity``  clinic_c cannot book two sessions less than 45 days apart: no patient of it can
                  follow ``monthly`` or the protocol's loading phase.             (records only,
                  positivity violated)
``f_prevalent``   a quarter of the patients began treatment 30–240 days before the export began;
                  the export shows them from its first day as if new.             (NOT records only)
``g_lost``        informative loss to follow-up: review attendance falls steeply with a worse
                  recorded change.                                                (records only)

The truth (:func:`truth`)
-------------------------
For each strategy the same patients (common random numbers: the same ``S0``, ``G``, baseline and
day-182 rating noise) are forced onto the schedule's *nominal* days (:data:`SCHEDULES`, no session
on or after day 182) and rated at day 182; the mean improvement ``baseline grade − day-182 grade``
(positive = better) over a large population of new users is the truth, with every contrast. Also
given: the same at the patient's own review day (still no session after day 182,
``truth_review``), with every gap drawn uniformly inside the strategy's grace window instead of
the nominal one (``truth_window``: how much the nominal-date choice matters), and, for
``e_positivity``, among the patients who could follow (clinics a and b).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

LANDMARK = 182
#: the default strategies' nominal session days (days since t0), none on or after the landmark:
#: protocol 3 × 28 d then every 91 d; every 2 months 61 d; monthly 30 d; single: the first only
SCHEDULES = {
    "protocol": (0, 28, 56, 147),
    "every_2_months": (0, 61, 122),
    "monthly": (0, 30, 60, 90, 120, 150, 180),
    "single": (0,),
}
MEASURES = ("pore", "texture")

# biology
RHO = 0.72            # each session's gain relative to the one before
RAMP = 18.0           # days for the benefit to build up (time constant)
FADE = 120.0          # days for the fading part to fade (time constant)
PERSIST = {"pore": 0.55, "texture": 0.40}
RATER_SD = 0.30
KMAX = 16             # sessions tracked per patient

EXPORT_START = date(2023, 1, 2)
ENROL_DAYS = 365      # new users start during the export's first year
HORIZON = 400         # days simulated after each patient's real first session
EXPORT_DAYS = ENROL_DAYS + 300


@dataclass(frozen=True)
class Design:
    """One scenario of the simulated clinic (see the module docstring)."""

    name: str = "baseline"
    decide: str = "sessions"          # "sessions" or "between"
    stop_rule: str = "smooth"         # "smooth" or "threshold"
    stop_threshold: float = 0.5
    sees_latent: bool = False         # (c) the patient decides on what they see, unrecorded
    late_reviews: bool = False        # (d) reviews on day 187–226
    blocked_clinic: bool = False      # (e) clinic_c: no two sessions < 45 days apart
    prevalent_share: float = 0.0      # (f) share of patients treated before the export began
    lost_informative: bool = False    # (g) review attendance on the recorded change
    note: str = ""
    clinics: tuple = (("clinic_a", 0.40), ("clinic_b", 0.35), ("clinic_c", 0.25))

    @property
    def records_only(self) -> bool:
        """Attendance and loss to follow-up depend only on what the records hold."""
        return not (self.sees_latent or self.prevalent_share > 0)

    @property
    def positivity(self) -> bool:
        return not self.blocked_clinic


SCENARIOS = {d.name: d for d in (
    Design("baseline", note="decisions at sessions on recorded ratings and covariates"),
    Design("a_between", decide="between", note="decisions between sessions on recorded ratings"),
    Design("b_threshold", stop_rule="threshold", note="stop if recorded change < 0.5 grade"),
    Design("c_unrecorded", sees_latent=True, note="patients stop on a change they see, unrecorded"),
    Design("d_window", late_reviews=True, note="reviews day 187-226, sessions until the review"),
    Design("e_positivity", blocked_clinic=True, note="clinic_c: sessions >= 45 days apart"),
    Design("f_prevalent", prevalent_share=0.25, note="25% treated before the export began"),
    Design("g_lost", lost_informative=True, note="review attendance falls with a worse change"),
)}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def draw_patients(n: int, rng: np.random.Generator, design: Design) -> dict:
    """Baseline covariates, biology and the common random numbers of ``n`` patients."""
    names, shares = zip(*design.clinics)
    clinic = rng.choice(len(names), size=n, p=np.asarray(shares) / sum(shares))
    sex = rng.choice(np.array(["F", "M", "X"]), size=n, p=[0.74, 0.23, 0.03])
    skin = rng.choice(np.arange(1, 7), size=n, p=[0.05, 0.30, 0.32, 0.20, 0.09, 0.04])
    age = np.clip(rng.normal(41, 11, n), 18, 78).round(0)
    male = (sex == "M").astype(float)
    dark = (skin >= 4).astype(float)
    a10 = (age - 40) / 10
    z = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], size=n)     # baseline severity
    u = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=n)     # latent response
    clinic_shift = np.array([0.0, 0.15, -0.10])[clinic]
    s0 = {"pore": np.clip(2.45 + 0.25 * dark + 0.12 * a10 + 0.2 * male + clinic_shift
                          + 0.55 * z[:, 0], 0.6, 3.95),
          "texture": np.clip(2.2 + 0.10 * dark + 0.18 * a10 + clinic_shift + 0.55 * z[:, 1],
                             0.6, 3.95)}
    clinic_resp = np.array([0.0, 0.05, -0.15])[clinic]
    g = {"pore": 0.36 * np.exp(-0.10 * a10 - 0.15 * male + 0.10 * (skin <= 3) + clinic_resp
                                + 0.35 * u[:, 0]),
         "texture": 0.40 * np.exp(-0.14 * a10 - 0.10 * male + clinic_resp + 0.40 * u[:, 1])}
    # the rhythm each patient means to keep (clinic, age and chance; nothing about the skin):
    # 0 the clinic's protocol (3 sessions ~4 weeks apart, then quarterly), 1 monthly,
    # 2 every two months, 3 their own rhythm
    plan_p = np.array([[0.30, 0.35, 0.20, 0.15], [0.30, 0.25, 0.25, 0.20],
                       [0.25, 0.15, 0.35, 0.25]])[clinic]
    plan_p = plan_p * np.exp(np.outer(a10, [0.0, 0.10, -0.05, 0.0]))
    cum = (plan_p / plan_p.sum(axis=1, keepdims=True)).cumsum(axis=1)
    plan = (rng.random(n)[:, None] > cum).sum(axis=1)
    own = np.array([40.0, 50.0, 60.0])[clinic] * np.exp(-0.06 * a10 + 0.30 * rng.standard_normal(n))
    pref = np.select([plan == 0, plan == 1, plan == 2], [28.0, 30.0, 61.0], own)
    if design.late_reviews:
        review = 182 + rng.integers(5, 45, n)
    else:
        review = 182 + np.clip(np.round(rng.normal(0, 9, n)), -30, 30).astype(int)
    return {
        "n": n, "clinic": clinic, "clinic_names": names, "sex": sex, "skin": skin, "age": age,
        "a10": a10, "male": male, "s0": s0, "g": g, "pref": pref, "plan": plan,
        "review": review, "review2": 364 + rng.integers(-20, 21, n),
        # common random numbers for the truth: baseline and day-182 rating noise
        "e0": {m: rng.normal(0, RATER_SD, n) for m in MEASURES},
        "e182": {m: rng.normal(0, RATER_SD, n) for m in MEASURES},
        "ereview": {m: rng.normal(0, RATER_SD, n) for m in MEASURES},
        "perception": rng.normal(0, 0.25, n),
    }


def severity(p: dict, measure: str, sessions: np.ndarray, t) -> np.ndarray:
    """Latent severity at day ``t`` (scalar or per patient) given session days (patients × K,
    NaN where none); a session on day ``t`` itself has not happened yet."""
    t = np.asarray(t, dtype=float)
    if t.ndim == 1:
        t = t[:, None]
    dt = t - sessions
    done = np.isfinite(dt) & (dt > 0)
    k = np.arange(sessions.shape[1])
    gain = (p["g"][measure] * p["s0"][measure] / 2.5)[:, None] * RHO ** k[None, :]
    dtc = np.where(done, dt, 0.0)
    effect = gain * (1 - np.exp(-dtc / RAMP)) * (PERSIST[measure]
                                                   + (1 - PERSIST[measure]) * np.exp(-dtc / FADE))
    return np.maximum(p["s0"][measure] - np.where(done, effect, 0.0).sum(axis=1), 0.0)


def grade(x) -> np.ndarray:
    return np.clip(np.round(np.asarray(x) * 2) / 2, 0.0, 4.0)


#: the grace windows of the same strategies, (loading sessions, loading gap ± tolerance, gap ±
#: tolerance) — for the truth with sessions anywhere inside them (``truth_window``)
WINDOWS = {"protocol": (3, 28, 7, 91, 21), "every_2_months": (1, 0, 0, 61, 10),
           "monthly": (1, 0, 0, 30, 7), "single": None}


def _in_windows(strategy: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Session days with every gap uniform inside its grace window, none on or after day 182."""
    days = np.full((n, KMAX), np.nan)
    days[:, 0] = 0
    if WINDOWS[strategy] is None:
        return days
    loading, le, lt, me, mt = WINDOWS[strategy]
    now = np.zeros(n)
    for k in range(1, KMAX):
        e, t = (le, lt) if k < loading else (me, mt)
        now = now + rng.integers(e - t, e + t + 1, n)
        days[:, k] = np.where(now < LANDMARK, now, np.nan)
    return days


def _nominal(strategy: str, n: int) -> np.ndarray:
    days = np.full((n, KMAX), np.nan)
    sched = SCHEDULES[strategy]
    days[:, :len(sched)] = sched
    return days


# ------------------------------------------------------------------------------------------------
# the truth

def truth(design: Design, n: int = 200_000, seed: int = 20261202) -> pd.DataFrame:
    """Interventional truth of ``design``: one row per strategy mean and per contrast ``A - B``
    (every pair), columns ``measure, term, truth, mc_se, truth_review, truth_window,
    truth_followable``."""
    rng = np.random.default_rng(seed)
    p = draw_patients(n, rng, replace(design, prevalent_share=0.0))
    can = p["clinic"] != 2 if design.blocked_clinic else np.ones(n, bool)
    rows = []
    for m in MEASURES:
        base = grade(p["s0"][m] + p["e0"][m])
        imp, imp_rev, imp_win = {}, {}, {}
        for s in SCHEDULES:
            days = _nominal(s, n)
            imp[s] = base - grade(severity(p, m, days, LANDMARK) + p["e182"][m])
            imp_rev[s] = base - grade(severity(p, m, days, p["review"]) + p["ereview"][m])
            wrng = np.random.default_rng([seed, 1])           # the same draws for each measure
            imp_win[s] = base - grade(severity(p, m, _in_windows(s, n, wrng), LANDMARK)
                                      + p["e182"][m])
        for s in SCHEDULES:
            rows.append({"measure": m, "term": s, "truth": imp[s].mean(),
                         "mc_se": imp[s].std() / math.sqrt(n),
                         "truth_review": imp_rev[s].mean(), "truth_window": imp_win[s].mean(),
                         "truth_followable": imp[s][can].mean()})
        for a in SCHEDULES:
            for b in SCHEDULES:
                if a != b:
                    d = imp[a] - imp[b]
                    rows.append({"measure": m, "term": f"{a} - {b}", "truth": d.mean(),
                                 "mc_se": d.std() / math.sqrt(n),
                                 "truth_review": (imp_rev[a] - imp_rev[b]).mean(),
                                 "truth_window": (imp_win[a] - imp_win[b]).mean(),
                                 "truth_followable": d[can].mean()})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# one clinic

@dataclass
class Clinic:
    """One simulated clinic: the three tables of a records folder and what the records hide."""

    sessions: pd.DataFrame
    assessments: pd.DataFrame
    patients: pd.DataFrame
    hidden: pd.DataFrame            # per patient: prevalent, real t0, review day, clinic index
    design: Design = field(default_factory=Design)

    def write(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.sessions.to_csv(folder / "sessions.csv", index=False)
        self.assessments.to_csv(folder / "assessments.csv", index=False)
        self.patients.to_csv(folder / "patients.csv", index=False)
        (folder / "dataset.toml").write_text(
            "# scales of an independent simulated clinic (benchmarks/independent_clinics.py)\n\n"
            + "".join(f'[measures.{m}]\nlabel = "{m.capitalize()} (clinician grade)"\nmin = 0.0\n'
                      f'max = 4.0\nbetter = "lower"\nstep = 0.5\n\n' for m in MEASURES))
        return folder


def simulate(design: Design, n: int, seed: int, forced: str | None = None) -> Clinic:
    """A clinic of ``n`` patients (new users, plus prevalent users in ``f_prevalent``).

    ``forced`` = a strategy name puts every patient on its nominal schedule with a review at day
    182 that everyone attends and no loss: the generator's own check of :func:`truth`.
    """
    rng = np.random.default_rng(seed)
    p = draw_patients(n, rng, design)
    prevalent = rng.random(n) < design.prevalent_share if forced is None else np.zeros(n, bool)
    offset = np.where(prevalent, rng.integers(30, 241, n), 0)      # days treated before export
    start = np.where(prevalent, -offset, rng.integers(0, ENROL_DAYS, n))  # real t0 vs export day 0
    if forced is not None:
        p["review"] = np.full(n, LANDMARK)
    horizon = HORIZON + offset.max()
    a10, male = p["a10"], p["male"]
    min_gap = np.where((p["clinic"] == 2) & design.blocked_clinic, 45, 1)

    sess = np.full((n, KMAX), np.nan)
    n_sess = np.ones(n, int)
    sess[:, 0] = 0.0
    last = np.zeros(n)
    active = np.ones(n, bool)
    rec = np.full(n, np.nan)            # latest recorded pore change since the first rating
    first_rating = np.full(n, np.nan)   # the first recorded pore grade (the baseline rating)
    ratings = []                        # (patient, day, pore, texture)
    sess_log = [(i, 0) for i in range(n)]
    target = _target(p, np.arange(n), np.ones(n, int), np.full(n, np.nan))
    def new_checkin(m):
        return np.where(rng.random(m) < 0.35, rng.integers(10, 21, m), -10**6).astype(float)

    checkin = new_checkin(n)
    topup = np.where(rng.random(n) < 0.5, p["review"] - rng.integers(1, 11, n), -1)
    u_rate = rng.random((n, KMAX))
    base_noise = {m: p["e0"][m] for m in MEASURES}

    def rate(idx, day, noise=None):
        if len(idx) == 0:
            return
        sev = {m: severity(_sub(p, idx), m, sess[idx], day if np.ndim(day) else
                           np.full(len(idx), day)) for m in MEASURES}
        g = {m: grade(sev[m] + (rng.normal(0, RATER_SD, len(idx)) if noise is None
                                else noise[m][idx])) for m in MEASURES}
        d = np.broadcast_to(day, len(idx))
        for j, i in enumerate(idx):
            ratings.append((i, int(d[j]), g["pore"][j], g["texture"][j]))
        fresh = np.isnan(first_rating[idx])
        first_rating[idx[fresh]] = g["pore"][fresh]
        rec[idx[~fresh]] = first_rating[idx[~fresh]] - g["pore"][~fresh]

    def stop_smooth(idx, k):
        x = -1.3 - 1.4 * np.nan_to_num(rec[idx], nan=0.3) - 0.15 * a10[idx] + 0.2 * male[idx] \
            + 0.15 * (k >= 4)
        return rng.random(len(idx)) < _sigmoid(x)

    # the baseline rating at t0 (for prevalent users: their real t0, before the export)
    rate(np.arange(n), 0, noise=base_noise)
    if forced is None:      # some come once to try it (younger and men more often)
        active &= rng.random(n) >= _sigmoid(-2.0 - 0.2 * a10 + 0.3 * male)
    for day in range(1, horizon + 1):
        if forced is not None:
            if day in SCHEDULES[forced]:
                sess[np.arange(n), n_sess] = day
                n_sess += 1
                sess_log.extend((i, day) for i in range(n))
            if day == LANDMARK:
                rate(np.arange(n), day, noise=p["e182"])
            continue
        # rating-only check-ins between sessions
        ci = np.flatnonzero(last + checkin == day)
        if len(ci):
            keep = ci[rng.random(len(ci)) < 0.9]
            rate(keep, day)
            if design.decide == "between":
                stop = keep[active[keep]]
                active[stop[stop_smooth(stop, n_sess[stop])]] = False
                target[keep] = _target(p, keep, n_sess[keep], rec[keep])
        # reviews (a rating-only visit), attended or not
        for rv in ("review", "review2"):
            who = np.flatnonzero(p[rv] == day)
            if len(who) == 0:
                continue
            if design.lost_informative:
                pr = _sigmoid(1.0 + 1.6 * np.nan_to_num(rec[who], nan=0.0)
                              - 0.6 * (day - last[who] > 75))
            else:
                # on what the records show: age, and no session for 75 days (not the
                # patient's unrecorded decision to stop)
                pr = _sigmoid(2.3 - 0.15 * a10[who] - 0.8 * (day - last[who] > 75))
            rate(who[rng.random(len(who)) < pr], day)
        # decisions between sessions, day by day
        idle = np.flatnonzero(active)
        if design.decide == "between":
            h = 0.0025 * np.exp(-1.2 * np.nan_to_num(rec[idle], nan=0.3))
            active[idle[rng.random(len(idle)) < h]] = False
        if design.sees_latent:
            seen = p["s0"]["pore"][idle] - severity(_sub(p, idle), "pore", sess[idle],
                                                    np.full(len(idle), day)) \
                + p["perception"][idle]
            h = 0.0012 * np.exp(-1.5 * (seen - 0.4))
            active[idle[rng.random(len(idle)) < np.minimum(h, 0.2)]] = False
        active[idle[rng.random(len(idle)) < 0.001]] = False
        # sessions
        gap = day - last
        cand = np.flatnonzero(active & (gap >= min_gap) & (n_sess < KMAX))
        haz = np.where(gap[cand] >= target[cand] - 4, 0.25, 0.003)
        go = cand[rng.random(len(cand)) < haz]
        if design.late_reviews:     # (d) a session booked in the days before the late review
            top = cand[(topup[cand] == day) & (gap[cand] >= 21)]
            go = np.union1d(go, top)
        if len(go):
            k = n_sess[go]
            rated = go[u_rate[go, k] < 0.75]
            rate(rated, day)          # taken before the session
            sess[go, k] = day
            n_sess[go] += 1
            last[go] = day
            checkin[go] = new_checkin(len(go))
            if design.decide != "sessions":
                target[go] = _target(p, go, n_sess[go], rec[go])
            for i in go:
                sess_log.append((i, day))
            if design.decide == "sessions":
                kk = n_sess[go]
                if design.stop_rule == "threshold":
                    low = rec[go] < design.stop_threshold          # no rating yet: not low
                    pr = np.where(low & (kk >= 3), 0.6, 0.04)
                    stop = rng.random(len(go)) < pr
                else:
                    stop = stop_smooth(go, kk)
                if design.sees_latent:
                    seen = p["s0"]["pore"][go] - severity(_sub(p, go), "pore", sess[go],
                                                          np.full(len(go), day)) \
                        + p["perception"][go]
                    stop |= rng.random(len(go)) < _sigmoid(-2.4 - 2.0 * (seen - 0.5))
                active[go[stop]] = False
                target[go] = _target(p, go, n_sess[go], rec[go])
        if n_sess.max() >= KMAX:
            active &= n_sess < KMAX
    return _tables(p, design, start, prevalent, sess_log, ratings)


def _target(p: dict, idx, received, change) -> np.ndarray:
    """The gap a patient means to leave after their ``received``-th session: the plan's (the
    protocol's loading gap until 3 sessions, then 91 days), responders (a recorded change of a
    grade or more) spacing out by 25 % unless they keep the protocol."""
    plan, pref = p["plan"][idx], p["pref"][idx]
    gap = np.where((plan == 0) & (received >= 3), 91.0, pref)
    resp = (np.nan_to_num(change) >= 1) & (plan != 0)
    return np.where(resp, gap * 1.25, gap)


def _sub(p: dict, idx) -> dict:
    return {"g": {m: p["g"][m][idx] for m in MEASURES}, "s0": {m: p["s0"][m][idx] for m in MEASURES}}


def _tables(p, design, start, prevalent, sess_log, ratings) -> Clinic:
    n = p["n"]
    ids = np.array([f"Q{i + 1:05d}" for i in range(n)])
    s = pd.DataFrame(sess_log, columns=["i", "day"])
    s["cal"] = start[s["i"]] + s["day"]
    a = pd.DataFrame(ratings, columns=["i", "day", "pore", "texture"])
    a["cal"] = start[a["i"]] + a["day"]
    a = a.drop_duplicates(["i", "day"])           # a check-in or review on a session day
    keep_s = (s["cal"] >= 0) & (s["cal"] <= EXPORT_DAYS)
    keep_a = (a["cal"] >= 0) & (a["cal"] <= EXPORT_DAYS)
    s, a = s[keep_s], a[keep_a]

    def cal(x):
        return [str(EXPORT_START + timedelta(days=int(v))) for v in x]

    sessions = pd.DataFrame({"patient_id": ids[s["i"]], "date": cal(s["cal"]),
                             "treatment": "microneedling"}).sort_values(["patient_id", "date"])
    assessments = pd.DataFrame({"patient_id": ids[a["i"]], "date": cal(a["cal"]),
                                "region": "face", "rater": "clinician",
                                "pore": a["pore"].to_numpy(), "texture": a["texture"].to_numpy()})
    assessments = assessments.sort_values(["patient_id", "date"])
    patients = pd.DataFrame({"patient_id": ids, "age": p["age"], "sex": p["sex"],
                             "skin_type": p["skin"],
                             "clinic_id": np.asarray(p["clinic_names"])[p["clinic"]]})
    hidden = pd.DataFrame({"patient_id": ids, "prevalent": prevalent, "t0_day": start,
                           "review_day": p["review"], "clinic": p["clinic"]})
    return Clinic(sessions.reset_index(drop=True), assessments.reset_index(drop=True), patients,
                  hidden, design)


if __name__ == "__main__":       # `make bench` runs every file here: print the truths
    for _name, _design in SCENARIOS.items():
        _t = truth(_design).query("measure == 'pore'").set_index("term")
        print(f"{_name:>13}: " + ", ".join(f"{s} {_t.loc[s, 'truth']:.3f}" for s in SCHEDULES)
              + f"; protocol - every_2_months {_t.loc['protocol - every_2_months', 'truth']:+.3f}")
