"""Credit lines and the charges they reverse are set aside: no rule reads them; partial credits reduce.

Practice-management systems void or correct a charge by posting a credit line: the same code with
negative units (``-1`` of 99070 reverses the ``1`` billed; a void written as the units billed and a
negative charge is read so too, see :func:`credited_units`). Read as charges, a credit line was itself
a finding (an expired code reversed, a brace "billed as 99070" reversed), and the charge it reverses
still counted as billed: a J-code voided on the encounter still "satisfied" its administration, an
L-code voided still "accompanied" the brace. So before the rules, each credit line takes out one
charge it reverses: of the encounter's lines of the same code billing as many units, the first by
claim number and line number (not by the order of the input's rows, so that an export sorted
otherwise sets aside the same lines). Both are set aside, and every rule sees the encounter as it
stands after the correction. A credit line with no such charge is a partial credit: it takes units
off a charge of more (``-2`` of J3301 corrects the ``6`` billed to ``4``). The units of an
encounter's and code's credits left so are taken off its first charge (in that order) not reversed
that bills at least as many; that charge stays audited, with the units left (or, left with none, is
reversed: ``-2`` twice voids the ``4``). A credit line with no such charge either (its charge in an
earlier export) is set aside alone.

Lines billing zero units are no credit: they stay audited, as billed.

NOTE: the pipeline counts the credit lines in a pass it makes anyway, so an audit without any pays
nothing more. With them, this is a pass to take them and a join of their codes' charges: 10 M generated
lines and 500 k credits (a twentieth of the lines voided) took 0.8 s, and writing the lines again
without the 1 M lines set aside 2.3 s more (11.4 s in all, against 8.4 s without credits).

>>> lines = pl.LazyFrame(
...     {
...         "line_id": [1, 2, 3, 4, 5, 6, 7],
...         "claim_id": ["C1", "C1", "C1", "C1", "C2", "C3", "C3"],
...         "line_number": [1, 2, 3, 4, 1, 1, 2],
...         "encounter_id": [7, 7, 7, 7, 8, 9, 9],
...         "procedure_code": ["99070", "99070", "99070", "J3301", "L1812", "J3301", "J3301"],
...         "units": [1, -1, 1, 4, -1, 6, -2],
...     },
...     schema_overrides={"line_id": pl.UInt64, "encounter_id": pl.UInt64, "units": pl.Decimal(18, 3)},
... )
>>> [(i, kind, units and int(units)) for i, kind, units in find_reversals(lines).sort("line_id").rows()]
[(1, 'reversed', None), (2, 'credit', None), (5, 'credit', None), (6, 'reduced', 2), (7, 'credit', None)]

Line 2 reverses line 1; line 5 reverses none here; line 7 takes 2 units off line 6.
"""

from __future__ import annotations

import polars as pl

from leakaudit.engine import ENGINE
from leakaudit.schema import QUANTITY

#: What a line :func:`find_reversals` lists is: a credit line, a charge a credit line reverses (both set
#: aside), or a charge partial credits take units off (audited with the units left).
CREDIT, REVERSED, REDUCED = "credit", "reversed", "reduced"
#: By ``line_id``: ``kind`` says which of :data:`CREDIT`, :data:`REVERSED` and :data:`REDUCED`; ``units``,
#: the units a :data:`REDUCED` charge loses (null for the others).
REVERSAL_SCHEMA = pl.Schema({"line_id": pl.UInt64(), "kind": pl.String(), "units": QUANTITY})
#: A credit reverses a charge of the same encounter, code and number of units.
_MATCH = ("encounter_id", "procedure_code", "_units")
_CODE = ("encounter_id", "procedure_code")
#: The order of a claim's lines, whatever the order of the input's rows: by claim number and line number,
#: ``line_id`` telling apart two lines of one claim and number. The charges a credit may reverse come in it,
#: and it settles which of equal lines a finding sits on (``rules.same_service.line_order``, paid most first).
LINE_NUMBERING = ("claim_id", "line_number", "line_id")


