"""What a ``[sources]`` mapping reads, before anything is anonymised (docs/methods.md §1.14).

``outcomes check`` stops at an export that still names people (the identifier guard), so a clinic
lead could not see what a mapping does until after ``outcomes anonymise``. :func:`preview` reads
the export through its mapping with the records' own rules, as ``outcomes anonymise`` and then
``outcomes check`` would: rows per table (in the file, set aside and why, quarantined, loaded),
the rows those rules would quarantine with the export's file, line, column and value, and the
columns the mapping leaves out — without reading those columns and with ids replaced by codes,
so nothing it shows names anyone. :func:`rehearse` makes a scratch copy of an export with a draft
written in (notebook 00), so that the export itself is never touched.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ...errors import RecordsError
from ..assemble import Records, _assemble, load_records
from ..check import check_text, summary
from ..identifiers import identifier_columns
from ..read import _Raw
from ..scales import read_scales
from .draft import Draft, _a, draft_sources
from .files import text_of
from .mapping import Mapped, read_mapped, set_aside_lines

__all__ = ["Preview", "Rehearsal", "preview", "rehearse"]

@dataclass
class Preview:
    """What the mapping of an export will read, with the records' rules (see :func:`preview`)."""

    folder: Path
    mapped: Mapped
    records: Records  # ids replaced by codes

    def tables(self) -> pd.DataFrame:
        """Per table: its file and rows in the file = set aside + quarantined + loaded (+
        blank lines). Row counts of files, not of people."""
        rec = self.records
        aside = self.mapped.set_aside
        rows = []
        for name, t in self.mapped.tables.items():
            rows.append({"table": name, "file": t.file, "rows in the file": t.rows_in_file,
                         "set aside": int(aside.loc[aside["table"] == name, "rows"].sum()),
                         "quarantined": rec.quarantined_rows.get(name, 0),
                         "loaded": rec.loaded_rows[name],
                         "blank lines": rec.blank_rows.get(name, 0)})
        return pd.DataFrame(rows)

    def columns(self) -> pd.DataFrame:
        """Per source column: what the records read it as, or what happens to it."""
        rows = []
        for name, t in self.mapped.tables.items():
            for k, h in t.headers.items():
                if k in t.passthrough:
                    kind = identifier_columns([h]).get(h)
                    what = (f"not mapped; {_a(kind)}: outcomes check stops at it, outcomes "
                            "anonymise drops it" if kind else "not mapped; ignored by the "
                            "analyses, dropped by outcomes anonymise")
                    rows.append({"file": t.file, "column": h, "read as": "", "how": what})
                else:
                    rows.append({"file": t.file, "column": h, "read as": f"{name}.{k}",
                                 "how": t.how.get(k, "as written")})
        return pd.DataFrame(rows)

    def set_aside(self) -> pd.DataFrame:
        """Rows set aside, by file, column, reason and value (row counts of files)."""
        return self.mapped.set_aside.drop(columns=["table"])

    def vocabulary(self) -> pd.DataFrame:
        """Values read by the built-in vocabulary (no counts: in a client list they count
        people)."""
        v = self.mapped.vocabulary
        return v[["file", "column", "value", "to"]].rename(columns={"to": "read as"})

    def problems_text(self, max_problems: int = 20) -> str:
        """The rows the records' rules would quarantine, one line each, or a sentence."""
        probs = self.problems()
        if probs.empty:
            return "No row breaks the records' rules: every row passed on loads."
        lines = [f"{len(probs):,} problem(s), line 1 being the header:"]
        for r in probs.head(max_problems).itertuples():
            value = f"{r.value!r}: " if r.value else ""
            lines.append(f"  {r.file} line {r.line}: {r.column} {value}{r.reason}")
        if len(probs) > max_problems:
            lines.append(f"  ... {len(probs) - max_problems:,} more")
        return "\n".join(lines)

    def problems(self) -> pd.DataFrame:
        """Rows the records' rules would quarantine: file, line, column, value, reason."""
        return self.records.rejects[["file", "line", "column", "value", "reason"]]

    def to_text(self, max_problems: int = 20) -> str:
        lines = [f"the [sources] mapping in {self.folder / 'dataset.toml'} reads:"]
        for r in self.tables().itertuples():
            lines.append(f"  {r.table:<12}{r._3:>8,} rows in {r.file}: {r._4:,} set aside, "
                         f"{r.quarantined:,} quarantined, {r.loaded:,} loaded"
                         + (f", {r._7:,} blank lines" if r._7 else ""))
        for file, g in self.columns().groupby("file", sort=False):
            read = [f"{r.column} -> {r._3.split('.')[1]}" + (f" ({r.how})" if r.how !=
                                                              "as written" else "")
                    for r in g.itertuples() if r._3]
            left = [r.column for r in g.itertuples() if not r._3]
            lines.append(f"  {file}: " + "; ".join(read))
            if left:
                lines.append("    not mapped (outcomes anonymise drops them): " + ", ".join(left))
        lines += set_aside_lines(self.mapped.set_aside)
        for r in self.mapped.vocabulary.itertuples():
            lines.append(f"  {r.file}: {r.column} {r.value!r} read as {r.to!r} (built-in "
                         "vocabulary)")
        if self.problems().empty:
            lines.append("rows the records' rules set aside: none")
        else:
            lines.append("rows the records' rules set aside (" + self.problems_text(
                max_problems).split(":", 1)[0] + "):")
            lines += self.problems_text(max_problems).splitlines()[1:]
        return "\n".join(lines)


