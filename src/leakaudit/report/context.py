"""The data of the report page: one documented dataclass, built from the summary and findings.

Every field of :class:`ReportContext` carries its meaning in ``metadata["doc"]``;
``tests/test_report.py`` checks that each field is documented and that the templates use no name that
is not a field. Numbers are computed here, never in templates; money is formatted by the ``money``
filter only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from markupsafe import Markup

from leakaudit.findings import rule_totals
from leakaudit.report.charts import bar_chart_svg, trend_chart_svg

TOP_FINDINGS = 25
TOP_PER_RULE = 10
TOP_IN_CHART = 10
ZERO = Decimal("0.00")


def doc(text: str) -> Any:
    """A dataclass field that documents itself."""
    return field(metadata={"doc": text})


@dataclass(frozen=True)
class ReportOptions:
    """How the report is presented: branding, the date recoverability is judged on, patient ids."""

    title: str = "Revenue leakage audit"
    client: str | None = None
    logo_data_uri: str | None = None
    as_of: dt.date = field(default_factory=dt.date.today)
    show_patient_ids: bool = False


@dataclass(frozen=True)
class Chart:
    """One chart: its anchor id, title, caption and inline SVG."""

    id: str
    title: str
    caption: str
    svg: Markup


@dataclass(frozen=True)
class FindingRow:
    """One finding as shown in a table; ``patient`` is masked unless the user asked otherwise."""

    rule_id: str
    claim_id: str
    line_number: int | None
    service_date: str
    patient: str
    procedure_code: str
    rendering_npi: str
    payer_id: str
    estimated_amount: Decimal | None
    estimate_method: str
    confidence: str
    finding_kind: str
    message: str
    filing_deadline: str
    recoverable: bool


@dataclass(frozen=True)
class RuleSection:
    """One rule's section: the billing problem, its numbers, and its top findings."""

    id: str
    title: str
    summary: str
    why: str
    estimate: str
    count: int
    claims: int
    estimated_total: Decimal
    exposure_total: Decimal
    unpriced: int
    confidence_mix: dict[str, int]
    methods: list[tuple[str, int]]
    top_findings: list[FindingRow]


@dataclass(frozen=True)
class LossSource:
    """One of the largest sources of loss, for the executive summary."""

    title: str
    amount: Decimal
    share: Decimal
    count: int
    top_code: str
    top_code_amount: Decimal


@dataclass(frozen=True)
class ComparisonRow:
    """One rule's change since the previous run."""

    rule_id: str
    title: str
    new: int
    resolved: int
    still_open: int
    new_amount: Decimal
    resolved_amount: Decimal
    still_open_amount: Decimal


