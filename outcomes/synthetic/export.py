"""A simulated clinic's records written the way a practice system exports them (docs/methods.md
§1.14).

What a clinic lead actually has is not the records contract but three lists from the
practice-management system. :func:`write_practice_export` writes them from the records of
:func:`outcomes.synthetic.simulate` (so the truth behind them is known):

* ``appointments.csv`` — ``Appointment ID, Client ID, Client Name, Date, Time, Service, Employee,
  Location, Status, Duration (mins), Price (£)``: every session of the records as a *Completed*
  appointment under one of several service names (``SkinPen® Microneedling – Full Face``,
  ``Collagen Induction Therapy``, ``Microneedling with PRP``, ``MICRONEEDLING (face & neck)``,
  ``HydraFacial Signature`` ...), interleaved with what is not a session: consultations, skin
  scans and a few peels, and *Cancelled*, *DNA* and *Rescheduled* appointments; dates day-first
  (``05/03/2024``), sorted by date and time;
* ``skin_assessments.csv`` — the consultation form's ratings, wide by measure: ``Client ID,
  Client Name, Form, Completed On`` (``01/11/2023 08:30``), ``Completed By`` (``Clinician`` /
  ``Client``), ``Area`` (``Full face``, ``Nose`` ...), ``Pore size (0-4)``, ``Texture (0-4)``, and
  ``Notes`` (free text, sometimes);
* ``clients.csv`` — names, e-mail, mobile, date of birth (so that the age at the first session is
  the records' age), ``Gender`` (``Female``), ``Fitzpatrick`` (``Type IV``), ``Smoker``
  (``Ex-smoker``), ``Sun exposure`` (``Medium``), ``Sleep (hrs)``, ``Skincare routine``, ``Main
  concern``, ``Location``, marketing consent and client-since date.

Every name, e-mail address and phone number is made up: names are drawn from short lists,
addresses use the reserved domain ``example.com`` and mobiles Ofcom's drama range
``07700 900000``–``900999``. :meth:`PracticeExport.contract_records` gives the records the
export was made from, labelled with the export's ids (client ids, employee names, locations), so
that a test can compare both after ``outcomes anonymise`` with one key.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .demo import demo_simulation
from .truth import Simulation, _scales_toml

__all__ = ["EXPORT_FILES", "PracticeExport", "write_practice_export"]

EXPORT_FILES = ("appointments.csv", "skin_assessments.csv", "clients.csv")
WORKBOOK = "practice_export.xlsx"
SHEETS = {"appointments.csv": "Appointments", "skin_assessments.csv": "Skin assessments",
          "clients.csv": "Clients"}

_FIRST = {"F": ["Amelia", "Olivia", "Isla", "Freya", "Florence", "Poppy", "Harriet", "Matilda",
                "Esme", "Imogen", "Niamh", "Aisha", "Priya", "Zara", "Leila", "Mei", "Anya",
                "Rosa", "Clara", "Beatrix"],
          "M": ["Oliver", "Arthur", "Theo", "Henry", "Rohan", "Kofi", "Mateo", "Felix", "Jasper",
                "Idris", "Tobias", "Rupert"],
          "X": ["Alex", "Robin", "Sasha", "Jordan", "Morgan", "Riley"]}
_LAST = ["Ashworth", "Pemberly", "Okafor", "Lindgren", "Castellane", "Whitcombe", "Nakamura",
         "Fairbairn", "Delacourt", "Thistlewood", "Brennan", "Szabo", "Achterberg", "Mistry",
         "Hollingsworth", "Quennell", "Varga", "Oyelaran", "Marchbank", "Rosenthal", "Kowalczyk",
         "Tregothnan", "Abernathy", "Fenwick", "Gallacher", "Haverford", "Iredale", "Jessop"]
_EMPLOYEES = ["Dr Imogen Hale", "Dr Rafael Osei", "Nurse Tamsin Rowe", "Sophie Marchetti",
              "Dr Kwame Adjei", "Priya Raman", "Lucia Ferrante", "Dr Elliot Strand"]
_LOCATIONS = ["Kensington", "Marylebone", "Richmond", "Wimbledon", "Hampstead"]
_MICRO = [("SkinPen® Microneedling – Full Face", 0.45), ("Collagen Induction Therapy", 0.25),
          ("Microneedling with PRP", 0.15), ("MICRONEEDLING (face & neck)", 0.15)]
_HYDRA = [("HydraFacial Signature", 0.7), ("HydraFacial Platinum", 0.3)]
_SERVICE_PRICE = {"SkinPen® Microneedling – Full Face": ("60", "275.00"),
                  "Collagen Induction Therapy": ("60", "250.00"),
                  "Microneedling with PRP": ("75", "395.00"),
                  "MICRONEEDLING (face & neck)": ("75", "325.00"),
                  "HydraFacial Signature": ("45", "165.00"),
                  "HydraFacial Platinum": ("60", "220.00"),
                  "Skin Consultation": ("30", "0.00"), "Observ Skin Scan": ("15", "35.00"),
                  "Chemical Peel": ("45", "120.00")}
_AREA = {"face": "Full face", "nose": "Nose", "forehead": "Forehead", "chin": "Chin",
         "cheeks": "Cheeks"}
_RATER = {"clinician": "Clinician", "patient": "Client", "device": "Device"}
_SEX = {"F": "Female", "M": "Male", "X": "Non-binary"}
_SMOKER = {"never": "No", "former": "Ex-smoker", "current": "Yes"}
_SUN = {"low": "Low", "moderate": "Medium", "high": "High"}
_SKINCARE = {"none": "None", "basic": "Basic", "medical": "Medical-grade"}
_CONCERN = {"enlarged": "Enlarged pores", "clogged": "Blackheads", "both": "Both"}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}
_NOTES = ["Client pleased with progress so far", "Advised daily SPF and gentle cleanser",
          "Some redness after last session settled quickly", "Discussed home care and retinol",
          "Photos taken for the record today"]


@dataclass
class PracticeExport:
    """What :func:`write_practice_export` wrote, and the ids it gave the records' people."""

    folder: Path
    files: list[str]
    simulation: Simulation
    client_ids: dict[str, str] = field(default_factory=dict)   # patient_id → Client ID
    employees: dict[str, str] = field(default_factory=dict)    # clinician_id → Employee
    locations: dict[str, str] = field(default_factory=dict)    # clinic_id → Location
    rows: dict[str, int] = field(default_factory=dict)         # rows per file

    def contract_records(self) -> dict[str, pd.DataFrame]:
        """The records the export was made from (``sessions``, ``assessments``, ``patients``),
        with the export's labels: client ids, employee names, locations."""
        sim = self.simulation
        s = sim.sessions.assign(patient_id=sim.sessions["patient_id"].map(self.client_ids),
                                clinician_id=sim.sessions["clinician_id"].map(self.employees))
        a = sim.assessments.assign(patient_id=sim.assessments["patient_id"].map(self.client_ids))
        p = sim.patients.assign(patient_id=sim.patients["patient_id"].map(self.client_ids),
                                clinic_id=sim.patients["clinic_id"].map(self.locations))
        return {"sessions": s, "assessments": a, "patients": p}

    def write_contract_records(self, folder: str | Path) -> Path:
        """Write :meth:`contract_records` as a records folder (with the simulation's scales)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.contract_records().items():
            (folder / f"{name}.csv").write_bytes(
                frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        (folder / "dataset.toml").write_bytes(_scales_toml(self.simulation.measures)
                                              .encode("utf-8"))
        return folder


def write_practice_export(folder: str | Path, simulation: Simulation | None = None, *,
                          seed: int = 23, xlsx: bool = False) -> PracticeExport:
    """Write a practice system's export of ``simulation`` (the demo clinic by default).

    Parameters
    ----------
    folder : path
        Created when missing; the three lists are written into it (nothing else).
    seed : int
        Seed of everything the export adds (names, times, service names, the appointments that
        are not sessions); the same seed gives the same bytes.
    xlsx : bool
        Write one workbook ``practice_export.xlsx`` with the sheets ``Appointments``, ``Skin
        assessments`` and ``Clients`` instead of CSV files (dates of appointments and births as
        date cells, ratings as numbers, the form's ``Completed On`` as text, as such exports
        come).
    """
    sim = demo_simulation() if simulation is None else simulation
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pids = sorted(sim.patients["patient_id"].unique())
    client_ids = {p: str(20417 + 13 * i) for i, p in enumerate(pids)}
    employees = {c: _EMPLOYEES[i % len(_EMPLOYEES)]
                 for i, c in enumerate(sorted(sim.sessions["clinician_id"].dropna().unique()))}
    locations = {c: _LOCATIONS[i % len(_LOCATIONS)]
                 for i, c in enumerate(sorted(sim.patients["clinic_id"].dropna().unique()))}
    export = PracticeExport(folder, [], sim, client_ids, employees, locations)
    people = _people(rng, sim.patients.set_index("patient_id")["sex"].reindex(pids))
    clients = _clients(rng, sim, export, people)
    appointments, slot = _appointments(rng, sim, export, people, clients)
    form = _form(rng, sim, export, people, slot)
    tables = {"appointments.csv": appointments, "skin_assessments.csv": form,
              "clients.csv": clients.drop(columns=["_since"])}
    export.rows = {k: len(v) for k, v in tables.items()}
    if xlsx:
        _write_workbook(folder / WORKBOOK, tables)
        export.files = [WORKBOOK]
    else:
        for name, frame in tables.items():
            (folder / name).write_bytes(frame.to_csv(index=False, lineterminator="\n")
                                        .encode("utf-8"))
        export.files = list(EXPORT_FILES)
    return export


def _people(rng, sex: pd.Series) -> pd.DataFrame:
    pids = list(sex.index)
    first = [str(rng.choice(_FIRST.get(x, _FIRST["X"]))) for x in sex]
    last = rng.choice(_LAST, len(pids))
    email = [f"{f}.{s}{i % 97}@example.com".lower() for i, (f, s) in enumerate(zip(first, last))]
    mobile = [f"07700 900{int(x):03d}" for x in rng.integers(0, 1000, len(pids))]
    return pd.DataFrame({"first": first, "last": last, "email": email, "mobile": mobile},
                        index=pids)


def _day(d) -> str:
    return pd.Timestamp(d).strftime("%d/%m/%Y")


def _date_of_birth(rng, first: pd.Timestamp, age: float) -> str:
    """A birthday such that the completed years at ``first`` are ``age``."""
    if pd.isna(age) or pd.isna(first):
        return ""
    first = first.date()
    anniversary = (first.replace(year=first.year - int(age)) if (first.month, first.day)
                   != (2, 29) else _dt.date(first.year - int(age), 2, 28))
    born = anniversary - _dt.timedelta(days=int(rng.integers(0, 365)))
    years = first.year - born.year - ((first.month, first.day) < (born.month, born.day))
    return _day(born if years == int(age) else anniversary)


def _clients(rng, sim, export, people) -> pd.DataFrame:
    p = sim.patients.set_index("patient_id")
    first = pd.to_datetime(sim.sessions["date"]).groupby(sim.sessions["patient_id"]).min()
    rated = pd.to_datetime(sim.assessments["date"]).groupby(sim.assessments["patient_id"]).min()
    # a client since the consultation, a little before the first rating or session
    since = {pid: min(first.get(pid, pd.NaT), rated.get(pid, first.get(pid)))
             - pd.Timedelta(days=int(rng.integers(0, 15))) for pid in p.index}
    rows = []
    for pid, r in p.iterrows():
        rows.append({
            "Client ID": export.client_ids[pid], "First Name": people.at[pid, "first"],
            "Last Name": people.at[pid, "last"], "Email": people.at[pid, "email"],
            "Mobile": people.at[pid, "mobile"],
            "Date of Birth": _date_of_birth(rng, first.get(pid), r["age"]),
            "Gender": _SEX.get(r["sex"], ""),
            "Fitzpatrick": f"Type {_ROMAN[int(r['skin_type'])]}" if pd.notna(r["skin_type"])
            else "",
            "Smoker": _SMOKER.get(r["smoker"], ""), "Sun exposure": _SUN.get(r["sun_exposure"], ""),
            "Sleep (hrs)": "" if pd.isna(r["sleep_hours"]) else f"{r['sleep_hours']:g}",
            "Skincare routine": _SKINCARE.get(r["skincare"], ""),
            "Main concern": _CONCERN.get(r["concern"], ""),
            "Location": export.locations.get(r["clinic_id"], ""),
            "Marketing consent": "Yes" if rng.random() < 0.6 else "No",
            "Client since": _day(since[pid]), "_since": since[pid]})
    return pd.DataFrame(rows)


def _appointments(rng, sim, export, people, clients) -> tuple[pd.DataFrame, dict]:
    s = sim.sessions
    loc = dict(zip(sim.patients["patient_id"], sim.patients["clinic_id"]))
    staff = list(export.employees.values())
    rows, slot = [], {}

    def add(pid, day, service, status, employee=None, time=None):
        time = time or f"{int(rng.integers(9, 18)):02d}:{int(rng.choice([0, 30])):02d}"
        minutes, price = _SERVICE_PRICE[service]
        rows.append({"Client ID": export.client_ids[pid],
                     "Client Name": f"{people.at[pid, 'first']} {people.at[pid, 'last']}",
                     "_day": pd.Timestamp(day), "Time": time, "Service": service,
                     "Employee": employee or staff[int(rng.integers(len(staff)))],
                     "Location": export.locations.get(loc[pid], ""), "Status": status,
                     "Duration (mins)": minutes, "Price (£)": price})
        return time

    micro, hydra = [x for x, _ in _MICRO], [x for x, _ in _HYDRA]
    pm, ph = [w for _, w in _MICRO], [w for _, w in _HYDRA]
    end = pd.Timestamp(s["date"].max())
    for r in s.itertuples():
        service = (rng.choice(micro, p=pm) if r.treatment == "microneedling"
                   else rng.choice(hydra, p=ph) if r.treatment == "hydrafacial"
                   else str(r.treatment))
        day = pd.Timestamp(r.date)
        slot[(r.patient_id, r.date)] = add(r.patient_id, day, service, "Completed",
                                           export.employees.get(r.clinician_id))
        u = rng.random()
        if u < 0.10:  # booked for an earlier day, then cancelled or moved
            back = day - pd.Timedelta(days=int(rng.integers(1, 8)))
            add(r.patient_id, back, service, "Cancelled" if u < 0.07 else "Rescheduled")
        elif u < 0.13:  # did not attend; came later
            add(r.patient_id, day - pd.Timedelta(days=int(rng.integers(3, 10))), service, "DNA")
        elif u < 0.15 and day + pd.Timedelta(days=40) < end:
            add(r.patient_id, day + pd.Timedelta(days=int(rng.integers(20, 40))), service,
                "Cancelled")
    for pid, since in zip(sim.patients["patient_id"], clients["_since"]):
        add(pid, since, "Skin Consultation", "Completed")
        if rng.random() < 0.25:
            add(pid, since + pd.Timedelta(days=int(rng.integers(60, 200))), "Observ Skin Scan",
                "Completed")
        if rng.random() < 0.04:
            add(pid, since + pd.Timedelta(days=int(rng.integers(30, 300))), "Chemical Peel",
                "Completed" if rng.random() < 0.8 else "Cancelled")
    frame = pd.DataFrame(rows).sort_values(["_day", "Time", "Client ID"], kind="stable")
    frame.insert(0, "Appointment ID", [f"APT-{100001 + i}" for i in range(len(frame))])
    frame.insert(3, "Date", frame.pop("_day").dt.strftime("%d/%m/%Y"))
    return frame.reset_index(drop=True), slot


def _form(rng, sim, export, people, slot) -> pd.DataFrame:
    a = sim.assessments
    rows, times = [], {}
    for r in a.itertuples():
        at = times.get((r.patient_id, r.date, r.rater))
        booked = slot.get((r.patient_id, r.date))
        if at is None and booked is not None:  # rated before the session of that day
            h, m = map(int, booked.split(":"))
            at = max(8 * 60, h * 60 + m - 15 - int(rng.integers(0, 10)))
        elif at is None:
            at = int(rng.integers(9 * 60, 18 * 60))
        times[(r.patient_id, r.date, r.rater)] = at
        rows.append({"Client ID": export.client_ids[r.patient_id],
                     "Client Name": f"{people.at[r.patient_id, 'first']} "
                                    f"{people.at[r.patient_id, 'last']}",
                     "Form": "Skin assessment",
                     "_at": pd.Timestamp(r.date) + pd.Timedelta(minutes=at),
                     "Completed By": _RATER[r.rater], "Area": _AREA[r.region],
                     "Pore size (0-4)": _grade(r.pore), "Texture (0-4)": _grade(r.texture),
                     "Notes": (str(rng.choice(_NOTES)) if r.region == "face" and rng.random()
                               < 0.12 else "")})
    frame = pd.DataFrame(rows).sort_values(["_at", "Client ID"], kind="stable")
    frame.insert(3, "Completed On", frame.pop("_at").dt.strftime("%d/%m/%Y %H:%M"))
    return frame.reset_index(drop=True)


def _grade(x) -> str:
    return "" if pd.isna(x) else f"{float(x):g}"


def _write_workbook(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """One workbook, a sheet per list: dates of appointments and births as date cells, ratings
    and sleep as numbers, the rest as text (a spreadsheet's own cells, as an export has them)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    as_date = {"Date", "Date of Birth", "Client since"}
    as_number = {"Pore size (0-4)", "Texture (0-4)", "Sleep (hrs)", "Duration (mins)"}
    for name, frame in tables.items():
        ws = wb.create_sheet(SHEETS[name])
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            cells = []
            for col, v in zip(frame.columns, row):
                if v == "" or v is None:
                    cells.append(None)
                elif col in as_date:
                    cells.append(_dt.datetime.strptime(v, "%d/%m/%Y").date())
                elif col in as_number:
                    cells.append(float(v))
                else:
                    cells.append(v)
            ws.append(cells)
    wb.save(path)
