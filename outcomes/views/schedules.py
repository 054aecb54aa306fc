"""Notebook 04 (schedules compared): which way of coming gives the best result?

The views take the notebook's :class:`~outcomes.results.Schedules` (``analysis.schedules()``,
one per measure) — or its :class:`~outcomes.estimate.schedules.ScheduleComparison` — and, for how
patients actually came, the :class:`~outcomes.analysis.Analysis`. The figure of the answer is the
result's own (``schedules.plot()``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import escape
from ..analysis import Analysis
from ..estimate.schedules import ScheduleComparison
from ..format import MISSING, interval, number, percent
from ..present.display import Text
from ..present.schedules import how_wrong_sentences, measure_words, strategy_sentences
from ..privacy import suppress_count, suppress_small_counts
from ..results import Schedules

__all__ = ["attendance_against_protocol_plot", "schedule_balance_plot",
           "schedule_followers_table", "schedule_loss_table", "schedule_protocol_table",
           "schedule_sensitivity_table", "schedule_summary", "schedule_table",
           "schedule_weights_table"]

_WORDS = {"clinic_id": "clinic", "sleep_hours": "sleep (hours)", "skin_type": "skin type",
          "sun_exposure": "sun exposure", "smoker": "smoking", "skincare": "home skincare"}


def _words(name: str) -> str:
    for key, word in _WORDS.items():
        name = name.replace(key, word)
    return name


def _comparison(c: Schedules | ScheduleComparison) -> ScheduleComparison:
    return getattr(c, "comparison", c)


def schedule_protocol_table(c: Schedules | ScheduleComparison) -> pd.DataFrame:
    """The emulated trial's protocol (eligibility, time zero, strategies, outcome, estimand,
    analysis), filled from the settings actually used."""
    return _comparison(c).protocol.set_index("element")


def schedule_summary(schedules: Schedules) -> Text:
    """The comparison in plain sentences (markdown), with its notes."""
    c = schedules.comparison
    # the schedules' labels come from dataset.toml: escaped where they are shown
    lines = [f"- {escape.markdown(s)}"
             for s in strategy_sentences(c, measure_words(schedules.measure))]
    lines += [f"- {escape.markdown(n)}" for n in c.notes if "settle" not in n]
    lines += [f"- **How wrong could it be?** {escape.markdown(s)}" for s in how_wrong_sentences(c)]
    return Text("\n".join(lines))


def schedule_table(c: Schedules | ScheduleComparison) -> pd.DataFrame:
    """Means under each schedule and differences from the reference, for reading."""
    c = _comparison(c)
    labels = dict(c.settings["strategies"])
    rows = []
    for r in c.results.to_dict(orient="records"):
        term = r["term"]
        contrast = " - " in term
        name = (term.replace(" - ", " minus ") if contrast else labels.get(term, term))
        rows.append({
            "schedule": name,
            "patients who followed it to the review": "" if contrast else
            suppress_count(int(r["n_outcome"])),
            "mean improvement (95% CI)":
                "not estimable" if not np.isfinite(r["estimate"]) else
                f"{number(r['estimate'])} ({interval(r['ci_low'], r['ci_high'])})",
            "check: weighted mean": number(r["ipw_estimate"]),
            "plain mean of followers (can mislead)": number(r["naive_estimate"]),
        })
    return pd.DataFrame(rows).set_index("schedule")


def schedule_followers_table(c: Schedules | ScheduleComparison) -> pd.DataFrame:
    """How many patients followed each schedule at each step, and what share of the eligible."""
    c = _comparison(c)
    f = c.followers.copy()
    if not len(f):
        return f
    n = int(c.results["n"].iloc[0])
    f["step"] = ["to the review (with a rating)" if s == "review" else f"after session {s}"
                 for s in f["step"]]
    f["share of eligible patients"] = [percent(k / n) if n else MISSING for k in f["stayed"]]
    f = f.rename(columns={"strategy": "schedule", "at_risk": "still following",
                          "stayed": "kept to it", "too_early": "came too early",
                          "window_missed": "missed the window"})
    f = f.drop(columns=["share_of_eligible"])
    counts = ["still following", "kept to it", "came too early", "missed the window"]
    shown = suppress_small_counts(f.set_index(["schedule", "step"]), count_columns=counts)
    hidden = shown["kept to it"].astype(str).isin(["<5", "hidden"])
    shown.loc[hidden, "share of eligible patients"] = "hidden"
    return shown


def schedule_weights_table(c: Schedules | ScheduleComparison) -> pd.DataFrame:
    """How much the weighting leans on a few patients, per schedule."""
    w = _comparison(c).weights
    if not len(w):
        return w
    out = pd.DataFrame({
        "schedule": w["strategy"],
        "patients with an outcome": [suppress_count(int(k)) for k in w["n_outcome"]],
        "largest weight": w["max_weight"].map(lambda v: number(v, 1)),
        "average weight": w["mean_weight"].map(lambda v: number(v, 1)),
        "as informative as … unweighted patients": w["effective_n"].map(lambda v: number(v, 0)),
        "weights capped": w["truncated"].map(lambda v: str(int(v))),
    })
    return out.set_index("schedule")


def schedule_sensitivity_table(c: Schedules | ScheduleComparison) -> pd.DataFrame:
    """Differences from the reference with the grace windows halved and widened by half."""
    s = _comparison(c).sensitivity
    if not len(s):
        return s
    words = {0.5: "windows halved", 1.0: "as set", 1.5: "windows widened by half"}
    s = s.assign(grace=s["grace"].map(words))
    out = s.pivot(index="contrast", columns="grace", values="estimate")
    out = out[[w for w in words.values() if w in out]].map(number)
    out.index = [i.replace(" - ", " minus ") for i in out.index]
    out.index.name = "difference"
    return out


def schedule_loss_table(c: Schedules | ScheduleComparison) -> pd.DataFrame:
    """Who came to the review, by how they were responding before it."""
    t = _comparison(c).loss
    if not len(t):
        return t
    out = pd.DataFrame({"how they were responding": t["interim response"],
                        "patients": t["patients"], "came to the review": t["reviewed"]})
    out = suppress_small_counts(out.set_index("how they were responding"),
                                count_columns=["patients", "came to the review"])
    share = [percent(s) for s in t["share reviewed"]]
    out["share"] = [("hidden" if str(a) in ("<5", "hidden") else s)
                    for a, s in zip(out["came to the review"], share)]
    return out


def schedule_balance_plot(c: Schedules | ScheduleComparison, *, ax=None):
    """How far the followers of each schedule differ from all eligible patients, before and after
    weighting (standardised differences; within ±0.1 is close)."""
    c = _comparison(c)
    ok = c.results.loc[np.isfinite(c.results["estimate"].to_numpy(float)), "term"]
    b = c.balance[c.balance["strategy"].isin(set(ok))].copy()
    b["covariate"] = b["covariate"].map(_words)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, max(2.5, 0.22 * b["covariate"].nunique() + 1)))
    if not len(b):
        ax.text(0.5, 0.5, "no schedule has enough followers", ha="center", transform=ax.transAxes)
        return ax
    covs = list(dict.fromkeys(b["covariate"]))
    pos = {cov: i for i, cov in enumerate(covs[::-1])}
    for k, (name, g) in enumerate(b.groupby("strategy", sort=False)):
        yy = g["covariate"].map(pos).to_numpy() + (k - 1) * 0.15
        ax.plot(g["smd_unweighted"], yy, "o", mfc="none", color=f"C{k}", ms=4)
        ax.plot(g["smd_weighted"], yy, "o", color=f"C{k}", ms=4, label=f"{name} (weighted)")
    ax.set_yticks(range(len(covs)), covs[::-1], fontsize="small")
    for x in (-0.1, 0.1):
        ax.axvline(x, color="0.6", ls="--", lw=1)
    ax.set_xlabel("difference from all eligible patients (standardised; open = before "
                  "weighting)")
    ax.legend(fontsize="small", loc="best")
    return ax


def attendance_against_protocol_plot(analysis: Analysis, *, ax=None, max_sessions: int = 6):
    """How patients actually came: days from each session to the next, by session number, with
    the clinic's protocol windows shaded (green) — the sessions inside the band were on time."""
    s = analysis.sessions
    t0 = analysis.ratings.set_index("patient_id")["t0"]
    df = pd.DataFrame({"patient_id": s["patient_id"].astype(str).to_numpy(),
                       "day": s["date"].to_numpy()})
    df["day"] = (df["day"] - df["patient_id"].map(t0).to_numpy()) / np.timedelta64(1, "D")
    df = df[df["day"].between(0, analysis.settings.landmark_days)].drop_duplicates()
    df = df.sort_values(["patient_id", "day"])
    df["gap"] = df.groupby("patient_id")["day"].diff()
    df["after"] = df.groupby("patient_id").cumcount()       # gap after session k (1-based)
    df = df[df["gap"].notna() & (df["after"] <= max_sessions)]
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.6))
    protocol = analysis.settings.protocol
    for k in range(1, max_sessions + 1):
        lo, hi = protocol.window(k)
        ax.fill_between([k - 0.4, k + 0.4], lo, hi, color="C2", alpha=0.25, lw=0)
    rng = np.random.default_rng(0)
    x = df["after"].to_numpy() + rng.uniform(-0.3, 0.3, len(df))
    ax.scatter(x, df["gap"], s=6, alpha=0.5, color="C0")
    ax.set_xticks(range(1, max_sessions + 1),
                  [f"{k}→{k + 1}" for k in range(1, max_sessions + 1)])
    ax.set_xlabel(f"from session … to the next (first {analysis.settings.landmark_days} days)")
    ax.set_ylabel("days between sessions")
    ax.set_ylim(0, min(float(df["gap"].max()) + 10 if len(df) else 200, 250))
    ax.set_title("How patients came, against the protocol's windows (green)")
    return ax
