"""Paid amounts that are another column's (``io.amounts``): the charges, or the claim's payment on each line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLE_CSV
from leakaudit.cli import ExitCode, main


def _claims() -> list[dict[str, Any]]:
    """Ten claims of two lines as a PM system exports them: each line's charge, payment and the claim's."""
    rows = []
    for n in range(10):
        claim = {"claim_id": f"C{n}", "patient_id": f"P{n}", "Claim Paid": "130.00"}
        denied = n == 0
        rows.append(
            {
                **claim,
                "line_number": 1,
                "procedure_code": "99213",
                "Charges": "150.00",
                "Payments": "0" if denied else "95.00",
            }
        )
        rows.append({**claim, "line_number": 2, "procedure_code": "96372", "Charges": "60.00", "Payments": "35.00"})
    return rows


def _audit(path: Path, out: Path, mapping: Path) -> dict[str, Any]:
    """The run's summary.json."""
    assert main(["audit", str(path), "--out", str(out), "--map", str(mapping)]) == ExitCode.OK
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary


@pytest.mark.parametrize(
    ("paid_from", "looks_like", "warned"),
    [
        ("Payments", None, None),
        (
            "Charges",
            "charges",
            "20 of 20 lines charged (100%) were paid exactly their charge: is paid_amount mapped from the charges?",
        ),
        (
            "Claim Paid",
            "claim",
            "10 of 20 lines charged (50%) were paid more than their charge: is paid_amount the claim's payment",
        ),
    ],
)
def test_paid_amounts_of_another_column_are_warned_of(  # type: ignore[no-untyped-def]
    claims_csv,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    paid_from: str,
    looks_like: str | None,
    warned: str | None,
) -> None:
    """Regression: a mapping feeding paid_amount from the charges, or from the claim's payment, valued every finding
    from amounts no payer paid, silently: each value is a valid amount. The run now counts the lines paid
    exactly their charge and those paid more, and warns when nearly all are the one or many the other."""
    path = claims_csv(_claims())
    mapping = tmp_path / "map.toml"
    mapping.write_text(f'[columns]\ncharge_amount = "Charges"\npaid_amount = "{paid_from}"\n')
    summary = _audit(path, tmp_path / "out", mapping)
    err = capsys.readouterr().err
    amounts = summary["paid_amounts"]
    assert (amounts["lines_charged_with_paid_known"], amounts["looks_like"]) == (20, looks_like)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert ("were paid exactly their charge. Payers rarely do" in html) == (looks_like == "charges")
    assert ("were paid more than their charge, which payers do not do" in html) == (looks_like == "claim")
    if warned is None:
        assert "paid_amount" not in err
        assert (amounts["paid_the_charge"], amounts["paid_above_the_charge"]) == (0, 0)
    else:
        assert f"leakaudit: warning: {warned}" in err
        assert "Check which export column feeds paid_amount" in err


def test_the_sample_export_is_not_warned_of_its_paid_amounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(SAMPLE_CSV), "--out", str(tmp_path / "out"), "--findings-only"]) == ExitCode.OK
    assert "paid_amount" not in capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["paid_amounts"]["lines_charged_with_paid_known"] > 3000
    assert summary["paid_amounts"]["paid_the_charge"] == summary["paid_amounts"]["paid_above_the_charge"] == 0
