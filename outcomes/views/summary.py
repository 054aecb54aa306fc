"""Notebook 06 (the clinic summary, and so the report): both measures, the schedules first.

Small views, each one block of the summary, so that a report can put them in its own order: the
records (:func:`summary_overview`), the answer (:func:`headline`; its figure is each
``schedules.plot()``), how patients came (:func:`attendance_against_protocol_plot`), ratings over
time (:func:`trajectories_plot`), the clinic's beliefs (:func:`beliefs_view`), the slope as an
association (:func:`association_findings`, :func:`dose_response_plot`) and the caveats
(:func:`summary_caveats`). They take the notebook's dict ``measure → Analysis`` or one of its
analyses, and the schedule comparisons (:class:`~outcomes.results.Schedules`) it computed once.
"""

from __future__ import annotations

import pandas as pd

from .. import escape
from ..analysis import Analysis
from ..estimate.effects import adjusted_effect, naive_effect
from ..format import count, number, rows
from ..present.beliefs import belief_table
from ..present.display import Table, Text
from ..present.effects import describe_effect, plot_trajectories
from ..present.schedules import strategy_sentences
from ..records.scales import Measure
from ..results import Schedules
from ._shared import markdown_label, quiet
from .outcomes import dose_response_plot
from .schedules import attendance_against_protocol_plot

__all__ = ["FEW_PATIENTS", "association_findings", "attendance_against_protocol_plot",
           "beliefs_view", "dose_response_plot", "headline", "summary_caveats",
           "summary_overview", "trajectories_plot"]

#: below this many analysed patients the summary says the estimates are very uncertain
FEW_PATIENTS = 50

_COVARIATE_WORDS = {"baseline": "the starting grade", "age": "age", "sex": "sex",
                    "skin_type": "skin type", "smoker": "smoking", "sun_exposure": "sun exposure",
                    "sleep_hours": "sleep", "skincare": "home skincare",
                    "concern": "the kind of pore concern", "clinic_id": "the clinic"}


def _measure_words(m: Measure) -> str:
    """``pore grades`` / ``texture grades``, or the measure's label for other scales (escaped
    for markdown)."""
    if (m.min, m.max) == (0, 4) and m.name in ("pore", "texture"):
        return f"{m.name} grades"
    return f"{escape.markdown(m.label)} ratings"


def summary_overview(analyses: dict[str, Analysis]) -> Text:
    """Who and what the summary is about: patients, sessions, ratings, the dates the records
    cover, rows set aside, and how many patients each analysis rests on."""
    first = next(iter(analyses.values()))
    records = first.records
    s, a = records.sessions, records.assessments
    dates = pd.concat([s["date"], a["date"]]).dropna()
    src = (f"The records in **{escape.markdown(records.source.name)}**"
           if getattr(records, "source", None) else "These records")
    comparison_n = first.schedules(boot=0, sensitivity=False).results["n"].iloc[0]
    lines = [(f"- {src} hold {count(s['patient_id'].nunique())} patients, "
             f"{rows(len(s))} sessions and {rows(len(a))} rating occasions, "
             f"from {dates.min():%d %B %Y} to {dates.max():%d %B %Y}."),
             (f"- {rows(records.n_quarantined)} input rows could not be used and were set "
              "aside (notebook 01 lists them)." if records.n_quarantined else
              "- Every input row could be used (none set aside)."),
             (f"- The schedule comparison rests on {count(comparison_n)} patients "
             f"who had a rating before their first session and whose records are long enough "
             f"to reach the review at day {first.settings.landmark_days}.")]
    if int(comparison_n) < FEW_PATIENTS:
        lines.insert(0, f"- **Few patients.** Only {count(comparison_n)} patients "
                        "could be analysed: every number below is very uncertain and may change "
                        "a lot with more records.")
    for an in analyses.values():
        n_in = int((an.ratings["status"] == "included").sum())
        lines.append(f"- {_measure_words(an.measure).capitalize()}: "
                     f"{count(n_in)} patients had both a rating before their first "
                     f"session and one about {an.settings.landmark_days} days later "
                     f"(± {an.settings.window_days}).")
    lines.append("- An improvement is counted so that **positive = better**; every number comes "
                 "with its 95% confidence interval (CI).")
    return Text("\n".join(lines))


