"""The data of the report page: one documented dataclass, built from the summary and findings.

Every field carries its meaning in ``metadata["doc"]``; ``tests/test_report.py`` checks that each
field is documented and that the templates use no name that is not a field. Numbers are computed
here, never in templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl

from leakaudit.report.charts import bar_chart_svg


def doc(text: str) -> Any:
    """A dataclass field that documents itself."""
    return field(metadata={"doc": text})


@dataclass(frozen=True)
class RuleRow:
    """One rule's line in the report: its explanation and its totals."""

    id: str
    title: str
    summary: str
    why: str
    estimate: str
    count: int
    estimated_total: Decimal
    unpriced: int
    confidence_mix: dict[str, int]
    methods: list[tuple[str, int]]


@dataclass(frozen=True)
class FindingRow:
    """One finding as shown in a table (no patient identifier)."""

    rule_id: str
    claim_id: str
    line_number: int | None
    service_date: str
    procedure_code: str
    rendering_npi: str
    estimated_amount: Decimal | None
    estimate_method: str
    confidence: str
    message: str


@dataclass(frozen=True)
class ReportContext:
    """Everything ``base.html`` and its partials render."""

    title: str = doc("Page title.")
    period_first: str | None = doc("First date of service among audited lines (ISO).")
    period_last: str | None = doc("Last date of service among audited lines (ISO).")
    inputs: list[dict[str, Any]] = doc("Input files and their row counts.")
    rows_read: int = doc("Rows read from all inputs.")
    rows_audited: int = doc("Rows that passed validation and were audited.")
    rows_rejected: int = doc("Rows rejected, with reasons in rejects.csv.")
    rejects_by_reason: list[dict[str, Any]] = doc("Rejected rows counted by column and reason.")
    estimated_total: Decimal = doc("Total estimated lost revenue in dollars (priced findings only).")
    findings_count: int = doc("Number of findings of every kind.")
    claims_affected: int = doc("Distinct claims with at least one finding.")
    unpriced_count: int = doc("Findings with no price basis (not in the total).")
    rules: list[RuleRow] = doc("One row per registered rule, in catalog order.")
    top_findings: list[FindingRow] = doc("The largest lost-revenue findings, largest first.")
    chart_by_rule: str = doc("Inline SVG: estimated leakage by rule.")
    reference_data: list[dict[str, Any]] = doc("Reference data releases used: dataset, release, source file, sha256.")
    dmepos_state: str = doc("State whose DMEPOS fees were used, or 'national median'.")
    price_bases: list[str] = doc("How each price basis values a finding, in words.")


TOP_FINDINGS = 25


def build_report_context(
    *,
    summary: dict[str, Any],
    findings: pl.DataFrame,
    rules: Sequence[Any],
    price_bases: Sequence[str] = (),
    title: str = "Revenue leakage audit",
) -> ReportContext:
    """Assemble the report's data from the audit summary and the findings table."""
    rule_rows = [_rule_row(rule, summary["rules"][rule.id], findings) for rule in rules]
    lost = findings.filter(pl.col("finding_kind") == "lost_revenue")
    top = lost.sort(
        ["estimated_amount", "claim_id", "line_number"], descending=[True, False, False], nulls_last=True
    ).head(TOP_FINDINGS)
    return ReportContext(
        title=title,
        period_first=summary["service_dates"]["first"],
        period_last=summary["service_dates"]["last"],
        inputs=summary["inputs"],
        rows_read=summary["rows_read"],
        rows_audited=summary["rows_audited"],
        rows_rejected=summary["rows_rejected"],
        rejects_by_reason=summary["rejects_by_reason"],
        estimated_total=_sum(lost["estimated_amount"]),
        findings_count=findings.height,
        claims_affected=summary["claims_affected"],
        unpriced_count=int(findings["estimated_amount"].is_null().sum()),
        rules=rule_rows,
        top_findings=[_finding_row(row) for row in top.iter_rows(named=True)],
        chart_by_rule=bar_chart_svg(
            labels=[r.id for r in rule_rows],
            values=[float(r.estimated_total) for r in rule_rows],
            title="Estimated lost revenue by rule",
        ),
        reference_data=summary.get("reference_data", []),
        dmepos_state=summary.get("dmepos_state", "national median"),
        price_bases=list(price_bases),
    )


def _sum(amounts: pl.Series) -> Decimal:
    return sum((a for a in amounts.to_list() if a is not None), Decimal("0.00"))


def _rule_row(rule: Any, totals: dict[str, Any], findings: pl.DataFrame) -> RuleRow:
    mine = findings.filter(pl.col("rule_id") == rule.id)
    confidence = dict(mine.group_by("confidence").len().sort("confidence").iter_rows())
    methods = mine.group_by("estimate_method").len().sort(["len", "estimate_method"], descending=[True, False])
    return RuleRow(
        id=rule.id,
        title=rule.title,
        summary=rule.summary(),
        why=rule.section("Why it leaks:"),
        estimate=rule.section("How the loss is estimated:"),
        count=totals["count"],
        estimated_total=_sum(mine.filter(pl.col("finding_kind") == "lost_revenue")["estimated_amount"]),
        unpriced=totals["unpriced"],
        confidence_mix={level: confidence.get(level, 0) for level in ("high", "medium", "low")},
        methods=[(m, n) for m, n in methods.head(8).iter_rows()],
    )


def _finding_row(row: dict[str, Any]) -> FindingRow:
    return FindingRow(
        rule_id=row["rule_id"],
        claim_id=row["claim_id"],
        line_number=row["line_number"],
        service_date=row["service_date"].isoformat(),
        procedure_code=row["procedure_code"],
        rendering_npi=row["rendering_npi"] or "",
        estimated_amount=row["estimated_amount"],
        estimate_method=row["estimate_method"],
        confidence=row["confidence"],
        message=row["message"],
    )
