"""Credit lines (negative units, or a negative charge) and the charges they reverse are set aside before the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from leakaudit import pipeline
from leakaudit.cli import ExitCode, main
from leakaudit.io import scan_claim_lines
from leakaudit.io.reversals import find_reversals
from leakaudit.pipeline import run_audit

MEDICARE = {"payer_id": "MCR", "payer_type": "medicare", "paid_amount": "20"}


def _line(claim: str, number: int, day: str, code: str, units: int, patient: str, **more: Any) -> dict[str, Any]:
    return {
        "claim_id": claim,
        "line_number": number,
        "service_date": day,
        "procedure_code": code,
        "units": units,
        "charge_amount": 40 * units,
        "patient_id": patient,
        **MEDICARE,
        **more,
    }


@pytest.mark.parametrize("rows", ["as billed", "reversed"])
def test_each_credit_reverses_the_first_charge_of_its_encounter_code_and_units(claims_csv, rows: str) -> None:  # type: ignore[no-untyped-def]
    """The first by claim and line number, whatever the order of the rows: the lines reversed also come first."""
    billed = [
        _line("A", 1, "2025-03-14", "J3301", 4, "P1"),  # reversed by A3
        _line("A", 2, "2025-03-14", "J3301", 4, "P1"),  # rebilled: stays
        _line("A", 3, "2025-03-14", "J3301", -4, "P1"),
        _line("B", 1, "2025-03-14", "J3301", 2, "P1"),  # other units: stays
        _line("C", 1, "2025-03-15", "J3301", -4, "P1"),  # another day: reverses nothing here
        _line("D", 1, "2025-03-14", "96372", 1, "P2"),  # two credits, one charge
        _line("D", 2, "2025-03-14", "96372", -1, "P2"),
        _line("D", 3, "2025-03-14", "96372", -1, "P2"),
        _line("E", 1, "2025-03-14", "99213", 0, "P3"),  # no units: no credit
    ]
    path = claims_csv(billed if rows == "as billed" else billed[::-1])
    lines = scan_claim_lines([path]).audited
    got = find_reversals(lines).join(lines.select("line_id", "claim_id", "line_number").collect(), on="line_id")
    assert got.sort("claim_id", "line_number").select("claim_id", "line_number", "kind").rows() == [
        ("A", 1, "reversed"),
        ("A", 3, "credit"),
        ("C", 1, "credit"),
        ("D", 1, "reversed"),
        ("D", 2, "credit"),
        ("D", 3, "credit"),
    ]


def test_a_partial_credit_takes_its_units_off_the_first_charge_that_bills_as_many(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv(
        [
            _line("A", 1, "2025-03-14", "J3301", 6, "P1"),  # 6 less 2: audited as 4
            _line("A", 2, "2025-03-14", "J3301", -2, "P1"),
            _line("B", 1, "2025-03-14", "J3301", 2, "P2"),  # too few to take 2 + 1 off
            _line("B", 2, "2025-03-14", "J3301", 8, "P2"),  # the first that bills more: 8 less 3
            _line("B", 3, "2025-03-14", "J3301", 8, "P2"),
            _line("B", 4, "2025-03-14", "J3301", -2, "P2"),  # reverses B1 exactly
            _line("B", 5, "2025-03-14", "J3301", -2, "P2"),  # left: 2 ...
            _line("B", 6, "2025-03-14", "J3301", -1, "P2"),  # ... and 1
            _line("C", 1, "2025-03-14", "J3301", 2, "P3"),  # bills no more than the 3 credited: stays
            _line("C", 2, "2025-03-14", "J3301", -3, "P3"),
            _line("D", 1, "2025-03-14", "J0696", 4, "P1"),  # another code: not A's
            _line("E", 1, "2025-03-14", "J3301", 4, "P4"),  # two credits of 2 void it whole
            _line("E", 2, "2025-03-14", "J3301", -2, "P4"),
            _line("E", 3, "2025-03-14", "J3301", -2, "P4"),
        ]
    )
    lines = scan_claim_lines([path]).audited
    got = find_reversals(lines).join(lines.select("line_id", "claim_id", "line_number").collect(), on="line_id")
    rows = got.sort("claim_id", "line_number").select("claim_id", "line_number", "kind", "units").rows()
    assert [(claim, number, kind, units if units is None else int(units)) for claim, number, kind, units in rows] == [
        ("A", 1, "reduced", 2),
        ("A", 2, "credit", None),
        ("B", 1, "reversed", None),
        ("B", 2, "reduced", 3),
        ("B", 4, "credit", None),
        ("B", 5, "credit", None),
        ("B", 6, "credit", None),
        ("C", 2, "credit", None),
        ("E", 1, "reversed", None),
        ("E", 2, "credit", None),
        ("E", 3, "credit", None),
    ]


def test_rules_see_a_partly_credited_charge_with_the_units_left(
    claims_csv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """J3301 billed as 6 units for a 40 mg dose (4 units), then 2 credited: no exposure left."""
    dose = {"ndc": "00003-0293-05", "ndc_quantity": "40", "ndc_unit": "ME"}
    path = claims_csv(
        [
            _line("A", 1, "2025-03-14", "J3301", 6, "P1", **dose),
            _line("A", 2, "2025-03-14", "J3301", -2, "P1", **dose),
            _line("B", 1, "2025-03-14", "J3301", 6, "P2", **dose),  # not credited: 2 units of exposure
        ]
    )
    assert main(["audit", str(path), "--out", str(tmp_path / "out")]) == ExitCode.OK
    said = capsys.readouterr().out
    assert "1 credit line (negative units or charges) and 0 charges they reverse; 1 charge partly credited" in said
    result = run_audit([path], tmp_path / "out", findings_only=True)
    assert result.findings.select("claim_id", "finding_kind").rows() == [("B", "compliance_exposure")]
    assert result.summary["reversals"] == {"credit_lines": 1, "charges_reversed": 0, "charges_reduced": 1}
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert '<th>Charges partly credited, audited with the units left</th><td class="num">1</td>' in html


def test_without_credits_nothing_is_set_aside(claims_csv) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv([_line("A", 1, "2025-03-14", "J3301", 4, "P1"), _line("A", 2, "2025-03-14", "96372", 0, "P1")])
    assert find_reversals(scan_claim_lines([path]).audited).is_empty()


def test_rules_see_each_encounter_as_it_stands_after_its_corrections(
    claims_csv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Regression: a credit line was itself a finding (a reversed expired code, a reversed brace billed as
    99070, a reversed administration), and a reversed product still satisfied its administration or brace."""
    knee = {"description": "knee brace", "diagnosis_codes": "S83.511A"}
    path = claims_csv(
        [
            # Billed and voided: nothing to rebill.
            _line("E1", 1, "2026-02-01", "S0013", 1, "P1"),
            _line("E1", 2, "2026-02-01", "S0013", -1, "P1"),
            # A credit alone (its charge exported earlier): no finding on it.
            _line("E2", 1, "2026-02-02", "S0013", -1, "P2"),
            _line("B1", 1, "2025-03-14", "99213", 1, "P3"),
            _line("B1", 2, "2025-03-14", "99070", -1, "P3", **knee),
            # The L-code voided: the brace billed as 99070 stands without it.
            _line("B2", 1, "2025-03-15", "99213", 1, "P4"),
            _line("B2", 2, "2025-03-15", "L1812", 1, "P4", modifiers="RT", **knee),
            _line("B2", 3, "2025-03-15", "L1812", -1, "P4", modifiers="RT", **knee),
            _line("B2", 4, "2025-03-15", "99070", 1, "P4", **knee),
            # The drug voided: its administration stands without it.
            _line("J1", 1, "2025-03-16", "J3301", 4, "P5"),
            _line("J1", 2, "2025-03-16", "J3301", -4, "P5"),
            _line("J1", 3, "2025-03-16", "96372", 1, "P5"),
            # An administration voided: nothing administered, nothing lacking.
            _line("N3", 1, "2025-03-17", "96372", -1, "P6"),
            # Voids written as the units billed and a negative charge, as some systems write them: the same.
            _line("V1", 1, "2026-02-03", "S0013", 1, "P7"),
            _line("V1", 2, "2026-02-03", "S0013", 1, "P7", charge_amount="-40.00"),
            _line("V2", 1, "2025-03-18", "J3301", 4, "P8"),
            _line("V2", 2, "2025-03-18", "J3301", 4, "P8", charge_amount="(160.00)"),
            _line("V2", 3, "2025-03-18", "96372", 1, "P8"),
            # No units and a negative charge: no credit, audited as billed.
            _line("V3", 1, "2026-02-04", "S0013", 0, "P9", charge_amount="-5.00"),
        ]
    )
    assert main(["audit", str(path), "--out", str(tmp_path / "out"), "--findings-only"]) == ExitCode.OK
    said = capsys.readouterr().out
    assert "Set aside before the rules: 8 credit lines (negative units or charges) and 5 charges they reverse." in said
    result = run_audit([path], tmp_path / "out", findings_only=True)
    findings = result.findings.sort("claim_id").select("rule_id", "claim_id", "line_number").rows()
    assert findings == [
        ("brace-without-lcode", "B2", 4),
        ("drug-admin-without-drug", "J1", 3),
        ("drug-admin-without-drug", "V2", 3),
        ("expired-code", "V3", 1),
    ]
    assert result.summary["reversals"] == {"credit_lines": 8, "charges_reversed": 5, "charges_reduced": 0}
    # Set aside, not rejected: every row is audited.
    assert (result.summary["rows_audited"], result.summary["rows_rejected"]) == (19, 0)
    assert pl.read_csv(tmp_path / "out" / "rejects.csv").is_empty()
    # Many set aside: the lines are written again without them, with the same findings; the report says so.
    monkeypatch.setattr(pipeline, "_FILTER_LINES", 0)
    written = run_audit([path], tmp_path / "written")
    assert written.findings.equals(result.findings)
    html = (tmp_path / "written" / "report.html").read_text(encoding="utf-8")
    assert 'Of which credit lines, and the charges they reverse</th><td class="num">8 and 5</td>' in html
