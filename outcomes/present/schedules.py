"""The schedule comparison for people: its sentences and its figure.

From :class:`outcomes.estimate.schedules.ScheduleComparison`; nothing is estimated here: the
sentences of every contrast, the command line's text and the figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimate.schedules import ScheduleComparison
from ..format import number
from ..privacy import suppress_count
from ..records.scales import Measure

__all__ = ["how_wrong_sentences", "measure_words", "schedule_name", "schedule_plot",
           "strategy_sentences", "strategy_text"]


def measure_words(measure: Measure) -> str:
    """The measure as people say it in a sentence: "pore grades" on a 0–4 grade scale, else
    "<label> ratings"."""
    if (measure.min, measure.max) == (0, 4) and measure.step is not None:
        return f"{measure.name} grades"
    return f"{measure.label} ratings"


def _labels(c: ScheduleComparison) -> dict[str, str]:
    return dict(c.settings["strategies"])


def schedule_name(name: str, label: str | None = None) -> str:
    """A schedule as people call it, from its label: "the clinic's protocol" (label "the
    clinic's protocol: 3 sessions …"), "every two months" (label "every two months (61 ± 10
    days)"), "a single session"; a label without such a short form is used whole, and a schedule
    without a label is its name with spaces ("six weekly")."""
    if not label:
        return name.replace("_", " ")
    short = label.split(":")[0].split(" (")[0].split(",")[0].strip()
    return short or label


def _names(c: ScheduleComparison) -> dict[str, str]:
    return {k: schedule_name(k, v) for k, v in _labels(c).items()}


def schedule_plot(c: ScheduleComparison, *, measure_label: str | None = None, ax=None):
    """Mean improvement under each schedule with its 95% CI; schedules the records cannot judge
    are named at the bottom with their count."""
    c = getattr(c, "comparison", c)
    if ax is None:
        # only when drawing: the command line imports this module (through the results) for
        # the sentences, and need not wait for matplotlib
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.5, 3.2))
    res = c.results[~c.results["term"].str.contains(" - ")].reset_index(drop=True)
    labels = _labels(c)
    people = _names(c)
    y = np.arange(len(res))[::-1]
    ok = np.isfinite(res["estimate"].to_numpy(float))
    est = res["estimate"].to_numpy(float)
    ax.errorbar(est[ok], y[ok], xerr=[est[ok] - res["ci_low"].to_numpy(float)[ok],
                                      res["ci_high"].to_numpy(float)[ok] - est[ok]],
                fmt="o", color="C0", capsize=4, label="mean improvement, 95% CI")
    naive = res["naive_estimate"].to_numpy(float)
    ax.plot(naive[ok], y[ok], "x", color="C3", label="plain mean of followers")
    ticks = []
    short = c.settings.get("short", {})
    for i, r in res.iterrows():
        name = (f"{people.get(r['term'], r['term'])}\n"
                f"({short.get(r['term'], labels.get(r['term'], ''))})")
        if not ok[i]:
            name += f"\nnot estimable: {suppress_count(int(r['n_outcome']))} followers"
        ticks.append(name)
    ax.set_yticks(y, ticks)
    ax.axvline(0, color="0.6", lw=1)
    ax.set_xlabel(f"improvement at the review ({measure_label or c.settings['measure']}, "
                  "positive = better)")
    # the legend under the axes, never over a schedule's interval
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2, fontsize="small",
              frameon=False)
    ax.set_title("Had every patient followed this schedule")
    return ax


def _when(landmark_days: int) -> str:
    months = landmark_days / 30.4375
    if abs(months - round(months)) < 0.15 and round(months) >= 1:
        return f"at {round(months)} months"
    return f"{landmark_days} days after the first session"


def _detail(name: str, label: str) -> str:
    """What a label says beyond the schedule's short name: "30 ± 7 days" for "monthly (30 ± 7
    days)", "" when nothing."""
    short = schedule_name(name, label)
    rest = label[len(short):].strip(" :,") if label.startswith(short) else ""
    return rest[1:-1] if rest.startswith("(") and rest.endswith(")") else rest


def strategy_sentences(comparison: ScheduleComparison, measure_label: str | None = None
                       ) -> list[str]:
    """One plain sentence per contrast with the reference (and one per strategy that cannot be
    judged), schedules named in people's words, e.g. "Had every patient come monthly (30 ± 7
    days), pore grades would have improved by 1.20 (95% CI 0.90 to 1.50) at 6 months, against
    0.95 (…) had they followed the clinic's protocol: a difference of 0.25 (…)."."""
    res = comparison.results.set_index("term")
    st = comparison.settings
    ref = st["reference"]
    label = measure_label or f"{st['measure']} grades"
    when = _when(st["landmark_days"])
    names = list(st["strategies"])
    people = _names(comparison)
    out = []

    def ci(row):
        return f"95% CI {number(row['ci_low'])} to {number(row['ci_high'])}"

    def called(name):
        detail = _detail(name, st["strategies"][name])
        return f"{people[name]} ({detail})" if detail else people[name]

    r = res.loc[ref]
    for name in names:
        if name == ref:
            continue
        a = res.loc[name]
        d = res.loc[f"{name} - {ref}"]
        if not np.isfinite(d["estimate"]):
            continue
        out.append(f"Had every patient followed {called(name)}, {label} "
                   f"would have improved by {number(a['estimate'])} ({ci(a)}) {when}, against "
                   f"{number(r['estimate'])} ({ci(r)}) had they followed {people[ref]}: a "
                   f"difference of {number(d['estimate'])} ({ci(d)}).")
    for name in names:
        a = res.loc[name]
        if not np.isfinite(a["estimate"]):
            eff = a.get("effective_n", np.nan)
            worth = (f", worth {eff:.0f} after weighting" if np.isfinite(eff) else "")
            out.append(f"{people[name][0].upper()}{people[name][1:]} cannot be judged from these "
                       f"records: only {suppress_count(int(a['n_outcome']))} patients followed "
                       f"it to the review{worth} (at least {st['min_followers']} are needed for "
                       "a number).")
        elif a.get("fragile", False):
            out.append(f"{people[name][0].upper()}{people[name][1:]} has a fragile number, treat "
                       f"it as a hint: {a['fragile_reasons']}.")
    return out


