"""Simulating a clinic: :func:`simulate` draws two years of records with a planted truth.

The draws and the biology are in :mod:`.biology`, the truth in :mod:`.truth`; here they are run
for ``n`` patients and the records are laid out exactly as the CSV files hold them (docs/methods.md
§1: ISO dates, sorted rows, fixed column order), with the hidden values in ``latent``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .biology import (
    _assessment_rows,
    _baseline_landmark,
    _baseline_ratings,
    _covariate_design,
    _draw_biology,
    _draw_observation,
    _draw_patients,
    _draw_plan,
    _indication,
    _linear_combination,
    _linear_improvement,
    _n_before,
    _round,
    _run_schedule,
    _severity,
)
from .params import (
    _AREA_PATTERNS,
    _DAYS_PER_MONTH,
    _LANDMARK_DAYS,
    _LANDMARK_WINDOW,
    _MEASURES,
    DEMO_PATIENTS,
    DEMO_SEED,
    SimParams,
)
from .truth import Simulation, _truth

__all__ = ["ASSESSMENT_COLUMNS", "PATIENT_COLUMNS", "SESSION_COLUMNS", "simulate"]


SESSION_COLUMNS = ["patient_id", "date", "treatment", "depth_mm", "areas", "clinician_id"]
ASSESSMENT_COLUMNS = ["patient_id", "date", "region", "rater"]  # + one column per measure
PATIENT_COLUMNS = ["patient_id", "age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours",
                   "skincare", "concern", "clinic_id"]


_REGIONS = ("nose", "forehead", "chin", "cheeks")


def simulate(n_patients: int = DEMO_PATIENTS, *, seed: int | None = DEMO_SEED,
             params: SimParams | None = None) -> Simulation:
    """Simulate a clinic's two years of records with a known truth.

    Parameters
    ----------
    n_patients : int
        Number of patients (each has at least one session).
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`; the same seed and params give identical records.
    params : SimParams, optional
        The clinic; default ``SimParams()`` (the realistic demo clinic).

    Returns
    -------
    Simulation
        ``sessions``, ``assessments``, ``patients`` (docs/methods.md §1 format), ``measures``, ``truth``,
        ``latent``.

    Notes
    -----
    **The estimand** (docs/methods.md §2, per measure, primary ratings). For patient *i* with first session
    t0 and landmark date L_i (the primary assessment closest to t0 + 182 d within ±45 d; for
    patients without one L_i = t0 + 182 d), ``n_i`` = sessions in [t0, L_i),
    ``spm_i = n_i * 30.4375 / (L_i - t0)`` and ``improvement_i = S_i(t0) - S_i(L_i)``, the
    noise-free severity drop (rater noise, the baseline flare and rounding are mean-zero or do not
    depend on the schedule, so under common random numbers they cancel).

    The intervention keeps each patient's own attendance pattern, clinician, treatments, depths and
    stopping point but runs it faster or slower: session days ``t0 + (t_k - t0) / c``. With
    ``c± = (1 + h)^±1`` (``h = truth_step``), the truth is the central finite difference over the
    same patients::

        effect = Σ_i [improvement_i(c+) - improvement_i(c-)] / Σ_i [spm_i(c+) - spm_i(c-)]

    i.e. extra landmark improvement per one more session a month, a frequency-weighted average of
    the patients' causal slopes. ``truth`` rows (``method = "crn_time_compression"``):

    - ``frequency_effect``: over all simulated patients;
    - ``frequency_effect_analysed``: over the patients an analysis can use (a baseline within
      [t0 − 30, t0] and a landmark), the population a complete-case estimate targets;
    - ``regularity_effect_analysed`` (realistic scenario, ``method = "crn_even_spacing"``): mean
      change in landmark improvement if the same sessions before the landmark were spaced evenly
      between the first and the last of them (analysed patients with ≥ 3 such sessions) — what
      irregularity costs at the same number of sessions and the same span.

    In the ``linear`` scenario ``improvement_i = beta * spm_i + (terms not depending on the
    schedule)``, so the same computation returns ``beta`` exactly (up to rounding, ~1e-15).

    **How attendance unfolds.** Each patient's pattern (``adherence_shares``, shifted by the
    recorded baseline through ``confounding``) gives planned gaps and a planned number of
    sessions. The schedule is then built slot by slot, for all patients at once: on the day of
    session k ≥ 1 the severity depends only on sessions before k; the rating taken before the
    session (when rated) and any review since the previous session are recorded with their
    pre-drawn rater noise; then, from the recorded baseline B and the latest recorded rating
    Y_latest (Δ = B − Y_latest, ``response_measure``), the patient stops with probability
    ``response_stop`` if Δ ≤ ``response_stop_delta``, or stretches the next gap by
    ``response_spacing`` with probability ``response_space_prob`` if Δ ≥
    ``response_space_delta``. A review is missed with ``loss_response`` after a recorded Δ ≤
    ``response_stop_delta`` and with ``followup_loss`` after more than 90 days without a session.
    Every decision uses only what is recorded at or before it, so attendance and loss are
    sequentially ignorable given the recorded history (baseline rating, covariates, latest
    ratings, time since the last session, sessions so far) — except the latent drop-out of
    biological non-responders (``dropout_nonresponder``), kept as a separate, non-ignorable trap.
    The rating in the records is the very value the decision looked at.
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)) \
            or n_patients < 1:
        raise ValueError(f"`n_patients` must be a positive integer, but {n_patients!r} was passed.")
    p = params if params is not None else SimParams()
    rng = np.random.default_rng(seed)
    n = int(n_patients)
    end_day = p.window_days - 1
    pt = _draw_patients(rng, n, p)
    design = _covariate_design(pt)
    bio = _draw_biology(rng, n, p, pt, design)
    obs = _draw_observation(rng, n, p, pt)
    obs["base"] = _baseline_ratings(p, bio, obs)
    bio["indication_z"] = _indication(p, bio, obs["base"])
    plan = _draw_plan(rng, n, p, pt, bio)
    late = rng.random(n) < p.late_start_share
    t0 = np.where(late, rng.integers(p.window_days - 182, p.window_days - 14, n),
                  rng.integers(0, p.window_days - 182, n))
    run = _run_schedule(p, bio, plan, obs, t0)
    sched = {**plan, **run}
    active, mn = run["active"], ~plan["hydra"]
    happened = active & (t0[:, None] + run["days"] <= end_day)
    a_pat, a_day, ratings, eps = _assessment_rows(obs, run, t0, end_day)
    # docs/methods.md §2 baseline / landmark on the primary ratings
    b_idx, l_idx = _baseline_landmark(a_pat, a_day, n)
    has_b, has_l = b_idx >= 0, l_idx >= 0
    land_day = np.where(has_l, a_day[np.maximum(l_idx, 0)], _LANDMARK_DAYS).astype(np.int64)
    n_before = _n_before(run["days"], active, land_day)
    spm = n_before * _DAYS_PER_MONTH / land_day
    truth_rest, latent_m = {}, {}
    lin_noise = {m: rng.standard_normal(n) for m in _MEASURES}
    is_base = (a_day <= 0)
    for m in _MEASURES:
        if p.scenario == "linear":
            obs_r = ratings[m]
            base_obs = np.where(has_b, obs_r[np.maximum(b_idx, 0)],
                                _round(bio["s0"][m] + bio["flare"][m], p))
            truth_rest[m] = _linear_rest(p, m, design, base_obs, bio, lin_noise[m], n)
            imp = _linear_improvement(p, m, spm, truth_rest)
            frac = np.clip(a_day / _LANDMARK_DAYS, 0, 1)
            traj = base_obs[a_pat] - imp[a_pat] * frac + p.rater_sd * eps[m] * (a_day > 0)
            traj = np.where(is_base, obs_r, traj)
            traj[l_idx[has_l]] = base_obs[has_l] - imp[has_l]
            ratings[m] = _round(traj, p)
            true_b, true_l = base_obs, base_obs - imp
        else:
            true_b = bio["s0"][m]
            true_l = _severity(p, bio, m, run["days"], active, mn, plan["depth"], np.arange(n),
                               land_day.astype(float), inc=run["inc"][m])
        latent_m[m] = (true_b, true_l)
    analysed = has_b & has_l
    truth = _truth(p, bio, sched, mn, land_day.astype(float), analysed, truth_rest)

    ids = np.array([f"P{i + 1:0{max(4, len(str(n)))}d}" for i in range(n)], dtype=object)
    start = np.datetime64(p.start_date, "D")
    sessions = _sessions_frame(p, sched, happened, ids, t0, start)
    assessments = _assessments_frame(rng, p, bio, sched, pt, ids, t0, start, a_pat, a_day,
                                     ratings, active, mn)
    patients = _patients_frame(p, pt, ids)
    eligible = has_b & (t0 + _LANDMARK_DAYS + _LANDMARK_WINDOW <= end_day)
    six = obs["six"]
    review_day = obs["rev"][:, six].astype(np.int64) if six >= 0 else np.full(n, _LANDMARK_DAYS)
    latent = _latent_frame(p, bio, sched, ids, t0, start, has_b, has_l, land_day, n_before, spm,
                           latent_m, eligible, review_day)
    state = {"bio": bio, "plan": plan, "obs": obs, "run": run, "t0": t0, "eligible": eligible,
             "review_day": review_day, "base_recorded": {m: ratings[m][np.maximum(b_idx, 0)]
                                                         for m in _MEASURES},
             "rest": truth_rest, "has_b": has_b}
    return Simulation(sessions, assessments, patients, p.measures(), truth, latent, p, seed,
                      state)


def _linear_rest(p: SimParams, m: str, design: dict, base_obs, bio, noise, n):
    """``linear`` scenario: the terms of the planted improvement that do not depend on the
    schedule."""
    return (p.linear_intercept[m]
            + p.linear_baseline_coef[m] * (base_obs - p.baseline_mean[m])
            + _linear_combination({"age_decades": design["age_per_decade"],
                                   "smoker_current": design["smoker_current"],
                                   "sun_high": design["sun_high"],
                                   "sleep_hours": design["sleep_per_hour"],
                                   "male": design["male"]},
                                  p.linear_covariate_coefs, n)
            - p.linear_nonresponder_shift * bio["nonresponder"]
            + p.linear_noise_sd * noise)


def _dates(start, days) -> np.ndarray:
    return np.datetime_as_string(start + np.asarray(days, dtype=np.int64).astype("timedelta64[D]"),
                                 unit="D").astype(object)


def _sessions_frame(p, sched, happened, ids, t0, start) -> pd.DataFrame:
    r, c = np.nonzero(happened)
    hydra = sched["hydra"][r, c]
    areas = np.array(_AREA_PATTERNS, dtype=object)[sched["area_pattern"][r]]
    areas = np.where(hydra, _AREA_PATTERNS[0], areas)
    frame = pd.DataFrame({
        "patient_id": ids[r],
        "date": _dates(start, t0[r] + sched["days"][r, c]),
        "treatment": np.where(hydra, "hydrafacial", "microneedling").astype(object),
        "depth_mm": np.where(hydra, np.nan, sched["depth"][r, c]),
        "areas": areas,
        "clinician_id": np.array([f"dr{j + 1:02d}" for j in sched["clinician"][r, c]],
                                 dtype=object),
    })
    return frame.reset_index(drop=True)


def _assessments_frame(rng, p, bio, sched, pt, ids, t0, start, a_pat, a_day, ratings, active,
                       mn) -> pd.DataFrame:
    n_a = len(a_pat)
    parts = [pd.DataFrame({"pat": a_pat, "day": a_day, "region": "face", "rater": "clinician",
                           **{m: ratings[m] for m in _MEASURES}})]
    # region ratings beside some clinician assessments
    with_regions = np.nonzero(rng.random(n_a) < p.region_rating_share)[0]
    for region in _REGIONS:
        vals = {}
        for m in _MEASURES:
            base = ratings[m][with_regions]
            off = p.region_offsets[m][region]
            vals[m] = _round(base + off + p.region_sd * rng.standard_normal(len(with_regions)), p)
        parts.append(pd.DataFrame({"pat": a_pat[with_regions], "day": a_day[with_regions],
                                   "region": region, "rater": "clinician",
                                   **vals}))
    # patient self-ratings
    with_self = np.nonzero(rng.random(n_a) < p.patient_rating_share)[0]
    vals = {}
    for m in _MEASURES:
        true = _severity(p, bio, m, sched["days"].astype(float), active, mn, sched["depth"],
                         a_pat[with_self], a_day[with_self].astype(float))
        if p.scenario == "linear":
            true = ratings[m][with_self]
        vals[m] = _round(true - p.patient_optimism * (a_day[with_self] > 0)
                         + p.patient_rating_sd * rng.standard_normal(len(with_self)), p)
    parts.append(pd.DataFrame({"pat": a_pat[with_self], "day": a_day[with_self], "region": "face",
                               "rater": "patient", **vals}))
    frame = pd.concat(parts, ignore_index=True)
    region_rank = {"face": 0, **{r: i + 1 for i, r in enumerate(_REGIONS)}}
    frame["_r"] = frame["rater"].map({"clinician": 0, "patient": 1})
    frame["_g"] = frame["region"].map(region_rank)
    frame = frame.sort_values(["pat", "day", "_r", "_g"], kind="stable")
    out = pd.DataFrame({
        "patient_id": ids[frame["pat"].to_numpy()],
        "date": _dates(start, t0[frame["pat"].to_numpy()] + frame["day"].to_numpy()),
        "region": frame["region"].to_numpy(dtype=object),
        "rater": frame["rater"].to_numpy(dtype=object),
        **{m: frame[m].to_numpy(dtype=float) for m in _MEASURES},
    })
    return out.reset_index(drop=True)


def _patients_frame(p, pt, ids) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ids,
        "age": pt["age"].astype(float),
        "sex": pt["sex"],
        "skin_type": pt["skin_type"].astype(np.int64),
        "smoker": pt["smoker"],
        "sun_exposure": pt["sun"],
        "sleep_hours": pt["sleep"].astype(float),
        "skincare": pt["skincare"],
        "concern": pt["concern"],
        "clinic_id": np.array([f"clinic_{chr(97 + c)}" for c in pt["clinic"]], dtype=object),
    })


def _latent_frame(p, bio, sched, ids, t0, start, has_b, has_l, land_day, n_before, spm,
                  latent_m, eligible, review_day) -> pd.DataFrame:
    stop = sched["stop"]
    frame = pd.DataFrame({
        "patient_id": ids,
        "adherence": sched["adherence"],
        "n_loading": sched["n_load"],
        "planned_sessions": stop,
        "dropout": sched["reason"] != "none",
        "dropout_reason": sched["reason"],
        "nonresponder": bio["nonresponder"],
        "response": bio["response"],
        "indication_z": bio["indication_z"],
        "t0": _dates(start, t0),
        "has_baseline": has_b,
        "has_landmark": has_l,
        "landmark_date": np.where(has_l, _dates(start, t0 + land_day), None),
        "n_sessions": np.where(has_l, n_before, -1),
        "sessions_per_month": np.where(has_l, spm, np.nan),
        "eligible": eligible,
        "review_date": _dates(start, t0 + review_day),
    })
    for m in _MEASURES:
        true_b, true_l = latent_m[m]
        frame[f"true_baseline_{m}"] = true_b
        frame[f"true_landmark_{m}"] = true_l
        frame[f"true_improvement_{m}"] = true_b - true_l
        frame[f"ceiling_{m}"] = bio["ceiling"][m]
    return frame
