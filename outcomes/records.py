"""Loading and validating a clinic's records (DESIGN §1).

PLACEHOLDER STATE: the container and a minimal ``from_frames`` so other modules can be built against
them; the full loader (files, validation, quarantine, identifier guard) is being written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import RecordsError
from .scales import Measure, default_measures

__all__ = ["Records", "RecordsError", "from_frames", "load_records", "REJECT_COLUMNS"]

REJECT_COLUMNS = ["file", "line", "column", "value", "reason"]


@dataclass
class Records:
    """A clinic's validated records.

    Attributes
    ----------
    sessions : DataFrame
        ``patient_id`` (str), ``date`` (datetime64), ``treatment`` (category, lower-case),
        ``depth_mm`` (float), ``areas`` (str), ``clinician_id`` (str) — optional columns always present
        (all-missing when the file lacks them).
    assessments : DataFrame
        ``patient_id``, ``date``, ``region`` (category, default ``face``), ``rater`` (category,
        default ``clinician``) and one float column per measure in ``measures``.
    patients : DataFrame
        ``patient_id`` (unique) and whichever covariates the file has: ``age`` (float), ``sex``
        (category F/M/X), ``skin_type`` (Int64 1–6), ``smoker``, ``sun_exposure``, ``skincare``,
        ``concern`` (categories), ``sleep_hours`` (float), ``clinic_id`` (str). Patients seen only in
        sessions get a row with missing covariates.
    measures : dict of str to Measure
        The scales of the measures present in ``assessments``.
    rejects : DataFrame
        Quarantined rows: ``file``, ``line`` (as seen in a spreadsheet, header = 1), ``column``,
        ``value``, ``reason`` (one row per problem; a row with two problems appears twice).
    input_rows : dict of str to int
        Data rows read per table (``loaded + quarantined == input_rows``).
    source : Path or None
        The records folder (``None`` for records built in memory).
    """

    sessions: pd.DataFrame
    assessments: pd.DataFrame
    patients: pd.DataFrame
    measures: dict[str, Measure]
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    input_rows: dict[str, int] = field(default_factory=dict)
    source: Path | None = None

    @property
    def loaded_rows(self) -> dict[str, int]:
        return {"sessions": len(self.sessions), "assessments": len(self.assessments),
                "patients": len(self.patients)}

    @property
    def n_quarantined(self) -> int:
        """Number of input rows set aside (a row with several problems counts once)."""
        if self.rejects.empty:
            return 0
        return int(self.rejects[["file", "line"]].drop_duplicates().shape[0])


def from_frames(sessions: pd.DataFrame, assessments: pd.DataFrame,
                patients: pd.DataFrame | None = None,
                measures: dict[str, Measure] | None = None, *, strict: bool = False) -> Records:
    """Build :class:`Records` from in-memory tables (same rules as :func:`load_records`)."""
    measures = dict(measures or default_measures())
    s = sessions.copy()
    s["patient_id"] = s["patient_id"].astype("str")
    s["date"] = pd.to_datetime(s["date"])
    s["treatment"] = s["treatment"].astype("str").str.strip().str.lower().astype("category")
    for col, dtype in (("depth_mm", "float64"), ("areas", "str"), ("clinician_id", "str")):
        s[col] = s[col].astype(dtype) if col in s else pd.Series(pd.NA, index=s.index).astype(dtype)
    a = assessments.copy()
    a["patient_id"] = a["patient_id"].astype("str")
    a["date"] = pd.to_datetime(a["date"])
    a["region"] = (a["region"] if "region" in a else pd.Series("face", index=a.index)).astype(
        "category")
    a["rater"] = (a["rater"] if "rater" in a else pd.Series("clinician", index=a.index)).astype(
        "category")
    present = {k: m for k, m in measures.items() if k in a}
    for k in present:
        a[k] = pd.to_numeric(a[k]).astype("float64")
    ids = pd.Index(pd.concat([s["patient_id"], a["patient_id"]]).unique(), name="patient_id")
    p = patients.copy() if patients is not None else pd.DataFrame({"patient_id": ids})
    p["patient_id"] = p["patient_id"].astype("str")
    return Records(s.reset_index(drop=True), a.reset_index(drop=True), p.reset_index(drop=True),
                   present, input_rows={"sessions": len(s), "assessments": len(a),
                                        "patients": len(p)})


def load_records(path: str | Path, strict: bool = False) -> Records:
    """Load and validate a records folder (see DESIGN §1)."""
    raise NotImplementedError("the loader is being written")