def preview(folder: str | Path) -> Preview:
    """Read the export in ``folder`` through its mapping with the records' rules, as
    ``outcomes anonymise`` and then ``outcomes check`` would (without the identifier guard:
    columns the mapping leaves out are not read, and ids are replaced by codes)."""
    folder = Path(folder)
    measures = read_scales(folder / "dataset.toml")
    mapped = read_mapped(folder, measures, guard=False, ages=True)
    if mapped is None:
        raise RecordsError(f"{folder / 'dataset.toml'} has no [sources] mapping; draft one with "
                           f"`outcomes sources {folder} --write`.")
    codes: dict[str, str] = {}
    raws = {}
    for name, t in mapped.tables.items():
        cols = {}
        for k, c in t.columns.items():
            if k in t.passthrough:
                continue
            if k in ("patient_id", "clinician_id"):
                cells = [None if v is None or not v.strip() else
                         codes.setdefault(f"{k}:{v.strip()}", f"{k[0]}{len(codes) + 1}")
                         for v in text_of(c).to_pylist()]
                c = pa.array(cells, type=pa.string())
            cols[k] = c
        raws[name] = _Raw(name, t.file, cols, {k: t.headers[k] for k in cols}, t.lines,
                          t.malformed)
    records = _assemble(raws, measures, source=folder)
    records.rejects = mapped.restate(records.rejects)
    return Preview(folder, mapped, records)


@dataclass
class Rehearsal:
    """A scratch copy of an export with a draft mapping written in, a key and a path for OUT."""

    raw: Path
    out: Path
    key_file: Path

    def _named(self, text: str) -> str:
        for path, name in ((self.key_file, "KEY"), (self.out, "OUT"), (self.raw, "RAW")):
            text = text.replace(str(path), name)
        return text

    def account(self, report) -> str:
        """The account of ``outcomes anonymise`` (an
        :class:`~outcomes.privacy.export.AnonymiseReport`) with the scratch folders named RAW,
        OUT and KEY; of its k-anonymity part only the verdict (its groups are for the clinic's
        own eyes)."""
        text = self._named(report.to_text())
        head, _, tail = text.partition("\nk-anonymity")
        verdict = next((line.strip() for line in tail.splitlines() if "verdict:" in line), "")
        return head.rstrip() + ("\nk-anonymity " + verdict if verdict else "")

    def check(self, max_rejects: int = 20) -> str:
        """``outcomes check OUT``, with OUT so named."""
        records = load_records(self.out)
        return self._named(check_text(records, summary(records), max_rejects))


#: a fixed key for the rehearsal in notebook 00 (the same pseudonyms every run); a clinic's own
#: key is made by ``outcomes anonymise --key-file`` from 32 random bytes
_REHEARSAL_KEY = b"notebook-00-rehearsal-key-not-for-real-records"


def rehearse(export: str | Path, draft: Draft | None = None) -> Rehearsal:
    """Copy ``export`` to a new scratch folder, write ``draft`` (or a fresh one) into its
    ``dataset.toml``, and put a fixed demo key beside it: the export itself is not touched."""
    scratch = Path(tempfile.mkdtemp(prefix="outcomes-rehearsal-"))
    raw = scratch / "export"
    shutil.copytree(export, raw)
    draft = draft_sources(raw) if draft is None else Draft(raw, draft.text, draft.questions,
                                                           draft.checks)
    draft.write()
    key = scratch / "demo.key"
    key.write_bytes(_REHEARSAL_KEY)
    key.chmod(0o600)
    return Rehearsal(raw, scratch / "records", key)
