"""When a schedule's number is fragile, in words a clinic lead reads (docs/methods.md §4.7).

One rule, :func:`fragility`, applied to every strategy; a contrast is fragile when either of its
two strategies is. A strategy's number is **fragile** when any of these holds:

1. its effective number of followers (Kish, of their weights) is below :data:`SOUND_EFFECTIVE`
   (40) or ``2 × min_followers``, whichever is larger;
2. a few patients carry much of the weight: the effective number is under half the followers, or
   one patient carries a tenth of the total weight or more;
3. a model of who kept to it did not settle — on the records or in any bootstrap resample;
4. in more than 2.5 % of the bootstrap resamples its effective followers fell below
   ``min_followers`` (those resamples give it no number);
5. a structural gap: a clinic, sex, skin type or age band in which nobody kept to it although
   at least 5 followers were expected there at the overall rate — the number then speaks only
   for patients like those who could follow it.

Also the tables behind it: followers by clinic, sex, skin type and age band
(:func:`strata_table`) and the distribution of the fitted probability of staying per step
(:func:`stay_table`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..privacy import suppress_count

__all__ = ["SOUND_EFFECTIVE", "fragility", "stay_table", "strata_table"]

#: fewest effective followers for a number that is more than a hint (whatever ``min_followers``,
#: the fewest for a number at all)
SOUND_EFFECTIVE = 40

_STRATA = (("clinic_id", "clinic"), ("sex", "sex"), ("skin_type", "skin type"),
           ("age band", "age band"))
_EXPECTED = 5.0


def _age_band(age: pd.Series) -> pd.Series:
    a = pd.to_numeric(age, errors="coerce")
    band = pd.cut(a, [-np.inf, 30, 45, 60, np.inf], right=False,
                  labels=["under 30", "30–44", "45–59", "60 and over"]).astype("object")
    return band.where(a.notna(), "missing").astype(str)


def strata_table(trial, arms) -> pd.DataFrame:
    """Per strategy, variable and level: eligible patients, followers to the review with an
    outcome, their share, and the followers expected there at the strategy's overall rate."""
    raw = trial.raw.copy()
    if "age" in raw:
        raw["age band"] = _age_band(raw["age"])
    rows = []
    n = len(trial.ids)
    for name, arm in arms.items():
        unc = arm.uncensored
        rate = unc.sum() / n if n else 0.0
        for col, label in _STRATA:
            if col not in raw:
                continue
            levels = raw[col].astype(str).to_numpy()
            for level in sorted(set(levels)):
                at = levels == level
                k = int(at.sum())
                rows.append({"strategy": name, "variable": label, "level": level,
                             "eligible": k, "followers": int(unc[at].sum()),
                             "share": unc[at].mean() if k else np.nan,
                             "expected": k * rate})
    return pd.DataFrame(rows, columns=["strategy", "variable", "level", "eligible", "followers",
                                       "share", "expected"])


def stay_table(arms, point) -> pd.DataFrame:
    """Per strategy and step: clones at risk and the distribution of the fitted probability of
    staying (minimum, 5th percentile, median, 95th percentile); small probabilities are where
    the weights come from."""
    rows = []
    for name, arm in arms.items():
        p = point[name].get("p_stay")
        if p is None:
            continue
        steps = arm.follow["row_step"].astype(int)
        for k in np.unique(steps):
            q = p[steps == k]
            rows.append({"strategy": name, "step": int(k), "at_risk": len(q),
                         "p_min": float(q.min()), "p_05": float(np.quantile(q, 0.05)),
                         "p_median": float(np.median(q)),
                         "p_95": float(np.quantile(q, 0.95))})
    return pd.DataFrame(rows, columns=["strategy", "step", "at_risk", "p_min", "p_05",
                                       "p_median", "p_95"])


def structural_gaps(strata: pd.DataFrame, name: str) -> pd.DataFrame:
    """The strata of ``name`` in which nobody kept to it although ≥ 5 were expected."""
    if strata.empty:
        return strata
    s = strata[strata["strategy"] == name]
    return s[(s["followers"] == 0) & (s["expected"] >= _EXPECTED) & (s["level"] != "missing")]


def fragility(e: dict, reps: dict, strata: pd.DataFrame, name: str, min_followers: int,
              boot: int) -> tuple[bool, str]:
    """(fragile, the reasons in plain words, ``""`` when not fragile) for one strategy; ``e`` its
    point estimate (with ``weights``), ``reps`` its bootstrap record."""
    reasons = []
    n_out, ess = e["n_outcome"], e["ess"]
    w = e.get("weights")
    if n_out == 0:
        return True, "nobody kept to it until the review"
    if ess < max(2 * min_followers, SOUND_EFFECTIVE):
        reasons.append(f"only {suppress_count(n_out)} patients kept to it (effective {ess:.0f})")
    if w is not None and len(w) and (ess < 0.5 * n_out or w.max() >= 0.1 * w.sum()):
        reasons.append(f"a few patients carry much of the weight (effective {ess:.0f} of "
                       f"{suppress_count(n_out)})")
    if not e["converged"]:
        reasons.append("the weight model did not settle on these records")
    if reps.get("unsettled"):
        reasons.append(f"the weight model did not settle in {reps['unsettled']} of {boot} "
                       "resamples")
    if boot and reps.get("failed", 0) > 0.025 * boot:
        reasons.append(f"in {reps['failed']} of {boot} resamples fewer than {min_followers} "
                       "effective patients kept to it")
    for _, g in structural_gaps(strata, name).iterrows():
        reasons.append(f"patients in {g['variable']} {g['level']} ({g['eligible']}) never kept "
                       "to it: the number is only for patients who could")
    return bool(reasons), "; ".join(reasons)
