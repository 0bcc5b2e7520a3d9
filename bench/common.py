"""What the comparison implementations share: the reference tables, exported once from leakaudit's own."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from leakaudit.refdata import load_refdata
from leakaudit.rules import AuditContext
from leakaudit.rules.expired_code import code_validity
from leakaudit.rules.jcode_unit_mismatch import billing_units_by_ndc


def export_reference(target: Path) -> None:
    """Write for DuckDB and pandas hcpcs.parquet (the codes known, with their valid dates), asp.parquet (dosage),
    mue.parquet (the CMS practitioner MUE and its MAI) and crosswalk.parquet (billing units per NDC)."""
    target.mkdir(parents=True, exist_ok=True)
    refdata = load_refdata(include_user_store=False)
    # The codes the rule knows: the HCPCS releases, and the newer codes other CMS files list.
    validity = code_validity(AuditContext(lines=pl.LazyFrame(), refdata=refdata))
    validity.collect().sort("code").write_parquet(target / "hcpcs.parquet")
    refdata.asp.select("code", "dosage_amount", "dosage_unit").collect().with_columns(
        pl.col("dosage_amount").cast(pl.Float64)
    ).write_parquet(target / "asp.parquet")
    # The contenders hold every line to one MUE table: the newest release's (the snapshot ships one).
    newest = refdata.mue.filter(pl.col("release") == refdata.release_of("mue"))
    newest.select("code", "mue", "mai").collect().sort("code").write_parquet(target / "mue.parquet")
    billing_units_by_ndc(refdata.crosswalk).collect().with_columns(
        pl.col("package_size", "billing_units_per_item").cast(pl.Float64)
    ).sort("code", "ndc").write_parquet(target / "crosswalk.parquet")


if __name__ == "__main__":
    export_reference(Path(sys.argv[1]))
