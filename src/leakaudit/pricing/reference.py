"""CMS reference prices for any code: the ASP payment limit for drugs, the DMEPOS fee for devices.

The ASP file gives the Medicare Part B payment limit per billing unit; the DMEPOS fee schedule gives
the fee per unit for a state and area. The audit's ``--state`` picks the state's non-rural fee
(the area of each patient is not known); without a state, the national median of the states'
non-rural fees is used. The method names the release used.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from leakaudit.pricing.basis import UNIT_PRICE
from leakaudit.rules import AuditContext


def reference_unit_prices(ctx: AuditContext) -> pl.LazyFrame:
    """``code``, ``unit_price``, ``method`` for every code with a CMS reference price."""
    asp = ctx.refdata.asp.filter(pl.col("payment_limit").is_not_null()).select(
        "code",
        pl.col("payment_limit").cast(UNIT_PRICE).alias("unit_price"),
        pl.format(
            "CMS ASP payment limit ({} release) of ${} per {} unit of {}",
            "release",
            pl.col("payment_limit").cast(pl.Float64).round(3),
            "dosage",
            "code",
        ).alias("method"),
    )
    fees = ctx.refdata.dmepos.filter(
        (pl.col("modifier").is_null() | (pl.col("modifier") == "NU"))
        & pl.col("modifier_2").is_null()
        & ~pl.col("rural")
    )
    # NOTE: a purchase fee (no modifier, else NU "new") is the reference; rentals (RR) are per month.
    fees = fees.with_columns(pl.col("modifier").is_null().alias("_plain"))
    plain = fees.group_by("code").agg(pl.col("_plain").max())
    fees = fees.join(plain, on=["code", "_plain"], how="semi")
    if ctx.state:
        dmepos = fees.filter(pl.col("state") == ctx.state.upper()).select(
            "code",
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
    return both.join(first, on=["code", "_order"], how="semi").drop("_order")


def reference_by(key: str, note: str = "") -> Callable[[AuditContext], pl.LazyFrame]:
    """A price tier table: :func:`reference_unit_prices` keyed on the hit column ``key``, ``note`` added."""

    def table(ctx: AuditContext) -> pl.LazyFrame:
        prices = reference_unit_prices(ctx).rename({"code": key})
        return prices.with_columns(pl.format("{}{}", "method", pl.lit(note))) if note else prices

    return table
