"""Tests of outcomes.privacy: anonymise a raw export, k-anonymity, small-cell suppression."""

from __future__ import annotations

import hashlib
import itertools
import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.cli import main
from outcomes.errors import RecordsError
from outcomes.privacy import (
    ADJUSTED,
    HIDDEN,
    coarsening_options,
    k_anonymity,
    k_anonymity_summary,
    suppress_count,
    suppress_small_counts,
)
from outcomes.privacy.export import anonymise, anonymiser, date_shift_days, keys, pseudonym
from outcomes.records import from_frames, load_records
from outcomes.records.identifiers import identifier_columns, identifier_values

FIRST = ["Imogen", "Bartholomew", "Rosalind", "Ptolemy", "Genevieve", "Lysander", "Ottilie",
         "Cornelius", "Marisol", "Evander", "Philippa", "Thaddeus"]
LAST = ["Castellano", "Quayle", "Featherstonehaugh", "Okonkwo-Brandt", "Villiers", "Abernethy",
        "Szymanska", "Delacroix", "Wetherby", "Nakashima", "Lindqvist", "Ravensworth"]
CLINICIANS = ["Dr Hermione Blackwood", "Dr Aurelio Fenwick", "Nurse Cressida Pemberton"]


def make_raw(folder, rng):
    """A raw clinic export naming people, in `folder`; returns the secrets it holds."""
    folder.mkdir()
    secrets_ = []
    patients, sessions, assessments = [], [], []
    for i, (first, last) in enumerate(zip(FIRST, LAST)):
        full = f"{first} {last}"
        mrn = f"MRN-{40000 + 37 * i:06d}"
        pid = full if i < 3 else mrn          # some clinics key patients by name
        email = f"{first.lower()}.{last.lower()}@mailhost.example"
        phone = f"07700 9{i:02d} {100 + i:03d}"
        nhs = f"{943 + i:03d} {476 + i:03d} {5919 + i:04d}"
        dob = f"{1960 + 3 * i}-{(i % 12) + 1:02d}-{(7 * i) % 27 + 1:02d}"
        address = f"{10 + i} {last} Mews, Little Wittering"
        postcode = f"ZX{i + 1} {i}QQ"
        secrets_ += [full, first, last, mrn, email, phone, phone.replace(" ", ""), nhs,
                     nhs.replace(" ", ""), dob, address, postcode]
        patients.append({"patient_id": pid, "Full Name": full, "email": email, "mobile": phone,
                         "date_of_birth": dob, "address": address, "postcode": postcode,
                         "nhs_number": nhs, "sex": "F" if i % 3 else "M",
                         "skin_type": str(2 + i % 3), "clinic_id": "north" if i < 8 else "south",
                         "smoker": "never", "notes": f"Lives with husband Mr {last}"})
        t0 = pd.Timestamp("2023-01-09") + pd.Timedelta(days=int(rng.integers(0, 300)))
        gaps = np.cumsum([0, *rng.integers(21, 40, size=int(rng.integers(2, 5)))])
        for g in gaps:
            sessions.append({"patient_id": pid, "date": (t0 + pd.Timedelta(days=int(g))).date(),
                             "treatment": "Microneedling ", "depth_mm": 1.5, "areas": "nose;chin",
                             "clinician_id": CLINICIANS[i % 3],
                             "contact": f"+44 20 7946 {1000 + i}",
                             "notes": f"{first} was nervous, call {phone}"})
        for day in (-3, 95, 182):
            assessments.append({"patient_id": pid, "date": (t0 + pd.Timedelta(days=day)).date(),
                                "region": "face", "rater": "clinician",
                                "pore": float(rng.integers(0, 9)) / 2,
                                "texture": float(rng.integers(0, 9)) / 2,
                                "comments": f"seen by {CLINICIANS[(i + 1) % 3]}"})
    secrets_ += CLINICIANS + ["Little Wittering", "husband", "nervous"]
    pd.DataFrame(patients).to_csv(folder / "patients.csv", index=False)
    pd.DataFrame(sessions).to_csv(folder / "sessions.csv", index=False)
    pd.DataFrame(assessments).to_csv(folder / "assessments.csv", index=False)
    (folder / "dataset.toml").write_text(
        '[measures.pore]\nlabel = "Pore size"\nmin = 0\nmax = 4\nbetter = "lower"\n')
    (folder / "README.txt").write_text(f"Export for {FIRST[0]} {LAST[0]}\n")
    return secrets_


def file_hashes(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def raw(tmp_path, rng):
    folder = tmp_path / "raw"
    return folder, make_raw(folder, rng)


def run(tmp_path, raw_dir, name="out", key="key.bin", **kw):
    return anonymise(raw_dir, tmp_path / name, key_file=tmp_path / "keys" / key, **kw)


def read(out, table):
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False, na_values=[""])


