"""Pricing: tiers tried in order, and tables built only for the hits that still need a price."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

import leakaudit.pricing
from conftest import write_claims_csv
from leakaudit.findings import find_all
from leakaudit.io import scan_claim_lines
from leakaudit.pricing import PriceBasis, PriceTier, estimate
from leakaudit.pricing.admin_product import PRODUCT_FOR_ADMIN_CODE
from leakaudit.refdata import import_file, load_refdata
from leakaudit.rules import AUDITED_COLUMNS, AuditContext
from leakaudit.rules.drug_admin_without_drug import DrugAdminWithoutDrug
from leakaudit.rules.jcode_unit_mismatch import JcodeUnitMismatch
from leakaudit.schema import MONEY, QUANTITY

FIXTURES = Path(__file__).parent / "fixtures" / "refdata"


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the tier tables :func:`estimate` builds, in order, for a history tier and a later stage's."""
    names: list[str] = []

    def tier(name: str, prices: dict[str, str], *, stage: int = 0) -> PriceTier:
        def table(ctx: AuditContext) -> pl.LazyFrame:
            names.append(name)
            return pl.LazyFrame(
                {
                    "price_code": list(prices),
                    "unit_price": [Decimal(p) for p in prices.values()],
                    "method": [f"{name} of {code}" for code in prices],
                }
            )

        return PriceTier(name, ("price_code",), table, stage=stage)

    basis = PriceBasis(
        name="drug_unit_price",
        description="history, else reference",
        tiers=(
            tier("history", {"J3301": "2.00"}),
            tier("reference", {"J3301": "9.00", "J9035": "3.00"}, stage=1),
        ),
    )
    monkeypatch.setattr(leakaudit.pricing, "BASES", {basis.name: basis})
    return names


def _estimate(*hits: tuple[str, str], cap: Decimal | None = None) -> list[tuple[str, Decimal | None, str]]:
    frame = pl.DataFrame(
        {
            "price_basis": [basis for basis, _ in hits],
            "price_code": [code for _, code in hits],
            "price_quantity": [Decimal(4)] * len(hits),
            "price_cap": [cap] * len(hits),
            "price_paid": [None] * len(hits),
            "service_date": [date(2025, 11, 3)] * len(hits),
        },
        schema={
            "price_basis": pl.String(),
            "price_code": pl.String(),
            "price_quantity": QUANTITY,
            "price_cap": MONEY,
            "price_paid": MONEY,
            "service_date": pl.Date(),
        },
    )
    priced = estimate(frame, AuditContext(lines=pl.LazyFrame())).collect().sort("price_code")
    return list(priced.select("price_code", "estimated_amount", "estimate_method").iter_rows())


def test_a_later_stage_is_not_built_when_history_prices_every_hit(built: list[str]) -> None:
    assert _estimate(("drug_unit_price", "J3301")) == [("J3301", Decimal("8.00"), "history of J3301")]
    assert built == ["history"]


def test_an_estimate_is_at_most_its_cap_and_says_so(built: list[str]) -> None:
    # 4 units at $2.00 from history, but the payer paid $5.50 for them: no more can be at stake.
    assert _estimate(("drug_unit_price", "J3301"), cap=Decimal("5.50")) == [
        ("J3301", Decimal("5.50"), "history of J3301; at most $5.50, what the payer paid for the units at issue")
    ]
    assert _estimate(("drug_unit_price", "J3301"), cap=Decimal("9.00")) == [
        ("J3301", Decimal("8.00"), "history of J3301")
    ]
    # A cap is no price: a hit no tier prices keeps no amount.
    assert _estimate(("drug_unit_price", "J0000"), cap=Decimal("1.00"))[0][1] is None


def test_a_later_stage_prices_what_history_leaves_and_history_still_wins(built: list[str]) -> None:
    assert _estimate(("drug_unit_price", "J3301"), ("drug_unit_price", "J9035")) == [
        ("J3301", Decimal("8.00"), "history of J3301"),
        ("J9035", Decimal("12.00"), "reference of J9035"),
    ]
    assert built == ["history", "reference"]


def test_a_basis_refuses_tiers_whose_stages_are_out_of_order() -> None:
    table = PriceTier("a", ("price_code",), lambda ctx: pl.LazyFrame())
    PriceBasis("ordered", "", (table, replace(table, stage=1), replace(table, stage=1)))
    with pytest.raises(ValueError, match=r"price basis disordered: its tiers' stages are out of order: \[1, 0\]"):
        PriceBasis("disordered", "", (replace(table, stage=1), table))


def test_basis_without_hits_builds_no_table(built: list[str]) -> None:
    assert _estimate(("code_payment", "S0013")) == [("S0013", None, "no price basis")]
    assert built == []


