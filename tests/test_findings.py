"""The findings table: every rule together, one schema, a total order."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE_CSV
from leakaudit import findings
from leakaudit.findings import FINDING_SCHEMA, SORT_KEYS, find_all
from leakaudit.generate import generate
from leakaudit.io import scan_claim_lines
from leakaudit.pipeline import run_audit
from leakaudit.pricing import BASES, estimate, history_lines
from leakaudit.pricing.basis import HISTORY_COLUMNS
from leakaudit.rules import HIT_SCHEMA, RULE_HIT_SCHEMA, AuditContext, Rule, get_rules, hit_lines, identify
from leakaudit.rules.drug_admin_without_drug import DrugAdminWithoutDrug
from leakaudit.rules.jcode_unit_mismatch import CONVERTED_COLUMNS, JcodeUnitMismatch
from leakaudit.schema import conform


def test_all_rules_together_on_parquet_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Regression: encounter-anchored rules in one plan crashed Polars (struct sort_by first in a group-by)."""
    lines_file = tmp_path / "lines.parquet"
    scan_claim_lines([SAMPLE_CSV]).audited.sink_parquet(lines_file)
    context = AuditContext(lines=pl.scan_parquet(lines_file))
    together = find_all(get_rules(), context)
    one_by_one = pl.concat([find_all([rule], context) for rule in get_rules()]).sort(list(SORT_KEYS), nulls_last=True)
    assert together.schema == FINDING_SCHEMA
    assert together.equals(one_by_one)
    assert set(together["rule_id"]) == {rule.id for rule in get_rules()}


def test_findings_are_unique_by_their_sort_keys() -> None:
    findings = find_all(get_rules(), AuditContext(lines=scan_claim_lines([SAMPLE_CSV]).audited))
    assert findings.select(SORT_KEYS[:4]).is_duplicated().sum() == 0


def test_identify_gives_each_hit_its_own_line_from_any_file(claims_csv) -> None:  # type: ignore[no-untyped-def]
    first = claims_csv([{"claim_id": "C1", "procedure_code": "96372", "patient_id": "P1"}], name="a.csv")
    second = claims_csv(
        [
            {"claim_id": "C2", "procedure_code": "99213", "patient_id": "P2"},
            {"claim_id": "C2", "line_number": "2", "procedure_code": "J3301", "patient_id": "P2", "payer_id": "MCR"},
        ],
        name="b.csv",
    )
    lines = scan_claim_lines([first, second]).audited
    line_ids = {(c, n): i for c, n, i in lines.select("claim_id", "line_number", "line_id").collect().iter_rows()}
    assert len(set(line_ids.values())) == 3  # the first row of each file differs by the file's position
    hit = line_ids[("C2", 2)]
    rule_hits = pl.DataFrame(
        {"line_id": [hit, hit], "rule_id": ["rule-a", "rule-b"], "price_quantity": ["1", "2"]}
    ).with_columns(
        pl.lit(None, pl.String()).alias(c) for c in RULE_HIT_SCHEMA if c not in ("line_id", "rule_id", "price_quantity")
    )
    rule_hits = conform(rule_hits.lazy(), RULE_HIT_SCHEMA).collect()
    identified = identify(rule_hits, hit_lines(rule_hits, lines)).collect().sort("rule_id")
    assert identified.schema == HIT_SCHEMA
    assert identified.select(
        "rule_id", "claim_id", "line_number", "procedure_code", "payer_id", "encounter_key"
    ).rows() == [
        ("rule-a", "C2", 2, "J3301", "MCR", "P:P2|2025-03-14"),
        ("rule-b", "C2", 2, "J3301", "MCR", "P:P2|2025-03-14"),
    ]