class TestAnonymise:
    def test_no_identifier_survives_anywhere_in_out(self, tmp_path, raw):
        raw_dir, secrets_ = raw
        run(tmp_path, raw_dir, shift_dates=True)
        out = tmp_path / "out"
        blobs = {p.name: p.read_bytes().lower() for p in out.rglob("*") if p.is_file()}
        assert set(blobs) == {"sessions.csv", "assessments.csv", "patients.csv", "dataset.toml"}
        leaks = [(s, f) for s in secrets_ for f, b in blobs.items() if s.lower().encode() in b]
        assert leaks == []

    def test_output_has_no_identifier_columns_or_values(self, tmp_path, raw):
        report = run(tmp_path, raw[0])
        for table in ("sessions", "assessments", "patients"):
            frame = read(tmp_path / "out", table)
            assert identifier_columns(frame.columns) == {}
            assert identifier_values(frame) == []
        assert list(read(tmp_path / "out", "patients").columns) == [
            "patient_id", "age", "sex", "skin_type", "clinic_id", "smoker"]
        dropped = set(zip(report.dropped["table"], report.dropped["column"]))
        assert {("patients", "Full Name"), ("patients", "email"), ("patients", "nhs_number"),
                ("patients", "notes"), ("sessions", "contact"), ("sessions", "notes"),
                ("assessments", "comments")} <= dropped

    def test_rows_kept_and_raw_unchanged(self, tmp_path, raw):
        raw_dir = raw[0]
        before = file_hashes(raw_dir)
        report = run(tmp_path, raw_dir, shift_dates=True)
        assert file_hashes(raw_dir) == before
        for table in ("sessions", "assessments", "patients"):
            n_raw = len(pd.read_csv(raw_dir / f"{table}.csv"))
            assert len(read(tmp_path / "out", table)) == n_raw == report.rows[table]
        assert (report.tables["rows_in"] == report.tables["rows_out"]).all()

    def test_pseudonyms_are_keyed_hmac(self, tmp_path, raw):
        raw_dir = raw[0]
        run(tmp_path, raw_dir)
        key = (tmp_path / "keys" / "key.bin").read_bytes()
        raw_s = pd.read_csv(raw_dir / "sessions.csv", dtype=str)
        out_s = read(tmp_path / "out", "sessions")
        expected = raw_s["patient_id"].map(lambda v: pseudonym(v, key))
        assert out_s["patient_id"].tolist() == expected.tolist()
        assert out_s["patient_id"].str.fullmatch(r"P-[0-9a-f]{12}").all()
        assert out_s["clinician_id"].str.fullmatch(r"C-[0-9a-f]{12}").all()
        assert out_s["clinician_id"].nunique() == len(CLINICIANS)
        # the same id gets the same pseudonym in every table
        assert set(read(tmp_path / "out", "patients")["patient_id"]) == set(out_s["patient_id"])

    def test_same_key_same_bytes_other_key_other_pseudonyms(self, tmp_path, raw):
        raw_dir = raw[0]
        run(tmp_path, raw_dir, name="a", shift_dates=True)
        run(tmp_path, raw_dir, name="b", shift_dates=True)
        run(tmp_path, raw_dir, name="c", key="other.bin", shift_dates=True)
        assert file_hashes(tmp_path / "a") == file_hashes(tmp_path / "b")
        ids_a = set(read(tmp_path / "a", "sessions")["patient_id"])
        ids_c = set(read(tmp_path / "c", "sessions")["patient_id"])
        assert len(ids_a) == len(ids_c) == len(FIRST) and not ids_a & ids_c
        dates_a = read(tmp_path / "a", "sessions")["date"]
        assert (dates_a != read(tmp_path / "c", "sessions")["date"]).any()

    def test_shift_keeps_every_interval_and_rating(self, tmp_path, raw):
        raw_dir = raw[0]
        report = run(tmp_path, raw_dir, shift_dates=True)
        key = (tmp_path / "keys" / "key.bin").read_bytes()
        shifts = {}
        for table in ("sessions", "assessments"):
            r = pd.read_csv(raw_dir / f"{table}.csv", dtype=str)
            o = read(tmp_path / "out", table)
            moved = (pd.to_datetime(o["date"]) - pd.to_datetime(r["date"])).dt.days
            for pid, days in zip(r["patient_id"], moved):
                shifts.setdefault(pid, set()).add(int(days))
            if table == "assessments":
                for m in ("pore", "texture"):
                    assert o[m].astype(float).tolist() == r[m].astype(float).tolist()
        # one shift per patient across both tables → every within-patient interval is kept
        assert all(len(s) == 1 for s in shifts.values())
        assert {p: s.pop() for p, s in shifts.items()} == {
            p: date_shift_days(p, key) for p in shifts}
        values = [date_shift_days(p, key) for p in shifts]
        assert len(set(values)) > 1 and 0 not in values
        assert all(-180 <= v <= -1 for v in values)
        assert set(report.shifted["column"]) == {"date"}
        assert report.shifted["rows_blanked"].sum() == 0

    def test_pairwise_day_differences_identical_within_patient(self, tmp_path, raw):
        raw_dir = raw[0]
        run(tmp_path, raw_dir, shift_dates=True)
        key = (tmp_path / "keys" / "key.bin").read_bytes()

        def diffs(frames, ids):
            both = pd.concat(frames)
            out = {}
            for pid, g in both.groupby(ids(both["patient_id"])):
                d = sorted(pd.to_datetime(g["date"]))
                out[pid] = [(b - a).days for a, b in itertools.combinations(d, 2)]
            return out

        raw_frames = [pd.read_csv(raw_dir / f"{t}.csv", dtype=str)
                      for t in ("sessions", "assessments")]
        out_frames = [read(tmp_path / "out", t) for t in ("sessions", "assessments")]
        expected = diffs(raw_frames, lambda s: s.map(lambda v: pseudonym(v, key)))
        assert diffs(out_frames, lambda s: s) == expected

    def test_age_from_date_of_birth(self, tmp_path, raw):
        raw_dir = raw[0]
        run(tmp_path, raw_dir)
        p = pd.read_csv(raw_dir / "patients.csv", dtype=str)
        s = pd.read_csv(raw_dir / "sessions.csv", dtype=str)
        first = s.assign(date=pd.to_datetime(s["date"])).groupby("patient_id")["date"].min()
        expected = []
        for pid, dob in zip(p["patient_id"], pd.to_datetime(p["date_of_birth"])):
            t0 = first[pid]
            expected.append(t0.year - dob.year - ((t0.month, t0.day) < (dob.month, dob.day)))
        assert read(tmp_path / "out", "patients")["age"].astype(int).tolist() == expected

    def test_age_hand_case_birthday_boundary(self):
        first = pd.Series(pd.to_datetime(["2024-03-14", "2024-03-15", "2023-02-28", "2024-02-29"]))
        dob = pd.Series(pd.to_datetime(["1990-03-15", "1990-03-15", "2000-02-29", "2000-02-29"]))
        assert anonymiser._age_at(first, dob).tolist() == [33, 34, 22, 24]

    def test_key_file_created_private_and_kept_apart(self, tmp_path, raw):
        report = run(tmp_path, raw[0])
        key_file = tmp_path / "keys" / "key.bin"
        assert report.key_created
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert len(key_file.read_bytes()) == 32
        assert not run(tmp_path, raw[0], name="again").key_created
        for bad in (tmp_path / "out2" / "key.bin", raw[0] / "key.bin"):
            with pytest.raises(RecordsError, match="key file"):
                anonymise(raw[0], tmp_path / "out2", key_file=bad)
            assert not bad.exists()

    def test_refuses_non_empty_out_and_out_inside_raw(self, tmp_path, raw):
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "x.txt").write_text("x")
        with pytest.raises(RecordsError, match="not empty"):
            run(tmp_path, raw[0], name="busy")
        with pytest.raises(RecordsError, match="outside RAW"):
            anonymise(raw[0], raw[0] / "out", key_file=tmp_path / "k")
        (tmp_path / "empty").mkdir()
        run(tmp_path, raw[0], name="empty")
        assert (tmp_path / "empty" / "sessions.csv").exists()

    def test_failure_midway_leaves_no_out(self, tmp_path, raw, monkeypatch):
        calls = []
        real = anonymiser._write_table

        def failing(frame, path):
            calls.append(path.name)
            if len(calls) == 2:
                raise OSError("disk full")
            real(frame, path)

        monkeypatch.setattr(anonymiser, "_write_table", failing)
        with pytest.raises(OSError, match="disk full"):
            run(tmp_path, raw[0])
        assert len(calls) == 2
        assert not (tmp_path / "out").exists()
        assert [p.name for p in tmp_path.iterdir()] != [] and not [
            p for p in tmp_path.iterdir() if p.name.startswith(".out")]

    def test_keep_and_drop_options(self, tmp_path, raw):
        raw_dir = raw[0]
        a = pd.read_csv(raw_dir / "assessments.csv")
        a = a.drop(columns="comments")
        a["device"] = np.where(np.arange(len(a)) % 2, "visia", "antera 3d")
        a.to_csv(raw_dir / "assessments.csv", index=False)
        report = run(tmp_path, raw_dir, keep=["device"], drop=["smoker", "areas"])
        assert read(tmp_path / "out", "assessments")["device"].tolist() == a["device"].tolist()
        assert load_records(tmp_path / "out").extra_columns["assessments"] == ["device"]
        assert "smoker" not in read(tmp_path / "out", "patients")
        assert "areas" not in read(tmp_path / "out", "sessions")
        assert ("sessions", "areas", "--drop") in set(report.dropped.itertuples(index=False))
        # kept free text is searched for e-mails, phones and the export's own names and ids
        # free text cannot be kept: the loader would refuse OUT
        with pytest.raises(RecordsError, match="sessions.csv: column 'notes' cannot be kept with "
                                               "--keep: it reads as free text"):
            run(tmp_path, raw_dir, name="o1", keep=["notes"])
        a.loc[5, "device"] = "came late and left early"
        a.to_csv(raw_dir / "assessments.csv", index=False)
        with pytest.raises(RecordsError, match=r"free text \(1 value\(s\) of four or more words, "
                                               "first at data row 6"):
            run(tmp_path, raw_dir, name="o1", keep=["device"])
        # kept text is searched for e-mails, phones, ... and the export's own names and ids
        for text, what in (("call 020 7946 0018 now", "a phone number"),
                           ("wrote to ann@example.org", "an e-mail"),
                           ("see MRN-040111", "an id, record number"),
                           ("Dr Blackwood agreed", "a title and a surname"),
                           ("Blackwood agreed", "a name found in the export")):
            a.loc[5, "device"] = "visia"
            a.loc[3, "device"] = text
            a.to_csv(raw_dir / "assessments.csv", index=False)
            with pytest.raises(RecordsError, match=f"{what}.*data row 4"):
                run(tmp_path, raw_dir, name="o5", keep=["device"])
        assert not (tmp_path / "o5").exists()
        with pytest.raises(RecordsError, match="in none of the tables"):
            run(tmp_path, raw[0], name="o2", drop=["nickname"])
        with pytest.raises(RecordsError, match="cannot be kept"):
            run(tmp_path, raw[0], name="o3", keep=["email"])
        with pytest.raises(RecordsError, match="required"):
            run(tmp_path, raw[0], name="o4", drop=["treatment"])

    def test_parquet_and_xlsx_sources(self, tmp_path, rng):
        raw_dir = tmp_path / "raw"
        make_raw(raw_dir, rng)
        s = pd.read_csv(raw_dir / "sessions.csv")
        s["date"] = pd.to_datetime(s["date"])
        s.to_parquet(raw_dir / "sessions.parquet")
        a = pd.read_csv(raw_dir / "assessments.csv", parse_dates=["date"])
        with pd.ExcelWriter(raw_dir / "export.xlsx") as xl:
            a.to_excel(xl, sheet_name="assessments", index=False)
            a.head(1).to_excel(xl, sheet_name="scratch", index=False)
        (raw_dir / "sessions.csv").unlink()
        (raw_dir / "assessments.csv").unlink()
        report = run(tmp_path, raw_dir, shift_dates=True)
        assert report.tables.set_index("table")["source"].to_dict() == {
            "sessions": "sessions.parquet", "assessments": "export.xlsx[assessments]",
            "patients": "patients.csv"}
        o = read(tmp_path / "out", "assessments")
        assert len(o) == len(a) and o["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        assert read(tmp_path / "out", "sessions")["date"].str.fullmatch(
            r"\d{4}-\d{2}-\d{2}").all()

    def test_kept_date_column_is_shifted_with_its_patient(self, tmp_path, raw):
        raw_dir = raw[0]
        s = pd.read_csv(raw_dir / "sessions.csv", dtype=str)
        s["photo_date"] = (pd.to_datetime(s["date"]) + pd.Timedelta(days=2)).dt.strftime(
            "%Y-%m-%d")
        s.to_csv(raw_dir / "sessions.csv", index=False)
        report = run(tmp_path, raw_dir, shift_dates=True, keep=["photo_date"])
        o = read(tmp_path / "out", "sessions")
        assert ((pd.to_datetime(o["photo_date"]) - pd.to_datetime(o["date"])).dt.days == 2).all()
        assert not (o["photo_date"] == s["photo_date"]).any()
        assert ("sessions", "photo_date") in set(zip(report.shifted["table"],
                                                     report.shifted["column"]))

    def test_unshiftable_date_is_blanked_not_leaked(self, tmp_path, raw):
        raw_dir = raw[0]
        s = pd.read_csv(raw_dir / "sessions.csv", dtype=str)
        s.loc[0, "date"] = "09/01/2023"
        s.to_csv(raw_dir / "sessions.csv", index=False)
        report = run(tmp_path, raw_dir, shift_dates=True)
        o = read(tmp_path / "out", "sessions")
        assert pd.isna(o.loc[0, "date"]) and len(o) == len(s)
        assert report.shifted.set_index("table").loc["sessions", "rows_blanked"] == 1

    def test_loader_refuses_raw_and_accepts_anonymised(self, tmp_path, raw):
        out = tmp_path / "out"
        run(tmp_path, raw[0], shift_dates=True)
        o = {t: read(out, t) for t in ("sessions", "assessments", "patients")}
        rec = from_frames(o["sessions"], o["assessments"], o["patients"])
        assert rec.loaded_rows == {t: len(f) for t, f in o.items()}
        try:
            loaded = load_records(out)
        except NotImplementedError:
            pytest.skip("outcomes.records.load_records is still a placeholder")
        assert loaded.n_quarantined == 0
        assert loaded.loaded_rows == rec.loaded_rows
        with pytest.raises(RecordsError, match="anonymise"):
            load_records(raw[0])
        assert main(["check", str(out)]) == 0

    def test_cli_prints_account(self, tmp_path, raw, capsys):
        out = tmp_path / "cli-out"
        status = main(["anonymise", str(raw[0]), str(out), "--key-file",
                       str(tmp_path / "k.bin"), "--shift-dates", "--k", "3"])
        text = capsys.readouterr().out
        assert status == 0
        for needle in ("dropped:", "patients.email (looks like an e-mail)", "renamed:",
                       "date_of_birth -> age", "shifted:", "every row kept", "k-anonymity over",
                       "README.txt (not a records table; not copied)"):
            assert needle in text
        assert main(["anonymise", str(raw[0]), str(out), "--key-file",
                     str(tmp_path / "k.bin")]) == 1
        assert "not empty" in capsys.readouterr().err

    def test_collision_is_refused(self, tmp_path, raw, monkeypatch):
        monkeypatch.setattr(keys, "PSEUDONYM_HEX", 0)   # every pseudonym "P-"
        with pytest.raises(RecordsError, match="same pseudonym"):
            run(tmp_path, raw[0])
        assert not (tmp_path / "out").exists()


