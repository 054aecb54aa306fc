"""What every output shown to people uses (docs/methods.md §5): small counts hidden, k-anonymity.

- :func:`suppress_small_counts` is THE helper for every count table shown to people (notebooks, the
  report): counts 1 to 4 become ``"<5"``, and whatever would let a reader work them out (their
  percentages, a lone hidden cell next to a known total) is hidden too. :func:`suppress_count` does the
  same for one number in a sentence.
- :func:`k_anonymity` lists the equivalence classes of the patients over quasi-identifiers (age
  band, sex, skin type, clinic) and flags those smaller than *k*; :func:`k_anonymity_summary`
  counts them for a verdict; :func:`coarsening_options` says what wider age bands or leaving out a
  quasi-identifier would give, and which adjustment of the analyses a change would cost.

Plain pandas on tables already made: nothing here reads records (layer 0, below the loader), so
that the estimates and the presentation can use it without the anonymiser
(:mod:`outcomes.privacy.export`), which reads raw exports.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd

QUASI_IDENTIFIERS = ("age_band", "sex", "skin_type", "clinic_id")
#: quasi-identifiers the analyses adjust for (``outcomes.models.COVARIATES``; a test keeps the
#: two in step): leaving one out costs that adjustment, coarsening the age band does not
ADJUSTED = ("age", "sex", "skin_type", "clinic_id")
#: what a count or percentage withheld by secondary suppression shows
HIDDEN = "hidden"


_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6"}
_TOTAL_LABELS = {"all", "total", "totals", "overall"}
_PERCENT_NAME = re.compile(r"(%|percent|pct|proportion|share)", re.IGNORECASE)


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _quasi_frame(patients: pd.DataFrame, quasi_identifiers, age_band: int) -> pd.DataFrame:
    cols = {}
    for q in quasi_identifiers:
        if q == "age_band" and "age_band" not in patients and "age" in patients:
            age = pd.to_numeric(patients["age"], errors="coerce")
            lo = (np.floor(age / age_band) * age_band).astype("Int64")
            label = lo.astype("str") + ("-" + (lo + age_band - 1).astype("str")
                                         if age_band > 1 else "")
            cols[q] = label
        elif q in patients:
            values = patients[q].astype("str").str.strip()
            if q == "sex":
                values = values.str.upper()
            elif q == "skin_type":
                values = values.str.upper().replace(_ROMAN).str.replace(r"\.0$", "", regex=True)
            cols[q] = values
    frame = pd.DataFrame(cols, index=patients.index)
    return frame.astype("str").fillna("missing").replace("", "missing")


def k_anonymity(patients: pd.DataFrame, *, quasi_identifiers=QUASI_IDENTIFIERS, k: int = 5,
                age_band: int = 10) -> pd.DataFrame:
    """Equivalence classes of patients over quasi-identifiers, flagging those smaller than *k*.

    A table is *k-anonymous* when every combination of quasi-identifier values that occurs is
    shared by at least *k* patients (Sweeney 2002): anyone who knows a patient's age band, sex,
    skin type and clinic then finds at least *k* candidate rows.

    Parameters
    ----------
    patients : DataFrame
        One row per patient (duplicated ``patient_id`` rows count once).
    quasi_identifiers : sequence of str
        Columns to combine. ``"age_band"`` is ``age`` cut into bands ``[a, a + age_band)`` labelled
        ``"30-39"``. Missing values form their own value ``"missing"``. Columns absent from
        ``patients`` are skipped (listed in ``attrs["absent"]``).
    k : int
        Smallest acceptable class size.
    age_band : int
        Width of the age bands in years.

    Returns
    -------
    DataFrame
        One row per class: the quasi-identifier columns used, ``size`` (patients) and ``below_k``
        (size < k), smallest classes first. ``attrs``: ``k``, ``quasi_identifiers`` (used),
        ``absent``.

    Examples
    --------
    >>> p = pd.DataFrame({"age": [31, 35, 52], "sex": ["F", "F", "M"]})
    >>> k_anonymity(p, k=2)[["age_band", "sex", "size", "below_k"]].values.tolist()
    [['50-59', 'M', 1, True], ['30-39', 'F', 2, False]]
    """
    for name, value in (("k", k), ("age_band", age_band)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"The value for `{name}` must be a whole number of at least 1, "
                             f"but {value!r} was passed.")
    if "patient_id" in patients:
        patients = patients.drop_duplicates("patient_id")
    frame = _quasi_frame(patients, quasi_identifiers, age_band)
    used = list(frame.columns)
    absent = [q for q in quasi_identifiers if q not in used]
    if used:
        classes = frame.groupby(used, dropna=False).size().rename("size").reset_index()
    else:
        classes = pd.DataFrame({"size": [len(frame)]} if len(frame) else {"size": []})
    classes["size"] = classes["size"].astype("int64")
    classes["below_k"] = classes["size"] < k
    classes = classes.sort_values(["size", *used], kind="stable").reset_index(drop=True)
    classes.attrs.update({"k": k, "quasi_identifiers": tuple(used), "absent": tuple(absent)})
    return classes


def k_anonymity_summary(classes: pd.DataFrame, *, k: int | None = None) -> dict:
    """Summary of :func:`k_anonymity`: ``k``, ``patients``, ``groups``, ``smallest``,
    ``groups_below_k``, ``patients_below_k`` (all ints; ``smallest`` is 0 for no patients)."""
    k = classes.attrs.get("k", 5) if k is None else k
    below = classes["size"] < k
    return {"k": int(k), "patients": int(classes["size"].sum()), "groups": len(classes),
            "smallest": int(classes["size"].min()) if len(classes) else 0,
            "groups_below_k": int(below.sum()),
            "patients_below_k": int(classes.loc[below, "size"].sum())}


def coarsening_options(patients: pd.DataFrame, *, quasi_identifiers=QUASI_IDENTIFIERS, k: int = 5,
                       age_band: int = 10) -> pd.DataFrame:
    """What coarser quasi-identifiers would give: wider age bands, or one quasi-identifier left out.

    Each option is named by the ``outcomes anonymise`` argument that gives it: ``--age-band W``
    (wider bands in the check), ``--drop COL`` (the column removed, ``age`` for the age band). When
    no single change reaches *k*, pairs of changes are added.

    Returns
    -------
    DataFrame
        One row per option (``"as is"`` first): ``option`` (the command-line change),
        ``quasi_identifiers``, ``age_band``, ``groups``, ``smallest``, ``groups_below_k``,
        ``patients_below_k``, ``adjustment_lost`` (the quasi-identifiers the option leaves out
        that the analyses adjust for, :data:`ADJUSTED`; ``""`` when none).
    """
    quasi = tuple(quasi_identifiers)
    options = [("as is", quasi, age_band)]
    if "age_band" in quasi:
        for width in sorted({2 * age_band, 20, 30} - set(range(age_band + 1))):
            options.append((f"--age-band {width}", quasi, width))
    for q in quasi:
        column = "age" if q == "age_band" else q
        options.append((f"--drop {column}", tuple(x for x in quasi if x != q), age_band))
    options += _combined_options(patients, options, k)
    rows = []
    for option, qs, width in options:
        s = k_anonymity_summary(k_anonymity(patients, quasi_identifiers=qs, k=k, age_band=width))
        lost = [("age" if q == "age_band" else q) for q in quasi if q not in qs]
        rows.append({"option": option, "quasi_identifiers": ", ".join(qs), "age_band": width,
                     "groups": s["groups"], "smallest": s["smallest"],
                     "groups_below_k": s["groups_below_k"],
                     "patients_below_k": s["patients_below_k"],
                     "adjustment_lost": ", ".join(c for c in lost if c in ADJUSTED)})
    return pd.DataFrame(rows)


def _combined_options(patients, options, k):
    """Pairs of single changes, offered only when no single change reaches k."""
    singles = options[1:]
    for _, qs, width in singles:
        classes = k_anonymity(patients, quasi_identifiers=qs, k=k, age_band=width)
        if not classes["below_k"].any():
            return []
    pairs = []
    for (o1, q1, w1), (o2, q2, w2) in itertools.combinations(singles, 2):
        if o1.startswith("--age-band") and o2.startswith(("--age-band", "--drop age")):
            continue
        qs = tuple(q for q in q1 if q in q2)
        if qs:
            pairs.append((f"{o1} {o2}", qs, max(w1, w2)))
    return pairs


def suppress_count(n, threshold: int = 5) -> str:
    """One count for a sentence: ``"<5"`` for 1 to threshold − 1, else the number (0 stays ``"0"``).

    Examples
    --------
    >>> suppress_count(3), suppress_count(0), suppress_count(12)
    ('<5', '0', '12')
    """
    _check_threshold(threshold)
    if n is None or _missing(n):
        return ""
    if n < 0 or n != int(n):
        raise ValueError(f"The value for `n` must be a count (a whole number >= 0), "
                         f"but {n!r} was passed.")
    return f"<{threshold}" if 0 < n < threshold else str(int(n))


def _check_threshold(threshold) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"The value for `threshold` must be a whole number of at least 1, "
                         f"but {threshold!r} was passed.")


def _is_total(label) -> bool:
    return str(label).strip().lower() in _TOTAL_LABELS


def suppress_small_counts(table, *, threshold: int = 5, count_columns=None, percent_columns=None,
                          decimals: int = 1) -> pd.DataFrame:
    """Hide small counts in a table shown to people (docs/methods.md §5), and what would reveal them.

    Rules, applied in this order:

    1. **Primary**: a count 1 ≤ n < threshold is shown as ``"<5"`` (with the threshold); 0 stays
       ``"0"`` and missing stays ``""``.
    2. **Secondary** (so a hidden count cannot be worked out by subtraction from a total, shown
       in the table or known from elsewhere): wherever a row or a column of the count block holds
       exactly one hidden cell, the smallest other non-zero count of that line is hidden too
       (shown as ``"hidden"``; a zero only when no non-zero is left), repeated until no line holds
       a lone hidden cell. Rows are checked only with two or more count columns, columns only with
       two or more rows. Margins (rows or columns labelled ``All``/``Total``, as made by
       ``pd.crosstab(..., margins=True)``) get the primary rule; a total is never hidden to
       protect an inner cell, but the line of row totals (the ``All`` column) and of column totals
       (the ``All`` row) is checked like any other, so a small total cannot be worked out from the
       grand total either. This blocks recovery by subtraction from one row or column total; it is
       not a full audit against every combination of totals.
    3. **Percentages**: a percentage cell is hidden (``"hidden"``) when the count it belongs to is
       hidden — the paired count when ``percent_columns`` maps percentage → count column (or when
       there is one count column), else when any count in its row is hidden.

    Parameters
    ----------
    table : DataFrame or Series
        Counts, e.g. ``s.value_counts().to_frame()`` or ``pd.crosstab(a, b, margins=True)``.
    threshold : int
        Smallest count shown as is (5).
    count_columns : list of str, optional
        Default: the numeric columns holding whole numbers that are not percentage columns.
    percent_columns : list of str or dict, optional
        Default: numeric columns whose name contains ``%``, ``percent``, ``pct``, ``proportion`` or
        ``share``. A dict maps each percentage column to its count column.
    decimals : int
        Decimals of the percentages shown.

    Returns
    -------
    DataFrame
        Same index and columns; count and percentage columns as text, other columns unchanged.

    Examples
    --------
    >>> t = pd.DataFrame({"count": [20, 3, 9]}, index=["F", "M", "X"])
    >>> suppress_small_counts(t)["count"].tolist()
    ['20', '<5', 'hidden']
    """
    _check_threshold(threshold)
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    counts, pairs = _suppression_columns(frame, count_columns, percent_columns)
    # float64: nullable Int64 counts with missing cells would give NA-valued masks
    values = (frame[counts].apply(lambda c: pd.to_numeric(c, errors="coerce").astype("float64"))
              if counts else pd.DataFrame(index=frame.index))
    _check_counts(values)
    primary = (values >= 1) & (values < threshold)
    hidden = _secondary(values, primary.copy())
    out = frame.copy()
    for col in counts:
        text = values[col].map(lambda v: "" if _missing(v) else str(int(v)))
        text = text.mask(hidden[col], HIDDEN).mask(primary[col], f"<{threshold}")
        out[col] = text.astype("str")
    any_hidden = hidden.any(axis=1) if counts else pd.Series(False, index=frame.index)
    for pct, count in pairs.items():
        numbers = pd.to_numeric(frame[pct], errors="coerce")
        text = numbers.map(lambda v: "" if _missing(v) else f"{v:.{decimals}f}")
        mask = hidden[count] if count is not None else any_hidden
        out[pct] = text.mask(mask, HIDDEN).astype("str")
    return out


def _suppression_columns(frame, count_columns, percent_columns):
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if isinstance(percent_columns, dict):
        pairs = dict(percent_columns)
    else:
        pcts = (list(percent_columns) if percent_columns is not None
                else [c for c in numeric if _PERCENT_NAME.search(str(c))])
        pairs = dict.fromkeys(pcts)
    if count_columns is None:
        counts = [c for c in numeric if c not in pairs and _whole(frame[c])]
    else:
        counts = list(count_columns)
    for col in [*counts, *pairs, *[c for c in pairs.values() if c is not None]]:
        if col not in frame.columns:
            raise ValueError(f"The value for a count or percent column must be one of "
                             f"{list(frame.columns)}, but {col!r} was passed.")
    if len(counts) == 1:
        pairs = {p: (c if c is not None else counts[0]) for p, c in pairs.items()}
    return counts, pairs


def _whole(series: pd.Series) -> bool:
    present = pd.to_numeric(series, errors="coerce").dropna()
    return bool((present == np.floor(present)).all())


def _check_counts(values: pd.DataFrame) -> None:
    bad = values.notna() & ((values < 0) | (values != np.floor(values)))
    if bad.any().any():
        col = bad.any()[bad.any()].index[0]
        value = values.loc[bad[col], col].iloc[0]
        raise ValueError(f"Count column {col!r} must hold whole numbers >= 0, but {value!r} "
                         "was passed; give percentages with `percent_columns`.")


def _secondary(values: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """Grow ``hidden`` until no row/column line of the count block holds exactly one hidden cell."""
    inner_rows = [i for i, label in enumerate(values.index) if not _is_total(label)]
    inner_cols = [j for j, label in enumerate(values.columns) if not _is_total(label)]
    v = values.to_numpy(dtype="float64")
    h = np.array(hidden.to_numpy(dtype=bool), copy=True)
    lines = []
    if len(inner_cols) >= 2:
        lines += [[(i, j) for j in inner_cols] for i in range(v.shape[0])]
    if len(inner_rows) >= 2:
        lines += [[(i, j) for i in inner_rows] for j in range(v.shape[1])]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(h[c] for c in line) != 1:
                continue
            candidates = [c for c in line if not h[c] and not np.isnan(v[c])]
            if not candidates:
                continue
            nonzero = [c for c in candidates if v[c] > 0]
            pick = min(nonzero or candidates, key=lambda c: (v[c], c))
            h[pick] = True
            changed = True
    return pd.DataFrame(h, index=values.index, columns=values.columns)
