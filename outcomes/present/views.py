"""What the notebooks and the report show: tables for reading, sentences, figures.

Every function here turns the package's tidy results into something a clinic lead reads: tables
with plain headers and no row numbers (:class:`Table`), counts of people below 5 shown as ``<5``
(:mod:`outcomes.privacy`), numbers formatted for people (never "−0.00"), sentences as markdown
(:class:`Text`, data-derived text escaped by :mod:`outcomes.escape`), and figures (they return the
Axes; end the notebook cell with ``;``). The notebooks hold no logic: each cell calls one of these.

Functions take an :class:`outcomes.analysis.Analysis` (its cached tables are used, nothing is
rebuilt) or, for the descriptive views of notebooks 01–03, the
:class:`~outcomes.records.Records` and the settings.

Sections: set-up; notebook 01 (data check); 02 (attendance); 03 (outcomes); the schedule
comparison (notebook 04 and the summary); the traps (notebook 05); the clinic summary (06).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import escape
from ..errors import RecordsError
from ..estimate.schedules import ScheduleComparison, strategy_sentences
from ..privacy import suppress_count, suppress_small_counts
from .schedules import schedule_plot

__all__ = [
    "FEW_PATIENTS",
    "FREQUENCY_BINS",
    "FREQUENCY_LABELS",
    "NO_VALUE",
    "Table",
    "Text",
    "adherence_table",
    "association_findings",
    "attendance_against_protocol_plot",
    "attendance_metrics",
    "attendance_view",
    "balance_plot",
    "balance_sentence",
    "beliefs_view",
    "caveats",
    "cohort_table",
    "describe_metrics",
    "detail_table",
    "dose_response_knee",
    "dose_response_plot",
    "dose_response_table",
    "dose_response_words",
    "dropout_sentence",
    "dropout_words",
    "e_value_words",
    "effect_sentence",
    "effects_view",
    "estimate_words",
    "followup_plot",
    "followup_table",
    "followup_words",
    "frequency_group",
    "headline",
    "indication_sentence",
    "indication_words",
    "ipw_words",
    "key_findings",
    "landmark_effects",
    "measures_table",
    "notebook_setup",
    "present",
    "protocol_choices",
    "raters_table",
    "records_overview",
    "regions_table",
    "regression_to_mean_words",
    "robustness_table",
    "rows_table",
    "schedule_balance_plot",
    "schedule_followers_table",
    "schedule_loss_table",
    "schedule_plot",
    "schedule_protocol_table",
    "schedule_sensitivity_table",
    "schedule_summary",
    "schedule_table",
    "schedule_weights_table",
    "sensitivity_plot",
    "sensitivity_words",
    "set_aside_examples",
    "set_aside_reasons",
    "summary_caveats",
    "summary_overview",
    "trajectories_plot",
    "truth_words",
]


def notebook_setup() -> None:
    """Deterministic, quiet display settings shared by every notebook.

    - progress bars (tqdm) off, so no timing text lands in the outputs;
    - a fixed matplotlib/seaborn look (figure size, dpi), with mathtext off (a ``$`` in a label
      from the records is shown as typed, see :func:`outcomes.escape.plot_label`); inside IPython, figures inline as PNG
      and a trailing ``;`` honoured also under nbval (see :func:`_semicolon_without_history`);
    - numpy's global random generator seeded (jittered points are drawn the same every run);
    - pandas shows floats with 3 decimals, at most 60 rows, notes in full.
    """
    import matplotlib as mpl
    import seaborn as sns

    os.environ["TQDM_DISABLE"] = "1"
    np.random.seed(0)  # plots that jitter points with numpy's global generator draw the same
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update({"figure.figsize": (7.5, 4.0), "figure.dpi": 90,
                         "savefig.dpi": 90, "figure.autolayout": False,
                         "svg.hashsalt": "outcomes", "path.simplify": True,
                         # labels come from the records: a '$' in one is a dollar, not mathtext
                         "text.parse_math": False})
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_colwidth", 200)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    ip = get_ipython()
    if ip is None or not hasattr(ip, "events"):
        return
    # figures inline as PNG only, also when MPLBACKEND=Agg is set (as `make notebooks` does)
    ip.run_line_magic("matplotlib", "inline")
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png")
    _semicolon_without_history(ip)


def _semicolon_without_history(ip) -> None:
    """Make a trailing ``;`` hide a cell's result also for code run with ``store_history=False``.

    IPython decides on ``;`` by looking at the last cell in its input history, which code run
    without history (as nbval runs every cell) never enters; the result of a plot cell would then
    be shown under nbval but not in Jupyter (ipython/ipython#14162, nbval#194). Recording such
    cells in the parsed-input list gives both the same output.
    """
    if getattr(ip, "_outcomes_semicolon_hook", False):
        return

    def remember(info):
        if not info.store_history:
            ip.history_manager.input_hist_parsed.append(info.raw_cell)

    ip.events.register("pre_run_cell", remember)
    ip._outcomes_semicolon_hook = True


# --------------------------------------------------------------------------------------------
# what the notebooks show (no logic in the notebooks: every table and sentence is built here)


class Text:
    """Markdown text shown as a formatted cell output (and as plain text elsewhere)."""

    def __init__(self, markdown: str):
        self.markdown = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.markdown


#: frequency groups (sessions a month between t0 and the landmark), as in
#: :func:`outcomes.robustness.confounding_by_indication`
FREQUENCY_BINS = (0.0, 0.5, 1.0, float("inf"))


FREQUENCY_LABELS = ("under 0.5 a month", "0.5 to 1 a month", "1 or more a month")


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
    unit = _consistency_terms().get(term)
    return f"{term.replace('_', ' ')} ({unit})" if unit else str(term)


def frequency_group(sessions_per_month: pd.Series) -> pd.Series:
    """Frequency group of each patient: ``under 0.5``, ``0.5 to 1``, ``1 or more`` a month."""
    return pd.cut(sessions_per_month, list(FREQUENCY_BINS), right=False,
                  labels=list(FREQUENCY_LABELS))


def _fmt(x, digits: int = 2) -> str:
    if x is None or pd.isna(x):
        return "–"
    text = f"{x:.{digits}f}"
    if float(text) == 0:  # no "−0.00"
        text = f"{0:.{digits}f}"
    return text.replace("-", "−")


def _p(p) -> str:
    if p is None or pd.isna(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def present(result: pd.DataFrame, *, digits: int = 2, note: bool = False) -> pd.DataFrame:
    """A tidy result table (``model, term, estimate, ci_low, ci_high, p_value, n``) for reading.

    Returns one row per result: ``model``, ``what`` (the term in words), ``estimate (95% CI)``,
    ``p`` and ``patients`` (suppressed below 5), plus ``note`` when asked.
    """
    from ..privacy import suppress_count

    rows = []
    for r in result.to_dict(orient="records"):
        est = r.get("estimate")
        text = "not estimable" if est is None or pd.isna(est) else (
            f"{_fmt(est, digits)} ({_fmt(r.get('ci_low'), digits)} to "
            f"{_fmt(r.get('ci_high'), digits)})")
        n = r.get("n")
        row = {"model": _MODEL_NAMES.get(r.get("model"), r.get("model")),
               "what": _term_name(r.get("term")),
               "estimate (95% CI)": text, "p": _p(r.get("p_value")),
               "patients": suppress_count(int(n)) if n is not None and not pd.isna(n) else ""}
        if "measure" in r and result["measure"].nunique() > 1:
            row = {"measure": r["measure"], **row}
        if note:
            row["note"] = r.get("note") or ""
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.set_index([c for c in ("measure", "model") if c in out]) if len(out) else out


def _suppress(table: pd.DataFrame, **kwargs) -> pd.DataFrame:
    from ..privacy import suppress_small_counts

    return suppress_small_counts(table, **kwargs)


# ---- notebook 01: data check


def _table_of(file: str) -> str:
    stem = Path(str(file)).stem.lower()
    for name in ("sessions", "assessments", "patients"):
        if name in stem:
            return name
    return stem


def attendance_metrics(records, *, landmark_days: int = 182, protocol=None,
                       permissible_gap: int = 45) -> pd.DataFrame:
    """Attendance of every patient over their first ``landmark_days`` days.

    The window is ``[t0, min(t0 + landmark_days, data end + 1 day))`` (data end = last session
    date) — the same period for everyone, whether or not they were rated at the landmark.
    Columns of :func:`outcomes.attendance.patient_metrics` plus ``frequency`` (group).
    """
    from ..tables.attendance import patient_metrics

    s = records.sessions
    t0 = s.groupby("patient_id")["date"].min()
    end_of_data = s["date"].max() + pd.Timedelta(days=1)
    end = (t0 + pd.Timedelta(days=int(landmark_days))).clip(upper=end_of_data)
    windows = pd.DataFrame({"patient_id": t0.index.astype("str"), "start": t0.to_numpy(),
                            "end": end.to_numpy()})
    kwargs = {"windows": windows, "permissible_gap": permissible_gap}
    if protocol is not None:
        kwargs["protocol"] = protocol
    m = patient_metrics(s, **kwargs)
    m["frequency"] = frequency_group(m["sessions_per_month"])
    return m


_COHORT_CATEGORICAL = ("sex", "skin_type", "smoker", "sun_exposure", "skincare", "concern",
                       "clinic_id")


_COHORT_NUMERIC = ("age", "sleep_hours")


_COHORT_LABELS = {"age": "age (years)", "sex": "sex", "skin_type": "skin type (Fitzpatrick)",
                  "smoker": "smoking", "sun_exposure": "sun exposure",
                  "sleep_hours": "sleep (hours)", "skincare": "home skincare",
                  "concern": "pore concern", "clinic_id": "clinic", "baseline": "baseline grade"}


def cohort_table(records, *, measure: str = "pore", landmark_days: int = 182) -> pd.DataFrame:
    """Patients' characteristics by frequency group (tableone), counts below 5 suppressed.

    Frequency group from :func:`attendance_metrics`; ``baseline`` is the patient's baseline rating
    of ``measure`` (:func:`outcomes.ratings.landmark_ratings`). Categorical rows show n (%), numeric
    rows mean (SD); ``Missing`` counts missing values. A count from 1 to 4 shows as ``<5`` and a
    second count of the same variable and group is hidden when it would reveal it by subtraction.
    """
    from tableone import TableOne


    m = attendance_metrics(records, landmark_days=landmark_days)[["patient_id", "frequency"]]
    base = _ratings(records, measure, landmark_days)[
        ["patient_id", "baseline"]]
    data = m.merge(records.patients, on="patient_id", how="left").merge(
        base, on="patient_id", how="left")
    categorical = [c for c in _COHORT_CATEGORICAL
                   if c in data and data[c].notna().any() and data[c].nunique() > 1]
    numeric = [c for c in (*_COHORT_NUMERIC, "baseline") if c in data and data[c].notna().any()]
    for c in categorical:
        data[c] = data[c].astype("str").where(data[c].notna())
    data["frequency"] = data["frequency"].astype("str")
    order = {"frequency": [g for g in FREQUENCY_LABELS if g in set(data["frequency"])]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = TableOne(data, columns=numeric[:-1] + categorical + numeric[-1:],
                     categorical=categorical, groupby="frequency", order=order,
                     rename={c: _COHORT_LABELS.get(c, c) for c in data}, missing=True,
                     overall=True, pval=False)
    return _suppress_tableone(t.tableone, [_COHORT_LABELS.get(c, c) for c in categorical])


def _suppress_tableone(table: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    from ..privacy import suppress_count, suppress_small_counts

    out = table.copy()
    out.columns = [c[-1] if isinstance(c, tuple) else c for c in out.columns]
    groups = [c for c in out.columns if c != "Missing"]
    first = out.index.get_level_values(0)
    is_n = first == "n"
    out.loc[is_n, groups] = out.loc[is_n, groups].map(
        lambda v: suppress_count(int(v)) if str(v).strip().isdigit() else v)
    if "Missing" in out:
        out["Missing"] = out["Missing"].map(
            lambda v: suppress_count(int(float(v))) if str(v).strip().replace(".0", "").isdigit()
            else v)
    for var in categorical:
        rows = (first == var) | first.str.startswith(f"{var}, ")
        if not rows.any():
            continue
        block = out.loc[rows, groups]
        counts = block.map(lambda v: int(str(v).split("(")[0]) if str(v).strip() else 0)
        shown = suppress_small_counts(counts, count_columns=groups)
        out.loc[rows, groups] = block.where(shown == counts.astype("str"), shown)
    return out


def followup_table(records, *, measure: str = "pore", landmark_days: int = 182,
                   window_days: int = 45) -> pd.DataFrame:
    """Patients with a baseline and a landmark rating, and the others by reason (suppressed)."""
    from ..tables.ratings import exclusions

    table = _ratings(records, measure, landmark_days, window_days=window_days)
    excl = exclusions(table)
    rows = pd.concat([pd.DataFrame({"reason": ["included (baseline and landmark)"],
                                    "n": [int((table["status"] == "included").sum())]}),
                      excl.assign(reason="left out: " + excl["reason"])], ignore_index=True)
    rows["% of patients"] = 100 * rows["n"] / max(len(table), 1)
    rows = rows.rename(columns={"n": "patients"}).set_index("reason")
    return _suppress(rows, count_columns=["patients"],
                     percent_columns={"% of patients": "patients"}, decimals=0)


def followup_plot(records, *, measure: str = "pore", landmark_days: int = 182,
                  window_days: int = 45, ax=None):
    """Histogram of the days from the first session to the landmark rating (included patients)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = _ratings(records, measure, landmark_days, window_days=window_days)
    table = table[table["status"] == "included"]
    if ax is None:
        _, ax = plt.subplots()
    sns.histplot(data=table, x="followup_days", binwidth=7, ax=ax)
    ax.axvline(landmark_days, color="black", ls="--", lw=1)
    ax.set(xlabel="days from first session to landmark rating", ylabel="patients",
           title=f"Landmark ratings (target day {landmark_days} ± {window_days})")
    return ax


# ---- notebook 02: attendance

_METRIC_NAMES = {"n_sessions": "sessions", "sessions_per_month": "sessions a month",
                 "interval_cv": "interval CV", "longest_gap": "longest gap (days)",
                 "lapses": "lapses (gaps > 45 days)", "coverage": "coverage (share of days)",
                 "adherence": "on-schedule adherence"}


def describe_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """Median, quartiles and mean of each attendance metric, with the patients it is known for."""
    from ..privacy import suppress_count

    rows = []
    for col, name in _METRIC_NAMES.items():
        if col not in metrics:
            continue
        x = metrics[col].astype("float64").dropna()
        q = x.quantile([0.25, 0.5, 0.75]) if len(x) else pd.Series([float("nan")] * 3)
        rows.append({"metric": name, "patients": suppress_count(len(x)),
                     "median": q.iloc[1], "25%": q.iloc[0], "75%": q.iloc[2], "mean": x.mean()})
    return pd.DataFrame(rows).set_index("metric").round(2)


def adherence_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """By frequency group: patients, loading completed, on schedule (≥ 80 % of due sessions on
    time), median adherence and coverage. Counts below 5 suppressed (and their percentages)."""
    m = metrics.copy()
    if "frequency" not in m:
        m["frequency"] = frequency_group(m["sessions_per_month"])
    m["maintenance"] = m["phase_reached"].astype("str") == "maintenance"
    m["on_schedule"] = m["adherence"] >= 0.8
    g = m.groupby("frequency", observed=False)
    out = pd.DataFrame({
        "patients": g.size(),
        "loading completed": g["maintenance"].sum().astype("int64"),
        "on schedule": g["on_schedule"].sum().astype("int64"),
        "median adherence": g["adherence"].median().round(2),
        "median coverage": g["coverage"].median().round(2)})
    total = pd.DataFrame({"patients": [len(m)], "loading completed": [int(m["maintenance"].sum())],
                          "on schedule": [int(m["on_schedule"].sum())],
                          "median adherence": [round(m["adherence"].median(), 2)],
                          "median coverage": [round(m["coverage"].median(), 2)]}, index=["All"])
    out = pd.concat([out, total])
    out.index = out.index.astype("str")
    out.index.name = "frequency"
    out.insert(2, "% loading completed", 100 * out["loading completed"] / out["patients"])
    out.insert(4, "% on schedule", 100 * out["on schedule"] / out["patients"])
    return _suppress(out, count_columns=["patients", "loading completed", "on schedule"],
                     percent_columns={"% loading completed": "loading completed",
                                      "% on schedule": "on schedule"}, decimals=0)


def protocol_choices() -> dict:
    """Protocols offered in notebook 02: the clinic's, and three alternatives."""
    from ..protocols import Protocol

    return {"clinic: 3 monthly, then every 3 months": Protocol(),
            "6 monthly, then every 3 months": Protocol(loading_sessions=6),
            "3 monthly, then every 2 months": Protocol(maintenance_interval=61,
                                                       maintenance_tolerance=14),
            "monthly throughout": Protocol(loading_sessions=1, loading_interval=28,
                                           maintenance_interval=28, maintenance_tolerance=7)}


def attendance_view(records, *, landmark_days: int = 182, protocol: str | None = None):
    """Notebook 02's explorer view: adherence by frequency group and the frequency histogram."""
    from .plots import frequency_distribution

    choices = protocol_choices()
    if protocol is not None and protocol not in choices:
        raise RecordsError(f"The value for `protocol` must be one of {list(choices)}, but "
                           f"{protocol!r} was passed.")
    metrics = attendance_metrics(records, landmark_days=landmark_days,
                                 protocol=choices.get(protocol))
    ax = frequency_distribution(metrics)
    ax.set_title(f"Sessions a month over the first {landmark_days} days")
    return adherence_table(metrics), ax


# ---- notebook 03: outcomes and attendance


_ANALYSES: dict = {}


def _as_analysis(records, **settings):
    """The :class:`~outcomes.analysis.Analysis` of these records and settings (a
    :class:`~outcomes.records.Records` or an Analysis may be passed). Interim: kept while the
    views move to taking an Analysis from the notebook (issue 21)."""
    from ..analysis import Analysis

    if isinstance(records, Analysis):
        base = records
        changes = {k: v for k, v in settings.items() if getattr(base.settings, k) != v}
        return base.with_settings(**changes) if changes else base
    key = (id(records), tuple(sorted((k, repr(v)) for k, v in settings.items())))
    if key not in _ANALYSES or _ANALYSES[key].records is not records:
        if len(_ANALYSES) > 16:
            _ANALYSES.clear()
        _ANALYSES[key] = Analysis(records, **settings)
    return _ANALYSES[key]


def _records(obj):
    """The Records behind a Records or an Analysis."""
    return getattr(obj, "records", obj)


def _ratings(records, measure, landmark_days=182, **kw):
    """Landmark ratings of every patient, from the cached analysis."""
    return _as_analysis(records, measure=measure, landmark_days=landmark_days, **kw).ratings


def _analysis(records, measure, landmark_days=182, region="face", rater="clinician"):
    """The analysis table, from the cached analysis (built once per records and settings)."""
    return _as_analysis(records, measure=measure, landmark_days=landmark_days, region=region,
                        rater=rater).table


def _landmark_effects(records, measure, landmark_days=182, region="face", rater="clinician",
                      consistency=True):
    from ..estimate.effects import adjusted_effect, consistency_effect, naive_effect

    with _quiet():  # the models explain what they could not estimate in `note`
        table = _analysis(records, measure, landmark_days, region, rater)
        parts = [naive_effect(table), adjusted_effect(table)]
        if consistency:
            parts.append(consistency_effect(table))
    out = pd.concat(parts, ignore_index=True)
    keep = out["term"].isin(["sessions_per_month", *_consistency_terms()])
    return out[keep].reset_index(drop=True), table


def _consistency_terms() -> dict[str, str]:
    from ..estimate.effects import CONSISTENCY_METRICS

    return dict(CONSISTENCY_METRICS)


def landmark_effects(records, *, measure: str = "pore", landmark_days: int = 182,
                     region: str = "face", rater: str = "clinician",
                     consistency: bool = True) -> pd.DataFrame:
    """Naive, adjusted and (optionally) adjusted+consistency rows of frequency (tidy results of
    :mod:`outcomes.models`, terms ``sessions_per_month`` and the consistency metric)."""
    return _landmark_effects(records, measure, landmark_days, region, rater, consistency)[0]


def effects_view(records, *, measure: str = "pore", region: str = "face",
                 rater: str = "clinician", landmark_days: int = 182) -> pd.DataFrame:
    """Naive vs adjusted effect of +1 session a month (and of regularity), for reading."""
    return present(landmark_effects(records, measure=measure, landmark_days=landmark_days,
                                    region=region, rater=rater))


def _describe(records, row, table, landmark_days):
    from .effects import describe_effect

    # the sentence is markdown: the measure's label (from dataset.toml) is escaped for it
    return describe_effect(row, _markdown_label(records.measures[table.attrs["measure"]]),
                           table.attrs.get("covariates", ()), landmark_days=landmark_days)


def _markdown_label(m):
    import dataclasses

    return dataclasses.replace(m, label=escape.markdown(m.label))


def effect_sentence(records, *, measure: str = "pore", landmark_days: int = 182) -> Text:
    """The adjusted and the naive estimate in plain words."""
    res, table = _landmark_effects(records, measure, landmark_days, consistency=False)
    lines = [f"- **{name}:** {_describe(records, row, table, landmark_days)}"
             for name, row in (("Adjusted", res.iloc[1]), ("Naive", res.iloc[0]))]
    return Text("\n".join(lines))


def dose_response_plot(records, *, measure: str = "pore", landmark_days: int = 182, ax=None):
    """Adjusted dose–response curve (spline) with its 95 % band and the patients' rug."""
    from ..estimate.dose_response import dose_response
    from .robustness import dose_response_plot as draw

    with _quiet():
        table = _analysis(records, measure, landmark_days)
        ax = draw(dose_response(table), table=table, ax=ax)
    m = records.measures[measure]
    ax.set_title(escape.plot_label(f"{m.label.split(' (')[0]}: improvement at day "
                                   f"{landmark_days}"))
    return ax


def dose_response_knee(table: pd.DataFrame) -> float:
    """Where to compare the slopes of the dose–response curve: one session a month when the
    records reach both sides of it (5th–95th percentile), else their median rounded to 0.05."""
    x = table["sessions_per_month"].dropna()
    low, high = x.quantile(0.05), x.quantile(0.95)
    return 1.0 if low < 1.0 < high else round(float(x.median()) * 20) / 20


def _slopes(table: pd.DataFrame) -> pd.DataFrame:
    from ..estimate.dose_response import dose_response_slopes

    return dose_response_slopes(table, knee=dose_response_knee(table))


def dose_response_table(records, *, measure: str = "pore", landmark_days: int = 182
                        ) -> pd.DataFrame:
    """Average slope of the dose–response curve below and above the knee
    (:func:`dose_response_knee`): is each extra session worth less beyond it?"""
    return present(_slopes(_analysis(records, measure, landmark_days)))


def measures_table(records, *, landmark_days: int = 182) -> pd.DataFrame:
    """Naive and adjusted effect of +1 session a month for every measure with ratings."""
    a = records.assessments
    parts = [landmark_effects(records, measure=m, landmark_days=landmark_days, consistency=False)
             for m in records.measures if m in a and a[m].notna().any()]
    return present(pd.concat(parts, ignore_index=True))


def _adjusted_or_note(records, measure, landmark_days, region="face", rater="clinician"):
    from ..estimate.effects import adjusted_effect

    try:
        table = _analysis(records, measure, landmark_days, region, rater)
        row = adjusted_effect(table).iloc[[0]]
    except RecordsError as exc:
        return pd.DataFrame({"measure": [measure], "model": ["adjusted"],
                             "term": ["sessions_per_month"], "n": [0], "note": [str(exc)]}), None
    return row, table


def regions_table(records, *, measure: str = "pore", landmark_days: int = 182) -> pd.DataFrame:
    """Adjusted effect of +1 session a month on each region's rating (regions with ratings)."""
    from ..records.contract import CATEGORIES

    REGIONS = CATEGORIES["region"]
    present_regions = set(records.assessments["region"].astype("str"))
    rows = []
    for region in [r for r in REGIONS if r in present_regions]:
        row, _ = _adjusted_or_note(records, measure, landmark_days, region=region)
        rows.append(row.assign(region=region))
    out = pd.concat(rows, ignore_index=True)
    shown = present(out).reset_index()
    shown.insert(0, "region", out["region"].to_numpy())
    return shown.drop(columns=["model", "what"]).set_index("region")


def raters_table(records, *, measure: str = "pore", landmark_days: int = 182) -> pd.DataFrame:
    """Adjusted effect per rater, and how each rater's improvements agree with the clinician's.

    ``agreement with clinician`` is the Pearson correlation of the improvement rated by this rater
    and by the clinician, over patients included under both (with its n).
    """
    from ..records.contract import CATEGORIES

    RATERS = CATEGORIES["rater"]
    present_raters = set(records.assessments["rater"].astype("str"))
    rows, tables = [], {}
    for rater in [r for r in RATERS if r in present_raters]:
        row, table = _adjusted_or_note(records, measure, landmark_days, rater=rater)
        rows.append(row.assign(rater=rater))
        tables[rater] = table
    out = pd.concat(rows, ignore_index=True)
    shown = present(out).reset_index()
    shown.insert(0, "rater", out["rater"].to_numpy())
    shown = shown.drop(columns=["model", "what"]).set_index("rater")
    agreement = []
    for rater in shown.index:
        ref, other = tables.get("clinician"), tables.get(rater)
        if rater == "clinician" or ref is None or other is None:
            agreement.append("–")
            continue
        both = ref[["patient_id", "improvement"]].merge(
            other[["patient_id", "improvement"]], on="patient_id")
        r = both["improvement_x"].corr(both["improvement_y"]) if len(both) >= 5 else float("nan")
        agreement.append(f"r = {_fmt(r)} (n = {len(both)})" if len(both) >= 5 else
                         "fewer than 5 patients rated by both")
    shown["agreement with clinician"] = agreement
    return shown


# ---- notebook 05: robustness


def robustness_table(result: pd.DataFrame, *, count_columns=("n", "n_interim")) -> pd.DataFrame:
    """A robustness result for reading: numbers rounded, patient counts below 5 suppressed."""
    out = result.copy()
    out.attrs = {}
    drop = [c for c in ("measure", "std_error") if c in out]
    out = out.drop(columns=drop)
    for c in out.columns:
        if c not in count_columns and pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(3)
    if "p_value" in out:
        out["p_value"] = out["p_value"].map(_p)
    counts = [c for c in count_columns if c in out]
    for c in counts:  # float: missing counts stay NaN (shown empty)
        out[c] = out[c].astype("float64")
    return _suppress(out, count_columns=counts, percent_columns=[]) if counts else out


# ---- the clinic summary (older views, kept for notebooks 01–05 and tests)


def _plural(n: int, word: str) -> str:
    from ..privacy import suppress_count

    return f"{suppress_count(n)} {word}{'' if n == 1 else 's'}"


def records_overview(records, *, measure: str = "pore", landmark_days: int = 182) -> Text:
    """The records in three sentences: patients, rows set aside, patients analysed."""

    table = _ratings(records, measure, landmark_days)
    n_all, n_in = len(table), int((table["status"] == "included").sum())
    src = (f"**{escape.markdown(records.source.name)}**" if getattr(records, "source", None)
           else "the records")
    m = records.measures[measure]
    lines = [
        (f"- {src}: {_plural(records.sessions['patient_id'].nunique(), 'patient')} with "
        f"{_plural(len(records.sessions), 'session')} and "
        f"{_plural(len(records.assessments), 'rating occasion')}."),
        (f"- {_plural(records.n_quarantined, 'input row')} could not be used and "
         f"{'was' if records.n_quarantined == 1 else 'were'} set aside (notebook 01 lists them)."
         if records.n_quarantined else "- Every input row could be used (none set aside)."),
        (f"- Measure: **{escape.markdown(m.label)}**, from {m.min:g} to {m.max:g}, "
         f"{m.better} is better"
         + (" (grades: 0 none, 1 mild, 2 moderate, 3 marked, 4 severe)"
            if (m.min, m.max, m.better) == (0, 4, "lower") else "")
         + "; an improvement is counted so that positive = better."),
        (f"- {_plural(n_in, 'patient')} of {_plural(n_all, 'patient').split(' ')[0]} had a rating "
        f"before their first session and one about {landmark_days} days later (±45 days): "
        "they are the patients the findings are about.")]
    return Text("\n".join(lines))


@contextlib.contextmanager
def _quiet():
    """Collect the warnings of a computation instead of printing them (they are summarised in
    plain words where it matters, never shown as raw warnings in a notebook or the report)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _unsure(row) -> str:
    if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]) or row["ci_low"] <= 0 <= row["ci_high"]:
        return " The interval includes zero, so the records are also compatible with no difference."
    return ""


#: below this many analysed patients the summary says the estimates are very uncertain
FEW_PATIENTS = 50


def _ci(row, digits: int = 2) -> str:
    return f"{_fmt(row['estimate'], digits)} (95% CI {_fmt(row['ci_low'], digits)} to " \
           f"{_fmt(row['ci_high'], digits)})"


def key_findings(records, *, measure: str = "pore", landmark_days: int = 182) -> Text:
    """The findings in plain language, every estimate with its 95 % CI."""
    from ..estimate.effects import adjusted_effect, consistency_effect, naive_effect
    from ..estimate.weighting import ipw_effect

    with _quiet() as caught:
        table = _analysis(records, measure, landmark_days)
        out = _findings(records, table, landmark_days, adjusted_effect, consistency_effect,
                        naive_effect, ipw_effect)
    if len(table) < FEW_PATIENTS:
        out.insert(0, f"**Few patients.** Only {_plural(len(table), 'patient')} could be "
                      "analysed: the estimates below are very uncertain and may change a lot "
                      "with more records.")
    if caught:
        out.append("**Technical note.** Some models could not use every adjustment with these "
                   "records (for example a covariate with too few patients in a group); the "
                   "numbers above remain valid but are less precise.")
    return Text("\n\n".join(f"{i}. {line}" for i, line in enumerate(out, 1)))


def _findings(records, table, landmark_days, adjusted_effect, consistency_effect, naive_effect,
              ipw_effect) -> list[str]:
    m = records.measures[table.attrs["measure"]]
    adj = adjusted_effect(table).iloc[0]
    naive = naive_effect(table).iloc[0]
    cons = consistency_effect(table)
    cons = cons[cons["term"].isin(list(_consistency_terms()))]
    out = [f"**How often.** {_describe(records, adj, table, landmark_days)}",
           f"**The raw comparison.** {_describe(records, naive, table, landmark_days)}"]
    if len(cons):
        out.append(f"**How regularly.** {_regularity_sentence(cons.iloc[0])}")
    try:
        ipw = ipw_effect(table, exposure="regular", measure=m).iloc[0]
        if pd.notna(ipw["estimate"]):
            out.append(f"**Regular attenders** (sessions covering at least 80% of the days) "
                       f"improved by {_ci(ipw)} grades more than the others (negative = less), "
                       f"comparing like with like by weighting (IPW).{_unsure(ipw)}")
    except RecordsError:
        pass
    try:
        knee = dose_response_knee(table)
        slopes = _slopes(table)
        below, above, diff = slopes.iloc[0], slopes.iloc[1], slopes.iloc[2]
        flat = diff["ci_high"] < 0
        out.append(f"**Does more always help?** Up to {knee:g} sessions a month, each extra "
                   f"session a month went with {_ci(below)} grades more improvement; beyond "
                   f"{knee:g}, with {_ci(above)}. "
                   + ("The benefit flattens: extra sessions beyond that rate add less."
                      if flat else "The records cannot tell whether the benefit flattens."))
    except RecordsError:
        pass
    resp = table["responder"].astype("float64").mean()
    mic = m.minimal_important_change
    out.append(f"**Responders.** {100 * resp:.0f}% of the patients analysed improved by at least "
               f"{mic:g} grade{'s' if mic != 1 else ''} (the smallest change that matters) by "
               f"day {landmark_days}.")
    return out


#: consistency metrics for which a higher value means *more* regular attendance
_MORE_REGULAR_IS_HIGHER = {"coverage", "adherence"}


_METRIC_WORDS = {"interval_cv": "the interval CV (the spread of the gaps between sessions "
                                "relative to their mean; 0 = perfectly even)",
                 "coverage": "coverage (the share of days covered by a session in the last month)",
                 "adherence": "on-schedule adherence (the share of sessions due under the clinic's "
                              "protocol that came on time)",
                 "longest_gap": "the longest gap between sessions",
                 "lapses": "lapses (gaps longer than 45 days)"}


def _regularity_sentence(row) -> str:
    """Plain words for the consistency coefficient of the adjusted+consistency model."""
    term = row["term"]
    if pd.isna(row["estimate"]):
        return ("The records are too few to separate how regularly from how often patients "
                "came.")
    unit = _consistency_terms().get(term, "per unit").replace("per ", "each ", 1)
    clear = not (row["ci_low"] <= 0 <= row["ci_high"])
    regular_helps = (row["estimate"] > 0) == (term in _MORE_REGULAR_IS_HIGHER)
    verdict = ("The records cannot tell whether regular attendance matters beyond how often "
               "patients come." if not clear else
               "More regular attendance went with more improvement, beyond how often patients "
               "came." if regular_helps else
               "More regular attendance went with less improvement, which is unexpected: "
               "look at notebook 05 before drawing conclusions.")
    return (f"The regularity of visits is measured by {_METRIC_WORDS.get(term, term)}. At the "
            f"same number of sessions a month, {unit} went with {_ci(row, 3)} grades more "
            f"improvement. {verdict}")


def caveats(records, *, measure: str = "pore", landmark_days: int = 182) -> Text:
    """What the findings cannot say, with the numbers from these records."""
    from ..estimate.effects import adjusted_effect
    from ..estimate.robustness import adjusted_e_value
    from ..privacy import suppress_count

    table = _ratings(records, measure, landmark_days)
    n_out = int((table["status"] != "included").sum())
    lines = [("- **Records, not a trial.** Nobody was assigned at random to come more or less "
             "often, so these are associations adjusted for what the records contain (baseline "
             "grade, age, smoking, sun exposure, skin type…). Anything else that differs between "
             "frequent and infrequent patients — home skincare not recorded, motivation — can "
             "still bias them."),
             ("- **How and how often go together.** Patients whose sessions were bunched or "
              "interrupted tend both to come less often and to get less from each session, and "
              "patients who see no change tend to stop coming. Both make frequency look more "
              "helpful than it is, and adjusting for the starting grade does not remove them: in "
              "simulated clinics where the truth is known, the adjusted effect came out above it "
              "(notebook 05). Read it as an upper estimate, with the regularity finding as a check.")]
    try:
        with _quiet():
            table_a = _analysis(records, measure, landmark_days)
            adj = adjusted_effect(table_a).iloc[0]
            ev = adjusted_e_value(table_a).iloc[0]
        if _unsure(adj) or pd.isna(ev["e_value"]):
            lines.append("- **No clear effect to explain away.** The adjusted effect's confidence "
                         "interval includes zero, so the records cannot rule out that frequency "
                         "makes no difference.")
        else:
            lines.append(f"- **How strong would a hidden factor need to be?** To explain the "
                         f"adjusted effect away, an unrecorded factor would have to be linked to "
                         f"both frequency and improvement by a risk ratio of about "
                         f"{ev['e_value']:.1f} each (E-value; {ev['e_value_ci']:.1f} to move the "
                         "confidence interval to include no effect). 1 means no hidden factor is "
                         "needed; 2 or more is a strong factor.")
    except (RecordsError, KeyError):
        pass
    lines.append(f"- **Patients left out.** {suppress_count(n_out)} of {len(table)} patients had "
                 "no rating before the first session or none near the landmark, and are not in "
                 "the estimates.")
    try:
        with _quiet():
            drop = _as_analysis(records, measure=measure, landmark_days=landmark_days).dropout()
        diff = drop[drop["group"] == "stopped - reached"].iloc[0]
        adj = drop[drop["group"] == "stopped - reached (adjusted)"]
        if pd.notna(diff.get("interim_mean")):
            raw = diff.rename({"interim_mean": "estimate"})
            text = (f"  By their last rating before the landmark, patients who stopped coming had "
                    f"improved {_ci(raw)} grades relative to those who stayed (negative = less).")
            if len(adj) and pd.notna(adj.iloc[0].get("interim_mean")):
                a = adj.iloc[0].rename({"interim_mean": "estimate"})
                worse = a["ci_high"] < 0
                text += (f" For the sessions and time they had had, the difference is {_ci(a)}: "
                         + ("they were responding worse, so the findings describe patients who "
                            "stay and are likely too optimistic for everyone who starts."
                            if worse else "the records do not show that they were responding "
                            "worse to the treatment they had received."))
            lines.append(text)
    except (RecordsError, KeyError, IndexError):
        pass
    lines += [("- **Ratings are judgements.** Grades are given by clinicians who know how often the "
              "patient came; patients' own ratings (notebook 03) are a check."),
              ]
    if records.n_quarantined:
        lines.append(f"- **{suppress_count(records.n_quarantined)} input rows were set aside** as "
                     "unusable (notebook 01); fixing them at the source may change the numbers.")
    return Text("\n".join(lines))


# --------------------------------------------------------------------------------------------
# notebooks 01–05 for a clinic lead: tables in words (no index column, "—" where there is no
# value, text never cut), sentences that say which way a difference goes, figures labelled in words

#: what a table shows where a value does not exist or cannot be estimated
NO_VALUE = "—"


class Table:
    """A table for people: no index column, ``—`` for a missing value, every note in full.

    Parameters
    ----------
    frame : DataFrame
        The rows to show, in order; its index is not shown.
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame.reset_index(drop=True)

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self.frame.to_html(index=False, na_rep=NO_VALUE, border=0, escape=True)

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            return self.frame.to_string(index=False, na_rep=NO_VALUE)

    __str__ = __repr__


def _num(x, digits: int = 2) -> str:
    return NO_VALUE if x is None or pd.isna(x) else _fmt(x, digits)


def _est_ci(est, lo, hi, digits: int = 2) -> str:
    if est is None or pd.isna(est):
        return "not estimable"
    return f"{_fmt(est, digits)} ({_fmt(lo, digits)} to {_fmt(hi, digits)})"


def _which_way(est, lo, hi, *, more: str = "more", less: str = "less", unit: str = "grades",
               digits: int = 2) -> str:
    """``0.31 grades less (95% CI 0.13 to 0.50)`` — a difference in words, no minus signs.

    When the interval crosses zero both ends get their word: ``(95% CI from 0.22 less to 0.14
    more)``.
    """
    def size(v):
        return f"{abs(v):.{digits}f}"

    if est is None or pd.isna(est):
        return "not estimable"
    word = more if est >= 0 else less
    if pd.isna(lo) or pd.isna(hi):
        ci = "no interval"
    elif lo >= 0:
        ci = f"95% CI {size(lo)} to {size(hi)}"
    elif hi <= 0:
        ci = f"95% CI {size(hi)} to {size(lo)}"
    else:
        ci = f"95% CI from {size(lo)} {less} to {size(hi)} {more}"
    return f"{size(est)} {unit} {word} ({ci})"


def _patients(n) -> str:
    from ..privacy import suppress_count

    return NO_VALUE if n is None or pd.isna(n) else suppress_count(int(n))


# ---- notebook 01: counts of rows (not people: never suppressed)


def rows_table(records) -> Table:
    """Rows read, used and set aside per file. Rows are not people, so no count is suppressed."""
    rej = records.rejects
    aside = (rej.assign(table=rej["file"].map(_table_of)).drop_duplicates(["file", "line"])
             .groupby("table").size() if not rej.empty else pd.Series(dtype="int64"))
    rows = []
    for name, loaded in records.loaded_rows.items():
        read = records.input_rows.get(name)
        if read is None and loaded == 0:
            continue
        rows.append({"table": name, "rows read": int(read if read is not None else loaded),
                     "rows used": int(loaded), "rows set aside": int(aside.get(name, 0))})
    return Table(pd.DataFrame(rows))


def set_aside_reasons(records) -> Table | Text:
    """Rows set aside, counted by file and reason (rows, not people: counts shown as they are)."""
    rej = records.rejects
    if rej.empty:
        return Text("No row was set aside: every row of every file could be used.")
    counts = (rej.groupby(["file", "reason"], sort=True).size().rename("rows set aside")
              .reset_index().sort_values(["file", "rows set aside"], ascending=[True, False]))
    return Table(counts)


def set_aside_examples(records, *, n: int = 8) -> Table | Text:
    """The first ``n`` problems as a spreadsheet shows them: file, line, column, value, reason."""
    rej = records.rejects
    if rej.empty:
        return Text("No row was set aside, so there is nothing to correct.")
    out = rej.sort_values(["file", "line"], kind="stable").head(n)
    out = out[["file", "line", "column", "value", "reason"]].astype({"value": "str"})
    return Table(out.rename(columns={"line": "line in the file", "value": "value as written"}))


# ---- notebook 03: the dose–response curve in words


def dose_response_words(records, *, measure: str = "pore", landmark_days: int = 182) -> Text:
    """What the dose–response curve shows, from its average slopes below and above the knee."""
    table = _analysis(records, measure, landmark_days)
    knee = dose_response_knee(table)
    slopes = _slopes(table)
    below, above, diff = (slopes.iloc[i] for i in range(3))
    label = records.measures[measure].label.split(" (")[0].lower()
    first = _which_way(below["estimate"], below["ci_low"], below["ci_high"],
                       more=f"more {label} improvement", less=f"less {label} improvement")
    text = (f"Up to {knee:g} sessions a month, each extra session a month went with {first}; "
            f"beyond {knee:g}, with "
            f"{_which_way(above['estimate'], above['ci_low'], above['ci_high'])}. ")
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
    from ..estimate.dose_response import dose_response

    with _quiet():
        curve = dose_response(table)
    y = curve.loc[curve["sessions_per_month"] >= knee, "estimate"].to_numpy(dtype=float)
    if len(y) < 3:
        return False
    low = int(np.argmin(y))
    return 0 < low < len(y) - 1 and y[-1] - y[low] > by


# ---- notebook 04: the traps, each in one figure and one table in words


def followup_words(result: pd.DataFrame) -> Table:
    """Trap 1 (:func:`outcomes.robustness.followup_bias`) in words."""
    names = {"all follow-up": "every session ever had, improvement at the last rating",
             "landmark": "sessions in the first six months, improvement at six months"}
    return Table(pd.DataFrame({
        "sessions counted": result["model"].map(lambda m: names.get(m, m)),
        "extra improvement per session, grades (95% CI)": [
            _est_ci(r.estimate, r.ci_low, r.ci_high) for r in result.itertuples()],
        "patients": result["n"].map(_patients),
        "average follow-up (days)": result.get("mean_followup_days",
                                               pd.Series(np.nan, result.index)).map(
            lambda v: _num(v, 0)),
        "how closely sessions follow time watched (0 to 1)": result.get(
            "corr_sessions_followup", pd.Series(np.nan, result.index)).map(_num)}))


def regression_to_mean_words(result: pd.DataFrame) -> Table:
    """Trap 2 (:func:`outcomes.robustness.regression_to_mean`) in words."""
    rows = []
    for r in result.to_dict(orient="records"):
        if r["model"] == "change vs baseline":
            what = "each grade worse at the start"
            est = _which_way(-r["estimate"], -r["ci_high"], -r["ci_low"], more="larger fall",
                             less="smaller fall")
        else:
            what = ("+1 session a month, starting grade ignored" if r["model"] == "change score"
                    else "+1 session a month, at the same starting grade")
            est = _which_way(r["estimate"], r["ci_low"], r["ci_high"],
                             more="more improvement", less="less improvement")
        rows.append({"comparison": what, "change in grade at six months (95% CI)": est,
                     "patients": _patients(r.get("n"))})
    return Table(pd.DataFrame(rows))


def indication_words(result: pd.DataFrame) -> Table:
    """Trap 3 (:func:`outcomes.robustness.confounding_by_indication`) in words."""
    groups = result[result["group"] != "trend"]
    out = pd.DataFrame({
        "sessions a month": groups["group"].str.replace("/month", " a month", regex=False)
        .str.replace(">=", "1 or more", regex=False).str.replace("< 0.5", "under 0.5",
                                                                  regex=False)
        .str.replace("1 or more 1", "1 or more", regex=False),
        "patients": groups["n"].map(_patients),
        "average starting grade (95% CI)": [_est_ci(r.baseline_mean, r.ci_low, r.ci_high)
                                            for r in groups.itertuples()],
        "average age": groups.get("age_mean", pd.Series(np.nan, groups.index)).map(
            lambda v: _num(v, 0))})
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
    return Text(f"Across all patients, {verdict} (rank correlation {_fmt(rho)}, p {_p(p)}: "
                "0 = no link, 1 = the more sessions, always the worse the start).")


_BALANCE_NAMES = {**_COHORT_LABELS, "baseline": "starting grade", "skin_type": "skin type",
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
    import matplotlib.pyplot as plt
    import seaborn as sns

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
    start = (f"Before weighting the largest difference was {worst_before:.2f} spreads. ")
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
        "improvement at six months (95% CI)": _which_way(
            r["estimate"], r["ci_low"], r["ci_high"], more="more", less="less"),
        "patients": _patients(r.get("n"))}]))