def headline(compared: dict[str, Schedules]) -> Text:
    """The answer first: for each measure, the schedule comparison in plain sentences."""
    lines = []
    for schedules in compared.values():
        c, m = schedules.comparison, schedules.measure
        lines.append(f"**{escape.markdown(m.label)}**")
        lines += [f"- {s}" for s in strategy_sentences(c, _measure_words(m))]
        best = c.results[~c.results["term"].str.contains(" - ")].dropna(subset=["estimate"])
        if len(best) >= 2:
            top = best.sort_values("estimate", ascending=False).iloc[0]
            lines.append(f"- Of the schedules these records can judge, **{top['term']}** had "
                         f"the largest mean improvement ({number(top['estimate'])}; 95% CI "
                         f"{number(top['ci_low'])} to {number(top['ci_high'])}); differences "
                         "whose interval includes 0 are not clear.")
        lines.append("")
    return Text("\n".join(lines).strip())


def trajectories_plot(analysis: Analysis, *, ax=None):
    """Mean rating over the months since the first session, by how often patients came."""
    m = analysis.measure
    ax = plot_trajectories(analysis.trajectories, m, ax=ax)
    ax.set_title(f"{escape.plot_label(m.label)} over time (lower is better)"
                 if m.better == "lower" else f"{escape.plot_label(m.label)} over time")
    return ax


def beliefs_view(analysis: Analysis, schedules: Schedules) -> Table:
    """The clinic's beliefs checked on these records, the schedule belief from ``schedules``
    (:meth:`outcomes.analysis.Analysis.beliefs`)."""
    return Table(belief_table(analysis.beliefs(schedules=schedules).table))


def association_findings(analysis: Analysis) -> Text:
    """The slope per extra session a month, naive and adjusted, labelled as an association with
    the reason it can mislead (docs/methods.md §4.1)."""
    table = analysis.table
    # the sentences are markdown: the measure's label (from dataset.toml) is escaped for them
    m = markdown_label(analysis.measure)
    days = analysis.settings.landmark_days
    with quiet():
        adj = adjusted_effect(table).iloc[0]
        naive = naive_effect(table).iloc[0]
    covs = table.attrs.get("covariates", ())
    lines = [f"- **Adjusted:** {describe_effect(adj, m, covs, landmark_days=days)}",
             f"- **Naive:** {describe_effect(naive, m, (), landmark_days=days)}",
             ("- **Why this is an association, not the effect of coming more often:** the benefit "
              "of sessions levels off and fades, so one more session a month is not one effect; "
              "and patients who see no change stop coming, so those who came often are partly "
              "those who were responding anyway. The schedule comparison above is the answer to "
              "use; this slope is shown so the two can be compared.")]
    return Text("\n".join(lines))


def summary_caveats(analysis: Analysis, schedules: Schedules) -> Text:
    """What the findings cannot say — computed from these records, never fixed text."""
    comparison = schedules.comparison
    used = list(analysis.table.attrs.get("covariates", ()))
    words = [_COVARIATE_WORDS.get(c, c.replace("_", " ")) for c in used]
    adjusted = ", ".join(["the starting grade", *words])
    missing = [w for c, w in _COVARIATE_WORDS.items()
               if c not in used and c != "baseline" and c != "clinic_id"]
    lines = [f"- **Records, not a trial.** Nobody was assigned a schedule at random. The "
             f"comparisons take into account {adjusted}"
             + (f"; these records hold nothing on {', '.join(missing)}" if missing else "")
             + ". Anything else that differs between patients who keep to a schedule and those "
               "who do not (motivation, for instance) can still bias them."]
    lines += [f"- {n}" for n in comparison.notes if "settle" not in n]
    excluded = {k: v for k, v in comparison.excluded.items() if v}
    if excluded:
        lines.append("- **Patients left out of the schedule comparison:** "
                     + "; ".join(f"{count(v)} {k}" for k, v in excluded.items()) + ".")
    not_judged = comparison.results[comparison.results["estimate"].isna()
                                    & ~comparison.results["term"].str.contains(" - ")]
    if len(not_judged):
        lines.append("- **Schedules these records cannot judge:** "
                     + ", ".join(f"{t} ({count(n)} followers)"
                                 for t, n in zip(not_judged["term"], not_judged["n_outcome"]))
                     + f"; at least {comparison.settings['min_followers']} are needed.")
    lines.append("- **Ratings are judgements** by clinicians who know how often the patient "
                 "came; patients' own ratings (notebook 03) are a check.")
    quarantined = analysis.records.n_quarantined
    if quarantined:
        lines.append(f"- **{rows(quarantined)} input rows were set aside** (notebook 01); fixing "
                     "them at the source may change the numbers.")
    return Text("\n".join(lines))
