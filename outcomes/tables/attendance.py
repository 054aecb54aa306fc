"""Attendance: how often and how regularly patients come (docs/methods.md §2).

Per patient (:func:`patient_metrics`): frequency (``sessions_per_month``), the gaps between sessions,
consistency (interval CV, lapses, PDC-style coverage) and adherence to a treatment :class:`Protocol`.
Per assessment (:func:`exposure_at`): the sessions received *before* each rating. How long patients
keep coming at all is in :mod:`outcomes.tables.persistence`.

Conventions shared by every function
------------------------------------
* Dates are counted in whole days. A window is half-open, ``[start, end)``: a session on ``end`` is
  outside it.
* Several sessions of one patient on the same day count as **one** session (a double entry or two
  treatments in one visit are one visit). Gaps are therefore always at least one day.
* ``treatments`` (a string or a list of strings, case-insensitive) keeps only those treatments before
  anything is computed; t0 is then the first session *of those treatments*.
* The *data end* is the last day the records cover (inclusive). By default it is the date of the last
  session in ``sessions`` (all treatments, before filtering); pass ``data_end=`` when the records were
  extracted later. Default windows run ``[t0, data_end + 1 day)``.
* Everything is computed on sorted numpy arrays (no per-patient Python loops), so a million sessions
  take well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import RecordsError
from ..protocols import Protocol

__all__ = [
    "DAYS_PER_MONTH",
    "exposure_at",
    "patient_metrics",
    "summarise",
]

#: Average days in a month (365.25 / 12), the unit of ``sessions_per_month``.
DAYS_PER_MONTH = 30.4375

_PHASES = ["none", "loading", "maintenance"]


# ---------------------------------------------------------------------------------------------------
# shared preparation
# ---------------------------------------------------------------------------------------------------

def _require(df: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RecordsError(f"The {table} table has no column {', '.join(map(repr, missing))}; "
                           f"it needs {', '.join(columns)}. Check the column names in the {table} "
                           "file.")


def _days(values, table: str, column: str = "date") -> np.ndarray:
    """Whole days since 1970-01-01 as int64, whatever the datetime unit; refuses missing dates."""
    arr = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if arr.dtype.kind != "M":
        try:
            arr = np.asarray(pd.to_datetime(pd.Series(arr)).to_numpy())
        except (ValueError, TypeError) as err:
            raise RecordsError(f"The {table} table has values in `{column}` that are not dates "
                               f"({err}). Use ISO dates like 2024-03-31.") from None
    bad = np.isnat(arr)
    if bad.any():
        raise RecordsError(f"The {table} table has {int(bad.sum())} row(s) with a missing "
                           f"`{column}`. Fix or remove those rows (the loader quarantines them).")
    return arr.astype("datetime64[D]").astype(np.int64)


def _to_dates(days: np.ndarray, unit: str, missing: np.ndarray | None = None) -> np.ndarray:
    out = days.astype("datetime64[D]").astype(f"datetime64[{unit}]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return out


def _unit(series) -> str:
    dtype = getattr(series, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "") == "M":
        unit = np.datetime_data(dtype)[0]
        if unit in ("s", "ms", "us", "ns"):
            return unit
    return "s"


def _treatment_mask(sessions: pd.DataFrame, treatments) -> np.ndarray | None:
    """Boolean mask of the sessions whose treatment is in ``treatments`` (None = keep all)."""
    if treatments is None:
        return None
    wanted = [treatments] if isinstance(treatments, str) else list(treatments)
    if not wanted or not all(isinstance(t, str) for t in wanted):
        raise ValueError("The value for `treatments` must be a treatment name or a list of names, "
                         f"but {treatments!r} was passed.")
    _require(sessions, ["treatment"], "sessions")
    wanted = {t.strip().lower() for t in wanted}
    col = sessions["treatment"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = pd.Index(col.cat.categories.astype(str)).str.strip().str.lower()
        present = set(cats[np.unique(col.cat.codes[col.cat.codes >= 0])]) if len(col) else set()
        keep_codes = np.flatnonzero(cats.isin(wanted))
        mask = np.isin(col.cat.codes.to_numpy(), keep_codes)
    else:
        low = col.astype("str").str.strip().str.lower()
        present = set(low.dropna().unique())
        mask = low.isin(wanted).to_numpy(dtype=bool)
    unknown = sorted(wanted - present)
    if unknown:
        raise ValueError(f"The value for `treatments` must be among {sorted(present)}, but "
                         f"{unknown[0]!r} was passed.")
    return mask


def _data_end_day(sessions: pd.DataFrame, data_end) -> int:
    """Last day covered by the records (inclusive), as a day number."""
    if data_end is not None:
        ts = pd.Timestamp(data_end)
        if pd.isna(ts):
            raise ValueError(f"The value for `data_end` must be a date, but {data_end!r} was passed.")
        return int(np.datetime64(ts.date(), "D").astype(np.int64))
    _require(sessions, ["patient_id", "date"], "sessions")
    if len(sessions) == 0:
        raise RecordsError("The sessions table is empty: there is nothing to measure.")
    return int(_days(sessions["date"], "sessions").max())


class _Sorted:
    """Sessions as sorted, same-day-deduplicated arrays: patient code, day, block starts/counts."""

    def __init__(self, code: np.ndarray, day: np.ndarray, n_patients: int):
        lo = int(day.min()) if len(day) else 0
        span = (int(day.max()) - lo + 1) if len(day) else 1
        key = code.astype(np.int64) * span + (day - lo)
        if len(key) > 1 and not (key[1:] >= key[:-1]).all():
            key = np.sort(key)
        if len(key) > 1:
            keep = np.empty(len(key), dtype=bool)
            keep[0] = True
            np.not_equal(key[1:], key[:-1], out=keep[1:])
            key = key[keep]
        self.code = key // span
        self.day = key - self.code * span + lo
        self.n_patients = n_patients
        self.counts = np.bincount(self.code, minlength=n_patients)
        self.starts = np.zeros(n_patients, dtype=np.int64)
        np.cumsum(self.counts[:-1], out=self.starts[1:])

    def select(self, keep: np.ndarray) -> _Sorted:
        new = object.__new__(_Sorted)
        new.code, new.day, new.n_patients = self.code[keep], self.day[keep], self.n_patients
        new.counts = np.bincount(new.code, minlength=self.n_patients)
        new.starts = np.zeros(self.n_patients, dtype=np.int64)
        np.cumsum(new.counts[:-1], out=new.starts[1:])
        return new


def _prepare(sessions: pd.DataFrame, treatments, universe: pd.Index | None = None):
    """Filter, code and sort sessions. Returns (_Sorted, patient index, date unit)."""
    if not isinstance(sessions, pd.DataFrame):
        raise TypeError("`sessions` must be a DataFrame with columns patient_id and date.")
    _require(sessions, ["patient_id", "date"], "sessions")
    mask = _treatment_mask(sessions, treatments)
    pid, dates = sessions["patient_id"], sessions["date"]
    if mask is not None:
        pid, dates = pid[mask], dates[mask]
    day = _days(dates, "sessions")
    if not isinstance(pid.dtype, pd.StringDtype):
        pid = pid.astype("str")
    if pid.isna().any():
        raise RecordsError(f"The sessions table has {int(pid.isna().sum())} row(s) without a "
                           "`patient_id`. Fix or remove those rows.")
    if universe is None:
        codes, uniques = pd.factorize(pid, sort=True)
        universe = pd.Index(uniques, name="patient_id")
    else:
        codes = universe.get_indexer(pid)
        inside = codes >= 0
        codes, day = codes[inside], day[inside]
    return _Sorted(np.asarray(codes, dtype=np.int64), day, len(universe)), universe, _unit(dates)


def _segment_max(values: np.ndarray, s: _Sorted, empty) -> np.ndarray:
    """Per-patient maximum of a per-session array (``empty`` for patients without sessions)."""
    out = np.full(s.n_patients, empty, dtype=np.result_type(values.dtype, np.asarray(empty).dtype))
    has = s.counts > 0
    if has.any():
        out[has] = np.maximum.reduceat(values, s.starts[has])
    return out


# ---------------------------------------------------------------------------------------------------
# per patient
# ---------------------------------------------------------------------------------------------------

def _windows(windows: pd.DataFrame | None, sessions: pd.DataFrame, data_end):
    """Validated windows: (universe index or None, start days, end days) — None → default windows."""
    if windows is None:
        return None, None, _data_end_day(sessions, data_end) + 1
    _require(windows, ["patient_id", "start", "end"], "windows")
    pid = windows["patient_id"].astype("str")
    if pid.isna().any():
        raise RecordsError("The windows table has rows without a `patient_id`.")
    dup = pid[pid.duplicated()]
    if len(dup):
        raise RecordsError(f"The windows table must have one row per patient, but {dup.iloc[0]!r} "
                           f"appears more than once ({len(dup)} duplicate row(s)).")
    start = _days(windows["start"], "windows", "start")
    end = _days(windows["end"], "windows", "end")
    bad = end <= start
    if bad.any():
        raise RecordsError(f"The windows table has {int(bad.sum())} row(s) whose `end` is not after "
                           f"their `start` (first: patient {pid[bad].iloc[0]!r}); a window is "
                           "[start, end) and must cover at least one day.")
    return pd.Index(pid.to_numpy(), name="patient_id"), start, end


def patient_metrics(sessions: pd.DataFrame, *, windows: pd.DataFrame | None = None,
                    treatments=None, permissible_gap: int = 45, cover_days: int = 30,
                    protocol: Protocol | None = None, data_end=None) -> pd.DataFrame:
    """Frequency, consistency and protocol adherence of each patient's sessions within a window.

    Parameters
    ----------
    sessions : DataFrame
        ``patient_id``, ``date`` (and ``treatment`` when ``treatments`` is given).
    windows : DataFrame, optional
        ``patient_id``, ``start``, ``end``: one half-open window ``[start, end)`` per patient, e.g.
        ``[t0, landmark date)`` from the ratings. Only sessions inside the window count; the result
        has one row per window (a patient without sessions in it gets ``n_sessions = 0``), in the
        order of ``windows``. Default: for every patient with sessions, ``[t0, data_end + 1 day)``,
        rows sorted by ``patient_id``.
    treatments : str or list of str, optional
        Count only these treatments (case-insensitive), e.g. ``"microneedling"``.
    permissible_gap : int
        A gap between two sessions longer than this many days is a *lapse* (default 45, docs/methods.md §2).
    cover_days : int
        Days each session "covers" for ``coverage`` (default 30: one month, the loading rhythm of
        the default protocol, so a patient coming at least monthly is fully covered).
    protocol : Protocol, optional
        The schedule for ``adherence`` (default :class:`Protocol()`).
    data_end : date-like, optional
        Last day covered by the records (inclusive), for the default windows. Default: the last
        session date in ``sessions`` (all treatments).

    Returns
    -------
    DataFrame
        One row per patient (column ``patient_id``). With sessions ``s_1 < … < s_n`` (distinct days)
        in the window ``[start, end)`` and the gaps ``g_i = s_{i+1} − s_i`` (days):

        - ``start``, ``end``, ``window_days`` = end − start.
        - ``n_sessions`` = n; ``sessions_per_month`` = n × 30.4375 / window_days (*frequency*).
        - ``first_session`` = s_1, ``last_session`` = s_n (NaT when n = 0).
        - ``mean_gap``, ``median_gap``: mean and median of the n − 1 gaps ``g_i`` (NaN if n < 2).
        - ``tail_gap`` = end − s_n, days from the last session to the window end.
        - ``longest_gap`` = max(s_1 − start, g_1, …, g_{n−1}, end − s_n): the longest stretch without a
          session, the stretch before the first session and the tail to the window end included
          (window_days when n = 0).
        - ``interval_cv`` = SD(g) / mean(g), with the *sample* SD (ddof = 1):
          SD² = Σ(g_i − ḡ)² / (n − 2). Needs n ≥ 3 (two gaps) — otherwise NaN, and ``cv_note`` says
          why (``cv_note`` is missing when the CV is present). 0 = perfectly even spacing.
        - ``lapses``: number of gaps ``g_i > permissible_gap`` (between sessions; a long tail shows
          in ``tail_gap``/``longest_gap`` and in :func:`persistence`).
        - ``coverage`` (PDC-style, proportion of days covered): session i covers ``cover_days`` days
          from ``c_i = max(s_i, c_{i−1} + cover_days)`` (a session during a covered stretch has its
          days carried forward, as with early refills in pharmacy), and
          coverage = |days of [start, end) covered| / window_days, in [0, 1].
        - ``regular`` = coverage ≥ 0.8, the usual threshold of adequate adherence for the proportion
          of days covered (Nau 2012; Pharmacy Quality Alliance).
        - ``n_due``, ``n_on_time``, ``n_missed``, ``adherence`` = n_on_time / n_due (NaN when nothing
          was due yet): share of the sessions due under ``protocol`` that were received on time.
          Due sessions are every session after the first (on time when within due ± tolerance,
          otherwise off-schedule, too early or too late) plus the *missed* ones, whose tolerance
          closed with no session — in a gap g after the k-th session with interval e and tolerance
          t, ``missed = max(0, ⌊(g − t − 1) / e⌋)`` and the next session is on time when
          ``|g − (missed + 1) e| ≤ t``; the tail end − s_n counts missed sessions the same way.
          Coming more often than the protocol asks is off-schedule too: adherence measures keeping
          the schedule, not attending a lot.
        - ``phase_reached``: ``"none"`` (no session), ``"loading"`` (1 ≤ n < loading_sessions) or
          ``"maintenance"`` (loading completed: n ≥ loading_sessions).
        - ``days_to_complete_loading`` = s_L − s_1 with L = ``protocol.loading_sessions`` (NaN if
          n < L).

    Notes
    -----
    Same-day entries count once. Dates are whole days; ``start``/``end``/``first_session``/
    ``last_session`` keep the datetime unit of ``sessions.date``.

    References
    ----------
    Nau DP. Proportion of days covered (PDC) as a preferred method of measuring medication
    adherence. Pharmacy Quality Alliance, 2012. Cramer JA et al. Medication compliance and
    persistence: terminology and definitions. Value Health 2008;11:44-47.

    Examples
    --------
    >>> s = pd.DataFrame({"patient_id": "a", "date": pd.to_datetime(
    ...     ["2024-01-01", "2024-01-29", "2024-02-26"])})
    >>> patient_metrics(s, data_end="2024-03-25")[["n_sessions", "mean_gap", "interval_cv"]]
       n_sessions  mean_gap  interval_cv
    0           3      28.0          0.0
    """
    protocol = Protocol() if protocol is None else protocol
    if not isinstance(protocol, Protocol):
        raise TypeError(f"`protocol` must be a Protocol, but {type(protocol).__name__} was passed.")
    for name, value in (("permissible_gap", permissible_gap), ("cover_days", cover_days)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"The value for `{name}` must be a positive whole number of days, but "
                             f"{value!r} was passed.")
    universe, wstart, wend = _windows(windows, sessions, data_end)
    s, universe, unit = _prepare(sessions, treatments, universe)
    P = s.n_patients
    if wstart is None:  # default windows: [first session, data end + 1)
        if s.counts.size and (s.day >= wend).any():
            s = s.select(s.day < wend)
        keep = s.counts > 0
        wstart = np.where(keep, s.day[np.minimum(s.starts, max(len(s.day) - 1, 0))], 0)
        wend = np.full(P, wend, dtype=np.int64)
    else:
        inside = (s.day >= wstart[s.code]) & (s.day < wend[s.code])
        if not inside.all():
            s = s.select(inside)
    out = _metrics_arrays(s, wstart, wend, permissible_gap, cover_days, protocol)
    n = s.counts
    none = n == 0
    last_idx = np.maximum(s.starts + n - 1, 0)
    day_or0 = s.day if len(s.day) else np.zeros(1, dtype=np.int64)
    first = day_or0[np.minimum(s.starts, len(day_or0) - 1)]
    last = day_or0[np.minimum(last_idx, len(day_or0) - 1)]
    note = np.where(none, "no sessions in the window",
                    np.where(n == 1, "1 session in the window; the CV needs at least 3",
                             np.where(n == 2, "2 sessions in the window; the CV needs at least 3",
                                      None)))
    phase = np.where(none, 0, np.where(n < protocol.loading_sessions, 1, 2))
    frame = pd.DataFrame({
        "patient_id": universe.to_numpy(),
        "start": _to_dates(wstart, unit),
        "end": _to_dates(wend, unit),
        "window_days": (wend - wstart).astype(np.int64),
        "n_sessions": n.astype(np.int64),
        "sessions_per_month": n * DAYS_PER_MONTH / (wend - wstart),
        "first_session": _to_dates(first, unit, none),
        "last_session": _to_dates(last, unit, none),
        **out,
        "cv_note": pd.array(note, dtype="str"),
    })
    frame["phase_reached"] = pd.Categorical.from_codes(phase, categories=_PHASES, ordered=True)
    cols = ["patient_id", "start", "end", "window_days", "n_sessions", "sessions_per_month",
            "first_session", "last_session", "mean_gap", "median_gap", "longest_gap", "tail_gap",
            "interval_cv", "cv_note", "lapses", "coverage", "regular", "n_due", "n_on_time",
            "n_missed", "adherence", "phase_reached", "days_to_complete_loading"]
    return frame[cols]


def _metrics_arrays(s: _Sorted, wstart, wend, permissible_gap, cover_days, protocol) -> dict:
    """The numeric per-patient metrics on sorted arrays (see :func:`patient_metrics`)."""
    P, N = s.n_patients, len(s.day)
    n = s.counts
    has = n > 0
    code, day = s.code, s.day
    pos = np.arange(N, dtype=np.int64) - s.starts[code]          # 0-based index within patient

    # gaps between consecutive sessions of the same patient
    same = code[1:] == code[:-1]
    g_all = np.diff(day)
    gap = g_all[same]
    gcode = code[1:][same]
    gpos = pos[:-1][same]                                         # k − 1 for the gap after session k
    m = np.maximum(n - 1, 0)
    gsum = np.bincount(gcode, weights=gap, minlength=P)
    gsq = np.bincount(gcode, weights=gap.astype(np.float64) ** 2, minlength=P)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(m > 0, gsum / np.maximum(m, 1), np.nan)
        # exact: sums of integer days are exact in float64, so m Σg² − (Σg)² has no cancellation
        var = (m * gsq - gsum * gsum) / (m * (m - 1.0))
        cv = np.where(n >= 3, np.sqrt(np.maximum(var, 0.0)) / mean_gap, np.nan)

    # longest gap: max(head, gaps, tail)
    gfull = np.zeros(N, dtype=np.int64)
    if N > 1:
        gfull[:-1] = np.where(same, g_all, 0)
    max_gap = _segment_max(gfull, s, 0)
    last_day = np.where(has, day[np.minimum(s.starts + n - 1, max(N - 1, 0))] if N else 0, 0)
    first_day = np.where(has, day[np.minimum(s.starts, max(N - 1, 0))] if N else 0, 0)
    tail = np.where(has, wend - last_day, wend - wstart)
    head = np.where(has, first_day - wstart, 0)
    longest = np.maximum(np.maximum(max_gap, tail), head)

    # median gap: sort the gaps within patient
    sg = np.sort(gcode * (int(gap.max()) + 1) + gap) - gcode * (int(gap.max()) + 1) \
        if len(gap) else gap
    gstart = np.zeros(P, dtype=np.int64)
    np.cumsum(m[:-1], out=gstart[1:])
    med = np.full(P, np.nan)
    hm = m > 0
    if hm.any():
        lo_i = gstart[hm] + (m[hm] - 1) // 2
        hi_i = gstart[hm] + m[hm] // 2
        med[hm] = (sg[lo_i] + sg[hi_i]) / 2.0

    lapses = np.bincount(gcode, weights=gap > permissible_gap, minlength=P).astype(np.int64)

    # coverage (PDC with carry-forward): c_i = max(s_i, c_{i-1} + c)  ⇔  c_i − i·c = cummax(s_j − j·c)
    c = int(cover_days)
    if N:
        v = day - pos * c
        v0 = int(v.min())
        span = int(v.max()) - v0 + 1
        f = np.maximum.accumulate((v - v0) + code * span) - code * span + v0
        supply_start = f + pos * c
        we = wend[code]
        covered = np.clip(np.minimum(supply_start + c, we) - np.minimum(supply_start, we), 0, None)
        cov_days = np.bincount(code, weights=covered, minlength=P)
    else:
        cov_days = np.zeros(P)
    coverage = np.minimum(cov_days / (wend - wstart), 1.0)

    # protocol adherence
    L = protocol.loading_sessions
    loading = (gpos + 1) < L
    e = np.where(loading, protocol.loading_interval, protocol.maintenance_interval)
    t = np.where(loading, protocol.loading_tolerance, protocol.maintenance_tolerance)
    missed = np.maximum((gap - t - 1) // e, 0)
    on_time = np.abs(gap - (missed + 1) * e) <= t
    tl = n < L
    te = np.where(tl, protocol.loading_interval, protocol.maintenance_interval)
    tt = np.where(tl, protocol.loading_tolerance, protocol.maintenance_tolerance)
    tail_missed = np.where(has, np.maximum((tail - tt - 1) // te, 0), 0)
    n_missed = np.bincount(gcode, weights=missed, minlength=P).astype(np.int64) + tail_missed
    n_on_time = np.bincount(gcode, weights=on_time, minlength=P).astype(np.int64)
    n_due = m + n_missed
    with np.errstate(invalid="ignore", divide="ignore"):
        adherence = np.where(n_due > 0, n_on_time / np.maximum(n_due, 1), np.nan)
    done = n >= L
    to_load = np.full(P, np.nan)
    if done.any():
        to_load[done] = day[s.starts[done] + L - 1] - day[s.starts[done]]

    return {
        "mean_gap": mean_gap,
        "median_gap": med,
        "longest_gap": longest.astype(np.int64),
        "tail_gap": np.where(has, tail, np.nan),
        "interval_cv": cv,
        "lapses": lapses,
        "coverage": coverage,
        "regular": coverage >= 0.8,
        "n_due": n_due.astype(np.int64),
        "n_on_time": n_on_time,
        "n_missed": n_missed.astype(np.int64),
        "adherence": adherence,
        "days_to_complete_loading": to_load,
    }


_SUMMARY = {
    "n_sessions": "sessions in the window",
    "sessions_per_month": "sessions per month",
    "mean_gap": "mean gap (days)",
    "longest_gap": "longest gap (days)",
    "interval_cv": "interval CV",
    "lapses": "lapses",
    "coverage": "coverage",
    "regular": "regular (coverage ≥ 0.8), share",
    "adherence": "protocol adherence",
    "days_to_complete_loading": "days to complete loading",
}


def summarise(metrics: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Cohort summary of :func:`patient_metrics`, one row per metric (and group).

    Parameters
    ----------
    metrics : DataFrame
        The result of :func:`patient_metrics` (extra columns are ignored).
    by : str, optional
        A column of ``metrics`` to summarise by (e.g. ``"phase_reached"`` or a covariate merged in).

    Returns
    -------
    DataFrame
        ``[by,] metric, label, n, mean, sd, q1, median, q3`` — ``n`` counts patients with a value
        (the CV is missing below 3 sessions); ``sd`` is the sample SD (ddof = 1); quartiles are
        linear-interpolated (numpy's default). For ``regular`` the mean is the share of patients.
    """
    present = [c for c in _SUMMARY if c in metrics.columns]
    if not present:
        raise ValueError("`metrics` must be the result of patient_metrics (no metric column found).")
    if by is not None and by not in metrics.columns:
        raise ValueError(f"The value for `by` must be one of {list(metrics.columns)}, but {by!r} "
                         "was passed.")
    long = metrics[present].astype("float64").melt(var_name="metric")
    keys = ["metric"]
    if by is not None:
        long.insert(0, by, np.tile(metrics[by].to_numpy(), len(present)))
        keys = [by, "metric"]
    grouped = long.dropna(subset=["value"]).groupby(keys, observed=True, sort=False)["value"]
    out = grouped.agg(n="count", mean="mean", sd="std",
                      q1=lambda v: v.quantile(0.25), median="median",
                      q3=lambda v: v.quantile(0.75)).reset_index()
    out.insert(len(keys), "label", out["metric"].map(_SUMMARY))
    out["n"] = out["n"].astype(np.int64)
    if by is not None:
        out = out.sort_values(by, kind="stable", ignore_index=True)
    return out


