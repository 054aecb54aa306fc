"""One verdict rule for every claim the product judges (docs/methods.md §5.1).

A claim is an estimate oriented so that positive = the claimed direction, with its 95 % interval,
judged against the clinically *trivial size* (:data:`TRIVIAL_SHARE` of the measure's minimal
important change: 0.1 grade on the 0–4 grades):

- ``not supported`` — the interval excludes every effect of the trivial size or more in the
  claimed direction (``ci_high < trivial``);
- ``supported`` — the whole interval lies in the claimed direction (``ci_low > margin``: 0, or the
  trivial size for an association known to lean towards the claim);
- ``not enough data`` — otherwise: the interval is compatible with no effect and with one that
  matters.

The beliefs, the regularity answer and the schedules compared all use it.
"""

from __future__ import annotations

import numpy as np

from ..format import number
from ..records.scales import Measure

__all__ = ["TRIVIAL_SHARE", "VERDICTS", "trivial_size", "verdict"]

#: Share of the measure's minimal important change below which an effect is clinically trivial.
TRIVIAL_SHARE = 0.1

#: the verdicts, in the order they are reported
VERDICTS = ("supported", "not supported", "not enough data")


def trivial_size(measure: Measure) -> float:
    """The clinically trivial size in rating units: ``TRIVIAL_SHARE × minimal important change``
    (0.1 grade on the 0–4 grades, whose minimal important change is one grade)."""
    return TRIVIAL_SHARE * measure.minimal_important_change


def verdict(estimate: float, ci_low: float, ci_high: float, trivial: float, *,
            margin: float = 0.0) -> tuple[str, str]:
    """Verdict and its reason for an estimate oriented so that positive = the claimed direction.

    ``not supported`` when ``ci_high < trivial``; else ``supported`` when ``ci_low > margin``
    (0, or the trivial size for an association known to lean towards the claim); else
    ``not enough data`` (the interval is too wide to tell).

    Examples
    --------
    >>> verdict(0.3, 0.1, 0.5, 0.1)[0], verdict(0.0, -0.05, 0.05, 0.1)[0]
    ('supported', 'not supported')
    """
    if not all(np.isfinite([estimate, ci_low, ci_high])):
        return "not enough data", "the estimate could not be computed"
    if ci_high < trivial:
        return "not supported", (f"the interval excludes every effect of "
                                 f"{number(trivial, 'limit')} or more in the claimed direction")
    if ci_low > margin:
        return "supported", ("the interval lies in the claimed direction" if margin == 0 else
                             f"the whole interval lies above {number(margin, 'limit')} in the "
                             "claimed direction")
    return "not enough data", ("the interval is too wide to tell: it is compatible with no "
                               "effect and with one that matters; more patients are needed")
