"""Paid amounts that are another column's, or cents (``io.amounts``, ``pricing.scale``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from conftest import SAMPLE_CSV
from leakaudit.cli import ExitCode, main
from leakaudit.io import InputError, load_mapping


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


def _in_cents(path: Path) -> Path:
    """The sample export with its amounts written in cents, as a warehouse may hold them (125.00 as 12500)."""
    sample = pl.read_csv(SAMPLE_CSV, infer_schema=False)
    dollars = r"^(-?)0*(\d*?)(\d)\.(\d\d)$"  # "125.00" -> "12500", "0.50" -> "50", "-0.00" -> "-0"
    in_cents = [
        pl.col(name).str.replace(dollars, "$1$2$3$4") for name in ("charge_amount", "paid_amount", "allowed_amount")
    ]
    sample.with_columns(in_cents).write_csv(path)
    return path


def test_amounts_written_in_cents_are_warned_of_and_read_as_the_mapping_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: an export of amounts in cents valued every finding from the paid history a hundred times over,
    silently: 12500 is a valid amount. Its drug and brace lines are paid a hundred times CMS's price, which no
    payer pays: the run warns, and the report cautions. Told so by the mapping, the audit reads them in
    dollars and finds what it finds in the sample; told so of amounts in dollars, it warns the other way."""
    cents = _in_cents(tmp_path / "cents.csv")
    paid = [pl.read_csv(path, infer_schema=False)["paid_amount"] for path in (SAMPLE_CSV, cents)]
    assert not paid[1].str.contains(".", literal=True).any()
    assert paid[1].cast(pl.Int64).sum() == round(100 * paid[0].cast(pl.Float64).sum())
    out = tmp_path / "out"
    assert main(["audit", str(cents), "--out", str(out)]) == ExitCode.OK
    warned = capsys.readouterr().err
    assert "times CMS's price per unit of their code, where payers pay about 1 to 3 times it: are the" in warned
    assert "amounts_in_cents = true" in warned
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    amounts = summary["paid_amounts"]
    assert amounts["looks_like"] == "cents" and amounts["read_as_cents"] is False
    assert amounts["cms_priced_lines_paid"] > 500 and amounts["median_paid_to_cms_price"] > 50
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "The export's amounts may be written in cents" in html
    assert "the paid amounts, which value most findings, look written in cents (a hundred times the dollars)" in html

    reference = tmp_path / "sample"
    assert main(["audit", str(SAMPLE_CSV), "--out", str(reference), "--findings-only"]) == ExitCode.OK
    sample = json.loads((reference / "summary.json").read_text(encoding="utf-8"))
    assert summary["estimated_total"] > 10 * sample["estimated_total"]
    mapping = tmp_path / "map.toml"
    mapping.write_text("[options]\namounts_in_cents = true\n")
    read = tmp_path / "read"
    assert main(["audit", str(cents), "--out", str(read), "--map", str(mapping), "--findings-only"]) == ExitCode.OK
    assert "amounts" not in capsys.readouterr().err
    keep = ["rule_id", "claim_id", "line_number", "estimated_amount", "estimate_method"]
    found = pl.read_parquet(read / "findings.parquet").select(keep)
    assert found.equals(pl.read_parquet(reference / "findings.parquet").select(keep))
    read_summary = json.loads((read / "summary.json").read_text(encoding="utf-8"))
    assert read_summary["paid_amounts"] | {"read_as_cents": False} == sample["paid_amounts"]

    twice = tmp_path / "twice"
    assert main(["audit", str(SAMPLE_CSV), "--out", str(twice), "--map", str(mapping), "--findings-only"]) == 0
    assert "their amounts read as cents (amounts_in_cents), were paid a median of 0.01 times" in capsys.readouterr().err
    assert json.loads((twice / "summary.json").read_text(encoding="utf-8"))["paid_amounts"]["looks_like"] == "dollars"


@pytest.mark.parametrize("value", ['"yes"', "1"])
def test_amounts_in_cents_is_true_or_false(tmp_path: Path, value: str) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(f"[options]\namounts_in_cents = {value}\n")
    with pytest.raises(InputError, match=r"map.toml: \[options\] amounts_in_cents must be true or false"):
        load_mapping(mapping)
