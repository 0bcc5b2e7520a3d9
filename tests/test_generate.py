"""Synthetic data: realistic shape, reproducible, and the audit finds what was planted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from leakaudit.cli import ExitCode, main
from leakaudit.generate import PLANT_RATES, TAIL_ENCOUNTERS, TAIL_SHARE, TAIL_TYPE, generate, score
from leakaudit.pipeline import run_audit


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(60_000, seed=5, out=out, workers=1)
    return out


def test_shape_of_the_generated_claims(generated: Path) -> None:
    lines = pl.read_parquet(generated / "claims" / "*.parquet")
    assert 57_000 <= lines.height <= 63_000
    per_claim = lines.group_by("claim_id").agg(
        pl.len(), pl.col("patient_id").n_unique(), pl.col("service_date").n_unique()
    )
    assert per_claim["len"].min() >= 1 and per_claim["len"].max() <= 12
    assert per_claim["patient_id"].max() == 1 and per_claim["service_date"].max() == 1
    # An encounter's claim, and for some of Medicare's a crossover claim (see the test below).
    encounters = per_claim.filter(pl.col("claim_id").str.starts_with("C1")).height
    assert lines.select(pl.struct("patient_id", "service_date").n_unique()).item() == encounters
    assert lines["rendering_npi"].n_unique() > 10
    # Six payers, and a long tail of small ones (TAIL-<n>), each with a couple of encounters, none Medicare's.
    tail = pl.col("payer_id").str.starts_with("TAIL-")
    assert lines.filter(tail.not_())["payer_id"].n_unique() == 6
    per_tail_payer = lines.filter(tail).group_by("payer_id").agg(pl.col("claim_id").n_unique(), pl.col("payer_type"))
    assert per_tail_payer.height >= 20 and per_tail_payer["claim_id"].median() <= TAIL_ENCOUNTERS
    assert per_tail_payer["payer_type"].explode().unique().to_list() == [TAIL_TYPE]
    tail_share = lines.filter(tail)["claim_id"].n_unique() / encounters
    assert 0.5 * TAIL_SHARE * 0.7 <= tail_share <= 2 * TAIL_SHARE * 0.7  # of the 70% of encounters not Medicare's
    assert lines["service_date"].dt.strftime("%Y-%m").n_unique() == 24
    assert lines["ndc_quantity"].null_count() < lines.height  # drug lines carry NDC quantities
    truth = pl.read_parquet(generated / "truth.parquet")
    assert set(truth["rule_id"]) == set(PLANT_RATES)


def test_decoys_are_planted_beside_the_errors(generated: Path) -> None:
    """Credit lines voiding a charge of their claim, JW and FB lines, and administrations in the outpatient hospital."""
    lines = pl.read_parquet(generated / "claims" / "*.parquet")
    credits = lines.filter(pl.col("units") < 0)
    assert credits.height > 50
    voided = credits.join(
        lines.filter(pl.col("units") > 0),
        left_on=["claim_id", "procedure_code", -pl.col("units")],
        right_on=["claim_id", "procedure_code", "units"],
    )
    # Each voids one charge of its claim, billed on a line before it.
    assert voided.height == voided["claim_id"].n_unique() == credits.height
    assert (voided["line_number_right"] < voided["line_number"]).all()
    assert set(credits["procedure_code"].str.slice(0, 1)) == {"J", "S"}  # drugs, and S0013 after its end
    # The other drug voids are written as the units billed at a negative charge, each after its charge.
    by_charge = lines.filter((pl.col("units") > 0) & (pl.col("charge_amount") < 0))
    assert by_charge.height > 0.5 * credits.filter(pl.col("procedure_code").str.starts_with("J")).height
    assert by_charge["procedure_code"].str.starts_with("J").all()
    charged = lines.filter(pl.col("charge_amount") > 0).select("claim_id", "procedure_code", "units", "line_number")
    voids = by_charge.join(charged, on=["claim_id", "procedure_code", "units"], suffix="_charge")
    after_charge = voids.filter(pl.col("line_number_charge") < pl.col("line_number"))
    assert after_charge.select("claim_id", "line_number").unique().height == by_charge.height
    discarded = lines.filter(pl.col("modifiers") == "JW")
    assert discarded.height > 50 and discarded["procedure_code"].str.starts_with("J").all()
    # Free samples (FB), paid nothing: a drug billed as 1 unit, or S0013 billed after its termination.
    free = lines.filter(pl.col("modifiers") == "FB")
    assert (free["paid_amount"] == 0).all()
    free_drugs = free.filter(pl.col("procedure_code").str.starts_with("J"))
    assert free_drugs.height > 10 and (free_drugs["units"] == 1).all()
    free_expired = free.filter(pl.col("procedure_code") == "S0013")
    assert free_expired.height > 0 and (free_expired["service_date"] >= dt.date(2026, 1, 1)).all()
    assert free_drugs.height + free_expired.height == free.height
    in_hospital = lines.filter(pl.col("place_of_service") == "22")
    assert set(in_hospital["procedure_code"]) & {"96372", "96413"}
    assert not in_hospital["procedure_code"].str.starts_with("J").any()  # the hospital bills the drug
    # A drug voided and never billed again is a planted drug-admin-without-drug.
    truth = pl.read_parquet(generated / "truth.parquet").filter(pl.col("rule_id") == "drug-admin-without-drug")
    assert truth.join(credits, on="claim_id", how="semi").height > 5


def test_crossover_claims_bill_medicare_claims_again_to_medicaid(generated: Path) -> None:
    """A share of Medicare's claims is billed again to Medicaid: the same lines but the voided, paid the coinsurance."""
    lines = pl.read_parquet(generated / "claims" / "*.parquet")
    crossover = lines.filter(pl.col("claim_id").str.starts_with("C2"))
    primary = lines.filter(pl.col("claim_id").str.starts_with("C1"))
    crossed = primary.join(crossover.select("patient_id", "service_date").unique(), on=["patient_id", "service_date"])
    assert set(crossover["payer_id"]) == {"MCD"} and set(crossed["payer_id"]) == {"MCR"}
    assert (
        0.15
        < crossed["claim_id"].n_unique() / primary.filter(pl.col("payer_id") == "MCR")["claim_id"].n_unique()
        < 0.35
    )
    copies = crossed.join(
        crossover,
        on=["patient_id", "service_date", "line_number", "procedure_code", "units", "ndc_quantity"],
        nulls_equal=True,
    )
    assert copies.height == crossover.height  # every line a copy of the primary's
    # A voided charge and its credit line are not billed again.
    assert crossed.filter(pl.col("units") < 0).height > 0
    assert crossover.filter(pl.col("units") < 0).height == 0
    coinsurance = (copies["paid_amount_right"].cast(pl.Float64) - 0.25 * copies["paid_amount"].cast(pl.Float64)).abs()
    assert coinsurance.max() <= 0.006
    # The errors are planted on the primary claim only: the audit counts each once (tested below).
    truth = pl.read_parquet(generated / "truth.parquet")
    assert not truth["claim_id"].str.starts_with("C2").any()
    assert truth.join(crossed, on=["claim_id", "line_number"], how="semi").height > 20


