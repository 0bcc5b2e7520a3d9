"""The audit job: read → validate → rules → price → findings → outputs and report.

The validated lines are written once to a work Parquet file beside the outputs, so that the rules
scan clean, typed data (and the input CSVs are parsed once) with bounded memory.
"""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from tqdm import tqdm

from leakaudit.engine import ENGINE, collect, work_file
from leakaudit.findings import (
    FINDING_KEY,
    FINDING_SCHEMA,
    compare_findings,
    find_all,
    on_crowded_visits,
    rule_totals,
    with_rejected_rows,
)
from leakaudit.io import (
    ANOTHER_CLAIM,
    ANOTHER_LINE,
    BAD_DATE_REASON,
    CREDIT,
    CROWDED_CLAIMS,
    PAID_VS_CHARGE,
    REDUCED,
    REJECT_COLUMNS,
    REJECT_KEYS,
    REJECTED_ROW_SCHEMA,
    REPEAT_RANGE_SCHEMA,
    REPEAT_REASONS,
    REVERSAL_SCHEMA,
    REVERSED,
    ClaimLines,
    ColumnMapping,
    InputError,
    Repeated,
    RepeatTally,
    audited_rows,
    copy_oversized,
    crowded_patients,
    find_crowded_visits,
    find_long_rows,
    find_repeated,
    find_reversals,
    ordered_rejects,
    oversized,
    paid_amounts,
    paid_doubt,
    paid_vs_charge,
    paid_warning,
    refused_long_rows,
    refused_quotes,
    repeat_ranges,
    rewrite_refused,
    scan_claim_lines,
    set_aside,
    with_credits_taken,
)
from leakaudit.pricing import BASES, paid_to_cms_prices
from leakaudit.refdata import RefData, load_refdata
from leakaudit.report import ReportOptions, build_report_context, render_report, write_workbook
from leakaudit.rules import AUDITED_COLUMNS, AuditContext, get_rules

DEFAULT_OUT = Path("leakaudit-report")


class ReconciliationError(RuntimeError):
    """Rows read differ from rows audited plus rows rejected: a bug, never silently ignored."""


class OutputError(Exception):
    """The output directory cannot be written: not a directory, not writable, or its disk is full.

    The message names the directory, or the file that could not be written (exit status 3).
    """


#: Errors of a full disk or quota, as the OS numbers them (Polars' messages end "(os error N)").
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class AuditResult:
    """What one audit produced: where it wrote, the summary and the findings."""

    out_dir: Path
    summary: dict[str, Any]
    findings: pl.DataFrame

    @property
    def rejects(self) -> pl.DataFrame:
        """The rows with a bad value, read from ``rejects.csv`` (not held by the audit: they may be millions)."""
        return pl.read_csv(self.out_dir / "rejects.csv", schema=_REJECTS_CSV_SCHEMA)

    @property
    def repeats(self) -> pl.DataFrame:
        """The repeated claim lines, as ranges of rows, read from ``repeats.csv``."""
        return pl.read_csv(self.out_dir / "repeats.csv", schema=REPEAT_RANGE_SCHEMA)


