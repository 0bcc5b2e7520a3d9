"""CMS reference prices for any code: the ASP payment limit for drugs, the DMEPOS fee for devices.

The ASP file gives the Medicare Part B payment limit per billing unit; the DMEPOS fee schedule gives
the fee per unit for a state and area. The audit's ``--state`` picks the state's non-rural fee
(the area of each patient is not known); without a state, the national median of the states'
non-rural fees is used. The method names the release used.

CMS pays the limit or fee of the quarter of the date of service, and both change every quarter: a hit is
priced by the release in effect on its date of service (:data:`REFERENCE_RELEASE`), of those loaded.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from leakaudit.pricing.basis import UNIT_PRICE
from leakaudit.refdata.releases import in_effect
from leakaudit.rules import AuditContext

#: The column naming the reference release in effect on a hit's date of service: one of
#: :func:`reference_releases`. The tables of the reference tiers are keyed on it too.
REFERENCE_RELEASE = "_reference_release"


def reference_releases(ctx: AuditContext) -> list[str]:
    """The releases of the ASP and DMEPOS files loaded, oldest first: the dates the reference prices change."""
    return ctx.refdata.releases_of("asp", "dmepos")


def each_release(ctx: AuditContext) -> pl.LazyFrame:
    """One row for each of :func:`reference_releases`: :data:`REFERENCE_RELEASE`, to key a table on each."""
    return _release_rows(reference_releases(ctx))


def _release_rows(releases: list[str]) -> pl.LazyFrame:
    """One row for each of ``releases``, in the column :data:`REFERENCE_RELEASE`."""
    return pl.LazyFrame({REFERENCE_RELEASE: releases}, schema={REFERENCE_RELEASE: pl.String()})


def reference_release_of(ctx: AuditContext) -> pl.Expr:
    """A hit's :data:`REFERENCE_RELEASE`: that of :func:`reference_releases` in effect on its ``service_date``."""
    return in_effect(reference_releases(ctx), pl.col("service_date")).alias(REFERENCE_RELEASE)


def reference_unit_prices(ctx: AuditContext) -> pl.LazyFrame:
    """``code``, :data:`REFERENCE_RELEASE`, ``unit_price``, ``method``: each code's CMS price on each release's dates.

    On the dates of each of :func:`reference_releases`, a code's price is that of the newest release of its
    schedule starting on or before them, else of the earliest that lists it (the nearest known: an older
    date than every release loaded, or a code newer than the release in effect).
    """
    asp = (
        ctx.refdata.every_release("asp")
        .filter(pl.col("payment_limit").is_not_null())
        .select(
            "code",
            "release",
            pl.col("payment_limit").cast(UNIT_PRICE).alias("unit_price"),
            pl.format(
                "CMS ASP payment limit ({} release) of ${} per {} unit of {}",
                "release",
                pl.col("payment_limit").cast(pl.Float64).round(3),
                "dosage",
                "code",
            ).alias("method"),
        )
    )
    fees = ctx.refdata.every_release("dmepos").filter(
        (pl.col("modifier").is_null() | (pl.col("modifier") == "NU"))
        & pl.col("modifier_2").is_null()
        & ~pl.col("rural")
    )
    # NOTE: a purchase fee (no modifier, else NU "new") is the reference; rentals (RR) are per month.
    fees = fees.with_columns(pl.col("modifier").is_null().alias("_plain"))
    plain = fees.group_by("code", "release").agg(pl.col("_plain").max())
    fees = fees.join(plain, on=["code", "release", "_plain"], how="semi")
    if ctx.state:
        dmepos = fees.filter(pl.col("state") == ctx.state.upper()).select(
            "code",
            "release",
            pl.col("fee").cast(UNIT_PRICE).alias("unit_price"),
            pl.format(
                "CMS DMEPOS fee schedule ({} release), {} non-rural fee for {}", "release", "state", "code"
            ).alias("method"),
        )
    else:
        dmepos = (
            fees.group_by("code", "release")
            .agg(
                pl.col("fee").cast(pl.Float64).median().round(2).cast(UNIT_PRICE).alias("unit_price"),
                pl.len().alias("states"),
            )
            .select(
                "code",
                "release",
                "unit_price",
                pl.format(
                    "CMS DMEPOS fee schedule ({} release), national median of the non-rural fees of {} states and "
                    "territories for {}",
                    "release",
                    "states",
                    "code",
                ).alias("method"),
            )
        )
    # A code is in one schedule or the other; ASP first if ever both.
    both = pl.concat([asp.with_columns(pl.lit(0).alias("_order")), dmepos.with_columns(pl.lit(1).alias("_order"))])
    first = both.group_by("code").agg(pl.col("_order").min())
    return _by_release(both.join(first, on=["code", "_order"], how="semi").drop("_order"), reference_releases(ctx))


def _by_release(prices: pl.LazyFrame, releases: list[str]) -> pl.LazyFrame:
    """``prices`` (a row per code and ``release``) as a row per code and each of ``releases``.

    The release is :data:`REFERENCE_RELEASE`; its row is that of the newest release on or before it, else
    the code's earliest. Release labels (``YYYY-MM``) sort as their dates.

    >>> releases = ["2025-04", "2025-10", "2026-01"]
    >>> prices = pl.LazyFrame({"code": ["J1", "J1", "L1"], "release": releases, "price": [1, 2, 3]})
    >>> for row in _by_release(prices, releases).sort("code", REFERENCE_RELEASE).collect().rows():
    ...     print(row)
    ('J1', '2025-04', 1)
    ('J1', '2025-10', 2)
    ('J1', '2026-01', 2)
    ('L1', '2025-04', 3)
    ('L1', '2025-10', 3)
    ('L1', '2026-01', 3)
    """
    grid = prices.select("code").unique().join(_release_rows(releases), how="cross")
    listed = prices.select("code", "release")
    on_or_before = (
        grid.join(listed, on="code")
        .filter(pl.col("release") <= pl.col(REFERENCE_RELEASE))
        .group_by("code", REFERENCE_RELEASE)
        .agg(pl.col("release").max().alias("_before"))
    )
    earliest = listed.group_by("code").agg(pl.col("release").min().alias("_earliest"))
    chosen = (
        grid.join(on_or_before, on=["code", REFERENCE_RELEASE], how="left")
        .join(earliest, on="code")
        .select("code", REFERENCE_RELEASE, pl.coalesce("_before", "_earliest").alias("release"))
    )
    return chosen.join(prices, on=["code", "release"]).drop("release")


def reference_by(key: str, note: str = "") -> Callable[[AuditContext], pl.LazyFrame]:
    """A price tier table: :func:`reference_unit_prices` keyed on hit column ``key`` and the release; ``note`` added."""

    def table(ctx: AuditContext) -> pl.LazyFrame:
        prices = reference_unit_prices(ctx).rename({"code": key})
        return prices.with_columns(pl.format("{}{}", "method", pl.lit(note))) if note else prices

    return table