class TestPseudonymAndShift:
    def test_domains_and_keys_differ(self):
        k1, k2 = b"a" * 32, b"b" * 32
        assert pseudonym("x1", k1) == pseudonym(" x1 ", k1)
        assert pseudonym("x1", k1) != pseudonym("x1", k2)
        assert pseudonym("x1", k1)[2:] != pseudonym("x1", k1, kind="clinician")[2:]
        with pytest.raises(ValueError, match="`kind` must be one of"):
            pseudonym("x1", k1, kind="nurse")

    def test_shift_range_and_spread(self):
        shifts = [date_shift_days(f"p{i}", b"k" * 32) for i in range(2000)]
        assert min(shifts) >= -180 and max(shifts) <= -1  # only ever back in time
        assert len(set(shifts)) > 150


class TestKAnonymity:
    @pytest.fixture
    def patients(self):
        return pd.DataFrame({
            "patient_id": list("abcdefgh"),
            "age": [31, 33, 38, 45, 47, 52, 29, np.nan],
            "sex": ["F", "F", "f", "M", "M", "F", "F", "F"],
            "skin_type": ["2", "2", "2", "3", "3", "II", "2", "2"],
            "clinic_id": ["n"] * 8})

    def test_classes_by_hand(self, patients):
        c = k_anonymity(patients, k=3)
        got = {tuple(r[:4]): (r[4], r[5]) for r in c.itertuples(index=False)}
        assert got == {("30-39", "F", "2", "n"): (3, False), ("40-49", "M", "3", "n"): (2, True),
                       ("50-59", "F", "2", "n"): (1, True), ("20-29", "F", "2", "n"): (1, True),
                       ("missing", "F", "2", "n"): (1, True)}
        assert c["size"].tolist() == sorted(c["size"])
        assert k_anonymity_summary(c) == {"k": 3, "patients": 8, "groups": 5, "smallest": 1,
                                          "groups_below_k": 4, "patients_below_k": 5}

    def test_coarsening_by_hand(self, patients):
        opts = coarsening_options(patients, k=3).set_index("option")
        # 20-year bands: 20-39 F: 31,33,38,29 → 4; 40-59 M: 2; 40-59 F: 1; missing: 1
        assert opts.loc["--age-band 20", ["groups", "patients_below_k"]].tolist() == [4, 4]
        # without age: F/2: 6 (incl. 'II' and the missing age), M/3: 2
        assert opts.loc["--drop age", ["smallest", "patients_below_k"]].tolist() == [
            2, 2]
        assert opts.loc["as is", "patients_below_k"] == 5
        # no single change reaches k=3, so pairs are offered; 20-year bands without sex:
        # 20-39/2: 4, 40-59/3: 2, 40-59/2: 1, missing/2: 1
        assert opts.loc["--age-band 20 --drop sex", ["groups", "patients_below_k"]].tolist() == [
            4, 4]
        assert "--age-band 20 --drop age" not in opts.index
        assert "--drop sex --drop skin_type" in opts.index
        # when a single change reaches k, no pairs are offered
        assert len(coarsening_options(patients, k=1)) == 1 + 2 + 4

    def test_drop_removes_quasi_from_out_and_check(self, tmp_path, raw):
        report = run(tmp_path, raw[0], drop=["clinic_id", "skin_type"], k=3)
        assert report.k_anonymity.attrs["quasi_identifiers"] == ("age_band", "sex")
        assert "clinic_id" not in read(tmp_path / "out", "patients")
        assert "k-anonymity over age in 10-year bands, sex with k=3" in report.to_text()

    def test_absent_quasi_and_bad_k(self, patients):
        c = k_anonymity(patients[["patient_id", "sex"]], k=2)
        assert c.attrs["absent"] == ("age_band", "skin_type", "clinic_id")
        assert dict(zip(c["sex"], c["size"])) == {"F": 6, "M": 2}
        with pytest.raises(ValueError, match="`k` must be"):
            k_anonymity(patients, k=0)

    def test_duplicate_patient_rows_count_once(self, patients):
        c = k_anonymity(pd.concat([patients, patients.head(1)]), k=3)
        assert c["size"].sum() == 8


