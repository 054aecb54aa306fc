"""The records loader: formats, normalisation, row problems (quarantine), structural problems."""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records_fixtures import ASSESSMENTS, PATIENTS, SESSIONS, add_rows, write

from outcomes.errors import RecordsError
from outcomes.records import (
    REJECT_COLUMNS,
    Records,
    from_frames,
    load_records,
    rejects_table,
    summary,
)


def reasons(rec: Records) -> list[tuple[str, int, str]]:
    return [(r.file, int(r.line), r.reason) for r in rec.rejects.itertuples()]


def assert_accounted(rec: Records) -> None:
    q = rec.quarantined_rows
    for t in ("sessions", "assessments", "patients"):
        assert rec.loaded_rows[t] + q[t] == rec.input_rows[t], t


class TestFormats:
    def test_csv_types_and_dtypes(self, tmp_path):
        rec = load_records(write(tmp_path))
        assert rec.loaded_rows == {"sessions": 5, "assessments": 5, "patients": 3}
        assert rec.rejects.empty and rec.n_quarantined == 0
        s, a, p = rec.sessions, rec.assessments, rec.patients
        assert s["patient_id"].dtype == "str" and s["clinician_id"].dtype == "str"
        assert s["date"].dtype.kind == "M" and s["date"].iloc[0] == pd.Timestamp("2024-01-10")
        assert isinstance(s["treatment"].dtype, pd.CategoricalDtype)
        assert s["depth_mm"].tolist()[:3] == [1.5, 1.5, None] or np.isnan(s["depth_mm"].iloc[2])
        assert a["pore"].dtype == "float64" and a["texture"].isna().sum() == 1
        assert list(a["region"].cat.categories) == ["face", "nose", "forehead", "chin", "cheeks"]
        assert p["skin_type"].dtype == "Int64" and p["skin_type"].tolist() == [2, 3, 4]
        assert set(rec.measures) == {"pore", "texture"}
        assert rec.source == tmp_path

    @pytest.mark.parametrize("newline,bom", [("\r\n", False), ("\n", True), ("\r\n", True)])
    def test_crlf_and_bom(self, tmp_path, newline, bom):
        rec = load_records(write(tmp_path, newline=newline, bom=bom))
        assert rec.loaded_rows == {"sessions": 5, "assessments": 5, "patients": 3}
        assert "patient_id" in rec.sessions.columns
        assert rec.sessions["clinician_id"].iloc[0] == "C1"

    def test_parquet(self, tmp_path):
        src = load_records(write(tmp_path / "csv"))
        out = tmp_path / "pq"
        out.mkdir()
        src.sessions.to_parquet(out / "sessions.parquet")
        src.assessments.to_parquet(out / "assessments.parquet")
        src.patients.to_parquet(out / "patients.parquet")
        rec = load_records(out)
        pd.testing.assert_frame_equal(rec.sessions, src.sessions)
        pd.testing.assert_frame_equal(rec.assessments, src.assessments)
        pd.testing.assert_frame_equal(rec.patients, src.patients)

    def test_xlsx_workbook(self, tmp_path):
        src = load_records(write(tmp_path / "csv"))
        out = tmp_path / "xl"
        out.mkdir()
        with pd.ExcelWriter(out / "records.xlsx") as xl:
            for name in ("sessions", "assessments", "patients"):
                frame = getattr(src, name).copy()
                if "date" in frame:
                    frame["date"] = frame["date"].astype("datetime64[ns]")
                frame.to_excel(xl, sheet_name=name, index=False)
        rec = load_records(out)
        assert rec.loaded_rows == src.loaded_rows
        pd.testing.assert_series_equal(rec.sessions["date"], src.sessions["date"])
        assert rec.assessments["pore"].tolist()[:3] == [3.0, 2.0, 2.5]
        assert rec.files["sessions"] == "records.xlsx (sheet sessions)"

    def test_xlsx_line_numbers(self, tmp_path):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "sessions"
        ws.append(["patient_id", "date", "treatment"])
        ws.append(["P1", "2024-01-01", "laser"])
        ws.append(["P1", "2024-99-01", "laser"])
        ws2 = wb.create_sheet("assessments")
        ws2.append(["patient_id", "date", "pore"])
        ws2.append(["P1", dt.datetime(2024, 1, 1), 2])
        wb.save(tmp_path / "clinic.xlsx")
        rec = load_records(tmp_path)
        assert reasons(rec) == [("clinic.xlsx (sheet sessions)", 3,
                                 "impossible date (no such day)")]
        assert rec.assessments["date"].iloc[0] == pd.Timestamp("2024-01-01")


