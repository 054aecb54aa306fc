"""The vocabulary of the records (docs/methods.md §1): tables, columns, their kinds, the allowed
categories and ranges. Plain data, read by the loader (:mod:`outcomes.records`), the pandera
schemas (:mod:`outcomes.schema`) and the scales (a measure may not take a contract column's name).
"""

from __future__ import annotations

TABLES = ("sessions", "assessments", "patients")

#: columns a file must have
REQUIRED = {
    "sessions": ("patient_id", "date", "treatment"),
    "assessments": ("patient_id", "date"),
    "patients": ("patient_id",),
}

#: column → kind: "id" (text, kept as str), "text", "date", "number", "category", "skin_type"
SESSION_COLUMNS = {"patient_id": "id", "date": "date", "treatment": "category",
                   "depth_mm": "number", "areas": "text", "clinician_id": "id"}
ASSESSMENT_COLUMNS = {"patient_id": "id", "date": "date", "region": "category",
                      "rater": "category"}
PATIENT_COLUMNS = {"patient_id": "id", "age": "number", "sex": "category",
                   "skin_type": "skin_type", "smoker": "category", "sun_exposure": "category",
                   "sleep_hours": "number", "skincare": "category", "concern": "category",
                   "clinic_id": "id"}

#: the allowed values of the closed categorical columns, in their natural order
CATEGORIES = {
    "region": ("face", "nose", "forehead", "chin", "cheeks"),
    "rater": ("clinician", "patient", "device"),
    "sex": ("F", "M", "X"),
    "smoker": ("never", "former", "current"),
    "sun_exposure": ("low", "moderate", "high"),
    "skincare": ("none", "basic", "medical"),
    "concern": ("enlarged", "clogged", "both"),
}

#: value filled in when an optional categorical column is absent or the cell is empty
CATEGORY_DEFAULTS = {"region": "face", "rater": "clinician"}

#: plausible ranges (inclusive) of the numeric columns other than the measures
NUMBER_RANGES = {"depth_mm": (0.0, 3.0), "age": (0.0, 120.0), "sleep_hours": (0.0, 24.0)}

EARLIEST_DATE = "1990-01-01"
