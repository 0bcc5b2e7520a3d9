"""The price basis of every estimate: own history first, then CMS reference prices.

:func:`estimate` values a LazyFrame of rule hits: for each hit it tries the tiers of its price basis in
order and records the amount and the method of the first tier that knows a price; a hit no tier
prices keeps an empty amount, with the reason the first tier gave, else "no price basis".
"""

from __future__ import annotations

from dataclasses import replace
from itertools import groupby

import polars as pl

from leakaudit.engine import ENGINE, collect
from leakaudit.pricing.admin_product import PRODUCT_FOR_ADMIN_CODE
from leakaudit.pricing.basis import (
    HISTORY_COLUMNS,
    NO_PRICE_BASIS,
    UNIT_PRICE,
    PriceBasis,
    PriceTier,
    median_price,
)
from leakaudit.pricing.code_payment import CODE_PAYMENT
from leakaudit.pricing.drug_unit import DRUG_UNIT_PRICE
from leakaudit.pricing.orthosis import ORTHOSIS_FOR_REGION
from leakaudit.pricing.reference import REFERENCE_RELEASE, reference_release_of, reference_unit_prices
from leakaudit.pricing.scale import paid_to_cms_prices
from leakaudit.rules import AuditContext
from leakaudit.schema import MONEY

BASES: dict[str, PriceBasis] = {
    basis.name: basis for basis in (PRODUCT_FOR_ADMIN_CODE, CODE_PAYMENT, ORTHOSIS_FOR_REGION, DRUG_UNIT_PRICE)
}


def history_lines(hits: pl.DataFrame, ctx: AuditContext) -> pl.LazyFrame:
    """The lines of the organisation's history (``ctx.all_lines``) that the price bases of ``hits`` read.

    Those a basis :attr:`~PriceBasis.reads`, and those its tiers read for its hits
    (:meth:`~PriceTier.lines_read`: their codes); only the columns a tier reads
    (:data:`~leakaudit.pricing.basis.HISTORY_COLUMNS`). Given to :func:`estimate` as ``ctx.history``, they
    price the hits as every line would.

    NOTE: for a work file that every tier reads instead of the audit's: a few of the codes' lines scattered
    through the audit's lines cost a scan of all of them, each tier again. Pricing in the audit, the file
    written first: 2.43-2.47 s against 2.93-2.96 s at 10 M lines, 27.8 s against 31.0 s at 100 M.
    """
    wanted: list[pl.Expr] = []
    for basis in BASES.values():
        mine = hits.filter(pl.col("price_basis") == basis.name)
        if mine.is_empty():
            continue
        if basis.reads is not None:
            wanted.append(basis.reads())
        wanted += [read for tier in basis.tiers if (read := tier.lines_read(mine)) is not None]
    lines = ctx.all_lines.select(HISTORY_COLUMNS)
    return lines.filter(pl.any_horizontal(wanted)) if wanted else lines.head(0)