class TestNormalisation:
    def test_spaces_case_roman_sex(self, tmp_path):
        s = SESSIONS.replace("P001,2024-01-10,microneedling", " P001 , 2024-01-10 , MicroNeedling ")
        p = PATIENTS.replace("P001,34,F,2,never", "P001,34,f,II,Never").replace(
            "P003,45,F,4", "P003,45,female,iv")
        rec = load_records(write(tmp_path, sessions=s, patients=p))
        assert rec.rejects.empty
        assert rec.sessions["patient_id"].iloc[0] == "P001"
        assert set(rec.sessions["treatment"].cat.categories) == {"microneedling", "hydrafacial"}
        assert rec.patients["sex"].tolist() == ["F", "M", "F"]
        assert rec.patients["skin_type"].tolist() == [2, 3, 4]
        assert rec.patients["smoker"].iloc[0] == "never"

    def test_headers_normalised(self, tmp_path):
        s = SESSIONS.replace("patient_id,date,treatment", "Patient_ID, Date ,Treatment")
        rec = load_records(write(tmp_path, sessions=s))
        assert list(rec.sessions.columns[:3]) == ["patient_id", "date", "treatment"]

    def test_extra_columns_kept_as_text(self, tmp_path):
        s = SESSIONS.replace("clinician_id\n", "clinician_id,room\n").replace(",C1\n", ",C1,A\n")
        s = s.replace(",C2\n", ",C2,B\n")
        rec = load_records(write(tmp_path, sessions=s))
        assert rec.extra_columns["sessions"] == ["room"]
        assert rec.sessions["room"].tolist() == ["A", "A", "B", "B", "A"]
        assert summary(rec)["extra_columns"] == {"sessions": ["room"]}

    def test_region_rater_default_when_absent(self, tmp_path):
        a = "patient_id,date,pore\nP001,2024-01-10,3\n"
        rec = load_records(write(tmp_path, assessments=a))
        assert rec.assessments["region"].tolist() == ["face"]
        assert rec.assessments["rater"].tolist() == ["clinician"]
        assert set(rec.measures) == {"pore"}

    def test_blank_lines_skipped_and_lines_kept(self, tmp_path):
        s = SESSIONS + "\n,,,,,\nP003,1989-12-31,laser,,,\n"
        rec = load_records(write(tmp_path, sessions=s))
        assert rec.blank_rows["sessions"] == 2
        assert reasons(rec) == [("sessions.csv", 9, "date before 1990 (implausible)")]
        assert_accounted(rec)

    def test_patients_without_file_or_row_are_added(self, tmp_path):
        rec = load_records(write(tmp_path, patients=None))
        assert rec.patients["patient_id"].tolist() == ["P001", "P002", "P003"]
        assert rec.added_patients == 3 and rec.loaded_rows["patients"] == 0
        assert rec.input_rows["patients"] == 0


ROW_PROBLEMS = [
    # table, bad line appended, column, reason
    ("sessions", "P001,2024-02-30,microneedling,1,,", "date", "impossible date (no such day)"),
    ("sessions", "P001,banana,microneedling,1,,", "date", "not a date (dates must be YYYY-MM-DD)"),
    ("sessions", "P001,23/11/2024,microneedling,1,,", "date",
     "date not in YYYY-MM-DD form (day/month order is not guessed)"),
    ("sessions", "P001,1985-05-01,microneedling,1,,", "date", "date before 1990 (implausible)"),
    ("sessions", "P001,2999-01-01,microneedling,1,,", "date", "date in the future"),
    ("sessions", ",2024-03-01,microneedling,1,,", "patient_id", "empty patient_id"),
    ("sessions", "P001,2024-03-01,microneedling,-0.5,,", "depth_mm",
     "depth outside 0–3.0 mm (negative or absurd)"),
    ("sessions", "P001,2024-03-01,microneedling,15,,", "depth_mm",
     "depth outside 0–3.0 mm (negative or absurd)"),
    ("sessions", "P001,2024-03-01,microneedling,deep,,", "depth_mm", "not a number"),
    ("sessions", "P001,2024-03-01,,1,,", "treatment", "empty treatment"),
    ("sessions", "P001,2024-01-10,microneedling,1.5,nose;chin,C1", "(row)",
     "exact duplicate of an earlier row"),
    ("sessions", "P001,2024-03-01,microneedling,1,nose,C1,extra", "",
     "has 7 fields but the header has 6 (a stray comma or quote?)"),
    ("assessments", "P001,2024-03-01,face,clinician,5,2", "pore", "outside the pore scale 0–4"),
    ("assessments", "P001,2024-03-01,face,clinician,2,-1", "texture",
     "outside the texture scale 0–4"),
    ("assessments", "P001,2024-03-01,face,clinician,mild,2", "pore", "not a number"),
    ("assessments", "P001,2024-03-01,face,clinician,,", "pore,texture",
     "no rating in any measure column"),
    ("assessments", "P999,2024-03-01,face,clinician,2,2", "patient_id",
     "patient_id in neither sessions nor patients"),
    ("assessments", "P001,2024-03-01,elbow,clinician,2,2", "region",
     "unknown region (allowed: face, nose, forehead, chin, cheeks)"),
    ("assessments", "P001,2024-03-01,face,nurse,2,2", "rater",
     "unknown rater (allowed: clinician, patient, device)"),
    ("patients", "P004,40,F,2,sometimes,low,7,basic,both,K1", "smoker",
     "unknown smoker (allowed: never, former, current)"),
    ("patients", "P004,40,Q,2,never,low,7,basic,both,K1", "sex",
     "unknown sex (allowed: F, M, X)"),
    ("patients", "P004,40,F,VII,never,low,7,basic,both,K1", "skin_type",
     "skin_type must be 1–6 or I–VI (Fitzpatrick)"),
    ("patients", "P004,400,F,2,never,low,7,basic,both,K1", "age", "age outside 0–120"),
    ("patients", "P004,40,F,2,never,low,30,basic,both,K1", "sleep_hours",
     "sleep_hours outside 0–24"),
    ("patients", "P001,34,F,2,never,low,7,basic,enlarged,K1", "(row)",
     "exact duplicate of an earlier row"),
]


