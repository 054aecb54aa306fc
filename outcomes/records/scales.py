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
from .dataset import read_toml

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
    """

    name: str
    label: str
    min: float = 0.0
    max: float = 4.0
    better: str = "lower"
    step: float | None = None
    mic: float | None = None

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

    def improvement(self, before, after):
        """Oriented change, positive = better: ``before - after`` if lower is better, else the reverse."""
        return before - after if self.better == "lower" else after - before


def default_measures() -> dict[str, Measure]:
    """Pore and texture as clinician grades 0–4 in half steps, lower is better (docs/methods.md §1)."""
    return {
        "pore": Measure("pore", "Pore size (clinician grade)", 0.0, 4.0, "lower", 0.5),
        "texture": Measure("texture", "Skin texture (clinician grade)", 0.0, 4.0, "lower", 0.5),
    }


DEFAULT_MEASURES = default_measures()

_KEYS = {"label", "min", "max", "better", "step", "mic"}


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
    doc = read_toml(path, fix="Fix the file or remove it to use the default 0–4 grade scales.")
    if doc is None:
        return measures
    path = Path(path)
    declared = doc.get("measures", {})
    if not isinstance(declared, dict):
        raise RecordsError(f"{path.name}: `measures` must be a table like [measures.pore].")
    for name, spec in declared.items():
        measures[name] = _measure_from_toml(path.name, name, spec)
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
    if name in DEFAULT_MEASURES and "step" not in spec and ("min" in spec or "max" in spec):
        kwargs["step"] = None
    base = DEFAULT_MEASURES.get(name)
    if base is not None:
        merged = {k: getattr(base, k) for k in ("label", "min", "max", "better", "step", "mic")}
        merged.update(kwargs)
        kwargs = merged
    try:
        return Measure(name=name, **kwargs)
    except RecordsError as exc:
        raise RecordsError(f"{file}: [measures.{name}]: {exc}") from None