def dropout_words(result: pd.DataFrame) -> Table:
    """Trap 4 (:func:`outcomes.robustness.dropout_comparison`) in words."""
    groups = {"reached landmark": "came back for the six-month rating",
              "stopped": "stopped coming before it",
              "missed rating": "kept coming but missed the rating",
              "not yet due": "records end before it was due"}
    g = result[result["group"].isin(list(groups))]
    return Table(pd.DataFrame({
        "patients who": g["group"].map(groups),
        "patients": g["n"].map(_patients),
        "with a rating in between": g["n_interim"].map(_patients),
        "improvement by their last rating, grades (95% CI)": [
            _est_ci(r.interim_mean, r.ci_low, r.ci_high) for r in g.itertuples()],
        "average sessions": g["sessions_mean"].map(lambda v: _num(v, 1))}))


def dropout_sentence(result: pd.DataFrame) -> Text:
    """Did patients who stopped respond worse? Differences in words, without minus signs."""
    rows = result.set_index("group")
    parts = []
    if "stopped - reached" in rows.index:
        d = rows.loc["stopped - reached"]
        parts.append("By their last rating, patients who stopped coming had improved "
                     f"{_which_way(d['interim_mean'], d['ci_low'], d['ci_high'])} than those who "
                     "came back for the six-month rating.")
    if "stopped - reached (adjusted)" in rows.index:
        a = rows.loc["stopped - reached (adjusted)"]
        if pd.notna(a["interim_mean"]):
            worse = a["ci_high"] < 0
            parts.append("For the sessions and time they had had, the difference is "
                         f"{_which_way(a['interim_mean'], a['ci_low'], a['ci_high'])}: "
                         + ("they were responding worse, so the findings describe patients who "
                            "stay and are too optimistic for everyone who starts." if worse else
                            "so they were not clearly responding worse to the sessions they had; "
                            "they mostly had fewer of them."))
    return Text(" ".join(parts) or "The records are too few to compare those who stopped.")


