"""Price bases: ordered tiers of price tables, the first tier that knows a price wins.

A tier is a LazyFrame keyed on hit columns (``price_code`` and optionally ``rendering_npi`` or
``payer_id``) with ``price_cents`` (integer cents per unit of ``price_quantity``) and ``method`` (the
sentence the finding carries to say how it was valued, e.g. "provider's own median ... on 7 paid
encounters"). Tiers run from the most specific evidence (the provider's own history) to the most
general (a CMS reference price).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from leakaudit.rules import AuditContext

NO_PRICE_BASIS = "no price basis"


@dataclass(frozen=True)
class PriceTier:
    """One source of prices: which hit columns it is keyed on and how to build its table."""

    name: str
    keys: tuple[str, ...]
    table: Callable[[AuditContext], pl.LazyFrame]


@dataclass(frozen=True)
class PriceBasis:
    """A named way of valuing a hit, tried tier by tier."""

    name: str
    description: str
    tiers: tuple[PriceTier, ...]


def median_cents(amount: pl.Expr) -> pl.Expr:
    """Median of a dollar column, as whole cents (a median of two values may fall on a half cent)."""
    return (amount.cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64).median().round(0).cast(pl.Int64)