def run_audit(
    paths: Sequence[str | Path],
    out_dir: str | Path = DEFAULT_OUT,
    mapping: ColumnMapping | None = None,
    *,
    refdata: RefData | None = None,
    state: str | None = None,
    options: ReportOptions | None = None,
    compare: Path | None = None,
    templates_dir: Path | None = None,
    findings_only: bool = False,
    progress: bool = False,
) -> AuditResult:
    """Audit the claim lines in ``paths`` and write findings, rejects, summary and report to ``out_dir``.

    ``refdata`` defaults to the shipped snapshot plus the user's store; ``state`` selects DMEPOS fees;
    ``options`` brands the report; ``compare`` is a previous run's output directory; ``findings_only``
    skips the report and the workbook; ``progress`` shows the stages on the terminal.
    """
    options = options or ReportOptions()
    mapping = mapping or ColumnMapping()
    previous = _previous_findings(compare) if compare is not None else None
    # The bar is closed when the audit ends, also by an error, so that the error starts a line of its own.
    with (
        tqdm(
            total=3 if findings_only else 4,
            desc="leakaudit",
            unit="stage",
            disable=not progress,
            bar_format="{desc}: {n_fmt}/{total_fmt} stages {bar} {elapsed}{postfix}",
        ) as stages,
        _ticking(stages),
    ):
        # NOTE: shown from here: files read by one scan are counted first (CSV: a pass over them, ~1 s per
        # 10 M lines), which is a while for years of exports.
        stages.set_postfix_str("reading the files' columns and row counts")
        out = Path(out_dir)
        # This run's and the compared run's outputs, kept beside the exports, are no claim lines.
        claim_lines = scan_claim_lines(paths, mapping, skip=[out, *([compare] if compare is not None else [])])
        refdata = refdata or load_refdata()
        if state is not None:
            _check_state(state, refdata)
        rules = get_rules()
        with _work_directory(out) as work:
            stages.set_postfix_str("reading and validating")
            claim_lines = _validate(claim_lines, Path(work), mapping, stages)
            stages.set_postfix_str("reading the rejected rows' values")
            invalid = _invalid_rows(claim_lines, Path(work), mapping)
            stages.set_postfix_str("finding claim lines exported more than once")
            repeated = _find_repeated(_audited_lines(Path(work)), Path(work))
            lines = _without_repeated(_audited_lines(Path(work)), repeated, Path(work))
            profile = lines.select(
                pl.len().alias("rows"),
                pl.col("service_date").min().alias("first"),
                pl.col("service_date").max().alias("last"),
                (pl.col("units") < 0).sum().alias("credits"),
                pl.col("patient_id").null_count().alias("without_patient"),
            ).collect()
            amounts = paid_amounts(_valid_rows(Path(work))) | paid_to_cms_prices(lines, refdata.asp, refdata.dmepos)
            amounts["read_as_cents"] = mapping.amounts_in_cents
            stages.set_postfix_str("looking for visits of more claims than one patient has")
            crowded_claims = mapping.crowded_claims or CROWDED_CLAIMS
            crowded = find_crowded_visits(lines, crowded_claims)
            stages.set_postfix_str("setting aside credit lines and the charges they reverse")
            reversals = find_reversals(lines) if profile["credits"][0] else pl.DataFrame(schema=REVERSAL_SCHEMA)
            lines = _corrected(lines, reversals, Path(work) / _CORRECTED_LINES_FILE)
            stages.update()
            with _writing_work_files(Path(work)):
                findings = find_all(
                    rules,
                    AuditContext(lines=lines, refdata=refdata, state=state),
                    step=lambda doing: stages.set_postfix_str(f"rules and pricing: {doing}"),
                    work=Path(work),
                    not_history=crowded["encounter_id"],
                )
            rejected_rows = pl.scan_parquet(Path(work) / _REJECTS_FILE, glob=False)
            beside = with_rejected_rows(findings, rejected_rows, _audited_lines(Path(work)), rules)
            crowd = on_crowded_visits(beside.findings, crowded, rules)
            findings = crowd.findings
            stages.update()
            rows_audited = int(profile["rows"][0])
            # NOTE: a CSV file read by a scan of its own is counted here, a pass over it (100 M lines: 7 s).
            stages.set_postfix_str("counting the rows read, writing the rows rejected")
            rejected = _account(out, claim_lines, rows_audited, invalid, repeated)

        summary = _summary(rules, findings, rejected, rows_audited, profile)
        summary["findings_with_rejected_rows"] = _noted(beside.marked)
        summary["crowded_visits"] = _crowded_visits(crowded, crowd.marked, crowded_claims)
        summary["paid_amounts"] = amounts | {"looks_like": paid_doubt(amounts)}
        summary["reversals"] = {
            "credit_lines": int((reversals["kind"] == CREDIT).sum()),
            "charges_reversed": int((reversals["kind"] == REVERSED).sum()),
            "charges_reduced": int((reversals["kind"] == REDUCED).sum()),
        }
        summary["reference_data"] = _reference_data(refdata)
        summary["dmepos_state"] = state.upper() if state else "national median"
        if findings_only:
            stages.set_postfix_str("writing findings")
            _write_outputs(out, findings, summary)
            stages.update()
            return AuditResult(out_dir=out, summary=summary, findings=findings)
        stages.set_postfix_str("writing findings and work queue")
        comparison = compare_findings(findings, previous) if previous is not None else None
        limits = refdata.filing_limits
        context = build_report_context(
            summary=summary,
            findings=findings,
            rules=rules,
            options=options,
            price_bases=[b.description for b in BASES.values()],
            comparison=comparison,
            compared_with=str(compare) if compare is not None else None,
            filing_limits=[*limits.by_payer_type.items(), *limits.by_payer.items()],
        )
        summary |= {
            "as_of": context.as_of,
            "recoverable_total": _dollars(context.recoverable_total),
            "older_total": _dollars(context.older_total),
            "compliance_exposure_total": _dollars(context.exposure_total),
        }
        if comparison is not None:
            summary["comparison"] = {"previous": str(compare), "rules": json.loads(comparison.write_json())}
        _write_outputs(out, findings, summary)
        _write(out / "findings.xlsx", lambda path: write_workbook(path, findings, rules, options.as_of))
        stages.update()
        stages.set_postfix_str("report")
        html = render_report(context, templates_dir)
        _write(out / "report.html", lambda path: path.write_text(html, encoding="utf-8"))
        stages.update()
        stages.set_postfix_str("done")
        return AuditResult(out_dir=out, summary=summary, findings=findings)


#: How often a bar shown is drawn again while a stage runs, in seconds, so that its elapsed time moves.
_TICK = 1.0


