"""Notebook 03 (outcomes and attendance): do patients who come more often improve more?

Every view takes the notebook's :class:`~outcomes.analysis.Analysis` (one per measure, built in
its first cell) or the dict ``measure → Analysis``; nothing is rebuilt from the records here.
Estimates are read as ``estimate (95% CI)``, counts of patients below 5 as ``<5``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import escape
from ..analysis import Analysis
from ..errors import RecordsError
from ..estimate.dose_response import dose_response, dose_response_slopes
from ..estimate.effects import (
    CONSISTENCY_METRICS,
    adjusted_effect,
    consistency_effect,
    mixed_effect,
    naive_effect,
)
from ..format import count, estimate_ci, number, p_value, which_way
from ..present import beliefs as belief_words
from ..present.display import Table, Text
from ..present.effects import describe_effect
from ..present.robustness import dose_response_plot as draw_dose_response
from ..records.contract import CATEGORIES
from ._shared import markdown_label, quiet

__all__ = ["dose_response_plot", "dose_response_table", "dose_response_words",
           "effect_sentence", "effects_view", "measures_table", "mixed_table", "raters_table",
           "regions_table", "result_table", "who_benefits_plot", "who_benefits_table",
           "zones_table"]

_MODEL_NAMES = {"naive": "naive (no adjustment)", "adjusted": "adjusted",
                "adjusted+consistency": "adjusted + consistency", "mixed": "mixed model",
                "ipw": "IPW (weighted)", "ordinal": "ordinal", "bootstrap": "cluster bootstrap"}

_TERM_NAMES = {"sessions_per_month": "+1 session a month", "baseline": "baseline rating (+1)",
               "sessions_within": "+1 session, same patient",
               "sessions_between": "+1 session, between patients",
               "months": "+1 month since first session",
               "interval_cv": "interval CV (+0.1: less even gaps)",
               "coverage": "coverage (+10 points)", "adherence": "on-schedule adherence (+10 points)",
               "longest_gap": "longest gap (+30 days)", "lapses": "lapses (+1)",
               "regular": "regular attender (coverage ≥ 80%)",
               "monthly_start": "monthly start (2nd session within 45 days)"}


def _term_name(term) -> str:
    if term in _TERM_NAMES:
        return _TERM_NAMES[term]
    unit = CONSISTENCY_METRICS.get(term)
    return f"{term.replace('_', ' ')} ({unit})" if unit else str(term)


def result_table(result: pd.DataFrame, *, digits: int = 2, note: bool = False) -> pd.DataFrame:
    """A tidy result table (``model, term, estimate, ci_low, ci_high, p_value, n``) for reading.

    Returns one row per result: ``model``, ``what`` (the term in words), ``estimate (95% CI)``,
    ``p`` and ``patients`` (suppressed below 5), plus ``note`` when asked.
    """
    rows = []
    for r in result.to_dict(orient="records"):
        row = {"model": _MODEL_NAMES.get(r.get("model"), r.get("model")),
               "what": _term_name(r.get("term")),
               "estimate (95% CI)": estimate_ci(r.get("estimate"), r.get("ci_low"),
                                                r.get("ci_high"), digits,
                                                missing="not estimable"),
               "p": p_value(r.get("p_value")), "patients": count(r.get("n"))}
        if "measure" in r and result["measure"].nunique() > 1:
            row = {"measure": r["measure"], **row}
        if note:
            row["note"] = r.get("note") or ""
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.set_index([c for c in ("measure", "model") if c in out]) if len(out) else out


# ---- the association at the landmark


def _landmark_effects(analysis: Analysis, *, consistency: bool = True) -> pd.DataFrame:
    """Naive, adjusted and (optionally) adjusted+consistency rows of frequency (terms
    ``sessions_per_month`` and the consistency metric)."""
    with quiet():  # the models explain what they could not estimate in `note`
        table = analysis.table
        parts = [naive_effect(table), adjusted_effect(table)]
        if consistency:
            parts.append(consistency_effect(table))
    out = pd.concat(parts, ignore_index=True)
    keep = out["term"].isin(["sessions_per_month", *CONSISTENCY_METRICS])
    return out[keep].reset_index(drop=True)


def effects_view(analysis: Analysis) -> pd.DataFrame:
    """Naive vs adjusted effect of +1 session a month (and of regularity), for reading."""
    return result_table(_landmark_effects(analysis))


def effect_sentence(analysis: Analysis) -> Text:
    """The adjusted and the naive estimate in plain words."""
    res = _landmark_effects(analysis, consistency=False)
    # the sentence is markdown: the measure's label (from dataset.toml) is escaped for it
    m, covs = markdown_label(analysis.measure), analysis.table.attrs.get("covariates", ())
    days = analysis.settings.landmark_days
    lines = [f"- **{name}:** {describe_effect(row, m, covs, landmark_days=days)}"
             for name, row in (("Adjusted", res.iloc[1]), ("Naive", res.iloc[0]))]
    return Text("\n".join(lines))


def mixed_table(analysis: Analysis) -> pd.DataFrame:
    """The mixed model of every rating over time (within and between patients), for reading."""
    return result_table(mixed_effect(analysis.long))


def measures_table(analyses: dict[str, Analysis]) -> pd.DataFrame:
    """Naive and adjusted effect of +1 session a month for every measure analysed."""
    parts = [_landmark_effects(a, consistency=False) for a in analyses.values()]
    return result_table(pd.concat(parts, ignore_index=True))


def _adjusted_or_note(analysis: Analysis, **change):
    try:
        table = analysis.with_settings(**change).table
        row = adjusted_effect(table).iloc[[0]]
    except RecordsError as exc:
        return pd.DataFrame({"measure": [analysis.settings.measure], "model": ["adjusted"],
                             "term": ["sessions_per_month"], "n": [0],
                             "note": [str(exc)]}), None
    return row, table


def regions_table(analysis: Analysis) -> pd.DataFrame:
    """Adjusted effect of +1 session a month on each region's rating (regions with ratings)."""
    present = set(analysis.records.assessments["region"].astype("str"))
    rows = []
    for region in [r for r in CATEGORIES["region"] if r in present]:
        row, _ = _adjusted_or_note(analysis, region=region)
        rows.append(row.assign(region=region))
    out = pd.concat(rows, ignore_index=True)
    shown = result_table(out).reset_index()
    shown.insert(0, "region", out["region"].to_numpy())
    return shown.drop(columns=["model", "what"]).set_index("region")


