"""A practice system's export read as it is, through a ``[sources]`` mapping (methods §1.14).

A clinic's practice-management system exports an appointments list, a consultation form's ratings
and a client list, not the records of docs/methods.md §1. A ``[sources]`` block in the export's
``dataset.toml`` says how to read them; ``outcomes sources RAW`` drafts it. The modules, in the
order an export goes through them:

- :mod:`.spec` — the mapping as written in ``dataset.toml``, checked key by key; dates in a
  declared day/month order; the built-in vocabulary (``Type IV``, ``Ex-smoker`` ...); the file
  without the mapping (:func:`strip_sources`, for ``outcomes anonymise``'s OUT)
- :mod:`.files` — the files it names, read by the loader's own readers
  (:func:`outcomes.records.read.read_as_is`: one reader per format)
- :mod:`.mapping` — each file through its mapping into the loader's raw form
  (:func:`read_mapped`), the rows set aside counted by reason and value
- :mod:`.draft` — ``outcomes sources RAW``: the mapping drafted from the files, a comment per
  guess
- :mod:`.preview` — what a mapping reads with the records' rules, before anything is anonymised;
  the scratch rehearsal of notebook 00

The loader (:func:`outcomes.records.assemble.load_records`) and the anonymiser
(:func:`outcomes.privacy.export.anonymise`) call :func:`read_mapped`; the readers of
:mod:`outcomes.records.read` know nothing of the mapping. Only :mod:`.mapping`'s names are
imported here (the preview builds records, so the loader must not import it through this package).
"""

from .mapping import (
    Mapped,
    TableSource,
    has_mapping,
    parse_date,
    read_mapped,
    read_spec,
    set_aside_lines,
    set_aside_summary,
    strip_sources,
)

__all__ = ["Mapped", "TableSource", "has_mapping", "parse_date", "read_mapped", "read_spec",
           "set_aside_lines", "set_aside_summary", "strip_sources"]
