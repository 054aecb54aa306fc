"""What several notebooks' views share: the patients' characteristics in words, and quiet models.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings

from .. import escape
from ..records.scales import Measure

#: the patients' characteristics as a table's rows name them (notebook 01's cohort table)
COHORT_LABELS = {"age": "age (years)", "sex": "sex", "skin_type": "skin type (Fitzpatrick)",
                 "smoker": "smoking", "sun_exposure": "sun exposure",
                 "sleep_hours": "sleep (hours)", "skincare": "home skincare",
                 "concern": "pore concern", "clinic_id": "clinic", "baseline": "baseline grade"}


@contextlib.contextmanager
def quiet():
    """Collect the warnings of a computation instead of printing them (they are summarised in
    plain words where it matters, never shown as raw warnings in a notebook or the report)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def markdown_label(m: Measure) -> Measure:
    """The measure with its label (from dataset.toml) escaped for a markdown sentence."""
    return dataclasses.replace(m, label=escape.markdown(m.label))
