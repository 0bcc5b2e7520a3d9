"""Reading exports: formats, directories, globs, mappings, validation and rejects."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE_CSV, write_claims_csv, write_compressed
from leakaudit.cli import ExitCode, main
from leakaudit.io import (
    ClaimLines,
    ColumnMapping,
    InputError,
    encounter_key,
    find_long_rows,
    load_mapping,
    refused_long_rows,
    refused_quotes,
    resolve_sources,
    rewrite_refused,
    scan_claim_lines,
)
from leakaudit.io.long_rows import LONG_ROW_REASON
from leakaudit.io.reader import BLANK_ROW_REASON, IMPLAUSIBLE_DATE_REASON, ROW_BITS
from leakaudit.pipeline import run_audit


def test_bad_values_are_rejected_with_file_row_column_and_reason(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "99213"},
            {"claim_id": "C2", "procedure_code": "99213", "service_date": "2025-02-30"},
            {"claim_id": "C3", "procedure_code": "99213", "charge_amount": "12O.00"},
            {"claim_id": "", "procedure_code": "99213"},
            {"claim_id": "C5", "procedure_code": " "},
            {"claim_id": "C6", "procedure_code": "99213", "line_number": "1.5"},
            {"claim_id": "C7", "procedure_code": "99213", "payer_type": "workers comp"},
            {"claim_id": "C8", "procedure_code": "J3301", "ndc_unit": "XX"},
            {"claim_id": "C9", "procedure_code": "99213", "paid_amount": "n/a"},
        ]
    )
    lines = scan_claim_lines([path])
    rejects = lines.with_reject_values(lines.rejects.collect()).sort("source_row")
    assert lines.audited.collect()["claim_id"].to_list() == ["C1"]
    assert rejects.select("source_row", "column", "value").rows() == [
        (2, "service_date", "2025-02-30"),
        (3, "charge_amount", "12O.00"),
        (4, "claim_id", None),
        (5, "procedure_code", None),
        (6, "line_number", "1.5"),
        (7, "payer_type", "workers comp"),
        (8, "ndc_unit", "XX"),
        (9, "paid_amount", "n/a"),
    ]
    assert set(rejects["source_file"]) == {str(path)}
    reasons = dict(zip(rejects["column"], rejects["reason"], strict=True))
    assert reasons["service_date"] == "not a valid date (expected YYYY-MM-DD)"
    assert reasons["claim_id"] == "missing required value"
    assert reasons["line_number"] == "not a whole number"
    assert "commercial" in reasons["payer_type"]


def test_a_second_validating_pass_finds_the_same_rejected_values_as_the_lookup(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Many rejects are not looked up in the input, held in memory, but written by a pass validating it
    again with their values: the same rows and values, from CSV text, typed Parquet and CSV rows rejected
    whole (blank, or with more fields than the header)."""
    bad = {"claim_id": "C2", "procedure_code": "99213", "service_date": "2025-02-30", "units": " 2x "}
    csv_path = claims_csv([{"claim_id": "C1", "procedure_code": "99213"}, bad, {"claim_id": ""}], name="a.csv")
    pl.DataFrame(
        {
            "claim_id": ["P1", "P2", None],
            "line_number": [1.0, 1.5, 2.0],
            "service_date": [dt.date(2025, 3, 14)] * 3,
            "procedure_code": ["99213"] * 3,
            "units": [1, None, 3],
            "charge_amount": [90.0] * 3,
        }
    ).write_parquet(tmp_path / "b.parquet")
    long_path = tmp_path / "c.csv"
    long_path.write_text(
        "claim_id,line_number,service_date,procedure_code,units,charge_amount,description\n"
        "L1,1,2025-03-14,99070,1,20,Brace, knee\n\nL3,1,2025-03-14,99213,x,90,visit\n"
    )
    paths = [csv_path, tmp_path / "b.parquet", long_path]
    lines = scan_claim_lines(paths).with_long_rows(find_long_rows(paths))
    looked_up = lines.with_reject_values(lines.rejects.collect())
    revalidated = lines.rejects_with_values().collect().sort("line_id")
    assert revalidated.schema == looked_up.schema
    assert revalidated.rows() == looked_up.rows()
    assert looked_up.select("source_row", "column", "value").rows() == [
        (2, "service_date", "2025-02-30"),
        (3, "claim_id", None),
        (2, "line_number", "1.5"),
        (3, "claim_id", None),
        (1, "(whole row)", None),
        (2, "(whole row)", None),
        (3, "units", "x"),
    ]


def test_dates_of_service_outside_1900_to_2099_are_rejected(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a year 0 date (an export's placeholder for "no date") parsed, was audited, and failed the
    audit when the summary took the first date of service. Placeholders such as 9999-12-31 and typed
    Parquet dates are held to the same years."""
    dates = ["0000-01-01", "1899-12-31", "1900-01-01", "2099-12-31", "2100-01-01", "9999-12-31", "-0001-01-01"]
    csv_path = claims_csv(
        [{"claim_id": f"C{i}", "procedure_code": "99213", "service_date": d} for i, d in enumerate(dates)]
    )
    typed = [dt.date(1, 1, 1), dt.date(1900, 1, 1), dt.date(9999, 12, 31)]
    parquet_path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "claim_id": ["P0", "P1", "P2"],
            "line_number": [1, 1, 1],
            "service_date": typed,
            "procedure_code": ["99213"] * 3,
            "units": [1, 1, 1],
            "charge_amount": [90.0] * 3,
        }
    ).write_parquet(parquet_path)
    datetime_path = tmp_path / "datetimes.parquet"
    pl.read_parquet(parquet_path).with_columns(pl.col("service_date").cast(pl.Datetime("us"))).write_parquet(
        datetime_path
    )
    lines = scan_claim_lines([csv_path, parquet_path, datetime_path])
    audited = lines.audited.select("claim_id", "service_date").collect().sort("claim_id")
    assert audited.rows() == [
        ("C2", dt.date(1900, 1, 1)),
        ("C3", dt.date(2099, 12, 31)),
        ("P1", dt.date(1900, 1, 1)),
        ("P1", dt.date(1900, 1, 1)),
    ]
    rejects = lines.with_reject_values(lines.rejects.collect()).sort("line_id")
    assert rejects.select("source_row", "value").rows() == [
        (1, "0000-01-01"),
        (2, "1899-12-31"),
        (5, "2100-01-01"),
        (6, "9999-12-31"),
        (7, "-0001-01-01"),
        (1, "0001-01-01"),
        (3, "9999-12-31"),
        (1, "0001-01-01 00:00:00.000000"),
        (3, "9999-12-31 00:00:00.000000"),
    ]
    assert set(rejects["reason"]) == {"not a plausible date of service (years 1900 to 2099)"}
    assert set(rejects["column"]) == {"service_date"}
    # The whole audit ends, with the first and last dates of service audited.
    result = run_audit([csv_path], tmp_path / "out", findings_only=True)
    assert result.summary["service_dates"] == {"first": "1900-01-01", "last": "2099-12-31"}
    assert result.summary["rows_rejected"] == 5


def test_values_are_normalised(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv(
        [
            {
                "claim_id": " C1 ",
                "procedure_code": "j3301",
                "charge_amount": "$1,040.50",
                "modifiers": "jw; 59 rt",
                "diagnosis_codes": "M17.11, e11.9",
                "revenue_code": "274",
                "place_of_service": "11",
                "payer_type": "Medicare Advantage",
                "ndc_unit": "me",
            }
        ]
    )
    row = scan_claim_lines([path]).audited.collect().row(0, named=True)
    assert row["claim_id"] == "C1"
    assert row["procedure_code"] == "J3301"
    assert row["charge_amount"] == Decimal("1040.50")
    assert row["modifiers"] == "JW,59,RT"
    assert row["diagnosis_codes"] == "M17.11;E11.9"
    assert row["revenue_code"] == "0274"
    assert row["payer_type"] == "medicare_advantage"
    assert row["ndc_unit"] == "ME"
    assert row["patient_id"] is None  # missing optional column: not known
    assert scan_claim_lines([path]).audited.select(encounter_key()).collect().item() == "C:C1"


def test_a_placeholder_patient_is_no_patient(claims_csv, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """Regression: exports write 000000 or UNKNOWN where the patient is not known. Read as a patient, every line
    of a day bearing it was one encounter: another patient's drug satisfied an injection, and units of many
    patients added up against the MUE. Each such line is now its claim's own visit, and the run counts them."""
    path = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "96372", "patient_id": "000000"},
            {"claim_id": "C2", "procedure_code": "J3301", "patient_id": "000000"},
            {"claim_id": "C3", "procedure_code": "99213", "patient_id": " Unknown "},
            {"claim_id": "C4", "procedure_code": "99213", "patient_id": ""},
            {"claim_id": "C5", "procedure_code": "99213", "patient_id": "0042"},
            {"claim_id": "C6", "procedure_code": "99213", "patient_id": "UNKNOWN-7"},
        ]
    )
    lines = scan_claim_lines([path]).audited.select("claim_id", "patient_id", encounter_key()).collect()
    assert lines.sort("claim_id").rows() == [
        ("C1", None, "C:C1"),
        ("C2", None, "C:C2"),
        ("C3", None, "C:C3"),
        ("C4", None, "C:C4"),
        ("C5", "0042", "P:0042|2025-03-14"),
        ("C6", "UNKNOWN-7", "P:UNKNOWN-7|2025-03-14"),
    ]
    assert main(["audit", str(path), "--out", str(tmp_path / "out")]) == ExitCode.OK
    said = capsys.readouterr().out
    assert "4 lines without a patient (none given, or a placeholder such as 000000 or UNKNOWN)" in said
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["lines_without_patient"] == 4
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'placeholder such as 000000): each its claim\'s own visit</th><td class="num">4</td>' in html
    findings = pl.read_parquet(tmp_path / "out" / "findings.parquet")
    assert findings.filter(pl.col("procedure_code") == "96372")["claim_id"].to_list() == ["C1"]


