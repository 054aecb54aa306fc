"""Direct-identifier detection, shared by the loader (which refuses them) and ``outcomes anonymise``
(which drops them).

Column names are split into lower-case word tokens (``PatientFirstName`` → patient, first, name) and
compared with the patterns below. Values are looked at too, anywhere inside a cell's text
(:func:`value_kinds`, :func:`identifier_values`):

- **e-mail addresses** (``name@host.tld``);
- **phone numbers**, found by Google's libphonenumber (the ``phonenumbers`` package,
  ``PhoneNumberMatcher``, UK numbering by default): a number the library finds *valid*, or one
  it finds *possible* that is written the way people write phone numbers (with ``+`` or a leading
  ``0``, at least 9 digits after it, not glued to letters or digits, not a decimal or a date); and
  whole cells shaped like a phone number (:func:`looks_like_phone`);
- **NHS numbers**: 10 digits (``943 476 5919``, ``943-476-5919`` or ``9434765919``), not glued
  to other letters or digits, whose last digit is their modulus-11 check digit;
- **UK postcodes** (``SW1A 1AA``, ``m1 1ae``, ``EC1A1BB``), by the letters the Royal Mail allows
  in each position;
- **a title with a surname** (``Dr Smith``, ``mrs o'neill``, ``Nurse Pemberton``);
- in columns that hold ids only (``patient_id``, ``clinician_id``): **name-shaped ids**, words
  of letters without a digit (``Jane Doe``, ``Smith, J.``) or one capitalised word (``Denholm``).

Every rule is decided on a column's distinct values, and a value reaches the Python-level rules
(libphonenumber, the checksum) only after one vectorised Arrow regular expression found it a
candidate, so the loader's speed does not depend on the size of a column.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FREE_TEXT_NAMES",
    "IDENTIFIER_KINDS",
    "ID_COLUMNS",
    "VALUE_KINDS",
    "email_mask",
    "free_text_mask",
    "identifier_column_kind",
    "identifier_columns",
    "identifier_values",
    "is_nhs_number",
    "looks_like_email",
    "looks_like_free_text_column",
    "looks_like_phone",
    "phone_mask",
    "value_kinds",
    "value_kinds_mask",
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
    "date of birth": ({"dob", "birthdate", "birthday", "geburtsdatum", "dateofbirth", "born",
                       "birth", "yob", "birthyear", "yearofbirth"},
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


def identifier_values(frame: pd.DataFrame, *, max_examples: int = 3,
                      id_columns=None) -> list[dict]:
    """Find string cells holding an identifier anywhere in their text (see :func:`value_kinds`).

    Parameters
    ----------
    frame : DataFrame
    max_examples : int
        Rows listed per column and kind.
    id_columns : iterable of str, optional
        Columns that hold ids (name-shaped values count there); default :data:`ID_COLUMNS`.

    Returns
    -------
    list of dict
        One entry per offending column and kind, in the order of :data:`VALUE_KINDS`: ``column``,
        ``kind``, ``count`` and ``rows`` (positional indices of up to ``max_examples`` rows).
    """
    ids = set(ID_COLUMNS if id_columns is None else id_columns)
    found = []
    for col in frame.columns:
        series = frame[col]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) == 0:
            continue
        masks = value_kinds_mask(list(uniques), id_column=str(col) in ids)
        for kind, mask in masks.items():
            hit = np.append(mask, False)[codes]  # code -1 (missing) → False
            if hit.any():
                pos = np.flatnonzero(hit)
                found.append({"column": str(col), "kind": kind, "count": len(pos),
                              "rows": [int(i) for i in pos[:max_examples]]})
    return found


# ----------------------------------------------------------------------------------------------
# identifiers inside a value's text

#: the kinds :func:`value_kinds` reports, in this order (plural forms are these plus "s")
VALUE_KINDS = ("e-mail", "phone number", "NHS number", "postcode", "title and surname",
               "person's name")
#: columns of the records that hold ids, where a value shaped like a name is a name
ID_COLUMNS = ("patient_id", "clinician_id")
#: column-name tokens of free text
FREE_TEXT_NAMES = {"note", "notes", "comment", "comments", "remark", "remarks", "memo", "text",
                   "freetext", "description", "observation", "observations", "message",
                   "narrative", "details", "history", "anamnesis", "bemerkung", "notiz"}

_EMBEDDED_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
# not glued to letters or digits: a keyed pseudonym (P-3f4a1234567890) is not an NHS number
_NHS = re.compile(r"(?<![A-Za-z0-9])(?<![A-Za-z0-9][\-_/])(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})"
                  r"(?![A-Za-z0-9])(?![\-_/][A-Za-z0-9])")
# Royal Mail: outward code A9, A9A, A99, AA9, AA9A, AA99; inward code 9AA without C I K M O V
_POSTCODE = re.compile(r"(?<![A-Z0-9])(?:GIR ?0AA|[A-PR-UWYZ](?:[A-HK-Y]?[0-9][0-9A-HJKPSTUW]?)"
                       r" ?[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Z0-9])")
_TITLE = re.compile(r"(?<![A-Za-z])(?:(?i:dr|mr|mrs|ms|mx|prof)\.?|Miss|Nurse|Sister)\s+"
                    r"[A-Za-z][A-Za-z'’\-]+")
_NAME_WORDS = re.compile(r"^[A-Za-z][A-Za-z'’\-]*\.?(?:[ ,]+[A-Za-z][A-Za-z'’\-]*\.?)+$")
_NAME_WORD = re.compile(r"^[A-Z](?:[a-z]+|['’][A-Z][a-z]+)(?:-[A-Z]?[a-z]+)*$")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}:\d{2}")
# one Arrow (RE2) pass that every value holding an identifier matches; a superset
_CANDIDATE = (r"@|\d(?:[ ().\-/]{0,3}\d){7}"
              r"|(?i:[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}|gir ?0aa)"
              r"|(?i:(?:^|[^a-z])(?:dr|mr|mrs|ms|miss|mx|prof|nurse|sister)\.?\s+[a-z])")
_CANDIDATE_ID = r"|^[A-Za-z][^0-9]*$"
_FREE_TEXT = r"(?:\S*[A-Za-z]\S*\s+){3}\S*[A-Za-z]"
#: region whose numbering plan reads a number written without a country code
PHONE_REGION = "GB"


def is_nhs_number(digits: str) -> bool:
    """True for ten digits whose last is the NHS modulus-11 check digit of the first nine.

    ``check = 11 − (Σ dᵢ·(11 − i) for i = 1..9) mod 11``; 11 becomes 0 and 10 is never valid.
    Ten equal digits (``0000000000``) pass the sum but are no one's number.

    Examples
    --------
    >>> is_nhs_number("9434765919"), is_nhs_number("9434765918")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1))) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _phone_in(text: str) -> bool:
    matcher = phonenumbers.PhoneNumberMatcher(text, PHONE_REGION,
                                              leniency=phonenumbers.Leniency.POSSIBLE)
    for m in matcher:
        raw = m.raw_string
        if _glued(text, m.start, m.end) or _DATE_LIKE.search(raw) or _DECIMAL.match(raw):
            continue  # part of an id, a date, a time or a decimal number
        if phonenumbers.is_valid_number(m.number):
            return True
        digits = re.sub(r"\D", "", raw)
        written = raw.startswith("+") or (raw.startswith("0") and not raw.startswith("00"))
        if written and len(digits) >= 10 and phonenumbers.is_possible_number(m.number):
            return True
    return False