_SETTING_NAMES = {"landmark_days": "landmark (days)", "window_days": "window (± days)",
                  "permissible_gap": "longest allowed gap (days)", "treatment": "treatment counted",
                  "rater": "rated by"}


_GRID_MODELS = {"adjusted": "+1 session a month (adjusted)",
                "ipw": "regular attender (weighted)", "lapses": "+1 lapse"}


def sensitivity_words(grid: pd.DataFrame, *, model: str = "adjusted") -> Table:
    """The sensitivity grid for one model in words; settings that could not be estimated say why."""
    g = grid[grid["model"] == model] if model in set(grid["model"]) else grid
    return Table(pd.DataFrame({
        "choice": g["setting"].map(lambda s: _SETTING_NAMES.get(s, s)),
        "value": g["value"].astype("str") + np.where(g["primary"], " (used throughout)", ""),
        "extra improvement per session a month (95% CI)": [
            _est_ci(r.estimate, r.ci_low, r.ci_high) for r in g.itertuples()],
        "patients": g["n"].map(_patients),
        "note": g["note"].fillna("").replace("", NO_VALUE) if "note" in g
        else NO_VALUE}))


def estimate_words(result: pd.DataFrame, *, what: str, odds: bool = False) -> Table:
    """One estimate (bootstrap, ordinal model…) as a row in words (its technical note is in
    :func:`detail_table`)."""
    r = result.iloc[0]
    return Table(pd.DataFrame([{
        "what": what,
        ("odds ratio (95% CI)" if odds else "extra improvement, grades (95% CI)"):
            _est_ci(r["estimate"], r["ci_low"], r["ci_high"]),
        "patients": _patients(r.get("n"))}]))