def test_an_exports_own_placeholder_patient_is_named_in_the_mapping(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A placeholder of the export's own spelling is read as no patient once the mapping names it."""
    path = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "99213", "patient_id": "PT-UNK"},
            {"claim_id": "C2", "procedure_code": "99213", "patient_id": " PT-UNK "},
            {"claim_id": "C3", "procedure_code": "99213", "patient_id": "000000"},
            {"claim_id": "C4", "procedure_code": "99213", "patient_id": "PT-0001"},
        ]
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text('[options]\npatient_placeholders = [" PT-UNK"]\n')
    for mapped, kept in ((None, ["PT-UNK", "PT-UNK", None, "PT-0001"]), (mapping, [None, None, None, "PT-0001"])):
        lines = scan_claim_lines([path], load_mapping(mapped)).audited.select("claim_id", "patient_id").collect()
        assert lines.sort("claim_id")["patient_id"].to_list() == kept
    for bad in ('"PT-UNK"', '["PT-UNK", 0]', '[""]'):
        mapping.write_text(f"[options]\npatient_placeholders = {bad}\n")
        with pytest.raises(InputError) as refused:
            load_mapping(mapping)
        assert str(refused.value).startswith(f"{mapping}: [options] patient_placeholders must be a list of texts")


def test_a_procedure_code_written_with_its_modifiers_is_split(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: practice-management reports print "99213-25" or "J3301 JW" in the code column. Read as
    codes, each was "neither a CPT nor a HCPCS code" (expired-code) and the J-code satisfied no injection."""
    path = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "99213-25", "patient_id": "P1"},
            {"claim_id": "C1", "line_number": 2, "procedure_code": "96372", "patient_id": "P1"},
            {"claim_id": "C1", "line_number": 3, "procedure_code": "j3301 jw", "patient_id": "P1", "modifiers": "59"},
            {"claim_id": "C2", "procedure_code": "L1812-RT-NU", "modifiers": "RT"},
            {"claim_id": "C3", "procedure_code": "00003-0293-05"},  # an NDC: no code with modifiers
            {"claim_id": "C4", "procedure_code": "CLM-1"},
        ]
    )
    lines = scan_claim_lines([path]).audited.select("claim_id", "procedure_code", "modifiers").collect()
    assert lines.sort("claim_id", "procedure_code").rows() == [
        ("C1", "96372", None),
        ("C1", "99213", "25"),
        ("C1", "J3301", "59,JW"),
        ("C2", "L1812", "RT,NU"),
        ("C3", "00003-0293-05", None),
        ("C4", "CLM-1", None),
    ]
    result = run_audit([path], tmp_path / "out", findings_only=True)
    flagged = result.findings.select("rule_id", "claim_id").rows()
    assert ("expired-code", "C1") not in flagged and ("drug-admin-without-drug", "C1") not in flagged
    assert ("expired-code", "C4") in flagged  # what is no code stays flagged


def test_ndc_units_as_exports_spell_them_are_read_as_the_x12_codes(claims_csv) -> None:  # type: ignore[no-untyped-def]
    """Regression: an NDC unit written "mg" or "IU" rejected the whole line ("not one of F2, GR, ME, ML, UN")."""
    spelt = ["mg", "Gm", "IU", "cc", "EA", "ME", "U", "XX"]
    path = claims_csv(
        [{"claim_id": f"C{i}", "procedure_code": "J3301", "ndc_unit": unit} for i, unit in enumerate(spelt)]
    )
    lines = scan_claim_lines([path])
    audited = lines.audited.select("claim_id", "ndc_unit").collect().sort("claim_id")
    assert audited.rows() == [("C0", "ME"), ("C1", "GR"), ("C2", "F2"), ("C3", "ML"), ("C4", "UN"), ("C5", "ME")]
    # Which unit "U" is (international units, or each) the dose depends on: it is not guessed.
    rejected = lines.with_reject_values(lines.rejects.collect()).select("value", "column").rows()
    assert rejected == [("U", "ndc_unit"), ("XX", "ndc_unit")]


def test_dates_saved_as_a_spreadsheet_s_serial_numbers_are_read(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: an export opened in a spreadsheet and saved again, its date cells formatted as numbers,
    writes 45730 for 2025-03-14: every such row was rejected as "not a valid date", and no date_format
    reads it. Five digits are now read as the spreadsheet's day, beside the ISO dates of other rows,
    and held to the same years. An export that gives its own date format is taken at its word."""
    dates = ["45730", "2025-03-15", "45731 00:00:00", "99999", "4573", "45730.5"]
    rows = [{"claim_id": f"C{i}", "procedure_code": "99213", "service_date": d} for i, d in enumerate(dates)]
    path = claims_csv(rows)
    lines = scan_claim_lines([path])
    audited = lines.audited.select("claim_id", "service_date").collect().sort("claim_id")
    assert audited.rows() == [("C0", dt.date(2025, 3, 14)), ("C1", dt.date(2025, 3, 15)), ("C2", dt.date(2025, 3, 15))]
    rejects = lines.with_reject_values(lines.rejects.collect()).sort("line_id")
    assert rejects.select("source_row", "value", "reason").rows() == [
        (4, "99999", IMPLAUSIBLE_DATE_REASON),
        (5, "4573", "not a valid date (expected YYYY-MM-DD)"),
        (6, "45730.5", "not a valid date (expected YYYY-MM-DD)"),
    ]
    mapping = tmp_path / "map.toml"
    mapping.write_text('[options]\ndate_format = "%m/%d/%Y"\n')
    dated = claims_csv([{**rows[0], "claim_id": "D0"}, {**rows[1], "claim_id": "D1", "service_date": "03/15/2025"}])
    lines = scan_claim_lines([dated], load_mapping(mapping))
    assert lines.audited.select("claim_id").collect()["claim_id"].to_list() == ["D1"]


def test_encounter_id_is_patient_and_date_across_claims_else_the_claim(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv(
        [
            {"procedure_code": "99213", **row}
            for row in [
                {"claim_id": "C1", "patient_id": "P1", "service_date": "2025-03-14"},
                {"claim_id": "C2", "patient_id": "P1", "service_date": "2025-03-14"},
                {"claim_id": "C3", "patient_id": "P1", "service_date": "2025-03-15"},
                {"claim_id": "C4", "patient_id": "P2", "service_date": "2025-03-14"},
                {"claim_id": "C5", "patient_id": "", "service_date": "2025-03-14"},
                {"claim_id": "C5", "line_number": "2", "patient_id": "", "service_date": "2025-03-14"},
                {"claim_id": "C6", "patient_id": "", "service_date": "2025-03-14"},
            ]
        ]
    )
    lines = scan_claim_lines([path]).audited.select("claim_id", "encounter_id", "line_id", encounter_key()).collect()
    ids = dict(zip(lines["claim_id"], lines["encounter_id"], strict=False))
    assert ids["C1"] == ids["C2"]
    assert len({ids["C1"], ids["C3"], ids["C4"], ids["C5"], ids["C6"]}) == 5
    assert lines.filter(pl.col("claim_id") == "C5")["encounter_id"].n_unique() == 1
    assert lines["encounter_key"].to_list()[:2] == ["P:P1|2025-03-14"] * 2
    assert lines["line_id"].to_list() == list(range(1, 8))  # first file: the row number itself


def test_encounter_id_is_shared_across_files_and_formats(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A visit billed in a CSV export and its drug in a Parquet export are one encounter."""
    first = claims_csv([{"claim_id": "C1", "procedure_code": "96372", "patient_id": "P1"}], name="a.csv")
    second = tmp_path / "b.parquet"
    pl.DataFrame(
        {
            "claim_id": ["C2"],
            "line_number": [1],
            "service_date": [dt.date(2025, 3, 14)],
            "procedure_code": ["J3301"],
            "units": [4],
            "charge_amount": [10.0],
            "patient_id": ["P1"],
        }
    ).write_parquet(second)
    lines = scan_claim_lines([first, second]).audited.select("claim_id", "encounter_id").collect()
    assert lines.height == 2
    assert lines["encounter_id"].n_unique() == 1


def test_split_modifier_columns_are_joined(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv(
        [{"claim_id": "C1", "procedure_code": "L1812", "modifier_1": "rt", "modifier_2": "", "modifier_3": "NU"}]
    )
    assert scan_claim_lines([path]).audited.collect()["modifiers"].to_list() == ["RT,NU"]


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("claim_id,line_number,procedure_code,units,charge_amount\nC1,1,99213,1,10\n")
    with pytest.raises(InputError, match=r"export\.csv: missing required column\(s\): service_date"):
        scan_claim_lines([path])


def test_a_required_column_spelt_otherwise_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Claim ID,line_number,Service-Date,procedure_code,units,charge_amount\nC1,1,2025-03-14,99213,1,10\n"
    )
    with pytest.raises(InputError) as missing:
        scan_claim_lines([path])
    assert str(missing.value).startswith(
        f"{path}: missing required column(s): claim_id, service_date. "
        "The header has 'Claim ID' for claim_id, 'Service-Date' for service_date: names must match exactly"
    )


@pytest.mark.parametrize("suffix", [".csv", ".txt.gz", ".txt.zst"])
def test_a_utf16_export_is_named_as_such(tmp_path: Path, suffix: str) -> None:
    """Excel's "Unicode Text" is UTF-16: Polars reads its header as noise, and the error listed every column."""
    path = tmp_path / f"export{suffix}"
    text = "claim_id,line_number,service_date,procedure_code,units,charge_amount\nC1,1,2025-03-14,99213,1,10\n"
    data = text.encode("utf-16")
    write_compressed(path, data)
    with pytest.raises(
        InputError, match=r'export\.(csv|txt\.gz|txt\.zst): missing .* It is UTF-16 text .* "CSV UTF-8"'
    ):
        scan_claim_lines([path])


def test_report_exports_with_title_lines_above_the_header_are_read_with_skip_lines(tmp_path: Path) -> None:
    """A practice-management report starts with its title and date range; the header comes after. Without
    ``skip_lines`` the error says so; with it, rows are numbered from the header, also through the repairs
    of a lone quote and a long row, and in files sharing a scan."""
    title = 'Charge Detail Report\n"Dates: 01/01/2025 - 03/31/2025"\n\n'
    header = "claim_id,line_number,service_date,procedure_code,units,charge_amount,description\n"
    a = tmp_path / "a.csv"
    a.write_text(title + header + "a1,1,2025-03-14,99213,1,90,visit\na2,1,2025-03-14,99213,x,90,visit\n")
    b = tmp_path / "b.csv.gz"
    rows = 'b1,1,2025-03-14,L1812,1,90,Knee brace 12" long\nb2,1,2025-03-14,99070,1,20,Brace, knee\n'
    b.write_bytes(gzip.compress((title + header + rows).encode()))
    with pytest.raises(
        InputError, match=r"a\.csv: missing .* Its first line begins 'Charge Detail Report'.*skip_lines"
    ):
        scan_claim_lines([a, b])
    mapping = tmp_path / "map.toml"
    mapping.write_text("[options]\nskip_lines = 3\n")
    report = load_mapping(mapping)
    lines = scan_claim_lines([a, b], report)
    assert [[p.name for p in group.paths] for group in lines.groups] == [["a.csv", "b.csv.gz"]]
    for _ in range(2):  # refused for its quote and for its long row, in either order
        with pytest.raises(pl.exceptions.PolarsError) as refused:
            lines.audited.collect()
        if refused_quotes(refused.value):
            lines = lines.with_rewritten(rewrite_refused([a, b], tmp_path / "work", report.csv_format), report)
        else:
            lines = lines.with_long_rows(find_long_rows([a, b], report.csv_format), report)
    audited, rejects = _origins(lines)
    assert audited == [("a1", 0, 1), ("b1", 1, 1)]
    assert rejects == [("a.csv", 2, "units", "x"), ("b.csv.gz", 2, "(whole row)", None)]
    assert lines.rows_by_file() == {str(a): 2, str(b): 2}
    for bad in ("-1", "1.5", "true", '"3"'):
        mapping.write_text(f"[options]\nskip_lines = {bad}\n")
        with pytest.raises(InputError, match=r"map\.toml: \[options\] skip_lines must be a whole number"):
            load_mapping(mapping)


def test_a_column_the_audit_reads_named_twice_in_a_csv_header_is_an_error(tmp_path: Path) -> None:
    """Regression: Polars reads the second ``units`` as ``units_duplicated_0``, and the audit read the first,
    whichever of billed or paid units it held. A column the audit does not read may repeat."""
    header = "claim_id,line_number,service_date,procedure_code,units,charge_amount"
    path = tmp_path / "export.csv"
    path.write_text(f"{header},units,note,note\nC1,1,2025-03-14,J3301,4,40,2,a,b\n")
    with pytest.raises(InputError, match=r"export\.csv: the header names 'units' more than once"):
        scan_claim_lines([path])
    path.write_text(f"{header},note,note\nC1,1,2025-03-14,J3301,4,40,a,b\n")
    assert scan_claim_lines([path]).audited.collect().height == 1


def test_values_as_spreadsheets_and_sql_exports_write_them_are_read(tmp_path: Path) -> None:
    """Regression: a count exported as 2.0 was rejected as "not a whole number", a date with its (midnight)
    time as "not a valid date", and a refund in accounting parentheses, or the accounting format's zero
    (``$ -``), as "not a number"."""
    path = tmp_path / "export.csv"
    path.write_text(
        "claim_id,line_number,service_date,procedure_code,units,charge_amount,paid_amount\n"
        "C1,2.0,2025-03-14 00:00:00,99213,1,90,(25.00)\n"
        "C2,10.00,2025-03-14T13:45:00Z,99213,1,90,$(5.00)\n"
        'C3,3,03/14/2025 12:00:00 AM,99213,1,"$1,090.00",-4\n'
        "C4,4.5,2025-03-14,99213,1,90,\n"  # still not whole
        "C5,5,2025-03-14 nine,99213,1,90,\n"  # still not a date
        "C6,6,2025-03-14,99213,1,(90,\n"  # still not a number
        'C7,7,2025-03-14,99213,1,90," $ -   "\n'  # the accounting format's zero
    )
    lines = scan_claim_lines([path])
    got = lines.audited.select("claim_id", "line_number", "service_date", "charge_amount", "paid_amount").collect()
    assert got.sort("claim_id").rows() == [
        ("C1", 2, dt.date(2025, 3, 14), Decimal("90.00"), Decimal("-25.00")),
        ("C2", 10, dt.date(2025, 3, 14), Decimal("90.00"), Decimal("-5.00")),
        ("C7", 7, dt.date(2025, 3, 14), Decimal("90.00"), Decimal("0.00")),
    ]
    rejects = lines.rejects.select("source_row", "column", "reason").collect().sort("source_row").rows()
    assert rejects == [
        (3, "service_date", "not a valid date (expected YYYY-MM-DD)"),
        (4, "line_number", "not a whole number"),
        (5, "service_date", "not a valid date (expected YYYY-MM-DD)"),
        (6, "charge_amount", "not a number"),
    ]
    us = ColumnMapping(date_format="%m/%d/%Y")
    assert scan_claim_lines([path], us).audited.select("claim_id").collect()["claim_id"].to_list() == ["C3"]


def test_mapping_renames_columns_and_parses_dates(tmp_path: Path) -> None:
    export = tmp_path / "pm.csv"
    export.write_text('Claim Number,Line #,DOS,CPT/HCPCS,Units,Charges,Mod 1\nA1,1,03/14/2025,96372,1,"$25.00",25\n')
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\nclaim_id = "Claim Number"\nline_number = "Line #"\nservice_date = "DOS"\n'
        'procedure_code = "CPT/HCPCS"\nunits = "Units"\ncharge_amount = "Charges"\nmodifier_1 = "Mod 1"\n'
        '[options]\ndate_format = "%m/%d/%Y"\n'
    )
    row = scan_claim_lines([export], load_mapping(mapping)).audited.collect().row(0, named=True)
    assert (row["claim_id"], str(row["service_date"]), row["modifiers"]) == ("A1", "2025-03-14", "25")


def test_mapping_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\nclaim_number = "Claim"\n')
    with pytest.raises(InputError, match=r"bad\.toml: .*unknown canonical column\(s\): claim_number"):
        load_mapping(bad)
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(tmp_path / "absent.toml")
    export = tmp_path / "pm.csv"
    export.write_text("Claim,line_number,DOS,procedure_code,units,charge_amount\nA1,1,2025-01-01,99213,1,1\n")
    good = tmp_path / "map.toml"
    good.write_text('[columns]\nclaim_id = "Claim"\nservice_date = "Date of Service"\n')
    with pytest.raises(InputError, match=r"service_date \(mapped from 'Date of Service'\)"):
        scan_claim_lines([export], load_mapping(good))


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        (
            '[options]\ndate_fromat = "%m/%d/%Y"',
            "[options]: unknown key(s) date_fromat: the keys are date_format, separator, skip_lines, "
            "patient_placeholders",
        ),
        ('[column]\nclaim_id = "Claim"', "mapping file: unknown key(s) column: the keys are columns, options"),
        ('[options]\ndate_format = "%d"', "[options] date_format '%d' does not read a date back as written"),
        ('[options]\ndate_format = ""', "[options] date_format '' does not read a date back"),
        ('[options]\ndate_format = "%Y-%m-%d %H:%M %p"', "[options] date_format '%Y-%m-%d %H:%M %p' does not"),
        ('options = "x"', "options must be a table"),
    ],
)
def test_a_mapping_that_would_misread_the_export_is_refused(tmp_path: Path, toml: str, said: str) -> None:
    """Regression: a misspelt option or table was ignored, and a date format without a year read every
    date of service as year 1 ("%d" reads 14 as 0001-01-14), or none."""
    path = tmp_path / "map.toml"
    path.write_text(toml + "\n")
    with pytest.raises(InputError) as refused:
        load_mapping(path)
    assert str(refused.value).startswith(f"{path}: {said}")
    path.write_text('[options]\ndate_format = "%b %d, %Y"\n')
    assert load_mapping(path).date_format == "%b %d, %Y"


