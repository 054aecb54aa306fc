"""``dataset.toml``: what the records folder declares about itself.

One reader (:func:`read_toml`) for the whole file; each section is read by the module that owns
what it declares: ``[measures.*]`` by :func:`outcomes.records.scales.read_scales`,
``[strategies.*]`` by :func:`read_strategies` (the schedules to compare), ``[analysis]
treatment`` by :func:`read_treatment` (the treatment whose schedules are compared), ``[sources.*]`` by
:func:`outcomes.records.sources.spec.read_spec` (how to read a practice system's export). A broken
file or section is a :class:`~outcomes.errors.RecordsError` naming the file and the fix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import RecordsError, SettingError
from ..protocols import STRATEGY_KEYS, Protocol, Strategy, default_strategies, strategy_from_spec
from .toml_lines import loads

__all__ = ["read_section", "read_strategies", "read_toml", "read_treatment"]


def read_toml(path: str | Path | None, *, fix: str = "Fix the file.") -> dict | None:
    """``dataset.toml`` as a dict (``None`` when there is no file); invalid TOML or text that is
    not UTF-8 is one :class:`RecordsError` naming the file and ``fix``. Every section is read
    through it: the scales (:func:`outcomes.records.scales.read_scales`) and the strategies
    (:func:`read_strategies`), and the ``[sources]`` mapping of a practice system's export
    (:mod:`outcomes.records.sources`). An inline table may run over several lines, as TOML 1.1
    allows (:mod:`outcomes.records.toml_lines`)."""
    if path is None or not Path(path).exists():
        return None
    path = Path(path)
    try:
        return loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecordsError(f"{path.name}: not valid TOML ({exc}). {fix}") from None


def read_section(path: str | Path | None, key: str, *, example: str, fix: str) -> dict:
    """The tables ``[key.NAME]`` of ``dataset.toml`` as ``{NAME: table}`` (empty without the file
    or the section); a section that is not tables is a :class:`RecordsError`."""
    doc = read_toml(path, fix=fix)
    if doc is None:
        return {}
    declared = doc.get(key, {})
    if not isinstance(declared, dict):
        raise RecordsError(f"{Path(path).name}: `{key}` must be tables like [{key}.{example}].")
    return declared


def read_strategies(path: str | Path | None, protocol: Protocol | None = None
                    ) -> dict[str, Strategy]:
    """The default strategies (their ``protocol`` the clinic's ``protocol``) plus those declared
    in ``dataset.toml`` (``[strategies.NAME]``); a declared strategy replaces a default of the
    same name."""
    strategies = default_strategies(protocol)
    declared = read_section(path, "strategies", example="NAME",
                            fix="Fix the file or remove [strategies] to compare the defaults.")
    for name, spec in declared.items():
        if not isinstance(spec, dict):
            raise RecordsError(f"{Path(path).name}: [strategies.{name}] must be a table with keys "
                               f"{list(STRATEGY_KEYS)}.")
        try:
            strategies[name] = strategy_from_spec(name, spec, where=f"{Path(path).name}: strategy")
        except SettingError as exc:  # a schedule in the records' own file is the records' problem
            raise RecordsError(str(exc)) from None
    return strategies


def read_treatment(path: str | Path | None) -> str | None:
    """``treatment`` of the ``[analysis]`` table of ``dataset.toml`` (the treatment under study
    in the schedule comparison), lower-case; ``None`` without the file, table or key."""
    doc = read_toml(path, fix="Fix the file or remove [analysis].")
    if doc is None:
        return None
    section = doc.get("analysis", {})
    if not isinstance(section, dict):
        raise RecordsError(f"{Path(path).name}: `analysis` must be a table like [analysis] with "
                           'treatment = "microneedling".')
    value = section.get("treatment")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RecordsError(f"{Path(path).name}: [analysis] treatment must be the name of one "
                           f'treatment, e.g. treatment = "microneedling", but {value!r} was given.')
    return value.strip().lower()
