"""Paid amounts that are another column's (the charge itself, or the claim's payment on every line), or cents.

Most findings are valued from the organisation's paid history, so ``paid_amount`` sets their dollars. A
mapping that feeds it from the export's charges (``Charges`` for ``Payments``) makes every line paid in
full: the history is then the charges, often two to three times what payers pay. One that feeds it from
the claim's payment repeats the claim's total on each of its lines: lines paid more than they charged,
and medians of whole claims. Neither fails a check of its own (each value is a valid amount), so the
audit counts, of the lines charged (a positive charge) whose paid amount is known, those paid exactly
their charge and those paid more, and warns when nearly all are paid their charge (denials and
contractual discounts make that rare) or many more than it (no payer pays above the charge). It also
warns of amounts written in cents, judged by the lines paid of the codes CMS prices the country over,
drugs and braces (``pricing.scale``: that check needs the reference data, which ``io`` does not read).

NOTE: the comparison is a column of the work file the validating pass writes (:data:`PAID_VS_CHARGE`,
a small whole number), as the charge is not among the columns the rules read; a pass over that column
of the valid rows (repeats among them) counts it.

>>> lines = pl.DataFrame(
...     {"charge_amount": [100, 100, 100, 0, 100], "paid_amount": [100, 80, 120, 0, None]},
...     schema={"charge_amount": pl.Decimal(18, 2), "paid_amount": pl.Decimal(18, 2)},
... )
>>> lines.select(paid_vs_charge())[PAID_VS_CHARGE].to_list()
[0, -1, 1, None, None]
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leakaudit.engine import ENGINE

#: The work-file column comparing a line's paid amount to its charge: -1 less, 0 the same, 1 more; null
#: where the charge is not positive (a credit, a free line) or the paid amount is not known.
PAID_VS_CHARGE = "paid_vs_charge"
#: Of the lines charged with a known paid amount, the share paid exactly their charge at which the
#: audit warns: a practice's denials and contractual discounts leave far fewer.
PAID_THE_CHARGE_SHARE = 0.9
#: The share paid more than their charge at which it warns: a payer pays at most the charge.
PAID_ABOVE_CHARGE_SHARE = 0.1
#: The median paid per unit of those lines paid, over CMS's price, at which it warns of cents: payers pay
#: about 1 to 3 times the price, so in cents about 100 to 300.
CENTS_RATIO = 20
#: The lines paid it takes to judge by their median.
CENTS_MIN_LINES = 30


def paid_vs_charge() -> pl.Expr:
    """:data:`PAID_VS_CHARGE` of a line, from its parsed ``paid_amount`` and ``charge_amount``."""
    paid, charge = pl.col("paid_amount"), pl.col("charge_amount")
    compared = pl.when(paid > charge).then(1).when(paid == charge).then(0).otherwise(-1).cast(pl.Int8)
    return pl.when((charge > 0) & paid.is_not_null()).then(compared).alias(PAID_VS_CHARGE)


def paid_amounts(lines: pl.LazyFrame) -> dict[str, int]:
    """``summary.json``'s ``paid_amounts``: the lines charged with a known paid amount, and how they were paid.

    Of them, those paid exactly their charge and those paid more. ``lines`` hold :data:`PAID_VS_CHARGE`.
    """
    compared = pl.col(PAID_VS_CHARGE)
    counts = lines.select(
        compared.count().alias("lines_charged_with_paid_known"),
        (compared == 0).sum().alias("paid_the_charge"),
        (compared == 1).sum().alias("paid_above_the_charge"),
    ).collect(engine=ENGINE)
    return {name: int(value) for name, value in counts.row(0, named=True).items()}


def paid_doubt(amounts: dict[str, Any]) -> str | None:
    """What the paid amounts look like (``cents``; another column: ``charges``, ``claim``), by the above; else None.

    ``amounts`` is ``summary.json``'s ``paid_amounts``: :func:`paid_amounts`' counts, and those of
    ``pricing.scale.paid_to_cms_prices`` where the audit has them, with ``read_as_cents``: the mapping's
    ``amounts_in_cents``. Read so, amounts already in dollars look a hundredth of what payers pay
    (``dollars``).

    >>> paid_doubt({"lines_charged_with_paid_known": 10, "paid_the_charge": 9, "paid_above_the_charge": 0})
    'charges'
    >>> paid_doubt({"lines_charged_with_paid_known": 10, "paid_the_charge": 0, "paid_above_the_charge": 1})
    'claim'
    >>> paid_doubt({"lines_charged_with_paid_known": 0, "paid_the_charge": 0, "paid_above_the_charge": 0}) is None
    True
    >>> paid_doubt({"lines_charged_with_paid_known": 0, "cms_priced_lines_paid": 40, "median_paid_to_cms_price": 104.2})
    'cents'
    >>> judged = {"lines_charged_with_paid_known": 0, "cms_priced_lines_paid": 40, "median_paid_to_cms_price": 0.01}
    >>> paid_doubt(judged | {"read_as_cents": True}), paid_doubt(judged)
    ('dollars', None)
    """
    ratio = amounts.get("median_paid_to_cms_price")
    if ratio is not None and amounts["cms_priced_lines_paid"] >= CENTS_MIN_LINES:
        if ratio >= CENTS_RATIO:
            return "cents"
        if amounts.get("read_as_cents") and ratio * CENTS_RATIO <= 1:
            return "dollars"
    known = amounts["lines_charged_with_paid_known"]
    if not known:
        return None
    if amounts["paid_the_charge"] >= PAID_THE_CHARGE_SHARE * known:
        return "charges"
    if amounts["paid_above_the_charge"] >= PAID_ABOVE_CHARGE_SHARE * known:
        return "claim"
    return None


def paid_warning(amounts: dict[str, Any]) -> str | None:
    """A warning when the paid amounts look like another column (see above), else None.

    >>> import textwrap
    >>> amounts = {"lines_charged_with_paid_known": 1000, "paid_the_charge": 990, "paid_above_the_charge": 0}
    >>> print(textwrap.fill(paid_warning(amounts), 100))
    990 of 1,000 lines charged (99%) were paid exactly their charge: is paid_amount mapped from the
    charges? The paid history that values the findings would be the charges. Check which export column
    feeds paid_amount (a --map file maps it: docs/mapping.md); if the payers paid the charges in full,
    nothing is amiss.
    >>> paid_warning(amounts | {"paid_the_charge": 300, "paid_above_the_charge": 2}) is None
    True
    """
    doubt = paid_doubt(amounts)
    known, equal, above = (
        amounts["lines_charged_with_paid_known"],
        amounts["paid_the_charge"],
        amounts["paid_above_the_charge"],
    )
    check = "Check which export column feeds paid_amount (a --map file maps it: docs/mapping.md)"
    if doubt == "cents":
        return (
            f"the {amounts['cms_priced_lines_paid']:,} lines paid of drugs and braces were paid a median of "
            f"{amounts['median_paid_to_cms_price']:,} times CMS's price per unit of their code, where payers pay "
            "about 1 to 3 times it: are the export's amounts written in cents? The paid history that "
            "values the findings would then be a hundred times the dollars, beside estimates from CMS's prices. "
            "If they are cents, say so under [options] in the --map file: amounts_in_cents = true (docs/mapping.md)."
        )
    if doubt == "dollars":
        return (
            f"the {amounts['cms_priced_lines_paid']:,} lines paid of drugs and braces, their amounts read as cents "
            f"(amounts_in_cents), were paid a median of {amounts['median_paid_to_cms_price']:,} times CMS's "
            "price per unit of their code, where payers pay about 1 to 3 times it: are the export's amounts in "
            "dollars already? The paid history that values the findings would then be a hundredth of the dollars. "
            "Check the export's amounts and the --map file's amounts_in_cents."
        )
    if doubt == "charges":
        return (
            f"{equal:,} of {known:,} lines charged ({equal / known:.0%}) were paid exactly their charge: is "
            "paid_amount mapped from the charges? The paid history that values the findings would be the "
            f"charges. {check}; if the payers paid the charges in full, nothing is amiss."
        )
    if doubt == "claim":
        return (
            f"{above:,} of {known:,} lines charged ({above / known:.0%}) were paid more than their charge: is "
            "paid_amount the claim's payment, repeated on each of its lines? The paid history that values the "
            f"findings would be whole claims'. {check}; export the payment of each line."
        )
    return None
