"""Small records folders for the loader tests (written into pytest's tmp_path)."""

from __future__ import annotations

from pathlib import Path

SESSIONS = """patient_id,date,treatment,depth_mm,areas,clinician_id
P001,2024-01-10,microneedling,1.5,nose;chin,C1
P001,2024-02-10,microneedling,1.5,nose;chin,C1
P002,2024-01-15,hydrafacial,,face,C2
P002,2024-03-15,hydrafacial,,face,C2
P003,2024-02-01,microneedling,1.0,cheeks,C1
"""

ASSESSMENTS = """patient_id,date,region,rater,pore,texture
P001,2024-01-10,face,clinician,3,2.5
P001,2024-07-10,face,clinician,2,2
P002,2024-01-15,face,clinician,2.5,3
P002,2024-07-15,nose,patient,2,
P003,2024-02-01,face,clinician,3.5,3
"""

PATIENTS = """patient_id,age,sex,skin_type,smoker,sun_exposure,sleep_hours,skincare,concern,clinic_id
P001,34,F,2,never,low,7,basic,enlarged,K1
P002,51,M,III,current,high,6,none,clogged,K1
P003,45,F,4,former,moderate,8,medical,both,K2
"""


def write(folder: Path, *, sessions: str | None = SESSIONS, assessments: str | None = ASSESSMENTS,
          patients: str | None = PATIENTS, toml: str | None = None,
          newline: str = "\n", bom: bool = False) -> Path:
    """Write a records folder; ``None`` leaves a table out."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("sessions", sessions), ("assessments", assessments),
                       ("patients", patients)):
        if text is not None:
            data = text.replace("\n", newline).encode("utf-8")
            (folder / f"{name}.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    if toml is not None:
        (folder / "dataset.toml").write_text(toml, encoding="utf-8")
    return folder


def add_rows(text: str, *rows: str) -> str:
    return text + "".join(r + "\n" for r in rows)
