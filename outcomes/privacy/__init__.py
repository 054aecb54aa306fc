"""Privacy (docs/methods.md §5): what every output uses, and the anonymiser of raw exports.

- :mod:`.disclosure` — small-count suppression (:func:`suppress_small_counts`,
  :func:`suppress_count`) for every table and sentence shown to people, and the k-anonymity check
  (:func:`k_anonymity`, :func:`k_anonymity_summary`, :func:`coarsening_options`). Exported here.
- :mod:`.export` — :func:`~outcomes.privacy.export.anonymise` (``outcomes anonymise``): a raw
  export made into records. It reads raw exports with the loader's readers, so it sits above the
  records (``tests/test_layers.py``) and is imported from there, not here: this package stays
  below the loader, and an estimate or a view that suppresses a count does not pull in the
  anonymiser.
"""

from .disclosure import (
    ADJUSTED,
    HIDDEN,
    QUASI_IDENTIFIERS,
    coarsening_options,
    k_anonymity,
    k_anonymity_summary,
    suppress_count,
    suppress_small_counts,
)

__all__ = [
    "ADJUSTED",
    "HIDDEN",
    "QUASI_IDENTIFIERS",
    "coarsening_options",
    "k_anonymity",
    "k_anonymity_summary",
    "suppress_count",
    "suppress_small_counts",
]
