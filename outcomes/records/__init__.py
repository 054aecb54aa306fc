"""The records (docs/methods.md §1): loading and validating a clinic's records; ``outcomes check``.

``from outcomes.records import load_records`` is the way in; the modules, in the order a folder
goes through them:

- :mod:`.contract`, :mod:`.scales`, :mod:`.schema`, :mod:`.identifiers` — the vocabulary of the
  records, the rating scales (``dataset.toml``), the pandera schemas of a loaded table, and what a
  direct identifier looks like
- :mod:`.dataset` (with :mod:`.toml_lines`) — ``dataset.toml``, read once for every section
- :mod:`.read` — finding the tables of a folder and reading each (CSV, Parquet, ``.xlsx``,
  DataFrame) into one raw form; the worker threads; :mod:`.workbook` — a workbook's cells
- :mod:`.sources` — a practice system's export read through the ``[sources]`` mapping of its
  ``dataset.toml`` (docs/methods.md §1.14) with the same readers, into the same raw form
- :mod:`.columns` — a column encoded once, and the byte-level proofs of the fast paths
- :mod:`.rules` — the verdicts on each distinct value, the checks of a column and of a table,
  duplicates
- :mod:`.assemble` — each table validated, the tables put together, quarantine, row accounting:
  :func:`load_records`, :func:`from_frames`, :class:`Records`
- :mod:`.check` — what ``outcomes check`` shows: :func:`summary`, the rejects, the printed text

How the loader works
--------------------
Every rule is decided on a column's *unique values* (a session table of a million rows holds a
few thousand distinct dates and a handful of treatments) and spread back to the rows with one
vectorised ``take``; Python-level work per row happens only for the few rows with a problem. This
general path reads every cell as text (CSV through ``pyarrow.csv``; Parquet and ``.xlsx`` values
are turned into the same form), so that a message can quote the cell exactly as written.

Three shortcuts make clean records load fast, each proven to give the general path's result
(``tests/test_records.py::TestFastPathsMatchGeneralPath`` compares them on clean, messy and
one-odd-cell folders):

* **typed CSV read**: date columns are read as dates, number columns as numbers and categories as
  dictionaries during the reader's parallel parse. pyarrow's date parser accepts only
  ``YYYY-MM-DD`` (a subset of the text rules), and a typed column is used only when every value
  passes the checks (no ``nan``/``inf``, no empty required date, all within range); otherwise
  that column is read again as text and takes the general path (a value the reader cannot
  convert at all sends the whole table to the all-text read).
* **columns used as read**: a text column whose bytes show that normalisation cannot change it
  (ASCII, no whitespace, no empty strings, no capitals where lower-cased) is handed over without
  encoding; the identifier rules then look at its distinct values only (found with one
  ``pc.unique``), or not at all when a byte test shows no digit and no ``@`` in it.
* **work in threads**: each table's columns are encoded in a worker pool while the next file is
  read (Arrow's kernels release the GIL).

Rules
-----
* Normalisation: surrounding spaces are stripped from every cell and header; empty cells are
  missing; headers are lower-cased (``Patient ID`` → ``patient_id``); categorical values are
  lower-cased (``Microneedling`` → ``microneedling``); sex ``f``/``female`` → ``F`` (``m``/``male``,
  ``x``); Fitzpatrick ``I``–``VI`` → 1–6; ``areas`` are lower-cased with the spaces around ``;``
  removed. Lines where every cell is empty are skipped and counted as *blank rows* (they are not
  records).
* Extra columns (not in docs/methods.md §1 and not a declared measure) are **kept** as text columns and listed
  as *extra columns* by ``outcomes check``.
* Row problems quarantine the row (see :data:`REJECT_COLUMNS`); dates must be ``YYYY-MM-DD``
  (optionally followed by a time, which is dropped). A stray ``23/11/2024`` is a row problem; when
  most dates of a column are not ``YYYY-MM-DD`` the column is a structural problem
  (:class:`RecordsError`): the loader never guesses day/month order. The same majority rule makes a
  numeric column whose values are mostly not numbers (``1,5`` or ``mild``) structural.
* Exact duplicate rows (identical after normalisation): the first is kept, repeats are quarantined.
  Rows of ``patients`` sharing a ``patient_id`` with *different* values are all quarantined (the
  loader cannot tell which is right).
* A quarantined ``patients`` row does not remove the patient: sessions and assessments stay, and the
  patient gets a row with missing covariates, like every patient seen in sessions or assessments but
  absent from ``patients`` (counted as ``added_patients``).
* Assessments must name a patient that appears in the sessions file or the patients file.
* Direct identifiers are refused (:class:`RecordsError` naming file, column and lines, never the
  value, and pointing to ``outcomes anonymise``): identifier column names, and identifiers inside
  any cell's text — e-mails, phone numbers, NHS numbers, UK postcodes, a title with a surname, and
  name-shaped ids in ``patient_id``/``clinician_id`` (:mod:`outcomes.records.identifiers`). Free
  text in a column the records do not define (by its name, ``notes``, ``comment``, ..., or by
  values of four or more words) is refused too: the analyses never read it.
* Dates are calendar dates in the clinic's own time. A Parquet timestamp with a time zone is read
  as the date and time on the clock of its zone (not converted to UTC, which would put a session
  at 00:30 in summer on the day before); a time of day, in any file, is dropped: the record is
  taken as its local calendar date.
* A value the loader cannot read is a row problem with its line, never a silent gap: a NaN
  stored in a Parquet number column is "not a number", and a workbook cell holding a formula
  with no saved value (a file written by a program that does not calculate) sets its line aside
  with the column named.
* Line numbers are those of a spreadsheet: the header is line 1, the first record line 2 (a CSV
  record spanning several physical lines counts once). For Parquet files and in-memory frames the
  line is the row position + 2, as if the table were exported with a header.
"""

from ..errors import RecordsError
from .assemble import REJECT_COLUMNS, Records, from_frames, load_records
from .check import check_text, reject_objects, rejects_table, summary

__all__ = [
    "REJECT_COLUMNS",
    "Records",
    "RecordsError",
    "check_text",
    "from_frames",
    "load_records",
    "reject_objects",
    "rejects_table",
    "summary",
]
