"""Practice-system exports for the [sources] tests (issue 23), written into pytest's tmp_path."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pandas as pd

from outcomes.synthetic import simulate
from outcomes.synthetic.export import write_practice_export

#: the mapping of issue 23 with exactly its keys (its inline tables on one line each, as TOML
#: 1.0 requires)
ISSUE_TOML = """\
[sources.sessions]
file = "appointments.csv"
columns = { patient_id = "Client ID", date = "Date", treatment = "Service", clinician_id = "Employee" }
dates = "day-first"
keep = { Status = ["Completed"] }
treatments = { microneedling = ["microneedling", "skinpen", "collagen induction"] }
[sources.assessments]
file = "skin_assessments.csv"
columns = { patient_id = "Client ID", date = "Completed On", rater = "Completed By", region = "Area" }
dates = "day-first"
measures = { pore = "Pore size (0-4)", texture = "Texture (0-4)" }
values = { rater = { Clinician = "clinician", Client = "patient" }, region = { "Full face" = "face", Nose = "nose" } }
[sources.patients]
file = "clients.csv"
columns = { patient_id = "Client ID", sex = "Gender", skin_type = "Fitzpatrick", smoker = "Smoker", sun_exposure = "Sun exposure", sleep_hours = "Sleep (hrs)", clinic_id = "Location", date_of_birth = "Date of Birth" }
dates = "day-first"
values = { sex = { Female = "F", Male = "M", "Non-binary" = "X" }, smoker = { No = "never", Yes = "current", "Ex-smoker" = "former" } }
"""

#: columns that name people, per file of the export (what anonymise drops)
IDENTIFYING = {"appointments.csv": ["Client Name"], "skin_assessments.csv": ["Client Name",
                                                                          "Notes"],
               "clients.csv": ["First Name", "Last Name", "Email", "Mobile"]}


@functools.lru_cache(maxsize=4)
def simulation(n: int = 120, seed: int = 3):
    return simulate(n, seed=seed)


def export(folder: Path, *, n: int = 120, seed: int = 3, xlsx: bool = False,
           toml: str | None = None):
    """A practice export of a small simulated clinic in ``folder`` (optionally a dataset.toml)."""
    written = write_practice_export(folder, simulation(n, seed), xlsx=xlsx)
    if toml is not None:
        (folder / "dataset.toml").write_text(toml, encoding="utf-8")
    return written


def without_identifiers(folder: Path) -> Path:
    """Drop the columns that name people from the CSV files and give the staff codes (an
    export a clinic cleaned by hand): the identifier guard then lets ``outcomes check`` read
    it."""
    for file, columns in IDENTIFYING.items():
        frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
        if "Employee" in frame:
            codes = {e: f"E{i + 1}" for i, e in enumerate(sorted(frame["Employee"].unique()))}
            frame["Employee"] = frame["Employee"].map(codes)
        frame.drop(columns=columns).to_csv(folder / file, index=False, lineterminator="\n")
    return folder


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_cell(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a CSV file (``line`` as in a spreadsheet: header = 1)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[line - 2, column] = value
    frame.to_csv(path, index=False, lineterminator="\n")
