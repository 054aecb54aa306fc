"""The ``outcomes`` command line (DESIGN §3).

Exit status: 0 success, 1 a problem with the records (:class:`RecordsError`, message on stderr, no
traceback), 2 bad usage (argparse). Each sub-command's work lives in its topical module as
``run_<command>(args) -> int``; this file only parses arguments and dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import RecordsError

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
    anon.add_argument("--drop-quasi", action="append", default=[], metavar="COL",
                      help="leave this quasi-identifier out of the k-anonymity check")

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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(f"outcomes.{_HANDLERS[args.command]}")
    handler = getattr(module, f"run_{args.command}")
    try:
        return int(handler(args) or 0)
    except RecordsError as exc:
        print(f"outcomes {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
