"""Shared helpers: write claim lines as a real CSV export, locate the bundled sample data."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"
SAMPLE_CSV = SAMPLE_DIR / "claims.csv"

#: Values a test line gets unless it says otherwise (required columns only).
LINE_DEFAULTS = {"line_number": "1", "service_date": "2025-03-14", "units": "1", "charge_amount": "100.00"}


def write_claims_csv(path: Path, rows: list[dict[str, Any]], defaults: dict[str, str] | None = None) -> Path:
    """Write rows (missing values filled from ``defaults``, LINE_DEFAULTS unless given) as CSV; return its path."""
    base = LINE_DEFAULTS if defaults is None else defaults
    filled = [{**base, **{k: "" if v is None else str(v) for k, v in row.items()}} for row in rows]
    columns: list[str] = []
    for row in filled:
        columns += [c for c in row if c not in columns]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(filled)
    return path


def write_compressed(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` compressed as its name says (``.gz``: gzip, ``.zst``: zstd), else as it is."""
    suffix = path.suffix.lower()
    if suffix == ".zst":
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(data)
        return path
    path.write_bytes(gzip.compress(data) if suffix == ".gz" else data)
    return path


@pytest.fixture
def claims_csv(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A function that writes rows to a CSV in tmp_path and returns its path."""

    def write(rows: list[dict[str, Any]], name: str = "claims.csv") -> Path:
        return write_claims_csv(tmp_path / name, rows)

    return write
