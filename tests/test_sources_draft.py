"""`outcomes sources RAW`: the drafted [sources] mapping, and what a mapping reads (issue 23)."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest
from sources_fixtures import edit_cell, export

from outcomes.cli import main
from outcomes.records.scales import read_scales
from outcomes.records.sources import read_mapped
from outcomes.records.sources.draft import draft_sources
from outcomes.records.sources.preview import preview


@pytest.fixture
def raw(tmp_path):
    folder = tmp_path / "raw"
    export(folder)
    return folder


def drafted(folder, capsys) -> tuple[str, dict]:
    assert main(["sources", str(folder)]) == 0
    text = capsys.readouterr().out
    return text, tomllib.loads(text)["sources"]  # the whole output is TOML


def rewrite(folder, file, column, fn):
    frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    frame[column] = frame[column].map(fn)
    frame.to_csv(folder / file, index=False, lineterminator="\n")


def test_the_draft_reads_the_export_as_it_was_made(raw, capsys):
    text, s = drafted(raw, capsys)
    assert "FIX:" not in text and "CHECK:" not in text and '"?"' not in text
    sessions, assessments, patients = s["sessions"], s["assessments"], s["patients"]
    assert (sessions["file"], assessments["file"], patients["file"]) == (
        "appointments.csv", "skin_assessments.csv", "clients.csv")
    assert sessions["columns"] == {"patient_id": "Client ID", "date": "Date",
                                   "treatment": "Service", "clinician_id": "Employee"}
    assert {t["dates"] for t in s.values()} == {"day-first"}
    assert sessions["keep"] == {"Status": ["Completed"]}
    assert set(sessions["treatments"]) == {"microneedling", "hydrafacial"}
    assert "# set aside (no pattern matches): Skin Consultation (" in text
    assert assessments["columns"] == {"patient_id": "Client ID", "date": "Completed On",
                                      "rater": "Completed By", "region": "Area"}
    assert assessments["measures"] == {"pore": "Pore size (0-4)", "texture": "Texture (0-4)"}
    assert assessments["values"]["rater"] == {"Client": "patient"}
    assert patients["columns"]["date_of_birth"] == "Date of Birth"
    assert {k: patients["columns"][k] for k in ("skincare", "concern", "clinic_id")} == {
        "skincare": "Skincare routine", "concern": "Main concern", "clinic_id": "Location"}
    assert patients["values"]["skin_type"]["Type IV"] == 4
    assert patients["values"]["smoker"] == {"Ex-smoker": "former", "No": "never",
                                            "Yes": "current"}
    assert "not mapped (not used by the analyses; outcomes anonymise drops them): First Name " \
           "(a name), Last Name (a name), Email (an e-mail)" in text


def test_write_adds_it_and_then_shows_what_it_reads(raw, capsys):
    (raw / "dataset.toml").write_text('[measures.pore]\nlabel = "Pores (our grades)"\n')
    assert main(["sources", str(raw), "--write"]) == 0
    out = capsys.readouterr().out
    assert "the [sources] mapping in" in out and "Status = Cancelled" in out
    assert read_scales(raw / "dataset.toml")["pore"].label == "Pores (our grades)"
    assert read_mapped(raw, guard=False) is not None
    assert main(["sources", str(raw), "--write"]) == 1
    assert "already has a [sources] mapping" in capsys.readouterr().err
    assert main(["sources", str(raw)]) == 0
    assert "rows the records' rules set aside: none" in capsys.readouterr().out


def test_the_order_of_day_and_month_comes_from_the_values(raw, capsys):
    for file, column, fmt in (("appointments.csv", "Date", "%d/%m/%Y"),
                              ("skin_assessments.csv", "Completed On", "%d/%m/%Y %H:%M"),
                              ("clients.csv", "Date of Birth", "%d/%m/%Y")):
        rewrite(raw, file, column, lambda v, fmt=fmt: pd.to_datetime(v, format=fmt).strftime(
            fmt.replace("%d/%m", "%m/%d")) if v else v)
    text, s = drafted(raw, capsys)
    assert {t["dates"] for t in s.values()} == {"month-first"}
    assert "have a second number above 12" in text


def test_no_day_above_12_is_a_guess_to_check(raw, capsys):
    rewrite(raw, "clients.csv", "Date of Birth", lambda v: "01/02/1980" if v else v)
    text, s = drafted(raw, capsys)
    assert s["patients"]["dates"] == "day-first"
    assert "# CHECK: no date has a number above 12" in text


def test_a_value_it_cannot_read_is_a_question_the_reader_refuses(raw, capsys):
    edit_cell(raw / "clients.csv", 5, "Smoker", "Occasionally")
    draft = draft_sources(raw)
    assert draft.questions == 1
    assert 'Occasionally = "?"  # FIX: what is it? one of never, former, current' in draft.text
    assert main(["sources", str(raw), "--write"]) == 0
    assert "1 question(s) marked FIX" in capsys.readouterr().out
    assert main(["check", str(raw)]) == 1
    assert "'Occasionally' = \"?\" is a question the draft left for you" in (
        capsys.readouterr().err)


def test_a_device_s_percentiles_get_a_scale_of_their_own(raw, capsys):
    frame = pd.read_csv(raw / "skin_assessments.csv", dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"Pore size (0-4)": "Pores (percentile)",
                                  "Texture (0-4)": "Texture (percentile)"})
    for c in ("Pores (percentile)", "Texture (percentile)"):
        frame[c] = (100 - 25 * frame[c].astype(float)).map("{:g}".format)
    frame.to_csv(raw / "skin_assessments.csv", index=False, lineterminator="\n")
    assert main(["sources", str(raw), "--write"]) == 0
    capsys.readouterr()
    scales = read_scales(raw / "dataset.toml")
    assert (scales["pore"].min, scales["pore"].max, scales["pore"].better) == (0, 100, "higher")
    mapped = read_mapped(raw, scales, guard=False)  # (it names people: read as anonymise does)
    assert mapped.tables["assessments"].headers["pore"] == "Pores (percentile)"
    assert preview(raw).records.assessments["pore"].between(0, 100).all()


def test_what_a_mapping_reads_lists_problems_with_the_export_s_lines(raw, capsys):
    assert main(["sources", str(raw), "--write"]) == 0
    capsys.readouterr()
    edit_cell(raw / "skin_assessments.csv", 9, "Pore size (0-4)", "7")
    assert main(["sources", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "skin_assessments.csv line 9: Pore size (0-4) '7': outside the pore scale 0–4" in out
    clients = pd.read_csv(raw / "clients.csv", dtype=str)
    assert not any(name in out for name in clients["Last Name"].unique())
    p = preview(raw)
    t = p.tables().set_index("table")
    assert (t["set aside"] + t["quarantined"] + t["loaded"] + t["blank lines"]
            == t["rows in the file"]).all()
    assert t.loc["assessments", "quarantined"] == 1