class TestRowProblems:
    @pytest.mark.parametrize("table,line,column,reason", ROW_PROBLEMS,
                             ids=[f"{p[0]}-{p[3][:30]}" for p in ROW_PROBLEMS])
    def test_each_row_problem_is_quarantined_with_its_line(self, tmp_path, table, line, column,
                                                           reason):
        texts = {"sessions": SESSIONS, "assessments": ASSESSMENTS, "patients": PATIENTS}
        texts[table] = add_rows(texts[table], line)
        rec = load_records(write(tmp_path, **texts))
        rj = rejects_table(rec)
        assert list(rj.columns) == ["table", *REJECT_COLUMNS]
        assert len(rj) == 1, rj
        row = rj.iloc[0]
        assert (row["table"], row["file"], row["line"], row["column"], row["reason"]) == (
            table, f"{table}.csv", 7 if table != "patients" else 5, column, reason)
        assert rec.quarantined_rows[table] == 1
        assert_accounted(rec)
        with pytest.raises(RecordsError, match="line") as err:
            load_records(tmp_path, strict=True)
        assert reason.split(" (")[0] in str(err.value)

    def test_value_is_the_cell_as_written(self, tmp_path):
        s = add_rows(SESSIONS, "P001, 23/11/2024 ,laser,,,")
        rec = load_records(write(tmp_path, sessions=s))
        assert rec.rejects["value"].tolist() == [" 23/11/2024 "]

    def test_duplicate_points_to_first_line(self, tmp_path):
        s = add_rows(SESSIONS, "P003,2024-02-01,microneedling,1.0,cheeks,C1")
        rec = load_records(write(tmp_path, sessions=s))
        assert rec.rejects["value"].tolist() == ["same as line 6"]
        assert len(rec.sessions) == 5

    def test_conflicting_patient_rows_all_quarantined_patient_kept(self, tmp_path):
        p = add_rows(PATIENTS, "P001,35,F,2,never,low,7,basic,enlarged,K1")
        rec = load_records(write(tmp_path, patients=p))
        assert sorted(rec.rejects["line"].tolist()) == [2, 5]
        assert set(rec.rejects["reason"]) == {"patient_id on several lines with different values"}
        # the patient stays, with missing covariates, and keeps the sessions and assessments
        row = rec.patients.set_index("patient_id").loc["P001"]
        assert pd.isna(row["age"]) and pd.isna(row["smoker"])
        assert rec.added_patients == 1 and (rec.sessions["patient_id"] == "P001").sum() == 2
        assert_accounted(rec)

    def test_rejected_patient_row_keeps_sessions(self, tmp_path):
        p = PATIENTS.replace("P003,45,F,4,former", "P003,45,F,4,sometimes")
        rec = load_records(write(tmp_path, patients=p))
        assert rec.n_quarantined == 1 and len(rec.sessions) == 5
        assert rec.patients["patient_id"].tolist() == ["P001", "P002", "P003"]
        assert pd.isna(rec.patients["age"].iloc[2])

    def test_assessment_of_patient_only_in_patients_is_known(self, tmp_path):
        p = add_rows(PATIENTS, "P004,40,F,2,never,low,7,basic,both,K1")
        a = add_rows(ASSESSMENTS, "P004,2024-03-01,face,clinician,2,2")
        rec = load_records(write(tmp_path, patients=p, assessments=a))
        assert rec.rejects.empty and len(rec.assessments) == 6

    def test_two_problems_in_one_row_count_once(self, tmp_path):
        s = add_rows(SESSIONS, "P001,2024-13-01,microneedling,9,,")
        rec = load_records(write(tmp_path, sessions=s))
        assert len(rec.rejects) == 2 and rec.n_quarantined == 1
        assert_accounted(rec)

    def test_line_numbers_after_malformed_row_and_multiline_cell(self, tmp_path):
        s = ('patient_id,date,treatment,areas\nP001,2024-01-10,laser,"nose;\nchin"\n'
             "P001,2024-01-11,laser,nose,X\nP001,1900-01-01,laser,nose\n")
        rec = load_records(write(tmp_path, sessions=s))
        assert [(r[1], r[2][:9]) for r in reasons(rec)] == [(3, "has 5 fie"), (4, "date befo")]
        assert rec.sessions["areas"].iloc[0] == "nose;chin"

    def test_strict_lists_first_twenty_and_count(self, tmp_path):
        bad = [f"P001,1980-01-{d:02d},laser,,," for d in range(1, 26)]
        rec_dir = write(tmp_path, sessions=add_rows(SESSIONS, *bad))
        with pytest.raises(RecordsError) as err:
            load_records(rec_dir, strict=True)
        msg = str(err.value)
        assert "25 row(s) have problems" in msg and "and 5 more problem(s)" in msg
        assert "sessions.csv line 7" in msg and "line 31" not in msg


STRUCTURAL = [
    # what to do to the folder, message fragment
    ("missing_sessions", "the sessions table is missing"),
    ("missing_assessments", "the assessments table is missing"),
    ("missing_column", "required column(s) 'treatment' missing"),
    ("empty_file", "sessions.csv: the file is empty"),
    ("header_only", "has a header but no rows"),
    ("latin1", "not UTF-8"),
    ("utf16", "UTF-16"),
    ("semicolon", "separated by ';'"),
    ("broken_toml", "not valid TOML"),
    ("better_sideways", "must be one of ['lower', 'higher']"),
    ("slash_dates", "must be YYYY-MM-DD" if False else "YYYY-MM-DD"),
    ("us_dates", "does not guess"),
    ("no_measure", "no measure column"),
    ("words_as_ratings", "most values in column 'pore' are not numbers"),
    ("duplicate_header", "names column 'date' twice"),
    ("two_formats", "the sessions table is in several files"),
]


def _break(folder, how):
    s = SESSIONS
    kw = {}
    if how == "missing_sessions":
        kw["sessions"] = None
    elif how == "missing_assessments":
        kw["assessments"] = None
    elif how == "missing_column":
        kw["sessions"] = s.replace(",treatment", ",kind")
    elif how == "empty_file":
        kw["sessions"] = ""
    elif how == "header_only":
        kw["sessions"] = s.splitlines()[0] + "\n"
    elif how == "slash_dates":
        kw["sessions"] = "patient_id,date,treatment\nP001,23/11/2024,laser\nP002,24/11/2024,laser\n"
    elif how == "us_dates":
        kw["assessments"] = "patient_id,date,pore\nP001,11/23/2024,2\nP001,2024-01-02,2\n" \
                            "P001,12/24/2024,2\n"
    elif how == "no_measure":
        kw["assessments"] = "patient_id,date,redness\nP001,2024-01-10,3\n"
    elif how == "words_as_ratings":
        kw["assessments"] = "patient_id,date,pore\nP001,2024-01-10,mild\nP001,2024-02-10,severe\n"
    elif how == "duplicate_header":
        kw["sessions"] = "patient_id,date,treatment,date\nP001,2024-01-10,laser,2024-01-10\n"
    elif how == "broken_toml":
        kw["toml"] = "[measures.pore\nmin = 0"
    elif how == "better_sideways":
        kw["toml"] = '[measures.pore]\nmin = 0\nmax = 4\nbetter = "sideways"\n'
    write(folder, **kw)
    if how == "latin1":
        (folder / "sessions.csv").write_bytes(
            s.replace("nose;chin,C1", "nose;chin,Müller").encode("latin-1"))
    elif how == "utf16":
        (folder / "sessions.csv").write_bytes(s.encode("utf-16"))
    elif how == "semicolon":
        (folder / "sessions.csv").write_text(s.replace(",", ";"), encoding="utf-8")
    elif how == "two_formats":
        pd.DataFrame({"patient_id": ["P1"]}).to_parquet(folder / "sessions.parquet")
    return folder


