"""How wrong could the schedule comparison be? (docs/methods.md §4.17)

Two answers, per contrast with the reference:

- **Tipping point** for the patients who *stopped without a rating showing why*: their record left
  the schedule because a session did not come (window missed), they never came again in the
  records, and no rating after the first session came before they stopped. The weights stand
  for them with followers who looked like them; if they stopped because they saw no change, their
  outcome under the schedule is worse than that. A δ-adjustment (pattern mixture): suppose each
  such patient's outcome under schedule g is δ grades worse than the weights assume. Each is one
  of the ``n`` eligible patients whose mean is estimated, so ``μ_g(δ) = μ_g − δ π_g`` with
  ``π_g`` the share of eligible patients who stopped unseen under g, and the contrast moves by
  ``−δ (π_A − π_ref)``. The tipping point is the δ at which the estimate reaches 0
  (``tipping_delta``) and at which the interval's limit nearer 0 reaches it
  (``tipping_delta_ci``; NaN when the interval already holds 0). NaN when the shares are equal
  or δ would have to be negative (the bias would push the other way).
- **E-value** (VanderWeele & Ding 2017) of each contrast by the standardised-difference
  approximation of :func:`outcomes.estimate.robustness.e_value`: ``d = Δ / SD(outcome)``,
  ``RR ≈ exp(0.91 d)``, ``E = RR + √(RR (RR − 1))``; of the interval, from its limit nearer 0
  (1 when it holds 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .robustness import e_value
from .target_trial import _latest

__all__ = ["add_e_values", "stopped_unseen_share", "tipping_table"]


def stopped_unseen_share(trial, arm) -> float:
    """Share of the eligible patients whose record left ``arm``'s schedule by a missed window,
    who never came again in the records and had no rating after t0 before the window closed."""
    f = arm.follow
    n = len(trial.ids)
    if not n:
        return np.nan
    missed = np.nonzero(f["status"] == "window missed")[0]
    if not len(missed):
        return 0.0
    day = f["day"][missed]
    later_before_L = (trial.days[missed] >= day[:, None]) & np.isfinite(trial.days[missed])
    later = later_before_L.any(axis=1)
    if trial.n_later is not None:
        later |= trial.n_later[missed] > 0
    _, has = _latest(trial.rating_key, trial.rating_change, missed, day, trial.baseline_days)
    return float(np.sum(~later & (has == 0)) / n)


def tipping_table(trial, arms, results: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per contrast with the reference: the two shares of patients who stopped unseen and the
    tipping points (module docstring), with a sentence."""
    share = {name: stopped_unseen_share(trial, arm) for name, arm in arms.items()}
    res = results.set_index("term")
    rows = []
    for name in arms:
        if name == reference:
            continue
        term = f"{name} - {reference}"
        est, lo, hi = (res.loc[term, c] for c in ("estimate", "ci_low", "ci_high"))
        gap = share[name] - share[reference]
        delta = delta_ci = np.nan
        if np.isfinite(est) and abs(gap) > 1e-12:
            d = est / gap
            delta = d if d > 0 else np.nan
            if np.isfinite(lo) and np.isfinite(hi) and not lo <= 0 <= hi:
                near = lo if est > 0 else hi
                dc = near / gap
                delta_ci = dc if dc > 0 else np.nan
        rows.append({"contrast": term, "stopped_unseen": share[name],
                     "stopped_unseen_reference": share[reference], "tipping_delta": delta,
                     "tipping_delta_ci": delta_ci,
                     "sentence": _sentence(term, est, share[name], share[reference], delta,
                                           delta_ci)})
    return pd.DataFrame(rows, columns=["contrast", "stopped_unseen", "stopped_unseen_reference",
                                       "tipping_delta", "tipping_delta_ci", "sentence"])


def _sentence(term, est, a, b, delta, delta_ci) -> str:
    name, ref = term.split(" - ")
    if not np.isfinite(est):
        return f"'{term}' has no number, so there is no tipping point."
    head = (f"{a:.0%} of the eligible patients left '{name}' and {b:.0%} left '{ref}' by "
            "stopping with no rating showing why")
    if not np.isfinite(delta):
        return (head + "; if they did worse than the weights assume, the difference would only "
                "grow, not change sign.")
    words = (head + f"; if they had done {delta:.2f} grades worse than the weights assume, the "
             "difference would vanish")
    if np.isfinite(delta_ci):
        words += f", and at {delta_ci:.2f} grades worse it would no longer be clear"
    return words + "."


def add_e_values(results: pd.DataFrame, sd: float) -> pd.DataFrame:
    """``results`` with ``e_value`` and ``e_value_ci`` on the contrast rows (NaN elsewhere)."""
    out = results.copy()
    out["e_value"] = np.nan
    out["e_value_ci"] = np.nan
    if not (np.isfinite(sd) and sd > 0):
        return out
    for i, r in out.iterrows():
        if " - " not in r["term"] or not np.isfinite(r["estimate"]):
            continue
        lo, hi = r["ci_low"], r["ci_high"]
        ev = e_value(float(r["estimate"]), sd=sd,
                     ci_low=float(lo) if np.isfinite(lo) else None,
                     ci_high=float(hi) if np.isfinite(hi) else None)
        out.loc[i, "e_value"] = float(ev["e_value"].iloc[0])
        out.loc[i, "e_value_ci"] = float(ev["e_value_ci"].iloc[0])
    return out
