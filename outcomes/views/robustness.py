"""Notebook 05 (robustness): could the answer be an artefact? The traps, each in words.

Each view takes a result the notebook computed from its :class:`~outcomes.analysis.Analysis`
(``analysis.followup_bias()``, ``analysis.dropout()``, ``analysis.sensitivity()``, or an
estimator of :mod:`outcomes.estimate` on ``analysis.table``) and shows it as a table in words (no
index column, ``—`` where there is no value, differences without minus signs), a sentence, or a
figure labelled in words; :func:`detail_table` shows a result as computed, for a statistician.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..format import MISSING, count, estimate_ci, number, p_value, which_way
from ..present.display import Table, Text
from ..present.robustness import forest_plot
from ..privacy import suppress_small_counts
from ._shared import COHORT_LABELS

__all__ = ["balance_plot", "balance_sentence", "detail_table", "dropout_sentence",
           "dropout_words", "e_value_words", "estimate_words", "followup_words",
           "indication_sentence", "indication_words", "ipw_words", "regression_to_mean_words",
           "sensitivity_plot", "sensitivity_words", "truth_words"]


def _ci(est, lo, hi) -> str:
    return estimate_ci(est, lo, hi, missing="not estimable")


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame.get(name, pd.Series(np.nan, frame.index))


# ---- trap 1: counting every session a patient ever had


def followup_words(result: pd.DataFrame) -> Table:
    """Trap 1 (:func:`outcomes.estimate.traps.followup_bias`) in words."""
    names = {"all follow-up": "every session ever had, improvement at the last rating",
             "landmark": "sessions in the first six months, improvement at six months"}
    return Table(pd.DataFrame({
        "sessions counted": result["model"].map(lambda m: names.get(m, m)),
        "extra improvement per session, grades (95% CI)": [
            _ci(r.estimate, r.ci_low, r.ci_high) for r in result.itertuples()],
        "patients": result["n"].map(count),
        "average follow-up (days)": _column(result, "mean_followup_days").map(
            lambda v: number(v, 0)),
        "how closely sessions follow time watched (0 to 1)": _column(
            result, "corr_sessions_followup").map(number)}))


# ---- trap 2: regression to the mean


def regression_to_mean_words(result: pd.DataFrame) -> Table:
    """Trap 2 (:func:`outcomes.estimate.traps.regression_to_mean`) in words."""
    rows = []
    for r in result.to_dict(orient="records"):
        if r["model"] == "change vs baseline":
            what = "each grade worse at the start"
            est = which_way(-r["estimate"], -r["ci_high"], -r["ci_low"], more="larger fall",
                            less="smaller fall")
        else:
            what = ("+1 session a month, starting grade ignored" if r["model"] == "change score"
                    else "+1 session a month, at the same starting grade")
            est = which_way(r["estimate"], r["ci_low"], r["ci_high"],
                            more="more improvement", less="less improvement")
        rows.append({"comparison": what, "change in grade at six months (95% CI)": est,
                     "patients": count(r.get("n"))})
    return Table(pd.DataFrame(rows))


# ---- trap 3: confounding by indication, and the weighting that answers it


def indication_words(result: pd.DataFrame) -> Table:
    """Trap 3 (:func:`outcomes.estimate.traps.confounding_by_indication`) in words."""
    groups = result[result["group"] != "trend"]
    out = pd.DataFrame({
        "sessions a month": groups["group"].str.replace("/month", " a month", regex=False)
        .str.replace(">=", "1 or more", regex=False).str.replace("< 0.5", "under 0.5",
                                                                  regex=False)
        .str.replace("1 or more 1", "1 or more", regex=False),
        "patients": groups["n"].map(count),
        "average starting grade (95% CI)": [_ci(r.baseline_mean, r.ci_low, r.ci_high)
                                            for r in groups.itertuples()],
        "average age": _column(groups, "age_mean").map(lambda v: number(v, 0))})
    return Table(out)


def indication_sentence(result: pd.DataFrame) -> Text:
    """Whether frequent patients started worse (the trend row), in one sentence."""
    trend = result[result["group"] == "trend"]
    if trend.empty or pd.isna(trend["spearman_rho"].iloc[0]):
        return Text("The records are too few to tell whether frequent patients started worse.")
    rho, p = float(trend["spearman_rho"].iloc[0]), float(trend["p_value"].iloc[0])
    clear = p < 0.05
    if clear and rho > 0:
        verdict = "patients who came more often had **worse** grades at the start"
    elif clear:
        verdict = "patients who came more often had **better** grades at the start"
    else:
        verdict = "the records do not show that starting grades differed with frequency"
    return Text(f"Across all patients, {verdict} (rank correlation {number(rho)}, p "
                f"{p_value(p)}: 0 = no link, 1 = the more sessions, always the worse the start).")


_BALANCE_NAMES = {**COHORT_LABELS, "baseline": "starting grade", "skin_type": "skin type",
                  "age": "age", "sleep_hours": "sleep"}


def _balance_labels(balance: pd.DataFrame) -> pd.Series:
    names = balance["variable"].map(lambda v: _BALANCE_NAMES.get(v, str(v).replace("_", " ")))
    level = balance["level"].astype("str")
    return names.where(level == "", names + ": " + level)


def balance_plot(balance: pd.DataFrame, *, threshold: float = 0.1, ax=None):
    """How different regular and irregular attenders are, before and after weighting.

    One row per variable (or level), the size of the difference in units of the variables'
    spread (|standardised mean difference|), grey line at ``threshold``. The figure is as tall as
    its rows need, so the labels never overlap.
    """
    b = balance.assign(label=_balance_labels(balance))
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 1.2 + 0.24 * len(b)))
    long = pd.concat([b.assign(weighting="before weighting", smd=b["smd_before"].abs()),
                      b.assign(weighting="after weighting", smd=b["smd_after"].abs())])
    sns.scatterplot(data=long, x="smd", y="label", hue="weighting", style="weighting", s=45,
                    ax=ax)
    ax.axvline(threshold, color="grey", ls="--", lw=1, label=f"{threshold:g}: close enough")
    ax.set(xlabel="difference between regular and irregular attenders (in spreads)", ylabel="",
           title="How alike the two groups are, before and after weighting")
    ax.legend(loc="lower right", frameon=True)
    return ax


def balance_sentence(balance: pd.DataFrame, *, threshold: float = 0.1) -> Text:
    """What the balance plot shows, naming every variable still above ``threshold``."""
    b = balance.assign(label=_balance_labels(balance), after=balance["smd_after"].abs())
    worst_before = balance["smd_before"].abs().max()
    above = b[b["after"] > threshold].sort_values("after", ascending=False)
    start = f"Before weighting the largest difference was {worst_before:.2f} spreads. "
    if above.empty:
        return Text(start + f"After weighting every variable is within {threshold:g}: the "
                    "weighted groups look alike at the start, as intended.")
    listed = ", ".join(f"{r.label} ({r.after:.2f})" for r in above.itertuples())
    return Text(start + f"After weighting, {len(b) - len(above)} of {len(b)} rows are within "
                f"{threshold:g}, but {len(above)} {'is' if len(above) == 1 else 'are'} not: "
                f"{listed}. The weighting made the groups more alike without making them "
                "alike, so the weighted comparison below is a rough check, not the answer; the "
                "adjusted comparison of notebook 3 takes these variables into account directly.")


def ipw_words(result: pd.DataFrame) -> Table:
    """The weighted comparison of regular vs irregular attenders, in words."""
    r = result.iloc[0]
    return Table(pd.DataFrame([{
        "comparison": "regular attenders (sessions covering at least 80% of the days) against "
                      "the others, after weighting",
        "improvement at six months (95% CI)": which_way(
            r["estimate"], r["ci_low"], r["ci_high"], more="more", less="less"),
        "patients": count(r.get("n"))}]))


# ---- trap 4: drop-out


def dropout_words(result: pd.DataFrame) -> Table:
    """Trap 4 (:func:`outcomes.estimate.traps.dropout_comparison`) in words."""
    groups = {"reached landmark": "came back for the six-month rating",
              "stopped": "stopped coming before it",
              "missed rating": "kept coming but missed the rating",
              "not yet due": "records end before it was due"}
    g = result[result["group"].isin(list(groups))]
    return Table(pd.DataFrame({
        "patients who": g["group"].map(groups),
        "patients": g["n"].map(count),
        "with a rating in between": g["n_interim"].map(count),
        "improvement by their last rating, grades (95% CI)": [
            _ci(r.interim_mean, r.ci_low, r.ci_high) for r in g.itertuples()],
        "average sessions": g["sessions_mean"].map(lambda v: number(v, 1))}))


def dropout_sentence(result: pd.DataFrame) -> Text:
    """Did patients who stopped respond worse? Differences in words, without minus signs."""
    rows = result.set_index("group")
    parts = []
    if "stopped - reached" in rows.index:
        d = rows.loc["stopped - reached"]
        parts.append("By their last rating, patients who stopped coming had improved "
                     f"{which_way(d['interim_mean'], d['ci_low'], d['ci_high'])} than those who "
                     "came back for the six-month rating.")
    if "stopped - reached (adjusted)" in rows.index:
        a = rows.loc["stopped - reached (adjusted)"]
        if pd.notna(a["interim_mean"]):
            worse = a["ci_high"] < 0
            parts.append("For the sessions and time they had had, the difference is "
                         f"{which_way(a['interim_mean'], a['ci_low'], a['ci_high'])}: "
                         + ("they were responding worse, so the findings describe patients who "
                            "stay and are too optimistic for everyone who starts." if worse else
                            "so they were not clearly responding worse to the sessions they had; "
                            "they mostly had fewer of them."))
    return Text(" ".join(parts) or "The records are too few to compare those who stopped.")


# ---- other analysis choices, and three more checks


_SETTING_NAMES = {"landmark_days": "landmark (days)", "window_days": "window (± days)",
                  "permissible_gap": "longest allowed gap (days)", "treatment": "treatment counted",
                  "rater": "rated by"}


def sensitivity_words(grid: pd.DataFrame, *, model: str = "adjusted") -> Table:
    """The sensitivity grid for one model in words; settings that could not be estimated say why."""
    g = grid[grid["model"] == model] if model in set(grid["model"]) else grid
    return Table(pd.DataFrame({
        "choice": g["setting"].map(lambda s: _SETTING_NAMES.get(s, s)),
        "value": g["value"].astype("str") + np.where(g["primary"], " (used throughout)", ""),
        "extra improvement per session a month (95% CI)": [
            _ci(r.estimate, r.ci_low, r.ci_high) for r in g.itertuples()],
        "patients": g["n"].map(count),
        "note": g["note"].fillna("").replace("", MISSING) if "note" in g else MISSING}))


def sensitivity_plot(grid: pd.DataFrame, *, model: str = "adjusted", ax=None):
    """The sensitivity grid as a forest plot labelled in words; dotted: the answer used throughout.

    Settings the records cannot support (no estimate) are left out of the figure and explained in
    :func:`sensitivity_words`.
    """
    g = grid[(grid["model"] == model) & grid["estimate"].notna()].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 1.2 + 0.3 * len(g)))
    labels = (g["setting"].map(lambda s: _SETTING_NAMES.get(s, s)) + ": "
              + g["value"].astype("str"))
    forest_plot(g, labels, ax, "The answer under other analysis choices",
                "extra improvement per session a month, grades (95% CI)")
    primary = g.loc[g["primary"], "estimate"]
    if len(primary):
        ax.axvline(float(primary.iloc[0]), color="C1", ls=":", lw=1.5)
    return ax


def estimate_words(result: pd.DataFrame, *, what: str, odds: bool = False) -> Table:
    """One estimate (bootstrap, ordinal model…) as a row in words (its technical note is in
    :func:`detail_table`)."""
    r = result.iloc[0]
    return Table(pd.DataFrame([{
        "what": what,
        ("odds ratio (95% CI)" if odds else "extra improvement, grades (95% CI)"):
            _ci(r["estimate"], r["ci_low"], r["ci_high"]),
        "patients": count(r.get("n"))}]))


def e_value_words(result: pd.DataFrame) -> Table:
    """The E-value (:func:`outcomes.estimate.robustness.adjusted_e_value`) in words."""
    r = result.iloc[0]
    return Table(pd.DataFrame([{
        "to explain away": "the adjusted effect (0 extra improvement)",
        "a hidden factor would need a risk ratio of": number(r["e_value"], 1)}, {
        "to explain away": "the whole confidence interval (so that it includes 0)",
        "a hidden factor would need a risk ratio of": number(r["e_value_ci"], 1)}]))


def truth_words(result: pd.DataFrame) -> Table:
    """:func:`outcomes.synthetic.truth_check` in words: the demo's known truth beside the
    estimates."""
    return Table(pd.DataFrame({
        "demo clinic": result["scenario"], "measure": result["measure"],
        "true effect": result["truth"].map(number), "naive": result["naive"].map(number),
        "adjusted (95% CI)": [_ci(r.adjusted, r.ci_low, r.ci_high)
                              for r in result.itertuples()],
        "adjusted minus truth": result["bias"].map(number),
        "CI contains the truth": result["covers"].map({True: "yes", False: "no"}),
        "patients": result["n"].map(count)}))


def detail_table(result: pd.DataFrame, *, count_columns=("n", "n_interim")) -> Table:
    """A robustness result as computed (for a statistician): numbers rounded to 3 decimals, the
    p-value as ``<0.001``, patient counts below 5 suppressed, ``—`` where there is no value."""
    out = result.copy()
    out.attrs = {}
    out = out.drop(columns=[c for c in ("measure", "std_error") if c in out])
    for c in out.columns:
        if c not in count_columns and pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(3)
    if "p_value" in out:
        out["p_value"] = out["p_value"].map(p_value)
    counts = [c for c in count_columns if c in out]
    for c in counts:  # float: missing counts stay NaN (shown as the missing mark)
        out[c] = out[c].astype("float64")
    if counts:
        out = suppress_small_counts(out, count_columns=counts, percent_columns=[])
    out = out.reset_index(drop=True)
    return Table(out.map(lambda v: MISSING if isinstance(v, str) and not v.strip() else v))
