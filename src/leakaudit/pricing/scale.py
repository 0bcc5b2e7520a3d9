"""Paid amounts against CMS's prices of drugs and braces: amounts written in cents.

A warehouse export may hold its amounts in cents (``12500`` for $125.00). Each value is a valid amount,
so no check of its own fails, but every estimate made from the organisation's paid history is then a
hundred times the loss, beside the estimates made from CMS's prices, in dollars. Some codes have one
price the country over: a drug's billing unit its ASP payment limit (106% of its average sales price),
an orthosis or prosthesis (an L-code, billed per item) its DMEPOS purchase fee (the median of the
states' non-rural fees). Medicare pays about those (80% of the fee, the patient the rest), and commercial
plans up to two or three times them. So over the lines of such codes paid, the median of the paid amount
per unit over CMS's price is near 1 (the generated lines of the bench: 1.02, drugs and braces alike); in
cents it is near 100. ``io.amounts.paid_doubt`` judges it.

NOTE: supplies (A-codes) and equipment (E-codes) are left out: their units vary by payer and their fees
by rental month, so one line's paid amount per unit may be many times the fee, in dollars. And each
code's newest price loaded is taken, not that of the quarter of the date of service: a price moves by a
few percent a quarter, and the judgment is of a factor of a hundred.

>>> asp = pl.LazyFrame({"code": ["J3301", "J1100"], "payment_limit": [1.5, 0.1]})
>>> dmepos = pl.LazyFrame(
...     {"code": ["L1812", "L1812", "L1812", "A4216"], "modifier": [None, None, "RR", None],
...      "modifier_2": [None] * 4, "rural": [False, False, False, False], "fee": [90.0, 110.0, 9.0, 0.6]},
... )
>>> lines = pl.LazyFrame(
...     {"procedure_code": ["J3301", "J3301", "J1100", "L1812", "99213", "J3301", "A4216"],
...      "units": [4, 2, 10, 1, 1, 4, 1], "paid_amount": [600, 330, 95, 9900, 7000, None, 60]},
... )
>>> paid_to_cms_prices(lines, asp, dmepos)  # in cents: 100x, 110x, 95x and 99x CMS's price
{'cms_priced_lines_paid': 4, 'median_paid_to_cms_price': 99.5}
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leakaudit.engine import ENGINE


def cms_unit_prices(asp: pl.LazyFrame, dmepos: pl.LazyFrame) -> pl.LazyFrame:
    """``procedure_code``, ``cms_price``: a drug's ASP payment limit, an L-code's national median purchase fee."""
    limits = asp.filter(pl.col("payment_limit") > 0).select(
        pl.col("code").alias("procedure_code"), pl.col("payment_limit").cast(pl.Float64).alias("cms_price")
    )
    # A purchase: no modifier (NU, new, where the schedule lists it so); neither a rental nor a rural fee.
    purchase = (pl.col("modifier").is_null() | (pl.col("modifier") == "NU")) & pl.col("modifier_2").is_null()
    fees = (
        dmepos.filter(purchase & pl.col("rural").not_() & pl.col("code").str.starts_with("L") & (pl.col("fee") > 0))
        .group_by(pl.col("code").alias("procedure_code"))
        .agg(pl.col("fee").cast(pl.Float64).median().alias("cms_price"))
    )
    return pl.concat([limits, fees.join(limits, on="procedure_code", how="anti")])


def paid_to_cms_prices(lines: pl.LazyFrame, asp: pl.LazyFrame, dmepos: pl.LazyFrame) -> dict[str, Any]:
    """``summary.json``'s lines paid of a code CMS prices, and their median paid amount per unit over the price.

    ``cms_priced_lines_paid``: the ``lines`` of a code :func:`cms_unit_prices` prices, with positive units
    and a positive paid amount. ``median_paid_to_cms_price``: the median, over them, of the paid amount per
    unit over the code's price, to two places (None without such lines).
    """
    paid, units = pl.col("paid_amount").cast(pl.Float64), pl.col("units").cast(pl.Float64)
    compared = (
        lines.select("procedure_code", "units", "paid_amount")
        .filter((pl.col("units") > 0) & (pl.col("paid_amount") > 0))
        .join(cms_unit_prices(asp, dmepos), on="procedure_code")
        .select(
            pl.len().alias("cms_priced_lines_paid"),
            (paid / units / pl.col("cms_price")).median().round(2).alias("median_paid_to_cms_price"),
        )
        .collect(engine=ENGINE)
    )
    counted = compared.row(0, named=True)
    return {
        "cms_priced_lines_paid": int(counted["cms_priced_lines_paid"]),
        "median_paid_to_cms_price": counted["median_paid_to_cms_price"],
    }
