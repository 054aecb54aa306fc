"""Rating scales of the measures (``dataset.toml``).

A *measure* is a rating column of the assessments table (``pore``, ``texture`` or any column declared
in ``dataset.toml``). Its scale says the range of valid values and which direction is better, so that
every derived improvement can be oriented with **positive = better**.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RecordsError
from .contract import ASSESSMENT_COLUMNS, PATIENT_COLUMNS, SESSION_COLUMNS
from .dataset import read_section

#: names a measure cannot take: the columns the records already define (a measure is a column of
#: the assessments table, and these names mean something else there or beside it)
RESERVED_NAMES = frozenset({*SESSION_COLUMNS, *ASSESSMENT_COLUMNS, *PATIENT_COLUMNS})

__all__ = ["DEFAULT_MEASURES", "Measure", "default_measures", "read_scales"]

_DIRECTIONS = ("lower", "higher")


@dataclass(frozen=True)
class Measure:
    """The scale of one measure.

    Parameters
    ----------
    name : str
        Column name in the assessments table.
    label : str
        Human-readable name shown in tables and plots.
    min, max : float
        Smallest and largest valid rating (inclusive).
    better : {"lower", "higher"}
        Which direction of the rating is better.
    step : float or None
        Grid of valid values (0.5 for half grades); ``None`` for a continuous score.
    mic : float or None
        Minimal important change in rating units, used to call a patient a *responder*.
        ``None`` means one grade (1.0) on grade scales and 10 % of the range otherwise.
    levels : tuple of str, optional
        Names of the whole grades from ``min`` to ``max`` (``("none", "mild", "moderate",
        "marked", "severe")`` for the default 0–4 grades), used to say what a change means.
    """

    name: str
    label: str
    min: float = 0.0
    max: float = 4.0
    better: str = "lower"
    step: float | None = None
    mic: float | None = None
    levels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if re.sub(r"\s+", "_", str(self.name).strip().lower()) in RESERVED_NAMES:
            raise RecordsError(
                f"A measure cannot be called {self.name!r}: the records already have a column "
                f"{self.name!r} that means something else (the records' columns are "
                f"{', '.join(sorted(RESERVED_NAMES))}). Give the measure a name of its own in "
                f"dataset.toml, e.g. [measures.{self.name}_score], and use that name as the "
                "column header in the assessments file."
            )
        if self.better not in _DIRECTIONS:
            raise RecordsError(
                f"The value for `better` of measure {self.name!r} must be one of "
                f"{list(_DIRECTIONS)}, but {self.better!r} was given. Fix it in dataset.toml."
            )
        if not (math.isfinite(self.min) and math.isfinite(self.max) and self.min < self.max):
            raise RecordsError(
                f"Measure {self.name!r} needs finite `min` < `max` in dataset.toml, "
                f"but has min={self.min!r}, max={self.max!r}."
            )
        if self.levels is not None:
            whole = self.max - self.min + 1
            if not (float(self.min).is_integer() and float(self.max).is_integer()
                    and len(self.levels) == whole
                    and all(isinstance(v, str) and v.strip() for v in self.levels)):
                raise RecordsError(
                    f"`levels` of measure {self.name!r} must name each whole grade from "
                    f"{self.min:g} to {self.max:g} ({whole:g} names, e.g. levels = [\"none\", "
                    f"\"mild\", ...]), but {list(self.levels)!r} was given. Fix it in "
                    "dataset.toml."
                )

    @property
    def is_grade(self) -> bool:
        """True for an ordinal grade scale (a step is declared and there are at most 21 levels)."""
        return self.step is not None and (self.max - self.min) / self.step <= 20

    @property
    def minimal_important_change(self) -> float:
        """The responder threshold in rating units (see ``mic``)."""
        if self.mic is not None:
            return float(self.mic)
        return 1.0 if self.is_grade else 0.1 * (self.max - self.min)

    @property
    def unit(self) -> str:
        """The unit of a change, plural: "grades" on a grade scale, else "points"."""
        return "grades" if self.is_grade or self.step is not None else "points"

    def scale_words(self) -> str:
        """What a change on this scale means, once per section of a report: e.g. "grades on the
        0–4 scale, lower is better; a change of 1 grade (e.g. moderate → mild) is the change
        patients notice"."""
        mic = self.minimal_important_change
        unit = self.unit if mic != 1 else self.unit[:-1]
        words = (f"{self.unit} on the {self.min:g}–{self.max:g} scale, {self.better} is better; "
                 f"a change of {mic:g} {unit}")
        if self.levels is not None and float(mic).is_integer():
            worse = (self.levels[len(self.levels) // 2] if self.better == "lower"
                     else self.levels[(len(self.levels) - 1) // 2])
            i = self.levels.index(worse)
            j = i - int(mic) if self.better == "lower" else i + int(mic)
            if 0 <= j < len(self.levels):
                words += f" (e.g. {worse} → {self.levels[j]})"
        return words + " is the change patients notice"

    def improvement(self, before, after):
        """Oriented change, positive = better: ``before - after`` if lower is better, else the reverse."""
        return before - after if self.better == "lower" else after - before


#: the names of the default 0–4 grades (docs/methods.md §1)
GRADES = ("none", "mild", "moderate", "marked", "severe")


def default_measures() -> dict[str, Measure]:
    """Pore and texture as clinician grades 0–4 in half steps, lower is better (docs/methods.md §1)."""
    return {
        "pore": Measure("pore", "Pore size (clinician grade)", 0.0, 4.0, "lower", 0.5,
                        levels=GRADES),
        "texture": Measure("texture", "Skin texture (clinician grade)", 0.0, 4.0, "lower", 0.5,
                           levels=GRADES),
    }


DEFAULT_MEASURES = default_measures()

_KEYS = {"label", "min", "max", "better", "step", "mic", "levels"}


def read_scales(path: str | Path | None) -> dict[str, Measure]:
    """Read ``dataset.toml``; without a file, return :func:`default_measures`.

    Measures declared in the file replace the defaults of the same name; the default pore and
    texture scales stay available for measures the file does not mention.

    Raises
    ------
    RecordsError
        When the file is not valid TOML, a key is unknown, a value has the wrong type, or ``better``
        is not ``"lower"``/``"higher"``.
    """
    measures = default_measures()
    declared = read_section(path, "measures", example="pore",
                            fix="Fix the file or remove it to use the default 0–4 grade scales.")
    for name, spec in declared.items():
        measures[name] = _measure_from_toml(Path(path).name, name, spec)
    return measures


def _measure_from_toml(file: str, name: str, spec) -> Measure:
    if not isinstance(spec, dict):
        raise RecordsError(f"{file}: [measures.{name}] must be a table of keys {sorted(_KEYS)}.")
    unknown = set(spec) - _KEYS
    if unknown:
        raise RecordsError(f"{file}: [measures.{name}] has unknown key(s) {sorted(unknown)}; "
                           f"allowed keys are {sorted(_KEYS)}.")
    kwargs = {"label": str(spec.get("label", name))}
    for key in ("min", "max", "step", "mic"):
        if key in spec:
            value = spec[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RecordsError(f"{file}: [measures.{name}] `{key}` must be a number, "
                                   f"but {value!r} was given.")
            kwargs[key] = float(value)
    if "better" in spec:
        kwargs["better"] = str(spec["better"]).strip().lower() if isinstance(
            spec["better"], str) else spec["better"]
    if "levels" in spec:
        levels = spec["levels"]
        if not isinstance(levels, list):
            raise RecordsError(f"{file}: [measures.{name}] `levels` must be a list of names, "
                               f"one per whole grade, but {levels!r} was given.")
        kwargs["levels"] = tuple(str(v) for v in levels)
    base = DEFAULT_MEASURES.get(name)
    if base is not None and ("min" in spec or "max" in spec):
        if "step" not in spec:
            kwargs["step"] = None
        if (kwargs.get("min", base.min), kwargs.get("max", base.max)) != (base.min, base.max):
            kwargs.setdefault("levels", None)   # the default grades' names fit their range only
    if base is not None:
        merged = {k: getattr(base, k) for k in ("label", "min", "max", "better", "step", "mic",
                                                "levels")}
        merged.update(kwargs)
        kwargs = merged
    try:
        return Measure(name=name, **kwargs)
    except RecordsError as exc:
        raise RecordsError(f"{file}: [measures.{name}]: {exc}") from None
