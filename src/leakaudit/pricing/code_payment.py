"""Price basis ``code_payment``: what one unit of a code is paid, for a line billed with a wrong code.

Tried in order: the organisation's median paid per unit for the replacement code (``price_code``), from
the line's payer, then from every payer; its median paid per unit for the billed code (``procedure_code``)
on lines billed while that code was valid, from the payer, then from every payer; the CMS reference price
of the replacement; the CMS reference price of the billed code.
"""

from __future__ import annotations

import polars as pl

from leakaudit.pricing.basis import (
    MIN_PAYER_LINES,
    PriceBasis,
    PriceTier,
    code_medians,
    history_medians,
    paid_lines,
    paid_per_unit,
    payer_then_every_payer,
    primary_payments,
)
from leakaudit.pricing.reference import REFERENCE_RELEASE, reference_by
from leakaudit.rules import AuditContext
from leakaudit.rules.expired_code import code_validity


def replacement_history(ctx: AuditContext, *, per_payer: bool) -> pl.LazyFrame:
    """Median paid per unit of each code, keyed as the replacement (``price_code``)."""
    return code_medians(ctx, per_payer=per_payer).with_columns(
        pl.format(
            "median paid per unit on {} of the organisation's paid lines of the replacement code {}{}",
            "n",
            "price_code",
            "from_payer",
        ).alias("method")
    )


def history_while_valid(ctx: AuditContext, *, per_payer: bool) -> pl.LazyFrame:
    """Median paid per unit of the billed code on its lines dated while it was valid."""
    validity = code_validity(ctx).select("code", "effective_from", "termination_date")
    valid_lines = (
        paid_lines(ctx.lines)
        .join(validity, left_on="procedure_code", right_on="code", how="inner")
        .filter(
            (pl.col("effective_from").is_null() | (pl.col("service_date") >= pl.col("effective_from")))
            & (pl.col("termination_date").is_null() | (pl.col("service_date") <= pl.col("termination_date")))
        )
    )
    medians = history_medians(primary_payments(valid_lines), ["procedure_code"], paid_per_unit(), per_payer=per_payer)
    return medians.with_columns(
        pl.format(
            "median paid per unit on {} of the organisation's paid {} lines{} billed while it was valid",
            "n",
            "procedure_code",
            "from_payer",
        ).alias("method")
    )


CODE_PAYMENT = PriceBasis(
    name="code_payment",
    description=(
        "A line billed with a terminated, not yet effective or unknown code is valued at its units times the "
        "organisation's median paid per unit for the replacement code (from the line's payer where it has at "
        f"least {MIN_PAYER_LINES} paid lines, else from every payer), else for the billed code while it was "
        "valid (the same way), else the CMS reference price (ASP or DMEPOS, of the release in effect on the date of "
        "service) of the replacement, else of the code."
    ),
    tiers=(
        *payer_then_every_payer("replacement history", ("price_code",), replacement_history, "price_code"),
        *payer_then_every_payer("own history while valid", ("procedure_code",), history_while_valid, "procedure_code"),
        PriceTier(
            "CMS reference price of the replacement",
            ("price_code", REFERENCE_RELEASE),
            reference_by("price_code", " (the replacement code)"),
            stage=1,
        ),
        PriceTier(
            "CMS reference price", ("procedure_code", REFERENCE_RELEASE), reference_by("procedure_code"), stage=1
        ),
    ),
)