def test_a_finding_beside_a_rejected_row_names_it_and_one_calling_a_code_missing_turns_low(  # type: ignore[no-untyped-def]
    claims_csv, tmp_path
) -> None:
    """Regression: the drug's row rejected for its charge, the rules saw an administration without a drug.

    The finding stays, for most rows are rejected for a value beside the point, but says so: matched by
    claim or by visit (patient and date of service), never by a repeat nor by a row of another visit.
    """
    admin, drug, feb = "96372", "J3301", {"service_date": "2026-02-10"}
    # A visit's second line, of a payer type the mapping lacks.
    unmapped = {"line_number": "2", "procedure_code": "99213", "payer_type": "workers comp", **feb}
    path = claims_csv(
        [
            # Row 1-2. The drug's row rejected: the same claim.
            {"claim_id": "C1", "procedure_code": admin, "patient_id": "P1"},
            {"claim_id": "C1", "line_number": "2", "procedure_code": drug, "patient_id": "P1", "charge_amount": "12O"},
            # Row 3-4. No drug, nothing rejected; its line exported twice (a repeat is no rejected row).
            {"claim_id": "C2", "procedure_code": admin, "patient_id": "P2"},
            {"claim_id": "C2", "procedure_code": admin, "patient_id": "P2"},
            # Row 5-7. Two rows of the visit rejected, on a claim of their own: one without its claim number.
            {"claim_id": "C3", "procedure_code": admin, "patient_id": "P3"},
            {"claim_id": "C4", "procedure_code": drug, "patient_id": "P3", "units": "one"},
            {"claim_id": "", "line_number": "2", "procedure_code": drug, "patient_id": "P3"},
            # Row 8-9. A code billed after its termination, beside a rejected row.
            {"claim_id": "C5", "procedure_code": "S0013", "patient_id": "P5", **feb},
            {"claim_id": "C5", "patient_id": "P5", **unmapped},
            # Row 10. Its twin, alone.
            {"claim_id": "C6", "procedure_code": "S0013", "patient_id": "P6", **feb},
            # Row 11-12. A row of the patient's next day rejected: another visit.
            {"claim_id": "C7", "procedure_code": admin, "patient_id": "P7"},
            {"claim_id": "C8", "procedure_code": drug, "patient_id": "P7", "service_date": "2025-03-15", "units": "x"},
            # Row 13-14. The drug's row of an impossible date: the same claim still.
            {"claim_id": "C9", "procedure_code": admin, "patient_id": "P9"},
            {
                "claim_id": "C9",
                "line_number": "2",
                "procedure_code": drug,
                "patient_id": "P9",
                "service_date": "2025-02-30",
            },
            # Row 15-16. A rejected row whose claim line a later export holds corrected.
            {"claim_id": "C10", "procedure_code": "S0013", "patient_id": "P10", **feb},
            {"claim_id": "C10", "patient_id": "P10", **unmapped},
        ],
    )
    later = claims_csv([{"claim_id": "C10", "patient_id": "P10", **unmapped, "payer_type": ""}], name="later.csv")
    result = run_audit([path, later], tmp_path / "out", findings_only=True)
    found = {row["claim_id"]: row for row in result.findings.iter_rows(named=True)}
    assert set(found) == {"C1", "C2", "C3", "C5", "C6", "C7", "C9", "C10"}
    assert {found[c]["rule_id"] for c in ("C1", "C2", "C3", "C7", "C9")} == {"drug-admin-without-drug"}
    missing = ", which may bill the missing code"
    assert found["C1"]["message"].endswith(
        f" Rejected: 1 row of this claim or visit ({path} row 2, charge_amount){missing}: correct it (rejects.csv) "
        "and audit again."
    )
    assert found["C3"]["message"].endswith(
        f" Rejected: 2 rows of this claim or visit ({path} row 6, units, and 1 more){missing}: correct them "
        "(rejects.csv) and audit again."
    )
    assert found["C9"]["message"].endswith(
        f"({path} row 14, service_date){missing}: correct it (rejects.csv) and audit again."
    )
    assert found["C5"]["message"].endswith(
        f" Rejected: 1 row of this claim or visit ({path} row 9, payer_type): correct it (rejects.csv) and audit again."
    )
    for claim in ("C2", "C6", "C7", "C10"):
        assert "Rejected" not in found[claim]["message"]
    # Low where the rejected row may hold the code called missing; otherwise as the rule found it.
    assert [found[c]["confidence"] for c in ("C1", "C3", "C9")] == ["low"] * 3
    assert found["C2"]["confidence"] == found["C7"]["confidence"] != "low"
    assert found["C5"]["confidence"] == found["C6"]["confidence"] != "low"
    assert found["C5"]["message"].startswith(found["C6"]["message"])
    beside = result.summary["findings_with_rejected_rows"]
    marked = result.findings.filter(pl.col("claim_id").is_in(["C1", "C3", "C5", "C9"]))
    lost = marked.filter(pl.col("finding_kind") == "lost_revenue")["estimated_amount"].sum()
    assert beside == {"findings": 4, "claims": 4, "estimated_total": round(float(lost), 2), "low_confidence": 3}
    assert result.summary["rows_rejected"] == 7 + 1  # and the repeat


