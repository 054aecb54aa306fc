"""Treatment schedules as data: the strategies the schedule comparison emulates a trial of.

A *strategy* is a schedule with grace windows, counted from the patient's first session (t0):
after the k-th session the next one must come within ``[previous + interval − tolerance,
previous + interval + tolerance]`` (both ends inclusive). A record *follows* a strategy while each
next session comes inside its window; it *deviates* at a session that comes too early, or on the
day a window closes with no session. ``single`` allows no further session before the landmark.
The schedule engine is :class:`outcomes.attendance.Protocol` (the same rule as protocol
adherence), so there is one definition of "on schedule" in the package.

Defaults (docs/methods.md §4):

=================  ====================================================================
``protocol``       3 loading sessions 28 ± 7 days apart, then one every 91 ± 21 days
``every_2_months`` one every 61 ± 10 days
``monthly``        one every 30 ± 7 days
``single``         the first session only, no further session before the landmark
=================  ====================================================================

Users declare their own in ``dataset.toml``::

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
single-session strategy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RecordsError
from ..records.scales import read_toml
from .attendance import Protocol

__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGY_KEYS",
    "Strategy",
    "default_strategies",
    "parse_strategy",
    "read_strategies",
]

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
            raise RecordsError(f"A strategy name must be letters, digits and `_`, but "
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


def default_strategies() -> dict[str, Strategy]:
    """The four default strategies (see the module docstring), a new dict each call."""
    return {
        "protocol": Strategy("protocol", Protocol(), "the clinic's protocol: 3 sessions 28 ± 7 "
                             "days apart, then one every 91 ± 21 days"),
        "every_2_months": Strategy("every_2_months", Protocol.every(61, 10),
                                   "every two months (61 ± 10 days)"),
        "monthly": Strategy("monthly", Protocol.every(30, 7), "monthly (30 ± 7 days)"),
        "single": Strategy("single", None, "a single session, none after it before the review"),
    }


#: Names of the default strategies, in the order they are reported.
DEFAULT_STRATEGIES = tuple(default_strategies())


def _whole(where: str, key: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecordsError(f"{where}: `{key}` must be a whole number of "
                           f"{'sessions' if key == 'loading_sessions' else 'days'}, but "
                           f"{value!r} was given.")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number) or number < low:
        raise RecordsError(f"{where}: `{key}` must be a whole number ≥ {low}, but {value!r} was "
                           "given.")
    return int(number)


def strategy_from_spec(name: str, spec: dict, *, where: str = "strategy") -> Strategy:
    """Build a :class:`Strategy` from a dict of :data:`STRATEGY_KEYS` (``dataset.toml`` form).

    Raises
    ------
    RecordsError
        Naming the key, what is allowed and what was given.
    """
    where = f"{where} {name!r}"
    unknown = [k for k in spec if k not in STRATEGY_KEYS]
    if unknown:
        raise RecordsError(f"{where}: unknown key(s) {unknown}; the allowed keys are "
                           f"{list(STRATEGY_KEYS)} (e.g. every = 42, tolerance = 7).")
    if spec.get("single") not in (None, False):
        if spec.get("single") is not True and str(spec.get("single")).lower() != "true":
            raise RecordsError(f"{where}: `single` must be true, but {spec['single']!r} was given.")
        if len(spec) > 1:
            raise RecordsError(f"{where}: `single` stands alone (a single session has no "
                               "interval); remove the other keys.")
        return Strategy(name, None)
    if "every" not in spec:
        raise RecordsError(f"{where}: `every` (days between sessions) is required, e.g. "
                           "every = 42, tolerance = 7; or single = true.")
    every = _whole(where, "every", spec["every"], 1)
    tol = _whole(where, "tolerance", spec.get("tolerance", 0), 0)
    loading = {k: spec[k] for k in ("loading_sessions", "loading_every", "loading_tolerance")
               if k in spec}
    n_load = _whole(where, "loading_sessions", loading.get("loading_sessions", 1), 1)
    if n_load > 1 and "loading_every" not in loading:
        raise RecordsError(f"{where}: `loading_sessions` = {n_load} needs `loading_every` (days "
                           "between loading sessions) and `loading_tolerance`.")
    load_every = _whole(where, "loading_every", loading.get("loading_every", 28), 1)
    load_tol = _whole(where, "loading_tolerance", loading.get("loading_tolerance", 0), 0)
    try:
        protocol = Protocol(loading_sessions=n_load, loading_interval=load_every,
                            loading_tolerance=load_tol, maintenance_interval=every,
                            maintenance_tolerance=tol)
    except ValueError as exc:
        raise RecordsError(f"{where}: {exc} A tolerance must be smaller than its interval.") \
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
        raise RecordsError(f"--strategy must look like NAME=SPEC (e.g. six_weekly=every:42,"
                           f"tolerance:7 or once=single), but {text!r} was given.")
    spec = spec.strip()
    if spec.lower() == "single":
        return strategy_from_spec(name, {"single": True}, where="--strategy")
    pairs = {}
    for part in spec.split(","):
        key, sep2, value = part.replace("=", ":", 1).partition(":")
        if not sep2:
            raise RecordsError(f"--strategy {name!r}: {part!r} is not key:value; the keys are "
                               f"{list(STRATEGY_KEYS)} (e.g. every:42,tolerance:7).")
        pairs[key.strip()] = value.strip()
    return strategy_from_spec(name, pairs, where="--strategy")


def read_strategies(path: str | Path | None) -> dict[str, Strategy]:
    """The default strategies plus those declared in ``dataset.toml`` (``[strategies.NAME]``);
    a declared strategy replaces a default of the same name."""
    strategies = default_strategies()
    doc = read_toml(path, fix="Fix the file or remove [strategies] to compare the defaults.")
    if doc is None:
        return strategies
    path = Path(path)
    declared = doc.get("strategies", {})
    if not isinstance(declared, dict):
        raise RecordsError(f"{path.name}: `strategies` must be tables like [strategies.NAME].")
    for name, spec in declared.items():
        if not isinstance(spec, dict):
            raise RecordsError(f"{path.name}: [strategies.{name}] must be a table with keys "
                               f"{list(STRATEGY_KEYS)}.")
        strategies[name] = strategy_from_spec(name, spec, where=f"{path.name}: strategy")
    return strategies