@contextmanager
def _ticking(bar: tqdm) -> Iterator[None]:
    """Draw ``bar`` again every :data:`_TICK` seconds while the block runs (nothing when it is hidden).

    NOTE: a stage is a Polars plan, which reports no progress of its own: drawn only between stages, the
    bar stood still for the minute that validating 100 M lines takes, as if the audit had hung.
    """
    if bar.disable:
        yield
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(_TICK):
            bar.refresh()

    thread = threading.Thread(target=tick, name=_TICKER, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


#: The name of the thread that draws the bar again.
_TICKER = "leakaudit-progress"


def rejects_warning(result: AuditResult) -> str | None:
    """A warning when one check rejects half the rows or more: more likely the mapping than the data.

    An export that writes dates otherwise than the mapping says (``03/14/2025`` for ``%Y-%m-%d``), or a
    column mapped from the wrong one, has nearly every row rejected; the audit still ends, with few
    findings or none. The warning names the check, the share, a value at fault and what to look at.
    Repeated claim lines are left out: overlapping exports make most rows repeats as they should.
    """
    rows_read = result.summary["rows_read"]
    repeats = set(REPEAT_REASONS.values())
    invalid = [r for r in result.summary["rejects_by_reason"] if r["reason"] not in repeats]
    if not invalid or invalid[0]["count"] * 2 < rows_read:
        return None
    column, reason, count = invalid[0]["column"], invalid[0]["reason"], invalid[0]["count"]
    first = (
        pl.scan_csv(result.out_dir / "rejects.csv", schema=_REJECTS_CSV_SCHEMA)
        .filter((pl.col("column") == column) & (pl.col("reason") == reason))
        .head(1)
        .collect()
        .row(0, named=True)
    )
    example = f", e.g. {first['value']!r}" if first["value"] is not None else ""
    if reason.startswith(BAD_DATE_REASON):
        hint = "If the export writes its dates so, set date_format under [options] in a --map file (docs/mapping.md)"
    elif column == "payer_type":
        hint = "Map the export's payer types (financial classes) under [payer_types] in a --map file (docs/mapping.md)"
    elif column == "line_number":
        # NOTE: many exports key a claim's lines by a charge or transaction id, and number them nowhere.
        hint = (
            "line_number tells a claim's lines apart, as a whole number: an export that does not number them may "
            "map a numeric charge or transaction id of each line (a --map file maps it: docs/mapping.md)"
        )
    else:
        hint = (
            f"Check which export column feeds {column} (a --map file maps it: docs/mapping.md) and the values "
            "it takes (docs/schema.md)"
        )
    return (
        f"{count:,} of {rows_read:,} rows ({count / rows_read:.0%}) rejected for {column}: {reason}{example} "
        f"({first['source_file']} row {first['source_row']}). {hint}."
    )


def repeats_warning(result: AuditResult) -> str | None:
    """A warning when a file lists a claim line more than once: each is audited from its last row only.

    Overlapping exports repeat lines across files, as expected. Within one file a repeat is a row per
    payment or adjustment (a transaction export), whose other rows' paid amounts the audit leaves out,
    or rows exported twice.
    """
    within = result.summary["repeats_within_a_file"]
    if not within["rows"]:
        return None
    return (
        "rows that repeat a claim line (claim_id and line_number) of a later row in the same file: "
        f"{within['rows']:,} (in repeats.csv); the first: {within['first']}. Each claim line is audited once, "
        "from its last row. If the export has a row per payment or adjustment, the other rows' amounts are left out: "
        "export one row per claim line (docs/schema.md)."
    )


def reused_warning(result: AuditResult) -> str | None:
    """A warning when a claim line is repeated by a row of another patient and date of service.

    No copy of the line but another claim under the same number: the exports number claims alike (two
    billing systems, or one that numbers its claims anew each year). Each claim line is audited from its
    last row only, so the other claims' lines went unaudited, and their findings with them.
    """
    reused = result.summary["claim_numbers_reused"]
    if not reused["rows"]:
        return None
    return (
        "rows with the claim_id and line_number of a later row of another patient and date of service: "
        f"{reused['rows']:,} (in repeats.csv, repeat_kind {ANOTHER_CLAIM}); the first: {reused['first']}. They "
        "are other claims under the same numbers, not copies: the exports number claims alike (two billing "
        "systems, or one that numbers its claims anew each year). Each claim line was audited from its later row "
        "only, so these rows were not audited. Audit the exports of each numbering (each system, or each year) in "
        "a run of its own."
    )


def shared_key_warning(result: AuditResult) -> str | None:
    """A warning when a file holds two lines under one claim_id and line_number: another patient, date or code.

    A file lists a claim line once, or once per payment, alike: two rows of one key that differ so are two
    lines, which the export's claim_id and line_number do not tell apart. Most likely one of them is mapped
    from another column: a claim number from the patient's account, a line number that does not number
    the claim's lines. Only the last of each key was audited.
    """
    shared = result.summary["lines_sharing_a_key"]
    if not shared["rows"]:
        return None
    return (
        "rows with the claim_id and line_number of a later row of the same file, of another patient, date of service "
        f"or code: {shared['rows']:,} (in repeats.csv, repeat_kind {ANOTHER_LINE}); the first: {shared['first']}. "
        "They are other lines under the same key, not copies: claim_id and line_number do not tell the export's lines "
        "apart. Only the last row of each key was audited, so a finding may call missing a code these rows bill. "
        "Check which export columns feed claim_id and line_number (a --map file maps them: docs/mapping.md)."
    )


def crowded_warning(result: AuditResult) -> str | None:
    """A warning when a patient id has more claims on a day than one patient has (``io.crowded``).

    Most likely the id a system writes for every patient it does not know: read as one patient, each of
    its days is one visit, and the rules take its patients' drugs, braces and units together. The warning
    names the ids (those of the most such days first) and the mapping option that reads one as no patient.
    When such days hold most of the lines, the column itself is more likely wrong (``patient_id`` mapped
    from the payer, the practice or the provider): the warning says so first.
    """
    crowded = result.summary["crowded_visits"]
    if not crowded["visits"]:
        return None
    column = (
        f"{crowded['lines'] / result.summary['rows_audited']:.0%} of the lines audited are on such days: check which "
        "export column feeds patient_id (a --map file maps it: docs/mapping.md). "
        if 2 * crowded["lines"] > result.summary["rows_audited"]
        else ""
    )
    shown = crowded["patients"][:3]
    ids = "; ".join(
        f"{p['patient_id']} ({counted(p['visits'], 'day')}, {p['most_claims']:,} claims on {p['on']})" for p in shown
    )
    others = crowded["patient_ids"] - len(shown)
    more = f"; and {counted(others, 'other id')}" if others else ""
    low = crowded["findings_on_them"]["findings"]
    return (
        f"{counted(crowded['visits'], 'visit')} of more than {crowded['more_claims_than']} claims of one patient id "
        "on one day "
        f"({crowded['lines']:,} lines): {ids}{more}. {column}Each such day is read as one visit, many patients' drugs, "
        "braces and units together, and left out of the paid history that values findings; "
        f"{counted(low, 'finding')} on them {'is' if low == 1 else 'are'} of low confidence. If an id is a patient "
        "with that many claims a day, raise crowded_claims under [options] in a --map file. If it stands for "
        "an unknown patient, name it there (docs/mapping.md) and audit again: under [options], "
        f"patient_placeholders = {json.dumps([p['patient_id'] for p in shown])}"
    )


def paid_amounts_warning(result: AuditResult) -> str | None:
    """A warning when the paid amounts look like another column's: see ``io.amounts``."""
    return paid_warning(result.summary["paid_amounts"])


def counted(number: int, noun: str) -> str:
    """``number`` of ``noun``, with thousands separators and the noun's plural as needed.

    >>> counted(1, "row"), counted(2923, "row"), counted(0, "finding")
    ('1 row', '2,923 rows', '0 findings')
    """
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _check_state(state: str, refdata: RefData) -> None:
    """Raise :class:`InputError` when the DMEPOS fee schedule has no fees for ``state``.

    NOTE: an unknown state (a typo, ZZ) had left every brace the schedule would price unpriced, silently.
    """
    states = refdata.dmepos.select(pl.col("state").unique().sort()).collect(engine=ENGINE)["state"].to_list()
    if state.upper() not in states:
        known = ", ".join(states) if states else "none: the reference data holds no DMEPOS fee schedule"
        raise InputError(f"--state {state!r}: the DMEPOS fee schedule has no fees for it (states: {known})")


def _work_directory(out: Path) -> tempfile.TemporaryDirectory[str]:
    """Create ``out`` and in it the run's work directory, removed when the run ends (also by an error)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(dir=out, prefix=".work-")
    except OSError as err:
        raise OutputError(f"{out}: cannot write the outputs here: {err.strerror or err}") from None


def _reference_data(refdata: RefData) -> list[dict[str, Any]]:
    """Which release of each reference dataset the audit used, from which file (for ``summary.json``)."""
    releases: list[dict[str, Any]] = [
        {"dataset": r.dataset, "release": r.release, "source_file": r.source_file, "sha256": r.source_sha256}
        for r in refdata.releases
    ]
    if refdata.cpt_source:
        releases.append({"dataset": "cpt", "release": None, "source_file": refdata.cpt_source, "sha256": None})
    return releases


#: The work files, in the run's work directory: every row read, parsed, with its column at fault (see
#: :func:`_write_work_files`), and the rejected rows; the lines without their repeats (see
#: :func:`_without_repeated`), and the directory of the repeats.
_PARSED_FILE, _REJECTS_FILE = "parsed.parquet", "rejects.parquet"
_UNIQUE_LINES_FILE, _REPEATED_DIR = "unique-lines.parquet", "repeated"
#: The lines to audit written again without credit lines and the charges they reverse, when there are many.
_CORRECTED_LINES_FILE = "corrected-lines.parquet"
#: The rows with a bad value and their values, when there are many (see :func:`_invalid_rows`).
_INVALID_FILE = "invalid.parquet"

#: Rows with a bad value whose values are looked up in the input, at most. NOTE: the lookup holds them in
#: memory (3.5 GB for 10 M); more, and a second validating pass writes them, streaming (+6 s per 10 M).
_LOOKUP_REJECTS = 1_000_000

#: How ``rejects.csv`` is read back (:attr:`AuditResult.rejects`).
_REJECTS_CSV_SCHEMA = pl.Schema({name: dtype for name, dtype in REJECTED_ROW_SCHEMA.items() if name != "line_id"})

#: Lines left out (repeats, reversals) by a filter in every scan of the rules, at most; more, and the lines
#: are written again without them. NOTE: at 10 M lines, a filter of 1 M repeats added 0.9 s to the rules
#: (each scan builds its set again), 3 M added 2 s (20 M, 40 s); writing the lines again takes 2.1 s.
_FILTER_LINES = 1_000_000

#: How a scan can refuse a CSV file that the audit then reads another way.
_QUOTES, _LONG_ROWS = "quotes", "long rows"


class _Refused(Exception):
    """The scan refused a CSV file: quotes Polars cannot pair, or a row with more fields than its header."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _validate(claim_lines: ClaimLines, work: Path, mapping: ColumnMapping, stages: tqdm[Any]) -> ClaimLines:
    """Write the work files (:data:`_PARSED_FILE`, :data:`_REJECTS_FILE` in ``work``); return the lines as read.

    A Parquet file written in row groups too large to stream is read from a copy in smaller ones
    (``io.row_groups``). Where the scan refuses a CSV file, the audit reads it another way and scans again,
    each way at most once: a file whose quotes Polars cannot pair is read from a rewritten copy
    (``io.quotes``), and rows with more fields than their header are rejected (``io.long_rows``).
    """
    out = work.parent
    large = oversized(claim_lines.files)
    if large:
        stages.set_postfix_str("copying the Parquet files written in row groups too large to stream")
        with _writing_work_files(work):
            claim_lines = claim_lines.with_rewritten(copy_oversized(large, work / "copied"), mapping)
        stages.set_postfix_str("reading and validating")
    done: set[str] = set()
    while True:
        try:
            _write_work_files(claim_lines, work / _PARSED_FILE, work / _REJECTS_FILE, out, repaired=done)
            return claim_lines
        except _Refused as refused:
            kind = refused.kind
        done.add(kind)
        if kind == _QUOTES:
            stages.set_postfix_str("rewriting the CSV files with a quote inside a value")
            try:
                rewritten = rewrite_refused(claim_lines.files, work / "rewritten", mapping.csv_format)
            except OSError as err:
                raise OutputError(f"{out}: cannot write the rewritten CSV files there: {err}") from None
            claim_lines = claim_lines.with_rewritten(rewritten, mapping)
        else:
            stages.set_postfix_str("finding the CSV rows with more fields than their header")
            long_rows = find_long_rows(claim_lines.files, mapping.csv_format)
            claim_lines = claim_lines.with_long_rows(long_rows, mapping)
        stages.set_postfix_str("reading and validating again")


def _invalid_rows(claim_lines: ClaimLines, work: Path, mapping: ColumnMapping) -> tuple[pl.LazyFrame, int]:
    """The rows with a bad value, as ``rejects.csv`` has them, and their number.

    Their values are looked up in the input by their ``line_id``; for more than :data:`_LOOKUP_REJECTS`
    rows, a pass validating the input again writes them, with their values, to a work file.
    """
    rejects = pl.scan_parquet(work / _REJECTS_FILE, glob=False).drop(REJECT_KEYS)
    count = rejects.select(pl.len()).collect().item()
    if count <= _LOOKUP_REJECTS:
        return claim_lines.with_reject_values(rejects.collect(), mapping).lazy(), count
    with _writing_work_files(work):
        claim_lines.rejects_with_values(mapping).sink_parquet(work / _INVALID_FILE, compression="lz4", engine=ENGINE)
    return pl.scan_parquet(work / _INVALID_FILE, glob=False), count


def _find_repeated(lines: pl.LazyFrame, work: Path) -> Repeated:
    """The repeated claim lines (see ``io.duplicates``), written in the work directory."""
    with _writing_work_files(work):
        return find_repeated(lines, work / _REPEATED_DIR)


def _without_repeated(lines: pl.LazyFrame, repeated: Repeated, work: Path) -> pl.LazyFrame:
    """The lines to audit: ``lines`` but the ``repeated`` (see :func:`_without`)."""
    if not repeated.count:
        return lines
    return _without(lines, repeated.line_ids(), work / _UNIQUE_LINES_FILE)


def _corrected(lines: pl.LazyFrame, reversals: pl.DataFrame, path: Path) -> pl.LazyFrame:
    """``lines`` as they stand after their credits (:func:`find_reversals`), written again to ``path`` if need be.

    The credit lines and the charges they reverse are left out; the charges that partial credits reduce
    lose their units. NOTE: those are rare, and written again (as many lines left out are) rather than
    joined to the lines in every scan of the rules.
    """
    reduced = (reversals["kind"] == REDUCED).any()
    return _without(with_credits_taken(lines, reversals), set_aside(reversals), path, rewrite=reduced)


def _without(lines: pl.LazyFrame, line_ids: pl.Series, path: Path, *, rewrite: bool = False) -> pl.LazyFrame:
    """``lines`` but those of ``line_ids``: by a filter, or, for many, written again to the work file ``path``.

    ``rewrite`` writes them again whatever their number.
    """
    if line_ids.is_empty() and not rewrite:
        return lines
    kept = lines.filter(pl.col("line_id").is_in(line_ids.implode()).not_())
    if len(line_ids) <= _FILTER_LINES and not rewrite:
        return kept
    with _writing_work_files(path.parent):
        work_file(kept, path).collect(engine=ENGINE)
    return pl.scan_parquet(path, glob=False)


@contextmanager
def _writing_work_files(work: Path) -> Iterator[None]:
    """Raise :class:`OutputError` when the disk fills while writing files in the ``work`` directory."""
    try:
        yield
    except (OSError, pl.exceptions.PolarsError) as err:
        if _disk_full(err):
            raise _disk_full_error(work.parent, err) from None
        raise


def _disk_full_error(out: Path, err: Exception) -> OutputError:
    """The error of a full disk under the work files in ``out``."""
    return OutputError(
        f"{out}: its disk is full: the audit first writes the validated lines there (LZ4 Parquet, about "
        f"2 GB per 100 M lines), removed when it ends. Free space there or choose another --out. ({err})"
    )


def _audited_lines(work: Path) -> pl.LazyFrame:
    """The lines to audit: the rows of the work file :data:`_PARSED_FILE` with every value valid."""
    return _valid_rows(work).drop(PAID_VS_CHARGE)


def _valid_rows(work: Path) -> pl.LazyFrame:
    """The rows of the work file :data:`_PARSED_FILE` with every value valid, as written (repeats among them)."""
    return audited_rows(pl.scan_parquet(work / _PARSED_FILE, glob=False))


def _write_work_files(
    claim_lines: ClaimLines, parsed_file: Path, rejects_file: Path, out: Path, *, repaired: Collection[str]
) -> None:
    """One pass over the input writes every row, parsed, to ``parsed_file``; the rejected rows are read from it.

    The parsed rows hold the columns the rules read (:data:`AUDITED_COLUMNS`), the paid amount against the
    charge (:data:`~leakaudit.io.PAID_VS_CHARGE`, counted for ``summary.json``, not among the lines to
    audit) and the column at fault with its reason (:data:`REJECT_COLUMNS`), null on the lines to audit
    (:func:`_audited_lines`). The rejected rows, few as a rule, are then written to ``rejects_file`` from
    there.

    NOTE: one sink, so that memory does not grow with a file's size. Two sinks of the one validating scan
    (the lines, the rejects) shared it through a cache, which held the rows the slower sink had yet to
    write when the input was one large file: the audit of the benchmark's 100 M lines in one Parquet file
    took 16.5 GB (5.2 GB now), of 10 M lines in one file 2.12 GB (1.52 GB). The one sink is no slower
    (validating 10 M lines in 4 files: 4.2 s against 4.7 s).

    Raises :class:`OutputError` when the disk fills, :class:`_Refused` when the scan refuses a CSV file in
    a way not yet ``repaired``, :class:`InputError` on any other failure to read the input.
    """
    try:
        parsed = claim_lines.parsed.select(*AUDITED_COLUMNS, paid_vs_charge(), *REJECT_COLUMNS)
        collect(work_file(parsed, parsed_file))
        claim_lines.rejects_in(pl.scan_parquet(parsed_file, glob=False)).sink_parquet(rejects_file, engine=ENGINE)
    except pl.exceptions.PolarsError as err:
        if _disk_full(err):
            raise _disk_full_error(out, err) from None
        kind = _QUOTES if refused_quotes(err) else _LONG_ROWS if refused_long_rows(err) else None
        if kind is not None and kind not in repaired:
            raise _Refused(kind) from None
        files = ", ".join(str(f) for f in claim_lines.files)
        raise InputError(f"cannot read the input ({files}): {err}") from None


@dataclass(frozen=True)
class _Rejected:
    """The rows not audited, counted (see :func:`_account`)."""

    rows: int
    #: Counted by ``column`` and ``reason`` (a pair once).
    by_reason: pl.DataFrame
    #: Each input file's rows: read, audited, rejected and of those repeated (see :func:`_inputs`).
    inputs: list[dict[str, Any]]
    #: The repeats whose audited row is in their own file, and the first described (copies only).
    within_a_file: dict[str, Any]
    #: The repeats whose audited row is of another patient and date of service, and the first described.
    reused: dict[str, Any]
    #: The repeats whose audited row is another line of their own file, and the first described.
    shared_key: dict[str, Any]
    #: The repeats by file and file of the rows audited in their place: rows and ranges (``repeats.csv``).
    by_file_pair: list[dict[str, Any]]


def _account(
    out: Path,
    claim_lines: ClaimLines,
    rows_audited: int,
    invalid: tuple[pl.LazyFrame, int],
    repeated: Repeated,
) -> _Rejected:
    """Check that every row read was audited or rejected; write ``rejects.csv`` and ``repeats.csv``; count them.

    ``invalid`` are the rows with a bad value and their number. Run while the work directory exists:
    files rewritten there (``io.quotes``) are counted there, and the repeats (and many invalid rows) are
    read from there.
    """
    invalid_rows, invalid_count = invalid
    rows_by_file = claim_lines.rows_by_file()
    rows_read, rows_rejected = sum(rows_by_file.values()), invalid_count + repeated.count
    if rows_read != rows_audited + rows_rejected:
        raise ReconciliationError(f"read {rows_read} rows but audited {rows_audited} and rejected {rows_rejected}")
    rejects = ordered_rejects(invalid_rows)
    _write(out / "rejects.csv", lambda path: _write_csv(path, (chunk.drop("line_id") for chunk in rejects)))
    tally = RepeatTally()
    ranges = tally.counted(repeat_ranges(repeated, claim_lines.files))
    _write(out / "repeats.csv", lambda path: _write_csv(path, ranges))
    # One pass over the invalid rows (a work file of tens of millions, where the mapping reads no date)
    # counts them both by reason and by file.
    counted = invalid_rows.group_by("source_file", "column", "reason").agg(pl.len().cast(pl.Int64).alias("count"))
    invalid_counts = counted.collect(engine=ENGINE)
    invalid_by_reason = invalid_counts.group_by("column", "reason").agg(pl.col("count").sum())
    invalid_by_file = invalid_counts.group_by("source_file").agg(pl.col("count").sum())
    pairs = tally.by_file_pair(claim_lines.files)
    repeated_by_file: dict[str, int] = {}
    for pair in pairs:
        repeated_by_file[pair["file"]] = repeated_by_file.get(pair["file"], 0) + pair["rows"]
    within_count, within_first = tally.within_a_file()
    reused_count, reused_first = tally.of_kind(ANOTHER_CLAIM)
    shared_count, shared_first = tally.of_kind(ANOTHER_LINE)
    return _Rejected(
        rows=rows_rejected,
        by_reason=pl.concat([invalid_by_reason, repeated.by_reason()]),
        inputs=_inputs(rows_by_file, dict(invalid_by_file.iter_rows()), repeated_by_file),
        within_a_file={"rows": within_count, "first": within_first},
        reused={"rows": reused_count, "first": reused_first},
        shared_key={"rows": shared_count, "first": shared_first},
        by_file_pair=pairs,
    )


def _summary(
    rules: Sequence[Any],
    findings: pl.DataFrame,
    rejected: _Rejected,
    rows_audited: int,
    profile: pl.DataFrame,
) -> dict[str, Any]:
    """``summary.json``."""
    totals = rule_totals(findings, [rule.id for rule in rules])
    per_rule: dict[str, Any] = {
        rule.id: {
            "title": rule.title,
            "count": row["count"],
            "estimated_total": _dollars(row["estimated_total"]),
            "compliance_exposure_total": _dollars(row["exposure_total"]),
            "unpriced": row["unpriced"],
        }
        for rule, row in zip(rules, totals.iter_rows(named=True), strict=True)
    }
    lost_revenue = findings.filter(pl.col("finding_kind") == "lost_revenue")
    first, last = profile["first"][0], profile["last"][0]
    rejects_by_reason = rejected.by_reason.sort("count", "column", "reason", descending=[True, False, False])
    return {
        "rows_read": sum(i["rows"] for i in rejected.inputs),
        "rows_audited": rows_audited,
        "rows_rejected": rejected.rows,
        "inputs": rejected.inputs,
        "service_dates": {
            "first": first.isoformat() if first else None,
            "last": last.isoformat() if last else None,
        },
        # Audited lines of no patient (none given, or a placeholder: io.reader.PATIENT_PLACEHOLDERS): each
        # line's encounter is its claim.
        "lines_without_patient": int(profile["without_patient"][0]),
        "findings": findings.height,
        "claims_affected": findings["claim_id"].n_unique(),
        "estimated_total": _dollars(lost_revenue["estimated_amount"].sum()),
        "rules": per_rule,
        "rejects_by_reason": rejects_by_reason.to_dicts(),
        "repeats_within_a_file": rejected.within_a_file,
        "claim_numbers_reused": rejected.reused,
        "lines_sharing_a_key": rejected.shared_key,
        "repeats_by_file_pair": rejected.by_file_pair,
    }


def _noted(marked: pl.DataFrame) -> dict[str, Any]:
    """``summary.json``'s count of the findings noted: beside a rejected row, or on a crowded visit.

    See ``findings.with_rejected_rows`` and ``findings.on_crowded_visits``. Their lost revenue is in the
    totals too: it hangs on rows the audit did not see, or on a visit that may be many patients'.
    """
    lost = marked.filter(pl.col("finding_kind") == "lost_revenue")
    return {
        "findings": marked.height,
        "claims": marked["claim_id"].n_unique(),
        "estimated_total": _dollars(lost["estimated_amount"].sum()),
        "low_confidence": int((marked["confidence"] == "low").sum()),
    }


def _crowded_visits(visits: pl.DataFrame, marked: pl.DataFrame, more_than: int) -> dict[str, Any]:
    """``summary.json``'s crowded visits (``io.crowded``): how many, their lines and ids, the findings on them.

    ``patients`` lists the ten ids of the most such visits (``io.crowded.crowded_patients``).
    """
    return {
        "more_claims_than": more_than,
        "visits": visits.height,
        "lines": int(visits["lines"].sum()),
        "patient_ids": visits["patient_id"].n_unique(),
        "patients": crowded_patients(visits),
        "findings_on_them": _noted(marked),
    }


def _inputs(
    rows_by_file: dict[str, int], invalid_by_file: dict[str, int], repeated_by_file: dict[str, int]
) -> list[dict[str, Any]]:
    """Each input file's rows: read, audited and rejected, and of those rejected how many are repeats.

    Which export is bad, or which exports overlap, shows here: the totals alone do not tell.
    """
    inputs = []
    for name, rows in rows_by_file.items():
        repeats = repeated_by_file.get(name, 0)
        rejected = invalid_by_file.get(name, 0) + repeats
        inputs.append(
            {"file": name, "rows": rows, "audited": rows - rejected, "rejected": rejected, "repeated": repeats}
        )
    return inputs


def _previous_findings(previous_out: Path) -> pl.DataFrame:
    """The findings of a previous run, read from its output directory: the columns a comparison reads.

    NOTE: a file that was not a run's findings (damaged, or with a column missing) had failed the audit
    with a traceback after all its work; it is now refused, naming it, before any.
    """
    path = Path(previous_out) / "findings.parquet"
    if not path.is_file():
        raise InputError(f"{previous_out}: no findings.parquet here; --compare takes a previous run's --out directory")
    compared = [*FINDING_KEY, "estimated_amount"]
    try:
        previous = pl.read_parquet(path, glob=False)
        missing = [name for name in compared if name not in previous.columns]
        if missing:
            raise InputError(f"{path}: no column {', '.join(missing)}: not the findings of a leakaudit run")
        return previous.select(pl.col(name).cast(FINDING_SCHEMA[name]) for name in compared)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(f"{path}: cannot be read as the findings of a leakaudit run: {err}") from None


def _dollars(value: Any) -> float:
    """A Decimal dollar total as a JSON number with two decimals."""
    return round(float(value or 0), 2)


def _write_outputs(out: Path, findings: pl.DataFrame, summary: dict[str, Any]) -> None:
    """Write the findings and the summary (the rows not audited are written while the work directory exists)."""
    _write(out / "findings.parquet", lambda path: path.write_bytes(_parquet_bytes(findings)))
    _write(out / "findings.csv", findings.write_csv)
    text = json.dumps(summary, indent=2) + "\n"
    _write(out / "summary.json", lambda path: path.write_text(text, encoding="utf-8"))


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    """``frame`` as a Parquet file's bytes.

    NOTE: written in memory, then to the file: Polars writing a Parquet file onto a full disk may fail at
    its last flush with "Invalid thrift: transport error", the disk's error lost, once the sample's
    findings grew by a few lines. The findings are a small share of the lines (tens of MB at 100 M).
    """
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _write_csv(path: Path, chunks: Iterable[pl.DataFrame]) -> None:
    """Write a CSV file from its chunks, in order (``rejects.csv``, ``repeats.csv``: there is always one)."""
    with path.open("wb") as handle:
        for number, chunk in enumerate(chunks):
            chunk.write_csv(handle, include_header=number == 0)


def _write(path: Path, write: Callable[[Path], object]) -> None:
    """Write one output file; failing to (a full disk, no permission), raise :class:`OutputError` naming it."""
    try:
        write(path)
    except (OSError, pl.exceptions.PolarsError) as err:
        full = " (its disk is full)" if _disk_full(err) else ""
        raise OutputError(f"{path}: cannot write this output{full}: {err}") from None


def _disk_full(err: Exception) -> bool:
    """Whether ``err`` (an OSError, or a Polars error wrapping one) says the disk or quota is full.

    NOTE: Polars writing to a Python file raises an OSError without ``errno``, "(os error 28)" in its text.
    """
    if isinstance(err, OSError) and err.errno in _DISK_FULL:
        return True
    text = str(err)
    return any(f"(os error {code})" in text or os.strerror(code) in text for code in _DISK_FULL)
