"""Direct identifiers: the rules themselves and the loader's refusal with a pointer to anonymise."""

from __future__ import annotations

import pandas as pd
import pytest
from records_fixtures import ASSESSMENTS, SESSIONS, write

from outcomes.errors import RecordsError
from outcomes.records import from_frames, load_records
from outcomes.records.identifiers import (
    email_mask,
    identifier_column_kind,
    identifier_columns,
    identifier_values,
    is_nhs_number,
    looks_like_email,
    looks_like_phone,
    phone_mask,
    value_kinds,
    value_kinds_mask,
)

COLUMNS = [
    ("name", "name"), ("FirstName", "name"), ("last_name", "name"), ("Surname", "name"),
    ("email", "e-mail"), ("E-Mail", "e-mail"), ("email_address", "e-mail"),
    ("phone", "phone"), ("Mobile", "phone"), ("tel", "phone"),
    ("address", "address"), ("street", "address"), ("address_line_1", "address"),
    ("postcode", "postcode"), ("zip_code", "postcode"), ("PostalCode", "postcode"),
    ("dob", "date of birth"), ("date_of_birth", "date of birth"), ("BirthDate", "date of birth"),
    ("nhs_number", "national or medical record number"),
    ("SSN", "national or medical record number"),
    ("medical_record_number", "national or medical record number"),
    ("mrn", "national or medical record number"),
    ("national_id", "national or medical record number"),
]
NOT_IDENTIFIERS = ["patient_id", "treatment_name", "clinic_name", "date", "areas", "pore",
                   "clinician_id", "region", "skin_type", "sleep_hours"]


class TestRules:
    @pytest.mark.parametrize("column,kind", COLUMNS)
    def test_identifier_column_names(self, column, kind):
        assert identifier_column_kind(column) == kind

    @pytest.mark.parametrize("column", NOT_IDENTIFIERS)
    def test_ordinary_columns_pass(self, column):
        assert identifier_column_kind(column) is None

    def test_identifier_columns_maps_names(self):
        assert identifier_columns(["patient_id", "Email", "dob"]) == {"Email": "e-mail",
                                                                       "dob": "date of birth"}

    @pytest.mark.parametrize("value,email,phone", [
        ("anna@example.com", True, False), (" a.b@clinic.co.uk ", True, False),
        ("not an email", False, False), ("a@b", False, False),
        ("+41 79 123 45 67", False, True), ("079 123 45 67", False, True),
        ("(020) 7946 0958", False, True), ("07700900123", False, True),
        ("2024-01-10", False, False), ("12345", False, False), ("0.123456789", False, False),
        ("P0001234", False, False), ("1.5", False, False),
    ])
    def test_value_patterns_scalar_and_vectorised_agree(self, value, email, phone):
        assert looks_like_email(value) is email
        assert looks_like_phone(value) is phone
        assert bool(email_mask([value])[0]) is email
        assert bool(phone_mask([value])[0]) is phone

    def test_identifier_values_positions(self):
        frame = pd.DataFrame({"note": ["ok", None, "x@y.org", "x@y.org"],
                              "n": [1, 2, 3, 4], "contact": ["", "+44 20 7946 0958", "", ""]})
        found = identifier_values(frame)
        assert found == [{"column": "note", "kind": "e-mail", "count": 2, "rows": [2, 3]},
                         {"column": "contact", "kind": "phone number", "count": 1, "rows": [1]}]


class TestLoaderRefuses:
    @pytest.mark.parametrize("column,kind", COLUMNS[::3])
    def test_identifier_column_in_a_file(self, tmp_path, column, kind):
        s = SESSIONS.replace("clinician_id\n", f"clinician_id,{column}\n").replace("C1\n", "C1,x\n")
        s = s.replace("C2\n", "C2,y\n")
        with pytest.raises(RecordsError) as err:
            load_records(write(tmp_path, sessions=s))
        msg = str(err.value)
        assert "sessions.csv" in msg and repr(column) in msg and kind in msg
        assert "outcomes anonymise RAW OUT --key-file KEY" in msg

    @pytest.mark.parametrize("value,kind", [("jane.doe@example.com", "e-mail addresses"),
                                            ("+41 79 123 45 67", "phone numbers")])
    def test_identifier_values_in_any_column(self, tmp_path, value, kind):
        s = SESSIONS.replace("P003,2024-02-01,microneedling,1.0,cheeks,C1",
                             f"P003,2024-02-01,microneedling,1.0,cheeks,{value}")
        with pytest.raises(RecordsError) as err:
            load_records(write(tmp_path, sessions=s))
        msg = str(err.value)
        assert f"look like {kind} (lines 6)" in msg and "outcomes anonymise" in msg
        assert value not in msg  # the message does not repeat the personal data

    def test_email_as_patient_id(self, tmp_path):
        s = SESSIONS.replace("P002", "p2@mail.com")
        with pytest.raises(RecordsError, match="'patient_id' holds values that look like e-mail"):
            load_records(write(tmp_path, sessions=s))

    def test_in_memory_frames_refused_too(self):
        s = pd.DataFrame({"patient_id": ["a"], "date": ["2024-01-01"], "treatment": ["laser"],
                          "Phone": ["x"]})
        a = pd.DataFrame({"patient_id": ["a"], "date": ["2024-01-01"], "pore": [1.0]})
        with pytest.raises(RecordsError, match="outcomes anonymise"):
            from_frames(s, a)


