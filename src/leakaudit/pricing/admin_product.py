"""Price basis ``product_for_admin_code``: what is paid for the product given with an administration code.

The drug given with 96372, the vaccine given with 90471, and so on: first what the organisation is
paid for it on encounters of the same primary diagnosis (by the claim's payer, then by any), then on any
(the provider's own encounters, then the organisation's), then the CMS reference price of the product
it most often gives with that administration code.

NOTE: no tier of the provider's own encounters for the diagnosis: each tier is a median over every paid
administration, and that one, by four keys, cost as much as two others together (0.3 s at 10 M lines,
about 13 s at 100 M, measured with the tiers of the diagnosis and the provider alone); the diagnosis, not
the provider, tells what was given.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import polars as pl

from leakaudit.pricing.basis import (
    PriceBasis,
    PriceTier,
    history_medians,
    payer_then_every_payer,
    primary_payments,
)
from leakaudit.pricing.reference import REFERENCE_RELEASE, each_release, reference_unit_prices
from leakaudit.refdata import any_codeset
from leakaudit.rules import AuditContext
from leakaudit.rules.base import count_text, primary_diagnosis
from leakaudit.rules.drug_admin_without_drug import (
    ADMINISTRATION_SETS,
    IMMUNIZATION,
    PRODUCT_SETS,
    admin_kind,
    administration_or_product,
    is_vaccine_product,
)
from leakaudit.rules.same_service import SERVICE_KEY

#: A provider's own history is used only when it has at least this many paid encounters.
MIN_PROVIDER_ENCOUNTERS = 5
#: The organisation's history of a diagnosis is used only when it has at least this many paid encounters.
MIN_DIAGNOSIS_ENCOUNTERS = 5


def _administrations(ctx: AuditContext) -> pl.LazyFrame:
    """Each administration code once per encounter and rendering provider, with its kind and diagnosis.

    The diagnosis (``price_context``) is the primary one of the code's line; of several lines, the first in
    code order, so that no row order decides.

    NOTE: the code, provider and diagnosis are categorical (the price tables turn them back to text, as the
    hits hold them): each value is held once, not on every row of the group-by and of the joins after. The
    administration tiers of 100 M lines, 18.8 M of them drugs: 6.33 GB and 26.4 s with text, 4.74 GB and
    22.5 s categorical; of 20 M lines: 1.79 GB and 4.9 s, 1.28 GB and 4.4 s. A categorical's minimum is
    the first in text order, as a text's.
    """
    code = pl.col("procedure_code")
    return (
        ctx.lines.filter(any_codeset(*ADMINISTRATION_SETS).contains(code))
        .select("encounter_id", code.alias("price_code"), "rendering_npi", primary_diagnosis().alias("price_context"))
        .with_columns(pl.col("price_code", "rendering_npi", "price_context").cast(pl.Categorical))
        .group_by("encounter_id", "price_code", "rendering_npi")
        .agg(pl.col("price_context").min())
        .with_columns(admin_kind(pl.col("price_code")).alias("admin_kind"))
    )


def _products(ctx: AuditContext) -> pl.LazyFrame:
    """Product lines with what kind of administration they satisfy."""
    code = pl.col("procedure_code")
    return ctx.lines.filter(any_codeset(*PRODUCT_SETS).contains(code)).select(
        *SERVICE_KEY,
        code.alias("product_code"),
        "payer_id",
        "paid_amount",
        is_vaccine_product(code).alias("is_vaccine"),
    )


def _given_with(ctx: AuditContext) -> pl.LazyFrame:
    """Each administration joined to the products that satisfy it on the same encounter.

    The provider is the administration's: a product line's own ``rendering_npi`` is left out.
    """
    return (
        _administrations(ctx)
        .join(_products(ctx).drop("rendering_npi"), on="encounter_id", how="inner")
        .filter((pl.col("admin_kind") == IMMUNIZATION) == pl.col("is_vaccine"))
    )


def product_payments(ctx: AuditContext, *, per_payer: bool) -> pl.LazyFrame:
    """Per encounter and administration code: the total paid for the products that satisfy it.

    A crossed-over encounter's products are paid twice, in full by the primary payer and the coinsurance
    by the secondary. Per payer (``per_payer``, with ``payer_id``), a product billed on several claims
    counts at its copy paid most (:func:`~leakaudit.pricing.basis.primary_payments`), so a secondary
    payer's medians hold no coinsurance. Else the encounter counts once, at the payment of the payer that
    paid most.

    NOTE: the products are summed per encounter and payer first (one group-by), then joined one to one
    to the administrations: joining every product line to the administrations and grouping by
    encounter, code and provider took twice as long on 100 M lines. To leave the secondary's payments
    out of the payers', the product lines' copies are set aside as for the medians of codes: on the
    administrations' tiers of 100 M lines, 18.9 s and 3.72 GB against 18.6 s and 3.44 GB with them kept.
    Joining each encounter's largest payment back to its payers' rows took the audit from 126.7 s and
    4.89 GB to 137.7 s and 6.94 GB (the join held every encounter's row); picking the payer paid most in
    a second group-by per encounter, 23.0 s and 4.97 GB for those tiers.
    """
    drug, vaccine = ~pl.col("is_vaccine"), pl.col("is_vaccine")
    paid = _products(ctx).filter(pl.col("paid_amount") > 0)
    if per_payer:
        paid = primary_payments(paid)
    per_encounter = paid.group_by("encounter_id", "payer_id").agg(
        pl.when(drug).then(pl.col("paid_amount")).sum().alias("drug_paid"),
        drug.any().alias("has_drug"),
        pl.when(vaccine).then(pl.col("paid_amount")).sum().alias("vaccine_paid"),
        vaccine.any().alias("has_vaccine"),
    )
    if not per_payer:
        per_encounter = per_encounter.group_by("encounter_id").agg(
            pl.col("drug_paid", "vaccine_paid").max(), pl.col("has_drug", "has_vaccine").any()
        )
    immunization = pl.col("admin_kind") == IMMUNIZATION
    return (
        _administrations(ctx)
        .join(per_encounter, on="encounter_id", how="inner")
        .filter(pl.when(immunization).then(pl.col("has_vaccine")).otherwise(pl.col("has_drug")))
        .select(
            "encounter_id",
            "price_code",
            "rendering_npi",
            "price_context",
            *(["payer_id"] if per_payer else []),
            pl.when(immunization).then(pl.col("vaccine_paid")).otherwise(pl.col("drug_paid")).alias("product_paid"),
        )
    )


def history(ctx: AuditContext, *, provider: bool, diagnosis: bool, per_payer: bool, least: int) -> pl.LazyFrame:
    """The median product payment per administration code, where at least ``least`` encounters were paid.

    The rendering provider's own (``provider``) or the organisation's; for each primary diagnosis
    (``diagnosis``) or whatever it is; from each payer (``per_payer``: :func:`history_medians`) or from
    every payer.
    """
    keys = ["price_code", *(["rendering_npi"] if provider else []), *(["price_context"] if diagnosis else [])]
    payments = product_payments(ctx, per_payer=per_payer).filter(*(pl.col(key).is_not_null() for key in keys[1:]))
    whose = "the rendering provider's own" if provider else "the organisation's"
    for_diagnosis = [" for diagnosis {}"] if diagnosis else []
    return (
        history_medians(payments, keys, pl.col("product_paid"), per_payer=per_payer)
        .filter(pl.col("n") >= least)
        .select(
            *(pl.col(key).cast(pl.String) for key in keys),
            *(["payer_id"] if per_payer else []),
            "unit_price",
            pl.format(
                "".join(["median product payment on {} of ", whose, " paid encounters with {}", *for_diagnosis, "{}"]),
                "n",
                "price_code",
                *(["price_context"] if diagnosis else []),
                "from_payer",
            ).alias("method"),
        )
    )


def reference_for_usual_product(ctx: AuditContext) -> pl.LazyFrame:
    """CMS reference price of the product most often given with the administration code, at its median units.

    Keyed on the code and the reference release (:data:`~leakaudit.pricing.reference.REFERENCE_RELEASE`):
    the product's price on that release's dates.
    """
    usage = (
        _given_with(ctx)
        .group_by("price_code", "product_code")
        .agg(
            pl.col("encounter_id").n_unique().alias("encounters"),
            pl.col("units").cast(pl.Float64).median().alias("units"),
        )
    )
    usual = (
        usage.group_by("price_code")
        .agg(
            pl.struct("product_code", "encounters", "units")
            .sort_by([pl.col("encounters"), pl.col("product_code")], descending=[True, False])
            .first()
            .alias("usual"),
            pl.col("encounters").sum().alias("with_product"),
        )
        .unnest("usual")
    )
    prices = reference_unit_prices(ctx).rename({"code": "product_code", "unit_price": "product_price"})
    known = pl.col("product_price").is_not_null()
    administrations = _administrations(ctx).select("price_code").unique().join(each_release(ctx), how="cross")
    priced = administrations.join(usual, on="price_code", how="left").join(
        prices, on=["product_code", REFERENCE_RELEASE], how="left"
    )
    return priced.select(
        pl.col("price_code").cast(pl.String),
        REFERENCE_RELEASE,
        (pl.col("product_price") * pl.col("units").round(3).cast(pl.Decimal(18, 3))).alias("unit_price"),
        pl.when(pl.col("product_code").is_null())
        .then(pl.format("no drug or vaccine was billed with {} in this history", "price_code"))
        .when(known)
        .then(
            pl.format(
                "{}, the product most often billed with {} here ({}), at its median {}",
                "method",
                "price_code",
                count_text(pl.col("encounters"), "encounter"),
                count_text(pl.col("units"), "unit"),
            )
        )
        .otherwise(
            pl.format(
                "{}, the product most often billed with {} here, has no CMS reference price",
                "product_code",
                "price_code",
            )
        )
        .alias("method"),
    )


#: The median product payment for the diagnosis: the claim's payer's, then every payer's.
_FROM_THE_PAYER, _FROM_EVERY_PAYER = payer_then_every_payer(
    "organisation history for the diagnosis",
    ("price_code", "price_context"),
    partial(history, provider=False, diagnosis=True, least=MIN_DIAGNOSIS_ENCOUNTERS),
)

PRODUCT_FOR_ADMIN_CODE = PriceBasis(
    name="product_for_admin_code",
    description=(
        "The drug or vaccine missing from an administration encounter is valued at the median total paid "
        "for the products on the organisation's own paid encounters with the same administration code and "
        "the same primary diagnosis (what a patient is treated for says much of what was given): those the "
        f"claim's payer paid where there are at least {MIN_DIAGNOSIS_ENCOUNTERS}, else those of every payer "
        f"where there are at least {MIN_DIAGNOSIS_ENCOUNTERS}; else, whatever the diagnosis, on the rendering "
        f"provider's own encounters where there are at least {MIN_PROVIDER_ENCOUNTERS}, else the whole "
        "organisation's; with no paid history, at the CMS reference price (ASP, of the quarter of the date of "
        "service) of the product most often given with that code, times its median units."
    ),
    # NOTE: the claim's payer's tier is a stage of its own; the tiers of every payer are built only for the hits
    # it leaves. Together in one stage, the four shared the administrations, but their group-bys held their tables
    # at once: on the 39 M lines of administrations and products of 100 M drug-heavy lines (18 M administrations;
    # 1,446 of 394,276 hits left to the later tiers), together 19.3-21.4 s and 4.12-4.20 GB peak, in two stages
    # 19.7-21.2 s and 3.43-3.52 GB; at 10 M generated lines 1.39-1.47 s against 1.38-1.52 s. One group-by of the
    # products summing both the copies paid most (for the payer's tier) and every copy (for the others) took
    # 22.4-25.0 s and 4.45-4.53 GB: marking the copies joins every paid product line back, where leaving them out
    # filters. (c91adbf split them so for time and c72b23c undid it: with a tail of small payers, 0.2-0.4 s slower
    # at 10 M then; on this code, nine runs each alternated, the 10 M audit's pricing took a median 2.86 s split,
    # 2.91 s grouped.)
    tiers=(
        _FROM_THE_PAYER,
        replace(_FROM_EVERY_PAYER, stage=1),
        PriceTier(
            "provider history",
            ("price_code", "rendering_npi"),
            partial(history, provider=True, diagnosis=False, per_payer=False, least=MIN_PROVIDER_ENCOUNTERS),
            stage=1,
        ),
        PriceTier(
            "organisation history",
            ("price_code",),
            partial(history, provider=False, diagnosis=False, per_payer=False, least=1),
            stage=1,
        ),
        PriceTier("CMS reference price", ("price_code", REFERENCE_RELEASE), reference_for_usual_product, stage=2),
    ),
    reads=lambda: administration_or_product(pl.col("procedure_code")),
)
