"""The ``leakaudit`` command: parse arguments, call the pipeline, map outcomes to exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path

from leakaudit.generate import generate
from leakaudit.io import InputError, load_mapping
from leakaudit.pipeline import (
    DEFAULT_OUT,
    OutputError,
    counted,
    crowded_warning,
    paid_amounts_warning,
    rejects_warning,
    repeats_warning,
    reused_warning,
    run_audit,
    shared_key_warning,
)
from leakaudit.refdata import DATASETS, import_file, load_refdata, releases, shipped_store, user_store
from leakaudit.refdata.releases import BY_DATE_OF_SERVICE, dates_in_effect
from leakaudit.report import ReportOptions, logo_data_uri, rows_of_a_bad_value
from leakaudit.rules import get_rules


class ExitCode(IntEnum):
    """Exit statuses of the command."""

    OK = 0
    INPUT_ERROR = 2
    OUTPUT_ERROR = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leakaudit", description="Find revenue leakage in medical claim lines.")
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser("audit", help="audit claim-line files and write findings and a report")
    audit.add_argument("paths", nargs="+", metavar="PATH", help="CSV or Parquet file, directory of them, or glob")
    audit.add_argument("--out", default=str(DEFAULT_OUT), metavar="DIR", help="output directory (%(default)s)")
    audit.add_argument("--map", dest="mapping", metavar="MAPPING.toml", help="rename export columns to canonical")
    audit.add_argument("--state", help="two-letter state for DMEPOS fees (default: national median)")
    audit.add_argument(
        "--refdata-dir",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="extra reference-data store (besides the shipped snapshot and the user store)",
    )
    audit.add_argument(
        "--cpt-codes",
        metavar="FILE",
        type=Path,
        help="licensed CPT code list (CSV: code[, effective_date, termination_date])",
    )
    audit.add_argument(
        "--orthotics",
        metavar="FILE",
        type=Path,
        help="TOML extending the orthosis keywords and body-region map (see docs/refdata.md)",
    )
    audit.add_argument(
        "--filing-limits",
        metavar="FILE",
        type=Path,
        help="TOML overriding timely-filing days by payer type or payer id (see docs/report.md)",
    )
    audit.add_argument(
        "--findings-only", action="store_true", help="write findings, rejects and summary only (no report, no xlsx)"
    )
    report = audit.add_argument_group("report")
    report.add_argument("--title", default="Revenue leakage audit", help="report title")
    report.add_argument("--client", help="client the report is prepared for")
    report.add_argument("--logo", type=Path, metavar="FILE", help="logo image (png, jpg, gif, svg), embedded")
    report.add_argument("--templates", type=Path, metavar="DIR", help="directory of templates overriding the defaults")
    report.add_argument("--compare", type=Path, metavar="PREVIOUS_OUT_DIR", help="a previous run's output directory")
    report.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD", help="judge timely filing on this date (today)")
    report.add_argument(
        "--show-patient-ids", action="store_true", help="show patient ids in the report (masked by default)"
    )
    commands.add_parser("rules", help="list the rules and what each one finds")
    generator = commands.add_parser("generate", help="write synthetic claim lines with planted leakage")
    generator.add_argument("--lines", type=_at_least(1), required=True, help="about how many claim lines")
    generator.add_argument("--seed", type=_at_least(0), default=1, help="random seed (same seed, same data)")
    generator.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    generator.add_argument("--format", choices=["parquet", "csv"], default="parquet")

    refdata = commands.add_parser("refdata", help="import or list CMS reference data releases")
    refdata_commands = refdata.add_subparsers(dest="refdata_command", required=True)
    importer = refdata_commands.add_parser("import", help="import an official CMS file as a release")
    which = importer.add_mutually_exclusive_group(required=True)
    for name, dataset in DATASETS.items():
        which.add_argument(f"--{name}", metavar="FILE", type=Path, help=dataset.title)
    importer.add_argument("--release", help="release label YYYY-MM, when the file does not say")
    importer.add_argument("--store", type=Path, default=None, help="store to write to (default: the user store)")
    show = refdata_commands.add_parser("show", help="list the loaded releases and where each came from")
    show.add_argument("--store", type=Path, action="append", default=[], help="also list this store")
    return parser


def _interactive() -> bool:
    """Show progress only to a person at a terminal: not in CI, not into a pipe or a file."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _at_least(least: int) -> Callable[[str], int]:
    """An argument type: a whole number of at least ``least``."""

    def whole(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = least - 1
        if number < least:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least {least}")
        return number

    return whole


def _refdata(args: argparse.Namespace) -> int:
    if args.refdata_command == "import":
        store = args.store or user_store()
        dataset = next(name for name in DATASETS if getattr(args, name) is not None)
        info = import_file(dataset, getattr(args, dataset), store, args.release)
        print(f"Imported {info.dataset} release {info.release}: {info.rows} rows from {info.source_file}")
        print(f"  sha256 {info.source_sha256}")
        print(f"  stored in {info.path}")
        return ExitCode.OK
    stores = [shipped_store(), user_store(), *args.store]
    found = releases(s for s in stores if s.is_dir())
    print(f"{'dataset':10} {'release':8} {'rows':>8}  {'dates of service':24}  source file (sha256)  [store]")
    for info in found:
        where = "shipped" if info.path.is_relative_to(shipped_store()) else str(info.path.parent.parent)
        source = f"{info.source_file} ({info.source_sha256[:12]})"
        labels = [r.release for r in found if r.dataset == info.dataset]
        dates = dates_in_effect(info.release, labels) if info.dataset in BY_DATE_OF_SERVICE else "newest per code"
        print(f"{info.dataset:10} {info.release:8} {info.rows:>8}  {dates:24}  {source}  [{where}]")
    print("hcpcs      plus the shipped supplement of later changes (hcpcs_supplement.csv)")
    return ExitCode.OK


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
        if args.command == "refdata":
            return _refdata(args)
        if args.command == "generate":
            made = generate(args.lines, args.seed, args.out, args.format)
            print(f"Wrote {made.lines} lines ({made.encounters} encounters) in {made.claims_dir}")
            print(f"Planted {made.planted} findings: {made.truth}")
            return ExitCode.OK
        if args.state is not None and not (len(args.state) == 2 and args.state.isalpha()):
            raise InputError(f"--state {args.state!r}: give a two-letter state code such as TX")
        refdata = load_refdata(
            args.refdata_dir, cpt_codes=args.cpt_codes, orthotics=args.orthotics, filing_limits=args.filing_limits
        )
        options = ReportOptions(
            title=args.title,
            client=args.client,
            logo_data_uri=logo_data_uri(args.logo) if args.logo else None,
            as_of=args.as_of or dt.date.today(),
            show_patient_ids=args.show_patient_ids,
        )
        result = run_audit(
            args.paths,
            args.out,
            load_mapping(args.mapping),
            refdata=refdata,
            state=args.state,
            options=options,
            compare=args.compare,
            templates_dir=args.templates,
            findings_only=args.findings_only,
            progress=_interactive(),
        )
    except InputError as err:
        print(f"leakaudit: error: {err}", file=sys.stderr)
        return ExitCode.INPUT_ERROR
    except OutputError as err:
        print(f"leakaudit: error: {err}", file=sys.stderr)
        return ExitCode.OUTPUT_ERROR
    summary = result.summary
    repeats = sum(each["repeated"] for each in summary["inputs"])
    rejected = f"{summary['rows_rejected']:,} rejected"
    reused, shared = summary["claim_numbers_reused"]["rows"], summary["lines_sharing_a_key"]["rows"]
    if repeats:
        kinds = [f"{repeats - reused - shared:,} repeating a claim line"]
        kinds += [f"{reused:,} another claim's number"] if reused else []
        kinds += [f"{shared:,} another line's key"] if shared else []
        rejected += f" ({rows_of_a_bad_value(summary):,} with a bad value, {', '.join(kinds)})"
    print(f"Read {counted(summary['rows_read'], 'row')}: {summary['rows_audited']:,} audited, {rejected}.")
    reversals = summary["reversals"]
    if reversals["credit_lines"]:
        print(
            f"Set aside before the rules: {counted(reversals['credit_lines'], 'credit line')} "
            f"(negative units or charges) and {counted(reversals['charges_reversed'], 'charge')} they reverse"
            + (
                f"; {counted(reversals['charges_reduced'], 'charge')} partly credited, audited with the units left."
                if reversals["charges_reduced"]
                else "."
            )
        )
    if summary["lines_without_patient"]:
        print(
            f"{counted(summary['lines_without_patient'], 'line')} without a patient (none given, or a placeholder "
            "such as 000000 or UNKNOWN): each is taken as its claim's own visit."
        )
    warnings = (
        rejects_warning(result),
        repeats_warning(result),
        reused_warning(result),
        shared_key_warning(result),
        crowded_warning(result),
        paid_amounts_warning(result),
    )
    for warning in warnings:
        if warning:
            print(f"leakaudit: warning: {warning}", file=sys.stderr)
    print(f"{counted(summary['findings'], 'finding')}, estimated lost revenue ${summary['estimated_total']:,.2f}.")
    beside = summary["findings_with_rejected_rows"]
    if beside["findings"]:
        print(
            f"{beside['findings']:,} of them (${beside['estimated_total']:,.2f} of the lost revenue) are on a claim or "
            "visit with a rejected row, which each names: correct those rows (rejects.csv) and audit again."
        )
    written = "findings.csv, findings.parquet, rejects.csv, repeats.csv, summary.json"
    if not args.findings_only:
        written = "report.html, findings.xlsx, " + written
    print(f"Wrote in {result.out_dir}: {written}")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
