"""The ``leakaudit`` command: parse arguments, call the pipeline, map outcomes to exit codes."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from enum import IntEnum

from leakaudit.io import InputError, load_mapping
from leakaudit.pipeline import DEFAULT_OUT, run_audit
from leakaudit.rules import get_rules


class ExitCode(IntEnum):
    """Exit statuses of the command."""

    OK = 0
    INPUT_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leakaudit", description="Find revenue leakage in medical claim lines.")
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser("audit", help="audit claim-line files and write findings and a report")
    audit.add_argument("paths", nargs="+", metavar="PATH", help="CSV or Parquet file, directory of them, or glob")
    audit.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR", help="output directory (%(default)s)")
    audit.add_argument("--map", dest="mapping", metavar="MAPPING.toml", help="rename export columns to canonical")
    commands.add_parser("rules", help="list the rules and what each one finds")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "rules":
        for rule in get_rules():
            print(f"{rule.id}: {rule.title}")
            print(textwrap.indent(textwrap.fill(rule.summary(), 88), "    "))
            print(textwrap.indent(textwrap.fill("Why it leaks: " + rule.section("Why it leaks:"), 88), "    "))
            print(textwrap.indent(textwrap.fill("Estimate: " + rule.section("How the loss is estimated:"), 88), "    "))
            print()
        return ExitCode.OK
    try:
        result = run_audit(args.paths, args.out, load_mapping(args.mapping))
    except InputError as err:
        print(f"leakaudit: error: {err}", file=sys.stderr)
        return ExitCode.INPUT_ERROR
    summary = result.summary
    print(f"Read {summary['rows_read']} rows: {summary['rows_audited']} audited, {summary['rows_rejected']} rejected.")
    print(f"{summary['findings']} findings, estimated lost revenue ${summary['estimated_total']:,.2f}.")
    print(f"Wrote {result.out_dir}/report.html, findings.csv, findings.parquet, rejects.csv, summary.json")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
