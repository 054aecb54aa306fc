"""Direct-identifier detection, shared by the loader (which refuses them) and ``outcomes anonymise``
(which drops them).

Column names are split into lower-case word tokens (``PatientFirstName`` → patient, first, name) and
compared with the patterns below; string values are checked for e-mail addresses and phone numbers.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = [
    "IDENTIFIER_KINDS",
    "identifier_column_kind",
    "identifier_columns",
    "identifier_values",
    "looks_like_email",
    "looks_like_phone",
]

#: kind → (single tokens, token sequences) that mark a column as a direct identifier
IDENTIFIER_KINDS: dict[str, tuple[set[str], list[tuple[str, ...]]]] = {
    "name": ({"name", "names", "surname", "forename", "firstname", "lastname", "fullname",
              "givenname", "familyname", "maidenname", "initials", "vorname", "nachname"},
             [("first", "name"), ("last", "name"), ("given", "name"), ("family", "name")]),
    "e-mail": ({"email", "mail", "emailaddress"}, [("e", "mail")]),
    "phone": ({"phone", "telephone", "tel", "mobile", "cellphone", "fax", "phonenumber"},
              [("cell", "phone")]),
    "address": ({"address", "street", "addr", "streetaddress", "housenumber"},
                [("house", "number"), ("address", "line")]),
    "postcode": ({"postcode", "postalcode", "zip", "zipcode", "plz", "postcodes"},
                 [("post", "code"), ("postal", "code"), ("zip", "code")]),
    "date of birth": ({"dob", "birthdate", "birthday", "geburtsdatum", "dateofbirth"},
                      [("date", "of", "birth"), ("birth", "date"), ("born", "on")]),
    "national or medical record number": (
        {"ssn", "nhs", "mrn", "nino", "nin", "passport", "chi", "ahv", "svnr", "bsn",
         "nationalid", "medicalrecord", "insurancenumber", "hospitalnumber", "personnummer"},
        [("national", "id"), ("national", "insurance"), ("social", "security"),
         ("medical", "record"), ("record", "number"), ("insurance", "number"),
         ("hospital", "number"), ("health", "number"), ("tax", "id"), ("patient", "number"),
         ("id", "card"), ("identity", "number")]),
}

# tokens that make a "...name" column harmless (a treatment's or a clinic's name is no person's)
_NOT_A_PERSON = {"treatment", "product", "area", "region", "clinic", "measure", "device", "file",
                 "site", "protocol", "brand", "scale", "sheet"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _tokens(column: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(column))
    return [t for t in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if t]


def identifier_column_kind(column: str) -> str | None:
    """The kind of direct identifier a column name suggests, or ``None``.

    Examples
    --------
    >>> identifier_column_kind("Email")
    'e-mail'
    >>> identifier_column_kind("treatment_name") is None
    True
    """
    tokens = _tokens(column)
    joined = "".join(tokens)
    for kind, (singles, sequences) in IDENTIFIER_KINDS.items():
        hit = any(t in singles for t in tokens) or joined in singles or any(
            _contains(tokens, seq) for seq in sequences)
        if hit and not (kind == "name" and _NOT_A_PERSON & set(tokens)):
            return kind
    return None


def _contains(tokens: list[str], seq: tuple[str, ...]) -> bool:
    n = len(seq)
    return any(tuple(tokens[i:i + n]) == seq for i in range(len(tokens) - n + 1))


def identifier_columns(columns) -> dict[str, str]:
    """Map each column name that looks like a direct identifier to its kind."""
    found = {}
    for col in columns:
        kind = identifier_column_kind(col)
        if kind:
            found[str(col)] = kind
    return found


def looks_like_email(value) -> bool:
    """True for a string shaped like an e-mail address."""
    return isinstance(value, str) and bool(_EMAIL.match(value.strip()))


def looks_like_phone(value) -> bool:
    """True for a string shaped like a phone number: 9–15 digits with only phone punctuation,
    starting with ``+`` or ``0`` or written with separators (ISO dates are not phones)."""
    if not isinstance(value, str):
        return False
    s = value.strip()
    if not s or not _PHONE_CHARS.match(s) or _ISO_DATE.match(s):
        return False
    digits = sum(c.isdigit() for c in s)
    if not 9 <= digits <= 15:
        return False
    has_separator = any(c in s for c in " ()-./")
    return s.startswith(("+", "0")) or has_separator


def identifier_values(frame: pd.DataFrame, *, max_examples: int = 3) -> list[dict]:
    """Find string cells that look like e-mail addresses or phone numbers.

    Returns
    -------
    list of dict
        One entry per offending column: ``column``, ``kind``, ``count`` and ``rows`` (positional
        indices of up to ``max_examples`` offending rows).
    """
    found = []
    for col in frame.columns:
        series = frame[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        values = series.dropna()
        values = values[values.map(lambda v: isinstance(v, str))]
        if values.empty:
            continue
        for kind, test in (("e-mail", looks_like_email), ("phone number", looks_like_phone)):
            mask = values.map(test).astype(bool)
            if mask.any():
                pos = [frame.index.get_loc(i) for i in values.index[mask][:max_examples]]
                found.append({"column": str(col), "kind": kind, "count": int(mask.sum()),
                              "rows": pos})
    return found
