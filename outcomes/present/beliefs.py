"""The clinic's beliefs for people: the table, the sentences, the figures.

From the rows of :mod:`outcomes.estimate.beliefs` (beliefs, who benefits, regions); nothing is
estimated here.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from ..estimate.who_benefits import WHO_BENEFITS_CAVEAT
from ..format import MISSING, estimate_ci, number, p_value
from ..privacy import suppress_count
from ..records.scales import Measure

__all__ = ["belief_table", "beliefs_text", "plain", "plot_beliefs", "plot_who_benefits",
           "regions_table", "stated_for", "who_benefits_table"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _unit_word(measure: Measure) -> str:
    return "grades" if measure.is_grade or measure.step is not None else "points"


def plain(text) -> str:
    """Text that came from the data, safe for a terminal or a table: control and bidi characters
    removed (also the rule of ``outcomes beliefs --json``)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return _CONTROL.sub("", str(text))


def _ci_text(est, lo, hi) -> str:
    return estimate_ci(est, lo, hi, "limit")


def stated_for(statement: str, measure: Measure | None) -> str:
    """A belief stated for pores ("Older patients have worse pores …") stated for the measure
    it is checked on ("… worse skin texture …")."""
    if measure is None or measure.name == "pore":
        return statement
    noun = measure.label.split(" (")[0].strip().lower() or measure.name
    return statement.replace("worse pores", f"worse {noun}")


def belief_table(result: pd.DataFrame, measure: Measure | None = None) -> pd.DataFrame:
    """:func:`belief_check` for people: "What your records say about the clinic's beliefs".

    Columns: ``Belief`` (stated for ``measure`` when given), ``Estimate (95% CI)``, ``Patients``
    (counts under 5 as ``<5``), ``Verdict``, ``What it means`` (unit and reason).
    """
    return pd.DataFrame({
        "Belief": result["statement"].map(plain).map(lambda t: stated_for(t, measure)),
        "Estimate (95% CI)": [_ci_text(e, lo, hi) for e, lo, hi in
                              zip(result["estimate"], result["ci_low"], result["ci_high"])],
        "Patients": result["n"].map(suppress_count),
        "Verdict": result["verdict"],
        "What it means": result["note"].fillna("").map(plain),
    })


def regions_table(result: pd.DataFrame) -> pd.DataFrame:
    """:func:`regions` for people: one row per measure and zone, one column per quantity
    (estimate and 95 % CI), patients under 5 shown as ``<5``."""
    heads = {"baseline": "Rating at the start", "baseline vs face": "Worse than the whole face by",
             "improvement": "Improvement at the landmark",
             "improvement vs face": "Improvement beyond the whole face"}
    rows = []
    for (measure, zone), g in result.groupby(["measure", "region"], sort=False):
        row = {"Measure": plain(measure), "Zone": plain(zone)}
        for q, head in heads.items():
            r = g[g["quantity"] == q]
            row[head] = (_ci_text(*r[["estimate", "ci_low", "ci_high"]].iloc[0]) if len(r)
                         else MISSING)
        base = g.loc[g["quantity"] == "baseline", "n"]
        imp = g.loc[g["quantity"] == "improvement", "n"]
        row["Patients (start)"] = suppress_count(int(base.iloc[0])) if len(base) else "0"
        row["Patients (landmark)"] = suppress_count(int(imp.iloc[0])) if len(imp) else "0"
        rows.append(row)
    return pd.DataFrame(rows)


