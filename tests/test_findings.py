"""The findings table: every rule together, one schema, a total order."""

from __future__ import annotations

import polars as pl

from conftest import SAMPLE_CSV
from leakaudit.findings import FINDING_SCHEMA, SORT_KEYS, find_all
from leakaudit.io import scan_claim_lines
from leakaudit.rules import HIT_SCHEMA, RULE_HIT_SCHEMA, AuditContext, get_rules, hit_lines, identify
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
