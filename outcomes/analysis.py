"""The clinic's question as one object: settings validated once, tables derived once.

:class:`Analysis` is built from :class:`~outcomes.records.Records` and the question's
:class:`~outcomes.settings.Settings` (or keywords that build them)::

    a = Analysis(records, measure="texture", landmark_days=120)
    a = Analysis(records, Settings(measure="texture", landmark_days=120))     # the same

It is the only builder of derived tables and the one way in: the command line, the notebooks,
the report and the widgets all go through it (docs/methods.md §3.1). Every setting is checked
once — by :class:`Settings`, then against the records (a measure, treatment or reference they do
not have is a :class:`~outcomes.errors.SettingError`) — and every table is derived once, on first
use, from exactly these settings:

==========================  ===================================================================
``sessions``                the sessions of the analysed treatments
``primary``                 ratings of the measure by the chosen rater on the chosen region
``ratings``                 baseline, landmark and improvement of every patient, with status
``table``                   the analysis table (included patients, attendance, covariates)
``long``                    every rating with the sessions received before it
``trajectories``            ratings over the first year with each patient's frequency group
``baseline``                every patient with a baseline rating, with the patient's details
``zones``                   the region ratings of one assessment side by side
``hydrafacial``             HydraFacial sessions with a rating shortly before and after
==========================  ===================================================================

The estimates (:mod:`outcomes.results`) are computed from those tables, once per option:
``effects()``, ``schedules()``, ``beliefs()``, ``who_benefits()``, ``regions()``. An Analysis is immutable: :meth:`with_settings` returns a new one
(its own, empty caches), so a changed setting can never meet a stale table. The caches of
estimates are bounded (:data:`CACHE_SIZE` results per analysis).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cached_property, partial

import pandas as pd

from .errors import RecordsError, SettingError, did_you_mean
from .estimate import effects as effects_mod
from .estimate import robustness, traps
from .estimate.beliefs import SCHEDULE_BELIEF, belief_check
from .estimate.schedules import compare_strategies
from .estimate.target_trial import resolve_treatment
from .estimate.who_benefits import regions, who_benefits
from .protocols import Strategy
from .records import Records
from .records.dataset import read_strategies
from .records.scales import Measure
from .results import Beliefs, Effects, Schedules
from .settings import Settings
from .tables import analysis_table as tables
from .tables import beliefs as belief_tables
from .tables import ratings as ratings_mod
from .tables.persistence import persistence_curve

__all__ = ["CACHE_SIZE", "Analysis"]

#: estimates kept per analysis (different options: bootstrap replicates, seeds, ...)
CACHE_SIZE = 8


class Analysis:
    """One clinic question on one set of records.

    Parameters
    ----------
    records : Records
        From :func:`outcomes.load_records`.
    settings : Settings, optional
        The question (default ``Settings()``: pore, six months, the clinic's protocol, ...).
    **keywords
        Settings by name (``measure="texture"``), applied on top of ``settings``.

    Examples
    --------
    >>> a = Analysis(records, measure="texture")                           # doctest: +SKIP
    >>> a.table.head()                                                     # doctest: +SKIP
    >>> a.schedules(boot=200).table                                        # doctest: +SKIP
    >>> a.with_settings(landmark_days=120).effects().summary()             # doctest: +SKIP
    """

    __slots__ = ("__dict__", "_cache", "_measure", "_records", "_settings")

    def __init__(self, records: Records, settings: Settings | None = None, **keywords):
        if not isinstance(records, Records):
            raise SettingError("An Analysis needs Records (from outcomes.load_records), but "
                               f"{type(records).__name__} was passed.")
        if settings is None:
            settings = Settings(**keywords)
        elif not isinstance(settings, Settings):
            raise SettingError("The value for `settings` must be an outcomes.Settings, but "
                               f"{type(settings).__name__} was passed.")
        elif keywords:
            settings = settings.replace(**keywords)
        object.__setattr__(self, "_records", records)
        object.__setattr__(self, "_measure", ratings_mod.measure_of(records, settings))
        object.__setattr__(self, "_settings", self._resolve(records, settings))
        object.__setattr__(self, "_cache", OrderedDict())
        if settings.treatments is not None:
            ratings_mod.select_sessions(records, settings)  # a treatment they do not have
        if settings.treatment is not None:
            resolve_treatment(records, settings.treatment)  # … or a treatment under study

    @staticmethod
    def _resolve(records: Records, settings: Settings) -> Settings:
        """The settings with what depends on the records filled in and checked: the schedules
        compared (when not given: the defaults, whose ``protocol`` is the clinic's protocol of
        these settings, and those of dataset.toml) and the reference among them."""
        if settings.strategies is not None:
            return settings
        path = None if records.source is None else records.source / "dataset.toml"
        strategies = tuple(read_strategies(path, settings.protocol).values())
        names = [s.name for s in strategies]
        if settings.reference not in names:
            raise SettingError(f"The value for `reference` must be one of {names}, but "
                               f"{settings.reference!r} was passed."
                               f"{did_you_mean(settings.reference, names)}")
        return settings.replace(strategies=strategies)

    def __setattr__(self, name, value):
        raise AttributeError(f"An Analysis is read-only: use a.with_settings({name}=...) for "
                             "another question on the same records.")

    def __repr__(self) -> str:
        s = self.settings
        return (f"Analysis(measure={s.measure!r}, landmark_days={s.landmark_days}, "
                f"window_days={s.window_days}, region={s.region!r}, rater={s.rater!r}, "
                f"treatments={s.treatments!r}, patients={len(self.ratings)})")

    # ------------------------------------------------------------------ the question
    @property
    def records(self) -> Records:
        return self._records

    @property
    def settings(self) -> Settings:
        """The settings, resolved against the records (the strategies filled in)."""
        return self._settings

    @property
    def measure(self) -> Measure:
        """The scale of the measure analysed."""
        return self._measure

    @property
    def strategies(self) -> dict[str, Strategy]:
        return self.settings.strategy_map

    def with_settings(self, **changes) -> Analysis:
        """A new analysis of the same records with some settings changed (fresh caches)."""
        return Analysis(self.records, self.settings.replace(**changes))

    # ------------------------------------------------------------------ derived tables
    @cached_property
    def sessions(self) -> pd.DataFrame:
        """Sessions of the analysed treatments."""
        return ratings_mod.select_sessions(self.records, self.settings)

    @cached_property
    def primary(self) -> pd.DataFrame:
        """Ratings of the measure by the rater on the region: ``patient_id, date, value``."""
        return ratings_mod.primary_ratings(self.records, self.settings)

    @cached_property
    def ratings(self) -> pd.DataFrame:
        """Baseline, landmark and improvement of every patient, with the status
        (:func:`outcomes.tables.ratings.landmark_ratings`)."""
        return ratings_mod.landmark_ratings(self.records, self.settings, sessions=self.sessions,
                                            primary=self.primary)

    @cached_property
    def table(self) -> pd.DataFrame:
        """The analysis table (:func:`outcomes.tables.analysis_table.analysis_table`)."""
        return tables.analysis_table(self.records, self.settings, ratings=self.ratings,
                                     sessions=self.sessions)

    @cached_property
    def long(self) -> pd.DataFrame:
        """Every rating with the sessions before it, to the landmark window's far edge
        (:func:`outcomes.tables.analysis_table.mixed_table`)."""
        return tables.mixed_table(self.records, self.settings, sessions=self.sessions,
                                  primary=self.primary)

    @cached_property
    def trajectories(self) -> pd.DataFrame:
        """Ratings over the first year with each patient's frequency group
        (:func:`outcomes.tables.analysis_table.trajectories`)."""
        return tables.trajectories(self.records, self.settings, sessions=self.sessions,
                                   primary=self.primary)

    @cached_property
    def baseline(self) -> pd.DataFrame:
        """Every patient with a baseline rating, with the patient's details
        (:func:`outcomes.tables.beliefs.baseline_covariates`)."""
        return belief_tables.baseline_covariates(self.ratings, self.records.patients,
                                                 self.measure)

    @cached_property
    def zones(self) -> pd.DataFrame:
        """The region ratings of one assessment side by side
        (:func:`outcomes.tables.beliefs.zone_ratings`)."""
        return belief_tables.zone_ratings(self.records, self.settings)

    @cached_property
    def hydrafacial(self) -> pd.DataFrame:
        """HydraFacial sessions with a rating shortly before and after
        (:func:`outcomes.tables.beliefs.hydrafacial_windows`)."""
        return belief_tables.hydrafacial_windows(self.records, self.settings)

    def persistence(self, *, gap_days: int | None = None) -> pd.DataFrame:
        """The Kaplan–Meier curve of how long patients keep coming: a patient stops at the first
        gap longer than ``gap_days`` (default the permissible gap)
        (:func:`outcomes.tables.persistence.persistence_curve`)."""
        gap = self.settings.permissible_gap if gap_days is None else gap_days
        return self._cached(("persistence", gap), lambda: persistence_curve(
            self.sessions, permissible_gap=gap,
            data_end=self.records.sessions["date"].max()))

    # ------------------------------------------------------------------ estimates
    def _cached(self, key, compute):
        cache = self._cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        value = compute()
        cache[key] = value
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return value

    def effects(self, *, consistency: str = "adherence", mixed: bool = True) -> Effects:
        """Naive, adjusted, adjusted + consistency and mixed models of the association of
        frequency with improvement, with the weighting and ordinal rows
        (:mod:`outcomes.estimate.effects`)."""
        def compute():
            rows = effects_mod.effects(self.table, self.long if mixed else None, self.measure,
                                       consistency=consistency,
                                       extra_rows=partial(robustness.extra_effect_rows,
                                                          sessions=self.sessions))
            return Effects(self.settings, self.measure, rows, self.table,
                           self.records.n_quarantined)
        return self._cached(("effects", consistency, mixed), compute)

    def schedules(self, *, boot: int = 200, seed: int = 1, truncate: float | None = 0.99,
                  sensitivity: bool = True, progress: bool = False,
                  interval: str = "normal") -> Schedules:
        """The schedules compared as an emulated target trial
        (:func:`outcomes.estimate.schedules.compare_strategies`) of the treatment under study
        (``settings.treatment``), new patients only (``settings.washout_days``); ``interval``
        the bootstrap interval method (``percentile``, ``normal``, ``bca``)."""
        def compute():
            s = self.settings
            treatment = resolve_treatment(self.records, s.treatment)
            own = s.treatments == (treatment,)      # the derived tables are the trial's own
            comparison = compare_strategies(
                self.records, measure=s.measure, landmark_days=s.landmark_days,
                window_days=s.window_days, baseline_days=s.baseline_days,
                treatment=treatment, washout_days=s.washout_days,
                strategies=self.strategies, reference=s.reference,
                min_followers=s.min_followers, boot=boot, seed=seed, truncate=truncate,
                region=s.region, rater=s.rater, sensitivity=sensitivity, progress=progress,
                interval=interval,
                derived={"ratings": self.ratings, "sessions": self.sessions,
                         "primary": self.primary} if own else {"primary": self.primary})
            return Schedules(self.settings, self.measure, comparison)
        return self._cached(("schedules", boot, seed, truncate, sensitivity, interval), compute)

    def beliefs(self, *, boot: int = 200, seed: int = 1, progress: bool = False,
                schedules: Schedules | None = None) -> Beliefs:
        """The clinic's beliefs with a verdict each (:mod:`outcomes.estimate.beliefs`); the
        schedule belief is the schedule comparison's protocol against the reference —
        ``schedules`` when given (one of this analysis's own, e.g. with the sensitivity
        tables), else ``self.schedules(boot=boot, seed=seed, sensitivity=False)``."""
        def compute(schedules):
            rows = belief_check(self.measure, table=self.table, baseline=self.baseline,
                                zones=self.zones, hydrafacial=self.hydrafacial,
                                schedules=_belief_contrast(schedules))
            return Beliefs(self.settings, self.measure, rows, self.records.n_quarantined)

        if schedules is not None:
            if schedules.settings != self.settings:
                raise SettingError("`schedules` must come from this analysis (the same "
                                   "settings).")
            return compute(schedules)
        return self._cached(("beliefs", boot, seed), lambda: compute(self.schedules(
            boot=boot, seed=seed, sensitivity=False, progress=progress)))

    def who_benefits(self) -> pd.DataFrame:
        """The slope per extra session a month by subgroup, exploratory
        (:func:`outcomes.estimate.beliefs.who_benefits`)."""
        return self._cached(("who_benefits",),
                            lambda: who_benefits(self.table, self.records.patients))

    def regions(self) -> pd.DataFrame:
        """Baseline and improvement by zone, within patient
        (:func:`outcomes.estimate.beliefs.regions`)."""
        def compute():
            zones = {z: self.with_settings(region=z).ratings for z in belief_tables.ZONES
                     if z in set(self.records.assessments["region"].astype("str"))}
            return regions(self.ratings, zones, self.measure)
        return self._cached(("regions",), compute)


    # ------------------------------------------------------------------ robustness
    def followup_bias(self) -> pd.DataFrame:
        """All sessions over all follow-up against the landmark design
        (:func:`outcomes.estimate.traps.followup_bias`)."""
        return self._cached(("followup_bias",), lambda: traps.followup_bias(
            self.table, self.primary, self.sessions, self.measure))

    def dropout(self) -> pd.DataFrame:
        """Who stops before the landmark and how their last ratings looked
        (:func:`outcomes.estimate.traps.dropout_comparison`)."""
        return self._cached(("dropout",), lambda: traps.dropout_comparison(
            self.ratings, self.primary, self.sessions, ratings_mod.contacts(self.records),
            self.measure, self.settings))

    def sensitivity(self, *, landmarks=(120, 182, 270), windows=(30, 45, 60),
                    gaps=(30, 45, 60), treatments="each", raters=("clinician", "patient"),
                    models=robustness.SENSITIVITY_MODELS, progress: bool = False
                    ) -> pd.DataFrame:
        """How much the answer moves with the analysis choices, one choice at a time.

        From these settings each of ``landmark_days`` (``landmarks``), ``window_days``
        (``windows``), ``permissible_gap`` (``gaps``), the treatments counted (``"each"``:
        every treatment alone, and all) and the rater is varied alone, and
        :func:`outcomes.estimate.robustness.sensitivity_rows` refitted on that analysis.

        Returns
        -------
        DataFrame
            ``setting``, ``value``, ``primary`` (these settings' own value), ``model``, ``term``,
            ``estimate``, ``ci_low``, ``ci_high``, ``n``, ``note``; a setting the records cannot
            support gets a row with a missing estimate and the reason in ``note``.
        """
        from tqdm.auto import tqdm

        s = self.settings
        plan = [("landmark_days", v, {"landmark_days": v}) for v in landmarks]
        plan += [("window_days", v, {"window_days": v}) for v in windows]
        plan += [("permissible_gap", v, {"permissible_gap": v}) for v in gaps]
        if treatments is not None:
            names = (sorted(self.records.sessions["treatment"].astype("str").unique())
                     if isinstance(treatments, str) and treatments == "each"
                     else list(treatments))
            plan += [("treatment", "all", {"treatments": None})]
            plan += [("treatment", t, {"treatments": (t,)}) for t in names]
        plan += [("rater", r, {"rater": r}) for r in raters]
        primary = {"landmark_days": s.landmark_days, "window_days": s.window_days,
                   "permissible_gap": s.permissible_gap,
                   "treatment": "all" if s.treatments is None else ", ".join(s.treatments),
                   "rater": s.rater}
        rows, done = [], {}
        for setting, value, change in tqdm(plan, disable=not progress, desc="sensitivity",
                                           leave=False):
            key = tuple(sorted(change.items()))
            if key not in done:
                done[key] = self._sensitivity_rows(change, models)
            rows += [{"setting": setting, "value": str(value),
                      "primary": primary[setting] == value, **r} for r in done[key]]
        out = pd.DataFrame(rows)
        cols = ["setting", "value", "primary", "model", "term", "estimate", "ci_low", "ci_high",
                "n", "note"]
        for c in cols:
            if c not in out:
                out[c] = float("nan")
        out["n"] = out["n"].astype("Int64")
        return out[cols]

    def _sensitivity_rows(self, change: dict, models) -> list[dict]:
        rater = change.get("rater", self.settings.rater)
        a = self.records.assessments
        name = self.measure.name
        if not (a["rater"].astype("str").eq(rater) & a[name].notna()).any():
            return [{"model": m, "note": f"no {rater} ratings of {name} in the records"}
                    for m in models]
        try:
            table = self.with_settings(**change).table
        except (RecordsError, SettingError) as exc:
            return [{"model": m, "note": str(exc)} for m in models]
        return robustness.sensitivity_rows(table, self.measure, models)


def _belief_contrast(schedules: Schedules) -> dict | str:
    """The clinic's protocol against every two months (:data:`~outcomes.estimate.beliefs.
    SCHEDULE_BELIEF`) from a schedule comparison, whatever its reference; or why there is
    none."""
    a, b = SCHEDULE_BELIEF
    rows = schedules.table.set_index("term")
    if a not in rows.index or b not in rows.index:
        return (f"the schedules compared do not include '{a}' and '{b}' (the belief compares "
                "the clinic's protocol with coming every two months)")
    contrast = schedules.contrast(a, b)
    term = f"{a} - {b}"
    if term in rows.index:
        note = rows.loc[term, "note"]
    else:
        missing = [rows.loc[s, "note"] for s in (a, b) if not pd.notna(rows.loc[s, "estimate"])]
        note = missing[0] if missing else ""
    return {**contrast, "n": int(rows["n"].iloc[0]), "note": note if isinstance(note, str) else ""}


def measures_of(records: Records, measures=None) -> list[str]:
    """The measures a command covers: those asked for, else pore and texture (those the records
    have), else every measure the records have."""
    if measures is not None:
        return [measures] if isinstance(measures, str) else list(measures)
    present = [m for m in records.measures if m in records.assessments]
    return [m for m in ("pore", "texture") if m in present] or present

