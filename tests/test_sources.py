"""A practice system's export read through a [sources] mapping (issue 23, docs/methods.md §1.14).

The export is the simulated clinic's records written as a practice system exports them
(:mod:`outcomes.synthetic.export`); the mapping is issue 23's, with exactly its keys.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sources_fixtures import (
    ISSUE_TOML,
    copy,
    edit_cell,
    export,
    simulation,
    without_identifiers,
)

from outcomes.cli import main
from outcomes.errors import RecordsError
from outcomes.records import load_records
from outcomes.records.sources import parse_date, read_mapped, strip_sources

PATTERNS = ["microneedling", "skinpen", "collagen induction"]


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "raw"
    export(folder, toml=ISSUE_TOML)
    return folder


@pytest.fixture
def clean(raw, tmp_path):
    """The export without the columns that name people: `outcomes check` can read it."""
    return without_identifiers(copy(raw, tmp_path / "clean"))


def csv(folder, name):
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def completed_microneedling(appointments: pd.DataFrame) -> pd.Series:
    service = appointments["Service"].str.casefold()
    return (appointments["Status"] == "Completed") & service.map(
        lambda s: any(p in s for p in PATTERNS))


# ----------------------------------------------------------------------------------------------
# the mapping of issue 23, as written


def test_check_on_the_raw_export_stops_at_its_names(raw, capsys):
    assert main(["check", str(raw)]) == 1
    err = capsys.readouterr().err
    assert "'Client Name'" in err and "outcomes anonymise" in err and "Traceback" not in err


def test_every_row_of_the_files_is_accounted_for(clean, capsys):
    assert main(["check", str(clean), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    files = {"sessions": "appointments.csv", "assessments": "skin_assessments.csv",
             "patients": "clients.csv"}
    for table, file in files.items():
        rows = len(csv(clean, file))
        assert info["rows_in_files"][table] == rows
        assert (info["loaded"][table] + info["quarantined_by_table"][table]
                + info["set_aside_rows"][table]) == rows
    appointments = csv(clean, "appointments.csv")
    statuses = appointments.loc[appointments["Status"] != "Completed", "Status"].value_counts()
    aside = pd.DataFrame(info["set_aside"])
    by_status = aside[aside["column"] == "Status"].set_index("value")["rows"]
    assert by_status.to_dict() == statuses.to_dict()
    unmapped = appointments[(appointments["Status"] == "Completed")
                            & ~completed_microneedling(appointments)]["Service"].value_counts()
    by_service = aside[aside["column"] == "Service"].set_index("value")["rows"]
    assert by_service.to_dict() == unmapped.to_dict()
    assert {"HydraFacial Signature", "Skin Consultation", "Observ Skin Scan"} <= set(
        by_service.index)


def test_check_says_what_was_set_aside(clean, capsys):
    assert main(["check", str(clean)]) == 0
    out = capsys.readouterr().out
    appointments = csv(clean, "appointments.csv")
    cancelled = int((appointments["Status"] == "Cancelled").sum())
    assert f"appointments.csv: Status = Cancelled: {cancelled:,} rows" in out
    assert re.search(r"Service not mapped to a treatment: .*Skin Consultation \(\d+ rows\)", out)
    assert "set aside by the mapping" in out.splitlines()[1]


def test_the_records_loaded_are_the_simulated_ones(clean):
    records = load_records(clean)
    sim = simulation()
    ids = {p: str(20417 + 13 * i) for i, p in enumerate(sorted(sim.patients["patient_id"]))}
    micro = sim.sessions[sim.sessions["treatment"] == "microneedling"]
    want = sorted(zip(micro["patient_id"].map(ids), micro["date"]))
    got = sorted(zip(records.sessions["patient_id"], records.sessions["date"].dt.strftime(
        "%Y-%m-%d")))
    assert got == want
    a = sim.assessments.assign(patient_id=sim.assessments["patient_id"].map(ids))
    cols = ["patient_id", "date", "region", "rater", "pore", "texture"]
    loaded = records.assessments.assign(date=records.assessments["date"].dt.strftime("%Y-%m-%d"))
    key = lambda f: sorted(map(tuple, f[cols].astype(str).to_numpy()))
    assert key(loaded) == key(a)
    p = records.patients.set_index("patient_id")
    s = sim.patients.assign(patient_id=sim.patients["patient_id"].map(ids)).set_index("patient_id")
    for c in ("sex", "skin_type", "smoker", "sun_exposure", "sleep_hours"):
        assert (p[c].astype(str) == s.loc[p.index, c].astype(str)).all(), c
    # age at the first session kept: the simulated age wherever that is its first session
    first = sim.sessions.groupby("patient_id")["treatment"].first().rename(index=ids)
    same = first[first == "microneedling"].index
    assert (p.loc[same, "age"] == s.loc[same, "age"]).all() and len(same) > 50


def test_a_bad_cell_is_quarantined_with_the_source_file_line_column_and_cell(clean, capsys):
    appointments = csv(clean, "appointments.csv")
    line = int(np.flatnonzero(completed_microneedling(appointments))[5]) + 2
    edit_cell(clean / "appointments.csv", line, "Date", "31/02/2024")
    edit_cell(clean / "skin_assessments.csv", 9, "Pore size (0-4)", "7")
    assert main(["check", str(clean), "--json"]) == 0
    rejects = json.loads(capsys.readouterr().out)["rejects"]
    assert {"file": "appointments.csv", "line": line, "column": "Date", "value": "31/02/2024",
            "reason": "impossible date (no such day, read day-first)"} in rejects
    assert {"file": "skin_assessments.csv", "line": 9, "column": "Pore size (0-4)", "value": "7",
            "reason": "outside the pore scale 0–4"} in rejects
    assert main(["check", str(clean), "--strict"]) == 1
    assert f"appointments.csv line {line}: Date '31/02/2024'" in capsys.readouterr().err


def test_a_date_that_reads_only_month_first_is_a_row_problem_with_its_reason(clean):
    appointments = csv(clean, "appointments.csv")
    line = int(np.flatnonzero(completed_microneedling(appointments))[3]) + 2
    edit_cell(clean / "appointments.csv", line, "Date", "03/25/2024")
    rejects = load_records(clean).rejects
    row = rejects[rejects["line"] == line].iloc[0]
    assert (row["column"], row["value"]) == ("Date", "03/25/2024")
    assert row["reason"] == "not a day-first date (it reads only as month-first)"


# ----------------------------------------------------------------------------------------------
# mapping errors: file, line, column, value and the fix


def test_a_column_that_does_not_exist(clean):
    toml = ISSUE_TOML.replace('treatment = "Service"', 'treatment = "Services"')
    (clean / "dataset.toml").write_text(toml)
    with pytest.raises(RecordsError) as exc:
        load_records(clean)
    msg = str(exc.value)
    for part in ("[sources.sessions] columns", "appointments.csv line 1", "'Services'",
                 "Did you mean 'Service'?", "Fix the name in dataset.toml"):
        assert part in msg


def test_a_value_with_no_mapping(clean, raw, tmp_path, capsys):
    edit_cell(clean / "clients.csv", 7, "Smoker", "Occasionally")
    with pytest.raises(RecordsError) as exc:
        load_records(clean)
    msg = str(exc.value)
    for part in ("clients.csv", "'Smoker'", "'Occasionally'", "first on line 7",
                 "[sources.patients.values.smoker]", '"Occasionally" = "..."',
                 "never, former, current"):
        assert part in msg, part
    # anonymise stops the same way, and writes nothing
    dirty = copy(raw, tmp_path / "dirty")
    edit_cell(dirty / "clients.csv", 7, "Smoker", "Occasionally")
    assert main(["anonymise", str(dirty), str(tmp_path / "out"), "--key-file",
                 str(tmp_path / "k")]) == 1
    assert "'Occasionally'" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_dates_that_do_not_read_day_first(clean):
    frame = csv(clean, "appointments.csv")
    frame["Date"] = pd.to_datetime(frame["Date"], format="%d/%m/%Y").dt.strftime("%m/%d/%Y")
    frame.to_csv(clean / "appointments.csv", index=False, lineterminator="\n")
    with pytest.raises(RecordsError) as exc:
        load_records(clean)
    msg = str(exc.value)
    # the first row passed on (completed microneedling) whose date reads only month-first
    read = completed_microneedling(frame) & (frame["Date"].str[3:5].astype(int) > 12)
    line = int(np.flatnonzero(read)[0]) + 2
    first = frame["Date"].iloc[line - 2]
    assert f"appointments.csv line {line}, column 'Date': {first!r}" in msg
    assert 'set dates = "month-first" under [sources.sessions]' in msg


@pytest.mark.parametrize(("edit", "expected"), [
    (("[sources.sessions]\n", "[sources.sessions]\nfiles = 1\n"), "unknown key(s) files"),
    (("patient_id = \"Client ID\", sex", "patientid = \"Client ID\", sex"),
     "'patientid' is not a column of the patients records"),
    (('"Non-binary" = "X"', '"Non-binary" = "?"'), "replace the ? with what the value means"),
    (('Female = "F"', 'Female = "Woman"'), "'Woman' is not a sex of the records"),
    (('file = "clients.csv"', 'file = "clients.xlsx"'), "has no such file (it has"),
    (('dates = "day-first"\nkeep', 'dates = "dmy"\nkeep'), "dates = 'dmy'; it must be one of"),
    (('"collagen induction"]', '"collagen induction"], hydrafacial = ["collagen induction"]'),
     "the service 'Collagen Induction Therapy' matches"),
    (('measures = { pore', 'measures = { redness = "Texture (0-4)", pore'),
     "'redness' has no scale; declare it in dataset.toml as [measures.redness]"),
])
def test_mapping_errors_say_what_to_fix(clean, edit, expected, capsys):
    old, new = edit
    assert old in ISSUE_TOML
    (clean / "dataset.toml").write_text(ISSUE_TOML.replace(old, new, 1))
    assert main(["check", str(clean)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_a_workbook_of_several_sheets_needs_the_sheet(tmp_path):
    folder = tmp_path / "xlsx"
    export(folder, n=40, xlsx=True)
    (folder / "dataset.toml").write_text(
        '[sources.sessions]\nfile = "practice_export.xlsx"\n'
        'columns = { patient_id = "Client ID", date = "Date", treatment = "Service" }\n'
        '[sources.assessments]\nfile = "practice_export.xlsx"\nsheet = "skin assessments"\n'
        'columns = { patient_id = "Client ID", date = "Completed On" }\ndates = "day-first"\n'
        'measures = { pore = "Pore size (0-4)" }\n')
    with pytest.raises(RecordsError, match=r"workbook of 3 sheets \(Appointments, Skin "
                                           r"assessments, Clients\): say which one"):
        read_mapped(folder, guard=False)


# ----------------------------------------------------------------------------------------------
# formats, vocabulary and the smaller rules


def test_a_parquet_list_reads_like_its_csv(clean):
    before = load_records(clean).patients
    frame = csv(clean, "clients.csv")
    frame["Sleep (hrs)"] = pd.to_numeric(frame["Sleep (hrs)"])
    frame["Date of Birth"] = pd.to_datetime(frame["Date of Birth"], format="%d/%m/%Y")
    frame.to_parquet(clean / "clients.parquet")
    (clean / "clients.csv").unlink()
    (clean / "dataset.toml").write_text(ISSUE_TOML.replace('"clients.csv"', '"clients.parquet"'))
    pd.testing.assert_frame_equal(load_records(clean).patients, before)


def test_a_malformed_line_of_the_export_keeps_its_line(clean, capsys):
    """The export's files are read by the loader's own CSV reader (one reader per format): a line
    with a stray field is quarantined with its line in the export, and the rows still add up."""
    path = clean / "appointments.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[6] = lines[6].rstrip("\n") + ",stray\n"  # line 7 of the file
    path.write_text("".join(lines), encoding="utf-8")
    assert main(["check", str(clean), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    hits = [r for r in info["rejects"] if r["file"] == "appointments.csv" and r["line"] == 7]
    assert hits and "fields but the header has" in hits[0]["reason"]
    rows = len(lines) - 1
    assert info["rows_in_files"]["sessions"] == rows
    assert (info["loaded"]["sessions"] + info["quarantined_by_table"]["sessions"]
            + info["set_aside_rows"]["sessions"]) == rows


def test_the_built_in_vocabulary_is_listed(clean):
    edit_cell(clean / "clients.csv", 2, "Sun exposure", "Sun exposure: High")
    mapped = read_mapped(clean)
    vocab = mapped.vocabulary
    assert {("Fitzpatrick", "Type IV", "4"), ("Sun exposure", "Medium", "moderate"),
            ("Sun exposure", "Sun exposure: High", "high")} <= set(
        zip(vocab["column"], vocab["value"], vocab["to"]))
    assert load_records(clean).patients["sun_exposure"].iloc[0] == "high"


def test_a_table_the_mapping_does_not_name_is_read_as_it_is(clean, tmp_path):
    simulation().write(tmp_path / "contract")
    for name in ("skin_assessments.csv", "clients.csv"):
        (clean / name).unlink()
    (tmp_path / "contract" / "patients.csv").rename(clean / "patients.csv")
    (tmp_path / "contract" / "assessments.csv").rename(clean / "assessments.csv")
    (clean / "dataset.toml").write_text(ISSUE_TOML.split("[sources.assessments]")[0])
    records = load_records(clean)
    assert records.files["assessments"] == "assessments.csv"
    # the contract files use P0001-style ids, the appointments client ids: every rating is of
    # a patient the patients file knows, and every session of one it does not
    assert len(records.assessments) == len(simulation().assessments)
    assert records.added_patients == records.sessions["patient_id"].nunique()


def test_an_unmapped_column_named_like_a_records_column_is_set_apart(clean):
    frame = csv(clean, "clients.csv")
    frame["Age"] = "99"
    frame.to_csv(clean / "clients.csv", index=False, lineterminator="\n")
    records = load_records(clean)
    assert (records.patients["age"].dropna() < 99).all()
    assert "age_(not_mapped)" in records.extra_columns["patients"]


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("05/03/2024", "day-first", "2024-03-05"),
    ("05/03/2024", "month-first", "2024-05-03"),
    ("01/11/2023 08:30", "day-first", "2023-11-01"),
    ("5.3.2024 2:30 pm", "day-first", "2024-03-05"),
    ("2024-03-05T10:00:00", "month-first", "2024-03-05"),
    ("Tue 5 Mar 2024", "month-first", "2024-03-05"),
    ("March 5, 2024", "day-first", "2024-03-05"),
    ("25/03/2024", "month-first", None),
    ("31/02/2024", "day-first", None),
    ("05/03/24", "day-first", None),
    ("05/03/2024", "iso", None),
    ("soon", "day-first", None),
])
def test_dates_read_in_the_declared_order_only(text, order, expected):
    assert parse_date(text, order)[0] == expected


def test_dataset_toml_without_its_mapping_keeps_the_rest():
    text = ('# scales\n[measures.pore]\nlabel = "Pores"\n\n# how to read the export\n'
            + ISSUE_TOML + "\n[strategies.six_weekly]\nevery = 42\ntolerance = 7\n")
    out = strip_sources(text)
    assert "[sources" not in out and "[measures.pore]" in out and "every = 42" in out
    assert out.startswith("# scales") and "how to read the export" not in out


def test_anonymise_writes_records_that_name_nobody(raw, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["anonymise", str(raw), str(out), "--key-file", str(tmp_path / "k")]) == 0
    account = capsys.readouterr().out
    assert "set aside (rows of the export that are not records; not written):" in account
    assert "appointments.csv -> sessions: Client ID -> patient_id, Date -> date" in account
    assert sorted(p.name for p in out.iterdir()) == ["assessments.csv", "dataset.toml",
                                                     "patients.csv", "sessions.csv"]
    assert "sources" not in (out / "dataset.toml").read_text()
    written = "\n".join((out / f).read_text() for f in ("sessions.csv", "assessments.csv",
                                                        "patients.csv"))
    clients = csv(raw, "clients.csv")
    for column in ("Last Name", "Email", "Mobile", "Date of Birth"):
        assert not any(v in written for v in clients[column].unique()), column
    records = load_records(out)
    appointments = csv(raw, "appointments.csv")
    assert len(records.sessions) == int(completed_microneedling(appointments).sum())
    assert records.n_quarantined == 0
    assert list(records.patients.columns) == ["patient_id", "age", "sex", "skin_type", "smoker",
                                              "sun_exposure", "sleep_hours", "clinic_id"]


def test_anonymise_names_the_export_s_own_data_row(raw, tmp_path, capsys):
    """Rows set aside are not written, yet a message of anonymise counts the export's rows."""
    folder = copy(raw, tmp_path / "named")
    toml = ISSUE_TOML.replace('treatments = { microneedling = ["microneedling", "skinpen", '
                              '"collagen induction"] }\n', "")
    (folder / "dataset.toml").write_text(toml)
    appointments = csv(folder, "appointments.csv")
    completed = np.flatnonzero(appointments["Status"] == "Completed")
    line = int(completed[completed > np.flatnonzero(appointments["Status"] != "Completed")[2]][0]
               ) + 2
    surname = csv(folder, "clients.csv")["Last Name"].iloc[0]
    edit_cell(folder / "appointments.csv", line, "Service", f"Microneedling ({surname})")
    assert main(["anonymise", str(folder), str(tmp_path / "out"), "--key-file",
                 str(tmp_path / "k")]) == 1
    err = capsys.readouterr().err
    assert f"appointments.csv: column 'treatment' holds a name found in the export's name or " \
           f"id columns in 1 row(s) (first at data row {line - 1})" in err


def test_the_issue_s_mapping_as_written_over_several_lines_reads(clean):
    """Issue 23 writes the patients' columns over two lines (TOML 1.1); tomllib reads 1.0."""
    broken = ISSUE_TOML.replace(', sun_exposure = "Sun exposure", ',
                                ',\n            sun_exposure = "Sun exposure", # the sun\n  ')
    assert broken != ISSUE_TOML
    (clean / "dataset.toml").write_text(broken)
    records = load_records(clean)
    assert records.patients["sun_exposure"].notna().all()
    (clean / "dataset.toml").write_text(broken.replace("sex = {", "sex = {{"))
    with pytest.raises(RecordsError, match="dataset.toml: not valid TOML"):
        load_records(clean)
