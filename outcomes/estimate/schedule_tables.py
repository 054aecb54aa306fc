"""The schedule comparison's diagnostic tables and warnings (docs/methods.md §4).

Who kept to each schedule step by step, the weights, balance before and after weighting, who came
to the review by interim response, the trial's protocol in words, and the plain-language notes.
Computed from the trial (:mod:`outcomes.estimate.target_trial`) and the point estimate; nothing is
refitted here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..privacy import suppress_count
from .target_trial import _latest, _Trial


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
                         f"sessions (none later in the records), {suppress_count(unseen[1])} had no rating after their first "
                         "session before they stopped: if some of them stopped because they saw "
                         "no change, no weighting can know it, and the longer schedules look "
                         "somewhat better than they are (docs/methods.md §4.15).")
    if trial.n_moved:
        notes.append(f"For {suppress_count(trial.n_moved)} patients a session on or after day "
                     f"{int(trial.horizon[0]) if len(trial.horizon) else 0} came before the "
                     "review: their outcome is the rating closest to the landmark taken before "
                     "that session (inside the window), or none, so that no schedule is "
                     "credited with a session after the landmark.")
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
    """Patients with 2–3 sessions before the landmark and no later session at all in the
    records ("stopped early"), and how many of them had no interim rating on or before their
    last session."""
    n_s = np.isfinite(trial.days).sum(axis=1)
    later = trial.n_later if trial.n_later is not None else np.zeros(len(n_s), int)
    early = (n_s >= 2) & (n_s <= 3) & (later == 0)
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
                     "largest_share": float(w.max() / w.sum()) if len(w) else np.nan,
                     "effective_n": ess, "truncated": e["truncated"],
                     "converged": bool(e["converged"])})
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
    treat = settings.get("treatment") or "every treatment"
    wash = settings.get("washout_days", 0)
    rows = [
        ("Treatment under study", (f"{treat}: only its sessions count and set t0; other "
                                   "treatments neither count nor break a schedule")),
        ("Eligibility", (f"a first {treat} session at t0 at least {wash} days after the records "
                        f"begin (a new patient, not one treated before them), a baseline rating "
                        f"in the {B} days up to t0, and records long enough to reach day {L} + "
                        f"{W}")),
        ("Time zero", "the first session (t0)"),
        ("Strategies", "; ".join(f"{k}: {v.label}" for k, v in strategies.items())),
        ("Follow-up", (f"from t0 to day {L} for every patient (never set by the outcome); "
                      f"sessions on or after day {L} are outside every schedule")),
        ("Outcome", (f"improvement of the {settings['measure']} rating closest to day {L} "
                    f"(± {W} days), positive = better, among the ratings taken no later than "
                    f"the first session on or after day {L} (a rating on a session's day is "
                    "taken before it): no session after the landmark is ever in the outcome")),
        ("Estimand", ("the mean improvement had every eligible patient followed each schedule, "
                     f"and its difference from '{settings['reference']}'")),
        ("Analysis", ("each patient copied into every schedule and followed until their record "
                     "leaves it; weights for who stays and who comes to the review (using the "
                     "latest rating, time since the last session, baseline and patient "
                     "details); the mean by weighted iterated conditional expectations "
                     f"(sequentially doubly robust); {settings['boot']} bootstrap replicates for "
                     f"95% intervals ({settings.get('interval', 'normal')}); fewer than "
                     f"{settings['min_followers']} effective followers, on the records or in a "
                     "resample: no number")),
    ]
    return pd.DataFrame(rows, columns=["element", "in this analysis"])


