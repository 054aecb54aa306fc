"""Schedules as data: the clinic's protocol and the strategies the schedule comparison emulates.

A :class:`Protocol` is a schedule with grace windows — a loading phase, then maintenance: after
the k-th session the next one is on time within ``[previous + interval − tolerance, previous +
interval + tolerance]`` (both ends inclusive). It is the one definition of "on schedule" in the
package: protocol adherence (:mod:`outcomes.tables.attendance`) and the schedule comparison
(:mod:`outcomes.estimate.schedules`) both use it.

A :class:`Strategy` is a named schedule, counted from the patient's first session (t0). A record
*follows* a strategy while each next session comes inside its window; it *deviates* at a session
that comes too early, or on the day a window closes with no session. ``single`` allows no further
session before the landmark.

Defaults (docs/methods.md §4):

=================  ====================================================================
``protocol``       3 loading sessions 28 ± 7 days apart, then one every 91 ± 21 days
``every_2_months`` one every 61 ± 10 days
``monthly``        one every 30 ± 7 days
``single``         the first session only, no further session before the landmark
=================  ====================================================================

Users declare their own in ``dataset.toml`` (read by :mod:`outcomes.records.dataset`)::

    [strategies.six_weekly]
    every = 42
    tolerance = 7

    [strategies.loading_then_two_monthly]
    loading_sessions = 3
    loading_every = 28
    loading_tolerance = 7
    every = 61
    tolerance = 10

or on the command line as ``--strategy six_weekly=every:42,tolerance:7`` (``single`` for a
single-session strategy). A schedule that cannot be is a :class:`~outcomes.errors.SettingError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import SettingError

__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGY_KEYS",
    "Protocol",
    "Strategy",
    "default_strategies",
    "parse_strategy",
    "strategy_from_spec",
]


@dataclass(frozen=True)
class Protocol:
    """A treatment protocol: a loading phase, then maintenance (docs/methods.md §2).

    The default is the clinic's microneedling protocol: 3 loading sessions every 28 ± 7 days, then one
    session every 91 ± 21 days (3–4 a year).

    Parameters
    ----------
    loading_sessions : int
        Sessions in the loading phase, the first session included (default 3).
    loading_interval, loading_tolerance : int
        Days from one loading session to the next, and the tolerance either side (28 ± 7).
    maintenance_interval, maintenance_tolerance : int
        Days between maintenance sessions and the tolerance either side (91 ± 21).

    Notes
    -----
    How the schedule is applied (see :func:`patient_metrics`): the clock starts at the patient's first
    session in the window. After the k-th session received, the next session is *due* ``interval``
    days later, with the loading interval while ``k < loading_sessions`` and the maintenance interval
    afterwards. It is *on time* when it falls within ``due ± tolerance``. If no session comes before the
    tolerance closes, that due session is *missed* and the next one is due one interval later (the
    phase does not advance on a missed session). Any session restarts the clock.
    """

    loading_sessions: int = 3
    loading_interval: int = 28
    loading_tolerance: int = 7
    maintenance_interval: int = 91
    maintenance_tolerance: int = 21

    def __post_init__(self):
        for name in ("loading_sessions", "loading_interval", "maintenance_interval"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise SettingError(f"The value for `{name}` must be a positive whole number of "
                                 f"{'sessions' if name == 'loading_sessions' else 'days'}, "
                                 f"but {value!r} was passed.")
        for phase in ("loading", "maintenance"):
            tol, interval = getattr(self, f"{phase}_tolerance"), getattr(self, f"{phase}_interval")
            if not isinstance(tol, (int, np.integer)) or not 0 <= tol < interval:
                raise SettingError(f"The value for `{phase}_tolerance` must be a whole number of days "
                                 f"from 0 to {interval - 1} (below the interval), but {tol!r} was "
                                 "passed.")

    @classmethod
    def every(cls, days: int, tolerance: int) -> Protocol:
        """One session every ``days ± tolerance`` days from the first session on (no loading
        phase): ``Protocol.every(61, 10)`` is "every two months"."""
        return cls(loading_sessions=1, maintenance_interval=days, maintenance_tolerance=tolerance)

    def window(self, received: int) -> tuple[int, int]:
        """Days after the ``received``-th session (1 = the first) in which the next one is on time.

        Returns ``(earliest, latest)``, both inclusive: ``interval ± tolerance`` with the loading
        interval while ``received < loading_sessions`` and the maintenance interval afterwards —
        the same rule :func:`patient_metrics` uses for adherence.
        """
        if received < self.loading_sessions:
            interval, tol = self.loading_interval, self.loading_tolerance
        else:
            interval, tol = self.maintenance_interval, self.maintenance_tolerance
        return interval - tol, interval + tol

    def describe(self) -> str:
        """The schedule in words, e.g. ``"3 sessions 28 ± 7 days apart, then one every 91 ± 21
        days"``."""
        maintenance = f"one every {self.maintenance_interval} ± {self.maintenance_tolerance} days"
        if self.loading_sessions <= 1:
            return maintenance
        return (f"{self.loading_sessions} sessions {self.loading_interval} ± "
                f"{self.loading_tolerance} days apart, then {maintenance}")


