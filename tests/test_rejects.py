"""rejects.csv's rows: rows with a bad value and repeated claim lines, in the order the inputs are read."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.io import ClaimLines, find_repeated, ordered_rejects, scan_claim_lines


def _rejected(claim_lines: ClaimLines) -> pl.LazyFrame:
    return claim_lines.with_reject_values(claim_lines.rejects.collect()).lazy()


def test_rows_of_a_bad_value_and_repeats_come_interleaved_in_row_order_in_chunks(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    january = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "99213"},
            {"claim_id": "C2", "procedure_code": "99213", "service_date": "2025-02-30"},
            {"claim_id": "C3", "procedure_code": "99213"},
            {"claim_id": "C4", "procedure_code": "99213", "units": "two"},
        ],
        name="2025-01.csv",
    )
    february = claims_csv(
        [
            {"claim_id": "C3", "procedure_code": "99213"},
            {"claim_id": "C5", "procedure_code": "99213", "units": ""},
            {"claim_id": "C1", "procedure_code": "99213"},
        ],
        name="2025-02.csv",
    )
    claim_lines = scan_claim_lines([january, february])
    repeated = find_repeated(claim_lines.audited, tmp_path / "work")
    expected = [
        (str(january), 1, "(whole row)"),
        (str(january), 2, "service_date"),
        (str(january), 3, "(whole row)"),
        (str(january), 4, "units"),
        (str(february), 2, "units"),
    ]
    for chunk_rows, sizes in [(None, [5]), (1, [1, 1, 1, 1, 1]), (2, [2, 2, 1])]:
        chunks = list(ordered_rejects(_rejected(claim_lines), repeated, claim_lines.files, chunk_rows=chunk_rows))
        assert [chunk.height for chunk in chunks] == sizes, chunk_rows
        assert pl.concat(chunks).select("source_file", "source_row", "column").rows() == expected


def test_without_rejects_there_is_one_empty_chunk(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    claim_lines = scan_claim_lines([claims_csv([{"claim_id": "C1", "procedure_code": "99213"}])])
    repeated = find_repeated(claim_lines.audited, tmp_path / "work")
    chunks = list(ordered_rejects(_rejected(claim_lines), repeated, claim_lines.files))
    assert [chunk.height for chunk in chunks] == [0]
    assert chunks[0].columns == ["line_id", "source_file", "source_row", "column", "value", "reason"]