def plot_beliefs(result: pd.DataFrame, *, ax=None):
    """Forest plot of :func:`belief_check`: estimate and 95 % CI per belief (positive = the
    claimed direction), with 0 and the trivial size marked. Returns the Axes."""
    import matplotlib.pyplot as plt  # only when drawing: the command line uses the sentences

    data = result.dropna(subset=["estimate"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.8 + 0.4 * max(len(data), 1)))
    if data.empty:
        ax.set_title("no belief could be estimated from these records")
        return ax
    y = np.arange(len(data))
    colours = {"supported": "C2", "not supported": "C3", "not enough data": "0.5"}
    ax.axvline(0, color="0.6", lw=1, ls=":")
    trivial = result.attrs.get("trivial")
    if trivial:
        ax.axvline(trivial, color="0.7", lw=1, ls="--", label="trivial size")
    for i, r in data.iterrows():
        ax.errorbar(r["estimate"], i, xerr=[[r["estimate"] - r["ci_low"]],
                    [r["ci_high"] - r["estimate"]]], fmt="o", capsize=3,
                    color=colours.get(r["verdict"], "C0"))
    ax.set_yticks(y, data["belief"].map(plain))
    ax.invert_yaxis()
    ax.set_xlabel("estimate in the claimed direction (95% CI; unit per belief)")
    return ax



def who_benefits_table(result: pd.DataFrame) -> pd.DataFrame:
    """:func:`who_benefits` for people: plain headers, counts under 5 shown as ``<5``;
    ``attrs["caveat"]`` is the exploratory statement to show with it."""
    shown = pd.DataFrame({
        "Group": result["modifier"].map(plain),
        "Subgroup": result["subgroup"].map(plain),
        "Extra improvement per extra session a month (95% CI)": [
            _ci_text(e, lo, hi) for e, lo, hi in zip(result["estimate"], result["ci_low"],
                                                     result["ci_high"])],
        "Patients": result["n"].map(suppress_count),
        "Do the groups differ? (p, Holm-adjusted)": result["interaction_p_holm"].map(p_value),
        "Note": result["note"].fillna("").map(plain),
    })
    shown.attrs["caveat"] = WHO_BENEFITS_CAVEAT
    return shown



def plot_who_benefits(result: pd.DataFrame, *, ax=None):
    """Forest plot of :func:`who_benefits`: each subgroup's estimate and 95 % CI, grouped by
    modifier, with the overall adjusted slope as a dashed line when known. Returns the Axes."""
    import matplotlib.pyplot as plt  # only when drawing: the command line uses the sentences

    data = result.dropna(subset=["estimate"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.6 + 0.32 * max(len(data), 1)))
    if data.empty:
        ax.set_title("no subgroup with enough patients")
        return ax
    labels = [f"{plain(m)}: {plain(s)}" for m, s in zip(data["modifier"], data["subgroup"])]
    y = np.arange(len(data))
    ax.axvline(0, color="0.6", lw=1, ls=":")
    overall = result.attrs.get("overall")
    if overall is not None and np.isfinite(overall):
        ax.axvline(overall, color="0.4", lw=1, ls="--", label="all patients")
    ax.errorbar(data["estimate"], y, xerr=[data["estimate"] - data["ci_low"],
                data["ci_high"] - data["estimate"]], fmt="o", color="C0", ecolor="0.3",
                capsize=3)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("extra improvement per extra session a month (95% CI)")
    ax.set_title("Who benefits (exploratory)")
    return ax



def beliefs_text(result: pd.DataFrame, measure: Measure, *, quarantined: int) -> str:
    """The human output of ``outcomes beliefs``: one block per belief, verdict first."""
    m = measure
    trivial = number(result.attrs["trivial"], "limit")
    lines = [f"What your records say about the clinic's beliefs — {plain(m.label)}",
             (f"(positive = the claimed direction; an effect under {trivial} {_unit_word(m)} "
              "counts as clinically trivial)"), ""]
    table = belief_table(result, m)
    for r, rec in zip(table.to_dict(orient="records"), result.to_dict(orient="records")):
        lines += [f"[{r['Verdict']}] {rec['belief']}: {r['Belief']}",
                  f"    estimate {r['Estimate (95% CI)']}, patients {r['Patients'] or '0'}",
                  f"    {r['What it means']}", ""]
    lines.append(f"quarantined input rows (set aside, see `outcomes check`): {quarantined}")
    return "\n".join(lines)