def e_value_words(result: pd.DataFrame) -> Table:
    """The E-value (:func:`outcomes.robustness.adjusted_e_value`) in words."""
    r = result.iloc[0]
    return Table(pd.DataFrame([{
        "to explain away": "the adjusted effect (0 extra improvement)",
        "a hidden factor would need a risk ratio of": _num(r["e_value"], 1)}, {
        "to explain away": "the whole confidence interval (so that it includes 0)",
        "a hidden factor would need a risk ratio of": _num(r["e_value_ci"], 1)}]))


def truth_words(result: pd.DataFrame) -> Table:
    """:func:`outcomes.synthetic.truth_check` in words: the demo's known truth beside the estimates."""
    return Table(pd.DataFrame({
        "demo clinic": result["scenario"], "measure": result["measure"],
        "true effect": result["truth"].map(_num), "naive": result["naive"].map(_num),
        "adjusted (95% CI)": [_est_ci(r.adjusted, r.ci_low, r.ci_high)
                              for r in result.itertuples()],
        "adjusted minus truth": result["bias"].map(_num),
        "CI contains the truth": result["covers"].map({True: "yes", False: "no"}),
        "patients": result["n"].map(_patients)}))


def sensitivity_plot(grid: pd.DataFrame, *, model: str = "adjusted", ax=None):
    """The sensitivity grid as a forest plot labelled in words; dotted: the answer used throughout.

    Settings the records cannot support (no estimate) are left out of the figure and explained in
    :func:`sensitivity_words`.
    """
    import matplotlib.pyplot as plt

    g = grid[(grid["model"] == model) & grid["estimate"].notna()].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 1.2 + 0.3 * len(g)))
    labels = (g["setting"].map(lambda s: _SETTING_NAMES.get(s, s)) + ": "
              + g["value"].astype("str"))
    y = np.arange(len(g))[::-1]
    est = g["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - g["ci_low"].to_numpy(dtype=float),
                     g["ci_high"].to_numpy(dtype=float) - est])
    ax.errorbar(est, y, xerr=err, fmt="o", color="C0", capsize=3)
    ax.set_yticks(y, list(labels))
    ax.set_ylim(-0.6, len(g) - 0.4)
    ax.axvline(0, color="grey", ls="--", lw=1)
    primary = g.loc[g["primary"], "estimate"]
    if len(primary):
        ax.axvline(float(primary.iloc[0]), color="C1", ls=":", lw=1.5)
    ax.set(xlabel="extra improvement per session a month, grades (95% CI)",
           title="The answer under other analysis choices")
    return ax


