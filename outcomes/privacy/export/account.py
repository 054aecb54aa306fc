"""What :func:`~outcomes.privacy.export.anonymise` did: :class:`AnonymiseReport` and its account.

The report lists what was read, renamed, dropped, shifted and written, and gives the k-anonymity
verdict on OUT as written, with the options that would reach *k* and what each would cost the
analyses (:mod:`outcomes.privacy.disclosure`); :meth:`AnonymiseReport.to_text` is what
``outcomes anonymise`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...escape import terminal
from ..disclosure import k_anonymity_summary
from .keys import MAX_SHIFT_DAYS

__all__ = ["AnonymiseReport"]


@dataclass
class AnonymiseReport:
    """What :func:`anonymise` did.

    Attributes
    ----------
    tables : DataFrame
        ``table``, ``source`` (file, or ``workbook.xlsx[sheet]``), ``output``, ``rows_in``,
        ``rows_out`` (always equal: no row is dropped).
    dropped : DataFrame
        ``table``, ``column``, ``reason`` — one row per dropped column.
    renamed : DataFrame
        ``table``, ``column``, ``to``, ``how`` — pseudonymised ids, date of birth → age, headers
        written in the schema's spelling.
    shifted : DataFrame
        ``table``, ``column``, ``rows_shifted``, ``rows_blanked`` (dates that could not be read as
        ``YYYY-MM-DD`` are blanked rather than left unshifted). Empty without ``shift_dates``.
    k_anonymity : DataFrame
        The equivalence classes of the anonymised patients (see :func:`k_anonymity`).
    coarsening : DataFrame
        :func:`coarsening_options` when some class is smaller than *k*, else empty.
    as_written : DataFrame
        :func:`k_anonymity` of OUT as written: the verdict (:attr:`meets_k`) is about it.
    """

    raw: Path
    out: Path
    key_file: Path
    key_created: bool
    tables: pd.DataFrame
    dropped: pd.DataFrame
    renamed: pd.DataFrame
    shifted: pd.DataFrame
    n_patients: int
    n_clinicians: int
    k: int
    age_band: int
    quasi_identifiers: tuple[str, ...]
    k_anonymity: pd.DataFrame
    coarsening: pd.DataFrame
    copied: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: :func:`k_anonymity` of OUT as written (ages in whole years unless ``write_age_band``)
    as_written: pd.DataFrame = field(default_factory=pd.DataFrame)
    write_age_band: bool = False
    #: a ``[sources]`` mapping (:mod:`outcomes.records.sources`): how the export was read (lines
    #: of the account), and the rows of its files set aside (``table, file, column, reason,
    #: value, rows``); empty for an export in the records' own form
    mapping: list[str] = field(default_factory=list)
    set_aside: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _aside(self, source: str) -> str:
        """' (and N set aside by the mapping)' after a file a [sources] mapping read."""
        if self.set_aside.empty or source not in set(self.set_aside["file"]):
            return ""
        n = int(self.set_aside.loc[self.set_aside["file"] == source, "rows"].sum())
        return f" (and {n} set aside by the mapping)"

    @property
    def meets_k(self) -> bool | None:
        """Whether OUT, as written, is k-anonymous over the quasi-identifiers (None: nothing to
        check)."""
        if not self.as_written.attrs.get("quasi_identifiers"):
            return None
        return not bool(self.as_written["below_k"].any())

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per table."""
        return dict(zip(self.tables["table"], self.tables["rows_out"].astype(int)))

    def to_text(self) -> str:
        """The plain-text account printed by ``outcomes anonymise``."""
        lines = [f"Anonymised {self.raw} -> {self.out}",
                 f"key:     {self.key_file} ("
                 + ("created now, permission 600; keep it safe and out of the repository"
                    if self.key_created else "existing key") + ")",
                 "read:    " + ", ".join(f"{r.source} {r.rows_in} rows" + self._aside(r.source)
                                         for r in self.tables.itertuples())]
        lines += self.mapping  # how a [sources] mapping read the export, what it set aside
        lines += _block("renamed:", [f"{r.table}.{r.column}: {r.how}" if r.column == r.to
                                     else f"{r.table}.{r.column} -> {r.to} ({r.how})"
                                     for r in self.renamed.itertuples()])
        lines += _block("dropped:", [f"{r.table}.{r.column} ({r.reason})"
                                     for r in self.dropped.itertuples()] or ["nothing"])
        if self.shifted.empty:
            lines.append("shifted: no dates (use --shift-dates to shift each patient's dates)")
        else:
            lines += _block("shifted:", [
                f"{r.table}.{r.column}: {r.rows_shifted} dates"
                + (f", {r.rows_blanked} unreadable dates blanked" if r.rows_blanked else "")
                for r in self.shifted.itertuples()])
            lines.append(f"         each patient back by one keyed offset of 1..{MAX_SHIFT_DAYS} "
                         "days, the same in every table, so every interval within a patient is "
                         "kept and no date moves into the future (nor before 1990)")
        if self.copied:
            lines.append("copied:  " + ", ".join(self.copied))
        if self.ignored:
            lines += _block("ignored:", [f"{f} (not a records table; not copied)"
                                         for f in self.ignored])
        kept = ("" if not (self.tables["rows_in"] == self.tables["rows_out"]).all()
                else " (every row kept)" if self.set_aside.empty
                else " (every row the mapping passed on kept)")
        lines.append("wrote:   " + ", ".join(f"{r.output} {r.rows_out} rows"
                                             for r in self.tables.itertuples()) + kept)
        lines += _block("note:", self.notes)
        lines += ["", *_k_text(self).split("\n")]
        # column and file names come from the export: escaped line by line for the terminal
        return "\n".join(terminal(line) for line in lines)


