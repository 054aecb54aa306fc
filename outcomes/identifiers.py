"""Direct-identifier detection, shared by the loader (which refuses them) and ``outcomes anonymise``
(which drops them).

Column names are split into lower-case word tokens (``PatientFirstName`` → patient, first, name) and
compared with the patterns below; string values are checked for e-mail addresses and phone numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "IDENTIFIER_KINDS",
    "email_mask",
    "identifier_column_kind",
    "identifier_columns",
    "identifier_values",
    "looks_like_email",
    "looks_like_phone",
    "phone_mask",
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
_DECIMAL = re.compile(r"^\d+\.\d+$")  # 0.123456789 is a number, not a phone


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
    if not s or not _PHONE_CHARS.match(s) or _ISO_DATE.match(s) or _DECIMAL.match(s):
        return False
    digits = sum(c.isdigit() for c in s)
    if not 9 <= digits <= 15:
        return False
    has_separator = any(c in s for c in " ()-./")
    return s.startswith(("+", "0")) or has_separator


def _as_arrow_strings(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return pc.utf8_trim_whitespace(values)


def _regex(s: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring_regex(s, pattern), False).to_numpy(
        zero_copy_only=False), dtype=bool)


def email_mask(values) -> np.ndarray:
    """Vectorised :func:`looks_like_email` over an Arrow string array or a sequence of values."""
    s = _as_arrow_strings(values)
    at = np.asarray(pc.fill_null(pc.match_substring(s, "@"), False).to_numpy(
        zero_copy_only=False), dtype=bool)
    if not at.any():
        return at
    return _regex(s, _EMAIL.pattern)


def phone_mask(values) -> np.ndarray:
    """Vectorised :func:`looks_like_phone` over an Arrow string array or a sequence of values."""
    s = _as_arrow_strings(values)
    if len(s) == 0:
        return np.zeros(0, dtype=bool)
    shaped = _regex(s, _PHONE_CHARS.pattern)
    if not shaped.any():
        return shaped
    shaped &= ~_regex(s, _ISO_DATE.pattern) & ~_regex(s, _DECIMAL.pattern)
    digits = np.asarray(pc.fill_null(pc.utf8_length(pc.replace_substring_regex(s, r"\D", "")),
                                     0).to_numpy(zero_copy_only=False))
    marked = _regex(s, r"^[+0]") | _regex(s, r"[ ()./\-]")
    return shaped & (digits >= 9) & (digits <= 15) & marked


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
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) == 0:
            continue
        for kind, test in (("e-mail", email_mask), ("phone number", phone_mask)):
            hit = np.append(test(list(uniques)), False)[codes]  # code -1 (missing) → False
            if hit.any():
                pos = np.flatnonzero(hit)
                found.append({"column": str(col), "kind": kind, "count": len(pos),
                              "rows": [int(i) for i in pos[:max_examples]]})
    return found
