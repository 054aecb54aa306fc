"""Model frames and tidy rows shared by the robustness analyses (weighting, ordinal,
dose-response, bootstrap, traps).

Input tables are *analysis tables* (:func:`outcomes.tables.analysis_table.analysis_table`: one
row per included patient with ``improvement`` oriented positive = better, ``baseline``,
``landmark``, ``sessions_per_month``, ``n_sessions``, ``coverage``, ``regular`` and the
covariates listed in ``table.attrs["covariates"]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from ..errors import RecordsError
from ..records.scales import Measure

TIDY_COLUMNS = ["measure", "model", "term", "estimate", "ci_low", "ci_high", "std_error", "p_value",
                "n", "note"]
EXPOSURES = ("regular", "monthly_start")
KNOWN_COVARIATES = ("age", "sex", "skin_type", "smoker", "sun_exposure", "sleep_hours", "skincare",
                    "concern", "clinic_id")
_Z = stats.norm.ppf(0.975)


# --------------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------------

def _check_choice(param: str, value, options) -> None:
    if value not in options:
        raise ValueError(f"The value for `{param}` must be one of {list(options)}, "
                         f"but {value!r} was passed.")


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RecordsError(f"{what} needs the column(s) {missing} in the analysis table; build it "
                           "with outcomes.tables.analysis_table.analysis_table(records, measure).")


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _covariates(table: pd.DataFrame, covariates: Sequence[str] | None) -> list[str]:
    """Covariates to adjust for: given, else ``table.attrs["covariates"]``, else the known ones
    present; constant columns are left out (they carry no information in this table)."""
    if covariates is None:
        covariates = table.attrs.get("covariates")
    if covariates is None:
        covariates = [c for c in KNOWN_COVARIATES if c in table.columns]
    missing = [c for c in covariates if c not in table.columns]
    if missing:
        raise RecordsError(f"Covariate(s) {missing} are not columns of the analysis table; "
                           f"available columns: {list(table.columns)}.")
    used = [c for c in covariates if table[c].nunique(dropna=True) > 1]
    # numeric covariates imputed by models.analysis_table come with a `<name>_missing` indicator
    extra = [f"{c}_missing" for c in used if f"{c}_missing" in table.columns
             and f"{c}_missing" not in used and table[f"{c}_missing"].nunique() > 1]
    return used + extra


def _model_frame(table: pd.DataFrame, numeric: Sequence[str], covariates: Sequence[str]
                 ) -> tuple[pd.DataFrame, int]:
    """Copy of the model columns: numerics as float, categoricals as str (missing → "missing").

    Rows with a missing numeric value are dropped and counted (never silently).
    """
    cols = list(dict.fromkeys(["patient_id", *numeric, *covariates]))
    cols = [c for c in cols if c in table.columns]
    df = table[cols].copy()
    for c in cols:
        if c == "patient_id":
            df[c] = df[c].astype("str")
        elif c in covariates and _is_categorical(df[c]):
            df[c] = df[c].astype("object").where(df[c].notna(), "missing").astype("str")
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    num = [c for c in cols if c != "patient_id" and pd.api.types.is_float_dtype(df[c])]
    keep = df[num].notna().all(axis=1)
    return df.loc[keep].reset_index(drop=True), int((~keep).sum())


def _q(name: str) -> str:
    return f'Q("{name}")'


def _rhs(df: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    return [f"C({_q(c)})" if not pd.api.types.is_float_dtype(df[c]) else _q(c) for c in covariates]


def _tidy(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for c in TIDY_COLUMNS:
        if c not in out:
            out[c] = np.nan
    out = out[TIDY_COLUMNS + [c for c in out.columns if c not in TIDY_COLUMNS]]
    out["n"] = out["n"].astype("Int64")
    return out


def _measure_name(table: pd.DataFrame, measure=None) -> str:
    if isinstance(measure, Measure):
        return measure.name
    if measure is not None:
        return str(measure)
    return str(table.attrs.get("measure", ""))


def _dropped_note(n_dropped: int) -> str:
    return f"; {n_dropped} patient(s) left out for a missing value" if n_dropped else ""


def _reference_row(df: pd.DataFrame, covariates: Sequence[str]) -> dict:
    """Reference covariate values: mean of numerics, most frequent level of categoricals."""
    ref = {}
    for c in covariates:
        s = df[c]
        ref[c] = float(s.mean()) if pd.api.types.is_float_dtype(s) else s.mode().iloc[0]
    return ref


def _ols_row(df: pd.DataFrame, formula: str, term: str, **extra) -> dict:
    fit = smf.ols(formula, df).fit(cov_type="HC3")
    est, (lo, hi) = float(fit.params[term]), fit.conf_int().loc[term]
    return {"estimate": est, "ci_low": float(lo), "ci_high": float(hi),
            "std_error": float(fit.bse[term]), "p_value": float(fit.pvalues[term]),
            "n": int(fit.nobs), **extra}


def _dummies(df: pd.DataFrame, numeric: Sequence[str], covariates: Sequence[str]
             ) -> pd.DataFrame:
    """Numeric columns, then treatment-coded indicators ``C(name)[T.level]`` (reference = first
    level in sorted order, as patsy) of the categorical covariates; no intercept."""
    cols = {c: df[c].to_numpy(dtype="float64") for c in numeric}
    for c in covariates:
        if pd.api.types.is_float_dtype(df[c]):
            cols[c] = df[c].to_numpy(dtype="float64")
        else:
            values = df[c].astype("str")
            for level in sorted(values.unique())[1:]:
                cols[f"C({c})[T.{level}]"] = (values == level).to_numpy(dtype="float64")
    return pd.DataFrame(cols, index=df.index)