def detail_table(result: pd.DataFrame) -> Table:
    """A robustness result as computed (for a statistician): rounded, small counts suppressed."""
    out = robustness_table(result).reset_index(drop=True)
    return Table(out.map(lambda v: NO_VALUE if isinstance(v, str) and v.strip() in ("", "–")
                         else v))


# -----------------------------------------------------------------------------------------------
# the schedule comparison (notebook 04 and the summary)
# -----------------------------------------------------------------------------------------------


def _sn(x, digits: int = 2) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", "−")


def _sci(lo, hi, digits: int = 2) -> str:
    return "—" if not np.isfinite(lo) else f"{_sn(lo, digits)} to {_sn(hi, digits)}"


_WORDS = {"clinic_id": "clinic", "sleep_hours": "sleep (hours)", "skin_type": "skin type",
          "sun_exposure": "sun exposure", "smoker": "smoking", "skincare": "home skincare"}


def _words(name: str) -> str:
    for key, word in _WORDS.items():
        name = name.replace(key, word)
    return name


def _labels(c: ScheduleComparison) -> dict[str, str]:
    return dict(c.settings["strategies"])


def schedule_protocol_table(c: ScheduleComparison) -> pd.DataFrame:
    """The emulated trial's protocol (eligibility, time zero, strategies, outcome, estimand,
    analysis), filled from the settings actually used."""
    c = getattr(c, "comparison", c)
    return c.protocol.set_index("element")


