"""Paid amounts against CMS's drug prices: amounts written in cents.

A warehouse export may hold its amounts in cents (``12500`` for $125.00). Each value is a valid amount,
so no check of its own fails, but every estimate made from the organisation's paid history is then a
hundred times the loss, beside the estimates made from CMS's prices, in dollars. A drug's billing unit
has one price the country over, CMS's ASP payment limit (106% of its average sales price): Medicare pays
about that, and commercial plans up to two or three times it. So over the drug lines paid, the median of
the paid amount per unit over the limit is near 1 (the generated lines of the bench: 1.02); in cents it
is near 100. ``io.amounts.paid_doubt`` judges it.

NOTE: against each code's newest payment limit loaded, not that of the quarter of the date of service:
a limit moves by a few percent a quarter, and the judgment is of a factor of a hundred.

>>> import datetime as dt
>>> asp = pl.LazyFrame({"code": ["J3301", "J1100"], "payment_limit": [1.5, 0.1]})
>>> lines = pl.LazyFrame(
...     {"procedure_code": ["J3301", "J3301", "J1100", "99213", "J3301"], "units": [4, 2, 10, 1, 4],
...      "paid_amount": [600, 330, 95, 7000, None]},
... )
>>> paid_to_asp(lines, asp)  # in cents: 100x, 110x and 95x the limit
{'drug_lines_paid': 3, 'median_paid_to_asp_limit': 100.0}
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leakaudit.engine import ENGINE


def paid_to_asp(lines: pl.LazyFrame, asp: pl.LazyFrame) -> dict[str, Any]:
    """``summary.json``'s drug lines paid and their median paid amount per unit over CMS's payment limit.

    ``drug_lines_paid``: the ``lines`` of a code ``asp`` gives a payment limit, with positive units and a
    positive paid amount. ``median_paid_to_asp_limit``: the median, over them, of the paid amount per unit
    over the code's limit, to two places (None without such lines).
    """
    limits = asp.filter(pl.col("payment_limit") > 0).select(
        pl.col("code").alias("procedure_code"), pl.col("payment_limit").cast(pl.Float64)
    )
    paid, units = pl.col("paid_amount").cast(pl.Float64), pl.col("units").cast(pl.Float64)
    ratio = paid / units / pl.col("payment_limit")
    compared = (
        lines.select("procedure_code", "units", "paid_amount")
        .filter((pl.col("units") > 0) & (pl.col("paid_amount") > 0))
        .join(limits, on="procedure_code")
        .select(pl.len().alias("drug_lines_paid"), ratio.median().round(2).alias("median_paid_to_asp_limit"))
        .collect(engine=ENGINE)
    )
    counted = compared.row(0, named=True)
    return {
        "drug_lines_paid": int(counted["drug_lines_paid"]),
        "median_paid_to_asp_limit": counted["median_paid_to_asp_limit"],
    }