# --------------------------------------------------------------------------------------------------
# identifiers inside values (issue 15, kind 1): every kind, anywhere in the text, any column

#: (value, kind) — one line per kind and way of writing it
IN_VALUES = [
    ("Call Jane on 07700 900123 re booking", "phone number"),
    ("ring 0161 496 0000 after 5", "phone number"),
    ("+44 20 7946 0958", "phone number"),
    ("mob:07700900123", "phone number"),
    ("wrote to jane.doe@example.com about it", "e-mail"),
    ("J.Doe@clinic.co.uk", "e-mail"),
    ("9434765919", "NHS number"),
    ("NHS 943 476 5919", "NHS number"),
    ("943-476-5919", "NHS number"),
    ("SW1A 1AA", "postcode"),
    ("flat 2, m1 1ae", "postcode"),
    ("EC1A1BB", "postcode"),
    ("GIR 0AA", "postcode"),
    ("W1A 0AX", "postcode"),
    ("(0161) 496 0000", "phone number"),
    ("+44 (0)20 7946 0958", "phone number"),
    ("07700-900-123", "phone number"),
    ("tel: 0044 20 7946 0958", "phone number"),
    ("Mr. Smith", "title and surname"),
    ("DR SMITH", "title and surname"),
    ("Dr Smith", "title and surname"),
    ("seen by mrs O'Neill", "title and surname"),
    ("Nurse Pemberton", "title and surname"),
]
#: values no rule may stop (what clean records hold)
CLEAN_VALUES = ["microneedling", "chemical peel", "co2 laser", "nose;chin;forehead;cheeks",
                "P0001", "P0001234", "dr02", "C-1a2b3c4d5e6f", "clinic_a", "2024-01-10",
                "2024-01-10 09:30:00", "0.123456789", "30.4375", "1.75", "20240110",
                "9434765918", "1111111111", "12345678", "2079460958", "K1", "north", "visia", "hydrafacial 2"]


class TestValueRules:
    @pytest.mark.parametrize("value,kind", IN_VALUES)
    def test_each_kind_found(self, value, kind):
        assert kind in value_kinds(value)
        assert value_kinds_mask([value, "laser"])[kind].tolist() == [True, False]

    @pytest.mark.parametrize("value", CLEAN_VALUES)
    def test_clean_values_pass(self, value):
        assert value_kinds(value) == [] and value_kinds_mask([value]) == {}

    @pytest.mark.parametrize("value", ["Jane Doe", "Smith, J.", "Denholm", "o'neill anne"])
    def test_name_shaped_ids_only_in_id_columns(self, value):
        assert value_kinds(value, id_column=True) == ["person's name"]
        assert "person's name" not in value_kinds(value)

    @pytest.mark.parametrize("value", ["P0001", "north", "c12", "pat-0042", "x7"])
    def test_pseudonyms_are_not_names(self, value):
        assert value_kinds(value, id_column=True) == []

    def test_nhs_checksum(self):
        assert is_nhs_number("9434765919") and is_nhs_number("4010232137")
        assert not any(is_nhs_number(x) for x in ("9434765918", "1111111111", "943476591",
                                                  "94347659190"))

    def test_born_is_a_date_of_birth(self):
        for column in ("born", "Born", "birth_year", "yob", "year_of_birth"):
            assert identifier_column_kind(column) == "date of birth"


def _with_column(tmp_path, column, values, table="sessions"):
    base = {"sessions": SESSIONS, "assessments": ASSESSMENTS}[table]
    lines = base.splitlines()
    lines[0] += f",{column}"
    for i in range(1, len(lines)):
        v = values[(i - 1) % len(values)]
        lines[i] += "," + ('"' + v.replace('"', '""') + '"' if v else "")
    return write(tmp_path, **{table: "\n".join(lines) + "\n"})


