"""Persistence: how long patients keep coming at all (docs/methods.md §2).

:func:`persistence` — per patient, the time from the first session to discontinuation (the first
gap longer than a permissible gap), censored at the data end; :func:`persistence_curve` — its
Kaplan–Meier curve. The conventions (whole days, same-day sessions as one, the data end) are those of
:mod:`outcomes.tables.attendance`, whose sorted-array machinery this module uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import RecordsError
from .attendance import _data_end_day, _prepare, _to_dates

__all__ = ["persistence", "persistence_curve"]


def persistence(sessions: pd.DataFrame, *, permissible_gap: int = 45, data_end=None,
                treatments=None) -> pd.DataFrame:
    """Time from the first session to discontinuation, censored at the data end.

    A patient *discontinues* at the first gap longer than ``permissible_gap`` days — between two
    sessions, or from the last session to the data end. Following the refill-gap (permissible-gap)
    convention of persistence studies (Cramer 2008), the discontinuation date is the last session
    before that gap plus the permissible gap: the first day on which the lapse is certain. So

    - event (1): ``time_days = s_last + permissible_gap − t0``, where ``s_last`` is the last session
      before the first gap ``> permissible_gap``;
    - censored (0): no such gap up to the data end, ``time_days = data_end + 1 − t0`` (days observed).

    Event times are never later than the data end, and a patient with one session who never came
    back has ``time_days = permissible_gap``.

    Parameters
    ----------
    sessions : DataFrame
        ``patient_id``, ``date`` (and ``treatment`` when ``treatments`` is given).
    permissible_gap : int
        Longest gap (days) that still counts as continuing (default 45).
    data_end : date-like, optional
        Last day covered by the records (inclusive); default the last session date (all
        treatments). Sessions after it are ignored.
    treatments : str or list of str, optional
        Count only these treatments (case-insensitive).

    Returns
    -------
    DataFrame
        One row per patient, sorted by ``patient_id``: ``patient_id``, ``t0``, ``last_persistent``
        (``s_last``, or the last session when censored), ``n_persistent`` (sessions up to it),
        ``discontinued_on`` (NaT when censored), ``time_days``, ``event``.
    """
    if not isinstance(permissible_gap, (int, np.integer)) or permissible_gap < 1:
        raise ValueError(f"The value for `permissible_gap` must be a positive whole number of days, "
                         f"but {permissible_gap!r} was passed.")
    end = _data_end_day(sessions, data_end) + 1
    s, universe, unit = _prepare(sessions, treatments)
    if len(s.day) and (s.day >= end).any():
        s = s.select(s.day < end)
    keep = s.counts > 0
    P, N = s.n_patients, len(s.day)
    pos = np.arange(N) - s.starts[s.code]
    # per session: the gap that follows it (to the next session of the patient, or to the data end)
    nxt = np.full(N, end, dtype=np.int64)
    if N > 1:
        same = s.code[1:] == s.code[:-1]
        nxt[:-1] = np.where(same, s.day[1:], end)
    lapse = (nxt - s.day) > permissible_gap
    # first lapse per patient: minimum position with a lapse (N as "none")
    cand = np.where(lapse, pos, N)
    first_lapse = np.full(P, N, dtype=np.int64)
    if keep.any():
        first_lapse[keep] = np.minimum.reduceat(cand, s.starts[keep])
    event = keep & (first_lapse < N)
    last_i = np.where(event, s.starts + first_lapse, s.starts + s.counts - 1)
    last_i = np.clip(last_i, 0, max(N - 1, 0))
    day0 = s.day if N else np.zeros(1, np.int64)
    t0 = day0[np.minimum(s.starts, len(day0) - 1)]
    s_last = day0[last_i]
    time = np.where(event, s_last + permissible_gap - t0, end - t0)
    out = pd.DataFrame({
        "patient_id": universe.to_numpy(),
        "t0": _to_dates(t0, unit),
        "last_persistent": _to_dates(s_last, unit),
        "n_persistent": np.where(event, first_lapse + 1, s.counts).astype(np.int64),
        "discontinued_on": _to_dates(s_last + permissible_gap, unit, ~event),
        "time_days": time.astype(np.int64),
        "event": event.astype(np.int64),
    })
    return out[keep].reset_index(drop=True)


def persistence_curve(data: pd.DataFrame, *, permissible_gap: int = 45, data_end=None,
                      treatments=None, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curve of persistence (statsmodels ``SurvfuncRight``).

    Parameters
    ----------
    data : DataFrame
        Either the result of :func:`persistence` (columns ``time_days``, ``event``) or a sessions
        table, in which case :func:`persistence` is computed first with the other options.
    alpha : float
        1 − confidence level of the pointwise band (default 0.05 → 95 %).

    Returns
    -------
    DataFrame
        One row at time 0 (survival 1) and one per distinct event time: ``time`` (days since the
        first session), ``survival`` = Π (1 − d_j / n_j) over event times ≤ time, ``ci_low``,
        ``ci_high``, ``at_risk`` (n_j, patients still followed just before ``time``), ``events``
        (d_j). The band uses the log–log transform of the Greenwood variance
        (Kalbfleisch & Prentice): with V = Σ d_j / (n_j (n_j − d_j)),
        ``S^exp(± z √V / log S)`` — it stays inside [0, 1]. Where S = 0 or S = 1 the band
        collapses to S (and is NaN after a last interval that ends at 0).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    if not 0 < alpha < 1:
        raise ValueError(f"The value for `alpha` must be between 0 and 1, but {alpha!r} was passed.")
    if {"time_days", "event"} <= set(data.columns):
        table = data
    else:
        table = persistence(data, permissible_gap=permissible_gap, data_end=data_end,
                            treatments=treatments)
    if len(table) == 0:
        raise RecordsError("There are no patients with sessions to draw a persistence curve from.")
    sf = SurvfuncRight(table["time_days"].to_numpy(dtype=float), table["event"].to_numpy(dtype=int))
    surv = np.asarray(sf.surv_prob, dtype=float)
    n_risk = np.asarray(sf.n_risk, dtype=float)
    d = np.asarray(sf.n_events, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(d / (n_risk * (n_risk - d)))
        z = _z(alpha)
        se_ll = np.sqrt(greenwood) / np.abs(np.log(surv))
        lo = surv ** np.exp(z * se_ll)
        hi = surv ** np.exp(-z * se_ll)
    flat = (surv >= 1) | (surv <= 0)
    lo = np.where(flat, surv, lo)
    hi = np.where(flat, surv, hi)
    first = pd.DataFrame({"time": [0.0], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0],
                          "at_risk": [len(table)], "events": [0]})
    rest = pd.DataFrame({"time": np.asarray(sf.surv_times, dtype=float), "survival": surv,
                         "ci_low": lo, "ci_high": hi, "at_risk": n_risk.astype(np.int64),
                         "events": d.astype(np.int64)})
    if len(rest) and rest["time"].iloc[0] == 0:
        first = first.iloc[0:0]
    return pd.concat([first, rest], ignore_index=True)


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))

