"""A simulated clinic and the truth only a simulation knows: :class:`Simulation`, the effect of
frequency and the mean improvement under every schedule, by common random numbers.

:class:`Simulation` holds the records with the hidden values and the draws behind them.
:func:`_truth` computes ``Simulation.truth`` (the effect of one more session a month, by running
the same patients' schedules faster and slower); :func:`strategy_truth` forces each strategy of
docs/methods.md §4 on the same eligible patients, every other draw kept; :func:`strategy_followers`
says who followed which strategy (:func:`follows_strategy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..records import Records, from_frames
from ..records.scales import Measure
from .biology import _linear_improvement, _n_before, _recorded, _severity
from .params import _DAYS_PER_MONTH, _LANDMARK_DAYS, _MEASURES, SimParams

__all__ = ["Simulation", "follows_strategy", "strategy_followers", "strategy_truth"]


@dataclass
class Simulation:
    """A simulated clinic: records, the hidden values behind them and the truth.

    Attributes
    ----------
    sessions, assessments, patients : DataFrame
        The records exactly as written to the CSV files (docs/methods.md §1): ISO date strings, lower-case
        treatments, ratings on the measures' grid; rows sorted, fixed column order.
    measures : dict of str to Measure
        The scales (``scales.default_measures()`` unless the scenario changes them).
    truth : DataFrame
        ``measure, estimand, value, n, method`` — see :func:`simulate`.
    latent : DataFrame
        One row per patient of hidden values: ``adherence``, ``n_loading``, ``planned_sessions``,
        ``dropout`` and ``dropout_reason``, ``nonresponder``, ``response``, ``indication_z``,
        ``t0``, ``has_baseline``, ``has_landmark``, ``landmark_date``, ``n_sessions`` and
        ``sessions_per_month`` (docs/methods.md §2; −1 / NaN without a landmark) and per measure
        ``true_baseline_*``, ``true_landmark_*``, ``true_improvement_*`` (noise-free severity at t0
        and at the landmark date, or t0 + 182 d without a landmark; in the ``linear`` scenario the
        observed baseline and the planted landmark value), ``ceiling_*``; ``eligible`` (docs/methods.md
        §4.3: a baseline in [t0 − 30, t0] and t0 + 227 d within the window) and ``review_date``
        (the 6-month review as drawn, attended or not: the landmark of :func:`strategy_truth`).
        ``dropout_reason`` is ``"none"``, ``"planned"`` (the ``dropout`` and ``single``
        patterns), ``"non_responder"`` (latent, ``dropout_nonresponder``) or ``"response"``
        (stopped on the recorded ratings, ``response_stop``).
    params : SimParams
    seed : int or None
    state : dict
        The draws behind the records (biology, plans, rater noise, the unfolded schedule), kept for
        :meth:`strategy_truth` and :meth:`followers`; internal, not part of the records.
    """

    sessions: pd.DataFrame
    assessments: pd.DataFrame
    patients: pd.DataFrame
    measures: dict[str, Measure]
    truth: pd.DataFrame
    latent: pd.DataFrame
    params: SimParams
    seed: int | None = None
    state: dict | None = field(default=None, repr=False, compare=False)

    def strategy_truth(self, strategies=None, *, sessions_before: int | None = None
                       ) -> pd.DataFrame:
        """The interventional truth of every strategy (see :func:`strategy_truth`)."""
        return strategy_truth(self, strategies, sessions_before=sessions_before)

    def followers(self, strategies=None) -> pd.DataFrame:
        """Who follows which strategy to the landmark (see :func:`strategy_followers`)."""
        return strategy_followers(self, strategies)

    def to_records(self) -> Records:
        """The records as :class:`~outcomes.records.Records` (through ``records.from_frames``)."""
        return from_frames(self.sessions, self.assessments, self.patients, self.measures)

    def write(self, path: str | Path) -> Path:
        """Write ``sessions.csv``, ``assessments.csv``, ``patients.csv`` and ``dataset.toml``.

        The output is byte-for-byte deterministic: fixed column order, sorted rows, no index,
        floats pre-rounded and written in their shortest form, ``\\n`` line endings, UTF-8.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in (("sessions", self.sessions), ("assessments", self.assessments),
                            ("patients", self.patients)):
            text = frame.to_csv(index=False, lineterminator="\n")
            (path / f"{name}.csv").write_bytes(text.encode("utf-8"))
        (path / "dataset.toml").write_bytes(_scales_toml(self.measures).encode("utf-8"))
        return path


