"""The clinic's question as one object: settings validated once, derived tables computed once.

:class:`Analysis` is built from :class:`~outcomes.records.Records` and the question's settings
(measure, landmark, window, baseline window, region, rater, treatments, protocol, strategies,
reference schedule). It validates every setting up front — one :class:`RecordsError` naming the
setting, what is allowed and what was passed — and then derives, each once and on first use:

==========================  ===================================================================
``ratings``                 baseline, landmark and improvement of every patient (with status)
``sessions``                the sessions of the analysed treatments
``primary``                 the ratings of the measure by the chosen rater on the chosen region
``table``                   the analysis table (included patients, attendance, covariates)
``effects()``               naive, adjusted, adjusted + consistency, mixed (tidy rows)
``schedules()``             the schedule comparison (:mod:`outcomes.schedules`)
==========================  ===================================================================

Settings are read-only: :meth:`Analysis.with_settings` returns a new object (with its own,
empty caches), so a changed setting can never meet a stale table. The command line, the
notebooks, the report and the widgets all go through this object (docs/methods.md §3.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cached_property

import numpy as np
import pandas as pd

from .errors import RecordsError
from .records import Records
from .tables.attendance import Protocol
from .tables.ratings import RATERS, REGIONS, check_measure
from .tables.strategies import Strategy, read_strategies

__all__ = ["Analysis", "Settings", "effects"]


def effects(records: Records, *, measures=None, landmark_days: int = 182, window_days: int = 45,
            treatments=None, consistency: str = "adherence", mixed: bool = True) -> pd.DataFrame:
    """Every model of the effect of frequency (:func:`outcomes.models.effects`) with the
    weighting and ordinal rows of :func:`outcomes.robustness.extra_effect_rows` — what
    ``outcomes effects`` prints."""
    from .estimate.effects import effects as model_effects
    from .estimate.robustness import extra_effect_rows

    return model_effects(records, measures=measures, landmark_days=landmark_days,
                         window_days=window_days, treatments=treatments,
                         consistency=consistency, mixed=mixed, extra_rows=extra_effect_rows)


def _whole(name: str, value, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise RecordsError(f"The value for `{name}` must be a whole number of days ≥ {low}, but "
                           f"{value!r} was passed.")
    return int(value)


def _choice(name: str, value, options) -> None:
    if value not in options:
        raise RecordsError(f"The value for `{name}` must be one of {list(options)}, but "
                           f"{value!r} was passed.")


@dataclass(frozen=True)
class Settings:
    """The settings of one analysis (defaults from docs/methods.md §2 and §4)."""

    measure: str = "pore"
    landmark_days: int = 182
    window_days: int = 45
    baseline_days: int = 30
    region: str = "face"
    rater: str = "clinician"
    treatments: tuple[str, ...] | None = None
    protocol: Protocol = field(default_factory=Protocol)
    strategies: tuple[Strategy, ...] | None = None
    reference: str = "every_2_months"
    min_followers: int = 20


class Analysis:
    """One clinic question on one set of records.

    Parameters
    ----------
    records : Records
    measure : str, default "pore"
        A measure of the records (``pore``, ``texture`` or one declared in ``dataset.toml``).
    landmark_days, window_days, baseline_days : int
        L (182), the landmark window (± 45) and the baseline window (30 days up to t0).
    region, rater : str
        Which ratings are primary (``face``, ``clinician``).
    treatments : str or list of str, optional
        Count only these treatments (they also define t0); default every treatment.
    protocol : Protocol, optional
        The schedule for adherence (default the clinic's: 3 × 28 ± 7 days, then 91 ± 21).
    strategies : dict or list of Strategy, optional
        Schedules compared; default the four defaults plus those in the records'
        ``dataset.toml``.
    reference : str, default "every_2_months"
        The schedule the others are compared with.
    min_followers : int, default 20
        Fewest followers for a schedule to get a number.

    Examples
    --------
    >>> a = Analysis(records, measure="texture")                           # doctest: +SKIP
    >>> a.table.head()                                                     # doctest: +SKIP
    >>> a.schedules(boot=200).results                                      # doctest: +SKIP
    >>> a.with_settings(landmark_days=120).effects()                       # doctest: +SKIP
    """

    def __init__(self, records: Records, *, measure: str = "pore", landmark_days: int = 182,
                 window_days: int = 45, baseline_days: int = 30, region: str = "face",
                 rater: str = "clinician", treatments=None, protocol: Protocol | None = None,
                 strategies=None, reference: str = "every_2_months", min_followers: int = 20):
        if not isinstance(records, Records):
            raise RecordsError("An Analysis needs Records (from outcomes.load_records), but "
                               f"{type(records).__name__} was passed.")
        self.records = records
        self.measure_scale = check_measure(records, measure)
        _whole("landmark_days", landmark_days, 1)
        _whole("window_days", window_days)
        _whole("baseline_days", baseline_days)
        _choice("region", region, REGIONS)
        _choice("rater", rater, RATERS)
        if isinstance(treatments, str):
            treatments = (treatments,)
        treatments = None if treatments is None else tuple(str(t) for t in treatments)
        if treatments is not None:
            from .tables.ratings import select_sessions
            select_sessions(records, list(treatments))   # raises naming the treatments present
        if protocol is not None and not isinstance(protocol, Protocol):
            raise RecordsError(f"`protocol` must be an outcomes.attendance.Protocol, but "
                               f"{protocol!r} was passed.")
        resolved = self._strategies(records, strategies)
        _choice("reference", reference, list(resolved))
        if isinstance(min_followers, bool) or not isinstance(min_followers, (int, np.integer)) \
                or min_followers < 1:
            raise RecordsError(f"The value for `min_followers` must be a whole number ≥ 1, but "
                               f"{min_followers!r} was passed.")
        self.settings = Settings(measure, int(landmark_days), int(window_days),
                                 int(baseline_days), region, rater, treatments,
                                 protocol or Protocol(), tuple(resolved.values()), reference,
                                 int(min_followers))
        self._cache: dict = {}

    @staticmethod
    def _strategies(records, strategies) -> dict[str, Strategy]:
        if strategies is None:
            path = None if records.source is None else records.source / "dataset.toml"
            return read_strategies(path)
        items = strategies.values() if isinstance(strategies, dict) else strategies
        out = {}
        for s in items:
            if not isinstance(s, Strategy):
                raise RecordsError(f"`strategies` must hold Strategy objects, but {s!r} was "
                                   "passed.")
            out[s.name] = s
        if not out:
            raise RecordsError("`strategies` is empty: give at least two schedules to compare.")
        return out

    @classmethod
    def of(cls, records, **settings) -> Analysis:
        """The analysis of ``records`` with these settings, built once per records object and
        settings and reused (what the notebook views call, so that no helper rebuilds a table
        another has already derived). An :class:`Analysis` passed as ``records`` gives its own
        analysis with these settings changed. A records object whose tables are replaced gets a
        new analysis (the cache is keyed by the tables too)."""
        if isinstance(records, Analysis):
            base = records
            records = base.records
            settings = {**{k: v for k, v in vars(base.settings).items()
                           if k not in ("strategies",)}, **settings}
            if base.settings.treatments is not None and "treatments" not in settings:
                settings["treatments"] = list(base.settings.treatments)
        cache = records.__dict__.setdefault("_analyses", {})
        key = (id(records.sessions), id(records.assessments), id(records.patients),
               tuple(sorted((k, repr(v)) for k, v in settings.items())))
        if key not in cache:
            treatments = settings.pop("treatments", None)
            cache[key] = cls(records, treatments=treatments, **settings)
        return cache[key]

    # ------------------------------------------------------------------ settings
    def __getattr__(self, name):
        # settings read as attributes: a.measure, a.landmark_days, ...
        if name != "settings" and "settings" in self.__dict__ and \
                name in {f.name for f in fields(Settings)}:
            return getattr(self.settings, name)
        raise AttributeError(f"'Analysis' object has no attribute {name!r}")

    def __repr__(self) -> str:
        s = self.settings
        return (f"Analysis(measure={s.measure!r}, landmark_days={s.landmark_days}, "
                f"window_days={s.window_days}, region={s.region!r}, rater={s.rater!r}, "
                f"treatments={s.treatments!r}, patients={len(self.ratings)})")

    def with_settings(self, **changes) -> Analysis:
        """A new analysis of the same records with some settings changed (fresh caches)."""
        unknown = [k for k in changes if k not in {f.name for f in fields(Settings)}]
        if unknown:
            raise RecordsError(f"Unknown setting(s) {unknown}; the settings are "
                               f"{[f.name for f in fields(Settings)]}.")
        s = replace(self.settings, **{k: v for k, v in changes.items() if k != "strategies"})
        strategies = changes.get("strategies", s.strategies)
        return Analysis(self.records, measure=s.measure, landmark_days=s.landmark_days,
                        window_days=s.window_days, baseline_days=s.baseline_days,
                        region=s.region, rater=s.rater,
                        treatments=None if s.treatments is None else list(s.treatments),
                        protocol=s.protocol, strategies=strategies, reference=s.reference,
                        min_followers=s.min_followers)

    @property
    def strategies(self) -> dict[str, Strategy]:
        return {s.name: s for s in self.settings.strategies}

    @property
    def treatments(self):
        t = self.settings.treatments
        return None if t is None else list(t)

    # ------------------------------------------------------------------ derived tables
    @cached_property
    def sessions(self) -> pd.DataFrame:
        """Sessions of the analysed treatments."""
        from .tables.ratings import select_sessions
        return select_sessions(self.records, self.treatments)

    @cached_property
    def primary(self) -> pd.DataFrame:
        """Ratings of the measure by the rater on the region: ``patient_id, date, value``."""
        from .tables.ratings import primary_ratings
        s = self.settings
        return primary_ratings(self.records, s.measure, region=s.region, rater=s.rater)

    @cached_property
    def ratings(self) -> pd.DataFrame:
        """Baseline, landmark and improvement of every patient, with the status
        (:func:`outcomes.ratings.landmark_ratings`)."""
        from .tables.ratings import landmark_ratings
        s = self.settings
        return landmark_ratings(self.records, s.measure, landmark_days=s.landmark_days,
                                window_days=s.window_days, baseline_days=s.baseline_days,
                                treatments=self.treatments, region=s.region, rater=s.rater)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The analysis table (:func:`outcomes.models.analysis_table`)."""
        from .estimate.effects import analysis_table
        s = self.settings
        return analysis_table(self.records, s.measure, landmark_days=s.landmark_days,
                              window_days=s.window_days, treatments=self.treatments,
                              protocol=s.protocol, region=s.region, rater=s.rater)

    # ------------------------------------------------------------------ estimates
    def effects(self, *, consistency: str = "adherence", mixed: bool = True) -> pd.DataFrame:
        """Naive, adjusted, adjusted + consistency and mixed rows (:mod:`outcomes.models`)."""
        key = ("effects", consistency, mixed)
        if key not in self._cache:
            s = self.settings
            self._cache[key] = effects(self.records, measures=[s.measure],
                                       landmark_days=s.landmark_days, window_days=s.window_days,
                                       treatments=self.treatments, consistency=consistency,
                                       mixed=mixed)
        return self._cache[key]

    def schedules(self, *, boot: int = 200, seed: int = 1, truncate: float | None = 0.99,
                  sensitivity: bool = True, progress: bool = False):
        """The schedule comparison (:func:`outcomes.schedules.compare_strategies`), computed once
        per (boot, seed, truncate, sensitivity)."""
        key = ("schedules", boot, seed, truncate, sensitivity)
        if key not in self._cache:
            from .estimate.schedules import compare_strategies
            s = self.settings
            self._cache[key] = compare_strategies(
                self.records, measure=s.measure, landmark_days=s.landmark_days,
                window_days=s.window_days, baseline_days=s.baseline_days,
                treatments=self.treatments, strategies=self.strategies, reference=s.reference,
                min_followers=s.min_followers, boot=boot, seed=seed, truncate=truncate,
                region=s.region, rater=s.rater, sensitivity=sensitivity, progress=progress,
                derived={"ratings": self.ratings, "sessions": self.sessions,
                         "primary": self.primary})
        return self._cache[key]