def raters_table(analysis: Analysis) -> pd.DataFrame:
    """Adjusted effect per rater, and how each rater's improvements agree with the clinician's.

    ``agreement with clinician`` is the Pearson correlation of the improvement rated by this rater
    and by the clinician, over patients included under both (with its n).
    """
    present = set(analysis.records.assessments["rater"].astype("str"))
    rows, tables = [], {}
    for rater in [r for r in CATEGORIES["rater"] if r in present]:
        row, table = _adjusted_or_note(analysis, rater=rater)
        rows.append(row.assign(rater=rater))
        tables[rater] = table
    out = pd.concat(rows, ignore_index=True)
    shown = result_table(out).reset_index()
    shown.insert(0, "rater", out["rater"].to_numpy())
    shown = shown.drop(columns=["model", "what"]).set_index("rater")
    agreement = []
    for rater in shown.index:
        ref, other = tables.get("clinician"), tables.get(rater)
        if rater == "clinician" or ref is None or other is None:
            agreement.append(number(None))
            continue
        both = ref[["patient_id", "improvement"]].merge(
            other[["patient_id", "improvement"]], on="patient_id")
        r = both["improvement_x"].corr(both["improvement_y"]) if len(both) >= 5 else float("nan")
        agreement.append(f"r = {number(r)} (n = {len(both)})" if len(both) >= 5 else
                         "fewer than 5 patients rated by both")
    shown["agreement with clinician"] = agreement
    return shown