class TestStructuralProblems:
    @pytest.mark.parametrize("how,fragment", STRUCTURAL, ids=[h for h, _ in STRUCTURAL])
    def test_raises_records_error_naming_the_problem(self, tmp_path, how, fragment):
        folder = _break(tmp_path, how)
        with pytest.raises(RecordsError) as err:
            load_records(folder)
        assert fragment in str(err.value)

    def test_missing_folder(self, tmp_path):
        with pytest.raises(RecordsError, match="no records folder"):
            load_records(tmp_path / "nowhere")

    def test_folder_is_a_file(self, tmp_path):
        (tmp_path / "x.csv").write_text("a\n")
        with pytest.raises(RecordsError, match="is a file, not a folder"):
            load_records(tmp_path / "x.csv")

    def test_stray_slash_date_is_only_a_row_problem(self, tmp_path):
        s = add_rows(SESSIONS, "P001,23/11/2024,laser,,,")
        rec = load_records(write(tmp_path, sessions=s))
        assert rec.n_quarantined == 1 and len(rec.sessions) == 5

    def test_declared_device_measure(self, tmp_path):
        toml = ('[measures.pore_score]\nlabel = "Pore score (device)"\nmin = 0\nmax = 100\n'
                'better = "higher"\n')
        a = "patient_id,date,rater,pore_score\nP001,2024-01-10,device,55\nP001,2024-02-10,device,101\n"
        rec = load_records(write(tmp_path, assessments=a, toml=toml))
        assert set(rec.measures) == {"pore_score"} and rec.measures["pore_score"].better == "higher"
        assert rec.rejects["reason"].tolist() == ["outside the pore_score scale 0–100"]

    def test_source_files_never_written(self, tmp_path):
        folder = write(tmp_path, sessions=add_rows(SESSIONS, "P001,1970-01-01,laser,,,"))
        before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
        load_records(folder)
        after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
        assert before == after


class TestFromFrames:
    def test_same_rules_as_files(self, tmp_path):
        on_disk = load_records(write(tmp_path, sessions=add_rows(SESSIONS, "P001,1980-01-01,x,,,")))
        s = pd.read_csv(tmp_path / "sessions.csv", dtype=str, keep_default_na=False)
        a = pd.read_csv(tmp_path / "assessments.csv", dtype=str, keep_default_na=False)
        p = pd.read_csv(tmp_path / "patients.csv", dtype=str, keep_default_na=False)
        mem = from_frames(s, a, p)
        pd.testing.assert_frame_equal(mem.sessions, on_disk.sessions)
        pd.testing.assert_frame_equal(mem.patients, on_disk.patients)
        assert mem.rejects["line"].tolist() == [7]
        assert mem.source is None

    def test_typed_frames(self):
        s = pd.DataFrame({"patient_id": ["a", "b"], "date": pd.to_datetime(["2024-01-01",
                                                                              "2024-02-01"]),
                          "treatment": pd.Categorical(["Laser", "laser"])})
        a = pd.DataFrame({"patient_id": ["a", "b"], "date": pd.to_datetime(["2024-01-01",
                                                                              "1900-01-01"]),
                          "pore": [1.5, 2.0]})
        rec = from_frames(s, a)
        assert rec.sessions["treatment"].tolist() == ["laser", "laser"]
        assert rec.assessments["pore"].tolist() == [1.5]
        assert rec.rejects["reason"].tolist() == ["date before 1990 (implausible)"]
        assert rec.sessions["date"].dtype.kind == "M"


# ---------------------------------------------------------------------------------------------
# property: garbage anywhere never raises anything but RecordsError and rows stay accounted

_GARBAGE = st.one_of(
    st.text(alphabet=string.printable + "äé€ \u00a0", max_size=12),
    st.sampled_from(["", " ", "NA", "nan", "-1", "1e309", "2024-02-30", "IV", "0", "3.5",
                     "\"", ",", "\n", "a@b.co", "+41 79 123 45 67", "01/02/2024", "None"]),
)
_TABLES = {"sessions": SESSIONS, "assessments": ASSESSMENTS, "patients": PATIENTS}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_in_any_cell(tmp_path_factory, data):
    import csv
    import io

    table = data.draw(st.sampled_from(list(_TABLES)))
    rows = list(csv.reader(io.StringIO(_TABLES[table])))
    r = data.draw(st.integers(1, len(rows) - 1))
    c = data.draw(st.integers(0, len(rows[0]) - 1))
    rows[r][c] = data.draw(_GARBAGE)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    folder = write(tmp_path_factory.mktemp("g"), **{table: buf.getvalue()})
    try:
        rec = load_records(folder)
    except RecordsError:
        return
    assert_accounted(rec)
    if not set(rows[r][c]) & {"\r", "\n"}:  # a bare CR written unquoted is a line break
        assert sum(rec.input_rows.values()) + sum(rec.blank_rows.values()) == 13


# ---------------------------------------------------------------------------------------------
# the loader's shortcuts (benchmarks/load.py) give the same Records as its general path


