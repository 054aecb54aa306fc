"""Direct identifiers: the rules themselves and the loader's refusal with a pointer to anonymise."""

from __future__ import annotations

import pandas as pd
import pytest
from records_fixtures import SESSIONS, write

from outcomes.errors import RecordsError
from outcomes.identifiers import (
    email_mask,
    identifier_column_kind,
    identifier_columns,
    identifier_values,
    looks_like_email,
    looks_like_phone,
    phone_mask,
)
from outcomes.records import from_frames, load_records

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
