"""What the comparison implementations share: the reference tables, exported once from leakaudit's own."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from leakaudit.refdata import load_refdata


def export_reference(target: Path) -> None:
    """Write hcpcs.parquet (validity) and asp.parquet (dosage) for DuckDB and pandas to read."""
    target.mkdir(parents=True, exist_ok=True)
    refdata = load_refdata(include_user_store=False)
    refdata.hcpcs.collect().write_parquet(target / "hcpcs.parquet")
    refdata.asp.select("code", "dosage_amount", "dosage_unit").collect().with_columns(
        pl.col("dosage_amount").cast(pl.Float64)
    ).write_parquet(target / "asp.parquet")


if __name__ == "__main__":
    export_reference(Path(sys.argv[1]))