def test_a_cms_reference_price_is_that_of_the_release_in_effect_on_the_date_of_service(tmp_path: Path) -> None:
    """With April 2025's ASP file loaded beside October's, a drug is valued at the payment limit of its date.

    The April file (made from the October slice, J3301 at $0.700 a unit instead of $0.844) prices the units
    missing in May, and those of a date before both files; October's those of November. So too the drug
    missing from an administration, valued at the usual product's limit times its median units.
    """
    october = (FIXTURES / "Oct 2025 ASP Pricing File slice.csv").read_text(encoding="utf-8")
    april = october.replace("Effective October 1, 2025 through December 31, 2025", "Effective April 1, 2025")
    april = april.replace(
        "J3301,Triamcinolone acet inj nos,10 MG,0.844", "J3301,Triamcinolone acet inj nos,10 MG,0.700"
    )
    assert april.count("0.700") == 1
    (tmp_path / "Apr 2025 ASP Pricing File.csv").write_text(april, encoding="utf-8")
    import_file("asp", tmp_path / "Apr 2025 ASP Pricing File.csv", tmp_path / "store")
    refdata = load_refdata([tmp_path / "store"], include_user_store=False)
    drug = {"procedure_code": "J3301", "units": 1, "ndc_quantity": 40, "ndc_unit": "ME", "payer_id": "SELF"}
    rows: list[dict[str, object]] = [
        {**drug, "claim_id": claim, "patient_id": claim, "service_date": day}
        for claim, day in (("C1", "2025-05-10"), ("C2", "2025-11-10"), ("C3", "2025-01-15"))
    ]
    for n in range(2):  # J3301 given with 96372, unpaid: no paid history values a missing drug
        given = {"claim_id": f"H{n}", "patient_id": f"H{n}", "service_date": "2025-05-02"}
        rows += [
            {**given, "procedure_code": "96372", "paid_amount": "15.00"},
            {**given, "line_number": 2, "procedure_code": "J3301", "units": 4, "paid_amount": "0"},
        ]
    for claim, day in (("A1", "2025-05-20"), ("A2", "2025-11-20")):
        rows.append({"claim_id": claim, "patient_id": claim, "service_date": day, "procedure_code": "96372"})
    lines = scan_claim_lines([write_claims_csv(tmp_path / "claims.csv", rows)]).audited.select(AUDITED_COLUMNS)
    ctx = AuditContext(lines=lines, refdata=refdata)
    found = find_all([JcodeUnitMismatch, DrugAdminWithoutDrug], ctx).sort("claim_id")
    got = list(
        found.select(
            "claim_id", "estimated_amount", pl.col("estimate_method").str.extract(r"\((\d{4}-\d{2}) release")
        ).rows()
    )
    assert got == [
        ("A1", Decimal("2.80"), "2025-04"),
        ("A2", Decimal("3.38"), "2025-10"),
        ("C1", Decimal("2.10"), "2025-04"),
        ("C2", Decimal("2.53"), "2025-10"),
        ("C3", Decimal("2.10"), "2025-04"),
    ]


def test_an_administrations_every_payer_tiers_are_built_only_for_the_hits_its_payers_tier_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AETNA paid the drug given with 96372 for M17.11 on 5 encounters: its median values AETNA's own finding.

    Only a finding of a payer without such history (SELF) needs the tiers of every payer, the provider
    and the organisation: they are built for it, and not otherwise (each of their group-bys holds a table
    of every paid encounter).
    """
    built: list[str] = []

    def spied(tier: PriceTier) -> PriceTier:
        def table(ctx: AuditContext) -> pl.LazyFrame:
            built.append(tier.name)
            return tier.table(ctx)

        return replace(tier, table=table)

    basis = PRODUCT_FOR_ADMIN_CODE
    monkeypatch.setattr(
        leakaudit.pricing, "BASES", {basis.name: replace(basis, tiers=tuple(spied(t) for t in basis.tiers))}
    )
    given = {"procedure_code": "96372", "diagnosis_codes": "M17.11", "payer_id": "AETNA"}
    paid: list[dict[str, object]] = []
    for n in range(5):
        visit = {"claim_id": f"E{n}", "patient_id": f"E{n}"}
        paid += [{**given, **visit}, {**given, **visit, "line_number": 2, "procedure_code": "J3301", "paid_amount": 15}]
    missing = [{**given, "claim_id": "H1", "patient_id": "H1"}]
    without_history = {**given, "claim_id": "H2", "patient_id": "H2", "payer_id": "SELF"}

    def audit(rows: list[dict[str, object]]) -> list[tuple[str, Decimal, str]]:
        built.clear()
        lines = scan_claim_lines([write_claims_csv(tmp_path / "claims.csv", rows)]).audited.select(AUDITED_COLUMNS)
        found = find_all([DrugAdminWithoutDrug], AuditContext(lines=lines)).sort("claim_id")
        return list(found.select("claim_id", "estimated_amount", "estimate_method").rows())

    by_payer = "median product payment on 5 of the organisation's paid encounters with 96372 for diagnosis M17.11"
    assert audit(paid + missing) == [("H1", Decimal("15.00"), by_payer + " from payer AETNA")]
    assert built == ["organisation history for the diagnosis from the payer"]

    assert audit([*paid, *missing, without_history]) == [
        ("H1", Decimal("15.00"), by_payer + " from payer AETNA"),
        ("H2", Decimal("15.00"), by_payer),
    ]
    assert built == [
        "organisation history for the diagnosis from the payer",
        "organisation history for the diagnosis",
        "provider history",
        "organisation history",
    ]
