"""The schedule comparison for people: its sentences and its figure.

From :class:`outcomes.estimate.schedules.ScheduleComparison`; nothing is estimated here. (The
sentences still live beside the estimator, :func:`outcomes.estimate.schedules.strategy_text`,
and are re-exported here until the estimator's rewrite lands; then they move here.)
"""

from __future__ import annotations

import numpy as np

from ..estimate.schedules import ScheduleComparison, strategy_sentences, strategy_text
from ..privacy import suppress_count
from ..records.scales import Measure

__all__ = ["measure_words", "schedule_plot", "strategy_sentences", "strategy_text"]


def measure_words(measure: Measure) -> str:
    """The measure as people say it in a sentence: "pore grades" on a 0–4 grade scale, else
    "<label> ratings"."""
    if (measure.min, measure.max) == (0, 4) and measure.step is not None:
        return f"{measure.name} grades"
    return f"{measure.label} ratings"


def _labels(c: ScheduleComparison) -> dict[str, str]:
    return dict(c.settings["strategies"])


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
        name = f"{r['term']}\n({short.get(r['term'], labels.get(r['term'], ''))})"
        if not ok[i]:
            name += f"\nnot estimable: {suppress_count(int(r['n_outcome']))} followers"
        ticks.append(name)
    ax.set_yticks(y, ticks)
    ax.axvline(0, color="0.6", lw=1)
    ax.set_xlabel(f"improvement at the review ({measure_label or c.settings['measure']}, "
                  "positive = better)")
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Had every patient followed this schedule")
    return ax