def _scales_toml(measures: dict[str, Measure]) -> str:
    lines = ["# Rating scales of the synthetic demo clinic (outcomes.synthetic).", ""]
    for m in measures.values():
        lines += [f"[measures.{m.name}]", f'label = "{m.label}"', f"min = {m.min!r}",
                  f"max = {m.max!r}", f'better = "{m.better}"']
        if m.step is not None:
            lines.append(f"step = {m.step!r}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the truth
# ---------------------------------------------------------------------------------------------


def _truth(p: SimParams, bio, sched, mn, land_day, analysed, rest):
    """Central finite difference over time-compressed schedules (common random numbers)."""
    days, depth = sched["days"], sched["depth"]
    K = days.shape[1]
    active = np.arange(K)[None, :] < sched["stop"][:, None]
    n = len(land_day)
    rows = np.arange(n)
    h = p.truth_step
    out = []
    per = {}
    for c in (1 + h, 1 / (1 + h)):
        d = days / c
        cnt = _n_before(d, active, land_day)
        spm = cnt * _DAYS_PER_MONTH / land_day
        imp = {}
        for m in _MEASURES:
            if p.scenario == "linear":
                imp[m] = _linear_improvement(p, m, spm, rest)
            else:
                imp[m] = bio["s0"][m] - _severity(p, bio, m, d, active, mn, depth, rows,
                                                  land_day.astype(float))
        per[c] = (spm, imp)
    (spm_hi, imp_hi), (spm_lo, imp_lo) = per[1 + h], per[1 / (1 + h)]
    # the same pre-landmark sessions, first and last kept, the ones between evenly spaced
    cnt = _n_before(days, active, land_day)
    last = days[rows, np.maximum(cnt - 1, 0)]
    k = np.arange(K)[None, :]
    even = np.where(k < cnt[:, None], k * (last / np.maximum(cnt - 1, 1))[:, None], days)
    for m in _MEASURES:
        for label, sel in (("frequency_effect", np.ones(n, dtype=bool)),
                           ("frequency_effect_analysed", analysed)):
            dspm = (spm_hi - spm_lo)[sel].sum()
            dimp = (imp_hi[m] - imp_lo[m])[sel].sum()
            value = dimp / dspm if dspm > 0 else float("nan")
            out.append((m, label, value, int(sel.sum()), "crn_time_compression"))
        if p.scenario == "realistic":
            sel = analysed & (cnt >= 3)
            now = _severity(p, bio, m, days, active, mn, depth, rows, land_day.astype(float))
            ev = _severity(p, bio, m, even, active, mn, depth, rows, land_day.astype(float))
            out.append((m, "regularity_effect_analysed", float((now - ev)[sel].mean())
                        if sel.any() else float("nan"), int(sel.sum()), "crn_even_spacing"))
    return pd.DataFrame(out, columns=["measure", "estimand", "value", "n", "method"])


# ---------------------------------------------------------------------------------------------
# the schedule comparison: who follows which strategy, and the truth of every strategy
# ---------------------------------------------------------------------------------------------

def _strategy_dict(strategies) -> dict:
    from ..protocols import default_strategies

    if strategies is None:
        return default_strategies()
    if isinstance(strategies, dict):
        return dict(strategies)
    return {s.name: s for s in strategies}


def follows_strategy(days, active, landmark_day, strategy) -> np.ndarray:
    """Whether each record follows ``strategy`` up to its landmark day (docs/methods.md §4).

    ``days`` (patients × slots, days since t0, increasing where ``active``) are the sessions of
    every treatment. A record deviates at a session before the landmark that comes outside the
    window ``[prev + lo, prev + hi]`` of :meth:`Strategy.window` (too early, or after the window
    closed), or when a window closes (``prev + hi < landmark_day``) with no session in it;
    ``single`` allows no session after the first before the landmark.
    """
    days = np.asarray(days, dtype=float)
    land = np.asarray(landmark_day, dtype=float)
    n, K = days.shape
    before = np.asarray(active, dtype=bool) & (days < land[:, None])
    ok = np.ones(n, dtype=bool)
    going = np.ones(n, dtype=bool)        # still inside the record before the landmark
    for k in range(1, K):
        window = strategy.window(k)
        has = before[:, k]
        if window is None:
            ok &= ~(going & has)
            break
        lo, hi = window
        gap = days[:, k] - days[:, k - 1]
        ok &= ~(going & has & ((gap < lo) | (gap > hi)))
        ok &= ~(going & ~has & (days[:, k - 1] + hi < land))
        going &= has
        if not going.any():
            break
    return ok


def _forced_days(strategy, jitter, sd: float, landmark_day):
    """Session days of ``strategy`` forced on every patient: the next session is due
    ``interval + e_k`` after the previous one, ``e_k = clip(round(sd · z_k), −tol, tol)`` with the
    patient's own draw ``z_k`` (the same for every strategy), up to (not on) the landmark day."""
    n, K = jitter.shape
    days = np.zeros((n, K))
    active = np.zeros((n, K), dtype=bool)
    active[:, 0] = True
    for k in range(1, K):
        window = strategy.window(k)
        if window is None:
            break
        lo, hi = window
        tol = (hi - lo) // 2
        e = np.clip(np.round(sd * jitter[:, k]), -tol, tol)
        days[:, k] = days[:, k - 1] + (lo + hi) // 2 + e
        active[:, k] = active[:, k - 1] & (days[:, k] < landmark_day)
        if not active[:, k].any():
            break
    return days, active


def _forced_improvement(sim: Simulation, days, active) -> dict:
    """Per patient and measure, the improvement the clinic would record at the 6-month review
    day (as drawn) had the sessions come on ``days`` (``active``), every other draw kept: the
    recorded baseline minus the landmark rating (same rater noise, bias, rounding)."""
    st, p = sim.state, sim.params
    bio, plan, obs = st["bio"], st["plan"], st["obs"]
    land = st["review_day"].astype(float)
    n = len(land)
    out = {}
    for m in _MEASURES:
        if p.scenario == "linear":
            cnt = _n_before(days, active, land)
            out[m] = _linear_improvement(p, m, cnt * _DAYS_PER_MONTH / land, st["rest"])
            continue
        true = _severity(p, bio, m, days, active, ~plan["hydra"], plan["depth"], np.arange(n),
                         land)
        six = obs["six"]
        eps = obs["eps"][m]["rev"][:, six] if six >= 0 else np.zeros(n)
        out[m] = st["base_recorded"][m] - _recorded(p, true, obs["bias"], eps)
    return out


def strategy_truth(sim: Simulation, strategies=None, *, sessions_before: int | None = None
                   ) -> pd.DataFrame:
    """The interventional truth of every strategy, by forcing it on the same eligible patients.

    Parameters
    ----------
    sim : Simulation
        A clinic from :func:`simulate`.
    strategies : dict or iterable of Strategy, optional
        Default :func:`outcomes.protocols.default_strategies`.
    sessions_before : int, optional
        Forced sessions are kept only before ``min(L_i, sessions_before)``: the estimand of
        docs/methods.md §4 (no session on or after the landmark day, e.g. 182, counts, even when
        the review comes later). ``None``: every forced session before the review day ``L_i``.

    Returns
    -------
    DataFrame
        ``strategy, measure, mean_improvement, n``: one row per strategy and measure, then the
        contrasts ``"A - every_2_months"`` for every other strategy A (the reference is
        ``every_2_months`` when present, else the first strategy) and ``"protocol - single"``.

    Notes
    -----
    **The estimand** (docs/methods.md §4). Eligible patients E: a baseline rating in [t0 − 30, t0] and
    t0 + 182 + 45 ≤ the last day of the records window. For strategy g::

        μ_g = (1/|E|) Σ_{i∈E} [ B_i − Y_i^g ]

    with B_i the baseline rating as recorded (flare, rater noise, clinician bias, rounding) and
    Y_i^g the face rating the clinic would record at the landmark under g.

    **Common random numbers.** Each patient keeps every draw of :func:`simulate` — biology,
    per-slot treatment (HydraFacial or microneedling), needle depth, clinician bias, and the rater
    noise of their 6-month review — and only the session days change. Under g the sessions are
    ``d_0 = 0``, ``d_k = d_{k−1} + interval_k + e_ik`` with ``interval_k ± tol_k`` the window of
    :meth:`Strategy.window(k) <outcomes.protocols.Strategy.window>`,
    ``e_ik = clip(round(strategy_jitter_sd · z_ik), −tol_k, tol_k)`` and ``z_ik`` the patient's
    own standard-normal draw for slot k (shared by all strategies), kept while ``d_k < L_i``;
    ``L_i`` is the day of the patient's 6-month review as drawn (attended or not), so the
    landmark does not depend on attendance. Then::

        Y_i^g = clip(round_0.5(S_i^g(L_i) + b_i + σ ε_i)),

    S_i^g the noise-free severity under the forced sessions, b_i the clinician bias, ε_i the
    review's rater-noise draw. Contrasts are means of the per-patient differences over the same
    E (exactly the difference of the means). An unbiased estimator of the mean improvement at the
    landmark under g among the eligible patients targets μ_g (the landmark rating of an analysis
    is the one closest to t0 + 182 within ±45 days, mostly this review; forced timings lie inside
    the grace windows like a follower's). How close: in the trap-free ``simple`` clinic (20,000
    patients) followers' recorded texture improvement minus their own forced truth is −0.017
    (protocol), −0.018 (every_2_months), −0.008 (monthly), −0.002 (single) grades — the
    followers' own timings and, mostly, landmarks that are a session-day rating (taken before a
    session near day 182, which then does not count) rather than the review.

    In the ``linear`` scenario ``B_i − Y_i^g = beta · spm_i^g + rest_i`` with
    ``spm_i^g = n_i^g · 30.4375 / L_i`` (n_i^g forced sessions before L_i), the planted line.
    """
    strategies = _strategy_dict(strategies)
    st, p = sim.state, sim.params
    el = st["eligible"]
    n_el = int(el.sum())
    per = {}
    for name, strat in strategies.items():
        until = st["review_day"] if sessions_before is None else \
            np.minimum(st["review_day"], sessions_before)
        days, active = _forced_days(strat, st["plan"]["jitter"], p.strategy_jitter_sd, until)
        per[name] = _forced_improvement(sim, days, active)
    rows = []
    for name in strategies:
        for m in _MEASURES:
            rows.append((name, m, float(per[name][m][el].mean()) if n_el else math.nan, n_el))
    names = list(strategies)
    ref = "every_2_months" if "every_2_months" in strategies else names[0]
    pairs = [(a, ref) for a in names if a != ref]
    if "protocol" in strategies and "single" in strategies:
        pairs.append(("protocol", "single"))
    for a, b in pairs:
        for m in _MEASURES:
            diff = (per[a][m] - per[b][m])[el]
            rows.append((f"{a} - {b}", m, float(diff.mean()) if n_el else math.nan, n_el))
    return pd.DataFrame(rows, columns=["strategy", "measure", "mean_improvement", "n"])


def strategy_followers(sim: Simulation, strategies=None) -> pd.DataFrame:
    """Which patients follow which strategy to their landmark, from the simulated schedules.

    Returns
    -------
    DataFrame
        One row per patient: ``patient_id``, ``eligible`` (docs/methods.md §4), ``has_landmark`` and one
        boolean column per strategy: the record follows it (:func:`follows_strategy`) up to the
        landmark rating's day (t0 + 182 without one). Count followers to the landmark with
        ``df[df.eligible & df.has_landmark][names].sum()``.
    """
    strategies = _strategy_dict(strategies)
    st, lat = sim.state, sim.latent
    land = (pd.to_datetime(lat["landmark_date"]) - pd.to_datetime(lat["t0"])).dt.days
    land = land.fillna(_LANDMARK_DAYS).to_numpy(dtype=float)
    out = pd.DataFrame({"patient_id": lat["patient_id"], "eligible": st["eligible"],
                        "has_landmark": lat["has_landmark"].to_numpy()})
    for name, strat in strategies.items():
        out[name] = follows_strategy(st["run"]["days"], st["run"]["active"], land, strat)
    return out
