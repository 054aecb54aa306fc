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
schedule is the one with the largest mean improvement *among those that are not fragile*; a
fragile schedule with a larger number is named in the flag line instead.

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

from ..estimate.schedules import ScheduleComparison
from ..estimate.verdict import trivial_size, verdict
from ..format import number
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
    ``comparison.weights`` (fragile = effective number < :data:`FRAGILE_FACTOR` ×
    ``min_followers``). The one place that decides what "rests on few" means."""
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
    needed = FRAGILE_FACTOR * int(comparison.settings.get("min_followers", 20))
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


def fragile_flag(row: pd.Series, name: str) -> str:
    """The plain flag of one fragile number, e.g. "only 28 patients kept to monthly (about 17
    once weighted): treat its number as a hint"."""
    followers = suppress_count(int(row["followers"]))
    return (f"only {followers} patients kept to {name} (about {_ess(row['effective_n'])} once "
            "weighted): treat its number as a hint, not a reason to move patients")


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
               f"{ref_name} (the reference chosen for this report)")
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
    elif sound.empty:
        answer = (f"**{heading}: no schedule is crowned** — every number these records give "
                  "rests on few patients.")
    else:
        best = sound.sort_values("estimate", ascending=False).iloc[0]
        best_name = names.get(best["term"], best["term"])
        if best["term"] == ref:
            others = sound[sound["term"] != ref]
            answer = (f"**{heading}: keep {ref_name}** — no schedule with a sound number did "
                      f"better (mean improvement {number(best['estimate'])} {unit}, 95% CI "
                      f"{number(best['ci_low'])} to {number(best['ci_high'])})"
                      + ("" if len(others) else "; no other schedule has a sound number") + ".")
        else:
            d = _difference(comparison, best["term"], ref)
            v, _ = verdict(d["estimate"], d["ci_low"], d["ci_high"], trivial)
            how = {"supported": f"better than {against}",
                   "not supported": f"no better than {against}",
                   "not enough data": f"cannot be told apart from {against}"}[v]
            answer = (f"**{heading}: best supported is {best_name}** — {how}: "
                      f"{number(d['estimate'])} {unit} more improvement (95% CI "
                      f"{number(d['ci_low'])} to {number(d['ci_high'])}); verdict: *{v}*.")
    rests = f"Rests on (patients who kept to each schedule to the review): {_rests_on(table, names)}."
    flags = [fragile_flag(r, names.get(r["term"], r["term"])) for _, r in ok.iterrows()
             if r["fragile"]]
    if not sound.empty:
        top = ok.sort_values("estimate", ascending=False).iloc[0]
        if top["fragile"]:
            flags.append(f"{names.get(top['term'], top['term'])} has the largest number "
                         f"({number(top['estimate'])} {unit}) but is not crowned on it")
    if flags:
        how_sure = "**How sure:** " + "; ".join(flags) + "."
    else:
        how_sure = "**How sure:** every number above rests on enough patients to act on."
    return [answer, rests, how_sure]
