"""`outcomes check`: exit codes, human output, --json, --strict, and the acceptance folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from records_fixtures import ASSESSMENTS, PATIENTS, SESSIONS, add_rows, write

from outcomes.cli import main

# a dozen kinds of bad rows, each on a known line
BAD_SESSIONS = [
    ("P001,2024-02-30,microneedling,1,,", "impossible date"),           # line 7
    ("P001,23/11/2024,microneedling,1,,", "not in YYYY-MM-DD"),         # line 8
    ("P001,1985-05-01,microneedling,1,,", "before 1990"),               # line 9
    ("P001,2999-01-01,microneedling,1,,", "in the future"),             # line 10
    (",2024-03-01,microneedling,1,,", "empty patient_id"),              # line 11
    ("P001,2024-03-01,microneedling,-0.5,,", "depth outside"),          # line 12
    ("P001,2024-01-10,microneedling,1.5,nose;chin,C1", "exact duplicate"),  # line 13
]
BAD_ASSESSMENTS = [
    ("P001,2024-03-01,face,clinician,5,2", "outside the pore scale"),   # line 7
    ("P001,2024-03-01,face,clinician,mild,2", "not a number"),          # line 8
    ("P999,2024-03-01,face,clinician,2,2", "neither sessions nor patients"),  # line 9
    ("P001,2024-03-01,face,clinician,,", "no rating"),                  # line 10
]
BAD_PATIENTS = [("P004,40,F,2,sometimes,low,7,basic,both,K1", "unknown smoker")]  # line 5


@pytest.fixture
def bad_folder(tmp_path):
    return write(tmp_path / "bad",
                 sessions=add_rows(SESSIONS, *[r for r, _ in BAD_SESSIONS]),
                 assessments=add_rows(ASSESSMENTS, *[r for r, _ in BAD_ASSESSMENTS]),
                 patients=add_rows(PATIENTS, *[r for r, _ in BAD_PATIENTS]))


def test_dozen_kinds_of_bad_rows_listed_with_lines(bad_folder, capsys):
    assert main(["check", str(bad_folder)]) == 0
    out = capsys.readouterr().out
    expected = ([("sessions.csv", 7 + i, why) for i, (_, why) in enumerate(BAD_SESSIONS)]
                + [("assessments.csv", 7 + i, why) for i, (_, why) in enumerate(BAD_ASSESSMENTS)]
                + [("patients.csv", 5, BAD_PATIENTS[0][1])])
    assert len(expected) == 12
    lines = out.splitlines()
    for file, line, why in expected:
        assert any(f"{file} line {line}:" in x and why in x for x in lines), (file, line, why)
    assert "  sessions             5 rows loaded from sessions.csv, 7 quarantined" in out
    assert "quarantined rows: 12" in out


def test_json_output(bad_folder, capsys):
    assert main(["check", str(bad_folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["loaded"] == {"sessions": 5, "assessments": 5, "patients": 3}
    assert info["input_rows"] == {"sessions": 12, "assessments": 9, "patients": 4}
    assert info["quarantined"] == 12
    assert len(info["rejects"]) == 12
    first = info["rejects"][0]
    assert set(first) == {"file", "line", "column", "value", "reason"}
    assert (first["file"], first["line"], first["column"], first["value"]) == (
        "sessions.csv", 7, "date", "2024-02-30")
    assert info["date_range"]["sessions"] == ["2024-01-10", "2024-03-15"]
    assert info["measures"]["pore"]["better"] == "lower"


def test_max_rejects_limits_human_list(bad_folder, capsys):
    assert main(["check", str(bad_folder), "--max-rejects", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count(" line ") == 3 and "9 more (use --json for all)" in out


def test_strict_exit_1(bad_folder, capsys):
    assert main(["check", str(bad_folder), "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("outcomes check: 12 row(s) have problems")


def test_clean_folder(tmp_path, capsys):
    assert main(["check", str(write(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "quarantined rows: none" in out and "patients             3 distinct" in out
    assert "pore: Pore size (clinician grade), 0–4, lower is better (5 ratings)" in out


def test_email_column_refused_with_pointer(tmp_path, capsys):
    p = PATIENTS.replace("clinic_id\n", "clinic_id,email\n").replace(",K1\n", ",K1,a@b.org\n")
    assert main(["check", str(write(tmp_path, patients=p))]) == 1
    err = capsys.readouterr().err
    assert "patients.csv" in err and "'email' (e-mail)" in err
    assert "outcomes anonymise RAW OUT --key-file KEY" in err


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_subprocess_python_m(bad_folder):
    run = subprocess.run([sys.executable, "-m", "outcomes", "check", str(bad_folder), "--json"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["quarantined"] == 12
    missing = subprocess.run([sys.executable, "-m", "outcomes", "check", str(bad_folder / "no")],
                             check=False, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no records folder" in missing.stderr
