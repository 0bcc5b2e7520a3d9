"""Partition by partition, the rules give the whole audit's findings (docs/scale-out.md).

The audited lines are split into partitions that keep every encounter whole; each partition is audited
on its own, with the whole audit as its ``history`` (the global steps: price bases, a provider's
typical units). The partitions' findings, concatenated and sorted, are the whole audit's.
"""

from __future__ import annotations

import polars as pl
import pytest

from conftest import write_claims_csv
from leakaudit.findings import SORT_KEYS, find_all
from leakaudit.generate import generate
from leakaudit.io import encounter_key, scan_claim_lines
from leakaudit.rules import AuditContext, get_rules

PARTITIONS = 4


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Generated lines, plus one provider whose typical units only the whole audit can tell, and a line of no units.

    Collected once: ``encounter_id`` numbers hold within one collect (see ``io.reader.encounter_id``).
    """
    out = tmp_path_factory.mktemp("scale-out")
    generate(20_000, seed=11, out=out, workers=1)
    # Six encounters of J3301 at 4 units and one at 1, each of its own patient: spread over the partitions,
    # no partition holds the 5 lines a provider's typical units need.
    typical = write_claims_csv(
        out / "typical.csv",
        [
            {
                "claim_id": f"T{n}",
                "patient_id": f"PT{n}",
                "procedure_code": "J3301",
                "units": "1" if n == 0 else "4",
                "rendering_npi": "1999999999",
                "payer_id": "BCBS",
                "paid_amount": "" if n == 0 else "8.00",
            }
            for n in range(7)
        ]
        # A drug line of no units by a provider with no other line: valued at the organisation's typical units.
        + [
            {
                "claim_id": "T7",
                "patient_id": "PT7",
                "procedure_code": "J3301",
                "units": "0",
                "rendering_npi": "1777777777",
                "payer_id": "BCBS",
                "paid_amount": "",
            }
        ],
    )
    return scan_claim_lines([out / "claims", typical]).audited.collect()


def _partitions(lines: pl.DataFrame) -> list[pl.DataFrame]:
    """``lines`` split by encounter: each encounter's lines in one partition."""
    number = encounter_key().rank("dense") % PARTITIONS
    parts = lines.with_columns(number.alias("partition")).partition_by("partition", include_key=False)
    assert len(parts) == PARTITIONS
    return parts


def _by_partition(lines: pl.DataFrame, *, with_history: bool) -> pl.DataFrame:
    history = lines.lazy() if with_history else None
    found = [find_all(get_rules(), AuditContext(lines=part.lazy(), history=history)) for part in _partitions(lines)]
    return pl.concat(found).sort(list(SORT_KEYS), nulls_last=True)


def test_partitions_with_the_whole_history_give_the_whole_audits_findings(lines: pl.DataFrame) -> None:
    whole = find_all(get_rules(), AuditContext(lines=lines.lazy()))
    assert set(whole["rule_id"]) == {rule.id for rule in get_rules()}
    assert whole.filter(pl.col("claim_id") == "T0")["message"].str.contains("typical 4 units").all()
    (no_units,) = whole.filter(pl.col("claim_id") == "T7")["message"]
    assert "billed with no units" in no_units and "the organisation's typical" in no_units
    assert _by_partition(lines, with_history=True).equals(whole)


def test_partitions_on_their_own_history_differ(lines: pl.DataFrame) -> None:
    """Why the global steps exist: a partition alone knows too little of the organisation's history."""
    whole = find_all(get_rules(), AuditContext(lines=lines.lazy()))
    alone = _by_partition(lines, with_history=False)
    assert whole.filter(pl.col("claim_id") == "T0").height == 1
    assert alone.filter(pl.col("claim_id") == "T0").is_empty()  # the provider's typical units
    assert alone["estimated_amount"].sum() != whole["estimated_amount"].sum()  # the price bases
