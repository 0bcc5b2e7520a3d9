"""Findings: every rule's hits conformed to one schema, priced, concatenated once, collected once, sorted.

The sort is total (every finding has a distinct rule, claim, line and kind), so the same input always
gives byte-identical findings files whatever order the streaming engine produced rows in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import polars as pl

from leakaudit.engine import collect
from leakaudit.pricing import estimate
from leakaudit.rules import HIT_SCHEMA, RULE_HIT_SCHEMA, AuditContext, Rule, hit_lines, identify
from leakaudit.schema import MONEY, conform

#: Hit columns that only tell pricing how to value a hit; findings carry the result instead.
PRICE_REQUEST_COLUMNS = ("price_basis", "price_code", "price_quantity")

FINDING_SCHEMA = pl.Schema(
    {name: dtype for name, dtype in HIT_SCHEMA.items() if name not in PRICE_REQUEST_COLUMNS}
    | {"estimated_amount": MONEY, "estimate_method": pl.String(), "filing_deadline": pl.Date()}
)

SORT_KEYS = ("rule_id", "claim_id", "line_number", "finding_kind", "procedure_code", "message")


def find_all(
    rules: Sequence[type[Rule]], ctx: AuditContext, step: Callable[[str], object] = lambda _: None
) -> pl.DataFrame:
    """Run every rule, price the hits, and return the sorted findings table.

    ``step`` is told what is being done, before each part (each rule, identifying the lines, pricing).
    """
    if not rules:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    # NOTE: each rule's hits are collected on their own (they are findings-sized, a small share of the
    # lines): memory peaks at the largest rule instead of the sum of all rules running at once, and
    # pricing builds its history tables only for the codes the hits need. A rule's ``refine`` is given
    # its hits collected (``Rule.refine``). Then the priced findings.
    found = []
    for number, rule in enumerate(rules, start=1):
        step(f"rule {number} of {len(rules)}, {rule.id}")
        found.append(collect(conform(rule.refine(ctx, collect(rule.find(ctx))), RULE_HIT_SCHEMA)))
    rule_hits = pl.concat(found, how="vertical")
    step("identifying the lines hit")
    hits = collect(identify(rule_hits, collect(hit_lines(rule_hits, ctx.lines)).lazy()))
    step("pricing the findings")
    priced = estimate(hits, ctx).with_columns(ctx.refdata.filing_limits.deadline().alias("filing_deadline"))
    findings = collect(conform(priced, FINDING_SCHEMA))
    return findings.sort(list(SORT_KEYS), nulls_last=True)


def rule_totals(findings: pl.DataFrame, rule_ids: Sequence[str], as_of: dt.date | None = None) -> pl.DataFrame:
    """One row per rule, in ``rule_ids`` order (zeros for a rule without findings).

    Columns: ``count``, ``claims`` (distinct claims), ``estimated_total`` (priced lost revenue),
    ``exposure_total`` (priced compliance exposure), ``unpriced``; with ``as_of``, also
    ``recoverable_total``: lost revenue whose filing deadline is on or after that date.
    """
    amount = pl.col("estimated_amount")
    lost = pl.col("finding_kind") == "lost_revenue"
    sums = {
        "estimated_total": amount.filter(lost),
        "exposure_total": amount.filter(pl.col("finding_kind") == "compliance_exposure"),
    }
    if as_of is not None:
        sums["recoverable_total"] = amount.filter(lost & (pl.col("filing_deadline") >= as_of))
    per_rule = findings.group_by("rule_id").agg(
        pl.len().alias("count"),
        pl.col("claim_id").n_unique().alias("claims"),
        *(expr.sum().cast(MONEY).alias(name) for name, expr in sums.items()),
        amount.is_null().sum().alias("unpriced"),
    )
    order = pl.DataFrame({"rule_id": list(rule_ids)}, schema={"rule_id": pl.String()})
    return order.join(per_rule, on="rule_id", how="left", maintain_order="left").with_columns(
        pl.col("count", "claims", "unpriced").fill_null(0).cast(pl.Int64),
        *(pl.col(name).fill_null(0).cast(MONEY) for name in sums),
    )


#: What identifies a finding from one run to the next.
FINDING_KEY = ("rule_id", "finding_kind", "claim_id", "line_number")


def compare_findings(current: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Per rule: findings new since the previous run, resolved since it, and still open, with amounts."""
    keys = list(FINDING_KEY)
    amount = pl.col("estimated_amount").fill_null(0)
    both = current.select(*keys, amount.alias("now")).join(
        previous.select(*keys, amount.alias("before")), on=keys, how="full", nulls_equal=True, coalesce=True
    )
    status = (
        pl.when(pl.col("before").is_null())
        .then(pl.lit("new"))
        .when(pl.col("now").is_null())
        .then(pl.lit("resolved"))
        .otherwise(pl.lit("still_open"))
    )
    counted = both.with_columns(status.alias("status"), pl.coalesce("now", "before").alias("amount"))
    return (
        counted.group_by("rule_id")
        .agg(
            *((pl.col("status") == s).sum().alias(s) for s in ("new", "resolved", "still_open")),
            *(
                pl.col("amount").filter(pl.col("status") == s).sum().cast(MONEY).alias(f"{s}_amount")
                for s in ("new", "resolved", "still_open")
            ),
        )
        .sort("rule_id")
    )