class TestSuppression:
    def test_value_counts_with_percent(self):
        t = pd.DataFrame({"count": [20, 3, 9, 0], "percent": [62.5, 9.375, 28.125, 0.0]},
                         index=pd.Index(["F", "M", "X", "U"], name="sex"))
        s = suppress_small_counts(t)
        assert s["count"].tolist() == ["20", "<5", HIDDEN, "0"]
        assert s["percent"].tolist() == ["62.5", HIDDEN, HIDDEN, "0.0"]

    def test_series_and_threshold(self):
        s = suppress_small_counts(pd.Series([7, 15, 12], index=list("abc"), name="n"),
                                  threshold=10)
        assert s["n"].tolist() == ["<10", "15", HIDDEN]
        assert suppress_small_counts(pd.Series([1, 2], name="n"), threshold=1)["n"].tolist() == [
            "1", "2"]

    def test_crosstab_with_margins_secondary(self):
        t = pd.DataFrame([[10, 2, 12, 24], [8, 9, 7, 24], [18, 11, 19, 48]],
                         index=["r1", "r2", "All"], columns=["a", "b", "c", "All"])
        s = suppress_small_counts(t)
        assert s.to_dict("list") == {"a": [HIDDEN, HIDDEN, "18"], "b": ["<5", HIDDEN, "11"],
                                     "c": ["12", "7", "19"], "All": ["24", "24", "48"]}
        # the four hidden cells keep one degree of freedom: b in r1 could be 1, 2, 3 or 4
        for b1 in range(1, 5):
            a1, b2 = 24 - 12 - b1, 11 - b1
            a2 = 18 - a1
            assert a2 + b2 + 7 == 24 and min(a1, a2, b2) >= 0

    def test_small_margin_is_protected_from_grand_total(self):
        t = pd.DataFrame([[1, 2, 3], [10, 20, 30], [11, 22, 33]],
                         index=["r1", "r2", "All"], columns=["a", "b", "All"])
        s = suppress_small_counts(t)
        assert s.loc["r1"].tolist() == ["<5", "<5", "<5"]
        # the row total 3 could be worked out as 33 - 30, so 30 is hidden too
        assert s.loc["r2"].tolist() == [HIDDEN, HIDDEN, HIDDEN]
        assert s.loc["All"].tolist() == ["11", "22", "33"]

    def test_percent_mapping_and_zero_fallback(self):
        t = pd.DataFrame({"n_a": [2, 0], "n_b": [6, 8], "pct_b": [42.9, 57.1]})
        s = suppress_small_counts(t, percent_columns={"pct_b": "n_b"})
        # row 0 hides n_b=6 beside the 2; column n_a has only a 0 left to hide; column n_b then
        # holds one hidden cell, so its 8 is hidden too
        assert s["n_a"].tolist() == ["<5", HIDDEN]
        assert s["n_b"].tolist() == [HIDDEN, HIDDEN]
        assert s["pct_b"].tolist() == [HIDDEN, HIDDEN]

    def test_bad_input(self):
        with pytest.raises(ValueError, match="whole numbers"):
            suppress_small_counts(pd.DataFrame({"n": [1.5, 2]}), count_columns=["n"])
        with pytest.raises(ValueError, match="`threshold`"):
            suppress_small_counts(pd.DataFrame({"n": [1]}), threshold=0)

    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 4).flatmap(lambda c: st.lists(
        st.lists(st.integers(0, 12), min_size=c, max_size=c), min_size=1, max_size=5)))
    def test_no_lone_hidden_cell_and_shown_values_true(self, rows):
        t = pd.DataFrame(rows, columns=[f"c{j}" for j in range(len(rows[0]))])
        s = suppress_small_counts(t)
        hidden = s.isin(["<5", HIDDEN])
        assert ((s == "<5") == ((t >= 1) & (t < 5))).all().all()
        assert (s.where(~hidden, "") == t.astype(str).where(~hidden, "")).all().all()
        if t.shape[1] >= 2:
            assert not (hidden.sum(axis=1) == 1).any()
        if t.shape[0] >= 2:
            assert not (hidden.sum(axis=0) == 1).any()

    def test_suppress_count(self):
        assert [suppress_count(n) for n in (0, 1, 4, 5, 120)] == ["0", "<5", "<5", "5", "120"]
        assert suppress_count(np.int64(3), threshold=3) == "3"
        assert suppress_count(None) == ""
        with pytest.raises(ValueError, match="count"):
            suppress_count(-1)


