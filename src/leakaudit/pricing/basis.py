"""Price bases: ordered tiers of price tables; the first tier that knows a price wins.

A tier is a LazyFrame keyed on hit columns (``price_code``, and optionally ``procedure_code``,
``rendering_npi`` or ``payer_id``) with ``unit_price`` (dollars per unit of ``price_quantity``, as a
Decimal) and ``method``: the sentence the finding carries to say how it was valued. A row with a null
``unit_price`` says why this tier cannot price that key; the finding carries that reason when no
tier prices it. Tiers run from the most specific evidence (the provider's own history) to the most
general (a CMS reference price).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import polars as pl

from leakaudit.rules import AuditContext
from leakaudit.rules.same_service import paid_copy
from leakaudit.stats import median_by

NO_PRICE_BASIS = "no price basis"
UNIT_PRICE = pl.Decimal(18, 4)
#: The organisation's own price from one payer is used only with at least this many paid lines.
MIN_PAYER_LINES = 5


@dataclass(frozen=True)
class PriceTier:
    """One source of prices: which hit columns it is keyed on and how to build its table.

    ``table`` is given a context whose ``lines`` are the organisation's history: every line of the audit
    (:attr:`AuditContext.all_lines`), also when the hits are those of one partition.

    ``codes_from``: the hit column whose values are the procedure codes the table is built from (for a
    median of a code's own lines); lines of other codes are left out before building it, so exact
    medians hold only the values that are asked for.

    ``stage``: the tables of a basis's tiers are built a stage at a time, those of one stage together
    (sharing what they read), and those of a later stage only while the earlier ones leave a hit of the
    basis unpriced (the CMS reference tiers: the organisation's history usually prices every hit, and a
    reference tier that reads the lines again, to find the usual product or L-code, costs as much as the
    history; or the tiers of every payer after the claim's payer's, when each holds a table of every paid
    encounter: ``pricing.admin_product``).
    """

    name: str
    keys: tuple[str, ...]
    table: Callable[[AuditContext], pl.LazyFrame]
    codes_from: str | None = None
    stage: int = 0

    def lines_read(self, hits: pl.DataFrame) -> pl.Expr | None:
        """The lines the table reads to price ``hits``: those of their ``codes_from`` codes; None for every line."""
        if self.codes_from is None:
            return None
        return pl.col("procedure_code").is_in(hits[self.codes_from].drop_nulls().unique().implode())


def payer_then_every_payer(
    name: str, keys: tuple[str, ...], table: Callable[..., pl.LazyFrame], codes_from: str | None = None
) -> tuple[PriceTier, PriceTier]:
    """Two tiers of one history table: the claim's payer's (``table(ctx, per_payer=True)``), then every payer's."""
    return (
        PriceTier(f"{name} from the payer", (*keys, "payer_id"), partial(table, per_payer=True), codes_from),
        PriceTier(name, keys, partial(table, per_payer=False), codes_from),
    )


#: The line columns the tiers read: the lines they are given hold only these (``pricing.history_lines``).
#: A tier that comes to read another adds it here: until then its table fails, the column not found.
HISTORY_COLUMNS = (
    *("encounter_id", "procedure_code", "modifiers", "units", "rendering_npi"),
    *("payer_id", "paid_amount", "service_date", "diagnosis_codes"),
)


@dataclass(frozen=True)
class PriceBasis:
    """A named way of valuing a hit, tried tier by tier: its tiers in order, their stages in order too.

    ``reads``: the lines its tiers read (a condition on them), besides the lines of its hits' codes that a
    tier with ``codes_from`` reads; None when that is all (or when its other tiers read reference data
    only). The tiers are given only the lines some basis reads (``pricing.history_lines``).
    """

    name: str
    description: str
    tiers: tuple[PriceTier, ...]
    reads: Callable[[], pl.Expr] | None = None

    def __post_init__(self) -> None:
        stages = [tier.stage for tier in self.tiers]
        if stages != sorted(stages):
            raise ValueError(f"price basis {self.name}: its tiers' stages are out of order: {stages}")


def median_price(lines: pl.LazyFrame, keys: Sequence[str | pl.Expr], amount: pl.Expr) -> pl.LazyFrame:
    """Per group of ``keys``: the median dollar ``amount`` (``unit_price``) and the number of lines (``n``).

    ``unit_price`` is a Decimal with 4 places. A median is one observed value, or the mean of two, so
    nothing is summed in floating point. It is exact, in memory that grows with the distinct amounts,
    not the lines (:func:`leakaudit.stats.median_by`).
    """
    medians = median_by(lines, keys, amount, name="unit_price", count="n")
    return medians.with_columns(pl.col("unit_price").round(4).cast(UNIT_PRICE))


def paid_per_unit() -> pl.Expr:
    """What the payer paid for one unit of a line."""
    return pl.col("paid_amount").cast(pl.Float64) / pl.col("units").cast(pl.Float64)


def paid_lines(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Lines the payer paid, with a positive number of units."""
    return lines.filter((pl.col("paid_amount") > 0) & (pl.col("units") > 0))


def primary_payments(paid: pl.LazyFrame) -> pl.LazyFrame:
    """Of paid lines, a service billed on several claims once: the copy paid most.

    A crossover claim pays what the primary payer left: Medicaid after Medicare pays the coinsurance, a
    fifth of the allowed amount. Held beside the primary payments, such lines pull a median down (most
    of all the secondary payer's own), and a loss valued by it errs low. The copies are those of
    :mod:`leakaudit.rules.same_service` (:func:`~leakaudit.rules.same_service.paid_copy`).
    """
    return paid_copy(paid)


def history_medians(
    lines: pl.LazyFrame, keys: Sequence[str | pl.Expr], amount: pl.Expr, *, per_payer: bool
) -> pl.LazyFrame:
    """:func:`median_price` of ``amount`` per ``keys``; with ``per_payer``, per payer too.

    A payer's median is kept only with :data:`MIN_PAYER_LINES` lines or more. ``from_payer`` words
    whose lines they are for a method: ``" from payer AETNA"``, or nothing.
    """
    if not per_payer:
        return median_price(lines, keys, amount).with_columns(pl.lit("").alias("from_payer"))
    lines = lines.filter(pl.col("payer_id").is_not_null())
    return (
        median_price(lines, [*keys, "payer_id"], amount)
        .filter(pl.col("n") >= MIN_PAYER_LINES)
        .with_columns(pl.format(" from payer {}", "payer_id").alias("from_payer"))
    )


def code_medians(ctx: AuditContext, *, per_payer: bool) -> pl.LazyFrame:
    """:func:`history_medians` of the paid per unit of each code (``price_code``) on its paid lines.

    A service billed on several claims counts once (:func:`primary_payments`).
    """
    paid = primary_payments(paid_lines(ctx.lines))
    keys = [pl.col("procedure_code").alias("price_code")]
    return history_medians(paid, keys, paid_per_unit(), per_payer=per_payer)
