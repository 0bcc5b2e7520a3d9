"""Crowded visits (``io.crowded``): a patient id with more claims on a day than one patient has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from leakaudit.cli import ExitCode, main
from leakaudit.io import CROWDED_CLAIMS, InputError, load_mapping


def _lines() -> list[dict[str, Any]]:
    """One day of a practice: an id for unknown patients on 21 claims, and two real patients' busy days.

    Each of the placeholder's claims but the last bills an injection (96372) and its drug (J3301, 40 mg:
    4 units), by one of five providers; the last bills the injection alone and a vaccine's administration
    (90471), with no vaccine on any claim of the day. Patient P20 has 20 claims that day (as many as a day
    may hold), patient P25 a facility claim of 25 lines. Three days later patient P30 has an injection
    without its drug: the practice's only paid injections with a drug are the placeholder's.
    """
    placeholder = "999999"
    rows: list[dict[str, Any]] = []
    for n in range(1, CROWDED_CLAIMS + 2):
        claim = f"X{n:02d}"
        common = {
            "claim_id": claim,
            "patient_id": placeholder,
            "payer_id": "MCR-TX",
            "payer_type": "medicare",
            "rendering_npi": f"100000000{n % 5}",
        }
        rows.append(
            {**common, "line_number": 1, "procedure_code": "96372", "charge_amount": "40.00", "paid_amount": "17.00"}
        )
        if n > CROWDED_CLAIMS:
            rows.append({**common, "line_number": 2, "procedure_code": "90471", "charge_amount": "25.00"})
        else:
            rows.append(
                {
                    **common,
                    "line_number": 2,
                    "procedure_code": "J3301",
                    "units": 4,
                    "charge_amount": "30.00",
                    "paid_amount": "6.00",
                }
            )
    for n in range(1, CROWDED_CLAIMS + 1):
        rows.append({"claim_id": f"B{n:02d}", "patient_id": "P20", "procedure_code": "99213", "paid_amount": "70.00"})
    for n in range(1, 26):
        rows.append({"claim_id": "F01", "line_number": n, "patient_id": "P25", "procedure_code": "99213"})
    rows.append({"claim_id": "D01", "patient_id": "P30", "service_date": "2025-03-17", "procedure_code": "96372"})
    return rows


def _audit(path: Path, out: Path, *args: str) -> tuple[dict[str, Any], pl.DataFrame]:
    assert main(["audit", str(path), "--out", str(out), *args]) == ExitCode.OK
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary, pl.read_parquet(out / "findings.parquet")


def test_a_patient_id_of_more_claims_a_day_than_one_patient_has_is_reported_and_its_findings_low(  # type: ignore[no-untyped-def]
    claims_csv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: an id written for every unknown patient (999999) made each day one visit of many patients.

    The doses of J3301 of its five providers (4 units each) passed the daily MUE of 16 together: a denial
    that is not, reported with confidence. And the drug of one claim "satisfied" the injection of another, whose drug
    is missing: a loss not found. The audit cannot tell such an id from a patient, but no patient has 21
    claims in a day: it says so, names the id, and the findings of that day turn to low confidence. Named
    in the mapping, the id is no patient, and the findings are each claim's own.
    """
    path = claims_csv(_lines())
    summary, findings = _audit(path, tmp_path / "out")
    warned = capsys.readouterr().err
    assert "1 visit of more than 20 claims of one patient id on one day (42 lines): 999999 (1 day, 21 claims" in warned
    assert warned.rstrip().endswith('under [options], patient_placeholders = ["999999"]')
    crowded = summary["crowded_visits"]
    assert (crowded["visits"], crowded["lines"], crowded["patient_ids"]) == (1, 42, 1)
    assert crowded["patients"] == [
        {"patient_id": "999999", "visits": 1, "lines": 42, "most_claims": 21, "on": "2025-03-14"}
    ]
    on_the_day = findings.filter(pl.col("patient_id") == "999999")
    mue_day = on_the_day.filter(pl.col("message").str.contains("MUE"))
    assert mue_day["rule_id"].to_list() == ["jcode-unit-mismatch"]
    assert mue_day["confidence"].to_list() == ["low"]
    assert "Crowded visit: 21 claims of this patient id on this day" in mue_day["message"][0]
    # The vaccine missing from every claim of the day is missing from the patient's: that finding stands. The
    # injection's drug, billed on the other claims, hides that X21's is missing.
    missing = on_the_day.filter(pl.col("rule_id") == "drug-admin-without-drug")
    assert missing.select("claim_id", "procedure_code", "confidence").rows() == [("X21", "90471", "medium")]
    assert "Crowded" not in missing["message"][0]
    assert crowded["findings_on_them"]["findings"] == crowded["findings_on_them"]["low_confidence"] == 1
    assert findings.filter(pl.col("patient_id").is_in(["P20", "P25"]))["message"].str.contains("Crowded").sum() == 0
    # The crowded day is no price history: its "visit" paid twenty patients' drugs at once.
    p30 = findings.filter(pl.col("patient_id") == "P30")
    assert p30["estimated_amount"].to_list() == [None]
    assert p30["estimate_method"][0].endswith("no drug or vaccine was billed with 96372 in this history")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'one day: likely many patients under one id</th><td class="num">1</td>' in html
    assert "1 patient id has more claims on a day than one patient has (more than 20), on 1 day (42 lines)" in html
    assert "more than 20 claims (see Data quality) are left out of the paid history" in html
    assert (
        "<li>1 day of a patient id with more claims than one patient has: likely many patients under one id</li>"
        in html
    )

    mapping = tmp_path / "map.toml"
    mapping.write_text('[options]\npatient_placeholders = ["999999"]\n')
    summary, findings = _audit(path, tmp_path / "mapped", "--map", str(mapping), "--findings-only")
    assert "claims of one patient id on one day" not in capsys.readouterr().err
    assert summary["crowded_visits"]["visits"] == 0
    assert findings.filter(pl.col("message").str.contains("MUE")).is_empty()
    missing_drug = findings.filter(pl.col("rule_id") == "drug-admin-without-drug").sort("claim_id")
    assert missing_drug.select("claim_id", "confidence").rows() == [("D01", "medium"), ("X21", "medium")]
    # Each claim its own visit, the injections with their drug are price history again.
    assert missing_drug["estimated_amount"].is_not_null().all()


