"""Price basis ``product_for_admin_code``: what is paid for the product given with an administration code.

The drug given with 96372, the vaccine given with 90471, and so on.
"""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.basis import PriceBasis, PriceTier, median_cents
from leakaudit.rules import AuditContext
from leakaudit.rules.drug_admin_without_drug import (
    IMMUNIZATION,
    admin_kind,
    is_drug_product,
    is_vaccine_product,
)

#: A provider's own history is used only when it has at least this many paid encounters.
MIN_PROVIDER_ENCOUNTERS = 5


def product_payments(ctx: AuditContext) -> pl.LazyFrame:
    """Per encounter and administration code: the total paid for the products that satisfy it."""
    code = pl.col("procedure_code")
    paid = pl.col("paid_amount").fill_null(0)
    products = (
        ctx.lines.filter((is_drug_product(code) | is_vaccine_product(code)) & (pl.col("paid_amount") > 0))
        .group_by("encounter_key")
        .agg(
            paid.filter(is_drug_product(code)).sum().alias("drug_paid"),
            paid.filter(is_vaccine_product(code)).sum().alias("vaccine_paid"),
        )
    )
    admins = (
        ctx.lines.filter(admin_kind(code).is_not_null())
        .select("encounter_key", code.alias("price_code"), "rendering_npi", admin_kind(code).alias("admin_kind"))
        .unique()
    )
    return (
        admins.join(products, on="encounter_key", how="inner")
        .with_columns(
            pl.when(pl.col("admin_kind") == IMMUNIZATION)
            .then(pl.col("vaccine_paid"))
            .otherwise(pl.col("drug_paid"))
            .alias("product_paid")
        )
        .filter(pl.col("product_paid") > 0)
    )


def provider_history(ctx: AuditContext) -> pl.LazyFrame:
    """The rendering provider's own median, where it has enough paid encounters."""
    return (
        product_payments(ctx)
        .filter(pl.col("rendering_npi").is_not_null())
        .group_by("price_code", "rendering_npi")
        .agg(median_cents(pl.col("product_paid")).alias("price_cents"), pl.len().alias("n"))
        .filter(pl.col("n") >= MIN_PROVIDER_ENCOUNTERS)
        .select(
            "price_code",
            "rendering_npi",
            "price_cents",
            pl.format(
                "median product payment on {} of the rendering provider's own paid encounters with {}",
                pl.col("n"),
                pl.col("price_code"),
            ).alias("method"),
        )
    )


def organisation_history(ctx: AuditContext) -> pl.LazyFrame:
    """The whole organisation's median."""
    return (
        product_payments(ctx)
        .group_by("price_code")
        .agg(median_cents(pl.col("product_paid")).alias("price_cents"), pl.len().alias("n"))
        .select(
            "price_code",
            "price_cents",
            pl.format(
                "median product payment on {} of the organisation's paid encounters with {}",
                pl.col("n"),
                pl.col("price_code"),
            ).alias("method"),
        )
    )


PRODUCT_FOR_ADMIN_CODE = PriceBasis(
    name="product_for_admin_code",
    description=(
        "The drug or vaccine missing from an administration encounter is valued at the median total paid "
        "for the products on the organisation's own paid encounters with the same administration code: "
        f"the rendering provider's own encounters where there are at least {MIN_PROVIDER_ENCOUNTERS}, "
        "else the whole organisation's."
    ),
    tiers=(
        PriceTier("provider history", ("price_code", "rendering_npi"), provider_history),
        PriceTier("organisation history", ("price_code",), organisation_history),
    ),
)
