"""The anonymiser's keyed values: the secret key, pseudonyms of ids, and per-patient date shifts.

One secret key file (created with 32 random bytes, permission 600) makes every value here: the
same key always gives the same pseudonyms and shifts, and without it neither can be recomputed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import RecordsError

__all__ = ["date_shift_days", "load_or_create_key", "patient_shifts", "pseudonym"]


#: id column → (HMAC domain, pseudonym prefix)
PSEUDONYMISED = {"patient_id": ("patient", "P-"), "clinician_id": ("clinician", "C-")}
PSEUDONYM_HEX = 12          # 48 bits
MAX_SHIFT_DAYS = 180
MIN_KEY_BYTES = 16


def load_or_create_key(key_file: str | Path) -> tuple[bytes, bool]:
    """Read the secret key, creating it (32 random bytes, permission 600) when the file is missing.

    Returns
    -------
    (key, created) : tuple of bytes and bool
    """
    path = Path(key_file).expanduser()
    if path.is_dir():
        raise RecordsError(f"--key-file {path} is a folder; give the path of a key file "
                           "(it is created when missing).")
    if path.exists():
        key = path.read_bytes()
        if len(key) < MIN_KEY_BYTES:
            raise RecordsError(f"Key file {path} holds {len(key)} bytes; a key needs at least "
                               f"{MIN_KEY_BYTES}. Point --key-file at the clinic's key, or at a "
                               "new path to create one.")
        return key, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key, True


def _digest(key: bytes, domain: str, value: str) -> bytes:
    return hmac.new(key, f"{domain}:{value}".encode(), hashlib.sha256).digest()


def pseudonym(value: str, key: bytes, *, kind: str = "patient") -> str:
    """The keyed pseudonym of an id.

    ``prefix + hex(HMAC-SHA256(key, kind + ":" + value.strip()))[:12]`` with prefix ``P-`` for
    patients and ``C-`` for clinicians. Twelve hex digits are 48 bits: among *n* ids the chance of
    any two sharing a pseudonym is about n² / 2⁴⁹ (≈ 2e-5 for 100 000 ids); :func:`anonymise` checks
    for it and stops if it happens.

    Examples
    --------
    >>> p = pseudonym("Jane Doe", b"0" * 32)
    >>> p.startswith("P-"), len(p), p == pseudonym(" Jane Doe ", b"0" * 32)
    (True, 14, True)
    """
    prefixes = {domain: prefix for domain, prefix in PSEUDONYMISED.values()}
    if kind not in prefixes:
        raise ValueError(f"The value for `kind` must be one of {sorted(prefixes)}, "
                         f"but {kind!r} was passed.")
    return prefixes[kind] + _digest(key, kind, str(value).strip()).hex()[:PSEUDONYM_HEX]


def date_shift_days(patient_id: str, key: bytes, *, max_days: int = MAX_SHIFT_DAYS) -> int:
    """The keyed per-patient date shift in days, in [-max_days, -1]: always back in time.

    ``shift = −1 − int(HMAC-SHA256(key, "shift:" + id)[:8]) mod max_days``.

    Backwards only, so that a shift can never carry a valid record into the future (a shift of
    up to +180 days pushed a clinic's recent sessions past today, and the loader then set them
    aside as "date in the future"). :func:`anonymise` also bounds it by the patient's earliest
    date, so that no date moves before the earliest the loader accepts (see
    :func:`patient_shifts`).
    """
    n = int.from_bytes(_digest(key, "shift", str(patient_id).strip())[:8], "big") % max_days
    return -1 - n


def patient_shifts(patient_ids: pd.Series, earliest: pd.Series, key: bytes, *,
                   max_days: int = MAX_SHIFT_DAYS) -> pd.Series:
    """The shift of each patient: :func:`date_shift_days`, bounded so that the patient's
    ``earliest`` date moves no further back than the loader's earliest accepted date.

    Parameters
    ----------
    patient_ids : Series of str
        One per row (missing → no shift, NaN).
    earliest : Series of datetime64
        The earliest date of each patient over every shifted column, indexed by patient id.

    Returns
    -------
    Series of float
        Days (≤ 0) per row of ``patient_ids``. A date valid before the shift is valid after it.
    """
    from ...records.contract import EARLIEST_DATE

    floor = pd.Timestamp(EARLIEST_DATE)
    room = (earliest - floor).dt.days  # days each patient can move back
    keyed = {p: date_shift_days(p, key, max_days=max_days) for p in patient_ids.dropna().unique()
             if isinstance(p, str) and p}
    def bounded(p):
        if p not in keyed:
            return np.nan
        r = room.get(p)
        return float(keyed[p] if r is None or pd.isna(r) or r < 0 else max(keyed[p], -int(r)))
    return patient_ids.map(bounded)