def test_suppression_accepts_nullable_integer_counts_with_missing_cells():
    """Int64 counts with a missing cell (e.g. after a merge) are suppressed, the gap stays blank."""
    import pandas as pd

    from outcomes.privacy import suppress_small_counts

    t = pd.DataFrame({"group": ["a", "b", "c", "d"],
                      "n": pd.array([12, 3, pd.NA, 40], dtype="Int64")})
    out = suppress_small_counts(t, count_columns=["n"])
    assert out["n"].tolist()[1] == "<5"
    assert out["n"].tolist()[2] == ""
    assert out["n"].tolist()[0] in ("12", "hidden") and out["n"].tolist()[3] in ("40", "hidden")


def test_anonymise_refuses_formula_without_saved_value(tmp_path):
    import openpyxl

    raw = tmp_path / "raw"
    raw.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "sessions"
    for row in (["patient_id", "date", "treatment"], ["Ann Lee", "2024-01-10", "laser"]):
        ws.append(row)
    ws2 = wb.create_sheet("assessments")
    for row in (["patient_id", "date", "pore"], ["Ann Lee", "2024-01-10", 3],
                ["Ann Lee", "2024-07-10", "=C2-1"]):
        ws2.append(row)
    wb.save(raw / "export.xlsx")
    with pytest.raises(RecordsError, match=r"export.xlsx\[assessments\] line 3, column 'pore': "
                                           "formula with no saved value"):
        anonymise(raw, tmp_path / "out", key_file=tmp_path / "key")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------
