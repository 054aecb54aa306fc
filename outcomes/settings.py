"""The clinic's question as settings: one frozen, validated object (docs/methods.md §3.1).

:class:`Settings` is the one place the defaults live and the one checker of what a setting may
be. Every entry point — the command line, the notebooks, the report, the widgets — builds one and
hands it to :class:`outcomes.analysis.Analysis`, which derives every table from it; estimators
take the tables and these settings, never records plus keywords. A setting that cannot be is a
:class:`~outcomes.errors.SettingError` naming the setting, what is allowed, the value passed and,
when one is close, the value probably meant::

    >>> Settings(region="forhead")                                        # doctest: +SKIP
    SettingError: The value for `region` must be one of ['face', 'nose', 'forehead', 'chin',
    'cheeks'], but 'forhead' was passed. Did you mean 'forehead'?

What the settings mean
----------------------
=================  ==========================================================================
``measure``        the rating analysed (``pore``, ``texture`` or one declared in dataset.toml)
``landmark_days``  L: the outcome is the rating closest to ``t0 + L`` (182: six months)
``window_days``    the landmark rating must fall within ``± window_days`` of ``t0 + L`` (45)
``baseline_days``  the baseline rating is the latest in ``[t0 − baseline_days, t0]`` (30)
``permissible_gap`` a gap between sessions longer than this is a *lapse* (45 days)
``region``         which ratings count: the region rated (``face``)
``rater``          … and who rated (``clinician``)
``treatments``     the treatments whose sessions count (and define t0); ``None`` = every one
``protocol``       the schedule protocol adherence is judged against (the clinic's protocol)
``strategies``     the schedules compared; ``None`` = the four defaults and dataset.toml's
``reference``      the schedule every other is compared with (``protocol``: the clinic's own)
``min_followers``  fewest *effective* followers (Kish) for a schedule to get a number (10);
                   below 40 the number is shown as a hint (fragile)
``washout_days``   schedules: a patient whose first session falls in the records' first
                   ``washout_days`` days may have been treated before them: not a new patient,
                   left out of the schedule comparison (90)
``treatment``      schedules: the treatment under study; only its sessions count (and set t0),
                   other treatments neither count nor deviate. ``None`` = ``[analysis]
                   treatment`` of dataset.toml, else the most frequent in the sessions
=================  ==========================================================================

Whether a measure, treatment or reference exists depends on the records: :class:`Analysis`
checks that when it meets them, with the same kind of message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from .errors import SettingError, did_you_mean
from .protocols import Protocol, Strategy
from .records.contract import CATEGORIES

__all__ = ["Settings", "choice"]


def choice(name: str, value, options) -> None:
    """Raise a :class:`SettingError` unless ``value`` is one of ``options``."""
    options = list(options)
    if value not in options:
        raise SettingError(f"The value for `{name}` must be one of {options}, but {value!r} was "
                           f"passed.{did_you_mean(value, options)}")


def _whole(name: str, value, low: int, unit: str = "days") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SettingError(f"The value for `{name}` must be a whole number of {unit} ≥ {low}, "
                           f"but {value!r} was passed.")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """The settings of one analysis; see the module docstring for what each means.

    Built once and validated when built; read-only (``settings.replace(landmark_days=120)``
    returns a new, validated object). Hashable, so it can key a cache.
    """

    measure: str = "pore"
    landmark_days: int = 182
    window_days: int = 45
    baseline_days: int = 30
    permissible_gap: int = 45
    region: str = "face"
    rater: str = "clinician"
    treatments: tuple[str, ...] | None = None
    protocol: Protocol = field(default_factory=Protocol)
    strategies: tuple[Strategy, ...] | None = None
    reference: str = "protocol"
    min_followers: int = 10
    washout_days: int = 90
    treatment: str | None = None

    def __post_init__(self):
        if not isinstance(self.measure, str) or not self.measure.strip():
            raise SettingError(f"The value for `measure` must be the name of a measure, e.g. "
                               f"'pore' or 'texture', but {self.measure!r} was passed.")
        self._set("landmark_days", _whole("landmark_days", self.landmark_days, 1))
        self._set("window_days", _whole("window_days", self.window_days, 0))
        if self.window_days >= self.landmark_days:
            raise SettingError(f"The value for `window_days` must be below `landmark_days` "
                               f"({self.landmark_days}), or the landmark window would reach back "
                               f"to the first session, but {self.window_days!r} was passed.")
        self._set("baseline_days", _whole("baseline_days", self.baseline_days, 0))
        self._set("permissible_gap", _whole("permissible_gap", self.permissible_gap, 1))
        choice("region", self.region, CATEGORIES["region"])
        choice("rater", self.rater, CATEGORIES["rater"])
        self._set("treatments", _treatments(self.treatments))
        if not isinstance(self.protocol, Protocol):
            raise SettingError(f"The value for `protocol` must be an outcomes.protocols.Protocol, "
                               f"e.g. Protocol(loading_sessions=3), but {self.protocol!r} was "
                               "passed.")
        self._set("strategies", _strategies(self.strategies))
        if not isinstance(self.reference, str):
            raise SettingError(f"The value for `reference` must be the name of a schedule, but "
                               f"{self.reference!r} was passed.")
        if self.strategies is not None:
            choice("reference", self.reference, [s.name for s in self.strategies])
        self._set("min_followers", _whole("min_followers", self.min_followers, 1, "patients"))
        self._set("washout_days", _whole("washout_days", self.washout_days, 0))
        if self.treatment is not None:
            if not isinstance(self.treatment, str) or not self.treatment.strip():
                raise SettingError(f"The value for `treatment` must be the name of one treatment, "
                                   f"e.g. 'microneedling', but {self.treatment!r} was passed.")
            self._set("treatment", self.treatment.strip().lower())

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    @classmethod
    def names(cls) -> list[str]:
        """The settings' names, in their order."""
        return [f.name for f in fields(cls)]

    def replace(self, **changes) -> Settings:
        """A new :class:`Settings` with ``changes`` (validated); an unknown name is a
        :class:`SettingError` naming the settings there are."""
        unknown = [name for name in changes if name not in self.names()]
        if unknown:
            choice("setting", unknown[0], self.names())
        return replace(self, **changes)

    @property
    def strategy_map(self) -> dict[str, Strategy]:
        """The strategies by name (empty until resolved against the records)."""
        return {s.name: s for s in self.strategies or ()}


def _treatments(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else value
    try:
        items = tuple(items)
    except TypeError:
        items = (value,)
    if not items or not all(isinstance(t, str) and t.strip() for t in items):
        raise SettingError(f"The value for `treatments` must be a treatment name or a list of "
                           f"them, e.g. ['microneedling'], but {value!r} was passed.")
    return tuple(dict.fromkeys(t.strip().lower() for t in items))


def _strategies(value) -> tuple[Strategy, ...] | None:
    if value is None:
        return None
    items = list(value.values()) if isinstance(value, dict) else list(value)
    bad = [s for s in items if not isinstance(s, Strategy)]
    if bad:
        raise SettingError(f"The value for `strategies` must hold outcomes.protocols.Strategy "
                           f"objects, but {bad[0]!r} was passed.")
    if len(items) < 2:
        raise SettingError(f"The value for `strategies` must hold at least two schedules to "
                           f"compare, but {len(items)} was passed.")
    names = [s.name for s in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SettingError(f"The value for `strategies` names {twice} more than once: give each "
                           "schedule its own name.")
    return tuple(items)