def find_reversals(lines: pl.LazyFrame) -> pl.DataFrame:
    """The credit lines of ``lines``, the charges they reverse and those they reduce (:data:`REVERSAL_SCHEMA`).

    In no order.
    """
    units = pl.col("units")
    credits = lines.filter(units < 0).select("line_id", *_CODE, units.abs().alias("_units")).collect(engine=ENGINE)
    if credits.is_empty():
        return pl.DataFrame(schema=REVERSAL_SCHEMA)
    wanted = credits.group_by(_MATCH).agg(pl.len().alias("_credits"))
    # The charges of the encounters and codes credited, by claim and line number. NOTE: the encounters first,
    # a look-up of one integer column that the scan applies before it reads the others: read for every line,
    # the claim numbers made this 0.50 s on 10 M lines (20 k credits), against 0.30 s so.
    encounters = credits["encounter_id"].unique().implode()
    charges = (
        lines.filter(pl.col("encounter_id").is_in(encounters) & (units > 0))
        .select(*_CODE, units.alias("_units"), *LINE_NUMBERING)
        .join(wanted.select(_CODE).unique().lazy(), on=_CODE, how="semi")
        .collect(engine=ENGINE)
        .sort(*LINE_NUMBERING, nulls_last=True)
    )
    # Of each group's charges of as many units as its credits, the first as many as its credits.
    reversed_ = charges.join(wanted, on=_MATCH, how="inner", maintain_order="left").filter(
        pl.int_range(pl.len()).over(_MATCH) < pl.col("_credits")
    )
    # The credits left (more credits than charges of their units) take their units off the first other
    # charge of the encounter and code that bills at least as many.
    left = (
        wanted.join(reversed_.group_by(_MATCH).agg(pl.len().alias("_matched")), on=_MATCH, how="left")
        .with_columns((pl.col("_credits") - pl.col("_matched").fill_null(0)).alias("_left"))
        .filter(pl.col("_left") > 0)
        .group_by(_CODE)
        .agg((pl.col("_units") * pl.col("_left")).sum().alias("_taken"))
    )
    # NOTE: a charge of as many units as the credits left (two credits of 2 units voiding 4) is reversed whole.
    taken = (
        charges.filter(pl.col("line_id").is_in(reversed_["line_id"].implode()).not_())
        .join(left, on=_CODE, how="inner", maintain_order="left")
        .filter(pl.col("_units") >= pl.col("_taken"))
        .group_by(_CODE, maintain_order=True)
        .first()
    )
    whole = pl.col("_units") == pl.col("_taken")
    return pl.concat(
        [
            reversed_.select("line_id", pl.lit(REVERSED).alias("kind"), pl.lit(None, QUANTITY).alias("units")),
            taken.select(
                "line_id",
                pl.when(whole).then(pl.lit(REVERSED)).otherwise(pl.lit(REDUCED)).alias("kind"),
                pl.when(whole.not_()).then(pl.col("_taken")).cast(QUANTITY).alias("units"),
            ),
            credits.select("line_id", pl.lit(CREDIT).alias("kind"), pl.lit(None, QUANTITY).alias("units")),
        ]
    ).cast(REVERSAL_SCHEMA)


def credited_units() -> pl.Expr:
    """``units``, those of a void written as the units billed at a negative charge negated: a credit line.

    >>> lines = pl.DataFrame({"units": [1.0, 1.0, 0.0, -1.0], "charge_amount": [40.0, -40.0, -40.0, -40.0]})
    >>> lines.select(credited_units()).to_series().to_list()
    [1.0, -1.0, 0.0, -1.0]
    """
    units = pl.col("units")
    return pl.when((units > 0) & (pl.col("charge_amount") < 0)).then(-units).otherwise(units).alias("units")


def set_aside(reversals: pl.DataFrame) -> pl.Series:
    """The ``line_id`` of the lines :func:`find_reversals` sets aside: the credit lines, the charges reversed."""
    return reversals.filter(pl.col("kind") != REDUCED)["line_id"]


def with_credits_taken(lines: pl.LazyFrame, reversals: pl.DataFrame) -> pl.LazyFrame:
    """``lines``, the charges partial credits reduce (:data:`REDUCED`) with the units left; the others as they are."""
    reduced = reversals.filter(pl.col("kind") == REDUCED).select("line_id", pl.col("units").alias("_taken"))
    if reduced.is_empty():
        return lines
    return (
        lines.join(reduced.lazy(), on="line_id", how="left")
        .with_columns((pl.col("units") - pl.col("_taken").fill_null(0)).cast(QUANTITY).alias("units"))
        .drop("_taken")
    )
