"""Price basis ``drug_unit_price``: what one billing unit of a drug is paid (``price_code`` = the drug)."""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.basis import PriceBasis, PriceTier, median_price, paid_lines, paid_per_unit
from leakaudit.pricing.reference import reference_by
from leakaudit.rules import AuditContext

#: The organisation's own price for a code and payer is used only with at least this many paid lines.
MIN_PAYER_LINES = 5


def payer_history(ctx: AuditContext) -> pl.LazyFrame:
    """Median paid per unit of each drug code for each payer, with enough paid lines."""
    paid = paid_lines(ctx.lines).filter(pl.col("payer_id").is_not_null())
    return (
        median_price(paid, [pl.col("procedure_code").alias("price_code"), "payer_id"], paid_per_unit())
        .filter(pl.col("n") >= MIN_PAYER_LINES)
        .select(
            "price_code",
            "payer_id",
            "unit_price",
            pl.format(
                "median paid per unit on {} of the organisation's paid {} lines from payer {}",
                "n",
                "price_code",
                "payer_id",
            ).alias("method"),
        )
    )


DRUG_UNIT_PRICE = PriceBasis(
    name="drug_unit_price",
    description=(
        "Drug units are valued at the organisation's own median paid per unit for the code and payer where it "
        f"has at least {MIN_PAYER_LINES} paid lines, else at the CMS ASP payment limit per billing unit."
    ),
    tiers=(
        PriceTier("payer history", ("price_code", "payer_id"), payer_history, codes_from="price_code"),
        PriceTier("CMS ASP payment limit", ("price_code",), reference_by("price_code"), fallback=True),
    ),
)