# a shift never makes a valid record invalid (issue 15, kind 7)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3), st.integers(0, 400)),
                min_size=1, max_size=25, unique_by=lambda r: (r[0], r[2])),
       st.binary(min_size=16, max_size=32),
       st.sampled_from(["recent", "early"]))
def test_shifted_records_load_without_a_single_reject(tmp_path_factory, rows, key, era):
    """Whatever the key and however close to today (or to 1990) the records are, the shifted
    export loads with every row, and every interval within a patient is kept."""
    import datetime as dt

    tmp = tmp_path_factory.mktemp("shift")
    raw = tmp / "raw"
    raw.mkdir()
    today = dt.date.today()
    anchor = today if era == "recent" else dt.date(1990, 1, 1) + dt.timedelta(days=400)
    sessions, assessments = [], []
    for patient, kind, days_back in rows:
        day = anchor - dt.timedelta(days=days_back) if era == "recent" else (
            dt.date(1990, 1, 1) + dt.timedelta(days=days_back))
        pid = f"Patient {patient}"
        if kind:
            sessions.append((pid, day.isoformat(), "laser"))
        assessments.append((pid, day.isoformat(), 2.0))
    for pid in {a[0] for a in assessments} - {s[0] for s in sessions}:
        sessions.append((pid, next(a[1] for a in assessments if a[0] == pid), "laser"))
    pd.DataFrame(sessions, columns=["patient_id", "date", "treatment"]).to_csv(
        raw / "sessions.csv", index=False)
    pd.DataFrame(assessments, columns=["patient_id", "date", "pore"]).to_csv(
        raw / "assessments.csv", index=False)
    (tmp / "key").write_bytes(key.ljust(16, b"k"))
    anonymise(raw, tmp / "out", key_file=tmp / "key", shift_dates=True)
    rec = load_records(tmp / "out")
    assert rec.n_quarantined == 0
    assert rec.loaded_rows["sessions"] == len(sessions)
    assert rec.loaded_rows["assessments"] == len(assessments)
    # intervals: the shifted dates of each patient keep their differences
    out_s = pd.read_csv(tmp / "out" / "sessions.csv")
    raw_s = pd.read_csv(raw / "sessions.csv")
    moved = (pd.to_datetime(out_s["date"]) - pd.to_datetime(raw_s["date"])).dt.days
    assert (moved <= 0).all()
    assert moved.groupby(raw_s["patient_id"]).nunique().eq(1).all()


