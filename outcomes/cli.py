"""The ``outcomes`` command line (docs/methods.md appendix A.1).

Exit status: 0 success, 1 a problem with the records (:class:`RecordsError`, message on stderr, no
traceback), 2 bad usage (argparse), 141 when the reader of the output went away
(``outcomes effects DIR | head``: no traceback, like a program ended by SIGPIPE). Every
sub-command is a ``run_<command>(args) -> int`` here — the only module that knows about argparse —
calling the package's functions and printing what they return.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from . import synthetic
from .errors import RecordsError, SettingError
from .escape import terminal
from .privacy import export as privacy
from .protocols import parse_strategy
from .records import check as records_mod
from .records import load_records
from .records.dataset import read_strategies
from .records.sources.draft import draft_sources
from .records.sources.preview import preview
from .records.sources.spec import has_mapping
from .settings import Settings

__all__ = ["build_parser", "main"]




#: help of the flags that set a setting: what it is, and its default (Settings' own)
_DEFAULT = {
    "landmark_days": f"days from the first session to the outcome (default "
                     f"{Settings().landmark_days})",
    "window_days": f"the outcome rating within ± this many days (default {Settings().window_days})",
    "reference": f"the schedule the others are compared with (default {Settings().reference})",
    "min_followers": f"fewest effective followers for a schedule to get a number (default "
                     f"{Settings().min_followers})",
    "washout_days": f"patients whose first session falls in the records' first this many days "
                    f"are not new patients (default {Settings().washout_days})",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outcomes",
        description="Learn from a clinic's anonymised records whether patients who come more often "
                    "and more regularly get better pore and texture improvements.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="write the synthetic demo records to DIR")
    demo.add_argument("dir", metavar="DIR")
    demo.add_argument("--patients", type=int, default=None, help="number of patients")
    demo.add_argument("--seed", type=int, default=None, help="random seed")
    demo.add_argument("--with-mistakes", action="store_true",
                      help="plant a dozen typical export mistakes (to see what check sets aside)")

    check = sub.add_parser("check", help="load, validate and summarise the records in DIR")
    check.add_argument("dir", metavar="DIR")
    check.add_argument("--strict", action="store_true", help="any row problem is an error")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--max-rejects", type=int, default=20,
                       help="rejected rows to list in the human output (default 20)")

    eff = sub.add_parser("effects", help="naive and adjusted effect of session frequency")
    eff.add_argument("dir", metavar="DIR")
    eff.add_argument("--measure", default=None, help="measure (default: every measure)")
    eff.add_argument("--landmark-days", type=int, default=None, help=_DEFAULT["landmark_days"])
    eff.add_argument("--window-days", type=int, default=None, help=_DEFAULT["window_days"])
    eff.add_argument("--treatment", action="append", default=None,
                     help="count only these treatments (repeatable), e.g. microneedling")
    eff.add_argument("--json", action="store_true", help="print a JSON list of result rows")
    eff.add_argument("--details", action="store_true",
                     help="also print the table of estimates and the technical notes")
    eff.add_argument("--strict", action="store_true", help="any row problem is an error")

    anon = sub.add_parser("anonymise", help="pseudonymise a raw clinic export")
    anon.add_argument("raw", metavar="RAW")
    anon.add_argument("out", metavar="OUT")
    anon.add_argument("--key-file", required=True, metavar="KEY")
    anon.add_argument("--drop", action="append", default=[], metavar="COL",
                      help="also drop this column (repeatable)")
    anon.add_argument("--keep", action="append", default=[], metavar="COL",
                      help="keep this free-text column (repeatable)")
    anon.add_argument("--shift-dates", action="store_true",
                      help="shift each patient's dates by a keyed per-patient offset")
    anon.add_argument("--k", type=int, default=5, help="k for the k-anonymity report (default 5)")
    anon.add_argument("--age-band", type=int, default=10, help="age band width in years")
    anon.add_argument("--write-age-band", action="store_true",
                      help="write each age as the midpoint of its band (OUT then holds the bands)")
    anon.add_argument("--drop-quasi", action="append", default=[], metavar="COL",
                      help="leave this quasi-identifier out of the k-anonymity check")

    src = sub.add_parser("sources", help="draft the [sources] mapping that reads a practice "
                                         "system's export in RAW (or show what its mapping reads)")
    src.add_argument("raw", metavar="RAW")
    src.add_argument("--write", action="store_true",
                     help="add the draft to RAW/dataset.toml (created when missing)")
    src.add_argument("--draft", action="store_true",
                     help="print a new draft even when RAW/dataset.toml has a mapping")
    src.add_argument("--max-problems", type=int, default=20,
                     help="rows with problems to list when showing what a mapping reads")

    st = sub.add_parser("strategies", help="schedules compared as an emulated target trial")
    st.add_argument("dir", metavar="DIR")
    st.add_argument("--measure", default=None, help="measure (default: pore and texture)")
    st.add_argument("--landmark-days", type=int, default=None, help=_DEFAULT["landmark_days"])
    st.add_argument("--window-days", type=int, default=None, help=_DEFAULT["window_days"])
    st.add_argument("--reference", default=None, help=_DEFAULT["reference"])
    st.add_argument("--strategy", action="append", default=[], metavar="NAME=SPEC",
                    help="add a schedule, e.g. six_weekly=every:42,tolerance:7 or once=single "
                         "(repeatable)")
    st.add_argument("--treatment", action="append", default=None,
                    help="the treatment under study, e.g. microneedling (default: [analysis] "
                         "treatment of dataset.toml, else the most frequent)")
    st.add_argument("--washout-days", type=int, default=None, help=_DEFAULT["washout_days"])
    st.add_argument("--interval", default="normal",
                    choices=["percentile", "normal", "bca"],
                    help="bootstrap interval (default normal: estimate ± 1.96 SE)")
    st.add_argument("--min-followers", type=int, default=None, help=_DEFAULT["min_followers"])
    st.add_argument("--boot", type=int, default=200, help="bootstrap replicates (default 200)")
    st.add_argument("--seed", type=int, default=1, help="bootstrap seed (default 1)")
    st.add_argument("--details", action="store_true", help="weights and sensitivity tables")
    st.add_argument("--json", action="store_true", help="print a JSON list of result rows")
    st.add_argument("--strict", action="store_true", help="any row problem is an error")

    rep = sub.add_parser("report", help="write the clinic summary report as one HTML file")
    rep.add_argument("dir", metavar="DIR")
    rep.add_argument("-o", "--output", required=True, metavar="FILE.html")
    rep.add_argument("--measure", action="append", default=None,
                     help="measure to cover (repeatable; default pore and texture)")
    rep.add_argument("--landmark-days", type=int, default=None, help=_DEFAULT["landmark_days"])
    rep.add_argument("--boot", type=int, default=200,
                     help="bootstrap replicates of the schedule comparison (default 200)")
    bel = sub.add_parser("beliefs", help="the clinic's beliefs checked on these records")
    bel.add_argument("dir", metavar="DIR")
    bel.add_argument("--measure", default=Settings().measure,
                     help=f"measure (default {Settings().measure})")
    bel.add_argument("--landmark-days", type=int, default=None, help=_DEFAULT["landmark_days"])
    bel.add_argument("--window-days", type=int, default=None, help=_DEFAULT["window_days"])
    bel.add_argument("--boot", type=int, default=200,
                     help="bootstrap replicates of the schedule comparison (default 200)")
    bel.add_argument("--json", action="store_true", help="print a JSON list of belief rows")
    bel.add_argument("--strict", action="store_true", help="any row problem is an error")
    return parser


def _settings(args: argparse.Namespace, measure: str) -> Settings:
    """The question the command line asks: one :class:`Settings` from the flags a command has
    (the defaults are Settings' own)."""
    given = {"measure": measure}
    for flag, name in (("landmark_days", "landmark_days"), ("window_days", "window_days"),
                       ("treatment", "treatments"), ("reference", "reference"),
                       ("min_followers", "min_followers"), ("washout_days", "washout_days")):
        value = getattr(args, flag, None)
        if value is not None:
            given[name] = value
    if getattr(args, "command", None) == "strategies" and getattr(args, "treatment", None):
        if len(args.treatment) > 1:
            raise SettingError("The schedule comparison studies one treatment: give --treatment "
                               f"once, but {args.treatment!r} was passed.")
        given["treatment"] = args.treatment[0]
    strategies = getattr(args, "strategy", None)
    if strategies:
        records = args.records
        base = read_strategies(None if records.source is None
                               else records.source / "dataset.toml")
        for text in strategies:
            s = parse_strategy(text)
            base[s.name] = s
        given["strategies"] = tuple(base.values())
    return Settings(**given)


def _analyses(args: argparse.Namespace, measures, *, every: bool = False) -> list:
    """One :class:`~outcomes.analysis.Analysis` per measure asked for (default: pore and
    texture; ``every``: every measure the records have)."""
    # imported here: the models (statsmodels) take seconds to import, which `outcomes --help`,
    # `demo` and `check` need not wait for
    from .analysis import Analysis, measures_of

    args.records = load_records(args.dir, strict=bool(getattr(args, "strict", False)))
    if measures is None and every:
        measures = [m for m in args.records.measures if m in args.records.assessments]
    return [Analysis(args.records, _settings(args, m))
            for m in measures_of(args.records, measures)]


def run_strategies(args: argparse.Namespace) -> int:
    """``outcomes strategies DIR ...``: the schedule comparison, in words or as JSON rows."""
    results = [a.schedules(boot=args.boot, seed=args.seed, interval=args.interval,
                           progress=sys.stderr.isatty() and not args.json)
               for a in _analyses(args, args.measure)]
    if args.json:
        print(json.dumps([row for r in results for row in r.to_json()], indent=1,
                         ensure_ascii=False))
    else:
        print("\n\n".join(r.summary(details=args.details) for r in results))
    return 0


def run_demo(args) -> int:
    """``outcomes demo DIR [--patients N] [--seed S]``: write the synthetic demo records."""
    n = synthetic.DEMO_PATIENTS if getattr(args, "patients", None) is None else args.patients
    seed = synthetic.DEMO_SEED if getattr(args, "seed", None) is None else args.seed
    if n < 1:
        raise RecordsError(f"The value for `--patients` must be a positive integer, but {n!r} "
                           "was passed.")
    sim = synthetic.simulate(n, seed=seed)
    if getattr(args, "with_mistakes", False):
        planted = synthetic.write_with_mistakes(args.dir, sim)
        print(f"planted {len(planted)} mistakes (see outcomes.synthetic.MISTAKES); "
              "`outcomes check` sets each aside")
    path = sim.write(args.dir) if not getattr(args, "with_mistakes", False) else Path(args.dir)
    print(f"wrote synthetic records of {n} patients ({len(sim.sessions)} sessions, "
          f"{len(sim.assessments)} assessments, seed {seed}) to {path}")
    return 0


def run_check(args) -> int:
    """``outcomes check DIR [--strict] [--json] [--max-rejects N]``: load, validate, summarise.

    Returns 0 when the records load (quarantined rows or not); a :class:`RecordsError` propagates
    to the command line, which prints it and exits with 1.
    """
    records = load_records(args.dir, strict=bool(getattr(args, "strict", False)))
    info = records_mod.summary(records)
    if getattr(args, "json", False):
        # ASCII JSON: control and bidi characters from the cells are \u escapes, not raw bytes
        # that a terminal showing the output would act on
        print(json.dumps({**info, "rejects": records_mod.reject_objects(records.rejects)}, ensure_ascii=True))
    else:
        print(records_mod.check_text(records, info, max(0, int(getattr(args, "max_rejects", 20) or 0))))
    return 0


def run_effects(args: argparse.Namespace) -> int:
    """``outcomes effects DIR [--measure M] [--landmark-days L] [--window-days W]
    [--treatment T ...] [--json] [--details] [--strict]``.

    The default output is in plain words, one sentence per result; ``--details`` adds the table
    of estimates and the technical notes. ``--json`` prints the result rows as a list of objects
    with the keys of :data:`outcomes.estimate.effects.RESULT_COLUMNS` (and ``scale`` for the ordinal row); its ``model`` and
    ``term`` names are a stable contract:

    ======================  ===================  =============================================
    model                   term                 meaning
    ======================  ===================  =============================================
    naive                   sessions_per_month   raw comparison, per +1 session a month
    adjusted                sessions_per_month   the main answer (baseline and covariates held)
    adjusted                baseline             per grade/point worse at baseline
    adjusted+consistency    sessions_per_month   frequency beside a consistency metric
    adjusted+consistency    adherence (or the    the consistency metric, per the unit of
                            ``--consistency``)   :data:`outcomes.estimate.effects.CONSISTENCY_METRICS`
    mixed                   sessions_within      per extra session within a patient
    mixed                   sessions_between     per extra session between patients
    mixed                   months               per month since the first session
    ipw                     regular              regular attenders vs not (weighted)
    ipw                     monthly_start        two sessions in the first 45 days vs not
    ordinal                 sessions_per_month   odds ratio of a better landmark grade per +1
                                                 session a month (``scale = "odds ratio"``)
    ======================  ===================  =============================================

    A model that could not be estimated has a row with ``estimate`` null and the reason in
    ``note``.
    """
    # imported here: the sentences import the models (statsmodels), see _analyses
    from .present.effects import effects_text

    analyses = _analyses(args, args.measure, every=True)
    results = [a.effects() for a in analyses]
    if args.json:
        print(json.dumps([row for r in results for row in r.to_json()], indent=1,
                         ensure_ascii=False))
        return 0
    print(effects_text([(r.measure, r.analysis_table, r.table) for r in results],
                       landmark_days=analyses[0].settings.landmark_days,
                       quarantined=args.records.n_quarantined,
                       details=bool(getattr(args, "details", False))))
    return 0


def run_beliefs(args: argparse.Namespace) -> int:
    """``outcomes beliefs DIR [--measure pore] [--landmark-days L] [--window-days W] [--json]
    [--strict]``. In ``--json`` a count ``n`` from 1 to 4 is printed as null (small counts are
    never shown)."""
    analysis = _analyses(args, [args.measure])[0]
    result = analysis.beliefs(boot=args.boot, progress=sys.stderr.isatty() and not args.json)
    if args.json:
        print(json.dumps(result.to_json(), indent=1, ensure_ascii=False))
        return 0
    print(result.summary())
    return 0


def run_anonymise(args) -> int:
    """``outcomes anonymise RAW OUT --key-file KEY [...]``: anonymise and print the account."""
    report = privacy.anonymise(args.raw, args.out, key_file=args.key_file, drop=args.drop,
                       keep=args.keep, shift_dates=args.shift_dates, k=args.k,
                       age_band=args.age_band, drop_quasi=args.drop_quasi,
                       write_age_band=bool(getattr(args, "write_age_band", False)))
    print(report.to_text())
    return 0


def run_sources(args) -> int:
    """``outcomes sources RAW [--write] [--draft]`` (docs/methods.md §1.14): without a mapping
    in RAW/dataset.toml, print the drafted ``[sources]`` block (``--write`` adds it to the file);
    with one, print what it reads: rows per table, set aside, quarantined, columns."""
    folder = Path(args.raw)
    if has_mapping(folder) and not args.draft:
        if args.write:
            raise RecordsError(f"{folder / 'dataset.toml'} already has a [sources] mapping; "
                               "edit it there, or delete it to draft a new one.")
        print(preview(folder).to_text(max(0, args.max_problems)))
        print(f"next: outcomes anonymise {folder} OUT --key-file KEY  (then outcomes check OUT)")
        return 0
    draft = draft_sources(folder)
    print(draft.text, end="")
    if not args.write:
        print(f"# to use it: outcomes sources {folder} --write, check the comments in "
              f"{folder / 'dataset.toml'}, and run outcomes sources {folder} to see what it "
              "reads")
        return 0
    path = draft.write()
    print(f"# added to {path}")
    if draft.questions:
        print(f"# {draft.questions} question(s) marked FIX to answer there before it can be "
              "read")
        return 0
    print()
    print(preview(folder).to_text(max(0, args.max_problems)))
    return 0


def run_report(args) -> int:
    """``outcomes report DIR -o FILE.html [--measure M ...] [--landmark-days N] [--boot B]``."""
    # imported here: papermill and nbconvert take seconds to import, which the other commands
    # (and `outcomes --help`) need not wait for
    from .views import report

    settings = _settings(args, Settings().measure)  # each of --measure replaces the measure
    path = report.build_report(args.dir, args.output, settings, measures=args.measure,
                               boot=args.boot)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)", file=sys.stdout)
    return 0


