"""Findings: every rule's hits conformed to one schema, priced, concatenated once, collected once, sorted.

The sort is total (every finding has a distinct rule, claim, line and kind), so the same input always
gives byte-identical findings files whatever order the streaming engine produced rows in.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from leakaudit.engine import collect, work_file
from leakaudit.io import REJECT_KEYS
from leakaudit.pricing import estimate, history_lines
from leakaudit.rules import HIT_SCHEMA, RULE_HIT_SCHEMA, AuditContext, Rule, hit_lines, identify
from leakaudit.rules.base import count_text
from leakaudit.schema import MONEY, conform

#: Hit columns that only tell pricing how to value a hit; findings carry the result instead.
PRICE_REQUEST_COLUMNS = ("price_basis", "price_code", "price_context", "price_quantity", "price_cap", "price_paid")

FINDING_SCHEMA = pl.Schema(
    {name: dtype for name, dtype in HIT_SCHEMA.items() if name not in PRICE_REQUEST_COLUMNS}
    | {"estimated_amount": MONEY, "estimate_method": pl.String(), "filing_deadline": pl.Date()}
)

SORT_KEYS = ("rule_id", "claim_id", "line_number", "finding_kind", "procedure_code", "message")
#: The work file of the lines the price bases read (``pricing.history_lines``), removed once priced.
HISTORY_FILE = "pricing.history.parquet"


def find_all(
    rules: Sequence[type[Rule]],
    ctx: AuditContext,
    step: Callable[[str], object] = lambda _: None,
    work: Path | None = None,
    *,
    not_history: pl.Series | None = None,
) -> pl.DataFrame:
    """Run every rule, price the hits, and return the sorted findings table.

    ``step`` is told what is being done, before each part (each rule, identifying the lines, pricing).
    ``work``: the directory for the rules' staged frames (:meth:`Rule.staged`), each written there before
    its rule runs and removed after, and for the lines the price bases read (:data:`HISTORY_FILE`); a
    temporary directory when not given. ``not_history``: the ``encounter_id`` of visits whose lines the
    price bases leave out (crowded visits, ``io.crowded``: many patients' products paid on one "visit"
    would be one payment of them all).
    """
    if not rules:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    if work is None:
        with tempfile.TemporaryDirectory(prefix="leakaudit-") as temporary:
            return find_all(rules, ctx, step, Path(temporary), not_history=not_history)
    # NOTE: each rule's hits are collected on their own (they are findings-sized, a small share of the
    # lines): memory peaks at the largest rule instead of the sum of all rules running at once, and
    # pricing builds its history tables only for the codes the hits need. A rule's ``refine`` is given
    # its hits collected (``Rule.refine``). Then the priced findings.
    found = []
    for number, rule in enumerate(rules, start=1):
        step(f"rule {number} of {len(rules)}, {rule.id}")
        found.append(_rule_hits(rule, ctx, work))
    rule_hits = pl.concat(found, how="vertical")
    step("identifying the lines hit")
    hits = collect(identify(rule_hits, collect(hit_lines(rule_hits, ctx.lines)).lazy()))
    step("pricing the findings")
    # NOTE: the lines the price bases read are written once, and every tier reads them there (see
    # ``pricing.history_lines``): medians and counts do not depend on their order.
    history_read = history_lines(hits, ctx)
    if not_history is not None and not not_history.is_empty():
        history_read = history_read.filter(pl.col("encounter_id").is_in(not_history.implode()).not_())
    with _written({work / HISTORY_FILE: history_read}) as (history,):
        priced = estimate(hits, replace(ctx, history=history))
        deadline = ctx.refdata.filing_limits.deadline().alias("filing_deadline")
        findings = collect(conform(priced.with_columns(deadline), FINDING_SCHEMA))
    return findings.sort(list(SORT_KEYS), nulls_last=True)


@contextmanager
def _written(plans: Mapping[Path, pl.LazyFrame]) -> Iterator[list[pl.LazyFrame]]:
    """Each plan written to its work file (its key), and scanned from there; the files removed after.

    NOTE: written unordered: what reads a work file of the rules or the pricing does not depend on its
    row order.
    """
    try:
        for path, plan in plans.items():
            collect(work_file(plan, path, maintain_order=False))
        yield [pl.scan_parquet(path, glob=False) for path in plans]
    finally:
        for path in plans:
            path.unlink(missing_ok=True)


def _rule_hits(rule: type[Rule], ctx: AuditContext, work: Path) -> pl.DataFrame:
    """``rule``'s hits, refined, in :data:`RULE_HIT_SCHEMA`; its staged frames written in ``work`` first.

    The staged files are removed once the hits are collected.
    """
    staged = rule.staged(ctx)
    with _written({work / f"{rule.id}.{name}.parquet": plan for name, plan in staged.items()}) as scans:
        if staged:
            ctx = replace(ctx, written={**ctx.written, rule.id: dict(zip(staged, scans, strict=True))})
        return collect(conform(rule.refine(ctx, collect(rule.find(ctx))), RULE_HIT_SCHEMA))


@dataclass(frozen=True)
class Noted:
    """The findings, a note added to the message of some (a rejected row beside them, a crowded visit), and those."""

    findings: pl.DataFrame
    #: The findings noted, as in ``findings``.
    marked: pl.DataFrame


def with_rejected_rows(
    findings: pl.DataFrame, rejected: pl.LazyFrame, lines: pl.LazyFrame, rules: Sequence[type[Rule]]
) -> Noted:
    """Tell on each finding the rows of its claim, or of its visit (patient, date of service), that were rejected.

    ``rejected`` are the rows not audited with :data:`~leakaudit.io.REJECT_KEYS` (``ClaimLines.rejects``);
    repeats are not among them. A rejected row is a line the rules did not see: the code a finding calls
    missing may be on it (the drug's line rejected for its charge), or a credit voiding the line at fault.
    The message then names the first such row and how many claim lines there are (a line rejected in
    several overlapping exports is one, and its other copies are counted apart), and the finding of a
    rule that :attr:`~leakaudit.rules.Rule.finds_a_missing_code` turns to ``low`` confidence. A rejected
    row whose claim line another row of the validated ``lines`` holds (the line corrected in a later,
    overlapping export) is no line unseen, and is left out. The findings keep their order.

    NOTE: kept rather than dropped: most rows are rejected for a value beside the point (a payer type the
    mapping lacks) and the finding stands; the analyst corrects the rows and audits again.
    """
    if findings.is_empty():
        return Noted(findings, findings.clear())
    numbered = findings.with_row_index(_FINDING)
    rows = rejected.select("line_id", "source_file", "source_row", "column", *REJECT_KEYS)
    shown = (_FINDING, "line_id", "source_file", "source_row", "column", "claim_id", "line_number")
    by_claim = numbered.lazy().select(_FINDING, "claim_id").join(rows, on="claim_id", how="inner")
    by_visit = (
        numbered.lazy()
        .select(_FINDING, "patient_id", "service_date")
        .join(rows, on=["patient_id", "service_date"], how="inner")
    )
    matched = collect(pl.concat([by_claim.select(shown), by_visit.select(shown)]).unique([_FINDING, "line_id"]))
    if matched.is_empty():
        return Noted(findings, findings.clear())
    claims = matched["claim_id"].drop_nulls().unique()
    held = lines.filter(pl.col("claim_id").is_in(claims.implode())).select("claim_id", "line_number").unique()
    unseen = matched.lazy().join(held, on=["claim_id", "line_number"], how="anti")
    # A claim line rejected in each of several overlapping exports is one line unseen; a row whose claim
    # line is at fault (its claim_id or line_number null) is one of its own.
    own = pl.col("claim_id").is_null() | pl.col("line_number").is_null()
    claim_line = pl.struct("claim_id", "line_number", pl.when(own).then(pl.col("line_id")).alias("row"))
    beside = unseen.group_by(_FINDING).agg(
        claim_line.n_unique().alias("rejected_rows"),
        pl.len().alias("rows_with_copies"),
        *(pl.col(name).sort_by("line_id").first() for name in ("source_file", "source_row", "column")),
    )
    joined = numbered.join(collect(beside), on=_FINDING, how="left", maintain_order="left")
    count = pl.col("rejected_rows")
    missing_code = pl.col("rule_id").is_in([rule.id for rule in rules if rule.finds_a_missing_code])
    more = pl.when(count > 1).then(pl.format(", and {} more", count - 1)).otherwise(pl.lit(""))
    copies = pl.col("rows_with_copies") - count
    of_them = pl.when(count == 1).then(pl.lit("it")).otherwise(pl.lit("them"))
    copies_text = (
        pl.when(copies > 0)
        .then(pl.format("; {} of {} rejected", count_text(copies, "more copy", "more copies"), of_them))
        .otherwise(pl.lit(""))
    )
    note = pl.format(
        " Rejected: {} of this claim or visit ({} row {}, {}{}{}){}: correct {} (rejects.csv) and audit again.",
        count_text(count, "row"),
        "source_file",
        "source_row",
        "column",
        more,
        copies_text,
        pl.when(missing_code).then(pl.lit(", which may bill the missing code")).otherwise(pl.lit("")),
        of_them,
    )
    beside_one = count.is_not_null()
    return _with_note(joined, findings.columns, beside_one, note, low=beside_one & missing_code)


def _with_note(joined: pl.DataFrame, columns: Sequence[str], where: pl.Expr, note: pl.Expr, *, low: pl.Expr) -> Noted:
    """The findings of ``joined`` (``columns`` of them) with ``note`` added to the message ``where`` it holds.

    Those where ``low`` holds turn to low confidence. Also the findings noted; both keep their order.
    """
    marked = joined.with_columns(
        pl.when(where).then(pl.col("message") + note).otherwise(pl.col("message")).alias("message"),
        pl.when(low).then(pl.lit("low")).otherwise(pl.col("confidence")).alias("confidence"),
    )
    return Noted(findings=marked.select(columns), marked=marked.filter(where).select(columns))


#: The column numbering the findings while their rejected rows are looked up.
_FINDING = "_finding"


def on_crowded_visits(findings: pl.DataFrame, visits: pl.DataFrame, rules: Sequence[type[Rule]]) -> Noted:
    """Tell on each finding that rests on other lines of its visit whether that visit is crowded.

    ``visits`` are ``io.crowded.find_crowded_visits``: days of a patient id with more claims than one
    patient has, likely a placeholder for many. A rule that :attr:`~leakaudit.rules.Rule.rests_on_other_lines`
    took those patients' lines as one visit, and another patient's may be what its finding rests on: the
    finding there is of ``low`` confidence, and its message says how many claims the day holds and what to
    do. A finding of what the visit lacks stands (a drug missing from all those patients' lines is missing
    from the patient's). The findings keep their order.

    >>> from leakaudit.rules import get_rule
    >>> findings = pl.DataFrame(
    ...     {
    ...         "rule_id": ["jcode-unit-mismatch", "drug-admin-without-drug", "jcode-unit-mismatch"],
    ...         "patient_id": ["999999", "999999", "P7"],
    ...         "service_date": [dt.date(2025, 3, 14)] * 3,
    ...         "message": ["J3301 billed 60 units, above the MUE."] * 3,
    ...         "confidence": ["high", "medium", "high"],
    ...     }
    ... )
    >>> visits = pl.DataFrame({"patient_id": ["999999"], "service_date": [dt.date(2025, 3, 14)], "claims": [41]})
    >>> rules = [get_rule("jcode-unit-mismatch"), get_rule("drug-admin-without-drug")]
    >>> noted = on_crowded_visits(findings, visits, rules)
    >>> noted.findings["confidence"].to_list(), noted.marked.height
    (['low', 'medium', 'high'], 1)
    >>> print(noted.marked["message"][0])  # doctest: +NORMALIZE_WHITESPACE
    J3301 billed 60 units, above the MUE. Crowded visit: 41 claims of this patient id on this day, likely
    many patients under one id that stands for an unknown patient: if so, name it under
    patient_placeholders in a --map file and audit again.
    """
    visit_rules = [rule.id for rule in rules if rule.rests_on_other_lines]
    if findings.is_empty() or visits.is_empty() or not visit_rules:
        return Noted(findings, findings.clear())
    crowded = visits.select("patient_id", "service_date", pl.col("claims").alias(_CLAIMS))
    joined = findings.join(crowded, on=["patient_id", "service_date"], how="left", maintain_order="left")
    on_one = pl.col(_CLAIMS).is_not_null() & pl.col("rule_id").is_in(visit_rules)
    note = pl.format(
        " Crowded visit: {} claims of this patient id on this day, likely many patients under one id that stands "
        "for an unknown patient: if so, name it under patient_placeholders in a --map file and audit again.",
        _CLAIMS,
    )
    return _with_note(joined, findings.columns, on_one, note, low=on_one)


#: The column of a finding's crowded visit's claims while they are looked up.
_CLAIMS = "_visit_claims"


def rule_totals(findings: pl.DataFrame, rule_ids: Sequence[str], as_of: dt.date | None = None) -> pl.DataFrame:
    """One row per rule, in ``rule_ids`` order (zeros for a rule without findings).

    Columns: ``count``, ``claims`` (distinct claims), ``estimated_total`` (priced lost revenue),
    ``exposure_total`` (priced compliance exposure), ``unpriced``; with ``as_of``, also
    ``recoverable_total``: lost revenue whose filing deadline is on or after that date.
    """
    amount = pl.col("estimated_amount")
    lost = pl.col("finding_kind") == "lost_revenue"
    sums = {
        "estimated_total": amount.filter(lost),
        "exposure_total": amount.filter(pl.col("finding_kind") == "compliance_exposure"),
    }
    if as_of is not None:
        sums["recoverable_total"] = amount.filter(lost & (pl.col("filing_deadline") >= as_of))
    per_rule = findings.group_by("rule_id").agg(
        pl.len().alias("count"),
        pl.col("claim_id").n_unique().alias("claims"),
        *(expr.sum().cast(MONEY).alias(name) for name, expr in sums.items()),
        amount.is_null().sum().alias("unpriced"),
    )
    order = pl.DataFrame({"rule_id": list(rule_ids)}, schema={"rule_id": pl.String()})
    return order.join(per_rule, on="rule_id", how="left", maintain_order="left").with_columns(
        pl.col("count", "claims", "unpriced").fill_null(0).cast(pl.Int64),
        *(pl.col(name).fill_null(0).cast(MONEY) for name in sums),
    )


#: What identifies a finding from one run to the next.
FINDING_KEY = ("rule_id", "finding_kind", "claim_id", "line_number")


def compare_findings(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Per rule: findings new since the previous run, resolved since it, and still open, with amounts."""
    keys = list(FINDING_KEY)
    amount = pl.col("estimated_amount").fill_null(0)
    both = current.select(*keys, amount.alias("now")).join(
        previous.select(*keys, amount.alias("before")), on=keys, how="full", nulls_equal=True, coalesce=True
    )
    status = (
        pl.when(pl.col("before").is_null())
        .then(pl.lit("new"))
        .when(pl.col("now").is_null())
        .then(pl.lit("resolved"))
        .otherwise(pl.lit("still_open"))
    )
    counted = both.with_columns(status.alias("status"), pl.coalesce("now", "before").alias("amount"))
    return (
        counted.group_by("rule_id")
        .agg(
            *((pl.col("status") == s).sum().alias(s) for s in ("new", "resolved", "still_open")),
            *(
                pl.col("amount").filter(pl.col("status") == s).sum().cast(MONEY).alias(f"{s}_amount")
                for s in ("new", "resolved", "still_open")
            ),
        )
        .sort("rule_id")
    )
