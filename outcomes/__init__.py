"""outcomes — do patients who come more often and more regularly get better pore and texture results?

One question, one object, one way in::

    import outcomes
    records = outcomes.load_records("data/demo")
    a = outcomes.Analysis(records, measure="pore")          # or Analysis(records, Settings(...))
    a.schedules().summary()                                  # the schedules compared
    a.effects().table                                        # the association, tidy rows

The package map, layer by layer (docs/methods.md §0.2): ``records`` (read, validate, the
records' vocabulary and ``dataset.toml``) → ``tables`` (attendance, ratings, the analysis table)
→ ``estimate`` (effects, mixed and ordinal models, weighting, robustness, schedules, beliefs) →
``present`` (numbers, sentences and figures for people) → the question (``settings``,
``analysis``, ``results``) → ``views`` (what each notebook, the report and the widgets show) →
``cli``; ``privacy`` and ``synthetic`` beside them.

The public names are available here directly (imported on first use, so ``import outcomes`` and
the command line stay quick).
"""

from importlib import import_module

from .errors import RecordsError, SettingError
from .records import Records, from_frames, load_records
from .records.scales import Measure

__version__ = "0.1.0"

_LAZY = {
    "settings": ["Settings"],
    "protocols": ["Protocol", "Strategy"],
    "analysis": ["Analysis"],
    "results": ["Effects", "Schedules"],
    "synthetic": ["SimParams", "Simulation", "simulate", "demo_simulation"],
    "privacy.export": ["anonymise"],
    "privacy": ["k_anonymity", "suppress_small_counts", "suppress_count"],
    "views.report": ["build_report"],
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = ["Measure", "Records", "RecordsError", "SettingError", "from_frames", "load_records"]
__all__ += list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'outcomes' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
