"""jcode-unit-mismatch beyond its YAML cases: the reference data it reads (see also tests/rules)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import polars as pl

from conftest import write_claims_csv
from leakaudit.findings import find_all
from leakaudit.io import scan_claim_lines
from leakaudit.refdata import import_file, load_refdata
from leakaudit.rules import AUDITED_COLUMNS, AuditContext
from leakaudit.rules.jcode_unit_mismatch import JcodeUnitMismatch, expected_units


def test_a_crosswalk_pair_listed_with_different_units_converts_nothing() -> None:
    """Listed twice alike, an NDC converts; listed with two package sizes, which is right cannot be told."""
    refdata = load_refdata(include_user_store=False)
    rows = [
        ("J3301", "00003029305", "1", "4"),
        ("J3301", "00003029305", "1", "4"),
        ("J9035", "50242006001", "4", "10"),
        ("J9035", "50242006001", "16", "40"),
    ]
    crosswalk = pl.LazyFrame(
        rows, schema=["code", "ndc", "package_size", "billing_units_per_item"], orient="row"
    ).with_columns(pl.col("package_size", "billing_units_per_item").cast(pl.Decimal(18, 4)))
    lines = pl.LazyFrame(
        {
            "line_id": [1, 2],
            "procedure_code": ["J3301", "J9035"],
            "ndc": ["00003-0293-05", "50242-0060-01"],
            "ndc_quantity": [Decimal("2"), Decimal("16")],
            "ndc_unit": ["UN", "ML"],
        }
    )
    ctx = AuditContext(lines=lines, refdata=replace(refdata, crosswalk=crosswalk))
    for _ in range(5):  # the same every time
        units = expected_units(ctx, lines).collect().sort("line_id")["expected_units"].to_list()
        assert units == [8.0, None]


def test_an_mue_file_listing_a_code_twice_counts_each_line_once(tmp_path: Path) -> None:
    """J3301 listed twice (a user's MUE file): one finding, held against the smaller MUE.

    40 units for 40 mg pass an MUE of 16 only if it is the one counted: with 30 too, still one finding.
    """
    refdata = load_refdata(include_user_store=False)
    release = refdata.mue.select("release").first().collect().item()
    rows = [("J3301", 30, 3, "user", release), ("J3301", 16, 3, "user", release), ("J3301", 16, 3, "user", release)]
    mue = refdata.mue.filter(pl.col("code") != "J3301").select("code", "mue", "mai", "rationale", "release")
    doubled = pl.concat([mue, pl.LazyFrame(rows, schema=mue.collect_schema(), orient="row")])
    claims = write_claims_csv(
        tmp_path / "claims.csv",
        [
            {"claim_id": "C1", "procedure_code": "J3301", "units": 1, "ndc_quantity": 40, "ndc_unit": "ME"},
            {"claim_id": "C2", "procedure_code": "J3301", "units": 40, "ndc_quantity": 40, "ndc_unit": "ME"},
        ],
    )
    lines = scan_claim_lines([claims]).audited.select(AUDITED_COLUMNS)
    ctx = AuditContext(lines=lines, refdata=replace(refdata, mue=doubled))
    findings = find_all([JcodeUnitMismatch], ctx)
    assert findings["claim_id"].to_list() == ["C1", "C2"]
    assert "3 units are not billed" in findings["message"][0]
    assert "(MUE 16 (MAI 3); the dose given is 4 units" in findings["message"][1]


def test_the_mue_is_that_of_the_release_in_effect_on_the_date_of_service(tmp_path: Path) -> None:
    """With the October 2025 MUEs loaded beside April 2026's, each line is held to those of its date.

    The earlier release (made up for this test) lists J3301 at 12 units and no J1885; the shipped 2026-04
    release has J3301 at 16 and J1885 at 8. A date before every release loaded takes the earliest.
    """
    header = "hcpcs_cpt_code,practitioner_services_mue_value,mai,mai_description,mue_rationale\n"
    earlier = tmp_path / "practitioner_mue_2025q4.csv"
    earlier.write_text(header + "J3301,12,3,3 Date of Service Edit: Clinical,Prescribing Information\n", "utf-8")
    import_file("mue", earlier, tmp_path / "store")
    refdata = load_refdata([tmp_path / "store"], include_user_store=False)
    lines = [
        ("C1", "J3301", 14, "2025-11-03"),
        ("C2", "J3301", 14, "2026-05-04"),
        ("C3", "J3301", 14, "2025-03-14"),
        ("C4", "J1885", 10, "2025-11-03"),
        ("C5", "J1885", 10, "2026-05-04"),
    ]
    rows = [
        {"claim_id": claim, "patient_id": claim, "procedure_code": code, "units": units, "service_date": day}
        for claim, code, units, day in lines
    ]
    claims = write_claims_csv(tmp_path / "claims.csv", rows)
    ctx = AuditContext(lines=scan_claim_lines([claims]).audited.select(AUDITED_COLUMNS), refdata=refdata)
    findings = find_all([JcodeUnitMismatch], ctx).sort("claim_id")
    assert findings["claim_id"].to_list() == ["C1", "C3", "C5"]
    said = findings["message"].to_list()
    assert "above the CMS practitioner MUE (MUE 12 (MAI 3, 2025-10 release), 14 units that day)" in said[0]
    assert "(MUE 12 (MAI 3, 2025-10 release), 14 units that day)" in said[1]
    assert "(MUE 8 (MAI 3, 2026-04 release), 10 units that day)" in said[2]


def test_refine_adds_up_a_day_over_the_mue_from_the_lines_find_added(tmp_path: Path) -> None:
    """Without a copy of a service, ``refine`` leaves the days over the MUE as ``find`` found them.

    ``refine`` reads the days' lines again from the staged drug lines, which hold the lines of discarded drug
    (JW) too: those are no dose, and ``find`` adds up the doses only. P1's day of J1885 (MUE 8) is 9 units
    billed on two claims, beside 3 units billed as discarded.
    """
    rows = [
        {"claim_id": "C1", "patient_id": "P1", "procedure_code": "J1885", "units": 5},
        {"claim_id": "C2", "patient_id": "P1", "procedure_code": "J1885", "units": 4},
        {
            "claim_id": "C2",
            "line_number": 2,
            "patient_id": "P1",
            "procedure_code": "J1885",
            "units": 3,
            "modifiers": "JW",
        },
    ]
    claims = write_claims_csv(tmp_path / "claims.csv", rows)
    ctx = AuditContext(lines=scan_claim_lines([claims]).audited.select(AUDITED_COLUMNS).collect().lazy())
    found = JcodeUnitMismatch.find(ctx).collect()
    assert found["message"].str.contains("9 units that day").to_list() == [True]
    refined = JcodeUnitMismatch.refine(ctx, found).collect()
    assert refined.select(found.columns).equals(found)
