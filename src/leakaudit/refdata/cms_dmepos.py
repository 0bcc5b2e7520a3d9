"""Importer for the CMS DMEPOS fee schedule: fee per code, modifier and state, rural and non-rural.

The published table has one row per code and modifier and two columns per state (``TX (NR)``,
``TX (R)``); it is stored long, one row per code, modifier, state and area, zero fees dropped (a zero
rural fee means "use the non-rural one").
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from leakaudit.io import InputError
from leakaudit.refdata.tables import normalise, read_grid, table_from_grid, title_text

DATASET = "dmepos"
SCHEMA = pl.Schema(
    {
        "code": pl.String(),
        "modifier": pl.String(),
        "modifier_2": pl.String(),
        "category": pl.String(),
        "state": pl.String(),
        "rural": pl.Boolean(),
        "fee": pl.Decimal(18, 2),
    }
)
_STATE = re.compile(r"([a-z]{2}) \((nr|r)\)")


def parse(path: Path) -> tuple[pl.DataFrame, str]:
    """Read one DMEPOS fee schedule into :data:`SCHEMA`; also return its title block."""
    grid = read_grid(path, member=lambda name: bool(re.search(r"dmepos.*\.(csv|xlsx)$", name, re.IGNORECASE)))
    header_index = next((i for i, row in enumerate(grid) if any(_STATE.fullmatch(normalise(c)) for c in row)), None)
    if header_index is None:
        raise InputError(f"{path}: no header row with state fee columns such as 'TX (NR)'")
    states = {
        f"{m.group(1).upper()}|{m.group(2)}": rf"{re.escape(normalise(cell))}"
        for cell in grid[header_index]
        if (m := _STATE.fullmatch(normalise(cell)))
    }
    table, preamble = table_from_grid(
        grid,
        {"code": r"hcpcs", "modifier": r"mod", "modifier_2": r"mod2", "category": r"catg", **states},
        str(path),
    )
    long = table.filter(pl.col("code").is_not_null()).unpivot(
        index=["code", "modifier", "modifier_2", "category"], variable_name="area", value_name="fee"
    )
    frame = long.select(
        pl.col("code").str.to_uppercase(),
        "modifier",
        "modifier_2",
        "category",
        pl.col("area").str.split("|").list.first().alias("state"),
        (pl.col("area").str.split("|").list.last() == "r").alias("rural"),
        pl.col("fee").str.replace_all(r"[$,]", "").cast(pl.Decimal(18, 2), strict=False),
    ).filter(pl.col("fee") > 0)
    return frame.cast(SCHEMA), title_text(preamble)
