"""Anonymise a raw export (docs/methods.md §5): ``outcomes anonymise RAW OUT --key-file KEY``.

:func:`anonymise` turns a raw export that names people into a records folder the loader accepts:
keyed pseudonyms for patient and clinician ids, direct identifiers and free text dropped, date of
birth turned into age at first session, dates optionally shifted back per patient (every interval
within a patient kept, no valid date made invalid), every row kept. Every kept text column is
searched for the loader's value patterns and for the names, e-mails, phones and record numbers of
the export's own identifier columns; a hit is dropped with its count (an optional column) or stops
the run (a required or --kept column), never silently kept. The account of ``anonymise`` gives a
verdict on OUT as written (:attr:`AnonymiseReport.meets_k`).

The anonymiser reads raw exports, so it sits above the loader (its layer: ``tests/test_layers.py``);
what every output uses — small-count suppression and k-anonymity — is in
:mod:`outcomes.privacy.disclosure`, below it. The modules, in the order of a run:

- :mod:`.read` — the raw export read as text, without the loader's identifier guard
- :mod:`.plan` — what becomes of each column (keep, drop, pseudonymise, age), decided first
- :mod:`.keys` — the secret key, keyed pseudonyms, per-patient date shifts
- :mod:`.anonymiser` — :func:`anonymise` itself: OUT's tables made and written atomically
- :mod:`.account` — :class:`AnonymiseReport`, what ``outcomes anonymise`` prints
"""

from .account import AnonymiseReport
from .anonymiser import anonymise
from .keys import date_shift_days, load_or_create_key, patient_shifts, pseudonym

__all__ = [
    "AnonymiseReport",
    "anonymise",
    "date_shift_days",
    "load_or_create_key",
    "patient_shifts",
    "pseudonym",
]
