"""The command end to end on the bundled sample data: CSV, Parquet, directory, errors, determinism."""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from conftest import SAMPLE_CSV, SAMPLE_DIR, write_claims_csv, write_compressed
from leakaudit import pipeline
from leakaudit.cli import ExitCode, main
from leakaudit.findings import FINDING_SCHEMA
from leakaudit.io import REPEAT_RANGE_SCHEMA, ClaimLines, InputError, duplicates, rejects
from leakaudit.io.duplicates import REPEATED_REASON
from leakaudit.pipeline import run_audit


def _audit(tmp_path: Path, *paths: str | Path, out: str = "out") -> tuple[Path, dict]:  # type: ignore[type-arg]
    out_dir = tmp_path / out
    assert main(["audit", *map(str, paths), "--out", str(out_dir)]) == ExitCode.OK
    return out_dir, json.loads((out_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    return _audit(tmp_path_factory.mktemp("sample"), SAMPLE_CSV)


def test_sample_audit_writes_every_output(sample_run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, summary = sample_run
    for name in ("findings.parquet", "findings.csv", "rejects.csv", "summary.json", "report.html"):
        assert (out / name).stat().st_size > 0, name
    # The work file of validated lines is temporary: nothing else is left in the output directory.
    assert sorted(path.name for path in out.iterdir()) == [
        "findings.csv",
        "findings.parquet",
        "findings.xlsx",
        "rejects.csv",
        "repeats.csv",
        "report.html",
        "summary.json",
    ]
    # The sample lists each claim line once: repeats.csv has its header only.
    assert (out / "repeats.csv").read_text().splitlines() == [",".join(REPEAT_RANGE_SCHEMA.names())]
    assert summary["repeats_by_file_pair"] == []
    findings = pl.read_parquet(out / "findings.parquet")
    assert findings.schema == FINDING_SCHEMA
    assert findings.height == summary["findings"] > 0
    assert set(findings["confidence"]) <= {"high", "medium", "low"}
    assert findings["message"].null_count() == 0 and findings["estimate_method"].null_count() == 0


def test_counts_reconcile_with_the_file(sample_run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, summary = sample_run
    data_rows = len(SAMPLE_CSV.read_text().splitlines()) - 1
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert summary["rows_read"] == data_rows
    assert summary["rows_rejected"] == rejects.height == 7
    assert summary["rows_read"] == summary["rows_audited"] + summary["rows_rejected"]
    assert sum(r["count"] for r in summary["rejects_by_reason"]) == rejects.height
    assert set(rejects["column"]) == {
        "service_date",
        "charge_amount",
        "claim_id",
        "procedure_code",
        "units",
        "line_number",
        "payer_type",
    }


def test_the_run_tells_of_findings_beside_rejected_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The sample's J1100 row is rejected for its payer type: its visit's 96372 is found without a drug."""
    out, summary = _audit(tmp_path, SAMPLE_CSV)
    beside = summary["findings_with_rejected_rows"]
    assert (
        f"{beside['findings']} of them (${beside['estimated_total']:,.2f} of the lost revenue) are on a claim or visit "
        "with a rejected row, which each names: correct those rows (rejects.csv) and audit again."
    ) in capsys.readouterr().out
    admin = pl.read_parquet(out / "findings.parquet").filter(pl.col("claim_id") == "CLM0000688").row(0, named=True)
    assert admin["rule_id"] == "drug-admin-without-drug" and admin["confidence"] == "low"
    assert f"({SAMPLE_CSV} row 1201, payer_type), which may bill the missing code" in admin["message"]


def test_summary_totals_match_findings(sample_run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, summary = sample_run
    findings = pl.read_parquet(out / "findings.parquet")
    for rule_id, totals in summary["rules"].items():
        mine = findings.filter(pl.col("rule_id") == rule_id)
        assert totals["count"] == mine.height
        lost = mine.filter(pl.col("finding_kind") == "lost_revenue")["estimated_amount"].sum()
        assert totals["estimated_total"] == round(float(lost or 0), 2)
    assert summary["estimated_total"] == round(sum(r["estimated_total"] for r in summary["rules"].values()), 2)


def test_parquet_directory_and_compressed_inputs_give_the_same_findings(
    tmp_path: Path,
    sample_run: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    out_csv, summary_csv = sample_run
    # Parquet with the same text columns as the CSV export.
    parquet = tmp_path / "claims.parquet"
    pl.read_csv(SAMPLE_CSV, infer_schema=False).write_parquet(parquet)
    out_pq, summary_pq = _audit(tmp_path, parquet, out="pq")
    out_dir, summary_dir = _audit(tmp_path, SAMPLE_DIR, out="dir")
    compressed = tmp_path / "claims.csv.gz"
    compressed.write_bytes(gzip.compress(SAMPLE_CSV.read_bytes()))
    out_gz, summary_gz = _audit(tmp_path, compressed, out="gz")
    out_zst, summary_zst = _audit(
        tmp_path, write_compressed(tmp_path / "claims.csv.zst", SAMPLE_CSV.read_bytes()), out="zst"
    )
    keep = ["rule_id", "claim_id", "line_number", "estimated_amount", "estimate_method", "confidence"]
    reference = pl.read_parquet(out_csv / "findings.parquet").select(keep)
    assert pl.read_parquet(out_pq / "findings.parquet").select(keep).equals(reference)
    assert pl.read_parquet(out_dir / "findings.parquet").select(keep).equals(reference)
    # The same findings, but that a finding beside a rejected row names the row's file.
    csv_findings = pl.read_parquet(out_csv / "findings.parquet")
    assert csv_findings["message"].str.contains(f"{SAMPLE_CSV} row ", literal=True).any()
    for out, compressed_path in ((out_gz, compressed), (out_zst, tmp_path / "claims.csv.zst")):
        named = pl.read_parquet(out / "findings.parquet").with_columns(
            pl.col("message").str.replace_all(str(compressed_path), str(SAMPLE_CSV), literal=True)
        )
        assert named.equals(csv_findings)
    assert summary_zst["rows_rejected"] == summary_csv["rows_rejected"]
    assert summary_pq["rows_rejected"] == summary_dir["rows_rejected"] == summary_csv["rows_rejected"]
    assert summary_gz["rows_rejected"] == summary_csv["rows_rejected"]
    rejects = pl.read_csv(out_gz / "rejects.csv", infer_schema=False)
    expected = pl.read_csv(out_csv / "rejects.csv", infer_schema=False)
    assert rejects.drop("source_file").equals(expected.drop("source_file"))


def test_claims_split_across_files_are_one_table(tmp_path: Path, sample_run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    """A drug billed in one file satisfies its administration billed in another."""
    lines = SAMPLE_CSV.read_text().splitlines()
    header, body = lines[0], lines[1:]
    split = tmp_path / "split"
    split.mkdir()
    (split / "part1.csv").write_text("\n".join([header, *body[0::2]]) + "\n")
    (split / "part2.csv").write_text("\n".join([header, *body[1::2]]) + "\n")
    out, summary = _audit(tmp_path, str(split / "*.csv"), out="split-out")
    keep = ["rule_id", "claim_id", "line_number", "estimated_amount"]
    assert (
        pl.read_parquet(out / "findings.parquet")
        .select(keep)
        .equals(pl.read_parquet(sample_run[0] / "findings.parquet").select(keep))
    )
    assert [i["rows"] for i in summary["inputs"]] == [len(body[0::2]), len(body[1::2])]


def test_files_read_together_report_rejects_by_their_own_file_and_row(
    tmp_path: Path,
    sample_run: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    """The sample cut into monthly-style exports (one without rows; names and --out with brackets, which
    are not patterns): the same findings, and every reject names its own file and row."""
    header, *body = SAMPLE_CSV.read_text().splitlines()
    exports = tmp_path / "exports[2025]"
    exports.mkdir()
    cuts = {"a[1].csv": body[:300], "b[2].csv": [], "c[3].csv": body[300:1100], "d[4].csv": body[1100:]}
    for name, rows in cuts.items():
        (exports / name).write_text("\n".join([header, *rows]) + "\n")
    out, summary = _audit(tmp_path, exports, out="out[1]")
    again, _ = _audit(tmp_path, exports, out="out[2]")  # --compare reads a previous run's directory
    assert main(["audit", str(exports), "--out", str(tmp_path / "out[3]"), "--compare", str(out)]) == ExitCode.OK
    keep = ["rule_id", "claim_id", "line_number", "estimated_amount"]
    reference = pl.read_parquet(sample_run[0] / "findings.parquet").select(keep)
    assert pl.read_parquet(out / "findings.parquet", glob=False).select(keep).equals(reference)
    assert (again / "findings.parquet").read_bytes() == (out / "findings.parquet").read_bytes()
    first_row = {"a[1].csv": 0, "b[2].csv": 300, "c[3].csv": 300, "d[4].csv": 1100}
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False, glob=False)
    in_sample = [
        (first_row[Path(file).name] + int(row), column, value)
        for file, row, column, value in rejects.select("source_file", "source_row", "column", "value").rows()
    ]
    expected = pl.read_csv(sample_run[0] / "rejects.csv", infer_schema=False)
    assert in_sample == [(int(row), c, v) for row, c, v in expected.select("source_row", "column", "value").rows()]
    assert {Path(file).name for file in rejects["source_file"]} >= {"a[1].csv", "c[3].csv", "d[4].csv"}
    assert [i["rows"] for i in summary["inputs"]] == [len(rows) for rows in cuts.values()]


def test_a_row_with_an_unquoted_comma_is_rejected_and_the_rest_audited(
    tmp_path: Path,
    sample_run: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    """Regression: one description with an unquoted comma (one field too many) stopped the whole audit with
    "found more fields than defined in 'Schema'", naming neither file nor row."""
    header, *body = SAMPLE_CSV.read_text().splitlines()
    row = next(number for number, line in enumerate(body, start=1) if ",Wrist cock-up splint," in line)
    body[row - 1] = body[row - 1].replace(",Wrist cock-up splint,", ",Wrist splint, cock-up,")
    export = tmp_path / "export.csv"
    export.write_text("\n".join([header, *body]) + "\n")
    out, summary = _audit(tmp_path, export)
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.filter(pl.col("column") == "(whole row)").select("source_row", "reason").rows() == [
        (str(row), "more fields than the header: a value with an unquoted comma?")
    ]
    assert summary["rows_read"] == sample_run[1]["rows_read"]
    assert summary["rows_rejected"] == sample_run[1]["rows_rejected"] + 1
    assert summary["rows_read"] == summary["rows_audited"] + summary["rows_rejected"]


def test_an_export_with_an_inch_mark_in_a_description_is_audited_whole(
    tmp_path: Path,
    sample_run: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    """Regression: in a directory of exports, a file whose first row described a splint as 6" long was
    counted 0 rows by Polars (the lone quote taken as opening a value to the end of the file) and left
    out: "Read 2,827 rows", its rows silently lost. Alone, such a file stopped the audit ("CSV malformed")."""
    header, *body = SAMPLE_CSV.read_text().splitlines()
    row = next(number for number, line in enumerate(body) if ",Wrist cock-up splint," in line)
    body[row] = body[row].replace(",Wrist cock-up splint,", ',Wrist cock-up splint 6" long,')
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "a.csv").write_text("\n".join([header, *body[row:100]]) + "\n")  # the inch mark on its first row
    (exports / "b.csv").write_text("\n".join([header, *body[:row], *body[100:]]) + "\n")
    out, summary = _audit(tmp_path, exports)
    assert [i["rows"] for i in summary["inputs"]] == [100 - row, len(body) - 100 + row]
    for key in ("rows_read", "rows_audited", "rows_rejected"):
        assert summary[key] == sample_run[1][key], key
    keep = ["rule_id", "claim_id", "line_number", "estimated_amount"]
    reference = pl.read_parquet(sample_run[0] / "findings.parquet").select(keep)
    assert pl.read_parquet(out / "findings.parquet").select(keep).sort(keep).equals(reference.sort(keep))
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in sample_run[0].iterdir())
    _, alone = _audit(tmp_path, exports / "a.csv", out="alone")  # its rows counted in the rewritten copy
    assert alone["rows_read"] == alone["rows_audited"] + alone["rows_rejected"] == 100 - row


def test_an_export_with_an_inch_mark_and_an_unquoted_comma_is_repaired_both_ways(tmp_path: Path) -> None:
    """The scan refuses the file twice, for its quote and for its long row, in either order: both are
    repaired, each once, and the long row is rejected by its number in the original."""
    header, *body = SAMPLE_CSV.read_text().splitlines()
    row = next(number for number, line in enumerate(body, start=1) if ",Wrist cock-up splint," in line)
    body[row - 1] = body[row - 1].replace(",Wrist cock-up splint,", ",Wrist splint, cock-up,")
    body[0] = body[0].removesuffix(",,,,,,11") + ',,,,Knee brace 12" long,,11'  # no description before
    export = tmp_path / "export.csv.gz"
    export.write_bytes(gzip.compress(("\n".join([header, *body]) + "\n").encode()))
    out, summary = _audit(tmp_path, export)
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.filter(pl.col("column") == "(whole row)")["source_row"].to_list() == [str(row)]
    assert summary["rows_read"] == summary["rows_audited"] + summary["rows_rejected"] == len(body)


def test_overlapping_exports_audit_each_claim_line_once(
    tmp_path: Path,
    sample_run: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    """Regression: two monthly exports sharing a thousand lines (an export of "the last 90 days") doubled
    the findings on those lines and their dollars. Each repeated line is rejected but once, listed in
    repeats.csv in a range of rows with the rows audited in their place (the later file's); the rows with
    a bad value are in rejects.csv, as in the sample's; the findings are the sample's."""
    exports = _overlapping_exports(tmp_path)
    body = SAMPLE_CSV.read_text().splitlines()[1:]
    out, summary = _audit(tmp_path, exports)
    keep = ["rule_id", "claim_id", "line_number", "estimated_amount"]
    reference = pl.read_parquet(sample_run[0] / "findings.parquet").select(keep)
    assert pl.read_parquet(out / "findings.parquet").select(keep).equals(reference)
    assert summary["estimated_total"] == sample_run[1]["estimated_total"]
    assert summary["rows_audited"] == sample_run[1]["rows_audited"]
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    sample_rejects = pl.read_csv(sample_run[0] / "rejects.csv", infer_schema=False)
    bad_rows = sample_rejects["source_row"].cast(int).to_list()
    sample_reasons = sample_rejects.select(pl.col("source_row").cast(int), "reason").rows()
    assert rejects["reason"].to_list() == [reason for row, reason in sample_reasons if row <= 2000] + [
        reason for row, reason in sample_reasons if row > 1000
    ]
    repeats = pl.read_csv(out / "repeats.csv")
    assert set(repeats["source_file"]) == {str(exports / "2025-01.csv")}
    assert set(repeats["audited_file"]) == {str(exports / "2025-02.csv")}
    listed = [
        row for first, last in repeats.select("first_row", "last_row").iter_rows() for row in range(first, last + 1)
    ]
    assert listed == [row for row in range(1001, 2001) if row not in bad_rows]
    assert (repeats["audited_first_row"] == repeats["first_row"] - 1000).all()
    assert (repeats["audited_last_row"] == repeats["last_row"] - 1000).all()
    # A range of rows for each run of good rows between the bad ones.
    assert repeats.height == 1 + sum(later != row + 1 for row, later in itertools.pairwise(listed)) > 1
    first = repeats.row(0, named=True)
    claim, line = body[first["first_row"] - 1].split(",")[:2]
    assert (first["first_claim_id"], first["first_line_number"]) == (claim, int(line))
    assert summary["rows_read"] == summary["rows_audited"] + summary["rows_rejected"] == len(body) + 1000
    assert summary["rows_rejected"] == rejects.height + repeats["rows"].sum()
    assert {"column": "(whole row)", "reason": REPEATED_REASON, "count": len(listed)} in summary["rejects_by_reason"]
    assert summary["repeats_by_file_pair"] == [
        {
            "file": str(exports / "2025-01.csv"),
            "audited_file": str(exports / "2025-02.csv"),
            "rows": len(listed),
            "ranges": repeats.height,
            "another_claim": 0,
            "another_line": 0,
        }
    ]
    # Each file's rows: the repeats all in the earlier one; the sample's own bad rows in both.
    january, february = summary["inputs"]
    assert january["repeated"] == len(listed) and february["repeated"] == 0
    assert january["rejected"] == len(listed) + sum(row <= 2000 for row in bad_rows)
    assert february["rejected"] == sum(row > 1000 for row in bad_rows)
    for each in (january, february):
        assert each["audited"] == each["rows"] - each["rejected"]
    assert january["audited"] + february["audited"] == summary["rows_audited"]


def _overlapping_exports(tmp_path: Path) -> Path:
    """Two monthly exports of the sample sharing its rows 1001-2000: the directory holding them."""
    header, *body = SAMPLE_CSV.read_text().splitlines()
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "2025-01.csv").write_text("\n".join([header, *body[:2000]]) + "\n")
    (exports / "2025-02.csv").write_text("\n".join([header, *body[1000:]]) + "\n")
    return exports


def test_many_rejects_are_audited_the_same_through_work_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a million, repeats (and credit lines) are not filtered out in every scan of the rules, but the
    lines are written again without them; invalid rows are not looked up in memory, but validated again
    with their values; repeats are found in passes, and the rejects and repeats written in chunks. Either
    way, the outputs are the same."""
    exports = _overlapping_exports(tmp_path)
    plain = run_audit([exports], tmp_path / "plain", findings_only=True)
    monkeypatch.setattr(pipeline, "_FILTER_LINES", 0)
    monkeypatch.setattr(pipeline, "_LOOKUP_REJECTS", 0)
    monkeypatch.setattr(duplicates, "PASS_ROWS", 100)
    monkeypatch.setattr(rejects, "CHUNK_ROWS", 4)
    sunk: list[Path] = []
    found: list[duplicates.Repeated] = []
    chunks: dict[str, list[int]] = {"rejects.csv": [], "repeats.csv": []}
    sink, find, write = pipeline.work_file, pipeline.find_repeated, pipeline._write_csv
    monkeypatch.setattr(pipeline, "work_file", lambda lines, path: sunk.append(path) or sink(lines, path))
    monkeypatch.setattr(pipeline, "find_repeated", lambda *args: found.append(find(*args)) or found[-1])
    counted = lambda path, parts: (chunks[path.name].append(part.height) or part for part in parts)  # noqa: E731
    monkeypatch.setattr(pipeline, "_write_csv", lambda path, parts: write(path, counted(path, parts)))
    revalidated = _Calls(ClaimLines.rejects_with_values)
    monkeypatch.setattr(ClaimLines, "rejects_with_values", revalidated)
    rewritten = run_audit([exports], tmp_path / "rewritten", findings_only=True)
    # Every row parsed; the lines written again without the repeats, then without the credit lines and the
    # charges they reverse.
    assert [path.name for path in sunk] == ["parsed.parquet", "unique-lines.parquet", "corrected-lines.parquet"]
    assert len(found[0].paths) > 5
    assert revalidated.calls == 1
    assert len(chunks["rejects.csv"]) > 1 and max(chunks["rejects.csv"]) == 4
    # Chunks of 4 repeats, ranges joined across them.
    assert len(chunks["repeats.csv"]) > 1 and sum(chunks["repeats.csv"]) < 20
    for name in ("findings.parquet", "rejects.csv", "repeats.csv"):
        assert (plain.out_dir / name).read_bytes() == (rewritten.out_dir / name).read_bytes(), name
    assert plain.summary == rewritten.summary
    assert rewritten.rejects.height + rewritten.repeats["rows"].sum() == rewritten.summary["rows_rejected"]
    assert rewritten.repeats["rows"].sum() > 900


class _Calls:
    """A method that counts its calls."""

    def __init__(self, method: Any) -> None:
        self.method, self.calls = method, 0

    def __get__(self, instance: Any, owner: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return self.method(instance, *args, **kwargs)

        return call


def test_an_export_whose_dates_the_mapping_does_not_read_warns_which_check_rejected_most_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: an export writing its dates 03/14/2025, audited without a mapping saying so, had every
    row rejected and the audit ended as if well, with no findings. It still ends (the rows are in
    rejects.csv), but warns which check rejected most rows, with a value, and what to set."""
    rows = [{"claim_id": f"C{i}", "procedure_code": "99213", "service_date": "03/14/2025"} for i in range(9)]
    export = write_claims_csv(tmp_path / "export.csv", [*rows, {"claim_id": "C9", "procedure_code": "99213"}])
    _audit(tmp_path, export)
    err = capsys.readouterr().err
    assert "warning: 9 of 10 rows (90%) rejected for service_date: not a valid date (expected YYYY-MM-DD)" in err
    assert f"e.g. '03/14/2025' ({export} row 1)" in err and "date_format" in err
    mapping = tmp_path / "map.toml"
    mapping.write_text('[options]\ndate_format = "%m/%d/%Y"\n')
    assert main(["audit", str(export), "--map", str(mapping), "--out", str(tmp_path / "mapped")]) == ExitCode.OK
    assert "warning" not in capsys.readouterr().err
    # A column mapped from the wrong one (units from a column of text):
    units = write_claims_csv(tmp_path / "units.csv", [{"claim_id": "C1", "procedure_code": "99213", "units": "ea"}])
    _audit(tmp_path, units, out="units")
    err = capsys.readouterr().err
    assert "1 of 1 rows (100%) rejected for units: not a number, e.g. 'ea'" in err
    assert "Check which export column feeds units" in err
    # An export's own payer types: what to map, and where.
    classes = write_claims_csv(
        tmp_path / "classes.csv", [{"claim_id": "C1", "procedure_code": "99213", "payer_type": "Blue Cross"}]
    )
    _audit(tmp_path, classes, out="classes")
    err = capsys.readouterr().err
    assert "rejected for payer_type: not one of medicare" in err and "e.g. 'Blue Cross'" in err
    assert "under [payer_types] in a --map file" in err
    # An export that keys its lines by a charge id, and numbers them nowhere: what may number them.
    charges = [
        {"claim_id": "C1", "procedure_code": code, "line_number": f"CHG-{n}"}
        for n, code in enumerate(["96372", "J3301"])
    ]
    _audit(tmp_path, write_claims_csv(tmp_path / "charges.csv", charges), out="charges")
    err = capsys.readouterr().err
    assert "2 of 2 rows (100%) rejected for line_number: not a whole number, e.g. 'CHG-0'" in err
    assert "may map a numeric charge or transaction id of each line" in err


def test_overlapping_exports_and_a_few_bad_rows_give_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Repeats are most rows of overlapping exports, as they should be: no warning; nor for the sample's
    handful of bad rows. The rows rejected are told apart: bad values (rejects.csv) and repeats
    (repeats.csv: here the first two exports, each a range of rows between the bad ones)."""
    exports = tmp_path / "exports"
    exports.mkdir()
    for month in ("2025-01", "2025-02", "2025-03"):
        shutil.copy(SAMPLE_CSV, exports / f"{month}.csv")
    out, summary = _audit(tmp_path, exports)
    assert summary["rows_rejected"] * 2 > summary["rows_read"]
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    rejects = pl.read_csv(out / "rejects.csv")
    bad, audited = rejects.height, summary["rows_audited"]
    assert bad > 3
    assert (
        f"{audited:,} audited, {2 * audited + bad:,} rejected ({bad:,} with a bad value, {2 * audited:,} repeating"
        in (captured.out)
    )
    repeats = pl.read_csv(out / "repeats.csv")
    assert repeats["rows"].sum() == 2 * audited
    # Each export's good rows, one after the other between the bad ones, are a range.
    bad_rows = rejects.filter(pl.col("source_file") == str(exports / "2025-01.csv"))["source_row"].to_list()
    good = [row for row in range(1, summary["inputs"][0]["rows"] + 1) if row not in bad_rows]
    assert repeats.height == 2 * (1 + sum(later != row + 1 for row, later in itertools.pairwise(good))) > 2
    # Each earlier export repeats the last, range for range.
    last = str(exports / "2025-03.csv")
    assert summary["repeats_by_file_pair"] == [
        {
            "file": str(exports / f"{month}.csv"),
            "audited_file": last,
            "rows": audited,
            "ranges": repeats.height // 2,
            "another_claim": 0,
            "another_line": 0,
        }
        for month in ("2025-01", "2025-02")
    ]


def test_an_export_with_a_row_per_payment_warns_that_each_claim_line_is_audited_from_its_last_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A transaction export lists a claim line once per payment or adjustment: the audit keeps the last row
    of each, so it warns, naming the first such line, and summary.json counts them."""
    line = {"claim_id": "C1", "procedure_code": "99213"}
    export = write_claims_csv(
        tmp_path / "payments.csv",
        [
            {**line, "paid_amount": "60.00"},
            {"claim_id": "C2", "procedure_code": "99213"},
            {**line, "paid_amount": "-60.00"},
        ],
    )
    _, summary = _audit(tmp_path, export)
    assert summary["repeats_within_a_file"] == {"rows": 1, "first": f"C1 line 1: rows 1 and 3 of {export}"}
    err = capsys.readouterr().err
    assert (
        "warning: rows that repeat a claim line (claim_id and line_number) of a later row in the same file: 1 "
        "(in repeats.csv);" in err
    )
    assert f"the first: C1 line 1: rows 1 and 3 of {export}. Each claim line is audited once, from its last row" in err
    assert "row per payment or adjustment" in err


def test_rejects_follow_the_order_the_inputs_are_given(tmp_path: Path) -> None:
    """rejects.csv lists the inputs' rows in the order the audit reads them: the files as given (each
    directory's in name order), each file's rows in order; not sorted by name."""
    bad = {"claim_id": "C1", "procedure_code": "99213", "service_date": "2025-02-30"}
    march = write_claims_csv(tmp_path / "2025-03.csv", [bad, {**bad, "line_number": "2"}])
    january = write_claims_csv(tmp_path / "2025-01.csv", [{**bad, "claim_id": "C2"}])
    out, _ = _audit(tmp_path, march, january)
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert rejects.select("source_file", "source_row").rows() == [
        (str(march), "1"),
        (str(march), "2"),
        (str(january), "1"),
    ]


def test_same_input_gives_byte_identical_findings(tmp_path: Path, sample_run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    again, _ = _audit(tmp_path, SAMPLE_CSV, out="again")
    for name in ("findings.csv", "findings.parquet", "rejects.csv", "summary.json", "report.html"):
        assert (again / name).read_bytes() == (sample_run[0] / name).read_bytes(), name


def test_missing_required_column_exits_2_naming_file_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_text("claim_id,line_number,service_date,procedure_code,charge_amount\nC1,1,2025-01-01,99213,10\n")
    assert main(["audit", str(export), "--out", str(tmp_path / "out")]) == ExitCode.INPUT_ERROR
    err = capsys.readouterr().err
    assert "export.csv" in err and "units" in err
    assert not (tmp_path / "out").exists(), "no work before the input is known to be usable"


def test_outputs_kept_beside_the_exports_are_not_audited_as_claim_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: a second audit of a directory holding the first's --out read its findings.csv as claim
    lines and stopped for their missing columns."""
    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(SAMPLE_CSV, exports / "claims.csv")
    november, december = exports / "2026-11", exports / "2026-12"
    assert main(["audit", str(exports), "--out", str(november), "--findings-only"]) == ExitCode.OK
    assert main(["audit", str(exports), "--out", str(november), "--findings-only"]) == ExitCode.OK
    assert main(["audit", str(exports), "--out", str(december), "--compare", str(november)]) == ExitCode.OK
    summary = json.loads((december / "summary.json").read_text())
    assert [i["file"] for i in summary["inputs"]] == [str(exports / "claims.csv")]
    capsys.readouterr()
    # Another audit's outputs are read, and the error says what they are.
    assert main(["audit", str(exports), "--out", str(tmp_path / "elsewhere")]) == ExitCode.INPUT_ERROR
    err = capsys.readouterr().err
    assert "2026-1" in err and "findings.csv" in err and "earlier audit's output" in err


#: A Linux device that is always full: a file linked to it fails to be written with "No space left on device".
FULL_DEVICE = Path("/dev/full")
needs_full_device = pytest.mark.skipif(not FULL_DEVICE.exists(), reason="needs /dev/full (Linux)")


@needs_full_device
@pytest.mark.parametrize(
    "work_file",
    [
        "parsed.parquet",
        "rejects.parquet",
        "invalid.parquet",
        "repeated/repeated-00000.parquet",
        "unique-lines.parquet",
        "corrected-lines.parquet",
        "jcode-unit-mismatch.converted.parquet",
        "pricing.history.parquet",
    ],
)
def test_a_full_disk_for_a_work_file_exits_3_naming_the_output_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, work_file: str
) -> None:
    """Regression: a disk that filled while the validated lines were written was reported as "cannot read the
    input" (Polars raises one error type for both). So for every work file: the rows parsed, the rejected
    rows, the rejected rows with their values, the repeated lines, the lines written again without them,
    and without credit lines (each written here, thresholds 0), a rule's staged frame, and the lines the
    price bases read."""

    class FullWorkDirectory(tempfile.TemporaryDirectory):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            (Path(self.name) / work_file).parent.mkdir(exist_ok=True)
            (Path(self.name) / work_file).symlink_to(FULL_DEVICE)

    monkeypatch.setattr(pipeline.tempfile, "TemporaryDirectory", FullWorkDirectory)
    monkeypatch.setattr(pipeline, "_FILTER_LINES", 0)
    monkeypatch.setattr(pipeline, "_LOOKUP_REJECTS", 0)
    out = tmp_path / "out"
    exports = _overlapping_exports(tmp_path)
    write_claims_csv(exports / "credits.csv", [{"claim_id": "V1", "procedure_code": "99213", "units": "-1"}])
    assert main(["audit", str(exports), "--out", str(out)]) == ExitCode.OUTPUT_ERROR
    err = capsys.readouterr().err
    assert f"{out}: its disk is full" in err and "No space left on device" in err
    assert "cannot read the input" not in err
    assert list(out.iterdir()) == [], "the work directory is removed"


@needs_full_device
@pytest.mark.parametrize("output", ["findings.parquet", "rejects.csv", "repeats.csv", "findings.xlsx", "report.html"])
def test_an_output_that_cannot_be_written_exits_3_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / output).symlink_to(FULL_DEVICE)
    assert main(["audit", str(SAMPLE_CSV), "--out", str(out)]) == ExitCode.OUTPUT_ERROR
    err = capsys.readouterr().err
    assert f"{out / output}: cannot write this output (its disk is full)" in err, err
    assert "Traceback" not in err


def test_an_out_that_is_a_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.csv"
    out.write_text("not a directory\n")
    assert main(["audit", str(SAMPLE_CSV), "--out", str(out)]) == ExitCode.OUTPUT_ERROR
    assert f"{out}: cannot write the outputs here" in capsys.readouterr().err
    assert out.read_text() == "not a directory\n"


def test_an_export_without_a_byte_audits_to_an_empty_report(tmp_path: Path) -> None:
    empty = tmp_path / "2025-07-04.csv"
    empty.touch()
    out, summary = _audit(tmp_path, empty)
    assert (summary["rows_read"], summary["rows_audited"], summary["findings"]) == (0, 0, 0)
    assert summary["inputs"] == [{"file": str(empty), "rows": 0, "audited": 0, "rejected": 0, "repeated": 0}]
    assert (out / "report.html").stat().st_size > 0


def test_rules_command_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "drug-admin-without-drug" in out and "Why it leaks" in out


def test_installed_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("leakaudit")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    shutil.copy(SAMPLE_CSV, tmp_path / "in.csv")
    done = subprocess.run([str(script), "audit", "in.csv"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "leakaudit-report" / "report.html").exists()


def test_sample_data_is_reproducible_from_its_script() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_sample", SAMPLE_DIR / "make_sample.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        lines = module.build()
    finally:
        del sys.modules[spec.name]
    on_disk = pl.read_csv(SAMPLE_CSV, infer_schema=False)
    rebuilt = pl.DataFrame([{k: (v or None) for k, v in line.items()} for line in lines], schema=on_disk.schema)
    assert on_disk.equals(rebuilt)


def test_demo_report_shows_every_rule_with_findings(sample_run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    from leakaudit.rules import get_rules

    out, summary = sample_run
    html = (out / "report.html").read_text(encoding="utf-8")
    for rule in get_rules():
        assert summary["rules"][rule.id]["count"] > 0, rule.id
        assert f"<code>{rule.id}</code>" in html
    assert summary["rules"]["jcode-unit-mismatch"]["compliance_exposure_total"] > 0


def test_orthotics_option_extends_the_keywords(tmp_path: Path) -> None:
    export = tmp_path / "visit.csv"
    export.write_text(
        "claim_id,line_number,service_date,procedure_code,units,charge_amount,patient_id,description\n"
        "C1,1,2025-03-14,99213,1,100,P1,\n"
        "C1,2,2025-03-14,99070,1,80,P1,Bledsoe post-op\n"
    )
    terms = tmp_path / "terms.toml"
    terms.write_text('keywords = ["bledsoe"]\n[[regions]]\nname = "knee"\nterms = ["bledsoe"]\n')
    plain, _ = _audit(tmp_path, export, out="plain")
    assert main(["audit", str(export), "--out", str(tmp_path / "ext"), "--orthotics", str(terms)]) == ExitCode.OK
    assert pl.read_csv(plain / "findings.csv").height == 0
    extended = pl.read_csv(tmp_path / "ext" / "findings.csv")
    assert extended["rule_id"].to_list() == ["brace-without-lcode"]
    assert "orthosis for the knee" in extended["message"][0]


def test_progress_shows_on_a_terminal_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from leakaudit import cli
    from leakaudit.pipeline import run_audit

    run_audit([SAMPLE_CSV], tmp_path / "a", findings_only=True, progress=True)
    shown = capsys.readouterr().err
    assert "leakaudit: 3/3 stages" in shown
    assert "row counts" in shown  # shown before the files are counted, which takes a while for many CSVs
    # The longest stage says which rule runs, then identifying the lines and pricing.
    assert "rules and pricing: rule 1 of 4, " in shown and "rules and pricing: rule 4 of 4, " in shown
    assert "rules and pricing: pricing the findings" in shown
    assert "counting the rows read" in shown  # a CSV file scanned alone is counted then: a pass over it
    export = tmp_path / "export.csv"
    export.write_text("claim_id,line_number\nC1,1\n")
    with pytest.raises(InputError):
        run_audit([export], tmp_path / "c", findings_only=True, progress=True)
    assert capsys.readouterr().err.endswith("\n")  # the bar is closed: the error starts a line of its own
    run_audit([SAMPLE_CSV], tmp_path / "b", findings_only=True, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("CI", "true")
    assert cli._interactive() is False
    monkeypatch.delenv("CI")
    assert cli._interactive() is True


def test_the_bar_is_drawn_again_while_a_stage_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage is one Polars plan, which reports no progress: the bar's elapsed time must move all the same."""
    monkeypatch.setattr(pipeline, "_TICK", 0.01)
    ticks: list[str] = []
    refresh = pipeline.tqdm.refresh

    def counted(bar: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == pipeline._TICKER:
            ticks.append(bar.postfix)
        return refresh(bar, *args, **kwargs)

    def slow(*args: Any, **kwargs: Any) -> Any:
        """The rules, once the bar has been drawn again three times while they wait (ten seconds at most)."""
        ticks.clear()
        waited = 0
        while len(ticks) < 3 and waited < 1000:
            time.sleep(0.01)
            waited += 1
        return find_all(*args, **kwargs)

    find_all = pipeline.find_all
    monkeypatch.setattr(pipeline.tqdm, "refresh", counted)
    monkeypatch.setattr(pipeline, "find_all", slow)
    pipeline.run_audit([SAMPLE_CSV], tmp_path / "shown", findings_only=True, progress=True)
    # Drawn again while the rules waited, the stage before them still shown.
    assert ticks[:3] == ["setting aside credit lines and the charges they reverse"] * 3
    ticks.clear()
    monkeypatch.setattr(pipeline, "find_all", find_all)
    pipeline.run_audit([SAMPLE_CSV], tmp_path / "hidden", findings_only=True, progress=False)
    assert ticks == []  # hidden, no thread draws it


def test_findings_only_audit_does_not_load_matplotlib(tmp_path: Path) -> None:
    # Charts import matplotlib when they draw (0.3 s of start-up): an audit without a report never pays it.
    script = (
        "import sys\n"
        "from leakaudit.cli import main\n"
        f"status = main(['audit', {str(SAMPLE_CSV)!r}, '--out', {str(tmp_path / 'out')!r}, '--findings-only'])\n"
        "print(status, 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 False"
    assert (tmp_path / "out" / "findings.csv").exists()