def test_a_claim_line_rejected_in_overlapping_exports_counts_once_with_its_copies_said(  # type: ignore[no-untyped-def]
    claims_csv, tmp_path
) -> None:
    """The same bad row in two overlapping exports is one line unseen, not two; its copy is said apart.

    A row whose claim number is the value at fault cannot be told from another: each counts.
    """
    admin, drug = "96372", "J3301"
    first = [
        # Row 1-2. The drug's row rejected for its charge.
        {"claim_id": "C1", "procedure_code": admin, "patient_id": "P1"},
        {"claim_id": "C1", "line_number": "2", "procedure_code": drug, "patient_id": "P1", "charge_amount": "12O"},
        # Row 3-5. Two lines of the claim rejected.
        {"claim_id": "C2", "procedure_code": admin, "patient_id": "P2"},
        {"claim_id": "C2", "line_number": "2", "procedure_code": drug, "patient_id": "P2", "units": "one"},
        {"claim_id": "C2", "line_number": "3", "procedure_code": drug, "patient_id": "P2", "charge_amount": "x"},
        # Row 6-7. A row of the visit without its claim number.
        {"claim_id": "C3", "procedure_code": admin, "patient_id": "P3"},
        {"claim_id": "", "line_number": "2", "procedure_code": drug, "patient_id": "P3"},
    ]
    path = claims_csv(first)
    # The next month's export holds them again, but for C2's line 3.
    later = claims_csv(first[:4] + first[5:], name="later.csv")
    result = run_audit([path, later], tmp_path / "out", findings_only=True)
    found = {row["claim_id"]: row["message"] for row in result.findings.iter_rows(named=True)}
    assert set(found) == {"C1", "C2", "C3"}
    tail = ", which may bill the missing code: correct {} (rejects.csv) and audit again."
    assert found["C1"].endswith(
        f" Rejected: 1 row of this claim or visit ({path} row 2, charge_amount; 1 more copy of it rejected)"
        + tail.format("it")
    )
    assert found["C2"].endswith(
        f" Rejected: 2 rows of this claim or visit ({path} row 4, units, and 1 more; 1 more copy of them rejected)"
        + tail.format("them")
    )
    assert found["C3"].endswith(
        f" Rejected: 2 rows of this claim or visit ({path} row 7, claim_id, and 1 more)" + tail.format("them")
    )
    assert result.summary["rows_rejected"] == 4 + 3 + 3  # and the repeats of the rows audited


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> AuditContext:
    """20 k generated lines. Collected once: ``encounter_id`` numbers hold within one collect."""
    out = tmp_path_factory.mktemp("generated")
    generate(20_000, seed=5, out=out, workers=1)
    return AuditContext(lines=scan_claim_lines([out / "claims"]).audited.collect().lazy())