def _messy_folder(folder, n=40_000, seed=3):
    """A records folder of ``n`` sessions (several CSV read blocks) with every kind of row problem,
    untrimmed and mixed-case cells, blank lines and many exact duplicates."""
    rng = np.random.default_rng(seed)
    pids = np.array([f"P{i:05d}" for i in range(3000)] + [" P00001 ", ""], dtype=object)
    dates = np.array([f"2019-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
                     + ["2024-02-30", "23/11/2024", "1985-01-01", "2999-01-01", "banana",
                        " 2020-01-05 ", "2020-01-05 10:30"], dtype=object)
    treat = np.array(["microneedling", "Hydrafacial", " laser ", ""], dtype=object)
    depth = np.array(["0.5", "1.0", "1", "", "-1", "9", "deep", "1e0"], dtype=object)
    areas = np.array(["nose;chin", "Nose ; Chin", "", "forehead"], dtype=object)
    cols = [pids[rng.choice(len(pids), n, p=_skewed(len(pids)))],
            dates[rng.choice(len(dates), n, p=_skewed(len(dates)))],
            treat[rng.integers(0, len(treat), n)], depth[rng.integers(0, len(depth), n)],
            areas[rng.integers(0, len(areas), n)], np.array(["C1", "C2 "], dtype=object)[
                rng.integers(0, 2, n)]]
    rows = [",".join(r) for r in zip(*cols)]
    rows[100:100] = rows[:50]  # exact duplicates of earlier lines
    rows[7] = ",,,,,"  # a blank row
    s = "patient_id,date,treatment,depth_mm,areas,clinician_id\n" + "\n".join(rows) + "\n"
    arows = [f"{pids[i]},{dates[j]},{('face', 'Nose', 'elbow')[k]},{g},{h}"
             for i, j, k, g, h in zip(rng.integers(0, len(pids), n // 4),
                                      rng.integers(0, len(dates), n // 4),
                                      rng.integers(0, 3, n // 4),
                                      rng.choice(["1", "2.5", "", "5", "x"], n // 4),
                                      rng.choice(["0", "3", ""], n // 4))]
    a = ("patient_id,date,region,pore,texture\n" + "\n".join(arows + arows[:30])
         + "\nP9,2020-01-01,face,1,1\n")
    p = PATIENTS + "P001,35,F,2,never,low,7,basic,enlarged,K1\n"
    return write(folder, sessions=s, assessments=a, patients=p)


def _skewed(k):
    w = 1.0 / np.arange(1, k + 1)
    return w / w.sum()


def _same_records(r1: Records, r2: Records) -> None:
    for name in ("sessions", "assessments", "patients", "rejects"):
        pd.testing.assert_frame_equal(getattr(r1, name), getattr(r2, name))
    assert (r1.input_rows, r1.blank_rows, r1.added_patients) == (
        r2.input_rows, r2.blank_rows, r2.added_patients)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _messy_folder(tmp_path_factory.mktemp("messy"))


class TestShortcutsMatchGeneralPath:
    def test_messy_folder_has_problems_of_many_kinds(self, folder):
        rec = load_records(folder)
        assert rec.rejects["reason"].nunique() >= 10
        assert (rec.rejects["reason"] == "exact duplicate of an earlier row").sum() >= 80
        assert_accounted(rec)

    def test_threaded_encoding(self, folder, monkeypatch):
        import outcomes.records.read as R

        monkeypatch.setattr(R, "_PREFETCH_ROWS", 0)
        threaded = load_records(folder)
        monkeypatch.setattr(R, "_PREFETCH_ROWS", 10**12)
        _same_records(threaded, load_records(folder))

    def test_quote_free_read(self, folder, monkeypatch):
        import outcomes.records.read as R

        assert not R._has_quote_after_header(folder / "sessions.csv")
        fast = load_records(folder)
        monkeypatch.setattr(R, "_has_quote_after_header", lambda path: True)
        _same_records(fast, load_records(folder))

    def test_text_columns_as_read(self, folder, monkeypatch):
        import outcomes.records.rules as R

        fast = load_records(folder)
        monkeypatch.setattr(R, "_DIRECT_TEXT", False)
        _same_records(fast, load_records(folder))

    def test_text_columns_as_read_when_every_row_loads(self, tmp_path, monkeypatch):
        import outcomes.records.rules as R

        folder = write(tmp_path)
        fast = load_records(folder)
        assert fast.rejects.empty
        monkeypatch.setattr(R, "_DIRECT_TEXT", False)
        _same_records(fast, load_records(folder))

    def test_duplicates_against_pandas(self, folder):
        rec = load_records(folder)
        raw = pd.read_csv(folder / "sessions.csv", dtype=str, keep_default_na=False)
        norm = raw.apply(lambda c: c.str.strip())
        for c in ("treatment", "areas"):
            norm[c] = norm[c].str.lower()
        norm["areas"] = norm["areas"].str.replace(r"\s*;\s*", ";", regex=True)
        blank = (norm == "").all(axis=1)
        expected = norm.duplicated(keep="first") & ~blank
        got = rec.rejects.query("table == 'sessions' and reason == "
                                "'exact duplicate of an earlier row'")["line"]
        assert sorted(got) == sorted(np.flatnonzero(expected) + 2)


# ----------------------------------------------------------------------------------------------
# the fast paths (typed CSV read, columns used as read) give what the general path gives


def _clean_folder(folder, n=30_000, seed=5):
    """A large folder of valid records (several CSV read blocks): the fast paths carry it.

    Still holds what clean exports hold: empty optional cells, categories in mixed case (those
    are always normalised), exact duplicate rows, a patient seen only in sessions and an
    assessment of an unknown patient (row problems that do not touch the typed columns).
    """
    rng = np.random.default_rng(seed)
    pid = np.array([f"P{i:05d}" for i in range(2000)], dtype=object)
    day = np.datetime64("2019-01-01") + rng.integers(0, 1500, n)
    cols = {"patient_id": pid[rng.integers(0, 2000, n)], "date": day.astype(str),
            "treatment": rng.choice(["microneedling", "Hydrafacial", "chemical peel"], n),
            "depth_mm": rng.choice(["0.5", "1.0", "1.50", "", "2"], n),
            "areas": rng.choice(["nose;chin", "forehead", "", "cheeks;nose"], n),
            "clinician_id": rng.choice(["C1", "C22", ""], n)}
    rows = [",".join(r) for r in zip(*cols.values())]
    rows[200:200] = rows[:40]  # exact duplicates
    rows.append("P99999,2020-03-01,laser,,nose,C1")  # seen only in sessions
    s = ",".join(cols) + "\n" + "\n".join(rows) + "\n"
    m = n // 3
    arows = [f"{pid[i]},{d},{r},{g},{h}" for i, d, r, g, h in zip(
        rng.integers(0, 2000, m), (np.datetime64("2019-01-01") + rng.integers(0, 1500, m))
        .astype(str), rng.choice(["face", "Nose", ""], m), rng.choice(["1", "2.5", "", "4"], m),
        rng.choice(["0", "3.5", "1e0"], m))]
    a = ("patient_id,date,region,pore,texture\n" + "\n".join(arows)
         + "\nP77777,2020-01-01,face,1,1\n")
    prows = [f"{p},{rng.integers(18, 80)},{rng.choice(['F', 'm', ''])},"
             f"{rng.choice(['2', 'III', ''])},never,low,{rng.choice(['7', '6.5', ''])},basic,"
             f"enlarged,K{rng.integers(1, 3)}" for p in pid]
    p = PATIENTS.splitlines()[0] + "\n" + "\n".join(prows) + "\n"
    return write(folder, sessions=s, assessments=a, patients=p)


@pytest.fixture(scope="module")
def clean_folder(tmp_path_factory):
    return _clean_folder(tmp_path_factory.mktemp("clean"))


def _general(monkeypatch, folder, **flags):
    from outcomes.records import columns, read

    # each switch where it is read (patched in another module it would change nothing)
    owner = {"_TYPED_READ": read, "_PLAIN": columns, "_PREFETCH_ROWS": read,
             "_BACKGROUND_BYTES": read}
    with monkeypatch.context() as m:
        for name, value in {"_TYPED_READ": False, "_PLAIN": False, **flags}.items():
            m.setattr(owner[name], name, value)
        return load_records(folder)


class TestFastPathsMatchGeneralPath:
    def test_fast_paths_carry_a_clean_folder(self, clean_folder, monkeypatch):
        import outcomes.records.columns as C
        import outcomes.records.read as R

        reads, plain = [], []
        real_read, real_plain = R._read_csv_text, C._Plain.__init__

        def read(path, table, typed=None, only=None):
            reads.append((table, typed is not None, only))
            return real_read(path, table, typed, only)

        def plain_init(self, arr, kind):
            plain.append(kind)
            real_plain(self, arr, kind)

        monkeypatch.setattr(R, "_read_csv_text", read)
        monkeypatch.setattr(C._Plain, "__init__", plain_init)
        rec = load_records(clean_folder)
        # one typed read per table, nothing read again as text
        assert sorted(reads) == [("assessments", True, None), ("patients", True, None),
                                 ("sessions", True, None)]
        assert {"date", "number", "text"} <= set(plain)
        # the 40 planted duplicates (and any a random draw repeated), one unknown patient
        assert set(rec.rejects["reason"]) == {"exact duplicate of an earlier row",
                                              "patient_id in neither sessions nor patients"}
        assert rec.quarantined_rows["sessions"] >= 40
        assert rec.quarantined_rows["assessments"] >= 1 and rec.quarantined_rows["patients"] == 0
        assert rec.added_patients == 1

    @pytest.mark.parametrize("flags", [{}, {"_TYPED_READ": True}, {"_PLAIN": True},
                                       {"_PREFETCH_ROWS": 0},
                                       {"_PREFETCH_ROWS": 0, "_BACKGROUND_BYTES": 0},
                                       {"_PREFETCH_ROWS": 10**12, "_BACKGROUND_BYTES": 10**12}])
    def test_clean_folder_same_as_general_path(self, clean_folder, monkeypatch, flags):
        _same_records(load_records(clean_folder), _general(monkeypatch, clean_folder, **flags))

    def test_messy_folder_same_as_general_path(self, folder, monkeypatch):
        _same_records(load_records(folder), _general(monkeypatch, folder))

    @pytest.mark.parametrize("table, column, value", [
        ("sessions", "depth_mm", "inf"), ("sessions", "depth_mm", "nan"),
        ("sessions", "depth_mm", "1e400"), ("sessions", "depth_mm", "  "),
        ("sessions", "depth_mm", "7"), ("sessions", "depth_mm", "-0.5"),
        ("sessions", "depth_mm", " 1.5 "), ("sessions", "date", "1985-01-01"),
        ("sessions", "date", "2999-01-01"), ("sessions", "date", ""),
        ("sessions", "date", " 2024-01-05 "), ("sessions", "date", "2024-01-05 10:30"),
        ("sessions", "treatment", " Laser "), ("sessions", "areas", "Nose ; Chin"),
        ("sessions", "clinician_id", " C1"), ("sessions", "clinician_id", "ann@x.org"),
        ("sessions", "patient_id", " P001"), ("sessions", "patient_id", ""),
        ("sessions", "patient_id", "ann@x.org"), ("assessments", "patient_id", "07700 900123"),
        ("assessments", "pore", "NaN"), ("assessments", "pore", "9"),
        ("assessments", "date", "2024-02-30"), ("assessments", "region", "ELBOW"),
        ("patients", "age", "inf"), ("patients", "age", "200"),
        ("patients", "sleep_hours", "-1"), ("patients", "clinic_id", "K 1"),
        ("patients", "clinic_id", "+44 20 7946 0958"),
        # what pyarrow's number parser reads: accepted by the text rules too, or not finite
        ("sessions", "depth_mm", "1e309"), ("sessions", "depth_mm", "+.5"),
        ("sessions", "depth_mm", "infinity"), ("sessions", "depth_mm", "\t1"),
        ("patients", "age", "5."), ("patients", "age", "0x10"),
        # identifiers in values, in columns used as read and in encoded ones
        ("sessions", "clinician_id", "Smith"), ("sessions", "clinician_id", "9434765919"),
        ("sessions", "areas", "sw1a1aa"), ("sessions", "treatment", "dr smith"),
        ("patients", "patient_id", "Jane Doe"), ("patients", "clinic_id", "M1 1AE"),
    ])
    def test_one_odd_cell_same_as_general_path(self, tmp_path, monkeypatch, table, column,
                                               value):
        folder = _clean_folder(tmp_path, n=3000)
        path = folder / f"{table}.csv"
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        cells = lines[500].split(",")
        cells[header.index(column)] = value
        lines[500] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
        try:
            fast = load_records(folder)
        except RecordsError as exc:
            with pytest.raises(RecordsError) as general:
                _general(monkeypatch, folder)
            assert str(general.value) == str(exc)
            return
        _same_records(fast, _general(monkeypatch, folder))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.text(alphabet=string.printable + "\u00a0éÉ ;@+(")),
                min_size=1, max_size=30), st.booleans())
def test_is_plain_is_sound(values, lower):
    """A column the byte check passes is one normalisation leaves unchanged."""
    import pyarrow as pa

    from outcomes.records.columns import _is_plain

    values = [None if v == "" else v for v in values]  # the CSV reader reads "" as missing
    arr = pa.chunked_array([pa.array(values[:5], pa.string()), pa.array(values[5:], pa.string())])
    if _is_plain(arr, lower=lower):
        for v in values:
            if v is not None:
                norm = v.strip()
                norm = norm.lower() if lower else norm
                assert norm == v and norm != ""
                assert re.sub(r"\s*;\s*", ";", norm) == v


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789+-() ./@abcxPDrSmithW1A",
                                             min_size=1)), min_size=1, max_size=30),
       st.booleans())
def test_value_checks_prefilter_is_sound(values, id_column):
    """The one vectorised regular expression that picks candidates misses no value the exact
    rules (libphonenumber, the NHS checksum, ...) would stop."""
    from outcomes.records.identifiers import value_kinds, value_kinds_mask

    masks = value_kinds_mask(values, id_column=id_column)
    for i, v in enumerate(values):
        expected = value_kinds(v, id_column=id_column) if v is not None else []
        assert [k for k, m in masks.items() if m[i]] == expected


def test_take_rows_matches_take_across_chunks():
    import pyarrow as pa

    from outcomes.records.columns import _take_rows

    rng = np.random.default_rng(2)
    chunks = [pa.array([f"v{i}-{j}" for j in range(n)], pa.string())
              for i, n in enumerate([5, 0, 7, 3, 9])]
    arr = pa.chunked_array(chunks)
    for rows in (np.array([0, 23, 5, 6, 12, 11]), rng.integers(0, 24, 50), np.array([], int)):
        assert _take_rows(arr, rows).to_pylist() == arr.take(pa.array(rows, pa.int64())).to_pylist()


def test_parquet_chunks_with_different_dictionaries(tmp_path):
    """Row groups may each carry their own dictionary: codes must follow each one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write(tmp_path, sessions=None)
    kinds = ["microneedling", "hydrafacial", "laser"]
    chunks = []
    for order in ([0, 1, 2], [0, 1, 2], [2, 0, 1]):  # the third differs from the first two
        d = pa.array([kinds[i] for i in order])
        chunks.append(pa.DictionaryArray.from_arrays(pa.array([0, 1, 2], pa.int32()), d))
    n = 9
    table = pa.table({"patient_id": pa.array(["P001", "P002", "P003"] * 3),
                      "date": pa.array([f"2024-01-{d:02d}" for d in range(1, n + 1)]),
                      "treatment": pa.chunked_array(chunks)})
    pq.write_table(table, folder / "sessions.parquet", row_group_size=3)
    rec = load_records(folder)
    expected = [kinds[i] for order in ([0, 1, 2], [0, 1, 2], [2, 0, 1]) for i in order]
    assert rec.sessions["treatment"].astype(str).tolist() == expected


@pytest.mark.parametrize("background", [0, 10**12])
def test_background_read_reports_the_same_error_first(tmp_path, monkeypatch, background):
    """A read problem in a later file still wins over a problem found validating the sessions
    (as when the files were read one after the other)."""
    import outcomes.records.read as R

    monkeypatch.setattr(R, "_BACKGROUND_BYTES", background)
    monkeypatch.setattr(R, "_PREFETCH_ROWS", 0)
    folder = write(tmp_path, sessions=SESSIONS.replace("treatment", "what"))
    (folder / "assessments.csv").write_bytes(ASSESSMENTS.encode("utf-16"))
    with pytest.raises(RecordsError, match="UTF-16"):
        load_records(folder)
    (folder / "assessments.csv").write_text(ASSESSMENTS)
    with pytest.raises(RecordsError, match="required column"):
        load_records(folder)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.booleans(), min_size=0, max_size=300), st.integers(0, 3))
def test_kept_rows_select_like_a_mask(keep, few):
    """Run-by-run copying and slicing select exactly what the mask selects."""
    import pyarrow as pa

    from outcomes.records.assemble import _Rows

    mask = np.array(keep, dtype=bool)
    rows = _Rows(mask)
    rows.FEW, rows.FEW_ARROW = (0, 0, 8, 300)[few], (0, 2, 8, 300)[few]
    rows.__init__(mask)
    values = np.arange(len(mask)) * 10
    assert rows.take(values).tolist() == values[mask].tolist()
    arr = pa.chunked_array([pa.array([str(v) for v in values[:7]], pa.string()),
                            pa.array([str(v) for v in values[7:]], pa.string())])
    assert rows.filter(arr).to_pylist() == [str(v) for v in values[mask]]
    assert len(rows) == int(mask.sum())


def test_a_bad_typed_value_sends_only_its_column_back_to_text(tmp_path, monkeypatch):
    """An out-of-range depth is read again as text alone; the message quotes it as written."""
    import outcomes.records.read as R

    reads = []
    real_read = R._read_csv_text
    monkeypatch.setattr(R, "_read_csv_text", lambda path, table, typed=None, only=None: (
        reads.append((table, only)) or real_read(path, table, typed, only)))
    folder = write(tmp_path, sessions=add_rows(SESSIONS, "P003,2024-03-01,laser,15.0,nose,C1"))
    rec = load_records(folder)
    assert reads.count(("sessions", ["date", "depth_mm"])) == 1  # one more read, not two
    assert ("sessions", None) in reads and len(reads) == 4
    row = rec.rejects.iloc[0]
    assert (row.line, row.column, row.value) == (7, "depth_mm", "15.0")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_load_in_a_forked_child(clean_folder, monkeypatch):
    """Worker threads do not survive a fork: a child process must not wait on them forever."""
    import outcomes.records.read as R

    monkeypatch.setattr(R, "_BACKGROUND_BYTES", 0)
    monkeypatch.setattr(R, "_PREFETCH_ROWS", 0)
    load_records(clean_folder)  # the parent's thread pools exist now
    assert R._POOL is not None and R._READER is not None
    pid = os.fork()
    if pid == 0:  # child: load, and exit 0 only if it worked
        code = 1
        try:
            code = 0 if load_records(clean_folder).loaded_rows["sessions"] > 0 else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("load_records hung in a forked child")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.text(alphabet="abcSW1A@.;-_xyzDrmith+0", min_size=1)
                          .filter(lambda v: " " not in v)), min_size=1, max_size=30))
def test_digit_or_at_check_is_sound(values):
    """A column without whitespace that the byte check clears holds nothing the value rules
    would stop outside id columns."""
    import pyarrow as pa

    from outcomes.records.columns import _has_digit_or_at
    from outcomes.records.identifiers import value_kinds

    arr = pa.chunked_array([pa.array(values[:3], pa.string()), pa.array(values[3:], pa.string())])
    if not _has_digit_or_at(arr):
        assert not any(value_kinds(v) for v in values if v is not None)


class TestNoSilentChanges:
    """Issue 15, kind 3: what the file says is what loads, or the line is set aside."""

    def _parquet_folder(self, tmp_path, sessions: pd.DataFrame):
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = write(tmp_path, sessions=None)
        pq.write_table(pa.Table.from_pandas(sessions, preserve_index=False),
                       folder / "sessions.parquet")
        return folder

    @pytest.mark.parametrize("zone", ["Europe/London", "Europe/Zurich", "America/New_York",
                                      "Australia/Sydney"])
    def test_zoned_timestamps_keep_their_local_date(self, tmp_path, zone):
        local = pd.to_datetime(["2024-01-10 00:30", "2024-02-10 23:45", "2024-01-15 09:00",
                                "2024-03-15 00:00", "2024-07-01 00:10"])
        s = pd.DataFrame({"patient_id": ["P001", "P001", "P002", "P002", "P003"],
                          "date": local.tz_localize(zone), "treatment": "laser"})
        rec = load_records(self._parquet_folder(tmp_path, s))
        assert rec.sessions["date"].dt.strftime("%Y-%m-%d").tolist() == [
            "2024-01-10", "2024-02-10", "2024-01-15", "2024-03-15", "2024-07-01"]
        assert rec.n_quarantined == 0

    def test_naive_timestamps_with_a_time_are_taken_as_their_date(self, tmp_path):
        s = pd.DataFrame({"patient_id": ["P001", "P002", "P003"], "treatment": "laser",
                          "date": pd.to_datetime(["2024-01-10 23:59", "2024-01-15 00:00",
                                                  "2024-02-01 12:00"])})
        rec = load_records(self._parquet_folder(tmp_path, s))
        assert rec.sessions["date"].dt.strftime("%Y-%m-%d").tolist() == [
            "2024-01-10", "2024-01-15", "2024-02-01"]

    def test_stored_nan_is_a_row_problem(self, tmp_path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = write(tmp_path, assessments=None)
        table = pa.table({"patient_id": ["P001", "P001", "P002"],
                          "date": ["2024-01-10", "2024-07-10", "2024-01-15"],
                          "pore": pa.array([3.0, float("nan"), None], from_pandas=False),
                          "texture": [2.0, 2.0, 3.0]})
        pq.write_table(table, folder / "assessments.parquet")
        rec = load_records(folder)
        bad = rec.rejects[rec.rejects["reason"] == "not a number"]
        assert bad[["line", "column"]].values.tolist() == [[3, "pore"]]
        assert rec.loaded_rows["assessments"] + rec.quarantined_rows["assessments"] == 3

    def test_formula_without_saved_value_is_set_aside(self, tmp_path):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "sessions"
        for row in SESSIONS.strip().splitlines():
            ws.append(row.split(","))
        ws2 = wb.create_sheet("assessments")
        for i, row in enumerate(ASSESSMENTS.strip().splitlines()):
            cells = row.split(",")
            if i == 2:
                cells[4] = "=E2-1"  # a formula nothing has calculated
            ws2.append(cells)
        wb.save(tmp_path / "records.xlsx")
        rec = load_records(tmp_path)
        r = rec.rejects
        assert r[["line", "column"]].values.tolist() == [[3, "pore"]]
        assert "formula with no saved value" in r["reason"].iloc[0]
        assert rec.loaded_rows["assessments"] + rec.quarantined_rows["assessments"] == 5
        assert rec.input_rows["assessments"] == 5


def test_zoned_timestamps_in_frames_keep_their_local_date():
    from outcomes.records import from_frames

    s = pd.DataFrame({"patient_id": ["a", "a"], "treatment": "laser",
                      "date": pd.to_datetime(["2024-06-15 00:30", "2024-07-15 23:30"]).tz_localize(
                          "Europe/London")})
    a = pd.DataFrame({"patient_id": ["a"], "date": ["2024-06-15"], "pore": [2.0]})
    rec = from_frames(s, a)
    assert rec.sessions["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-06-15", "2024-07-15"]