def schedule_table(c: ScheduleComparison) -> pd.DataFrame:
    """Means under each schedule and differences from the reference, for reading."""
    c = getattr(c, "comparison", c)
    labels = _labels(c)
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
                f"{_sn(r['estimate'])} ({_sci(r['ci_low'], r['ci_high'])})",
            "check: weighted mean": _sn(r["ipw_estimate"]),
            "plain mean of followers (can mislead)": _sn(r["naive_estimate"]),
        })
    return pd.DataFrame(rows).set_index("schedule")


def schedule_summary(c: ScheduleComparison, measure_label: str | None = None):
    """The comparison in plain sentences (markdown)."""
    c = getattr(c, "comparison", c)
    lines = [f"- {s}" for s in strategy_sentences(c, measure_label)]
    lines += [f"- {n}" for n in c.notes if "settle" not in n]
    return Text("\n".join(lines))


def schedule_followers_table(c: ScheduleComparison) -> pd.DataFrame:
    """How many patients followed each schedule at each step, and what share of the eligible."""
    c = getattr(c, "comparison", c)
    f = c.followers.copy()
    if not len(f):
        return f
    n = int(c.results["n"].iloc[0])
    f["step"] = ["to the review (with a rating)" if s == "review" else f"after session {s}"
                 for s in f["step"]]
    f["share of eligible patients"] = [f"{100 * k / n:.0f}%" if n else "—" for k in f["stayed"]]
    f = f.rename(columns={"strategy": "schedule", "at_risk": "still following",
                          "stayed": "kept to it", "too_early": "came too early",
                          "window_missed": "missed the window"})
    f = f.drop(columns=["share_of_eligible"])
    counts = ["still following", "kept to it", "came too early", "missed the window"]
    shown = suppress_small_counts(f.set_index(["schedule", "step"]), count_columns=counts)
    hidden = shown["kept to it"].astype(str).isin(["<5", "hidden"])
    shown.loc[hidden, "share of eligible patients"] = "hidden"
    return shown