class TestKAnonymityVerdict:
    """Issue 15, kind 8: a plain verdict on OUT as written, the smallest groups, and the
    coarsening that fixes it without dropping what the analyses adjust for."""

    @pytest.fixture
    def raw_banded(self, tmp_path):
        """20 patients: every (10-year band, sex, skin type, clinic) group holds 5 of them,
        but no two share an age in whole years within a group."""
        raw = tmp_path / "raw"
        raw.mkdir()
        patients, sessions, assessments = [], [], []
        for i in range(20):
            pid = f"Patient {i:02d}"
            group = i // 5
            patients.append({"patient_id": pid, "age": 30 + 10 * (group % 2) + i % 5,
                             "sex": "F" if group < 2 else "M", "skin_type": "2",
                             "clinic_id": "north"})
            sessions.append({"patient_id": pid, "date": "2024-01-10", "treatment": "laser"})
            assessments.append({"patient_id": pid, "date": "2024-01-10", "pore": 2})
        for name, rows in (("patients", patients), ("sessions", sessions),
                           ("assessments", assessments)):
            pd.DataFrame(rows).to_csv(raw / f"{name}.csv", index=False)
        return raw

    def test_whole_years_do_not_meet_k_and_writing_the_band_is_suggested(self, tmp_path,
                                                                         raw_banded):
        report = anonymise(raw_banded, tmp_path / "out", key_file=tmp_path / "key", k=5)
        assert report.meets_k is False
        text = report.to_text()
        assert "verdict: OUT does NOT meet k=5 (age written in whole years): 20 of 20 groups" in text
        assert "the smallest groups" in text
        assert "suggestion: --write-age-band: writes each age as the midpoint of its 10-year" in text
        assert "every variable the analyses adjust for is kept" in text
        opts = report.coarsening.set_index("option")
        assert opts.loc["as is", "adjustment_lost"] == ""
        assert opts.loc["--drop sex", "adjustment_lost"] == "sex"
        assert opts.loc["--drop age", "adjustment_lost"] == "age"

    def test_written_bands_meet_k_and_load(self, tmp_path, raw_banded):
        report = anonymise(raw_banded, tmp_path / "out", key_file=tmp_path / "key", k=5,
                           write_age_band=True)
        assert report.meets_k is True
        assert "verdict: OUT meets k=5 (as written): each of its 4 groups holds at least 5" in (
            report.to_text())
        ages = pd.read_csv(tmp_path / "out" / "patients.csv")["age"]
        assert sorted(set(ages)) == [35, 45]
        rec = load_records(tmp_path / "out")
        assert rec.n_quarantined == 0 and rec.patients["age"].notna().all()

    def test_cli_flag(self, tmp_path, raw_banded, capsys):
        assert main(["anonymise", str(raw_banded), str(tmp_path / "out"), "--key-file",
                     str(tmp_path / "key"), "--write-age-band"]) == 0
        assert "verdict: OUT meets k=5" in capsys.readouterr().out

    def test_only_dropping_reaches_k_names_the_adjustment_lost(self, tmp_path, raw_banded):
        p = pd.read_csv(raw_banded / "patients.csv")
        p["skin_type"] = [str(1 + i % 6) for i in range(len(p))]  # every skin type rare
        p.to_csv(raw_banded / "patients.csv", index=False)
        report = anonymise(raw_banded, tmp_path / "out", key_file=tmp_path / "key", k=3,
                           write_age_band=True)
        assert report.meets_k is False
        assert "no longer adjust for skin_type" in report.to_text()

    def test_adjusted_are_model_covariates(self):
        from outcomes.estimate.effects import COVARIATES

        assert set(ADJUSTED) <= set(COVARIATES)


# --------------------------------------------------------------------------------------------------
# markup from the data is shown as text (issue 15, kind 4)

HOSTILE_MARKUP = ["[click](javascript:alert(1))", "<img src=x onerror=alert(1)>",
                  "<script>alert(1)</script>", "![x](javascript:alert(1))",
                  "<a href='javascript:alert(1)'>x</a>", "**bold** _em_ `code`",
                  "# heading", "x | y", "\x1b[31mred\u202e", "&lt;b&gt; entity", "cost $5$"]


def _live_markup(html: str) -> list[str]:
    import re

    found = re.findall(r"<(?:img|script|a|iframe|svg|strong|em|code|h\d|table)\b[^>]*>", html)
    return found + re.findall(r"javascript:[^\s\"'<]*\"", html) + (
        ["control"] if any(c in html for c in "\x1b\u202e") else [])


