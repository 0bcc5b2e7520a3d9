"""jcode-unit-mismatch beyond its YAML cases: the reference data it reads (see also tests/rules)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import polars as pl

from leakaudit.refdata import load_refdata
from leakaudit.rules import AuditContext
from leakaudit.rules.jcode_unit_mismatch import expected_units


def test_a_crosswalk_pair_listed_with_different_units_converts_nothing() -> None:
    """Listed twice alike, an NDC converts; listed with two package sizes, which is right cannot be told."""
    refdata = load_refdata(include_user_store=False)
    rows = [
        ("J3301", "00003029305", "1", "4"),
        ("J3301", "00003029305", "1", "4"),
        ("J9035", "50242006001", "4", "10"),
        ("J9035", "50242006001", "16", "40"),
    ]
    crosswalk = pl.LazyFrame(
        rows, schema=["code", "ndc", "package_size", "billing_units_per_item"], orient="row"
    ).with_columns(pl.col("package_size", "billing_units_per_item").cast(pl.Decimal(18, 4)))
    lines = pl.LazyFrame(
        {
            "line_id": [1, 2],
            "procedure_code": ["J3301", "J9035"],
            "ndc": ["00003-0293-05", "50242-0060-01"],
            "ndc_quantity": [Decimal("2"), Decimal("16")],
            "ndc_unit": ["UN", "ML"],
        }
    )
    ctx = AuditContext(lines=lines, refdata=replace(refdata, crosswalk=crosswalk))
    for _ in range(5):  # the same every time
        units = expected_units(ctx, lines).collect().sort("line_id")["expected_units"].to_list()
        assert units == [8.0, None]