def estimate(hits: pl.DataFrame, ctx: AuditContext) -> pl.LazyFrame:
    """Add ``estimated_amount`` (dollars) and ``estimate_method`` to rule hits.

    Every tier table is tagged with its basis and left-joined on (basis, keys), so a hit only ever
    matches the tiers of its own basis. The hits are given collected (they are few) so that a tier keyed
    on codes is built from the lines of the codes asked for only, and so that a basis builds its tables
    a stage at a time (:attr:`PriceTier.stage`), only while some of its hits are unpriced: none for a
    basis without hits, no later stage when the earlier ones priced every hit.

    The tiers read ``ctx.all_lines``: every line of the audit, or only those the bases read
    (:func:`history_lines`), as ``findings.find_all`` gives them.
    """
    prices: list[pl.Expr] = []
    methods, reasons, scratch = [], [], [REFERENCE_RELEASE]
    # The CMS reference tiers price a hit by the release in effect on its date of service.
    frame = hits.with_columns(reference_release_of(ctx))
    for b, basis in enumerate(BASES.values()):
        for _stage, batch in groupby(enumerate(basis.tiers), key=lambda pair: pair[1].stage):
            # A basis's hits match only its own tiers (the join is on the basis too): the other bases'
            # price columns are null on its rows.
            unpriced = frame.filter(
                (pl.col("price_basis") == basis.name) & pl.coalesce([*prices, pl.lit(None)]).is_null()
            )
            if unpriced.is_empty():
                break
            tiers = list(batch)
            plans = []
            for t, tier in tiers:
                # A tier reads the organisation's history as ``lines``: the audit's lines, also when the
                # hits are one partition's.
                read = tier.lines_read(unpriced)
                history = ctx.all_lines if read is None else ctx.all_lines.filter(read)
                tier_ctx = replace(ctx, lines=history, history=None)
                plans.append(
                    tier.table(tier_ctx).select(
                        pl.lit(basis.name).alias("price_basis"),
                        *tier.keys,
                        pl.col("unit_price").cast(UNIT_PRICE).alias(f"_price_{b}_{t}"),
                        pl.col("method").alias(f"_method_{b}_{t}"),
                    )
                )
            # NOTE: the tier tables are small (one row per code, provider or region) and collected a stage at
            # a time, so memory peaks at one stage's history aggregations. The tiers of a stage are collected
            # together, with common subplans shared, so that they build their shared history (for the
            # administration codes, the join of administrations to products by encounter) once.
            tables = pl.collect_all(plans, engine=ENGINE)
            joined = frame.lazy()
            for (t, tier), table in zip(tiers, tables, strict=True):
                price, method = f"_price_{b}_{t}", f"_method_{b}_{t}"
                joined = joined.join(table.lazy(), on=["price_basis", *tier.keys], how="left", nulls_equal=False)
                prices.append(pl.col(price))
                methods.append(pl.when(pl.col(price).is_not_null()).then(pl.col(method)))
                reasons.append(
                    pl.when(pl.col(price).is_null()).then(pl.format(NO_PRICE_BASIS + ": {}", pl.col(method)))
                )
                scratch += [price, method]
            frame = collect(joined)
    amount = (pl.coalesce([*prices, pl.lit(None)]) * pl.col("price_quantity")).round(2).cast(MONEY)
    how = pl.coalesce([*methods, *reasons, pl.lit(NO_PRICE_BASIS)])
    return frame.lazy().with_columns(_capped(amount, how)).drop(scratch)


def _capped(amount: pl.Expr, method: pl.Expr) -> list[pl.Expr]:
    """``estimated_amount`` and ``estimate_method``: ``amount`` net of ``price_paid``, at most ``price_cap``.

    The hit's ``price_paid`` is taken off (not below 0), then the result is held to its ``price_cap``; the
    method says so. A hit without a price keeps none, whatever its cap: the cap bounds an estimate, it is
    not one.

    >>> from decimal import Decimal
    >>> hits = pl.DataFrame(
    ...     {"price_cap": [Decimal("1.00"), Decimal("5.00"), None, None, None],
    ...      "price_paid": [None, None, None, Decimal("0.50"), Decimal("2.00")]},
    ...     schema={"price_cap": MONEY, "price_paid": MONEY},
    ... )
    >>> amounts = pl.lit(pl.Series([Decimal("1.69")] * 5, dtype=MONEY))
    >>> for row in hits.select(_capped(amounts, pl.lit("ASP"))).rows():
    ...     print(row)
    (Decimal('1.00'), 'ASP; at most $1.00, what the payer paid for the units at issue')
    (Decimal('1.69'), 'ASP')
    (Decimal('1.69'), 'ASP')
    (Decimal('1.19'), 'ASP; less $0.50, what the line was paid already')
    (Decimal('0.00'), 'ASP; less $2.00, what the line was paid already')
    """
    paid, cap = pl.col("price_paid"), pl.col("price_cap")
    netted = amount.is_not_null() & (paid > 0).fill_null(False)
    net = pl.when(netted).then(pl.max_horizontal(amount - paid, pl.lit(0))).otherwise(amount).cast(MONEY)
    how = (
        pl.when(netted)
        .then(pl.format("{}; less ${}, what the line was paid already", method, paid.cast(pl.String)))
        .otherwise(method)
    )
    capped = net.is_not_null() & (cap < net).fill_null(False)
    words = pl.format("{}; at most ${}, what the payer paid for the units at issue", how, cap.cast(pl.String))
    return [
        pl.when(capped).then(cap).otherwise(net).cast(MONEY).alias("estimated_amount"),
        pl.when(capped).then(words).otherwise(how).alias("estimate_method"),
    ]


__all__ = [
    "BASES",
    "NO_PRICE_BASIS",
    "PriceBasis",
    "PriceTier",
    "estimate",
    "history_lines",
    "median_price",
    "paid_to_cms_prices",
    "reference_unit_prices",
]
