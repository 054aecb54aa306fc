"""The bottom line of the schedule comparison: what a clinic lead reads on the first screen.

Per measure, three lines (:func:`bottom_line`):

1. **the answer** — the best-supported schedule compared with the reference (the clinic's own
   protocol unless another was chosen, and then named), with the difference, its 95% interval and
   its verdict under the one verdict rule (:mod:`outcomes.estimate.verdict`);
2. **what it rests on** — per schedule, the patients who kept to it to the review and their
   effective number after weighting;
3. **how sure** — a plain flag for every number that rests on few patients ("only 28 patients
   kept to monthly: treat as a hint"), or that none does.

A schedule is never crowned on a number its own diagnostics call fragile: the best-supported
schedule is the one with the largest mean improvement among those that are *not fragile* and
*better than the reference* under the one verdict rule; when none is, the line says to keep the
reference, and names the closest contender with its verdict. A fragile schedule with a larger
number is named in the flag line instead.

Whether a number is fragile comes from one small function, :func:`standing`: it uses the
comparison's own ``effective_n``, ``fragile`` and ``fragile_reasons`` columns when
:attr:`ScheduleComparison.results` has them, and otherwise the effective sample size of
``comparison.weights`` with *fragile = effective number under twice the fewest followers a
schedule needs for a number*.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..estimate.schedule_fragility import SOUND_EFFECTIVE
from ..estimate.schedules import ScheduleComparison
from ..estimate.verdict import trivial_size, verdict
from ..format import number, which_way
from ..privacy import suppress_count
from ..records.scales import Measure
from .schedules import schedule_name

__all__ = ["FRAGILE_FACTOR", "bottom_line", "fragile_flag", "standing"]

#: without the comparison's own diagnostics, a number is fragile when its effective number of
#: patients is under this many times the fewest followers a schedule needs (``min_followers``)
FRAGILE_FACTOR = 2


def standing(comparison: ScheduleComparison) -> pd.DataFrame:
    """One row per schedule: ``term``, ``estimate``, ``ci_low``, ``ci_high``, ``followers``
    (patients who kept to it to the review with a rating), ``effective_n``, ``fragile`` and
    ``fragile_reasons`` — from the comparison's own columns when it has them, else from
    ``comparison.weights`` (a comparison made without them: fragile = effective number under
    :data:`FRAGILE_FACTOR` × ``min_followers`` or ``SOUND_EFFECTIVE``, the estimator's rule 1). The one place that decides what "rests on few" means."""
    res = comparison.results
    res = res[~res["term"].str.contains(" - ", regex=False)].reset_index(drop=True)
    out = res[["term", "estimate", "ci_low", "ci_high"]].copy()
    out["followers"] = res["n_outcome"].astype(float)
    if {"effective_n", "fragile"} <= set(res.columns):
        out["effective_n"] = res["effective_n"].astype(float)
        out["fragile"] = res["fragile"].fillna(False).astype(bool)
        reasons = (res["fragile_reasons"] if "fragile_reasons" in res.columns
                   else pd.Series("", index=res.index))
        out["fragile_reasons"] = reasons.fillna("").astype(str)
        return out
    weights = comparison.weights
    ess = (weights.set_index("strategy")["effective_n"] if len(weights)
           and {"strategy", "effective_n"} <= set(weights.columns) else pd.Series(dtype=float))
    out["effective_n"] = out["term"].map(ess).astype(float)
    needed = max(FRAGILE_FACTOR * int(comparison.settings.get("min_followers", 10)),
                 SOUND_EFFECTIVE)
    out["fragile"] = out["effective_n"].lt(needed) & out["estimate"].notna()
    out["fragile_reasons"] = [
        f"its weighted number of patients is {number(e, 0)}, under {needed}" if f else ""
        for e, f in zip(out["effective_n"], out["fragile"])]
    return out


def _names(comparison: ScheduleComparison) -> dict[str, str]:
    labels = dict(comparison.settings.get("strategies", {}))
    return {k: schedule_name(k, v) for k, v in labels.items()}


def _ess(x: float) -> str:
    return "—" if not math.isfinite(x) else number(x, 0)


def fragile_flag(rows: pd.DataFrame, names: dict[str, str]) -> str:
    """The plain flag of the fragile numbers, fewest patients first, e.g. "only 28 patients kept
    to monthly (about 17 once weighted) and 34 to every two months (about 23): treat their numbers
    as a hint, not a reason to move patients"."""
    rows = rows.sort_values("followers")
    parts = []
    for i, (_, r) in enumerate(rows.iterrows()):
        name = names.get(r["term"], r["term"])
        followers = suppress_count(int(r["followers"]))
        ess = _ess(r["effective_n"])
        parts.append(f"only {followers} patients kept to {name} (about {ess} once weighted)"
                     if i == 0 else f"{followers} to {name} (about {ess})")
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    whose = "its number" if len(parts) == 1 else "these numbers"
    return f"{joined}: treat {whose} as a hint, not a reason to move patients"


def _rests_on(table: pd.DataFrame, names: dict[str, str]) -> str:
    parts = []
    for _, r in table.iterrows():
        if not np.isfinite(r["estimate"]):
            parts.append(f"{names.get(r['term'], r['term'])} {suppress_count(int(r['followers']))}"
                         " (too few for a number)")
        else:
            parts.append(f"{names.get(r['term'], r['term'])} "
                         f"{suppress_count(int(r['followers']))} (about "
                         f"{_ess(r['effective_n'])} once weighted)")
    return "; ".join(parts)


def _difference(comparison: ScheduleComparison, best: str, ref: str) -> dict:
    res = comparison.results.set_index("term")
    term = f"{best} - {ref}"
    if term in res.index and np.isfinite(res.loc[term, "estimate"]):
        r = res.loc[term]
        return {k: float(r[k]) for k in ("estimate", "ci_low", "ci_high")}
    return comparison.contrast(best, ref)


def bottom_line(comparison: ScheduleComparison, measure: Measure, *,
                heading: str | None = None) -> list[str]:
    """The three lines of the bottom line for one measure (markdown, no code names): the answer,
    what it rests on, how sure. See the module docstring for the rule that crowns a schedule."""
    st = comparison.settings
    names = _names(comparison)
    ref = st["reference"]
    ref_name = names.get(ref, ref)
    against = (ref_name if ref == "protocol" else
               f"{ref_name} (the reference chosen for this comparison)")
    table = standing(comparison)
    unit = measure.unit
    trivial = trivial_size(measure)
    heading = heading or measure.label
    ok = table[np.isfinite(table["estimate"].astype(float))]
    sound = ok[~ok["fragile"]]
    ref_row = table[table["term"] == ref]

    if ref_row.empty or not np.isfinite(float(ref_row["estimate"].iloc[0])):
        answer = (f"**{heading}: no schedule can be compared with {against}** — too few patients "
                  "kept to it for a number.")
    else:
        judged = []
        for _, r in sound[sound["term"] != ref].iterrows():
            d = _difference(comparison, r["term"], ref)
            if np.isfinite(d["estimate"]):
                judged.append((r, d, verdict(d["estimate"], d["ci_low"], d["ci_high"],
                                             trivial)[0]))
        better = [j for j in judged if j[2] == "supported"]
        if better:
            r, d, v = max(better, key=lambda j: j[0]["estimate"])
            answer = (f"**{heading}: best supported is {names.get(r['term'], r['term'])}** — "
                      f"better than {against}: "
                      + which_way(d["estimate"], d["ci_low"], d["ci_high"], unit=unit,
                                  more="more improvement", less="less improvement")
                      + f"; verdict: *{v}*.")
        else:
            ref_r = ref_row.iloc[0]
            answer = (f"**{heading}: keep {against}** — no schedule with a sound number did "
                      f"clearly better (its mean improvement: {number(ref_r['estimate'])} "
                      f"{unit}, 95% CI {number(ref_r['ci_low'])} to {number(ref_r['ci_high'])})")
            if judged:
                r, d, v = max(judged, key=lambda j: j[0]["estimate"])
                how = {"not supported": "is no better",
                       "not enough data": "cannot be told apart from it"}.get(v, v)
                which = ("the closest" if len(judged) > 1 else
                         "the only other schedule with a sound number")
                answer += (f"; {which}, {names.get(r['term'], r['term'])}, {how}: "
                           + which_way(d["estimate"], d["ci_low"], d["ci_high"], unit=unit,
                                       more="more", less="less")
                           + f", verdict *{v}*")
            elif sound.empty:
                answer += "; every number these records give rests on few patients"
            answer += "."
    rests = f"Rests on (patients who kept to each schedule to the review): {_rests_on(table, names)}."
    flags = []
    fragile = ok[ok["fragile"]]
    if len(fragile):
        flags.append(fragile_flag(fragile, names))
    top = ok.sort_values("estimate", ascending=False).iloc[0] if len(ok) else None
    if top is not None and top["fragile"]:
        flags.append(f"{names.get(top['term'], top['term'])} has the largest number "
                     f"({number(top['estimate'])} {unit}) but is not crowned on it")
    if flags:
        how_sure = "**How sure:** " + "; ".join(flags) + "."
    else:
        how_sure = "**How sure:** every number above rests on enough patients to act on."
    return [answer, rests, how_sure]