def schedule_weights_table(c: ScheduleComparison) -> pd.DataFrame:
    """How much the weighting leans on a few patients, per schedule."""
    c = getattr(c, "comparison", c)
    w = c.weights
    if not len(w):
        return w
    out = pd.DataFrame({
        "schedule": w["strategy"],
        "patients with an outcome": [suppress_count(int(k)) for k in w["n_outcome"]],
        "largest weight": w["max_weight"].map(lambda v: _sn(v, 1)),
        "average weight": w["mean_weight"].map(lambda v: _sn(v, 1)),
        "as informative as … unweighted patients": w["effective_n"].map(lambda v: _sn(v, 0)),
        "weights capped": w["truncated"].map(lambda v: str(int(v))),
    })
    return out.set_index("schedule")


def schedule_sensitivity_table(c: ScheduleComparison) -> pd.DataFrame:
    """Differences from the reference with the grace windows halved and widened by half."""
    c = getattr(c, "comparison", c)
    s = c.sensitivity
    if not len(s):
        return s
    words = {0.5: "windows halved", 1.0: "as set", 1.5: "windows widened by half"}
    s = s.assign(grace=s["grace"].map(words))
    out = s.pivot(index="contrast", columns="grace", values="estimate")
    out = out[[w for w in words.values() if w in out]].map(_num)
    out.index = [i.replace(" - ", " minus ") for i in out.index]
    out.index.name = "difference"
    return out


