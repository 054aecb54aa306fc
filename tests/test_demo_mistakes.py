"""The demo with planted mistakes: the loader sets aside exactly the planted lines, loads the rest."""

import filecmp
from pathlib import Path

import pandas as pd
import pytest

from outcomes import cli
from outcomes.records import load_records
from outcomes.synthetic import MISTAKES, write_with_mistakes

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mistakes")
    return folder, write_with_mistakes(folder)


def test_every_planted_mistake_is_set_aside_at_its_line(planted):
    folder, where = planted
    records = load_records(folder)
    rejects = set(zip(records.rejects["file"], records.rejects["line"], records.rejects["column"]))
    for file, line, column in zip(where["file"], where["line"], where["column"]):
        if column != "date" or (file, line, "date") in rejects:
            assert (file, line, column) in rejects
        else:  # the exact duplicate is reported for the whole row
            assert any(f == file and ln == line for f, ln, _ in rejects), (file, line)
    assert len(where) == len(MISTAKES)


def test_nothing_else_is_set_aside_but_the_double_entered_patient(planted):
    folder, where = planted
    records = load_records(folder)
    bad_lines = set(zip(records.rejects["file"], records.rejects["line"]))
    planted_lines = set(zip(where["file"], where["line"]))
    extra = bad_lines - planted_lines
    # the original line of the patient entered twice with different values (the line above)
    patient_line = int(where.loc[where["file"] == "patients.csv", "line"].iloc[0])
    assert extra == {("patients.csv", patient_line - 1)}


def test_the_clean_rows_all_load(planted):
    folder, _ = planted
    clean, messy = load_records(DATA / "demo"), load_records(folder)
    pd.testing.assert_frame_equal(messy.sessions, clean.sessions)
    pd.testing.assert_frame_equal(messy.assessments, clean.assessments)
    for table, n in messy.input_rows.items():
        assert messy.loaded_rows[table] + messy.quarantined_rows[table] == n


def test_shipped_folder_is_what_the_package_writes(tmp_path):
    assert cli.main(["demo", str(tmp_path), "--with-mistakes"]) == 0
    shipped = DATA / "demo-with-mistakes"
    for name in ("sessions.csv", "assessments.csv", "patients.csv", "dataset.toml"):
        assert filecmp.cmp(tmp_path / name, shipped / name, shallow=False), name