def test_payer_types_an_export_names_its_own_way_are_mapped(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An export's financial classes were rejected rows ("not one of medicare, ..."); [payer_types] maps them,
    compared as payer types are (case, spaces and hyphens forgiven)."""
    classes = ["Medicare Replacement", "BLUE CROSS", "self-pay", "Medicare", "Workers Comp"]
    path = claims_csv(
        [{"claim_id": f"C{i}", "procedure_code": "99213", "payer_type": c} for i, c in enumerate(classes)]
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[payer_types]\n"medicare replacement" = "Medicare Advantage"\n"Blue Cross" = "commercial"\n'
        '"Self Pay" = "other"\n'
    )
    lines = scan_claim_lines([path], load_mapping(mapping))
    audited = lines.audited.select("claim_id", "payer_type").collect().sort("claim_id").rows()
    assert audited == [("C0", "medicare_advantage"), ("C1", "commercial"), ("C2", "other"), ("C3", "medicare")]
    rejected = lines.with_reject_values(lines.rejects.collect())
    assert rejected.select("value", "column").rows() == [("Workers Comp", "payer_type")]
    assert "nor mapped to one under [payer_types]" in rejected["reason"][0]
    mapping.write_text('[payer_types]\n"Blue Cross" = "private"\n')
    with pytest.raises(InputError) as refused:
        load_mapping(mapping)
    assert str(refused.value).startswith(f"{mapping}: [payer_types] 'Blue Cross' = 'private': a payer type is one of")


def test_pipe_separated_exports_are_read_with_the_mappings_separator(tmp_path: Path) -> None:
    """Exports separated by "|" (a comma in a value is then just text), plain and gzip-compressed; a row with
    one "|" too many is rejected whole; without the separator, the error says which one the header holds."""
    header = "claim_id|line_number|service_date|procedure_code|units|charge_amount|description"
    a = tmp_path / "a.txt"
    a.write_text(f"{header}\na1|1|2025-03-14|99070|1|20|Brace, knee\na2|1|2025-03-14|99070|1|20|Brace| knee\n")
    b = tmp_path / "b.txt.gz"
    b.write_bytes(gzip.compress(f"{header}\nb1|1|2025-03-14|99213|1|90|visit\n".encode()))
    mapping = tmp_path / "map.toml"
    mapping.write_text('[options]\nseparator = "|"\n')
    pipes = load_mapping(mapping)
    assert pipes.separator == "|"
    with pytest.raises(InputError, match=r'a\.txt: missing .*one column holding "\|": .* separator = "\|"'):
        scan_claim_lines([a, b])
    long_rows = find_long_rows([a, b], pipes.csv_format)
    assert long_rows == {a: [2]}
    lines = scan_claim_lines([a, b], pipes).with_long_rows(long_rows, pipes)
    assert [[p.name for p in group.paths] for group in lines.groups] == [["a.txt", "b.txt.gz"]]
    audited, rejects = _origins(lines)
    assert audited == [("a1", 0, 1), ("b1", 1, 1)]
    assert rejects == [("a.txt", 2, "(whole row)", None)]
    assert lines.audited.filter(pl.col("claim_id") == "a1").select("description").collect().item() == "Brace, knee"
    assert lines.rows_by_file() == {str(a): 2, str(b): 1}


@pytest.mark.parametrize("separator", ['""', '"||"', '"\\""', "1"])
def test_a_separator_that_is_not_one_character_names_the_mapping(tmp_path: Path, separator: str) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(f"[options]\nseparator = {separator}\n")
    with pytest.raises(InputError, match=r"map\.toml: \[options\] separator must be one character"):
        load_mapping(mapping)
    mapping.write_text('[options]\nseparator = "\\t"\n')
    assert load_mapping(mapping).separator == "\t"


def test_parquet_with_native_types_reads_like_csv(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "claim_id": ["C1", "C2"],
            "line_number": [1, 2],
            "service_date": [dt.date(2025, 3, 14), None],
            "procedure_code": ["96372", "J3301"],
            "units": [1.0, 4.0],
            "charge_amount": [25.0, 40.5],
            "revenue_code": [274, 636],
            "ndc": [3029305, 12345678901],  # numbers: 00003-0293-05 lost its leading zeros
        },
    )
    path = tmp_path / "lines.parquet"
    frame.write_parquet(path)
    lines = scan_claim_lines([path])
    audited = lines.audited.collect()
    assert audited["charge_amount"].to_list() == [Decimal("25.00")]
    assert audited["revenue_code"].to_list() == ["0274"]
    assert audited["ndc"].to_list() == ["00003029305"]
    assert lines.rejects.collect().select("source_row", "column").rows() == [(2, "service_date")]


def test_typed_numbers_that_fit_no_column_are_rejected_not_fatal(tmp_path: Path) -> None:
    """Regression: a float amount of 16 whole digits or more (1e16) made Polars raise, even casting not
    strictly, and the whole audit failed; and a decimal line number lost its fraction (1.5 was line 1)."""
    amounts = [40.5, 1e16, float("nan"), float("inf"), -9.99e15, 12.0]
    path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "claim_id": [f"C{i}" for i in range(6)],
            "line_number": pl.Series(["1", "2", "3", "4", "5", "1.5"]).cast(pl.Decimal(10, 1)),
            "service_date": [dt.date(2025, 3, 14)] * 6,
            "procedure_code": ["99213"] * 6,
            "units": [1.0, 1.0, 1.0, 1.0, 1.0, 1e15],
            "charge_amount": amounts,
        }
    ).write_parquet(path)
    lines = scan_claim_lines([path])
    audited = lines.audited.select("claim_id", "line_number", "charge_amount").collect().sort("claim_id")
    assert audited.rows() == [("C0", 1, Decimal("40.50")), ("C4", 5, Decimal("-9990000000000000.00"))]
    rejects = lines.with_reject_values(lines.rejects.collect()).sort("source_row")
    assert rejects.select("source_row", "column", "reason").rows() == [
        (2, "charge_amount", "not a finite number within the column's digits"),
        (3, "charge_amount", "not a finite number within the column's digits"),
        (4, "charge_amount", "not a finite number within the column's digits"),
        (6, "line_number", "not a whole number"),
    ]
    result = run_audit([path], tmp_path / "out", findings_only=True)
    assert (result.summary["rows_audited"], result.summary["rows_rejected"]) == (2, 4)


def test_directories_and_globs_are_expanded_sorted(tmp_path: Path) -> None:
    (tmp_path / "2025").mkdir()
    for name in ("2025/b.csv", "2025/a.parquet", "notes.md", "c.csv"):
        (tmp_path / name).write_text("x")
    assert resolve_sources([tmp_path]) == [tmp_path / "2025/a.parquet", tmp_path / "2025/b.csv", tmp_path / "c.csv"]
    assert resolve_sources([str(tmp_path / "**/*.csv")]) == [tmp_path / "2025/b.csv", tmp_path / "c.csv"]
    with pytest.raises(InputError, match="no file matches"):
        resolve_sources([str(tmp_path / "*.xlsx")])
    with pytest.raises(InputError, match="no such file"):
        resolve_sources([tmp_path / "missing.csv"])
    with pytest.raises(InputError, match="unsupported file type"):
        resolve_sources([tmp_path / "notes.md"])


def test_directories_and_globs_leave_out_the_skipped_directories_inside_them(tmp_path: Path) -> None:
    for name in ("exports/a.csv", "exports/out/findings.csv", "exports/2025/b.csv", "exports/2025/out/c.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    exports, out = tmp_path / "exports", tmp_path / "exports" / "out"
    kept = [exports / "2025/b.csv", exports / "2025/out/c.csv", exports / "a.csv"]
    assert resolve_sources([exports], skip=[out]) == kept
    assert resolve_sources([str(exports / "**/*.csv")], skip=[out]) == kept
    # Named, or searched from within it, the directory is read.
    assert resolve_sources([out], skip=[out]) == [out / "findings.csv"]
    assert resolve_sources([str(out / "*.csv")], skip=[out]) == [out / "findings.csv"]
    assert resolve_sources([out / "findings.csv"], skip=[out]) == [out / "findings.csv"]
    # A relative path names the same directory.
    assert resolve_sources([exports], skip=[Path(os.path.relpath(out))]) == kept


def test_anesthesia_codes_keep_their_leading_zeros(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A spreadsheet, or a procedure-code column of numbers, writes CPT 00100 as 100: it is read as 00100.

    Regression: such a code was found "neither a CPT nor a HCPCS Level II code". Only anesthesia codes
    (00100-01999) start with a zero; a number of 4 digits out of their range is still no code.
    """
    codes = ["100", "1999", "00840", "3301", "99213"]
    csv_path = claims_csv([{"claim_id": f"C{i}", "procedure_code": code} for i, code in enumerate(codes)])
    parquet_path = tmp_path / "numbers.parquet"
    pl.DataFrame(
        {
            "claim_id": [f"C{i}" for i in range(len(codes))],
            "line_number": [1] * len(codes),
            "service_date": [dt.date(2025, 3, 14)] * len(codes),
            "procedure_code": [int(code) for code in codes],
            "units": [1.0] * len(codes),
            "charge_amount": [900.0] * len(codes),
        }
    ).write_parquet(parquet_path)
    expected = ["00100", "01999", "00840", "3301", "99213"]
    for path in (csv_path, parquet_path):
        assert scan_claim_lines([path]).audited.sort("claim_id").collect()["procedure_code"].to_list() == expected
        findings = run_audit([path], tmp_path / path.suffix, findings_only=True).findings
        assert findings.select("procedure_code", "rule_id").rows() == [("3301", "expired-code")]


def test_row_numbers_are_per_file(claims_csv) -> None:  # type: ignore[no-untyped-def]
    first = claims_csv([{"claim_id": "A", "procedure_code": "99213"}, {"claim_id": "", "procedure_code": "1"}], "a.csv")
    second = claims_csv([{"claim_id": "", "procedure_code": "99213"}], "b.csv")
    rejects = scan_claim_lines([first, second]).rejects.collect().sort("source_file")
    assert rejects.select("source_file", "source_row").rows() == [(str(first), 2), (str(second), 1)]


def test_audited_lines_have_the_canonical_schema(claims_csv) -> None:  # type: ignore[no-untyped-def]
    from leakaudit.schema import line_schema

    lines = scan_claim_lines([claims_csv([{"claim_id": "C1", "procedure_code": "99213"}])]).audited
    assert lines.collect_schema() == line_schema()
    assert lines.collect().schema == line_schema()


def test_more_files_than_line_ids_can_number_is_an_input_error(claims_csv, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from leakaudit.io import reader

    monkeypatch.setattr(reader, "FILE_BITS", 1)  # two files at most
    paths = [claims_csv([{"claim_id": f"C{i}", "procedure_code": "99213"}], name=f"{i}.csv") for i in range(3)]
    assert scan_claim_lines(paths[:2]).audited.collect().height == 2
    with pytest.raises(InputError, match="3 input files: at most 2 per audit"):
        scan_claim_lines(paths)


def test_encounter_ids_agree_within_one_query(claims_csv) -> None:  # type: ignore[no-untyped-def]
    """Two scans of the same lines in one query number the encounter alike (see ``encounter_id``)."""
    path = claims_csv([{"claim_id": "C1", "procedure_code": "99213", "patient_id": "Q-only-here"}])
    audited = scan_claim_lines([path]).audited
    both = pl.concat([audited, audited.with_columns(pl.lit("C2").alias("claim_id"))]).collect()
    assert both["encounter_id"].n_unique() == 1


def _lines_named_by_origin(tmp_path: Path) -> list[Path]:
    """Seven exports, claims named ``<file><row>``: CSVs of two schemas and Parquet, some without rows.

    Rejects: a.csv row 2 (no claim), c.csv row 1 (payer type), d.csv row 3 (date), e.parquet row 2 (no
    date), g.parquet row 3 (no claim).
    """
    same = [{"claim_id": "a1"}, {"claim_id": ""}, {"claim_id": "a3"}]
    a = write_claims_csv(tmp_path / "a.csv", [{**row, "procedure_code": "99213"} for row in same])
    b = tmp_path / "b.csv"
    b.write_text(a.read_text().splitlines()[0] + "\n")
    c = write_claims_csv(tmp_path / "c.csv", [{"claim_id": "c1", "procedure_code": "99213", "payer_type": "wc"}])
    d_rows = [{"claim_id": f"d{i}", "procedure_code": "99213"} for i in (1, 2, 3)]
    d_rows[2]["service_date"] = "2025-02-30"
    d = write_claims_csv(tmp_path / "d.csv", d_rows)
    frame = pl.DataFrame(
        {
            "claim_id": ["e1", "e2"],
            "line_number": [1, 1],
            "service_date": [dt.date(2025, 3, 14), None],
            "procedure_code": ["J3301", "96372"],
            "units": [4.0, 1.0],
            "charge_amount": [10.0, 25.0],
        }
    )
    frame.write_parquet(tmp_path / "e.parquet")
    frame.head(0).write_parquet(tmp_path / "f.parquet")
    g = pl.concat([frame.head(1), frame.head(1), frame.head(1)]).with_columns(claim_id=pl.Series(["g1", "g2", None]))
    g.write_parquet(tmp_path / "g.parquet")
    return [a, b, c, d, tmp_path / "e.parquet", tmp_path / "f.parquet", tmp_path / "g.parquet"]


def _origins(lines: ClaimLines) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, str, str | None]]]:
    """Each audited line's claim, file position and row (from ``line_id``); each reject's file, row, column, value."""
    audited = lines.audited.select(
        "claim_id", (pl.col("line_id") // (1 << ROW_BITS)).alias("file"), (pl.col("line_id") % (1 << ROW_BITS))
    )
    rejects = lines.with_reject_values(lines.rejects.collect())
    named = rejects.with_columns(pl.col("source_file").map_elements(lambda f: Path(f).name, return_dtype=pl.String))
    return sorted(audited.collect().rows()), named.select("source_file", "source_row", "column", "value").rows()


def test_files_sharing_a_scan_keep_their_own_file_and_row_numbers(tmp_path: Path) -> None:
    """Files of one format and schema are read by one scan, yet every line and reject names its own file and
    row, also after a file without rows and with a file of another schema in between."""
    paths = _lines_named_by_origin(tmp_path)
    lines = scan_claim_lines(paths)
    assert [[p.name for p in group.paths] for group in lines.groups] == [
        ["a.csv", "b.csv", "d.csv"],
        ["c.csv"],
        ["e.parquet", "f.parquet", "g.parquet"],
    ]
    audited, rejects = _origins(lines)
    position = {p.name[0]: i for i, p in enumerate(paths)}
    assert audited == sorted(
        (claim, position[claim[0]], int(claim[1])) for claim in ("a1", "a3", "d1", "d2", "e1", "g1", "g2")
    )
    assert rejects == [
        ("a.csv", 2, "claim_id", None),
        ("c.csv", 1, "payer_type", "wc"),
        ("d.csv", 3, "service_date", "2025-02-30"),
        ("e.parquet", 2, "service_date", None),
        ("g.parquet", 3, "claim_id", None),
    ]
    assert lines.rows_by_file() == {str(p): n for p, n in zip(paths, (3, 0, 1, 3, 2, 0, 3), strict=True)}


def test_a_scan_too_long_to_number_is_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan numbers at most 2**32 rows: files beyond that go to the next scan, with the same results."""
    from leakaudit.io import reader

    paths = _lines_named_by_origin(tmp_path)
    whole = _origins(scan_claim_lines(paths))
    monkeypatch.setattr(reader, "_SCAN_ROWS", 4)
    lines = scan_claim_lines(paths)
    assert [[p.name for p in group.paths] for group in lines.groups] == [
        ["a.csv", "b.csv"],
        ["d.csv"],
        ["c.csv"],
        ["e.parquet", "f.parquet"],
        ["g.parquet"],
    ]
    assert _origins(lines) == whole


def test_file_names_are_not_patterns(claims_csv) -> None:  # type: ignore[no-untyped-def]
    """A file named like a glob (brackets, as some exports are) is read as that file."""
    path = claims_csv([{"claim_id": "C1", "procedure_code": "99213"}], name="claims[2025].csv")
    assert scan_claim_lines([path]).audited.collect()["claim_id"].to_list() == ["C1"]


def test_all_null_parquet_columns_are_read_as_empty(tmp_path: Path) -> None:
    """A daily export whose optional columns happen to be empty all day stores them as Null-typed columns:
    its lines are audited with those values missing, beside a file where the same columns are typed."""
    typed = pl.DataFrame(
        {
            "claim_id": ["C1"],
            "line_number": [1],
            "service_date": [dt.date(2025, 3, 14)],
            "procedure_code": ["J3301"],
            "units": [4.0],
            "charge_amount": [40.0],
            "modifiers": ["JW"],
            "paid_amount": [12.5],
        }
    )
    typed.write_parquet(tmp_path / "a.parquet")
    empty = typed.with_columns(claim_id=pl.lit("C2"), modifiers=pl.lit(None), paid_amount=pl.lit(None))
    assert empty.schema["modifiers"] == pl.Null
    empty.write_parquet(tmp_path / "b.parquet")
    lines = scan_claim_lines([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    audited = lines.audited.select("claim_id", "modifiers", "paid_amount").sort("claim_id").collect()
    assert audited.rows() == [("C1", "JW", Decimal("12.50")), ("C2", None, None)]
    assert lines.rejects.collect().height == 0


def test_files_whose_only_difference_is_all_null_columns_share_a_scan(tmp_path: Path) -> None:
    """Daily exports differ in which columns were empty all day: such files are still read by one scan (a
    scan per file made hundreds of schemas 1.5x slower), the Null-typed columns read as the others' type.
    A file whose column has another type is scanned apart."""
    typed = pl.DataFrame(
        {
            "claim_id": ["a1", "a2"],
            "line_number": [1, 1],
            "service_date": [dt.date(2025, 3, 14), dt.date(2025, 3, 15)],
            "procedure_code": ["J3301", "99213"],
            "units": [4.0, 1.0],
            "charge_amount": [40.0, 90.0],
            "modifiers": ["JW", None],
            "paid_amount": [12.5, 30.0],
        }
    )
    null_modifiers = typed.with_columns(claim_id=pl.Series(["b1", None]), modifiers=pl.lit(None))
    null_paid = typed.with_columns(claim_id=pl.Series(["c1", "c2"]), paid_amount=pl.lit(None))
    text_paid = typed.with_columns(claim_id=pl.Series(["d1", "d2"]), paid_amount=pl.Series(["12.50", "x"]))
    frames = {"b": null_modifiers, "c": null_paid, "a": typed, "d": text_paid}
    paths = []
    for name, frame in frames.items():
        frame.write_parquet(tmp_path / f"{name}.parquet")
        paths.append(tmp_path / f"{name}.parquet")
    lines = scan_claim_lines(paths)
    assert [[p.name for p in group.paths] for group in lines.groups] == [
        ["b.parquet", "c.parquet", "a.parquet"],
        ["d.parquet"],
    ]
    assert lines.groups[0].schema["modifiers"] == pl.String and lines.groups[0].schema["paid_amount"] == pl.Float64
    assert [group.null_typed for group in lines.groups] == [True, False]
    audited, rejects = _origins(lines)
    assert audited == [("a1", 2, 1), ("a2", 2, 2), ("b1", 0, 1), ("c1", 1, 1), ("c2", 1, 2), ("d1", 3, 1)]
    assert rejects == [("b.parquet", 2, "claim_id", None), ("d.parquet", 2, "paid_amount", "x")]
    got = lines.audited.select("claim_id", "modifiers", "paid_amount").sort("claim_id").collect()
    assert got.filter(pl.col("claim_id").is_in(["b1", "c1"])).rows() == [
        ("b1", None, Decimal("12.50")),
        ("c1", "JW", None),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.zst"])
def test_csv_rows_with_more_fields_than_the_header_are_rejected_whole(tmp_path: Path, suffix: str) -> None:
    """A description with an unquoted comma shifts every value after it: Polars refuses the whole scan, without
    saying where. The rows are found, each rejected whole, and every other row keeps its file and row number,
    after a quoted comma, a line break inside quotes and a blank line (a row, as Polars counts them)."""
    header = "claim_id,line_number,service_date,procedure_code,units,charge_amount,description,place_of_service"
    a = tmp_path / "a.csv"
    a.write_text(f"{header}\na1,1,2025-03-14,99213,1,90,visit,11\n")
    b = tmp_path / f"b{suffix}"
    text = (
        f"{header}\n"
        'b1,1,2025-03-14,99070,1,20,"Brace, knee",11\n'  # quoted: one field
        'b2,1,2025-03-14,99070,1,20,"Brace\nknee",11\n'  # a line break inside quotes: one row
        "\n"  # blank: a row without values
        "b4,1,2025-03-14,99070,1,20,Brace, knee,\n"  # unquoted: one field too many, and the last one empty
        "b5,1,2025-03-14,99213,1,90,visit,11\n"
    )
    write_compressed(b, text.encode())
    paths = [a, b]
    with pytest.raises(pl.exceptions.PolarsError) as refused:
        scan_claim_lines(paths).audited.collect()
    assert refused_long_rows(refused.value)
    long_rows = find_long_rows(paths)
    assert long_rows == {b: [4]}
    lines = scan_claim_lines(paths).with_long_rows(long_rows)
    audited, rejects = _origins(lines)
    assert audited == [("a1", 0, 1), ("b1", 1, 1), ("b2", 1, 2), ("b5", 1, 5)]
    assert rejects == [(b.name, 3, "(whole row)", None), (b.name, 4, "(whole row)", None)]
    descriptions = lines.audited.select("claim_id", "description").sort("claim_id").collect()
    assert descriptions["description"].to_list() == ["visit", "Brace, knee", "Brace\nknee", "visit"]
    assert lines.rows_by_file() == {str(a): 1, str(b): 5}


def test_a_long_row_is_rejected_also_when_the_export_has_columns_not_audited(tmp_path: Path) -> None:
    """Regression: with a column of the export not mapped (a trailing ``notes``), the scan read only the
    mapped columns and Polars then took a row with an unquoted comma, shifted, without refusing it
    (pola-rs/polars#28350): its description was cut and its revenue code was "knee". A blank line is
    rejected whole as well."""
    header = "claim_id,line_number,service_date,procedure_code,units,charge_amount,description,revenue_code,notes"
    path = tmp_path / "export.csv"
    path.write_text(
        f"{header}\n"
        "n1,1,2025-03-14,99070,1,20,Brace, knee,0274,\n"  # unquoted: one field too many
        "n2,1,2025-03-14,99213,1,90,visit,,called the payer\n"
        ",,,,,,,,\n"  # blank: every field empty
    )
    with pytest.raises(pl.exceptions.PolarsError) as refused:
        scan_claim_lines([path]).audited.select("claim_id", "revenue_code").collect()
    assert refused_long_rows(refused.value)
    lines = scan_claim_lines([path]).with_long_rows(find_long_rows([path]))
    audited, rejects = _origins(lines)
    assert audited == [("n2", 0, 2)]
    assert rejects == [("export.csv", 1, "(whole row)", None), ("export.csv", 3, "(whole row)", None)]
    reasons = lines.rejects.select("reason").collect()["reason"].to_list()
    assert sorted(reasons) == [BLANK_ROW_REASON, LONG_ROW_REASON]


def test_csv_values_with_a_lone_quote_are_read_as_written(tmp_path: Path) -> None:
    """Regression: one description with an inch mark (``12"``) stopped the audit with "CSV malformed:
    expected 0 rows, actual 2 rows", naming neither file nor row: Polars takes the quote as opening a
    quoted value. The refused files are rewritten, read with every row numbered and named as in the
    original, also sharing a scan with a file read as it is, with a long row and a bad value."""
    header = "claim_id,line_number,service_date,procedure_code,units,charge_amount,description"
    a = tmp_path / "a.csv"
    a.write_text(f'{header}\na1,1,2025-03-14,99213,1,90,"quoted, as it should be"\n')
    b = tmp_path / "b.csv.gz"
    text = (
        f"{header}\n"
        'b1,1,2025-03-14,L1812,1,90,Knee brace 12" long\n'  # a lone quote: an inch mark
        "b2,1,2025-03-14,99213,x,90,visit\n"  # a bad value, rejected
        'b3,1,2025-03-14,A4570,1,20,5" x 9" dressing\n'  # two quotes on a line
        "b4,1,2025-03-14,99070,1,20,Brace, knee\n"  # a long row, rejected whole
        'b5,1,2025-03-14,L3908,1,20,"Wrist splint, 6"" long"\n'  # quoted as it should be
    )
    b.write_bytes(gzip.compress(text.encode()))
    paths = [a, b]
    lines = scan_claim_lines(paths)
    assert [[p.name for p in group.paths] for group in lines.groups] == [["a.csv", "b.csv.gz"]]
    for _ in range(2):  # refused for its quotes, and for its long row, in either order
        with pytest.raises(pl.exceptions.PolarsError) as refused:
            lines.audited.collect()
        if refused_quotes(refused.value):
            rewritten = rewrite_refused(paths, tmp_path / "work")
            assert list(rewritten) == [b]
            lines = lines.with_rewritten(rewritten)
        else:
            assert refused_long_rows(refused.value)
            lines = lines.with_long_rows(find_long_rows(paths))
    audited, rejects = _origins(lines)
    assert audited == [("a1", 0, 1), ("b1", 1, 1), ("b3", 1, 3), ("b5", 1, 5)]
    assert rejects == [("b.csv.gz", 2, "units", "x"), ("b.csv.gz", 4, "(whole row)", None)]
    descriptions = lines.audited.select("claim_id", "description").sort("claim_id").collect()
    assert descriptions["description"].to_list() == [
        "quoted, as it should be",
        'Knee brace 12" long',
        '5" x 9" dressing',
        'Wrist splint, 6" long',
    ]
    assert lines.rows_by_file() == {str(a): 1, str(b): 5}


def test_a_csv_too_long_for_pythons_reader_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("claim_id,description\nC1,short\nC2," + "x" * 200_000 + "\n")
    with pytest.raises(InputError, match=r"notes\.csv: line 3: cannot be read as CSV: field larger"):
        find_long_rows([path])


@pytest.mark.parametrize("compressed", ["b.CSV.GZ", "b.csv.zst"])
def test_compressed_csv_exports_are_read_as_they_are(tmp_path: Path, compressed: str) -> None:
    """Large exports come as ``.csv.gz`` (or ``.csv.zst``, from a data warehouse): found in a directory, read
    in one scan with plain CSVs, each row keeping its own file and row (a reject's value is read back from
    the compressed file too)."""
    plain = write_claims_csv(tmp_path / "a.csv", [{"claim_id": "a1", "procedure_code": "99213"}])
    rows = [{"claim_id": "b1", "procedure_code": "j3301"}, {"claim_id": "b2", "procedure_code": "99213", "units": "x"}]
    text = write_claims_csv(tmp_path / "b.txt", rows).read_bytes()
    (tmp_path / "b.txt").unlink()
    path = write_compressed(tmp_path / compressed, text)
    ending = path.suffix.lower()
    write_compressed(tmp_path / f"notes{ending}", b"not an export")  # not a supported ending: left out
    assert resolve_sources([tmp_path]) == [plain, path]
    lines = scan_claim_lines([tmp_path])
    assert [[p.name for p in group.paths] for group in lines.groups] == [["a.csv", compressed]]
    audited, rejects = _origins(lines)
    assert audited == [("a1", 0, 1), ("b1", 1, 1)]
    assert rejects == [(compressed, 2, "units", "x")]
    assert lines.audited.filter(pl.col("claim_id") == "b1").select("procedure_code").collect().item() == "J3301"
    assert lines.rows_by_file() == {str(plain): 1, str(path): 2}
    with pytest.raises(InputError, match=rf"notes\{ending}: unsupported file type '\{ending}'"):
        resolve_sources([tmp_path / f"notes{ending}"])


def test_an_export_that_ends_every_row_with_a_separator_is_read(tmp_path: Path) -> None:
    """Some systems end every data row, not the header, with a separator: one empty field more than the header
    on each row. Those rows are read as they are; only a row longer still (an unquoted comma) is rejected."""
    header = "claim_id,line_number,service_date,procedure_code,units,charge_amount,description"
    path = tmp_path / "trailing.csv"
    path.write_text(
        f"{header}\n"
        "t1,1,2025-03-14,99213,1,90,visit,\n"
        "t2,1,2025-03-14,99070,1,20,Brace, knee,\n"  # one field more still: shifted
        "t3,1,2025-03-14,99213,1,90,visit\n"  # without the separator at the end: as well
        "t4,1,2025-03-14,J3301,4,40,,\n"
        "t5,1,2025-03-14,99213,1,90,visit,\n"
    )
    assert find_long_rows([path]) == {path: [2]}
    lines = scan_claim_lines([path]).with_long_rows(find_long_rows([path]))
    audited, rejects = _origins(lines)
    assert audited == [("t1", 0, 1), ("t3", 0, 3), ("t4", 0, 4), ("t5", 0, 5)]
    assert rejects == [("trailing.csv", 2, "(whole row)", None)]
    values = lines.audited.select("claim_id", "charge_amount", "description").sort("claim_id").collect()
    assert values.rows() == [
        ("t1", Decimal("90.00"), "visit"),
        ("t3", Decimal("90.00"), "visit"),
        ("t4", Decimal("40.00"), None),
        ("t5", Decimal("90.00"), "visit"),
    ]


def test_parquet_lists_of_modifiers_and_diagnoses_are_read_as_code_lists(tmp_path: Path) -> None:
    """A warehouse export may hold a line's modifiers and diagnoses as lists (and codes as categoricals);
    a list anywhere else names the file and column."""
    frame = pl.DataFrame(
        {
            "claim_id": ["C1", "C2", "C3"],
            "line_number": [1, 1, 1],
            "service_date": [dt.date(2025, 3, 14)] * 3,
            "procedure_code": pl.Series(["l3908", "99213", "99213"], dtype=pl.Categorical),
            "units": [1.0, 1.0, 1.0],
            "charge_amount": [90.0, 90.0, 90.0],
            "modifiers": [["rt", None, "59"], [], None],
            "diagnosis_codes": [["S63.501A", "G56.01"], ["M17.11"], None],
        }
    )
    frame.write_parquet(tmp_path / "lists.parquet")
    lines = scan_claim_lines([tmp_path / "lists.parquet"]).audited
    assert lines.select("procedure_code", "modifiers", "diagnosis_codes").sort("procedure_code").collect().rows() == [
        ("99213", None, "M17.11"),
        ("99213", None, None),
        ("L3908", "RT,59", "S63.501A;G56.01"),
    ]
    frame.with_columns(pl.col("claim_id").map_elements(lambda c: [c], return_dtype=pl.List(pl.String))).write_parquet(
        tmp_path / "nested.parquet"
    )
    with pytest.raises(InputError, match=r"nested\.parquet: column 'claim_id' \(claim_id\) holds List\(String\)"):
        scan_claim_lines([tmp_path / "nested.parquet"])


def test_a_float_line_number_with_a_fraction_is_not_a_whole_number(tmp_path: Path) -> None:
    """Regression: a Parquet float 1.5 was read as line 1 (the cast drops the fraction); and a typed value
    that could not be parsed was reported as a missing value."""
    pl.DataFrame(
        {
            "claim_id": ["C1", "C2", "C3"],
            "line_number": [1.0, 1.5, None],
            "service_date": [dt.date(2025, 3, 14)] * 3,
            "procedure_code": ["99213"] * 3,
            "units": [1.0] * 3,
            "charge_amount": [90.0] * 3,
        }
    ).write_parquet(tmp_path / "floats.parquet")
    lines = scan_claim_lines([tmp_path / "floats.parquet"])
    assert lines.audited.select("claim_id", "line_number").collect().rows() == [("C1", 1)]
    rejects = lines.with_reject_values(lines.rejects.collect()).select("source_row", "column", "value", "reason")
    assert rejects.rows() == [
        (2, "line_number", "1.5", "not a whole number"),
        (3, "line_number", None, "missing required value"),
    ]


def test_files_without_a_byte_are_inputs_without_rows(tmp_path: Path) -> None:
    """A day's export with nothing in it may be a file of 0 bytes (no header either): it is listed with 0
    rows, not refused, whether beside other files or alone."""
    claims = write_claims_csv(tmp_path / "a.csv", [{"claim_id": "a1", "procedure_code": "99213"}])
    empty_csv, empty_parquet = tmp_path / "b.csv", tmp_path / "c.parquet"
    empty_csv.touch()
    empty_parquet.touch()
    lines = scan_claim_lines([tmp_path])
    assert [[p.name for p in group.paths] for group in lines.groups] == [["a.csv"]]
    assert lines.audited.select("claim_id").collect()["claim_id"].to_list() == ["a1"]
    assert lines.rows_by_file() == {str(claims): 1, str(empty_csv): 0, str(empty_parquet): 0}
    alone = scan_claim_lines([empty_csv])
    assert alone.groups == ()
    assert alone.audited.collect().height == 0 and alone.rejects.collect().height == 0
    assert alone.audited.collect_schema() == scan_claim_lines([claims]).audited.collect_schema()
    assert alone.rows_by_file() == {str(empty_csv): 0}


def test_a_parquet_file_of_row_groups_too_large_to_stream_is_audited_from_a_copy_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polars holds a whole row group decoded: an export written as one row group (pyarrow before 13 wrote up
    to 64 Mi rows in one) is copied in small ones first. The sample lines, one row group beside a CSV file,
    give the same findings, rejects (named by the original file and row) and summary either way."""
    import pyarrow.parquet as pq

    import leakaudit.io.row_groups
    import leakaudit.pipeline

    export = tmp_path / "exports"
    export.mkdir()
    lines, head = pl.read_csv(SAMPLE_CSV, infer_schema=False), 3000
    pq.write_table(lines.head(head).to_arrow(), export / "a.parquet", row_group_size=head)
    lines.slice(head).write_csv(export / "b.csv")
    run_audit([export], tmp_path / "as-is", findings_only=True, progress=True)
    assert "copying the Parquet files" not in capsys.readouterr().err
    monkeypatch.setattr(leakaudit.io.row_groups, "LARGEST_ROW_GROUP", 1000)
    monkeypatch.setattr(leakaudit.io.row_groups, "COPY_ROW_GROUP", 700)
    copied: dict[Path, Path] = {}

    def copy_then_spoil(large: dict[int, Path], work: Path) -> dict[Path, Path]:
        copied.update(leakaudit.io.row_groups.copy_oversized(large, work))
        for original in copied:
            original.write_bytes(b"gone")  # from here on the audit reads the copy, also for rejected values
        return copied

    monkeypatch.setattr(leakaudit.pipeline, "copy_oversized", copy_then_spoil)
    run_audit([export], tmp_path / "copied", findings_only=True, progress=True)
    assert "copying the Parquet files written in row groups too large to stream" in capsys.readouterr().err
    assert list(copied) == [export / "a.parquet"]
    assert not any(copy.exists() for copy in copied.values())  # removed with the work directory
    for name in ("findings.parquet", "findings.csv", "rejects.csv", "repeats.csv", "summary.json"):
        assert (tmp_path / "copied" / name).read_bytes() == (tmp_path / "as-is" / name).read_bytes(), name
    rejects = pl.read_csv(tmp_path / "copied" / "rejects.csv")  # named by the original file, values read back
    assert rejects.height > 0 and rejects["source_file"].str.ends_with("a.parquet").all()
    assert rejects["value"].is_not_null().any()


def test_a_parquet_file_whose_rows_do_not_decode_when_copied_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its footer reads, so it is copied; a page of it does not decode: the audit stops on an InputError
    naming the file, as the scan of it would, not on pyarrow's own error."""
    import pyarrow.parquet as pq

    import leakaudit.io.row_groups

    lines = pl.read_csv(SAMPLE_CSV, infer_schema=False)
    path = tmp_path / "export.parquet"
    pq.write_table(lines.to_arrow(), path, row_group_size=lines.height)
    data = bytearray(path.read_bytes())
    data[2000:3000] = bytes(b ^ 0x5A for b in data[2000:3000])  # inside the first column's pages
    path.write_bytes(bytes(data))
    monkeypatch.setattr(leakaudit.io.row_groups, "LARGEST_ROW_GROUP", 1000)
    with pytest.raises(InputError, match=r"export\.parquet: cannot read its rows to copy them"):
        run_audit([path], tmp_path / "out", findings_only=True)