def test_same_seed_same_data_whatever_the_workers(generated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(60_000, seed=5, out=again, workers=2)
    for name in ("claims/part-00000.parquet", "truth.parquet"):
        assert pl.read_parquet(again / name).equals(pl.read_parquet(generated / name)), name
    other = tmp_path / "other"
    generate(60_000, seed=6, out=other, workers=1)
    assert not pl.read_parquet(other / "truth.parquet").equals(pl.read_parquet(generated / "truth.parquet"))


def test_audit_finds_what_was_planted(generated: Path, tmp_path: Path) -> None:
    result = run_audit([generated / "claims"], tmp_path / "out", findings_only=True)
    scored = score(result.findings, pl.read_parquet(generated / "truth.parquet"))
    for row in scored.iter_rows(named=True):
        assert row["precision"] >= 0.99 and row["recall"] >= 0.99, row
        # Dollar estimates: medians of own history, so not exact; but close. A missing drug is valued by
        # the encounters of the same diagnosis: by every administration, it was half the planted dollars.
        assert 0.9 * row["true_amount"] <= row["estimated"] <= 1.1 * row["true_amount"], row
    assert not (tmp_path / "out" / "report.html").exists()  # findings only
    # Drug units, codes and devices are valued at the claim's payer's medians, which a crossover claim's
    # coinsurance does not pull down: each payer's estimates come close to what was planted on its claims.
    # A missing drug, by the claim's payer's encounters for its diagnosis, comes within 12%: the median drug
    # of a diagnosis is not always the one left out. A crossed-over product counts at its copy paid most,
    # so Medicaid's medians hold no coinsurance (with it, Medicaid's estimates came to 0.87 of the truth).
    truth = pl.read_parquet(generated / "truth.parquet")
    tail = pl.col("payer_id").str.starts_with("TAIL-")
    by_payer = (
        result.findings.filter(tail.not_())
        .join(truth, on=["rule_id", "claim_id", "line_number"])
        .group_by("rule_id", "payer_id")
        .agg(pl.col("estimated_amount").cast(pl.Float64).sum() / pl.col("true_amount").cast(pl.Float64).sum())
    )
    assert by_payer.height == 4 * 6
    # A payer of the long tail has too few lines for a price of its own: every payer's, or the CMS price.
    of_the_tail = result.findings.filter(tail)
    assert of_the_tail.height >= 1 and of_the_tail["estimated_amount"].null_count() == 0
    assert not of_the_tail["estimate_method"].str.contains("from payer").any()
    for rule_id, payer_id, ratio in by_payer.iter_rows():
        if rule_id == "drug-admin-without-drug":
            assert 0.88 <= ratio <= 1.1, (rule_id, payer_id, ratio)
        else:
            assert 0.95 <= ratio <= 1.05, (rule_id, payer_id, ratio)
    # Each of the unit checks finds its planted errors: the dose (in mg or IU, or items and mL through the
    # CMS crosswalk), the MUE, the typical units (no NDC, or one whose dose is above the MUE); and no units
    # billed, with and without an NDC.
    found = result.findings.join(
        pl.read_parquet(generated / "truth.parquet"), on=["rule_id", "claim_id", "line_number"]
    )
    messages = found.filter(pl.col("rule_id") == "jcode-unit-mismatch")["message"]
    checks = {
        "but the dose given is": 5,
        "(CMS crosswalk)": 5,
        "above the CMS practitioner MUE": 5,
        "far below this provider's": 5,
        "billed 0 units but the dose given is": 5,
        "billed with no units": 1,
        "is more than the CMS MUE of": 5,  # an NDC quantity written wrong: no dose, the typical units find it
    }
    for check, least in checks.items():
        assert messages.str.contains(check, literal=True).sum() >= least, check
    assert messages.str.contains(r"of NDC \d{10} at").sum() >= 1  # the 10 digits of a label, resolved


def test_a_claim_billed_again_to_the_same_payer_adds_no_finding(generated: Path, tmp_path: Path) -> None:
    """Drug lines billed again on a second claim to the same payer (a rebill) are copies of one service.

    J2791 at 15 units a day is within its MUE (15, MAI 3); added twice, the day would be 30 above it.
    """
    claims = tmp_path / "claims"
    claims.mkdir()
    for part in (generated / "claims").glob("*.parquet"):
        (claims / part.name).symlink_to(part)
    lines = pl.read_parquet(generated / "claims" / "*.parquet")
    rebills = lines.filter((pl.col("procedure_code") == "J2791") & (pl.col("units") == 15))
    assert rebills.height > 100
    rebills.with_columns(("R" + pl.col("claim_id")).alias("claim_id")).write_parquet(claims / "rebills.parquet")

    alone = run_audit([generated / "claims"], tmp_path / "alone", findings_only=True).findings
    with_rebills = run_audit([claims], tmp_path / "rebills", findings_only=True).findings
    # The rebilled units pass no other day over the MUE (those planted are found alike, below).
    assert with_rebills.filter(pl.col("message").str.contains("MUE")).height == (
        alone.filter(pl.col("message").str.contains("MUE")).height
    )

    def units_findings(findings: pl.DataFrame) -> pl.DataFrame:
        return findings.filter(pl.col("rule_id") == "jcode-unit-mismatch").select("claim_id", "line_number", "message")

    assert units_findings(with_rebills).equals(units_findings(alone))


def test_every_finding_that_rejected_rows_add_says_so(generated: Path, tmp_path: Path) -> None:
    """A tenth of the rows rejected (a payer type the mapping lacks): the rules do not see them.

    Drug lines rejected leave administrations without a drug, voids rejected leave charges standing, a
    crossover copy rejected moves a finding to the other claim. Each finding the clean audit does not have
    names a rejected row of its claim or visit, and those calling a code missing are of low confidence.
    """
    claims = tmp_path / "claims"
    claims.mkdir()
    unmapped = pl.int_range(pl.len()).hash(7) % 10 == 0
    for part in (generated / "claims").glob("*.parquet"):
        pl.read_parquet(part).with_columns(
            pl.when(unmapped).then(pl.lit("workers comp")).otherwise(pl.col("payer_type")).alias("payer_type")
        ).write_parquet(claims / part.name)
    clean = run_audit([generated / "claims"], tmp_path / "clean", findings_only=True).findings
    result = run_audit([claims], tmp_path / "rejected", findings_only=True)
    assert result.summary["rows_rejected"] * 12 > result.summary["rows_read"]
    marked = pl.col("message").str.contains(" Rejected: ", literal=True)
    key = ["rule_id", "claim_id", "line_number"]
    added = result.findings.join(clean.select(key), on=key, how="anti")
    assert added.height > 100
    assert added.filter(~marked).is_empty()
    missing_code = added.filter(pl.col("rule_id").is_in(["drug-admin-without-drug", "brace-without-lcode"]))
    assert missing_code.height > 50 and set(missing_code["confidence"]) == {"low"}
    assert result.summary["findings_with_rejected_rows"]["findings"] == result.findings.filter(marked).height


def test_generate_command_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--lines", "3000", "--seed", "2", "--out", str(tmp_path), "--format", "csv"]) == 0
    assert "Planted" in capsys.readouterr().out
    assert main(["audit", str(tmp_path / "claims"), "--out", str(tmp_path / "out"), "--findings-only"]) == 0
    findings = pl.read_csv(tmp_path / "out" / "findings.csv")
    truth = pl.read_parquet(tmp_path / "truth.parquet")
    assert findings.height >= truth.height > 0
    with pytest.raises(SystemExit) as usage:
        main(["generate", "--lines", "10", "--out", str(tmp_path), "--format", "xlsx"])
    assert usage.value.code == ExitCode.INPUT_ERROR


def test_a_few_lines_generate_whatever_is_planted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: generating a few hundred lines, a rule that planted nothing failed the whole run (Polars
    typed its empty truth as Null); and no lines, or a negative seed, failed deep inside."""
    for lines in (1, 60):
        out = tmp_path / str(lines)
        assert main(["generate", "--lines", str(lines), "--seed", "1", "--out", str(out)]) == 0
        truth = pl.read_parquet(out / "truth.parquet")
        assert truth.schema["true_amount"] == pl.Decimal(18, 2)
        assert pl.scan_parquet(out / "claims").select(pl.len()).collect().item() >= 1
    for bad in (["--lines", "0"], ["--lines", "5", "--seed", "-1"], ["--lines", "many"]):
        with pytest.raises(SystemExit) as usage:
            main(["generate", *bad, "--out", str(tmp_path / "bad")])
        assert usage.value.code == ExitCode.INPUT_ERROR
    assert "is not a whole number of at least" in capsys.readouterr().err
