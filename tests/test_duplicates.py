"""Claim lines exported more than once: found exactly, the last kept, within bounded passes."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import polars as pl
import pytest

from conftest import write_claims_csv
from leakaudit.cli import ExitCode, main
from leakaudit.io import RepeatTally, duplicates, find_repeated, repeat_ranges, scan_claim_lines
from leakaudit.io.duplicates import ANOTHER_CLAIM, ANOTHER_LINE, REPEATED_REASON, REUSED_REASON, SHARED_KEY_REASON
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
    assert repeated.scan().collect().columns == ["line_id", "claim_id", "line_number", "kept_line_id", "kind"]
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


def _system(claims: dict[str, tuple[str, str, list[str]]]) -> list[dict[str, str]]:
    """The lines of one billing system's export: claim number -> (patient, date of service, codes by line)."""
    return [
        {
            "claim_id": claim,
            "line_number": str(number),
            "patient_id": patient,
            "service_date": date,
            "procedure_code": code,
            "units": "4" if code == "J3301" else "1",
            "paid_amount": "17.00",
        }
        for claim, (patient, date, codes) in claims.items()
        for number, code in enumerate(codes, start=1)
    ]


def test_a_claim_number_another_system_used_again_is_told_from_a_copy_and_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: after a migration the old system's claims 1001 and 1002 and the new system's share their
    numbers. Both exports in one run, the old system's lines were rejected as "repeats" of the new one's, as
    if the exports overlapped: its injection without a drug (1002) went unaudited, and nothing said why.

    Such a row is of another patient and another date of service than the row kept. It is still not
    audited (one number cannot be two claims), but counted under a reason of its own, flagged in
    repeats.csv and warned of, with the way out: a run for each system, which finds the missing drug. A
    copy of the new system's claim re-exported with its payment, and one whose date was corrected (same
    patient), stay plain repeats.
    """
    old = write_claims_csv(
        tmp_path / "2024-old-system.csv",
        _system(
            {
                "1001": ("A-77", "2024-05-06", ["96372", "J3301"]),
                "1002": ("A-78", "2024-05-07", ["96372"]),
                "1003": ("A-79", "2024-05-07", ["99213"]),
            }
        ),
    )
    new_claims = {
        "1001": ("55012", "2025-09-15", ["99213", "99070"]),
        "1002": ("55013", "2025-09-16", ["99214"]),
        "2001": ("55020", "2025-10-01", ["99213"]),
        "2002": ("55021", "2025-10-02", ["99213"]),
    }
    first_export = _system(new_claims)
    first_export[-1]["service_date"] = "2025-10-20"  # corrected in the later export
    new = write_claims_csv(tmp_path / "2025-new-system.csv", first_export[-2:])
    again = write_claims_csv(tmp_path / "2025-new-system-rerun.csv", _system(new_claims))
    exports = [old, new, again]
    out = tmp_path / "both"
    assert main(["audit", *map(str, exports), "--out", str(out)]) == ExitCode.OK
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {"column": "(whole row)", "reason": REUSED_REASON, "count": 3} in summary["rejects_by_reason"]
    assert {"column": "(whole row)", "reason": REPEATED_REASON, "count": 2} in summary["rejects_by_reason"]
    first = f"1001 line 1: row 1 of {old}, and row 1 of {again}"
    assert summary["claim_numbers_reused"] == {"rows": 3, "first": first}
    assert summary["repeats_within_a_file"]["rows"] == 0
    assert [(p["file"], p["rows"], p["another_claim"]) for p in summary["repeats_by_file_pair"]] == [
        (str(old), 3, 3),
        (str(new), 2, 0),
    ]
    repeats = pl.read_csv(out / "repeats.csv")
    assert repeats.select("source_file", "first_row", "last_row", "repeat_kind").rows() == [
        (str(old), 1, 3, "another_claim"),
        (str(new), 1, 2, "copy"),
    ]
    said = capsys.readouterr()
    copies = "5 rejected (0 with a bad value, 2 repeating a claim line, 3 another claim's number)"
    assert f"Read 11 rows: 6 audited, {copies}." in said.out
    warned = said.err
    assert (
        f"of another patient and date of service: 3 (in repeats.csv, repeat_kind another_claim); the first: {first}."
        in warned
    )
    assert "Audit the exports of each numbering (each system, or each year) in a run of its own." in warned
    assert "rows that repeat a claim line" not in warned
    html = (out / "report.html").read_text(encoding="utf-8")
    caution = "3 rows bear the claim number and line number of a later row of another patient and date of service"
    assert f"{caution} (the first: {first})" in html
    assert '<th class="num">Of which another claim\'s number</th>' in html
    assert "<li>3 rows of other claims under claim numbers used again, not audited</li>" in html
    both = pl.read_parquet(out / "findings.parquet")
    assert both.filter(pl.col("claim_id") == "1002").is_empty()

    alone = tmp_path / "old-alone"
    assert main(["audit", str(old), "--out", str(alone), "--findings-only"]) == ExitCode.OK
    found = pl.read_parquet(alone / "findings.parquet").filter(pl.col("rule_id") == "drug-admin-without-drug")
    assert found.select("claim_id", "procedure_code").rows() == [("1002", "96372")]
    assert json.loads((alone / "summary.json").read_text(encoding="utf-8"))["claim_numbers_reused"]["rows"] == 0


def test_a_system_numbering_its_claims_anew_each_year_is_no_row_per_payment(tmp_path: Path) -> None:
    """Within one export, claim 7 of 2024 and claim 7 of 2025 (another patient) are no copy of one line, so
    they are not counted as a file listing a claim line twice; claim 8, listed twice alike, is."""
    export = write_claims_csv(
        tmp_path / "history.csv",
        _system({"7": ("P1", "2024-01-09", ["99213"]), "8": ("P2", "2024-01-10", ["99213"])})
        + _system({"7": ("P3", "2025-01-08", ["99214"]), "8": ("P2", "2024-01-10", ["99213"])}),
    )
    repeated = find_repeated(scan_claim_lines([export]).audited, tmp_path / "work")
    assert (repeated.count, repeated.of_kind(ANOTHER_CLAIM)) == (2, 1)
    assert repeated.by_reason().rows() == [("(whole row)", REPEATED_REASON, 1), ("(whole row)", REUSED_REASON, 1)]
    # Rows 1 and 2 repeat rows 3 and 4 one after the other, but are not one range: in one chunk or two.
    for chunk_rows in (None, 1):
        tally = RepeatTally()
        for _ in tally.counted(repeat_ranges(repeated, [export], chunk_rows=chunk_rows)):
            pass
        assert tally.within_a_file() == (1, f"8 line 1: rows 2 and 4 of {export}")
        assert tally.of_kind(ANOTHER_CLAIM) == (1, f"7 line 1: rows 1 and 3 of {export}")


def test_a_key_that_does_not_tell_a_file_s_lines_apart_is_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: line_number mapped from a column that does not number the claim's lines (every line 1), and
    claim_id from the patient's account (one "claim" per patient), made lines share keys. Each key was audited
    from its last row: P1's drug (J3301) was rejected as a "repeat" of her injection (96372), which was left
    without its drug, a finding of a loss that is not; P4's visit of June 1 went unaudited; and the warning
    said the file might hold a row per payment.

    A file lists a claim line once (or once per payment, alike), so a row of its key of another patient, date
    or code is another line: counted under a reason of its own, flagged in repeats.csv and warned of, naming
    the columns to check. A row per payment (P3's line listed twice alike) is still a copy, and across files a
    line whose code was corrected (P2's) is still a copy."""
    drug, injection = _system({"P1": ("P1", "2025-03-03", ["J3301", "96372"])})
    export = write_claims_csv(
        tmp_path / "2025.csv",
        [drug, {**injection, "line_number": "1"}]
        + _system({"P2": ("P2", "2025-03-04", ["99213"])})
        + _system({"P3": ("P3", "2025-03-05", ["99213"])}) * 2
        + _system({"P4": ("P4", "2025-06-01", ["99213"])})
        + _system({"P4": ("P4", "2025-06-08", ["99213"])}),
    )
    later = write_claims_csv(tmp_path / "2026.csv", _system({"P2": ("P2", "2025-03-04", ["99214"])}))
    out = tmp_path / "out"
    assert main(["audit", str(export), str(later), "--out", str(out)]) == ExitCode.OK
    said = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    first = f"P1 line 1: rows 1 and 2 of {export}"
    assert summary["lines_sharing_a_key"] == {"rows": 2, "first": first}
    assert {"column": "(whole row)", "reason": SHARED_KEY_REASON, "count": 2} in summary["rejects_by_reason"]
    assert {"column": "(whole row)", "reason": REPEATED_REASON, "count": 2} in summary["rejects_by_reason"]
    assert summary["repeats_within_a_file"] == {"rows": 1, "first": f"P3 line 1: rows 4 and 5 of {export}"}
    assert [(p["file"], p["audited_file"], p["rows"], p[ANOTHER_LINE]) for p in summary["repeats_by_file_pair"]] == [
        (str(export), str(export), 3, 2),
        (str(export), str(later), 1, 0),
    ]
    repeats = pl.read_csv(out / "repeats.csv")
    assert repeats.select("first_row", "audited_first_row", "repeat_kind").rows() == [
        (1, 2, "another_line"),
        (3, 1, "copy"),
        (4, 5, "copy"),
        (6, 7, "another_line"),
    ]
    counts = "4 rejected (0 with a bad value, 2 repeating a claim line, 2 another line's key)"
    assert f"Read 8 rows: 4 audited, {counts}" in said.out
    warning = (
        "of the same file, of another patient, date of service or code: 2 (in repeats.csv, repeat_kind another_line)"
    )
    assert f"{warning}; the first: {first}." in said.err
    assert "Check which export columns feed claim_id and line_number" in said.err
    html = (out / "report.html").read_text(encoding="utf-8")
    caution = "2 rows bear the claim number and line number of a later row of the same file, of another patient"
    assert f"{caution}, date of service or code (the first: {first})" in html
    assert "<li>2 rows of other lines under a claim and line number another line holds, not audited</li>" in html
    # The injection lost its drug to the key: the finding the warning warns of.
    findings = pl.read_parquet(out / "findings.parquet").filter(pl.col("rule_id") == "drug-admin-without-drug")
    assert findings.select("claim_id", "procedure_code", "service_date").rows() == [
        ("P1", "96372", dt.date(2025, 3, 3))
    ]
