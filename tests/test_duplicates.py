"""Claim lines exported more than once: found exactly, the last kept."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.io import find_repeated, repeated_rejects, scan_claim_lines
from leakaudit.io.duplicates import REPEATED_REASON


def test_the_last_of_each_repeated_claim_line_is_kept_whatever_its_values(claims_csv) -> None:  # type: ignore[no-untyped-def]
    """A line exported again after its payment was posted differs from the first export: the later is kept.
    Lines that share a claim but not a line number, or a line number but not a claim, are not repeats."""
    january = claims_csv(
        [
            {"claim_id": "C1", "line_number": "1", "procedure_code": "J3301", "paid_amount": ""},
            {"claim_id": "C1", "line_number": "2", "procedure_code": "96372"},
            {"claim_id": "C2", "line_number": "1", "procedure_code": "99213"},
            {"claim_id": "C1", "line_number": "1", "procedure_code": "J3301", "paid_amount": ""},  # twice in a file
        ],
        name="2025-01.csv",
    )
    february = claims_csv(
        [
            {"claim_id": "C1", "line_number": "1", "procedure_code": "J3301", "paid_amount": "12.40"},
            {"claim_id": "C3", "line_number": "2", "procedure_code": "99213"},
        ],
        name="2025-02.csv",
    )
    lines = scan_claim_lines([january, february]).audited
    repeated = find_repeated(lines)
    assert repeated.select("claim_id", "line_number").rows() == [("C1", 1), ("C1", 1)]
    kept = lines.filter(pl.col("line_id") == repeated["kept_line_id"][0]).collect()
    assert kept["paid_amount"].cast(float).to_list() == [12.4]
    rejects = repeated_rejects(repeated, [january, february])
    assert rejects.select("source_file", "source_row").rows() == [(str(january), 1), (str(january), 4)]
    assert set(rejects["value"]) == {f"C1 line 1: audited from {february} row 1"}
    assert set(rejects["reason"]) == {REPEATED_REASON}


def test_no_repeats_gives_an_empty_table(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path: Path = claims_csv([{"claim_id": f"C{i}", "procedure_code": "99213"} for i in range(50)])
    repeated = find_repeated(scan_claim_lines([path]).audited)
    assert repeated.is_empty()
    assert repeated.columns == ["line_id", "claim_id", "line_number", "kept_line_id"]
