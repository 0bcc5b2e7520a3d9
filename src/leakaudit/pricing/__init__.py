"""The price basis of every estimate: own history first, then CMS reference prices.

:func:`estimate` values a LazyFrame of rule hits: for each hit it tries the tiers of its price basis in
order and records the amount and the method of the first tier that knows a price; a hit no tier
prices keeps an empty amount, with the reason the first tier gave, else "no price basis".
"""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.admin_product import PRODUCT_FOR_ADMIN_CODE
from leakaudit.pricing.basis import NO_PRICE_BASIS, UNIT_PRICE, PriceBasis, PriceTier, median_price
from leakaudit.pricing.code_payment import CODE_PAYMENT
from leakaudit.pricing.reference import reference_unit_prices
from leakaudit.rules import AuditContext
from leakaudit.schema import MONEY

BASES: dict[str, PriceBasis] = {basis.name: basis for basis in (PRODUCT_FOR_ADMIN_CODE, CODE_PAYMENT)}


def estimate(hits: pl.LazyFrame, ctx: AuditContext) -> pl.LazyFrame:
    """Add ``estimated_amount`` (dollars) and ``estimate_method`` to rule hits."""
    unknown = hits.filter(pl.col("price_basis").is_null() | ~pl.col("price_basis").is_in(list(BASES)))
    priced: list[pl.LazyFrame] = [
        unknown.with_columns(
            pl.lit(None, dtype=MONEY).alias("estimated_amount"), pl.lit(NO_PRICE_BASIS).alias("estimate_method")
        )
    ]
    for basis in BASES.values():
        frame = hits.filter(pl.col("price_basis") == basis.name)
        prices, methods, reasons, scratch = [], [], [], []
        for i, tier in enumerate(basis.tiers):
            price, method = f"_price_{i}", f"_method_{i}"
            table = tier.table(ctx).select(
                *tier.keys, pl.col("unit_price").cast(UNIT_PRICE).alias(price), pl.col("method").alias(method)
            )
            frame = frame.join(table, on=list(tier.keys), how="left", nulls_equal=False)
            prices.append(pl.col(price))
            methods.append(pl.when(pl.col(price).is_not_null()).then(pl.col(method)))
            reasons.append(pl.when(pl.col(price).is_null()).then(pl.format(NO_PRICE_BASIS + ": {}", pl.col(method))))
            scratch += [price, method]
        unit_price = pl.coalesce(prices)
        amount = (unit_price * pl.col("price_quantity")).round(2).cast(MONEY)
        priced.append(
            frame.with_columns(
                amount.alias("estimated_amount"),
                pl.coalesce([*methods, *reasons, pl.lit(NO_PRICE_BASIS)]).alias("estimate_method"),
            ).drop(scratch)
        )
    return pl.concat(priced, how="vertical")


__all__ = ["BASES", "NO_PRICE_BASIS", "PriceBasis", "PriceTier", "estimate", "median_price", "reference_unit_prices"]
