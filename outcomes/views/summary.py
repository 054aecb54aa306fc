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

import html
import re

import numpy as np
import pandas as pd

from .. import escape
from ..analysis import Analysis
from ..errors import RecordsError
from ..estimate.effects import adjusted_effect, naive_effect
from ..estimate.verdict import trivial_size, verdict
from ..estimate.weighting import ipw_effect
from ..format import count, estimate_ci, number, rows
from ..present.beliefs import belief_table
from ..present.bottom_line import bottom_line, standing
from ..present.display import Table, Text
from ..present.effects import describe_effect, plot_trajectories
from ..present.schedules import how_wrong_sentences, schedule_name, strategy_sentences
from ..records.scales import Measure
from ..results import Schedules
from ..tables.attendance import DAYS_PER_MONTH
from ._shared import markdown_label, quiet
from .outcomes import dose_response_plot
from .schedules import attendance_against_protocol_plot

__all__ = ["FEW_PATIENTS", "association_findings", "attendance_against_protocol_plot",
           "beliefs_view", "bottom_line_view", "dose_response_plot", "figure",
           "forwardable", "frequency_groups", "headline", "how_made", "reading_rule", "regularity_answer",
           "scale_line", "schedules_table", "summary_caveats", "summary_overview",
           "trajectories_plot"]

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
              "aside (the records check lists them)." if records.n_quarantined else
              "- Every input row could be used (none set aside)."),
             (f"- The schedule comparison rests on {count(comparison_n)} patients "
             f"who had a rating before their first session and whose records are long enough "
             f"to reach the review {_when(first.settings.landmark_days)}.")]
    if int(comparison_n) < FEW_PATIENTS:
        lines.insert(0, f"- **Few patients.** Only {count(comparison_n)} patients "
                        "could be analysed: every number below is very uncertain and may change "
                        "a lot with more records.")
    for an in analyses.values():
        n_in = int((an.ratings["status"] == "included").sum())
        lines.append(f"- {_measure_words(an.measure).capitalize()}: "
                     f"{count(n_in)} patients had both a rating before their first "
                     f"session and one at the review, about {an.settings.landmark_days} days "
                     f"later (± {an.settings.window_days}).")
    lines.append("- An improvement is counted so that **positive = better**; every number comes "
                 "with its 95% confidence interval (CI).")
    return Text("\n".join(lines))


def headline(compared: dict[str, Schedules]) -> Text:
    """The schedule comparison of every measure in plain sentences, each measure with its scale
    once; the schedule to choose is the bottom line's (:func:`bottom_line_view`), never the
    largest number here."""
    lines = []
    for schedules in compared.values():
        c, m = schedules.comparison, schedules.measure
        lines.append(f"**{escape.markdown(m.label)}** — {scale_line(m, bare=True)}.")
        lines += [f"- {s}" for s in strategy_sentences(c, _measure_words(m))]
        lines.append("")
    return Text("\n".join(lines).strip())


