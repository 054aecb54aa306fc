"""The association of frequency with improvement, for people: sentences and figures.

What ``outcomes effects`` prints (:func:`effects_text`), one sentence per result row
(:func:`describe_effect`), and the figures of notebook 03 — all from the result rows of
:mod:`outcomes.estimate.effects` and the tables they came from; nothing is estimated here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..estimate.effects import CONSISTENCY_METRICS
from ..format import count, number, p_value
from ..privacy import suppress_small_counts
from ..records.scales import Measure
from ..tables.attendance import DAYS_PER_MONTH

__all__ = ["describe_effect", "effects_text", "plot_effects", "plot_improvement_by_frequency",
           "plot_trajectories"]

#: covariates in people's words
_WORDS = {"baseline": "baseline rating", "age": "age", "sex": "sex", "skin_type": "skin type",
          "smoker": "smoking", "sun_exposure": "sun exposure", "sleep_hours": "sleep",
          "skincare": "home skincare", "concern": "kind of pore concern", "clinic_id": "clinic"}


def _people(text: str) -> str:
    """Counts of 1–4 people (patients, ratings, exposed/unexposed) in a note shown by
    ``outcomes effects`` written as ``<5`` (:func:`outcomes.privacy.suppress_count`); the notes
    in the result table and ``--json`` keep the numbers."""
    def small(m):
        return count(int(m.group(0)))

    text = re.sub(r"(?<=patients \()\d+(?=\))|(?<=ratings \()\d+(?=\))", small, text)
    text = re.sub(r"(?<![\w.])\d+(?= (?:patient|rating|exposed|unexposed))", small, text)
    return re.sub(r"(?<=there are )\d+|(?<=there are <5 and )\d+|(?<=\d and )\d+(?=\.)",
                  small, text)


def _fmt(x: float) -> str:
    """A size in grades for a sentence: two decimals, one from 10 on."""
    return number(x, "size")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _unit(measure: Measure) -> str:
    return "grades" if measure.is_grade or measure.step is not None else "points"


def describe_effect(row: pd.Series | dict, measure: Measure, covariates: Sequence[str] = (),
                    *, landmark_days: int = 182) -> str:
    """One plain-language sentence for one result row.

    Parameters
    ----------
    row : Series or dict
        A row of a result table (``model``, ``term``, ``estimate``, ``ci_low``, ``ci_high``).
    measure : Measure
        The measure's scale (label, unit, direction).
    covariates : list of str
        The covariates the model adjusted for (``table.attrs["covariates"]``).
    landmark_days : int
        For "at 6 months".

    Examples
    --------
    "Each additional session a month went with 0.60 (95% CI 0.40 to 0.80) grades more pore
    improvement at 6 months, after adjusting for baseline rating, age, smoking, sun exposure
    and skin type."
    """
    row = dict(row)
    est, lo, hi = row["estimate"], row["ci_low"], row["ci_high"]
    name = measure.label.split("(")[0].strip().lower() or measure.name
    if not np.isfinite(est):
        return (f"The {row['model']} estimate for {row['term']} could not be computed"
                + (f": {row['note']}." if row.get("note") else "."))
    months = landmark_days / DAYS_PER_MONTH
    when = f"at {months:.0f} months" if abs(months - round(months)) < 0.1 else \
        f"{landmark_days} days after the first session"
    size = (f"{_fmt(abs(est))} (95% CI {_fmt(lo if est >= 0 else -hi)} to "
            f"{_fmt(hi if est >= 0 else -lo)}) {_unit(measure)} {'more' if est >= 0 else 'less'}")
    model, term = row["model"], row["term"]
    unsure = " The interval includes zero, so the data are also compatible with no effect." \
        if lo <= 0 <= hi else ""
    adjusted = ", after adjusting for " + _join(
        [_WORDS["baseline"]] + [_WORDS.get(c, c) for c in covariates])
    if model == "naive":
        return (f"Comparing patients as they are, each additional session a month went with "
                f"{size} {name} improvement {when}. This raw comparison does not account for "
                "where patients started (worse starting ratings improve more by chance — "
                "regression to the mean) or for who chooses to come more often, which is why "
                f"it can differ from the adjusted answer.{unsure}")
    if term == "sessions_per_month":
        return (f"Each additional session a month went with {size} {name} improvement {when}"
                f"{adjusted if model.startswith('adjusted') else ''}"
                f"{' and for how regular the visits were' if 'consistency' in model else ''}."
                f"{unsure}")
    if term in CONSISTENCY_METRICS:
        return (f"At the same number of sessions a month, {CONSISTENCY_METRICS[term]} went with "
                f"{size} {name} improvement {when}{adjusted}.{unsure}")
    better = size.replace(" more", " better").replace(" less", " worse")
    if model == "mixed" and term == "sessions_within":
        return (f"Within the same patient and at the same time since the first session, each "
                f"additional session received went with a {name} rating {better}.{unsure}")
    if model == "mixed" and term == "sessions_between":
        return (f"Between patients, one more session received on average went with a {name} "
                f"rating {better}.{unsure}")
    return (f"{term} ({model}): {_fmt(est)} (95% CI {_fmt(lo)} to {_fmt(hi)}) {_unit(measure)}."
            f"{unsure}")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

_MAIN_TERMS = {"naive": ["sessions_per_month"], "adjusted": ["sessions_per_month"],
               "adjusted+consistency": ["sessions_per_month", *CONSISTENCY_METRICS],
               "mixed": ["sessions_within", "sessions_between"]}


def _num(v: float) -> str:
    """A number for the details table (copied into other software: an ASCII minus)."""
    return number(v, 3, minus="-")


#: the label in words of each result shown to the clinic lead
_LABELS = {("naive", "sessions_per_month"): "Raw comparison",
           ("adjusted", "sessions_per_month"): "Adjusted association",
           ("adjusted+consistency", "sessions_per_month"): "Frequency, with regularity held equal",
           ("mixed", "sessions_within"): "Every rating over time, within patients",
           ("mixed", "sessions_between"): "Every rating over time, between patients",
           ("ipw", "regular"): "Regular attenders",
           ("ipw", "monthly_start"): "A monthly start",
           ("ordinal", "sessions_per_month"): "A better grade reached"}


def _label(model: str, term: str) -> str:
    if (model, term) in _LABELS:
        return _LABELS[(model, term)]
    if model == "adjusted+consistency":
        return "Regularity, at the same frequency"
    return f"{model} {term}"


def _one_sentence(text: str) -> str:
    return text.replace(". The interval includes zero, so the data are also compatible with no "
                        "effect.", "; the interval includes zero, so the data are also "
                        "compatible with no effect.")


def _plain(r: dict, m: Measure, covs: Sequence[str], landmark_days: int) -> str:
    """One plain-language sentence for one result row of ``outcomes effects``."""
    model, term, est, lo, hi = r["model"], r["term"], r["estimate"], r["ci_low"], r["ci_high"]
    name = m.label.split("(")[0].strip().lower() or m.name
    if not np.isfinite(est):
        why = str(r.get("note") or "").split("could not be estimated: ")[-1]
        why = _people(why.split("not estimable: ")[-1].split("; ")[-1])
        why = why.replace("`regular`", "regular attendance").replace(
            "`monthly_start`", "a monthly start").replace("Propensity weighting", "Weighting")
        return f"could not be estimated on these records: {why.rstrip('.')}."
    unsure = ("; the interval includes zero, so the data are also compatible with no effect"
              if lo <= 0 <= hi else "")
    months = landmark_days / DAYS_PER_MONTH
    when = f"at {months:.0f} months" if abs(months - round(months)) < 0.1 else \
        f"{landmark_days} days after the first session"
    size = (f"{_fmt(abs(est))} (95% CI {_fmt(lo if est >= 0 else -hi)} to "
            f"{_fmt(hi if est >= 0 else -lo)}) {_unit(m)} {'more' if est >= 0 else 'less'}")
    caution = (" — treat this with caution: the two groups could not be made comparable"
               if "CAUTION" in str(r.get("note") or "") else "")
    if model == "naive":
        return (f"Comparing patients as they are, each additional session a month went with "
                f"{size} {name} improvement {when}, without taking into account where patients "
                "started (worse starting ratings improve more by chance — regression to the "
                f"mean) or who chooses to come more often{unsure}.")
    if model == "ipw":
        who = ("came regularly (a session at least about once a month for 80% or more of their "
               "time up to the landmark)" if term == "regular" else
               "came back for a second session within 45 days of their first")
        return (f"Patients who {who} improved {size} {when} than comparable patients who did "
                f"not, comparable in baseline rating and the other recorded characteristics"
                f"{unsure}{caution}.")
    if model == "ordinal":
        # no chance in per cent: per one more session a month the odds ratio is large enough
        # (e.g. 99% against an even 50%) that a reader takes it as a promise, and it is an
        # association like the rows above; the direction and whether the records can tell
        # are what it adds
        if lo <= 1 <= hi:
            tell = "the records cannot tell whether it goes either way"
        elif est > 1:
            tell = "the interval excludes no difference"
        else:
            tell = "the interval excludes no difference, in the other direction"
        way = "more" if est >= 1 else "less"
        return (f"On the grade scale itself, patients who came more often were {way} likely to "
                f"reach a better {name} grade {when} than similar patients at the same baseline "
                f"grade; {tell}. This is the same association as above, counted in grades "
                "reached rather than in mean change.")
    return _one_sentence(describe_effect(r, m, covs, landmark_days=landmark_days))


def _exclusion_lines(table: pd.DataFrame) -> list[str]:
    """``excluded, <reason>: <n>`` with counts of 1–4 shown as ``<5`` and, so that a hidden
    count cannot be worked out from the total, :func:`outcomes.privacy.suppress_small_counts`'
    secondary suppression over the analysed and excluded counts."""
    reasons = dict(table.attrs.get("exclusions", {}))
    if not reasons:
        return [], str(len(table))
    counts = pd.DataFrame({"n": [len(table), *reasons.values()]},
                          index=["analysed", *reasons])
    shown = suppress_small_counts(counts)["n"]
    return [f"  excluded, {reason}: {shown[reason]}" for reason in reasons], shown["analysed"]


def effects_text(parts, *, landmark_days: int, quarantined: int, details: bool = False) -> str:
    """The human output of ``outcomes effects``: one plain sentence per result, per measure.

    ``parts``: ``(Measure, analysis table, result rows)`` per measure, as
    :class:`outcomes.results.Effects` holds them.
    """
    lines = [("These are associations between how often patients came and how much they improved. "
             "With benefits that level off and fade, and patients who stop when they see no "
             "change, they can mislead about what a schedule would do: for that, run "
             "`outcomes strategies` (the schedules compared)."), ""]
    for m, table, res in parts:
        change = "fall" if m.better == "lower" else "rise"
        excluded, analysed = _exclusion_lines(table)
        lines += [(f"== {m.label}: improvement = {change} in the rating ({_unit(m)}), "
                   "positive = better"),
                  f"patients analysed: {analysed} of {count(table.attrs['n_patients'])}"]
        lines += excluded
        is_main = np.array([t in _MAIN_TERMS.get(mod, [t]) for mod, t in
                            zip(res["model"], res["term"])], dtype=bool)
        main = res[is_main]
        covs = table.attrs["covariates"]
        lines.append("")
        for r in main.to_dict(orient="records"):
            lines.append(f"- {_label(r['model'], r['term'])}: "
                         + _plain(r, m, covs, landmark_days))
        if not m.is_grade:
            lines.append(f"- A better grade reached: not run, because {m.label} is not a grade "
                         "scale (no `step` for it in dataset.toml).")
        if details:
            show = main[["model", "term", "estimate", "ci_low", "ci_high", "p_value", "n"]].copy()
            for col in ("estimate", "ci_low", "ci_high"):
                show[col] = show[col].map(_num)
            show["p_value"] = show["p_value"].map(p_value)
            lines += ["", "details (model and term names as in --json):",
                      show.to_string(index=False), ""]
            notes = sorted({n for n in res["note"].dropna() if n})
            lines += [f"  note: {_people(n)}" for n in notes]
        lines.append("")
    lines.append(f"quarantined input rows (set aside, see `outcomes check`): {quarantined}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Plots (matplotlib and seaborn are imported inside each: the command line imports this module
# for its sentences, and need not wait for them)
# --------------------------------------------------------------------------------------------

def plot_effects(results: pd.DataFrame, *, term: str = "sessions_per_month", ax=None):
    """Coefficient plot: the estimate and 95 % CI of ``term`` per model (rows) and measure (colour).

    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt  # only when drawing (see the section's comment)
    import seaborn as sns

    data = results[results["term"] == term].dropna(subset=["estimate"]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 + 0.45 * max(len(data), 1)))
    if data.empty:
        ax.set_title(f"no estimate of {term}")
        return ax
    data["label"] = data["measure"] + " · " + data["model"]
    ax.axvline(0, color="0.6", lw=1, ls="--")
    ax.errorbar(data["estimate"], data.index, xerr=[data["estimate"] - data["ci_low"],
                data["ci_high"] - data["estimate"]], fmt="none", ecolor="0.3", capsize=3)
    sns.scatterplot(data=data, x="estimate", y=data.index, hue="model", style="measure",
                    s=60, ax=ax, zorder=3)
    ax.set_yticks(data.index, data["label"])
    ax.invert_yaxis()
    ax.set_xlabel(f"{term}: extra improvement (95% CI)")
    ax.set_ylabel("")
    return ax


