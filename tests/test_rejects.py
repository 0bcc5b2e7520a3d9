"""The rows not audited: rows with a bad value (rejects.csv) and repeated claim lines as ranges (repeats.csv),
each in the order the inputs are read, in chunks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from leakaudit.io import ClaimLines, find_repeated, ordered_rejects, repeat_ranges, scan_claim_lines


def _rejected(claim_lines: ClaimLines) -> pl.LazyFrame:
    return claim_lines.with_reject_values(claim_lines.rejects.collect()).lazy()


def test_rows_of_a_bad_value_come_in_row_order_in_chunks(claims_csv) -> None:  # type: ignore[no-untyped-def]
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
        [{"claim_id": "C5", "procedure_code": "99213", "units": ""}, {"claim_id": "C1", "procedure_code": ""}],
        name="2025-02.csv",
    )
    claim_lines = scan_claim_lines([january, february])
    expected = [
        (str(january), 2, "service_date", "2025-02-30"),
        (str(january), 4, "units", "two"),
        (str(february), 1, "units", None),
        (str(february), 2, "procedure_code", None),
    ]
    for chunk_rows, sizes in [(None, [4]), (1, [1, 1, 1, 1]), (3, [3, 1])]:
        chunks = list(ordered_rejects(_rejected(claim_lines), chunk_rows=chunk_rows))
        assert [chunk.height for chunk in chunks] == sizes, chunk_rows
        assert pl.concat(chunks).select("source_file", "source_row", "column", "value").rows() == expected


def test_without_rejects_there_is_one_empty_chunk(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    claim_lines = scan_claim_lines([claims_csv([{"claim_id": "C1", "procedure_code": "99213"}])])
    chunks = list(ordered_rejects(_rejected(claim_lines)))
    assert [chunk.height for chunk in chunks] == [0]
    assert chunks[0].columns == ["line_id", "source_file", "source_row", "column", "value", "reason"]
    ranges = list(repeat_ranges(find_repeated(claim_lines.audited, tmp_path / "work"), claim_lines.files))
    assert [chunk.height for chunk in ranges] == [0]
    assert ranges[0].columns == [
        "source_file",
        "first_row",
        "last_row",
        "rows",
        "audited_file",
        "audited_first_row",
        "audited_last_row",
        "first_claim_id",
        "first_line_number",
        "repeat_kind",
    ]


@pytest.mark.parametrize("chunk_rows", [None, 1, 4, 7])
def test_exports_overlapping_in_the_same_order_give_a_range_per_run_of_rows(
    claims_csv, tmp_path: Path, chunk_rows: int | None
) -> None:  # type: ignore[no-untyped-def]
    """Monthly exports of "the last 90 days", sorted alike: the overlap of two is one range of rows, cut
    only where a row is not a repeat (a bad row of both, a line the later export left out) or where the
    rows audited in its place stop following each other. Chunks of any size give the same ranges: a range
    is joined across chunks."""
    claims = [{"claim_id": f"C{number:02d}", "procedure_code": "99213"} for number in range(1, 31)]
    bad = {**claims[14], "units": "two"}  # C15, bad in both exports: not audited, so not a repeat
    january = claims_csv([*claims[:14], bad, *claims[15:]], name="2025-01.csv")
    # February exports C11 onwards but C20, and then C06 and C05 again.
    again = [claims[5], claims[4]]
    february = claims_csv([*claims[10:14], bad, *claims[15:19], *claims[20:], *again], name="2025-02.csv")
    claim_lines = scan_claim_lines([january, february])
    repeated = find_repeated(claim_lines.audited, tmp_path / "work")
    chunks = list(repeat_ranges(repeated, claim_lines.files, chunk_rows=chunk_rows))
    ranges = pl.concat(chunks)
    jan, feb = str(january), str(february)
    assert ranges.rows() == [
        (jan, 5, 5, 1, feb, 21, 21, "C05", 1, "copy"),
        (jan, 6, 6, 1, feb, 20, 20, "C06", 1, "copy"),
        (jan, 11, 14, 4, feb, 1, 4, "C11", 1, "copy"),
        (jan, 16, 19, 4, feb, 6, 9, "C16", 1, "copy"),
        (jan, 21, 30, 10, feb, 10, 19, "C21", 1, "copy"),
    ]
    assert ranges["rows"].sum() == repeated.count == 20
    if chunk_rows is not None:
        assert len(chunks) > 2


def test_repeats_within_a_file_follow_the_rows_audited_in_their_place(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file that lists its claim lines twice over: the first copy is a range repeating the second."""
    claims = [{"claim_id": f"C{number}", "procedure_code": "99213"} for number in range(1, 4)]
    export = claims_csv([*claims, *claims])
    claim_lines = scan_claim_lines([export])
    repeated = find_repeated(claim_lines.audited, tmp_path / "work")
    ranges = pl.concat(repeat_ranges(repeated, claim_lines.files, chunk_rows=2))
    assert ranges.rows() == [(str(export), 1, 3, 3, str(export), 4, 6, "C1", 1, "copy")]