_HANDLERS = {"demo": run_demo, "check": run_check, "effects": run_effects,
             "strategies": run_strategies, "beliefs": run_beliefs, "anonymise": run_anonymise,
             "report": run_report, "sources": run_sources}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler = _HANDLERS[args.command]
    try:
        with _escaped_stdout():
            status = int(handler(args) or 0)
        sys.stdout.flush()  # a reader gone away shows here, not in the interpreter's exit
        return status
    except (RecordsError, SettingError) as exc:
        print(terminal(f"outcomes {args.command}: {exc}", keep_newlines=True), file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class _Escaping:
    """sys.stdout for a command's run: whatever it prints reaches the terminal with control
    characters made visible (:func:`outcomes.escape.terminal`; newlines kept), so that no value
    from the records, in any command's output, can move the cursor, recolour or clear the
    screen, or reorder text. Everything else is the wrapped stream's."""

    def __init__(self, inner):
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(terminal(text, keep_newlines=True))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@contextlib.contextmanager
def _escaped_stdout():
    inner = sys.stdout
    sys.stdout = _Escaping(inner)
    try:
        yield
    finally:
        sys.stdout = inner


#: exit status of a process ended by SIGPIPE in a shell (128 + 13), as `yes | head` shows
_SIGPIPE_STATUS = 141


def _broken_pipe() -> int:
    """The reader of our output went away (``outcomes effects DIR | head``): stop quietly.

    Python would print a traceback at exit when flushing stdout fails again, so stdout is pointed
    at /dev/null first (the recipe of the Python documentation, "Note on SIGPIPE").
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (e.g. captured in tests)
        pass
    return _SIGPIPE_STATUS