def test_an_export_whose_patients_have_more_claims_a_day_raises_the_threshold_in_its_mapping(  # type: ignore[no-untyped-def]
    claims_csv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hospital's export, every department billing on its own claim, may give one patient 21 claims a day.

    The mapping's ``crowded_claims`` says how many claims a day are still one patient's; a value that is
    no whole number of claims stops the run, naming the file.
    """
    path = claims_csv(_lines())
    mapping = tmp_path / "map.toml"
    mapping.write_text("[options]\ncrowded_claims = 21\n")
    summary, findings = _audit(path, tmp_path / "out", "--map", str(mapping), "--findings-only")
    assert "claims of one patient id on one day" not in capsys.readouterr().err
    assert (summary["crowded_visits"]["more_claims_than"], summary["crowded_visits"]["visits"]) == (21, 0)
    assert findings.filter(pl.col("message").str.contains("MUE"))["confidence"].to_list() == ["high"]
    mapping.write_text("[options]\ncrowded_claims = 20\n")
    summary, _ = _audit(path, tmp_path / "out", "--map", str(mapping), "--findings-only")
    assert "raise crowded_claims under [options]" in capsys.readouterr().err
    assert summary["crowded_visits"]["visits"] == 1
    for bad in ("0", '"30"', "true", "2.5"):
        mapping.write_text(f"[options]\ncrowded_claims = {bad}\n")
        with pytest.raises(InputError) as refused:
            load_mapping(mapping)
        assert str(refused.value).startswith(f"{mapping}: [options] crowded_claims must be a whole number of claims")


def test_a_patient_id_mapped_from_the_wrong_column_is_warned_of_as_such(  # type: ignore[no-untyped-def]
    claims_csv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Most lines on crowded days: the column feeding ``patient_id`` is more likely wrong than an id.

    A mapping that takes the patient from the export's insurance column makes every payer's day one visit.
    """
    rows = [{"claim_id": f"C{n:02d}", "Primary Insurance": "MCR", "procedure_code": "99213"} for n in range(30)]
    rows += [{"claim_id": "D01", "Primary Insurance": "BCBS", "procedure_code": "99213"}]
    path = claims_csv(rows)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\npatient_id = "Primary Insurance"\n')
    summary, _ = _audit(path, tmp_path / "out", "--map", str(mapping), "--findings-only")
    warned = capsys.readouterr().err
    assert summary["crowded_visits"]["patients"][0]["patient_id"] == "MCR"
    assert "MCR (1 day, 30 claims on 2025-03-14). 97% of the lines audited are on such days: check which" in warned
    assert "export column feeds patient_id" in warned
    assert main(["audit", str(path), "--out", str(tmp_path / "plain"), "--findings-only"]) == ExitCode.OK
    assert "claims of one patient id on one day" not in capsys.readouterr().err
