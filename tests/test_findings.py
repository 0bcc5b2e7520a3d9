"""The findings table: every rule together, one schema, a total order."""

from __future__ import annotations

import polars as pl

from conftest import SAMPLE_CSV
from leakaudit.findings import FINDING_SCHEMA, SORT_KEYS, find_all
from leakaudit.io import scan_claim_lines
from leakaudit.rules import AuditContext, get_rules


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
