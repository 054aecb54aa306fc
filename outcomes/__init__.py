"""outcomes — do patients who come more often and more regularly get better pore and texture results?

The package map (one topical module each):

- ``records`` — load and validate a records folder (:func:`load_records`), ``outcomes check``
- ``scales`` — the rating scales of the measures (``dataset.toml``)
- ``identifiers`` — the direct-identifier rules the loader refuses and anonymise drops
- ``attendance`` — frequency, consistency, coverage, protocol adherence, persistence
- ``ratings`` — baseline, landmark, improvement (positive = better), exclusions
- ``models`` — naive, adjusted (HC3) and mixed models of the effect of frequency; ``outcomes effects``
- ``robustness`` — propensity weighting, ordinal model, dose-response, bootstrap, sensitivity, traps
- ``plots`` — attendance and descriptive plots (model plots live beside their models)
- ``synthetic`` — the planted-truth simulated clinic and the demo records
- ``privacy`` — anonymise, k-anonymity, small-count suppression
- ``report`` / ``widgets`` — the HTML report and the notebooks' interactive controls
- ``cli`` — the ``outcomes`` command

The most used names are available here directly (imported on first use, so ``import outcomes`` and
the command line stay quick).
"""

from importlib import import_module

from .errors import RecordsError
from .records import Records, from_frames, load_records
from .records.scales import Measure

__version__ = "0.1.0"

_LAZY = {
    "tables.attendance": ["Protocol", "patient_metrics", "exposure_at", "persistence",
                   "persistence_curve"],
    "tables.ratings": ["landmark_ratings", "exclusions"],
    "estimate.effects": ["analysis_table", "naive_effect", "adjusted_effect", "consistency_effect",
               "mixed_effect", "effects", "describe_effect"],
    "estimate.robustness": ["ipw_effect", "balance_table", "ordinal_effect", "dose_response",
                   "cluster_bootstrap", "sensitivity_grid", "adjusted_e_value"],
    "synthetic": ["SimParams", "Simulation", "simulate", "demo_simulation"],
    "privacy.export": ["anonymise"],
    "privacy": ["k_anonymity", "suppress_small_counts", "suppress_count"],
    "present.report": ["build_report"],
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = ["Measure", "Records", "RecordsError", "from_frames", "load_records"]
__all__ += list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'outcomes' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