@dataclass(frozen=True)
class ReportContext:
    """Everything ``base.html`` and its partials render."""

    title: str = doc("Page title (--title).")
    client: str | None = doc("Client the report is prepared for (--client), or None.")
    logo_data_uri: str | None = doc("The --logo image as a data: URI (embedded, no network), or None.")
    as_of: str = doc("Date recoverability is judged on (--as-of, default the day of the run), ISO.")
    period_first: str | None = doc("First date of service among audited lines (ISO).")
    period_last: str | None = doc("Last date of service among audited lines (ISO).")
    inputs: list[dict[str, Any]] = doc(
        "Input files and their rows: read (rows), audited, rejected, and of those rejected the repeats."
    )
    rows_read: int = doc("Rows read from all inputs.")
    rows_audited: int = doc("Rows that passed validation and were audited.")
    rows_rejected: int = doc("Rows rejected: bad values listed in rejects.csv, repeats in repeats.csv.")
    rows_of_a_bad_value: int = doc("Rows rejected for a bad value (rejects.csv), not audited: repeats left out.")
    rejects_by_reason: list[dict[str, Any]] = doc("Rejected rows counted by column and reason.")
    findings_with_rejected_rows: dict[str, Any] = doc(
        "Findings on a claim or visit with a rejected row: findings, claims, their lost revenue "
        "(estimated_total) and how many turned to low confidence (low_confidence)."
    )
    repeats_within_a_file: dict[str, Any] = doc(
        "Rows repeating a claim line that a later row of the same file holds (rows), and the first (first)."
    )
    repeats_by_file_pair: list[dict[str, Any]] = doc(
        "Repeated rows by file (file) and the file of the rows audited in their place (audited_file): rows, ranges, "
        "and of the rows those of another claim under the same number (another_claim) or another line of the file "
        "under the same key (another_line)."
    )
    claim_numbers_reused: dict[str, Any] = doc(
        "Rows repeating the claim number and line of a later row of another patient and date of service, not "
        "audited (rows), and the first (first)."
    )
    lines_sharing_a_key: dict[str, Any] = doc(
        "Rows repeating the claim number and line of a later row of the same file of another patient, date of "
        "service or code, not audited (rows), and the first (first)."
    )
    reversals: dict[str, int] = doc(
        "Audited lines set aside before the rules: credit lines (credit_lines) and the charges they reverse "
        "(charges_reversed); and the charges partial credits take units off (charges_reduced), still audited."
    )
    lines_without_patient: int = doc(
        "Audited lines without a patient (none given, or a placeholder such as 000000), each its claim's own visit."
    )
    crowded_visits: dict[str, Any] = doc(
        "Visits (patient and date of service) of more claims (more_claims_than) than one patient has: how many "
        "(visits), their lines, the patient ids (patient_ids) and the findings on them (findings_on_them: "
        "findings, claims, estimated_total, low_confidence)."
    )
    paid_amounts: dict[str, Any] = doc(
        "Lines charged with a known paid amount (lines_charged_with_paid_known), those paid exactly their "
        "charge (paid_the_charge) or more (paid_above_the_charge); the lines paid of drugs and braces "
        "(cms_priced_lines_paid) and their median paid per unit over CMS's price (median_paid_to_cms_price); "
        "what the paid amounts look like (looks_like: cents; dollars, read as cents; another column: charges, "
        "claim; or none), and whether the mapping read them as cents (read_as_cents)."
    )
    cautions: list[str] = doc(
        "The data-quality cautions that may move the estimates, by the name of their field (rows_of_a_bad_value, "
        "paid_amounts, crowded_visits, claim_numbers_reused, lines_sharing_a_key): the summary points to them."
    )
    estimated_total: Decimal = doc("Total estimated lost revenue in dollars (priced lost-revenue findings).")
    recoverable_total: Decimal = doc("Lost revenue whose timely-filing deadline is on or after as_of.")
    older_total: Decimal = doc("Lost revenue past its timely-filing deadline on as_of.")
    exposure_total: Decimal = doc("Compliance exposure (units billed above the dose), not in the leakage total.")
    findings_count: int = doc("Number of findings of every kind.")
    claims_affected: int = doc("Distinct claims with at least one finding.")
    unpriced_count: int = doc("Findings with no price basis (not in the totals).")
    largest_sources: list[LossSource] = doc("The three rules with the largest estimated loss, largest first.")
    charts: list[Chart] = doc("Charts: by rule, by month of service, by payer, by provider, by procedure code.")
    rules: list[RuleSection] = doc("One section per registered rule, in catalog order.")
    top_findings: list[FindingRow] = doc("The largest lost-revenue findings of every rule, largest first.")
    compared_with: str | None = doc("Output directory of the previous run compared with (--compare), or None.")
    comparison: list[ComparisonRow] = doc("Per rule: new, resolved and still-open findings since compared_with.")
    reference_data: list[dict[str, Any]] = doc("Reference data releases used: dataset, release, source file, sha256.")
    dmepos_state: str = doc("State whose DMEPOS fees were used, or 'national median'.")
    price_bases: list[str] = doc("How each price basis values a finding, in words.")
    filing_limits: list[tuple[str, int]] = doc("Timely-filing limits used: payer type or payer id, and days.")
    patient_ids_shown: bool = doc("Whether patient identifiers are shown as is (--show-patient-ids).")


def mask_patient(patient_id: str | None) -> str:
    """A stable short pseudonym for a patient id (HMAC-SHA-256; key from ``LEAKAUDIT_MASK_KEY``).

    Without a secret key the pseudonym only hides the id from a casual reader: short ids can be guessed
    by hashing candidates. Set ``LEAKAUDIT_MASK_KEY`` to a secret for reports that leave the organisation.
    """
    if not patient_id:
        return ""
    key = os.environ.get("LEAKAUDIT_MASK_KEY", "leakaudit").encode()
    return "pt-" + hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()[:10]


def _total(frame: pl.DataFrame) -> Decimal:
    value = frame["estimated_amount"].sum() if frame.height else None
    return Decimal(value).quantize(Decimal("0.01")) if value is not None else ZERO