def schedule_loss_table(c: ScheduleComparison) -> pd.DataFrame:
    """Who came to the review, by how they were responding before it."""
    c = getattr(c, "comparison", c)
    t = c.loss
    if not len(t):
        return t
    out = pd.DataFrame({"how they were responding": t["interim response"],
                        "patients": t["patients"], "came to the review": t["reviewed"]})
    out = suppress_small_counts(out.set_index("how they were responding"),
                                count_columns=["patients", "came to the review"])
    share = [f"{100 * s:.0f}%" for s in t["share reviewed"]]
    out["share"] = [("hidden" if str(a) in ("<5", "hidden") else s)
                    for a, s in zip(out["came to the review"], share)]
    return out


def schedule_balance_plot(c: ScheduleComparison, *, ax=None):
    """How far the followers of each schedule differ from all eligible patients, before and after
    weighting (standardised differences; within ±0.1 is close)."""
    c = getattr(c, "comparison", c)
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


def attendance_against_protocol_plot(analysis, *, ax=None, max_sessions: int = 6):
    """How patients actually came: days from each session to the next, by session number, with
    the clinic's protocol windows shaded (green) — the sessions inside the band were on time."""
    s = analysis.sessions
    lm = analysis.ratings
    t0 = lm.set_index("patient_id")["t0"]
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


# -------------------------------------------------------------------------------------------------
# the clinic summary (notebook 06 and the report): both measures, the schedules first
# -------------------------------------------------------------------------------------------------

def _thousands(n) -> str:
    """A count of rows for people: ``3,016`` (never suppressed: rows are not people)."""
    return f"{int(n):,}"


def _measure_words(m) -> str:
    """``pore grades`` / ``texture grades``, or the measure's label for other scales."""
    if (m.min, m.max) == (0, 4) and m.name in ("pore", "texture"):
        return f"{m.name} grades"
    return f"{escape.markdown(m.label)} ratings"


def summary_overview(records, analyses: dict) -> Text:
    """Who and what the summary is about: patients, sessions, ratings, the dates the records
    cover, rows set aside, and how many patients each analysis rests on."""
    s, a = records.sessions, records.assessments
    dates = pd.concat([s["date"], a["date"]]).dropna()
    src = (f"The records in **{escape.markdown(records.source.name)}**"
           if getattr(records, "source", None) else "These records")
    first = next(iter(analyses.values()))
    comparison_n = first.schedules(boot=0, sensitivity=False).results["n"].iloc[0]
    lines = [(f"- {src} hold {suppress_count(s['patient_id'].nunique())} patients, "
             f"{_thousands(len(s))} sessions and {_thousands(len(a))} rating occasions, "
             f"from {dates.min():%d %B %Y} to {dates.max():%d %B %Y}."),
             (f"- {_thousands(records.n_quarantined)} input rows could not be used and were set "
              "aside (notebook 01 lists them)." if records.n_quarantined else
              "- Every input row could be used (none set aside)."),
             (f"- The schedule comparison rests on {suppress_count(int(comparison_n))} patients "
             f"who had a rating before their first session and whose records are long enough "
             f"to reach the review at day {first.settings.landmark_days}.")]
    if int(comparison_n) < FEW_PATIENTS:
        lines.insert(0, f"- **Few patients.** Only {suppress_count(int(comparison_n))} patients "
                        "could be analysed: every number below is very uncertain and may change "
                        "a lot with more records.")
    for an in analyses.values():
        n_in = int((an.ratings["status"] == "included").sum())
        lines.append(f"- {_measure_words(an.measure).capitalize()}: "
                     f"{suppress_count(n_in)} patients had both a rating before their first "
                     f"session and one about {an.settings.landmark_days} days later (± {an.settings.window_days}).")
    lines.append("- An improvement is counted so that **positive = better**; every number comes "
                 "with its 95% confidence interval (CI).")
    return Text("\n".join(lines))


def headline(compared: dict, records) -> Text:
    """The answer first: for each measure, the schedule comparison in plain sentences."""
    lines = []
    for measure, c in compared.items():
        c = getattr(c, "comparison", c)
        m = records.measures[measure]
        lines.append(f"**{escape.markdown(m.label)}**")
        lines += [f"- {s}" for s in strategy_sentences(c, _measure_words(m))]
        best = c.results[~c.results["term"].str.contains(" - ")].dropna(subset=["estimate"])
        if len(best) >= 2:
            top = best.sort_values("estimate", ascending=False).iloc[0]
            lines.append(f"- Of the schedules these records can judge, **{top['term']}** had "
                         f"the largest mean improvement ({_sn(top['estimate'])}; 95% CI "
                         f"{_sn(top['ci_low'])} to {_sn(top['ci_high'])}); differences whose "
                         "interval includes 0 are not clear.")
        lines.append("")
    return Text("\n".join(lines).strip())


def trajectories_plot(analysis, *, ax=None):
    """Mean rating over the months since the first session, by how often patients came."""
    from .effects import plot_trajectories

    ax = plot_trajectories(analysis.trajectories, analysis.measure, ax=ax)
    ax.set_title(f"{escape.plot_label(analysis.measure.label)} over time "
                 "(lower is better)" if analysis.measure.better == "lower" else
                 f"{escape.plot_label(analysis.measure.label)} over time")
    return ax


def beliefs_view(analysis, comparison) -> Table:
    """The clinic's beliefs checked on these records (:func:`outcomes.beliefs.belief_check`)."""
    from .beliefs import belief_table

    return Table(belief_table(analysis.beliefs(schedules=comparison).table))


def association_findings(analysis) -> Text:
    """The slope per extra session a month, naive and adjusted, labelled as an association with
    the reason it can mislead (docs/methods.md §4.1)."""
    from ..estimate.effects import adjusted_effect, naive_effect
    from .effects import describe_effect

    table = analysis.table
    m = analysis.measure
    with _quiet():
        adj = adjusted_effect(table).iloc[0]
        naive = naive_effect(table).iloc[0]
    covs = table.attrs.get("covariates", ())
    lines = [f"- **Adjusted:** {describe_effect(adj, m, covs, landmark_days=analysis.settings.landmark_days)}",
             f"- **Naive:** {describe_effect(naive, m, (), landmark_days=analysis.settings.landmark_days)}",
             ("- **Why this is an association, not the effect of coming more often:** the benefit "
             "of sessions levels off and fades, so one more session a month is not one effect; "
             "and patients who see no change stop coming, so those who came often are partly "
             "those who were responding anyway. The schedule comparison above is the answer to "
             "use; this slope is shown so the two can be compared.")]
    return Text("\n".join(lines))


_COVARIATE_WORDS = {"baseline": "the starting grade", "age": "age", "sex": "sex",
                    "skin_type": "skin type", "smoker": "smoking", "sun_exposure": "sun exposure",
                    "sleep_hours": "sleep", "skincare": "home skincare",
                    "concern": "the kind of pore concern", "clinic_id": "the clinic"}


def summary_caveats(analysis, comparison) -> Text:
    """What the findings cannot say — computed from these records, never fixed text."""
    comparison = getattr(comparison, "comparison", comparison)
    table = analysis.table
    used = [c for c in table.attrs.get("covariates", ())]
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
                     + "; ".join(f"{suppress_count(v)} {k}" for k, v in excluded.items()) + ".")
    not_judged = comparison.results[comparison.results["estimate"].isna()
                                    & ~comparison.results["term"].str.contains(" - ")]
    if len(not_judged):
        lines.append("- **Schedules these records cannot judge:** "
                     + ", ".join(f"{t} ({suppress_count(int(n))} followers)"
                                 for t, n in zip(not_judged["term"], not_judged["n_outcome"]))
                     + f"; at least {comparison.settings['min_followers']} are needed.")
    lines.append("- **Ratings are judgements** by clinicians who know how often the patient "
                 "came; patients' own ratings (notebook 03) are a check.")
    if _records(analysis).n_quarantined:
        lines.append(f"- **{_thousands(_records(analysis).n_quarantined)} input rows were set "
                     "aside** (notebook 01); fixing them at the source may change the numbers.")
    return Text("\n".join(lines))
