"""The ``outcomes`` command line (DESIGN §3).

Exit status: 0 success, 1 a problem with the records (:class:`RecordsError`, message on stderr, no
traceback), 2 bad usage (argparse), 141 when the reader of the output went away
(``outcomes effects DIR | head``: no traceback, like a program ended by SIGPIPE). Each
sub-command's work lives in its topical module as ``run_<command>(args) -> int``; this file only
parses arguments and dispatches.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from .errors import RecordsError
from .escape import terminal

__all__ = ["build_parser", "main"]

# sub-command → module holding run_<command>(args)
_HANDLERS = {
    "demo": "synthetic",
    "check": "records",
    "effects": "models",
    "anonymise": "privacy",
    "report": "report",
    "beliefs": "beliefs",
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
    eff.add_argument("--landmark-days", type=int, default=182)
    eff.add_argument("--window-days", type=int, default=45)
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

    st = sub.add_parser("strategies", help="schedules compared as an emulated target trial")
    st.add_argument("dir", metavar="DIR")
    st.add_argument("--measure", default=None, help="measure (default: pore and texture)")
    st.add_argument("--landmark-days", type=int, default=182)
    st.add_argument("--window-days", type=int, default=45)
    st.add_argument("--reference", default="every_2_months",
                    help="the schedule the others are compared with (default every_2_months)")
    st.add_argument("--strategy", action="append", default=[], metavar="NAME=SPEC",
                    help="add a schedule, e.g. six_weekly=every:42,tolerance:7 or once=single "
                         "(repeatable)")
    st.add_argument("--treatment", action="append", default=None,
                    help="count only these treatments (repeatable), e.g. microneedling")
    st.add_argument("--min-followers", type=int, default=20,
                    help="fewest followers for a schedule to get a number (default 20)")
    st.add_argument("--boot", type=int, default=200, help="bootstrap replicates (default 200)")
    st.add_argument("--seed", type=int, default=1, help="bootstrap seed (default 1)")
    st.add_argument("--details", action="store_true", help="weights and sensitivity tables")
    st.add_argument("--json", action="store_true", help="print a JSON list of result rows")
    st.add_argument("--strict", action="store_true", help="any row problem is an error")

    rep = sub.add_parser("report", help="write the clinic summary report as one HTML file")
    rep.add_argument("dir", metavar="DIR")
    rep.add_argument("-o", "--output", required=True, metavar="FILE.html")
    rep.add_argument("--measure", default="pore")
    rep.add_argument("--landmark-days", type=int, default=182)
    bel = sub.add_parser("beliefs", help="the clinic's beliefs checked on these records")
    bel.add_argument("dir", metavar="DIR")
    bel.add_argument("--measure", default="pore", help="measure (default pore)")
    bel.add_argument("--landmark-days", type=int, default=182)
    bel.add_argument("--window-days", type=int, default=45)
    bel.add_argument("--json", action="store_true", help="print a JSON list of belief rows")
    bel.add_argument("--strict", action="store_true", help="any row problem is an error")
    return parser


def run_strategies(args: argparse.Namespace) -> int:
    """``outcomes strategies DIR ...``: the schedule comparison, in words or as JSON rows."""
    import json
    import math

    from .records import load_records
    from .schedules import compare_strategies, strategy_text
    from .strategies import parse_strategy, read_strategies

    records = load_records(args.dir, strict=args.strict)
    strategies = read_strategies(None if records.source is None
                                 else records.source / "dataset.toml")
    for text in args.strategy:
        s = parse_strategy(text)
        strategies[s.name] = s
    if args.measure is None:
        measures = [m for m in ("pore", "texture") if m in records.assessments
                    and m in records.measures] or sorted(
            m for m in records.measures if m in records.assessments)
    else:
        measures = [args.measure]
    rows, texts = [], []
    for measure in measures:
        comparison = compare_strategies(
            records, measure=measure, landmark_days=args.landmark_days,
            window_days=args.window_days, treatments=args.treatment, strategies=strategies,
            reference=args.reference, min_followers=args.min_followers, boot=args.boot,
            seed=args.seed, progress=sys.stderr.isatty() and not args.json)
        rows += comparison.results.to_dict(orient="records")
        texts.append(strategy_text(comparison, measure_label=records.measures[measure].label,
                                   details=args.details))
    if args.json:
        def value(x):
            if isinstance(x, float):
                return None if not math.isfinite(x) else x
            return x.item() if hasattr(x, "item") else x
        print(json.dumps([{k: value(v) for k, v in r.items()} for r in rows], indent=1,
                         ensure_ascii=False))
    else:
        print("\n\n".join(texts))
    return 0


_LOCAL = {"strategies": run_strategies}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in _LOCAL:
        handler = _LOCAL[args.command]
    else:
        module = importlib.import_module(f"outcomes.{_HANDLERS[args.command]}")
        handler = getattr(module, f"run_{args.command}")
    try:
        with _escaped_stdout():
            status = int(handler(args) or 0)
        sys.stdout.flush()  # a reader gone away shows here, not in the interpreter's exit
        return status
    except RecordsError as exc:
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