def _glued(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is part of a longer token: a letter or digit right next to
    it, or one behind a ``-``, ``_`` or ``/`` (``P-003255336934`` is a pseudonym, not a Belgian
    phone number)."""
    def near(i, step):
        return 0 <= i < len(text) and (text[i].isalnum() or (
            text[i] in "-_/" and 0 <= i + step < len(text) and text[i + step].isalnum()))
    return near(start - 1, -1) or near(end, 1)


def value_kinds(value, *, id_column: bool = False) -> list[str]:
    """The kinds of identifier (:data:`VALUE_KINDS`) found anywhere in one value's text.

    Examples
    --------
    >>> value_kinds("Call Jane on 07700 900123 re booking")
    ['phone number']
    >>> value_kinds("Dr Smith"), value_kinds("Jane Doe", id_column=True)
    (['title and surname'], ["person's name"])
    >>> value_kinds("microneedling"), value_kinds("P0001", id_column=True)
    ([], [])
    """
    if not isinstance(value, str):
        return []
    text = value.strip()
    found = []
    if "@" in text and _EMBEDDED_EMAIL.search(text):
        found.append("e-mail")
    digits = sum(c.isdigit() for c in text)
    # a bare number that does not start with 0 is no phone number as written (a UK number starts
    # with its trunk 0, any other with + or 00): numeric ids skip libphonenumber (~40 µs each)
    bare = text.isdigit() and not text.startswith("0")
    if digits >= 8 and not bare and (looks_like_phone(text) or _phone_in(text)):
        found.append("phone number")
    if digits >= 10 and any(is_nhs_number("".join(m.groups())) for m in _NHS.finditer(text)):
        found.append("NHS number")
    if digits and _POSTCODE.search(text.upper()):
        found.append("postcode")
    if _TITLE.search(text):
        found.append("title and surname")
    if id_column and not digits and (_NAME_WORDS.match(text) or (
            len(text) >= 3 and _NAME_WORD.match(text))):
        found.append("person's name")
    return found


def value_kinds_mask(values, *, id_column: bool = False) -> dict[str, np.ndarray]:
    """Vectorised :func:`value_kinds`: kind → boolean mask over ``values`` (kinds found only).

    One Arrow regular expression finds the candidates; only those get the exact rules.
    """
    s = _as_arrow_strings(values)
    out: dict[str, np.ndarray] = {}
    if len(s) == 0:
        return out
    cand = _regex(s, _CANDIDATE + (_CANDIDATE_ID if id_column else ""))
    for i in np.flatnonzero(cand):
        for kind in value_kinds(s[int(i)].as_py(), id_column=id_column):
            out.setdefault(kind, np.zeros(len(s), dtype=bool))[i] = True
    return {k: out[k] for k in VALUE_KINDS if k in out}


def free_text_mask(values) -> np.ndarray:
    """Values that read as free text: four or more words holding letters."""
    s = _as_arrow_strings(values)
    return _regex(s, _FREE_TEXT) if len(s) else np.zeros(0, dtype=bool)


def looks_like_free_text_column(column: str) -> bool:
    """True when a column's name says it holds free text (``notes``, ``Comment``, ...)."""
    tokens = _tokens(column)
    return bool(FREE_TEXT_NAMES & set(tokens)) or "".join(tokens) in FREE_TEXT_NAMES
