"""The robustness analyses and the traps for people: their figures.

From the tidy rows of :mod:`outcomes.estimate.weighting`, :mod:`~outcomes.estimate.dose_response`,
:mod:`~outcomes.estimate.traps` and the sensitivity grid; nothing is estimated here.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..privacy import suppress_count

__all__ = ["dose_response_plot", "dropout_plot", "followup_bias_plot", "forest_plot",
           "indication_plot", "love_plot", "regression_to_mean_plot", "sensitivity_plot"]


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    return ax


def love_plot(balance: pd.DataFrame, *, threshold: float = 0.1, ax=None):
    """Love plot: |SMD| of each variable (level) before and after weighting, with the 0.1 line."""
    ax = _axes(ax)
    b = balance.assign(label=np.where(balance["level"].astype(str) == "", balance["variable"],
                                      balance["variable"] + ": " + balance["level"].astype(str)))
    long = pd.concat([b.assign(weighting="before", smd=b["smd_before"].abs()),
                      b.assign(weighting="after", smd=b["smd_after"].abs())])
    sns.scatterplot(data=long, x="smd", y="label", hue="weighting", style="weighting", ax=ax,
                    s=50)
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set(xlabel="|standardised mean difference|", ylabel="",
           title="Balance before and after weighting")
    return ax


def dose_response_plot(curve: pd.DataFrame, *, table: pd.DataFrame | None = None, ax=None):
    """Adjusted dose–response curve with its pointwise 95 % band (and patients' rug if given)."""
    ax = _axes(ax)
    sns.lineplot(data=curve, x="sessions_per_month", y="estimate", ax=ax, color="C0")
    ax.fill_between(curve["sessions_per_month"], curve["ci_low"], curve["ci_high"], alpha=0.25,
                    color="C0", lw=0)
    if table is not None:
        sns.rugplot(x=table["sessions_per_month"], ax=ax, color="grey", alpha=0.3)
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set(xlabel="sessions per month", ylabel="adjusted improvement (positive = better)",
           title="Dose–response (95% pointwise band)")
    return ax


def forest_plot(df: pd.DataFrame, label: pd.Series, ax, title: str, xlabel: str, ref: float = 0.0):
    """Estimate and 95 % CI of each row of ``df`` (labelled ``label``, first row on top), with a
    dashed line at ``ref``."""
    ax = _axes(ax)
    y = np.arange(len(df))[::-1]
    est = df["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - df["ci_low"].to_numpy(dtype=float),
                     df["ci_high"].to_numpy(dtype=float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", color="C0", capsize=3)
    ax.set_yticks(y, list(label))
    ax.set_ylim(-0.6, len(df) - 0.4)
    ax.axvline(ref, color="grey", ls="--", lw=1)
    ax.set(xlabel=xlabel, title=title)
    return ax


def sensitivity_plot(grid: pd.DataFrame, *, model: str = "adjusted", ax=None):
    """Forest plot of the sensitivity grid for one model; the primary setting's estimate dotted."""
    g = grid[(grid["model"] == model) & grid["estimate"].notna()]
    ax = forest_plot(g, g["setting"] + " = " + g["value"].astype(str), ax,
                 f"Sensitivity of the {model} estimate", "estimate (95% CI)")
    prim = g.loc[g["primary"], "estimate"]
    if len(prim):
        ax.axvline(float(prim.iloc[0]), color="C1", ls=":", lw=1)
    return ax


def followup_bias_plot(result: pd.DataFrame, *, ax=None):
    """Per-session estimate in the all-follow-up design vs the landmark design."""
    return forest_plot(result, result["model"], ax, "Follow-up bias: per-session estimate",
                   "extra improvement per session (95% CI)")


def regression_to_mean_plot(table: pd.DataFrame, *, ax=None):
    """Raw change (landmark − baseline) against baseline with the least-squares line."""
    ax = _axes(ax)
    df = table[["baseline", "landmark"]].astype("float64").dropna()
    df["change"] = df["landmark"] - df["baseline"]
    sns.regplot(data=df, x="baseline", y="change", ax=ax, x_jitter=0.05, y_jitter=0.05, seed=0,
                scatter_kws={"alpha": 0.3, "s": 12}, line_kws={"color": "C1"})
    ax.axhline(0, color="grey", lw=1)
    ax.set(xlabel="baseline rating", ylabel="landmark − baseline",
           title="Regression to the mean: change vs baseline")
    return ax


def _labelled(groups: pd.Series, counts: pd.Series) -> pd.Series:
    """Group labels with their size, counts under 5 shown as "<5" (privacy.suppress_count)."""
    return groups.astype("str") + " (n=" + counts.map(lambda n: suppress_count(int(n))) + ")"


def indication_plot(result: pd.DataFrame, *, ax=None):
    """Mean baseline rating (95 % CI) by frequency group from :func:`confounding_by_indication`."""
    g = result[result["group"] != "trend"].rename(columns={"baseline_mean": "estimate"})
    ax = forest_plot(g, _labelled(g["group"], g["n"]), ax,
                 "Baseline rating by sessions per month", "mean baseline rating (95% CI)",
                 ref=float(np.nanmean(g["estimate"])))
    return ax


def dropout_plot(result: pd.DataFrame, *, ax=None):
    """Interim improvement (95 % CI) of stayers, stoppers and the other groups."""
    g = result[(result["group"] != "stopped - reached") & (result["n_interim"] > 0)]
    g = g.rename(columns={"interim_mean": "estimate"})
    return forest_plot(g, _labelled(g["group"], g["n_interim"]), ax,
                   "Drop-out: last rating before the landmark window",
                   "interim improvement (95% CI)")