def _render(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


@pytest.fixture(scope="module")
def hostile_records(tmp_path_factory):
    """The demo records in a folder named with markup, the pore label holding a link."""
    import shutil
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    folder = tmp_path_factory.mktemp("r") / "[folder](javascript:alert(1)) <img src=x>"
    shutil.copytree(demo, folder)
    toml = (folder / "dataset.toml").read_text()
    toml = toml.replace('label = "Pore size (clinician grade)"',
                        'label = "Pore [details](javascript:alert(1)) <b onmouseover=x>$x$"')
    (folder / "dataset.toml").write_text(toml)
    return load_records(folder)


class TestEscaping:
    @settings(max_examples=200, deadline=None)
    @given(st.one_of(st.sampled_from(HOSTILE_MARKUP), st.text(
        alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc", "Cf"]),
        min_size=1, max_size=40).filter(lambda v: v.strip() == v and v)))
    def test_markdown_escape_renders_as_the_text(self, value):
        from outcomes.escape import markdown

        rendered = _render(f"- Measure: **{markdown(value)}**, from 0 to 4")
        assert not [m for m in _live_markup(rendered) if m != "<strong>"]
        assert rendered.count("<strong>") == 1 and "<li>" in rendered

    @pytest.mark.parametrize("value", HOSTILE_MARKUP)
    def test_html_and_terminal_escape(self, value):
        from outcomes.escape import html, terminal

        assert not _live_markup(html(value))
        assert not any(c in terminal(value) for c in "\x1b\u202e")

    def test_ordinary_labels_unchanged(self):
        from outcomes.escape import markdown

        for label in ("Pore size (clinician grade)", "Skin texture (clinician grade)", "demo",
                      "clinic_a", "Redness 0-10", "VISIA pore score, higher = better"):
            assert markdown(label) == label

    def test_report_texts_escape_labels_and_folder(self, hostile_records):
        from outcomes import Analysis
        from outcomes.views import summary

        analyses = {"pore": Analysis(hostile_records, measure="pore")}
        compared = {"pore": analyses["pore"].schedules(boot=0, sensitivity=False)}
        texts = (summary.summary_overview(analyses), summary.headline(compared),
                 summary.association_findings(analyses["pore"]))
        for text in texts:
            html = _render(text._repr_markdown_())
            assert not [m for m in _live_markup(html) if m != "<strong>"], html
        overview = _render(texts[0]._repr_markdown_())
        assert "[folder](javascript:alert(1)) &lt;img src=x&gt;" in overview  # shown as text
        headline = _render(texts[1]._repr_markdown_())
        assert "Pore [details](javascript:alert(1)) &lt;b onmouseover=x&gt;" in headline

    def test_report_html_of_a_hostile_markdown_output(self, hostile_records):
        import nbformat

        from outcomes import Analysis
        from outcomes.views import report, summary

        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("views.summary_overview(analyses)")
        text = summary.summary_overview({"pore": Analysis(hostile_records, measure="pore")})
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            "text/markdown": text._repr_markdown_(), "text/plain": repr(text)})]
        nb.cells = [cell]
        html = report.to_html(nb)
        assert "<img src=x" not in html and 'href="javascript:' not in html

    def test_dataframes_in_notebooks_escape_cells(self, hostile_records):
        frame = pd.DataFrame({"value": HOSTILE_MARKUP})
        html = frame._repr_html_()
        assert "<img src=x" not in html and "<script>" not in html

    def test_plot_title_with_dollars_draws(self, hostile_records):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from outcomes import Analysis
        from outcomes.views import outcomes as outcome_views

        ax = outcome_views.dose_response_plot(Analysis(hostile_records, measure="pore"))
        ax.figure.canvas.draw()  # a '$x$' label would be parsed as mathtext without escaping
        assert "$x$" not in ax.get_title() or "\\$" in ax.get_title()
        plt.close(ax.figure)


# --------------------------------------------------------------------------------------------------
# kept columns hold no identifier of the export (issue 15, kind 2)


class TestKeptColumnsAreSearched:
    def _set(self, raw_dir, table, column, row, value):
        frame = pd.read_csv(raw_dir / f"{table}.csv", dtype=str, keep_default_na=False)
        frame.loc[row, column] = value
        frame.to_csv(raw_dir / f"{table}.csv", index=False)

    @pytest.mark.parametrize("value,what", [
        (f"microneedling ({LAST[5]}55)", "a name found in the export's name or id columns"),
        (f"laser {FIRST[7].lower()}", "a name found in the export's name or id columns"),
        ("peel MRN-040111", "an id, record number, address or contact"),
        ("peel imogen.castellano@mailhost.example", "an e-mail address"),
        ("peel, call 020 7946 0018", "a phone number"),
        ("peel Dr Who", "a title and a surname"),
        ("peel SW1A 1AA", "a postcode")])
    def test_treatment_with_an_identifier_stops_the_run_with_a_count(self, tmp_path, raw, value,
                                                                     what):
        raw_dir = raw[0]
        self._set(raw_dir, "sessions", "treatment", 4, value)
        with pytest.raises(RecordsError) as err:
            run(tmp_path, raw_dir)
        msg = str(err.value)
        assert "sessions.csv: column 'treatment'" in msg and "data row 5" in msg
        assert what in msg and ("1 row" in msg or "1 value" in msg)
        assert value not in msg and value.split()[-1] not in msg
        assert not (tmp_path / "out").exists()

    def test_optional_schema_column_with_a_pattern_is_dropped_and_counted(self, tmp_path, raw):
        raw_dir = raw[0]
        self._set(raw_dir, "sessions", "areas", 2, "nose; SW1A 1AA")
        report = run(tmp_path, raw_dir)
        dropped = report.dropped.set_index(["table", "column"])["reason"]
        assert dropped[("sessions", "areas")] == "1 value(s) hold a postcode"
        assert "areas" not in read(tmp_path / "out", "sessions")

    def test_clean_export_keeps_every_schema_column(self, tmp_path, raw):
        report = run(tmp_path, raw[0])
        assert {"treatment", "areas", "depth_mm"} <= set(read(tmp_path / "out", "sessions"))
        assert not report.dropped["column"].isin(["treatment", "areas"]).any()


def test_notebook_setup_turns_mathtext_off_so_any_label_draws_as_typed():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from outcomes.escape import plot_label
    from outcomes.present.display import notebook_setup

    with matplotlib.rc_context():
        notebook_setup()
        assert matplotlib.rcParams["text.parse_math"] is False
        fig, ax = plt.subplots()
        ax.set_ylabel("Pore $x$ score ($ unbalanced")  # mathtext would fail on this
        ax.set_title(plot_label("cost $5"))
        fig.canvas.draw()
        assert ax.get_title() == "cost $5"
        plt.close(fig)
