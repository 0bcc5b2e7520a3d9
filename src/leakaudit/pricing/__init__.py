"""The price basis of every estimate: own history, then (later) contract and CMS reference prices.

:func:`estimate` values a LazyFrame of rule hits: for each hit it tries the tiers of its price basis in
order and records the amount and the method of the first tier that knows a price; a hit no tier
prices keeps an empty amount with method "no price basis".
"""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.admin_product import PRODUCT_FOR_ADMIN_CODE
from leakaudit.pricing.basis import NO_PRICE_BASIS, PriceBasis, PriceTier, median_cents
from leakaudit.rules import AuditContext

BASES: dict[str, PriceBasis] = {basis.name: basis for basis in (PRODUCT_FOR_ADMIN_CODE,)}


def estimate(hits: pl.LazyFrame, ctx: AuditContext) -> pl.LazyFrame:
    """Add ``estimated_cents`` and ``estimate_method`` to rule hits."""
    priced: list[pl.LazyFrame] = [
        hits.filter(pl.col("price_basis").is_null() | ~pl.col("price_basis").is_in(list(BASES))).with_columns(
            pl.lit(None, dtype=pl.Int64()).alias("estimated_cents"),
            pl.lit(NO_PRICE_BASIS).alias("estimate_method"),
        )
    ]
    for basis in BASES.values():
        frame = hits.filter(pl.col("price_basis") == basis.name)
        prices, methods = [], []
        for i, tier in enumerate(basis.tiers):
            table = tier.table(ctx).select(
                *tier.keys, pl.col("price_cents").alias(f"_price_{i}"), pl.col("method").alias(f"_method_{i}")
            )
            frame = frame.join(table, on=list(tier.keys), how="left")
            prices.append(pl.col(f"_price_{i}"))
            methods.append(pl.when(pl.col(f"_price_{i}").is_not_null()).then(pl.col(f"_method_{i}")))
        unit_cents = pl.coalesce(prices)
        estimated = (unit_cents.cast(pl.Decimal(18, 0)) * pl.col("price_quantity")).round(0).cast(pl.Int64)
        priced.append(
            frame.with_columns(
                estimated.alias("estimated_cents"),
                pl.coalesce([*methods, pl.lit(NO_PRICE_BASIS)]).alias("estimate_method"),
            ).drop([f"_price_{i}" for i in range(len(basis.tiers))] + [f"_method_{i}" for i in range(len(basis.tiers))])
        )
    return pl.concat(priced, how="vertical")


__all__ = ["BASES", "NO_PRICE_BASIS", "PriceBasis", "PriceTier", "estimate", "median_cents"]