def trajectories_plot(analysis: Analysis, *, ax=None):
    """Mean rating over the months since the first session, by how often patients came; the
    rating before the first session is drawn at month 0 (the start), and the legend sits beside
    the axes, never on the data."""
    m = analysis.measure
    data = analysis.trajectories
    data = data.assign(month=data["month"].clip(lower=0))
    ax = plot_trajectories(data, m, ax=ax)
    ax.legend(title="sessions a month", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    ax.set_title(f"{escape.plot_label(m.label)} over time (lower is better)"
                 if m.better == "lower" else f"{escape.plot_label(m.label)} over time")
    return ax


def beliefs_view(analysis: Analysis, schedules: Schedules, number_: int | None = None
                 ) -> Table:
    """The clinic's beliefs checked on these records, the schedule belief from ``schedules``
    (:meth:`outcomes.analysis.Analysis.beliefs`), titled with the measure; a belief stated for
    pores is stated for the measure it is checked on; ``number_`` numbers its title."""
    m = analysis.measure
    table = belief_table(analysis.beliefs(schedules=schedules).table, m)
    table["What it means"] = table["What it means"].map(_without_rule)
    head = f"Table {number_}. " if number_ else ""
    return Table(table, title=f"{head}The clinic's beliefs — {m.label}",
                 note=m.scale_words().capitalize() + ".")


#: the verdict's reasons, said once in the rule at the top rather than in every row
_RULE_REASONS = re.compile(
    r"; (the interval lies in the claimed direction|the whole interval lies above [^;]+ in the "
    r"claimed direction|the interval is too wide to tell: it is compatible with no effect and "
    r"with one that matters; more patients are needed|the interval excludes every effect of "
    r"[^;]+ or more in the claimed direction)")


def _without_rule(note: str) -> str:
    """A belief's note without the verdict's reason (the rule is written once near the top) and
    in the report's words ("the review", not "the landmark")."""
    note = _RULE_REASONS.sub("", note)
    return note.replace("at the landmark", "at the review").replace(
        ", so 'supported' needs the whole interval above the trivial size",
        ", so it is supported only above the size too small to matter")


def association_findings(analysis: Analysis) -> Text:
    """The slope per extra session a month, naive and adjusted, labelled as an association with
    the reason it can mislead."""
    table = analysis.table
    # the sentences are markdown: the measure's label (from dataset.toml) is escaped for them
    m = markdown_label(analysis.measure)
    days = analysis.settings.landmark_days
    with quiet():
        adj = adjusted_effect(table).iloc[0]
        naive = naive_effect(table).iloc[0]
    covs = table.attrs.get("covariates", ())
    lines = [scale_line(analysis.measure), "",
             f"- **Adjusted:** {describe_effect(adj, m, covs, landmark_days=days)}",
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
    lines += [f"- {forwardable(n)}" for n in comparison.notes if "settle" not in n]
    lines += [f"- **How wrong could it be?** {escape.markdown(s)}"
              for s in how_wrong_sentences(comparison)]
    excluded = {k: v for k, v in comparison.excluded.items() if v}
    if excluded:
        lines.append("- **Patients left out of the schedule comparison:** "
                     + "; ".join(f"{count(v)} {forwardable(k)}" for k, v in excluded.items())
                     + ".")
    not_judged = comparison.results[comparison.results["estimate"].isna()
                                    & ~comparison.results["term"].str.contains(" - ")]
    if len(not_judged):
        labels = comparison.settings["strategies"]
        lines.append("- **Schedules these records cannot judge:** "
                     + ", ".join(f"{schedule_name(t, labels.get(t))} ({count(n)} patients kept "
                                 "to it)"
                                 for t, n in zip(not_judged["term"], not_judged["n_outcome"]))
                     + f"; at least {comparison.settings['min_followers']} are needed.")
    lines.append("- **Ratings are judgements** by clinicians who know how often the patient "
                 "came; patients' own ratings, where the records hold them, are a check.")
    quarantined = analysis.records.n_quarantined
    if quarantined:
        lines.append(f"- **{rows(quarantined)} input rows were set aside** by the records check; "
                     "fixing them at the source may change the numbers.")
    return Text("\n".join(lines))


# --------------------------------------------------------------------------------------------
# the bottom line, the one verdict rule, the scale in words (issue 24)


def _when(landmark_days: int) -> str:
    months = landmark_days / DAYS_PER_MONTH
    if abs(months - round(months)) < 0.15 and round(months) >= 1:
        return f"about {round(months)} months after the first session"
    return f"{landmark_days} days after the first session"


def scale_line(m: Measure, *, bare: bool = False) -> str:
    """The measure's scale in words, once per section: "Pore size: grades on the 0–4 scale,
    lower is better; a change of 1 grade (e.g. moderate → mild) is the change patients
    notice" (from dataset.toml's measure)."""
    words = m.scale_words()
    return words if bare else f"**{escape.markdown(m.label)}**: {words}."


def bottom_line_view(compared: dict[str, Schedules]) -> Text:
    """The first screen: per measure, three lines — the best-supported schedule against the
    clinic's own protocol (or the reference chosen, named), what each number rests on, and a
    plain flag where a number rests on few (:func:`outcomes.present.bottom_line.bottom_line`)."""
    first = next(iter(compared.values()))
    when = _when(first.comparison.settings["landmark_days"])
    lines = [(f"Mean improvement at the review, {when}, had every patient kept to a schedule; "
             f"positive = better. {scale_line(first.measure, bare=True).capitalize()}.")]
    for schedules in compared.values():
        m = schedules.measure
        lines.append("")
        three = bottom_line(schedules.comparison, m, heading=escape.markdown(m.label))
        lines += [f"- {x}" for x in three]
    return Text("\n".join(lines))


def reading_rule(analyses: dict[str, Analysis]) -> Text:
    """The one verdict rule, written once for every table of the report (beliefs, regularity,
    schedules; every measure) — :func:`outcomes.estimate.verdict.verdict`."""
    first = next(iter(analyses.values()))
    m = first.measure
    trivial = number(trivial_size(m), "limit")
    unit = m.unit if trivial_size(m) != 1 else m.unit[:-1]
    return Text(
        "**One rule for every verdict in this report** (every table, pores and texture alike). "
        "Each number comes with its 95% confidence interval (CI), the range of values the "
        "records are compatible with. A claim — a schedule better than another, a belief, "
        "coming regularly helping — is:\n\n"
        "- ***supported*** when the whole interval lies on the side the claim says;\n"
        f"- ***not supported*** when the interval rules out any effect of {trivial} {unit} or "
        f"more in that direction ({trivial} {unit} is a tenth of the change patients notice: "
        "too small to matter);\n"
        "- ***not enough data*** otherwise: the records fit both no effect and one that "
        "matters.\n\n"
        "An *association* (how patients who happened to come more often fared) can lean towards "
        f"the claim by itself, so it is *supported* only when its whole interval lies above "
        f"{trivial} {unit}. A *comparison of schedules* asks what would have happened had every "
        "patient kept to each schedule: that is the answer to act on.")


def schedules_table(schedules: Schedules, number_: int | None = None) -> Table:
    """The schedules compared for one measure as a table titled with the measure ("Table 1.
    Schedules compared — Pore size …" with ``number_``), one row per schedule: its mean
    improvement, the patients it rests on, the difference from the reference and its verdict
    under the one rule, and a flag when the number rests on few."""
    c, m = schedules.comparison, schedules.measure
    labels = c.settings["strategies"]
    ref = c.settings["reference"]
    res = c.results.set_index("term")
    trivial = trivial_size(m)
    out = []
    for _, r in standing(c).iterrows():
        term = r["term"]
        name = schedule_name(term, labels.get(term))
        row = {"Schedule": name,
               "Mean improvement (95% CI)": estimate_ci(r["estimate"], r["ci_low"],
                                                        r["ci_high"]),
               "Patients who kept to it (about, once weighted)": (
                   f"{count(r['followers'])} ({number(r['effective_n'], 0)})"
                   if np.isfinite(r["effective_n"]) else count(r["followers"]))}
        d = res.loc[f"{term} - {ref}"] if f"{term} - {ref}" in res.index else None
        if term == ref:
            row["Against " + schedule_name(ref, labels.get(ref))] = "the reference"
            row["Verdict: better?"] = "—"
        elif d is None or not np.isfinite(d["estimate"]):
            row["Against " + schedule_name(ref, labels.get(ref))] = "—"
            row["Verdict: better?"] = "not enough data"
        else:
            row["Against " + schedule_name(ref, labels.get(ref))] = estimate_ci(
                d["estimate"], d["ci_low"], d["ci_high"])
            row["Verdict: better?"] = verdict(d["estimate"], d["ci_low"], d["ci_high"],
                                              trivial)[0]
        row["How sure"] = ("too few patients for a number" if not np.isfinite(r["estimate"])
                           else "rests on few: a hint" if r["fragile"] else "enough to act on")
        out.append(row)
    head = f"Table {number_}. " if number_ else ""
    return Table(pd.DataFrame(out), title=f"{head}Schedules compared — {m.label}")


def regularity_answer(analysis: Analysis, schedules: Schedules) -> Text:
    """One answer to "does coming regularly help?" for one measure, reconciling its three
    numbers under the one rule: regular attenders against the others (an association), regularity
    at the same number of sessions (an association: the clinic's belief) and the schedules
    compared (the comparison to act on)."""
    m = analysis.measure
    trivial = trivial_size(m)
    unit = m.unit
    try:
        with quiet():
            regular = ipw_effect(analysis.table, exposure="regular", measure=m).iloc[0]
    except (RecordsError, ValueError) as exc:
        regular = {"estimate": float("nan"), "ci_low": float("nan"),
                   "ci_high": float("nan"), "note": str(exc)}
    beliefs = analysis.beliefs(schedules=schedules).table.set_index("belief")
    same = beliefs.loc["consistency"] if "consistency" in beliefs.index else None
    v_reg = verdict(regular["estimate"], regular["ci_low"], regular["ci_high"], trivial,
                    margin=trivial)[0]
    lines = [f"**{escape.markdown(m.label)}** — {scale_line(m, bare=True)}.", ""]
    if np.isfinite(regular["estimate"]):
        lines.append(
            f"1. *Association:* patients who came regularly (about once a month or more, for "
            f"80% of their time) improved "
            f"{estimate_ci(regular['estimate'], regular['ci_low'], regular['ci_high'])} {unit} "
            f"more than comparable patients who did not — verdict *{v_reg}*. They also came "
            "more often, and patients who see no change stop coming, so this mixes regularity, "
            "number of sessions and response.")
    else:
        lines.append("1. *Association:* regular attenders could not be compared with the others "
                     "on these records (too few in one of the groups) — verdict *not enough "
                     "data*.")
    if same is not None:
        lines.append(
            f"2. *Association, at the same number of sessions:* "
            f"{estimate_ci(same['estimate'], same['ci_low'], same['ci_high'])} {unit} more per "
            f"50 percentage points more sessions on schedule — verdict *{same['verdict']}*.")
    bl = bottom_line(schedules.comparison, m, heading="Schedules compared")[0]
    lines.append(f"3. *Comparison (the answer to act on):* {bl.split('** — ', 1)[-1]}"
                 if "** — " in bl else f"3. *Comparison (the answer to act on):* {bl}")
    v_same = None if same is None else same["verdict"]
    if v_same == "supported":
        answer = ("coming regularly goes with more improvement even at the same number of "
                  "sessions — but both numbers are associations; the schedule comparison says "
                  "which schedule to choose.")
    elif v_same == "not supported":
        answer = ("regular attenders improve more because they come more often (and keep "
                  "coming when they respond), not because of regularity itself; which schedule "
                  "to choose is the schedule comparison's answer.")
    else:
        answer = ("the records cannot tell whether regularity itself helps at the same number "
                  "of sessions; regular attenders' larger improvement is an association. "
                  "Which schedule to choose is the schedule comparison's answer.")
    lines += ["", f"**So, does coming regularly help?** For {_noun(m)}, {answer}"]
    return Text("\n".join(lines))


#: what a forwarded report cannot open or does not say: a reference to the methods document, a
#: section number, a code name in quotes
_UNOPENABLE = re.compile(r"\s*\((?:see )?docs/methods\.md[^)]*\)|\s*docs/methods\.md\s*§?[\d.]*")


def forwardable(text: str) -> str:
    """A sentence of the estimates' notes as a forwarded report says it: no reference to the
    methods document or its sections (the appendix says how the numbers are made), "the review"
    for "the landmark"."""
    text = _UNOPENABLE.sub("", str(text))
    return text.replace("the landmark", "the review").replace("landmark", "review")


def _noun(m: Measure) -> str:
    return escape.markdown(m.label.split(" (")[0].lower())


def frequency_groups(analysis: Analysis, *, horizon_days: int = 365) -> str:
    """Figure 4's groups in words: "low: fewer than 0.5 sessions a month, middle: 0.5 to 0.9,
    high: more than 0.9" (thirds of the patients by sessions a month over the first year, as
    :func:`outcomes.tables.analysis_table.trajectories` makes them)."""
    s = analysis.sessions
    t0 = s.groupby("patient_id")["date"].transform("min")
    within = s[(s["date"] - t0).dt.days < horizon_days]
    rate = within.groupby("patient_id").size() * DAYS_PER_MONTH / horizon_days
    if len(rate) < 3:
        return "thirds of the patients by sessions a month"
    band = pd.qcut(rate.rank(method="first"), 3, labels=["low", "middle", "high"])
    top = rate.groupby(band, observed=True).max()
    return (f"low: up to {number(top['low'], 1)} sessions a month in the first year; middle: "
            f"up to {number(top['middle'], 1)}; high: more (each a third of the patients)")


def figure(ax, caption: str) -> None:
    """Show a figure and its caption in one cell, the caption under the figure, so that
    a printed report keeps them on one page (the report's print style never splits a cell that
    holds a figure)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = ax.figure
    display(fig)
    plt.close(fig)
    display(Text(caption))


def how_made(analyses: dict[str, Analysis], compared: dict[str, Schedules]) -> Text:
    """The short appendix "how these numbers are made", in words a reader can check without the
    code or the methods document."""
    first = next(iter(analyses.values()))
    st = first.settings
    c = next(iter(compared.values())).comparison
    labels = c.settings["strategies"]
    schedules = "; ".join(f"{schedule_name(k, v)}: {html.unescape(v)}" for k, v in labels.items())
    return Text("\n".join([
        (f"- **Improvement** is the rating before the first session (at most {st.baseline_days} "
        f"days before) minus the rating at the review, about {st.landmark_days} days after the "
        f"first session (± {st.window_days} days), on the {st.region}, rated by the {st.rater}; "
        "positive = better."),
        (f"- **Schedules compared** — {escape.markdown(schedules)}. A patient *kept to* a "
        "schedule while each next session came inside its window."),
        ("- **Had every patient kept to a schedule**: each patient is counted under every "
        "schedule until their visits leave its windows; those who kept to it stand in for those "
        "who did not, weighted by how alike they were (starting grade, how their rating was "
        "changing, time since the last session, age, sex, skin type, smoking, sun exposure and "
        "the other recorded details), and the means are averaged over all patients."),
        ("- **The weighted number of patients** (\"about … once weighted\") is how many "
        "equally-weighted patients the weighted followers are worth; when it is under twice the "
        f"{c.settings['min_followers']} followers a schedule needs for a number, the number "
        "*rests on few* and is a hint, never a winner."),
        ("- **Intervals**: the whole analysis is repeated on resamples of the patients (a "
        "bootstrap); the 95% interval holds the middle 95% of the repeats."),
        ("- **Associations** compare patients as they came (more or less often, more or less "
        "regularly), adjusted for where they started and their recorded details; they can "
        "mislead about what a schedule would do, and are shown so the two can be compared."),
        "- Groups of fewer than 5 patients are shown as <5.",
    ]))
