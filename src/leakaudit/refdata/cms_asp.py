"""Importer for the CMS ASP pricing file: Medicare Part B payment limit per HCPCS billing unit.

The billing unit is the dosage descriptor (``10 MG``, ``1 ML``, ``100,000 UNITS``); it is split into
an amount and a unit so that rules can convert a dose given into billing units.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.refdata.tables import read_cms_table, title_text

DATASET = "asp"
SCHEMA = pl.Schema(
    {
        "code": pl.String(),
        "dosage": pl.String(),
        "dosage_amount": pl.Decimal(18, 4),
        "dosage_unit": pl.String(),
        "payment_limit": pl.Decimal(18, 4),
    }
)


def dosage_parts(dosage: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``"100,000 UNITS"`` -> (100000, ``"UNITS"``); free text gives nulls."""
    match = dosage.str.to_uppercase().str.strip_chars().str.extract_groups(r"^([\d,]*\.?\d+)\s*([A-Z][A-Z ]*)$")
    amount = match.struct.field("1").str.replace_all(",", "").cast(pl.Decimal(18, 4), strict=False)
    unit = match.struct.field("2").str.strip_chars()
    return amount, unit


def parse(path: Path) -> tuple[pl.DataFrame, str]:
    """Read one ASP pricing file into :data:`SCHEMA`; also return its title block (for the release)."""
    table, preamble = read_cms_table(
        path, {"code": r"hcpcs code", "dosage": r"hcpcs code dosage", "payment_limit": r"payment limit"}
    )
    amount, unit = dosage_parts(pl.col("dosage"))
    frame = table.filter(pl.col("code").is_not_null()).select(
        pl.col("code").str.to_uppercase(),
        "dosage",
        amount.alias("dosage_amount"),
        unit.alias("dosage_unit"),
        # NOTE: "N/A" (e.g. A9606) means CMS publishes no limit: null, never zero.
        pl.col("payment_limit").str.replace_all(r"[$,]", "").cast(pl.Decimal(18, 4), strict=False),
    )
    return frame.cast(SCHEMA), title_text(preamble)