#: Keys a strategy may have in ``dataset.toml`` or in ``--strategy NAME=SPEC``.
STRATEGY_KEYS = ("every", "tolerance", "loading_sessions", "loading_every", "loading_tolerance",
                 "single")


@dataclass(frozen=True)
class Strategy:
    """A named schedule with grace windows.

    Parameters
    ----------
    name : str
        Identifier (letters, digits, ``_``), used in tables and as ``term`` in results.
    protocol : Protocol or None
        The schedule; ``None`` means a single session (no further session before the landmark).
    label : str, optional
        Plain-language description; default from the schedule.
    """

    name: str
    protocol: Protocol | None
    label: str = ""

    def __post_init__(self):
        if not self.name or not all(c.isalnum() or c == "_" for c in self.name):
            raise SettingError(f"A strategy name must be letters, digits and `_`, but "
                               f"{self.name!r} was given.")
        if not self.label:
            object.__setattr__(self, "label", self.describe())

    @property
    def single(self) -> bool:
        return self.protocol is None

    def describe(self) -> str:
        if self.protocol is None:
            return "a single session, none after it before the review"
        return self.protocol.describe()

    def short(self) -> str:
        """A compact description for figure labels, e.g. ``"3 × 28±7 d, then 91±21 d"``."""
        p = self.protocol
        if p is None:
            return "first session only"
        every = f"every {p.maintenance_interval}±{p.maintenance_tolerance} d"
        if p.loading_sessions <= 1:
            return every
        return (f"{p.loading_sessions} × {p.loading_interval}±{p.loading_tolerance} d, then "
                f"{every}")

    def window(self, received: int) -> tuple[int, int] | None:
        """Days after the ``received``-th session in which the next must come (inclusive), or
        ``None`` when the strategy allows no further session."""
        if self.protocol is None:
            return None
        return self.protocol.window(received)

    def nominal_days(self, horizon: float) -> np.ndarray:
        """Session days (since t0, t0 = 0) when every session comes exactly on its due day,
        up to but excluding ``horizon``."""
        days = [0]
        while self.protocol is not None:
            lo, hi = self.window(len(days))
            nxt = days[-1] + (lo + hi) // 2
            if nxt >= horizon:
                break
            days.append(nxt)
        return np.asarray(days, dtype=np.int64)


def default_strategies(protocol: Protocol | None = None) -> dict[str, Strategy]:
    """The four default strategies (see the module docstring), a new dict each call;
    ``protocol`` is the clinic's protocol (default :class:`Protocol`'s: 3 sessions 28 ± 7 days
    apart, then one every 91 ± 21 days), which the strategy ``protocol`` follows."""
    protocol = Protocol() if protocol is None else protocol
    return {
        "protocol": Strategy("protocol", protocol, f"the clinic's protocol: {protocol.describe()}"),
        "every_2_months": Strategy("every_2_months", Protocol.every(61, 10),
                                   "every two months (61 ± 10 days)"),
        "monthly": Strategy("monthly", Protocol.every(30, 7), "monthly (30 ± 7 days)"),
        "single": Strategy("single", None, "a single session, none after it before the review"),
    }