class TestLoaderLooksAtValues:
    @pytest.mark.parametrize("column", ["ref", "location", "notes", "comment", "contact"])
    @pytest.mark.parametrize("value,kind", IN_VALUES[::2])
    def test_extra_column_value_refused_without_echo(self, tmp_path, column, value, kind):
        folder = _with_column(tmp_path, column, ["", "", value, "", ""])
        with pytest.raises(RecordsError) as err:
            load_records(folder)
        msg = str(err.value)
        assert f"sessions.csv: column {column!r}" in msg and "(lines 4)" in msg
        assert "outcomes anonymise RAW OUT --key-file KEY" in msg
        assert value not in msg

    @pytest.mark.parametrize("column,value", [
        ("clinician_id", "Dr Smith"), ("clinician_id", "Smith"), ("patient_id", "Jane Doe"),
        ("patient_id", "9434765919"), ("treatment", "microneedling (Dr Denholm)"),
        ("areas", "nose;SW1A 1AA"), ("clinician_id", "07700 900123")])
    def test_schema_columns_refused(self, tmp_path, column, value):
        header = SESSIONS.splitlines()[0].split(",")
        row = ["P003", "2024-02-01", "microneedling", "1.0", "cheeks", "C1"]
        row[header.index(column)] = value
        folder = write(tmp_path, sessions=SESSIONS.replace(
            "P003,2024-02-01,microneedling,1.0,cheeks,C1", ",".join(row)),
            assessments=ASSESSMENTS.replace("P003", value) if column == "patient_id"
            else ASSESSMENTS,
            patients=None)
        with pytest.raises(RecordsError) as err:
            load_records(folder)
        msg = str(err.value)
        assert repr(column) in msg and "lines 6" in msg and value not in msg

    def test_ordinary_extra_column_loads(self, tmp_path):
        rec = load_records(_with_column(tmp_path, "device", ["visia", "", "visia 2", "x", "y"]))
        assert rec.extra_columns["sessions"] == ["device"]

    @pytest.mark.parametrize("column", ["notes", "Comments", "free_text", "remarks"])
    def test_free_text_column_refused_by_name(self, tmp_path, column):
        with pytest.raises(RecordsError, match=rf"column '{column}' holds free text \(lines 2, 3, "
                                               r"4 and 2 more\).*outcomes anonymise"):
            load_records(_with_column(tmp_path, column, ["ok", "fine", "x", "y", "z"]))

    def test_free_text_column_refused_by_its_values(self, tmp_path):
        with pytest.raises(RecordsError, match=r"column 'status' holds free text \(lines 5\)"):
            load_records(_with_column(tmp_path, "status", ["", "", "", "came late and left early",
                                                           ""]))

    def test_empty_notes_column_loads(self, tmp_path):
        rec = load_records(_with_column(tmp_path, "notes", [""]))
        assert len(rec.sessions) == 5

    def test_born_column_refused(self, tmp_path):
        folder = _with_column(tmp_path, "born", ["1980-01-01"])
        with pytest.raises(RecordsError, match=r"'born' \(date of birth\)"):
            load_records(folder)


def _all_distinct_values(folder):
    """Every distinct cell text of a records folder, by column (as the files hold them)."""
    import pyarrow.csv as pacsv

    out = {}
    for path in sorted(folder.glob("*.csv")):
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={}, strings_can_be_null=True, auto_dict_encode=False))
        for name in table.column_names:
            col = table.column(name).cast("string")
            out[(path.name, name)] = col.unique()
    return out


@pytest.mark.parametrize("n,seed", [(60, 1), (300, 2), (600, 3), (1500, 4), (3000, 5)])
def test_no_false_alarm_on_clean_synthetic_clinics(tmp_path, n, seed):
    from outcomes import synthetic

    synthetic.simulate(n, seed=seed).write(tmp_path)
    load_records(tmp_path)  # loads: no refusal
    for (file, column), values in _all_distinct_values(tmp_path).items():
        assert value_kinds_mask(values, id_column=column in ("patient_id", "clinician_id")) == {}, (
            file, column)


@pytest.mark.parametrize("folder", ["data/demo", "data/demo-with-mistakes"])
def test_no_false_alarm_on_the_demo(folder):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / folder
    load_records(root)
    for (file, column), values in _all_distinct_values(root).items():
        assert value_kinds_mask(values, id_column=column in ("patient_id", "clinician_id")) == {}, (
            file, column)


@pytest.mark.parametrize("key", [b"k" * 32, b"\x00" * 32, bytes(range(32))])
def test_keyed_pseudonyms_are_never_taken_for_identifiers(key):
    """anonymise's own output must load: 12 hex digits after P- can hold a valid-looking phone
    number (P-003255336934) or a ten-digit run with a good NHS check digit, and all-letter hex
    (P-bdcaedbdfebf) looks like a capitalised word. None of them may count."""
    from outcomes.privacy.export import pseudonym

    ids = [pseudonym(str(i), key) for i in range(60_000)]
    ids += [pseudonym(str(i), key, kind="clinician") for i in range(2_000)]
    ids += ["P-003255336934", "P-442413586657", "P-bdcaedbdfebf", "P-1234567890ab",
            "P-ab9434765919"]
    assert value_kinds_mask(ids, id_column=True) == {}


def test_nhs_number_stored_as_a_parquet_integer_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write(tmp_path, sessions=None)
    pq.write_table(pa.table({"patient_id": ["P001", "P002"], "date": ["2024-01-10", "2024-01-15"],
                             "treatment": ["laser", "laser"],
                             "ref": pa.array([1234, 9434765919], pa.int64())}),
                   folder / "sessions.parquet")
    with pytest.raises(RecordsError, match=r"sessions.parquet: column 'ref' holds values that look "
                                           r"like NHS numbers \(lines 3\)"):
        load_records(folder)