def how_wrong_sentences(comparison: ScheduleComparison) -> list[str]:
    """Per contrast with a number, how wrong it could be (docs/methods.md §4.17), schedules named in
    people's words: the tipping point for the patients who stopped with no rating showing why, and
    the E-value — e.g. "Every two months against the clinic's protocol: 9% of the patients left
    every two months and 6% left the clinic's protocol by stopping with no rating showing why; had
    they done 1.40 grades worse than the weights assume,
    the difference would vanish. A factor hidden from these records would need to be linked to both
    the schedule and the result by a risk ratio of 1.9 to explain it away."."""
    tipping = getattr(comparison, "tipping", None)
    if tipping is None or not len(tipping):
        return []
    people = _names(comparison)
    res = comparison.results.set_index("term")
    out = []
    for _, t in tipping.iterrows():
        term = t["contrast"]
        if term not in res.index or not np.isfinite(res.loc[term, "estimate"]):
            continue
        name, ref = term.split(" - ", 1)
        a, b = people.get(name, name), people.get(ref, ref)
        words = (f"{a[0].upper()}{a[1:]} against {b}: {t['stopped_unseen']:.0%} of the patients "
                 f"left {a} and {t['stopped_unseen_reference']:.0%} left {b} by stopping with no "
                 "rating showing why")
        delta, delta_ci = t["tipping_delta"], t["tipping_delta_ci"]
        if not np.isfinite(delta):
            words += ("; had they done worse than the weights assume, the difference would not "
                      "change sign.")
        else:
            words += (f"; had they done {number(delta)} grades worse than the weights assume, the "
                      "difference would vanish")
            words += (f" (at {number(delta_ci)} grades worse it would no longer be clear)."
                      if np.isfinite(delta_ci) else ".")
        ev = res.loc[term].get("e_value", np.nan)
        if np.isfinite(ev) and ev > 1:
            words += (" A factor hidden from these records would need to be linked to both the "
                      f"schedule and the result by a risk ratio of {number(ev, 1)} to explain it "
                      "away.")
        out.append(words)
    return out


def strategy_text(comparison: ScheduleComparison, *, measure_label: str | None = None,
                  sentence_label: str | None = None, details: bool = False) -> str:
    """The human output of ``outcomes strategies`` for one measure (``measure_label`` heads it,
    ``sentence_label`` — e.g. "pore grades" — names the measure in the sentences)."""
    st = comparison.settings
    res = comparison.results
    n = int(res["n"].iloc[0]) if len(res) else 0
    lines = [(f"== Schedules compared: {measure_label or st['measure']} — mean improvement "
             f"{_when(st['landmark_days'])} (positive = better)"),
             f"eligible patients: {suppress_count(n)}"]
    lines += [f"  not eligible, {why}: {suppress_count(k)}"
              for why, k in comparison.excluded.items() if k]
    people = _names(comparison)

    def called(term):
        if " - " in term:
            a, b = term.split(" - ", 1)
            return f"{people.get(a, a)} vs {people.get(b, b)}"
        return people.get(term, term)

    table = pd.DataFrame({
        "schedule": res["term"].map(called),
        "followed to review": [suppress_count(int(k)) if " - " not in t else ""
                               for k, t in zip(res["n_outcome"], res["term"])],
        "effective": [f"{e:.0f}" if " - " not in t and np.isfinite(e) else ""
                      for e, t in zip(res.get("effective_n", pd.Series(np.nan, index=res.index)),
                                      res["term"])],
        "mean improvement": res["estimate"].map(number),
        "95% CI": [f"{number(a)} to {number(b)}" if np.isfinite(a) else "—"
                   for a, b in zip(res["ci_low"], res["ci_high"])],
        "weighted mean": res["ipw_estimate"].map(number),
        "plain mean of followers": res["naive_estimate"].map(number),
    })
    lines += ["", table.to_string(index=False), ""]
    lines += ["- " + s for s in strategy_sentences(comparison, sentence_label or measure_label)]
    lines.append("- 'weighted mean' is a check on the headline number; 'plain mean of followers' "
                 "ignores who kept to a schedule and why, and can mislead.")
    lines += ["- How wrong could it be? " + s for s in how_wrong_sentences(comparison)]
    lines += ["- " + note for note in comparison.notes if details or "settle" not in note]
    if details and len(comparison.weights):
        lines += ["", "weights per schedule:", comparison.weights.to_string(index=False)]
        if len(comparison.sensitivity):
            lines += ["", "contrasts with grace windows halved (0.5) and widened by half (1.5):",
                      comparison.sensitivity.to_string(index=False)]
    return "\n".join(lines)
