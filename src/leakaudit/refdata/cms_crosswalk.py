"""Importer for the CMS ASP NDC-HCPCS crosswalk: how many billing units one NDC package holds."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.refdata.ndc import ndc11
from leakaudit.refdata.tables import read_cms_table, title_text

DATASET = "crosswalk"
SCHEMA = pl.Schema(
    {
        "code": pl.String(),
        "ndc": pl.String(),
        "drug_name": pl.String(),
        "dosage": pl.String(),
        "package_size": pl.Decimal(18, 4),
        "package_quantity": pl.Decimal(18, 4),
        "billing_units_per_item": pl.Decimal(18, 4),
        "billing_units_per_package": pl.Decimal(18, 4),
    }
)
_NUMBERS = {
    "package_size": "pkg_size",
    "package_quantity": "pkg_qty",
    "billing_units_per_item": "billunits",
    "billing_units_per_package": "billunitspkg",
}


def parse(path: Path) -> tuple[pl.DataFrame, str]:
    """Read one crosswalk file into :data:`SCHEMA`; also return its title block (for the release)."""
    table, preamble = read_cms_table(
        path,
        {
            # The code column is named after the year (_2025_CODE, _2026_CODE).
            "code": r"_?\d{4}_code|hcpcs code",
            "ndc": r"ndc2|ndc",
            "drug_name": r"drug name",
            "dosage": r"hcpcs dosage",
            "pkg_size": r"pkg size",
            "pkg_qty": r"pkg qty",
            "billunits": r"billunits",
            "billunitspkg": r"billunitspkg",
        },
    )
    frame = table.filter(pl.col("code").is_not_null() & pl.col("ndc").is_not_null()).select(
        pl.col("code").str.to_uppercase(),
        ndc11(pl.col("ndc")).alias("ndc"),
        pl.col("drug_name").str.strip_chars(),
        "dosage",
        *(
            pl.col(raw).str.replace_all(",", "").cast(pl.Decimal(18, 4), strict=False).alias(name)
            for name, raw in _NUMBERS.items()
        ),
    )
    return frame.cast(SCHEMA), title_text(preamble)