@pytest.mark.parametrize(
    ("rule", "staged", "columns", "messages"),
    [
        # The converted drug lines: every check reads them (the dose, through the crosswalk too; the MUE by
        # day; the typical units; no units).
        (
            JcodeUnitMismatch,
            "converted",
            CONVERTED_COLUMNS,
            ("not billed", "above the CMS", "far below", "no units", "CMS crosswalk"),
        ),
        # The encounters lacking a product: the administrations joined to them.
        (DrugAdminWithoutDrug, "lacking", ("encounter_id", "has_drug", "has_vaccine"), ("no drug", "no vaccine")),
    ],
)
def test_a_rules_staged_frames_are_written_read_and_removed(
    generated: AuditContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rule: type[Rule],
    staged: str,
    columns: tuple[str, ...],
    messages: tuple[str, ...],
) -> None:
    """A rule's staged frame is written to the work directory before the rule runs, its checks read it from
    there, and the file is removed after: its hits are those of the frame cached in memory (``find`` called
    on its own)."""
    ctx = generated
    cached = conform(rule.refine(ctx, rule.find(ctx).collect()), RULE_HIT_SCHEMA).collect()
    written: list[tuple[Path, list[str]]] = []
    write = findings.work_file

    def spied(plan: pl.LazyFrame, path: Path, **options: bool) -> pl.LazyFrame:
        written.append((path, plan.collect_schema().names()))
        return write(plan, path, **options)

    monkeypatch.setattr(findings, "work_file", spied)
    hits = findings._rule_hits(rule, ctx, tmp_path)
    assert written == [(tmp_path / f"{rule.id}.{staged}.parquet", list(columns))]
    assert list(tmp_path.iterdir()) == []
    found = set(hits["message"].str.extract(f"({'|'.join(messages)})"))
    assert found >= set(messages)
    assert hits.sort(pl.all()).equals(cached.sort(pl.all()))
    # The checks read the file: written empty, it gives no hits.
    monkeypatch.setattr(findings, "work_file", lambda plan, path, **options: write(plan.head(0), path, **options))
    assert findings._rule_hits(rule, ctx, tmp_path).is_empty()


def test_the_findings_are_priced_from_the_lines_the_price_bases_read(
    generated: AuditContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines every price basis reads (``pricing.history_lines``), written once to a work file, price every
    hit as the audit's every line would: the same amounts and methods, from far fewer lines and columns."""
    ctx = generated
    rule_hits = pl.concat(findings._rule_hits(rule, ctx, tmp_path) for rule in get_rules())
    hits = identify(rule_hits, hit_lines(rule_hits, ctx.lines).collect().lazy()).collect()
    history = history_lines(hits, ctx).collect()
    lines = ctx.lines.select(pl.len()).collect().item()
    assert history.columns == list(HISTORY_COLUMNS) and 0 < history.height < lines / 2
    assert set(hits["price_basis"]) == set(BASES), "every basis prices some hit"
    every_line = estimate(hits, ctx).collect()
    assert every_line["estimated_amount"].null_count() < every_line.height / 10
    from_history = estimate(hits, replace(ctx, history=history.lazy())).collect()
    # In no particular order: find_all sorts the findings.
    assert from_history.sort(pl.all(), nulls_last=True).equals(every_line.sort(pl.all(), nulls_last=True))

    written: list[Path] = []
    write = findings.work_file

    def spied(plan: pl.LazyFrame, path: Path, **options: bool) -> pl.LazyFrame:
        written.append(path)
        return write(plan, path, **options)

    monkeypatch.setattr(findings, "work_file", spied)
    found = find_all(get_rules(), ctx, work=tmp_path)
    assert written[-1] == tmp_path / findings.HISTORY_FILE
    assert list(tmp_path.iterdir()) == []
    columns = ["rule_id", "claim_id", "line_number", "finding_kind", "estimated_amount", "estimate_method"]
    assert found.select(columns).sort(columns).equals(from_history.select(columns).sort(columns))
