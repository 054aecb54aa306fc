"""The declared shape of the loaded tables (pandera schemas) and the vocabulary of the records.

The loader (:mod:`outcomes.records`) finds row problems itself, vectorised on the unique values of each
column, because it must report the file line of every bad cell, and fast: pandera validating every row
of a million-session export costs ~0.05 s, about 60% of the raw CSV read the loader is measured against
(``benchmarks/load.py``). The pandera schemas below declare what a *loaded* table looks like (dtypes,
allowed categories, ranges, uniqueness); the loader validates the first rows of its result against them
as a post-condition, so a bug in the loader cannot hand an analysis a table that breaks the data contract
unnoticed (docs/methods.md §1).
"""

from __future__ import annotations

import pandera.pandas as pa

from .contract import (
    ASSESSMENT_COLUMNS,
    CATEGORIES,
    EARLIEST_DATE,
    NUMBER_RANGES,
    PATIENT_COLUMNS,
    REQUIRED,
    SESSION_COLUMNS,
    TABLES,
)
from .scales import Measure

__all__ = [
    "ASSESSMENT_COLUMNS",
    "CATEGORIES",
    "EARLIEST_DATE",
    "NUMBER_RANGES",
    "PATIENT_COLUMNS",
    "REQUIRED",
    "SESSION_COLUMNS",
    "TABLES",
    "table_schema",
]

def _nullable_in(values):
    return pa.Check.isin(list(values))


def table_schema(table: str, measures: dict[str, Measure] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a loaded table.

    Parameters
    ----------
    table : {"sessions", "assessments", "patients"}
    measures : dict of str to Measure, optional
        The measures present in the assessments (one float column each, within the scale).

    Returns
    -------
    pandera.DataFrameSchema
        Not strict: extra columns (kept as text by the loader) are allowed.
    """
    if table not in TABLES:
        raise ValueError(f"The value for `table` must be one of {list(TABLES)}, but {table!r} "
                         "was passed.")
    date = pa.Column("datetime64[s]", nullable=False,
                     checks=pa.Check.ge(EARLIEST_DATE))
    pid = pa.Column("str", nullable=False, checks=pa.Check.str_length(min_value=1))
    if table == "sessions":
        lo, hi = NUMBER_RANGES["depth_mm"]
        cols = {"patient_id": pid, "date": date,
                "treatment": pa.Column("category", nullable=False),
                "depth_mm": pa.Column(float, nullable=True, checks=pa.Check.in_range(lo, hi)),
                "areas": pa.Column("str", nullable=True),
                "clinician_id": pa.Column("str", nullable=True)}
    elif table == "assessments":
        cols = {"patient_id": pid, "date": date,
                "region": pa.Column("category", nullable=False,
                                    checks=_nullable_in(CATEGORIES["region"])),
                "rater": pa.Column("category", nullable=False,
                                   checks=_nullable_in(CATEGORIES["rater"]))}
        for name, m in (measures or {}).items():
            cols[name] = pa.Column(float, nullable=True, checks=pa.Check.in_range(m.min, m.max))
    else:
        cols = {"patient_id": pa.Column("str", nullable=False, unique=True)}
        for name, kind in PATIENT_COLUMNS.items():
            if name == "patient_id":
                continue
            if kind == "number":
                lo, hi = NUMBER_RANGES[name]
                cols[name] = pa.Column(float, nullable=True, required=False,
                                       checks=pa.Check.in_range(lo, hi))
            elif kind == "skin_type":
                cols[name] = pa.Column("Int64", nullable=True, required=False,
                                       checks=pa.Check.in_range(1, 6))
            elif kind == "category":
                cols[name] = pa.Column("category", nullable=True, required=False,
                                       checks=_nullable_in(CATEGORIES[name]))
            else:
                cols[name] = pa.Column("str", nullable=True, required=False)
    return pa.DataFrameSchema(cols, strict=False, coerce=False, name=table)
