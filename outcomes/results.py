"""The answers of an :class:`~outcomes.analysis.Analysis`, as results objects.

The statsmodels / lifelines lesson: an estimate comes back as one object holding what was
computed and the settings behind it, with ``.table`` (tidy rows, one per result, as ``--json``
prints them), ``.summary()`` (plain words) and ``.plot()`` (the figure). The numbers come from
:mod:`outcomes.estimate`, the words and figures from :mod:`outcomes.present`; nothing is
recomputed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .estimate.beliefs import MIN_PATIENTS
from .estimate.schedules import ScheduleComparison
from .format import json_rows
from .present import beliefs as belief_words
from .present import bottom_line as bottom_words
from .present import effects as effects_words
from .present import schedules as schedule_words
from .records.scales import Measure
from .settings import Settings

__all__ = ["Beliefs", "Effects", "Schedules"]


@dataclass(frozen=True, eq=False)
class Effects:
    """The association of session frequency (and consistency) with improvement, one measure.

    ``table``: :data:`outcomes.estimate.effects.RESULT_COLUMNS` rows (naive, adjusted,
    adjusted+consistency, mixed, ipw, ordinal); ``analysis_table``: the table they were fitted on.
    """

    settings: Settings
    measure: Measure
    table: pd.DataFrame
    analysis_table: pd.DataFrame
    quarantined: int = 0

    def summary(self, *, details: bool = False) -> str:
        """The plain-words output of ``outcomes effects`` for this measure."""
        return effects_words.effects_text([(self.measure, self.analysis_table, self.table)],
                                          landmark_days=self.settings.landmark_days,
                                          quarantined=self.quarantined, details=details)

    def plot(self, *, term: str = "sessions_per_month", ax=None):
        """Estimate and 95 % CI of ``term`` per model."""
        return effects_words.plot_effects(self.table, term=term, ax=ax)

    def to_json(self) -> list[dict]:
        return json_rows(self.table)


@dataclass(frozen=True, eq=False)
class Schedules:
    """The schedules compared (an emulated target trial), one measure.

    ``table``: one row per schedule and per contrast with the reference; ``comparison``: the
    :class:`~outcomes.estimate.schedules.ScheduleComparison` with every diagnostic (followers,
    weights, balance, sensitivity, loss to follow-up, protocol, notes), also reachable as
    attributes of this object (``schedules.weights``).
    """

    settings: Settings
    measure: Measure
    comparison: ScheduleComparison

    @property
    def table(self) -> pd.DataFrame:
        return self.comparison.results

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.comparison, name)

    def summary(self, *, details: bool = False) -> str:
        """The plain-words output of ``outcomes strategies`` for this measure: the bottom line
        first (:func:`outcomes.present.bottom_line.bottom_line`, markdown emphasis removed),
        then the table and the sentences."""
        lines = bottom_words.bottom_line(self.comparison, self.measure)
        top = "\n".join(["Bottom line:"] + [
            "  " + line.replace("**", "").replace("*", "") for line in lines])
        return top + "\n\n" + schedule_words.strategy_text(
            self.comparison, measure_label=self.measure.label,
            sentence_label=schedule_words.measure_words(self.measure), details=details)

    def plot(self, *, ax=None):
        """Mean improvement under each schedule with its 95% CI."""
        return schedule_words.schedule_plot(
            self.comparison, measure_label=schedule_words.measure_words(self.measure)[:-1],
            ax=ax)

    def contrast(self, name: str, other: str) -> dict:
        return self.comparison.contrast(name, other)

    def to_json(self) -> list[dict]:
        return json_rows(self.table)


@dataclass(frozen=True, eq=False)
class Beliefs:
    """The clinic's beliefs checked on its records, one measure: ``table`` has one row per
    belief (:data:`outcomes.estimate.beliefs.BELIEF_COLUMNS`) with its verdict."""

    settings: Settings
    measure: Measure
    table: pd.DataFrame
    quarantined: int = 0

    def summary(self) -> str:
        """The plain-words output of ``outcomes beliefs``."""
        return belief_words.beliefs_text(self.table, self.measure, quarantined=self.quarantined)

    def plot(self, *, ax=None):
        """Estimate and 95 % CI per belief, coloured by verdict."""
        return belief_words.plot_beliefs(self.table, ax=ax)

    def to_json(self) -> list[dict]:
        """The rows for ``--json``: data text with control characters removed
        (:func:`outcomes.present.beliefs.plain`), a count ``n`` from 1 to 4 as null."""
        rows = json_rows(self.table, text=belief_words.plain)
        for r in rows:
            if r["n"] is not None and 0 < r["n"] < MIN_PATIENTS:
                r["n"] = None
        return rows