def _by_amount(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(["estimated_amount", "claim_id", "line_number"], descending=[True, False, False], nulls_last=True)


#: The share of the rows read rejected for a bad value from which the summary cautions: a finding may hang
#: on any of them (the drug of an administration, the L-code of a brace), and their own losses are unseen.
BAD_VALUE_CAUTION_SHARE = Decimal("0.05")


def rows_of_a_bad_value(summary: dict[str, Any]) -> int:
    """The rows of ``summary.json`` rejected for a bad value (``rejects.csv``): all rejected but the repeats."""
    return int(summary["rows_rejected"] - sum(each["repeated"] for each in summary["inputs"]))


def _cautions(summary: dict[str, Any]) -> list[str]:
    """The ``summary.json`` fields of a data-quality caution that may move the estimates (see ``cautions``)."""
    bad = rows_of_a_bad_value(summary)
    raised = {
        "rows_of_a_bad_value": bad > 0 and bad >= BAD_VALUE_CAUTION_SHARE * summary["rows_read"],
        "paid_amounts": summary["paid_amounts"]["looks_like"] is not None,
        "crowded_visits": summary["crowded_visits"]["visits"] > 0,
        "claim_numbers_reused": summary["claim_numbers_reused"]["rows"] > 0,
        "lines_sharing_a_key": summary["lines_sharing_a_key"]["rows"] > 0,
    }
    return [name for name, caution in raised.items() if caution]


def build_report_context(
    *,
    summary: dict[str, Any],
    findings: pl.DataFrame,
    rules: Sequence[Any],
    options: ReportOptions | None = None,
    price_bases: Sequence[str] = (),
    comparison: pl.DataFrame | None = None,
    compared_with: str | None = None,
    filing_limits: Sequence[tuple[str, int]] = (),
) -> ReportContext:
    """Assemble the report's data from the audit summary and the findings table."""
    options = options or ReportOptions()
    findings = findings.with_columns((pl.col("filing_deadline") >= options.as_of).alias("recoverable"))
    lost = findings.filter(pl.col("finding_kind") == "lost_revenue")
    estimated_total = _total(lost)

    def row(values: dict[str, Any]) -> FindingRow:
        return _finding_row(values, options.show_patient_ids)

    totals = rule_totals(findings, [rule.id for rule in rules])
    sections = [
        _rule_section(rule, totals_row, findings, row)
        for rule, totals_row in zip(rules, totals.iter_rows(named=True), strict=True)
    ]
    titles = {rule.id: rule.title for rule in rules}
    return ReportContext(
        title=options.title,
        client=options.client,
        logo_data_uri=options.logo_data_uri,
        as_of=options.as_of.isoformat(),
        period_first=summary["service_dates"]["first"],
        period_last=summary["service_dates"]["last"],
        inputs=summary["inputs"],
        rows_read=summary["rows_read"],
        rows_audited=summary["rows_audited"],
        rows_rejected=summary["rows_rejected"],
        rejects_by_reason=summary["rejects_by_reason"],
        findings_with_rejected_rows=summary["findings_with_rejected_rows"],
        repeats_within_a_file=summary["repeats_within_a_file"],
        repeats_by_file_pair=summary["repeats_by_file_pair"],
        claim_numbers_reused=summary["claim_numbers_reused"],
        lines_sharing_a_key=summary["lines_sharing_a_key"],
        reversals=summary["reversals"],
        lines_without_patient=summary["lines_without_patient"],
        crowded_visits=summary["crowded_visits"],
        cautions=_cautions(summary),
        rows_of_a_bad_value=rows_of_a_bad_value(summary),
        paid_amounts=summary["paid_amounts"],
        estimated_total=estimated_total,
        recoverable_total=_total(lost.filter(pl.col("recoverable"))),
        older_total=_total(lost.filter(pl.col("recoverable").not_())),
        exposure_total=_total(findings.filter(pl.col("finding_kind") == "compliance_exposure")),
        findings_count=findings.height,
        claims_affected=summary["claims_affected"],
        unpriced_count=int(findings["estimated_amount"].is_null().sum()),
        largest_sources=_largest_sources(sections, lost, estimated_total),
        charts=_charts(sections, lost),
        rules=sections,
        top_findings=[row(r) for r in _by_amount(lost).head(TOP_FINDINGS).iter_rows(named=True)],
        compared_with=compared_with,
        comparison=[
            ComparisonRow(title=titles.get(r["rule_id"], r["rule_id"]), **r)
            for r in (comparison.iter_rows(named=True) if comparison is not None else [])
        ],
        reference_data=summary.get("reference_data", []),
        dmepos_state=summary.get("dmepos_state", "national median"),
        price_bases=list(price_bases),
        filing_limits=list(filing_limits),
        patient_ids_shown=options.show_patient_ids,
    )


def _finding_row(values: dict[str, Any], show_patient_ids: bool) -> FindingRow:
    patient = values["patient_id"] or ""
    return FindingRow(
        rule_id=values["rule_id"],
        claim_id=values["claim_id"],
        line_number=values["line_number"],
        service_date=values["service_date"].isoformat(),
        patient=patient if show_patient_ids else mask_patient(patient),
        procedure_code=values["procedure_code"],
        rendering_npi=values["rendering_npi"] or "",
        payer_id=values["payer_id"] or "",
        estimated_amount=values["estimated_amount"],
        estimate_method=values["estimate_method"],
        confidence=values["confidence"],
        finding_kind=values["finding_kind"],
        message=values["message"],
        filing_deadline=values["filing_deadline"].isoformat(),
        recoverable=bool(values["recoverable"]),
    )


def _rule_section(rule: Any, totals: dict[str, Any], findings: pl.DataFrame, row: Any) -> RuleSection:
    mine = findings.filter(pl.col("rule_id") == rule.id)
    confidence = dict(mine.group_by("confidence").len().iter_rows())
    methods = mine.group_by("estimate_method").len().sort(["len", "estimate_method"], descending=[True, False])
    return RuleSection(
        id=rule.id,
        title=rule.title,
        summary=rule.summary(),
        why=rule.section("Why it leaks:"),
        estimate=rule.section("How the loss is estimated:"),
        count=totals["count"],
        claims=totals["claims"],
        estimated_total=totals["estimated_total"],
        exposure_total=totals["exposure_total"],
        unpriced=totals["unpriced"],
        confidence_mix={level: confidence.get(level, 0) for level in ("high", "medium", "low")},
        methods=[(m, n) for m, n in methods.head(8).iter_rows()],
        top_findings=[row(r) for r in _by_amount(mine).head(TOP_PER_RULE).iter_rows(named=True)],
    )


def _largest_sources(sections: list[RuleSection], lost: pl.DataFrame, total: Decimal) -> list[LossSource]:
    ranked = sorted((s for s in sections if s.estimated_total > 0), key=lambda s: (-s.estimated_total, s.id))[:3]
    sources = []
    for section in ranked:
        codes = (
            lost.filter(pl.col("rule_id") == section.id)
            .group_by("procedure_code")
            .agg(pl.col("estimated_amount").sum())
            .sort(["estimated_amount", "procedure_code"], descending=[True, False], nulls_last=True)
        )
        top_code, top_amount = codes.row(0)
        sources.append(
            LossSource(
                title=section.title,
                amount=section.estimated_total,
                share=(section.estimated_total * 100 / total).quantize(Decimal("0.1")),
                count=section.count,
                top_code=top_code,
                top_code_amount=Decimal(top_amount or 0).quantize(Decimal("0.01")),
            )
        )
    return sources


def _top(lost: pl.DataFrame, by: str, unknown: str) -> tuple[list[str], list[float]]:
    grouped = (
        lost.with_columns(pl.col(by).cast(pl.String).fill_null(unknown))
        .group_by(by)
        .agg(pl.col("estimated_amount").sum().fill_null(0))
        .sort(["estimated_amount", by], descending=[True, False])
        .head(TOP_IN_CHART)
    )
    return grouped[by].to_list(), [float(v) for v in grouped["estimated_amount"].to_list()]


def _charts(sections: list[RuleSection], lost: pl.DataFrame) -> list[Chart]:
    monthly = (
        lost.group_by(pl.col("service_date").dt.strftime("%Y-%m").alias("month"))
        .agg(pl.col("estimated_amount").sum().fill_null(0))
        .sort("month")
    )
    payers = _top(lost, "payer_id", "(payer unknown)")
    providers = _top(lost, "rendering_npi", "(provider unknown)")
    codes = _top(lost, "procedure_code", "(none)")
    return [
        Chart(
            "chart-by-rule",
            "Estimated lost revenue by rule",
            "Priced lost-revenue findings of each rule; compliance exposure and unpriced findings are not included.",
            bar_chart_svg(
                labels=[s.title for s in sections],
                values=[float(s.estimated_total) for s in sections],
                title="Estimated lost revenue by rule",
            ),
        ),
        Chart(
            "chart-by-month",
            "Trend by month of service",
            "Estimated lost revenue by the month the service was given; months without findings are not shown.",
            trend_chart_svg(
                periods=monthly["month"].to_list(),
                values=[float(v) for v in monthly["estimated_amount"].to_list()],
                title="Estimated lost revenue by month of service",
            ),
        ),
        Chart(
            "chart-by-payer",
            "By payer",
            f"The {TOP_IN_CHART} payers with the largest estimated lost revenue.",
            bar_chart_svg(labels=payers[0], values=payers[1], title="Estimated lost revenue by payer"),
        ),
        Chart(
            "chart-by-provider",
            "By rendering provider (top 10)",
            f"The {TOP_IN_CHART} rendering providers (NPI) with the largest estimated lost revenue.",
            bar_chart_svg(labels=providers[0], values=providers[1], title="Estimated lost revenue by provider"),
        ),
        Chart(
            "chart-by-code",
            "Procedure codes involved",
            f"The {TOP_IN_CHART} procedure codes on the lines with the largest estimated lost revenue.",
            bar_chart_svg(labels=codes[0], values=codes[1], title="Estimated lost revenue by procedure code"),
        ),
    ]
