"""Price basis ``drug_unit_price``: what one billing unit of a drug is paid (``price_code`` = the drug)."""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.basis import MIN_PAYER_LINES, PriceBasis, PriceTier, code_medians
from leakaudit.pricing.reference import REFERENCE_RELEASE, reference_by
from leakaudit.rules import AuditContext


def payer_history(ctx: AuditContext) -> pl.LazyFrame:
    """Median paid per unit of each drug code for each payer, with enough paid lines."""
    return code_medians(ctx, per_payer=True).with_columns(
        pl.format(
            "median paid per unit on {} of the organisation's paid {} lines{}", "n", "price_code", "from_payer"
        ).alias("method")
    )


DRUG_UNIT_PRICE = PriceBasis(
    name="drug_unit_price",
    description=(
        "Drug units are valued at the organisation's own median paid per unit for the code and payer where it "
        f"has at least {MIN_PAYER_LINES} paid lines, else at the CMS ASP payment limit per billing unit of the "
        "quarter of the date of service."
    ),
    tiers=(
        PriceTier("payer history", ("price_code", "payer_id"), payer_history, codes_from="price_code"),
        PriceTier("CMS ASP payment limit", ("price_code", REFERENCE_RELEASE), reference_by("price_code"), stage=1),
    ),
)