#: Names of the default strategies, in the order they are reported.
DEFAULT_STRATEGIES = tuple(default_strategies())


def _whole(where: str, key: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SettingError(f"{where}: `{key}` must be a whole number of "
                           f"{'sessions' if key == 'loading_sessions' else 'days'}, but "
                           f"{value!r} was given.")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number) or number < low:
        raise SettingError(f"{where}: `{key}` must be a whole number ≥ {low}, but {value!r} was "
                           "given.")
    return int(number)


def strategy_from_spec(name: str, spec: dict, *, where: str = "strategy") -> Strategy:
    """Build a :class:`Strategy` from a dict of :data:`STRATEGY_KEYS` (``dataset.toml`` form).

    Raises
    ------
    SettingError
        Naming the key, what is allowed and what was given.
    """
    where = f"{where} {name!r}"
    unknown = [k for k in spec if k not in STRATEGY_KEYS]
    if unknown:
        raise SettingError(f"{where}: unknown key(s) {unknown}; the allowed keys are "
                           f"{list(STRATEGY_KEYS)} (e.g. every = 42, tolerance = 7).")
    if spec.get("single") not in (None, False):
        if spec.get("single") is not True and str(spec.get("single")).lower() != "true":
            raise SettingError(f"{where}: `single` must be true, but {spec['single']!r} was given.")
        if len(spec) > 1:
            raise SettingError(f"{where}: `single` stands alone (a single session has no "
                               "interval); remove the other keys.")
        return Strategy(name, None)
    if "every" not in spec:
        raise SettingError(f"{where}: `every` (days between sessions) is required, e.g. "
                           "every = 42, tolerance = 7; or single = true.")
    every = _whole(where, "every", spec["every"], 1)
    tol = _whole(where, "tolerance", spec.get("tolerance", 0), 0)
    loading = {k: spec[k] for k in ("loading_sessions", "loading_every", "loading_tolerance")
               if k in spec}
    n_load = _whole(where, "loading_sessions", loading.get("loading_sessions", 1), 1)
    if n_load > 1 and "loading_every" not in loading:
        raise SettingError(f"{where}: `loading_sessions` = {n_load} needs `loading_every` (days "
                           "between loading sessions) and `loading_tolerance`.")
    load_every = _whole(where, "loading_every", loading.get("loading_every", 28), 1)
    load_tol = _whole(where, "loading_tolerance", loading.get("loading_tolerance", 0), 0)
    try:
        protocol = Protocol(loading_sessions=n_load, loading_interval=load_every,
                            loading_tolerance=load_tol, maintenance_interval=every,
                            maintenance_tolerance=tol)
    except SettingError as exc:
        raise SettingError(f"{where}: {exc} A tolerance must be smaller than its interval.") \
            from None
    return Strategy(name, protocol)


def parse_strategy(text: str) -> Strategy:
    """Parse ``NAME=SPEC`` from the command line.

    ``SPEC`` is ``single`` or comma-separated ``key:value`` (or ``key=value``) pairs of
    :data:`STRATEGY_KEYS`, e.g. ``six_weekly=every:42,tolerance:7``.
    """
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec.strip():
        raise SettingError(f"--strategy must look like NAME=SPEC (e.g. six_weekly=every:42,"
                           f"tolerance:7 or once=single), but {text!r} was given.")
    spec = spec.strip()
    if spec.lower() == "single":
        return strategy_from_spec(name, {"single": True}, where="--strategy")
    pairs = {}
    for part in spec.split(","):
        key, sep2, value = part.replace("=", ":", 1).partition(":")
        if not sep2:
            raise SettingError(f"--strategy {name!r}: {part!r} is not key:value; the keys are "
                               f"{list(STRATEGY_KEYS)} (e.g. every:42,tolerance:7).")
        pairs[key.strip()] = value.strip()
    return strategy_from_spec(name, pairs, where="--strategy")
