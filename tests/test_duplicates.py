"""Claim lines exported more than once: found exactly, the last kept, within bounded passes."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from conftest import write_claims_csv
from leakaudit.io import RepeatTally, duplicates, find_repeated, repeat_ranges, scan_claim_lines
from leakaudit.io.duplicates import REPEATED_REASON
from leakaudit.io.reader import ROW_BITS


def test_the_last_of_each_repeated_claim_line_is_kept_whatever_its_values(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
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
    repeated = find_repeated(lines, tmp_path / "work")
    assert repeated.count == 2
    found = repeated.scan().collect().sort("line_id")
    assert found.select("claim_id", "line_number").rows() == [("C1", 1), ("C1", 1)]
    kept = lines.filter(pl.col("line_id") == found["kept_line_id"][0]).collect()
    assert kept["paid_amount"].cast(float).to_list() == [12.4]
    assert set(repeated.line_ids().to_list()) == set(found["line_id"].to_list())
    ranges = pl.concat(repeat_ranges(repeated, [january, february]))
    columns = ("source_file", "first_row", "last_row", "audited_file", "audited_first_row")
    assert ranges.select(columns).rows() == [
        (str(january), 1, 1, str(february), 1),
        (str(january), 4, 4, str(february), 1),
    ]
    assert repeated.by_reason().rows() == [("(whole row)", REPEATED_REASON, 2)]


def test_no_repeats_writes_nothing(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path: Path = claims_csv([{"claim_id": f"C{i}", "procedure_code": "99213"} for i in range(50)])
    repeated = find_repeated(scan_claim_lines([path]).audited, tmp_path / "work")
    assert repeated.count == 0 and repeated.paths == ()
    assert repeated.scan().collect().columns == ["line_id", "claim_id", "line_number", "kept_line_id"]
    assert pl.concat(repeat_ranges(repeated, [path])).is_empty()
    assert repeated.by_reason().is_empty()


def _exports(tmp_path: Path, claims: int, overlap: float, seed: int) -> list[Path]:
    """Three monthly exports of random claim lines, each sharing about ``overlap`` of its lines with another."""
    rng = random.Random(seed)
    lines = [(f"C{c}", n, rng.randrange(3)) for c in range(claims) for n in range(1, rng.randint(1, 4) + 1)]
    paths = []
    for month in range(3):
        picked = [(c, n) for c, n, home in lines if home == month or rng.random() < overlap]
        rng.shuffle(picked)
        rows = [{"claim_id": c, "line_number": str(n), "procedure_code": "99213"} for c, n in picked]
        paths.append(write_claims_csv(tmp_path / f"2025-0{month + 1}.csv", rows))
    return paths


@pytest.mark.parametrize(("overlap", "seed"), [(0.02, 1), (0.9, 2)])
def test_passes_of_any_size_find_exactly_the_repeats_a_plain_count_finds(
    tmp_path: Path, overlap: float, seed: int
) -> None:
    """Exports that barely overlap (a month exported again) and exports that overlap almost wholly ("the last
    90 days" every month): compared in passes of a few lines, the repeats are those of one pass, and those
    a count of each claim line in Python finds; their ranges come in the order of the inputs, whole."""
    paths = _exports(tmp_path, claims=300, overlap=overlap, seed=seed)
    lines = scan_claim_lines(paths).audited
    table = lines.select("claim_id", "line_number", "line_id").collect()
    last: dict[tuple[str, int], int] = {}
    for claim, number, line_id in table.iter_rows():
        last[(claim, number)] = max(line_id, last.get((claim, number), 0))
    expected = sorted(
        (line_id, last[(claim, number)])
        for claim, number, line_id in table.iter_rows()
        if line_id != last[(claim, number)]
    )
    assert expected, "the exports overlap"
    whole = find_repeated(lines, tmp_path / "whole")
    small = find_repeated(lines, tmp_path / "small", pass_rows=10)
    assert len(whole.paths) == 1 and len(small.paths) > 3
    for repeated in (whole, small):
        assert repeated.count == len(expected)
        assert sorted(repeated.scan().select("line_id", "kept_line_id").collect().rows()) == expected
    chunks = list(repeat_ranges(small, paths, chunk_rows=7))
    assert len(chunks) > 1
    ranges = pl.concat(chunks)
    assert ranges.equals(pl.concat(repeat_ranges(whole, paths)))
    index = {str(path): number << ROW_BITS for number, path in enumerate(paths)}
    listed = [
        (index[file] + first + offset, index[audited_file] + audited_first + offset)
        for file, first, rows, audited_file, audited_first in ranges.select(
            "source_file", "first_row", "rows", "audited_file", "audited_first_row"
        ).iter_rows()
        for offset in range(rows)
    ]
    assert listed == expected


def test_claim_lines_whose_hashes_collide_are_told_apart(
    claims_csv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The hash only finds the candidates: lines of one hash are compared by claim_id and line_number, so
    two claim lines whose hashes collide are never taken for one. (A hash of the line number alone makes
    every first line collide with every other.)"""
    path = claims_csv(
        [
            {"claim_id": "C1", "line_number": "1", "procedure_code": "99213"},
            {"claim_id": "C2", "line_number": "1", "procedure_code": "99213"},
            {"claim_id": "C3", "line_number": "2", "procedure_code": "99213"},
            {"claim_id": "C1", "line_number": "1", "procedure_code": "99213"},
        ]
    )
    monkeypatch.setattr(duplicates, "key_hash", lambda: pl.col("line_number").cast(pl.UInt64))
    for pass_rows in (None, 1):
        repeated = find_repeated(scan_claim_lines([path]).audited, tmp_path / f"work{pass_rows}", pass_rows=pass_rows)
        found = repeated.scan().collect()
        assert found.select("claim_id", "line_number", "line_id", "kept_line_id").rows() == [("C1", 1, 1, 4)]


def test_repeats_within_a_file_are_told_from_repeats_across_files(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file listing a claim line twice (a row per payment) is another matter than overlapping exports:
    those repeats whose audited row is in their own file are counted, and the first described."""
    first = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "J3301", "paid_amount": "40.00"},
            {"claim_id": "C2", "procedure_code": "99213"},
            {"claim_id": "C1", "procedure_code": "J3301", "paid_amount": "-5.00"},
        ],
        name="a.csv",
    )
    second = claims_csv([{"claim_id": "C2", "procedure_code": "99213"}], name="b.csv")
    repeated = find_repeated(scan_claim_lines([first, second]).audited, tmp_path / "work")
    assert repeated.count == 2
    assert _within_a_file(repeated, [first, second]) == (1, f"C1 line 1: rows 1 and 3 of {first}")
    across = find_repeated(scan_claim_lines([second, first]).audited, tmp_path / "across")
    assert _within_a_file(across, [second, first]) == (1, f"C1 line 1: rows 1 and 3 of {first}")
    none = find_repeated(scan_claim_lines([second]).audited, tmp_path / "none")
    assert _within_a_file(none, [second]) == (0, None)


def _within_a_file(repeated: duplicates.Repeated, files: list[Path]) -> tuple[int, str | None]:
    """What ``summary.json`` says of the repeats within a file: counted from ``repeats.csv``'s chunks."""
    tally = RepeatTally()
    for _ in tally.counted(repeat_ranges(repeated, files, chunk_rows=1)):
        pass
    return tally.within_a_file()
