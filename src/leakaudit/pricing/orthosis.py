"""Price basis ``orthosis_for_region``: what an orthosis for a body region is paid (``price_code`` = region)."""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.basis import (
    MIN_PAYER_LINES,
    PriceBasis,
    PriceTier,
    history_medians,
    payer_then_every_payer,
    primary_payments,
)
from leakaudit.pricing.reference import REFERENCE_RELEASE, each_release, reference_unit_prices
from leakaudit.rules import AuditContext
from leakaudit.rules.brace_without_lcode import UNKNOWN_REGION, is_lcode


def _lcode_lines(ctx: AuditContext, *, paid: bool = False) -> pl.LazyFrame:
    """The organisation's L-code lines with their region; each also counts for "unknown region".

    With ``paid``, only the lines paid (:func:`primary_payments`).
    """
    code = pl.col("procedure_code")
    lines = ctx.lines.filter(is_lcode(code))
    if paid:
        lines = primary_payments(lines.filter(pl.col("paid_amount") > 0))
    # NOTE: one row per region of the line, exploded, rather than the lines read twice and concatenated:
    # without shared subplans each reading picked the paid copies again.
    regions = pl.concat_list(ctx.refdata.orthotics.region_of_lcode(code), pl.lit(UNKNOWN_REGION))
    return lines.with_columns(regions.alias("price_code")).explode("price_code").drop_nulls("price_code")


def region_history(ctx: AuditContext, *, per_payer: bool) -> pl.LazyFrame:
    """Median paid amount of the organisation's paid L-code lines per region."""
    return history_medians(
        _lcode_lines(ctx, paid=True), ["price_code"], pl.col("paid_amount"), per_payer=per_payer
    ).with_columns(
        pl.when(pl.col("price_code") == UNKNOWN_REGION)
        .then(
            pl.format(
                "median paid on {} of the organisation's paid L-code lines{} (body region unknown)", "n", "from_payer"
            )
        )
        .otherwise(
            pl.format("median paid on {} of the organisation's paid {} L-code lines{}", "n", "price_code", "from_payer")
        )
        .alias("method"),
    )


def region_reference(ctx: AuditContext) -> pl.LazyFrame:
    """CMS DMEPOS fee of the region's most common L-code here, else of its typical L-code, on each release's dates."""
    counts = _lcode_lines(ctx).group_by("price_code", pl.col("procedure_code").alias("lcode")).agg(pl.len().alias("n"))
    common = (
        counts.group_by("price_code")
        .agg(pl.col("lcode").sort_by([pl.col("n"), pl.col("lcode")], descending=[True, False]).first())
        .with_columns(pl.lit("the organisation's most common").alias("why"))
    )
    typical = pl.LazyFrame(
        {
            "price_code": [r.name for r in ctx.refdata.orthotics.regions if r.typical_lcodes],
            "lcode": [r.typical_lcodes[0] for r in ctx.refdata.orthotics.regions if r.typical_lcodes],
        },
        schema={"price_code": pl.String(), "lcode": pl.String()},
    ).with_columns(pl.lit("the typical").alias("why"))
    chosen = pl.concat([common, typical.join(common, on="price_code", how="anti")], how="vertical_relaxed")
    prices = reference_unit_prices(ctx).rename({"code": "lcode", "method": "fee_method"})
    by_release = chosen.join(each_release(ctx), how="cross")
    return by_release.join(prices, on=["lcode", REFERENCE_RELEASE], how="left").select(
        "price_code",
        REFERENCE_RELEASE,
        "unit_price",
        pl.when(pl.col("unit_price").is_not_null())
        .then(pl.format("{}, {} {} L-code", "fee_method", "why", pl.col("price_code").replace(UNKNOWN_REGION, "")))
        .otherwise(pl.format("{}, {} {} L-code, has no CMS DMEPOS fee", "lcode", "why", "price_code"))
        .alias("method"),
    )


ORTHOSIS_FOR_REGION = PriceBasis(
    name="orthosis_for_region",
    description=(
        "An orthosis supplied without its L-code is valued at the median paid amount of the organisation's own "
        f"L-code lines for the same body region, from the line's payer where it has at least {MIN_PAYER_LINES} "
        "paid lines, else from every payer; else at the CMS DMEPOS fee (the audit's state, else the national "
        "median; of the release in effect on the date of service) of the region's most common L-code in the "
        "organisation's history, or of its typical L-code."
    ),
    tiers=(
        *payer_then_every_payer("organisation history", ("price_code",), region_history),
        PriceTier("CMS DMEPOS fee", ("price_code", REFERENCE_RELEASE), region_reference, stage=1),
    ),
    reads=lambda: is_lcode(pl.col("procedure_code")),
)