# ---- the dose–response curve


def _knee(table: pd.DataFrame) -> float:
    """Where to compare the slopes of the dose–response curve: one session a month when the
    records reach both sides of it (5th–95th percentile), else their median rounded to 0.05."""
    x = table["sessions_per_month"].dropna()
    low, high = x.quantile(0.05), x.quantile(0.95)
    return 1.0 if low < 1.0 < high else round(float(x.median()) * 20) / 20


def dose_response_plot(analysis: Analysis, *, ax=None):
    """Adjusted dose–response curve (spline) with its 95 % band and the patients' rug."""
    with quiet():
        table = analysis.table
        ax = draw_dose_response(dose_response(table), table=table, ax=ax)
    ax.set_title(escape.plot_label(f"{analysis.measure.label.split(' (')[0]}: improvement at "
                                   f"day {analysis.settings.landmark_days}"))
    return ax


def dose_response_table(analysis: Analysis) -> pd.DataFrame:
    """Average slope of the dose–response curve below and above the knee (one session a month,
    or the typical rate): is each extra session worth less beyond it?"""
    table = analysis.table
    return result_table(dose_response_slopes(table, knee=_knee(table)))


def dose_response_words(analysis: Analysis) -> Text:
    """What the dose–response curve shows, from its average slopes below and above the knee."""
    table = analysis.table
    knee = _knee(table)
    slopes = dose_response_slopes(table, knee=knee)
    below, above, diff = slopes.iloc[0], slopes.iloc[1], slopes.iloc[2]
    label = analysis.measure.label.split(" (")[0].lower()
    first = which_way(below["estimate"], below["ci_low"], below["ci_high"],
                      more=f"more {label} improvement", less=f"less {label} improvement")
    text = (f"Up to {knee:g} sessions a month, each extra session a month went with {first}; "
            f"beyond {knee:g}, with "
            f"{which_way(above['estimate'], above['ci_low'], above['ci_high'])}. ")
    if diff["ci_high"] < 0:
        text += f"So the curve flattens beyond {knee:g} a month: extra sessions there added less."
    elif diff["ci_low"] > 0:
        text += f"So extra sessions beyond {knee:g} a month added *more*, not less."
    else:
        text += ("The records cannot tell whether extra sessions beyond that rate add less: "
                 "the two slopes are compatible with each other.")
    if _rises_again(table, knee):
        text += (" At the far right the line turns up again; few patients came that often (see "
                 "the ticks) and the band is wide there, so that rise is not to be read as a "
                 "finding.")
    text += (" The dotted vertical line marks one session a month; the shaded band is the 95% CI "
             "and each grey tick at the bottom is a patient.")
    return Text(text)


def _rises_again(table: pd.DataFrame, knee: float, *, by: float = 0.05) -> bool:
    """Whether the adjusted curve, beyond ``knee``, dips and then ends ``by`` grades higher."""
    with quiet():
        curve = dose_response(table)
    y = curve.loc[curve["sessions_per_month"] >= knee, "estimate"].to_numpy(dtype=float)
    if len(y) < 3:
        return False
    low = int(np.argmin(y))
    return 0 < low < len(y) - 1 and y[-1] - y[low] > by


# ---- who benefits, and where on the face


def who_benefits_table(analysis: Analysis) -> Table:
    """The slope per extra session a month by subgroup (exploratory), for reading."""
    return Table(belief_words.who_benefits_table(analysis.who_benefits()))


def who_benefits_plot(analysis: Analysis, *, ax=None):
    """The same as a forest plot (the dashed line is everyone together)."""
    return belief_words.plot_who_benefits(analysis.who_benefits(), ax=ax)


def zones_table(analyses: dict[str, Analysis]) -> Table:
    """Baseline and improvement by zone, within patient, for every measure analysed."""
    return Table(belief_words.regions_table(pd.concat([a.regions() for a in analyses.values()],
                                                      ignore_index=True)))