def _block(title: str, items: list[str]) -> list[str]:
    return [f"{title if i == 0 else '':<9}{item}" for i, item in enumerate(items)]


def _k_text(report: AnonymiseReport) -> str:
    classes = report.k_anonymity
    used = classes.attrs.get("quasi_identifiers", ())
    if not used:
        return ("k-anonymity: no quasi-identifier (" + ", ".join(report.quasi_identifiers)
                + ") in the patients table; nothing to check.")
    band = f"age in {report.age_band}-year bands"
    names = [band if q == "age_band" else q for q in used]
    lines = [f"k-anonymity over {', '.join(names)} with k={report.k}:", "  " + _verdict(report)]
    s = k_anonymity_summary(classes, k=report.k)
    if "age_band" in used and not report.write_age_band:
        lines.append(f"  with {band} (what --write-age-band would write): {s['patients']} "
                     f"patients in {s['groups']} groups; smallest group {s['smallest']}")
    if report.meets_k and not s["groups_below_k"]:
        return "\n".join(lines)
    shown_classes = report.as_written if not report.meets_k else classes
    below = shown_classes[shown_classes["below_k"]].drop(columns="below_k")
    if len(below):
        lines.append(f"  the smallest groups (of {len(below)} below k, as written):")
        lines += ["    " + line for line in below.head(10).to_string(index=False).splitlines()]
        if len(below) > 10:
            lines.append(f"    ... and {len(below) - 10} more")
    if not report.coarsening.empty:
        lines.append("  options (what each change would give; adjustment_lost: a variable the "
                     "analyses adjust for that the change removes):")
        opts = report.coarsening.drop(columns=["quasi_identifiers"]).to_string(index=False)
        lines += ["    " + line for line in opts.splitlines()]
        lines.append("  suggestion: " + _suggestion(report))
    return "\n".join(lines)


def _verdict(report: AnonymiseReport) -> str:
    s = k_anonymity_summary(report.as_written, k=report.k)
    written = ("age written in whole years" if "age_band" in report.as_written.attrs.get(
        "quasi_identifiers", ()) and not report.write_age_band else "as written")
    if report.meets_k:
        return (f"verdict: OUT meets k={report.k} ({written}): each of its {s['groups']} "
                f"groups holds at least {report.k} patients (the smallest {s['smallest']}).")
    return (f"verdict: OUT does NOT meet k={report.k} ({written}): {s['groups_below_k']} of "
            f"{s['groups']} groups hold fewer than {report.k} patients ({s['patients_below_k']} "
            f"of {s['patients']} patients); the smallest holds {s['smallest']}.")


def _suggestion(report: AnonymiseReport) -> str:
    k, options = report.k, report.coarsening
    write = "" if report.write_age_band else " --write-age-band"
    as_is = options[options["option"] == "as is"]
    if not report.write_age_band and len(as_is) and as_is["patients_below_k"].iloc[0] == 0:
        return (f"--write-age-band: writes each age as the midpoint of its {report.age_band}-year"
                f" band, so that OUT itself meets k={k}; every variable the analyses adjust for "
                "is kept.")
    changes = options[options["option"] != "as is"]
    reach = changes[changes["patients_below_k"] == 0]
    keeps = reach[reach["adjustment_lost"] == ""]
    tail = (" Otherwise share OUT only with the analysts, and outside it show only tables with "
            "small cells suppressed.")
    if not keeps.empty:
        return (f"{_with_write(keeps.iloc[0], write)}: reaches k={k} and keeps every variable the analyses adjust "
                "for (ages written as band midpoints).")
    if not reach.empty:
        r = reach.iloc[0]
        lost = r["adjustment_lost"]
        return (f"only leaving a variable out reaches k={k}: {_with_write(r, write)} (the "
                f"analyses then no longer adjust for {lost}, and "
                f"{'their' if ',' in lost else 'its'} confounding goes uncorrected)." + tail)
    best = changes.sort_values(["patients_below_k", "groups_below_k"]).iloc[0]
    return (f"nothing tried reaches k={k}; the best is {_with_write(best, write)} "
            f"({best['patients_below_k']} patients still in groups below k)." + tail)


def _with_write(option, write: str) -> str:
    """The option's command-line change, with --write-age-band when it keeps the age."""
    keeps_age = "age" not in option["adjustment_lost"].split(", ")
    return option["option"] + (write if keeps_age else "")
