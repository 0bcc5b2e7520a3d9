"""docs/schema.md documents exactly the canonical columns, with their type and whether required."""

from __future__ import annotations

import re

import polars as pl

from conftest import ROOT
from leakaudit.schema import LINE_COLUMNS


def test_schema_doc_lists_every_column() -> None:
    text = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    found = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|no) \|", text, flags=re.MULTILINE)
    rows = {name: kind for name, kind, _ in found}
    rows_required = {name: required for name, _, required in found}
    assert set(rows) == {c.name for c in LINE_COLUMNS}
    for column in LINE_COLUMNS:
        kind = (
            "decimal"
            if isinstance(column.dtype, pl.Decimal)
            else {pl.String(): "string", pl.Int64(): "integer", pl.Date(): "date"}[column.dtype]
        )
        assert rows[column.name] == kind, column.name
        assert rows_required[column.name] == ("yes" if column.required else "no"), column.name