def plot_trajectories(data: pd.DataFrame, measure: Measure, *, ax=None):
    """Mean rating over months since t0, by frequency group
    (:func:`outcomes.tables.analysis_table.trajectories`). Returns the Axes."""
    import matplotlib.pyplot as plt  # only when drawing (see the section's comment)
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=data, x="month", y="value", hue="frequency", errorbar=("ci", 95),
                 seed=0, marker="o", ax=ax)
    ax.set_xlabel("months since first session")
    ax.set_ylabel(f"{measure.label} ({measure.better} is better)")
    ax.legend(title="sessions a month")
    return ax


def plot_improvement_by_frequency(table: pd.DataFrame, *, ax=None):
    """Improvement against sessions per month (one dot per patient) with the naive OLS line —
    the raw view. For the adjusted dose-response curve see
    :func:`outcomes.robustness.dose_response_plot`. Returns the Axes."""
    import matplotlib.pyplot as plt  # only when drawing (see the section's comment)
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.regplot(data=table, x="sessions_per_month", y="improvement", ax=ax,
                scatter_kws={"s": 12, "alpha": 0.5}, x_jitter=0.02, y_jitter=0.05)
    ax.axhline(0, color="0.6", lw=1, ls="--")
    ax.set_xlabel("sessions per month (t0 to landmark)")
    ax.set_ylabel("improvement (positive = better)")
    return ax
