"""Baseline: a raw Polars scan of the columns the rules need (read them all, compute nothing)."""

from __future__ import annotations

import sys

import polars as pl

NEEDED = [
    "claim_id",
    "line_number",
    "service_date",
    "procedure_code",
    "units",
    "paid_amount",
    "patient_id",
    "payer_id",
    "rendering_npi",
    "modifiers",
    "ndc",
    "ndc_quantity",
    "ndc_unit",
    "description",
    "diagnosis_codes",
    "revenue_code",
]

if __name__ == "__main__":
    path = sys.argv[1]
    scan = pl.scan_parquet(path) if not path.endswith(".csv") else pl.scan_csv(path, infer_schema=False)
    print(scan.select(pl.col(NEEDED).null_count()).collect(engine="streaming"))