# ---------------------------------------------------------------------------------------------------
# per assessment
# ---------------------------------------------------------------------------------------------------

def exposure_at(assessments: pd.DataFrame, sessions: pd.DataFrame, *, treatments=None,
                recent_days: int = 90) -> pd.DataFrame:
    """Sessions received before each assessment (the time-varying exposure).

    Parameters
    ----------
    assessments : DataFrame
        ``patient_id``, ``date`` (any other columns are ignored).
    sessions : DataFrame
        ``patient_id``, ``date`` (and ``treatment`` when ``treatments`` is given).
    treatments : str or list of str, optional
        Count only these treatments (case-insensitive).
    recent_days : int
        Length of the recent window (default 90 days).

    Returns
    -------
    DataFrame
        Same index as ``assessments``, one row per assessment dated ``a``:

        - ``sessions_before``: distinct session days ``s`` of the patient with ``s < a`` — strictly
          before, because an assessment dated on a session day was taken before that session.
        - ``days_since_last`` = a − max{s < a} (NaN when there is none).
        - ``sessions_prev_90d`` (``sessions_prev_{recent_days}d``): sessions with a − 90 ≤ s < a.
        - ``t0``: the patient's first session (NaT without sessions), and ``days_since_t0`` = a − t0
          (negative for an assessment before the first session, e.g. a baseline rating).
    """
    _require(assessments, ["patient_id", "date"], "assessments")
    if not isinstance(recent_days, (int, np.integer)) or recent_days < 1:
        raise ValueError(f"The value for `recent_days` must be a positive whole number of days, but "
                         f"{recent_days!r} was passed.")
    s, universe, unit = _prepare(sessions, treatments)
    aday = _days(assessments["date"], "assessments")
    acode = universe.get_indexer(assessments["patient_id"].astype("str"))
    if s.n_patients == 0:  # no sessions at all (e.g. none of the requested treatment)
        s = _Sorted(np.zeros(1, np.int64), np.zeros(1, np.int64), 1).select(np.zeros(1, bool))
        acode = np.full(len(aday), -1)
    known = acode >= 0
    lo = min(int(aday.min()) if len(aday) else 0, int(s.day.min()) if len(s.day) else 0)
    lo -= recent_days + 1
    hi = max(int(aday.max()) if len(aday) else 0, int(s.day.max()) if len(s.day) else 0) + 1
    span = hi - lo + 1
    skey = s.code * span + (s.day - lo)
    ac = np.where(known, acode, 0)
    akey = ac * span + (aday - lo)
    before = np.searchsorted(skey, akey, side="left")
    recent = np.searchsorted(skey, akey - recent_days, side="left")
    start = s.starts[ac]
    n_before = np.where(known, before - start, 0)
    n_recent = np.where(known, before - np.maximum(recent, start), 0)
    has_prev = n_before > 0
    prev_day = s.day[np.maximum(before - 1, 0)] if len(s.day) else np.zeros(len(aday), np.int64)
    has_t0 = known & (s.counts[ac] > 0)
    t0 = s.day[np.minimum(start, max(len(s.day) - 1, 0))] if len(s.day) else np.zeros_like(aday)
    return pd.DataFrame({
        "sessions_before": n_before.astype(np.int64),
        "days_since_last": np.where(has_prev, aday - prev_day, np.nan),
        f"sessions_prev_{recent_days}d": n_recent.astype(np.int64),
        "days_since_t0": np.where(has_t0, aday - t0, np.nan),
        "t0": _to_dates(t0, unit, ~has_t0),
    }, index=assessments.index)
