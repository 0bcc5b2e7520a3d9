"""Pricing: tiers tried in order, and tables built only for the hits that still need a price."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

import leakaudit.pricing
from leakaudit.pricing import PriceBasis, PriceTier, estimate
from leakaudit.rules import AuditContext
from leakaudit.schema import MONEY, QUANTITY


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the tier tables :func:`estimate` builds, in order, for one history and one fallback tier."""
    names: list[str] = []

    def tier(name: str, prices: dict[str, str], *, fallback: bool = False) -> PriceTier:
        def table(ctx: AuditContext) -> pl.LazyFrame:
            names.append(name)
            return pl.LazyFrame(
                {
                    "price_code": list(prices),
                    "unit_price": [Decimal(p) for p in prices.values()],
                    "method": [f"{name} of {code}" for code in prices],
                }
            )

        return PriceTier(name, ("price_code",), table, fallback=fallback)

    basis = PriceBasis(
        name="drug_unit_price",
        description="history, else reference",
        tiers=(
            tier("history", {"J3301": "2.00"}),
            tier("reference", {"J3301": "9.00", "J9035": "3.00"}, fallback=True),
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
        },
        schema={"price_basis": pl.String(), "price_code": pl.String(), "price_quantity": QUANTITY, "price_cap": MONEY},
    )
    priced = estimate(frame, AuditContext(lines=pl.LazyFrame())).collect().sort("price_code")
    return list(priced.select("price_code", "estimated_amount", "estimate_method").iter_rows())


def test_fallback_tier_is_not_built_when_history_prices_every_hit(built: list[str]) -> None:
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


def test_fallback_tier_prices_what_history_leaves_and_history_still_wins(built: list[str]) -> None:
    assert _estimate(("drug_unit_price", "J3301"), ("drug_unit_price", "J9035")) == [
        ("J3301", Decimal("8.00"), "history of J3301"),
        ("J9035", Decimal("12.00"), "reference of J9035"),
    ]
    assert built == ["history", "reference"]


def test_basis_without_hits_builds_no_table(built: list[str]) -> None:
    assert _estimate(("code_payment", "S0013")) == [("S0013", None, "no price basis")]
    assert built == []
