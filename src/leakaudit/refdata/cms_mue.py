"""Importer for the CMS NCCI practitioner services MUE table: the most units of a code per day/line.

Reads the CMS CSV (copyright notice in a quoted multi-line first row, header in the second), its xlsx,
or a CSV with the same columns under plain names.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.refdata.tables import read_cms_table

DATASET = "mue"
SCHEMA = pl.Schema({"code": pl.String(), "mue": pl.Int64(), "mai": pl.Int64(), "rationale": pl.String()})


def parse(path: Path) -> tuple[pl.DataFrame, str]:
    """Read one practitioner MUE table into :data:`SCHEMA`."""
    table, _ = read_cms_table(
        path,
        {
            "code": r"hcpcs/ ?cpt code|hcpcs_cpt_code",
            "mue": r"practitioner services mue values?|practitioner_services_mue_value",
            "mai": r"mue adjudication indicator|mai",
            "rationale": r"mue rationale|mue_rationale",
        },
    )
    frame = table.filter(pl.col("code").is_not_null()).select(
        pl.col("code").str.to_uppercase(),
        pl.col("mue").cast(pl.Int64, strict=True),
        # "3 Date of Service Edit: Clinical" -> 3
        pl.col("mai").str.extract(r"^(\d)").cast(pl.Int64),
        "rationale",
    )
    return frame.cast(SCHEMA), ""
