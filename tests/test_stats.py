"""Exact medians by counting distinct values: Polars' own medians, to the last bit."""

from __future__ import annotations

import random

import polars as pl
import pytest

from leakaudit.engine import collect
from leakaudit.stats import median_by


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_medians_and_counts_are_polars_own(seed: int) -> None:
    """Paid amounts that repeat (fee schedules) and that do not (float noise), groups of odd and even
    size, of one value, of nulls only, and a null key: as ``group_by().agg(median(), len())`` gives them."""
    rng = random.Random(seed)
    rows = 20_000
    frame = pl.LazyFrame(
        {
            "code": [rng.choice(["J3301", "J0696", "96372", None]) for _ in range(rows)],
            "payer": [rng.choice(["BCBS", "AETNA", "MCR"]) for _ in range(rows)],
            "paid": [
                rng.choice([8.44, 12.5, 1 / 3, None, rng.uniform(0, 500), rng.uniform(0, 1)]) for _ in range(rows)
            ],
            "units": [rng.choice([1, 2, 4, 10]) for _ in range(rows)],
        }
    ).with_row_index("row")
    # A group of nulls only.
    frame = frame.with_columns(
        pl.when(pl.col("row") < 7).then(None).otherwise(pl.col("paid")).alias("paid"),
        pl.when(pl.col("row") < 7).then(pl.lit("ALL NULL")).otherwise(pl.col("payer")).alias("payer"),
        pl.when(pl.col("row") < 7).then(pl.lit("J9999")).otherwise(pl.col("code")).alias("code"),
    )
    value = pl.col("paid") / pl.col("units")
    keys = [pl.col("code").alias("price_code"), "payer"]
    expected = collect(frame.group_by(keys).agg(value.median().alias("median"), pl.len().alias("n")))
    found = collect(median_by(frame, keys, value, name="median", count="n"))
    order = ["price_code", "payer"]
    assert found.sort(order, nulls_last=True).equals(expected.sort(order, nulls_last=True))
    assert found.filter(pl.col("payer") == "ALL NULL").select("median", "n").rows() == [(None, 7)]
    assert found.height > 12


def test_few_distinct_values_are_counted_once() -> None:
    """A million rows of three distinct amounts: the median of their counts."""
    amounts = pl.LazyFrame({"code": ["A"] * 1_000_000, "paid": [10.0] * 400_000 + [20.0] * 200_001 + [30.0] * 399_999})
    assert collect(median_by(amounts, ["code"], pl.col("paid"), name="median", count="n")).rows() == [
        ("A", 20.0, 1_000_000)
    ]


def test_the_middle_of_an_even_group_is_interpolated_as_polars_does() -> None:
    """``low + (high - low) * 0.5``, not ``(low + high) / 2``: for one pair in eight they differ in the last bit."""
    rng = random.Random(4)
    pairs = pl.LazyFrame(
        {"group": [n // 2 for n in range(10_000)], "paid": [rng.uniform(0, 1000) for _ in range(10_000)]}
    )
    expected = collect(pairs.group_by("group").agg(pl.col("paid").median().alias("median"), pl.len().alias("n")))
    found = collect(median_by(pairs, ["group"], pl.col("paid"), name="median", count="n"))
    assert found.sort("group").equals(expected.sort("group"))


@pytest.mark.parametrize("seed", [1, 2])
def test_counted_rows_give_the_medians_of_the_rows_they_stand_for(seed: int) -> None:
    """Counts of a finer group-by (provider, units), weighted: the medians and counts of the rows themselves."""
    rng = random.Random(seed)
    rows = pl.LazyFrame(
        {
            "code": [rng.choice(["J3301", "J1100", "J2791"]) for _ in range(5_000)],
            "provider": [rng.choice(["N1", "N2", "N3", None]) for _ in range(5_000)],
            "units": [rng.choice([1, 2, 4, 4, 10, 15, None]) for _ in range(5_000)],
        }
    )
    counted = rows.group_by("code", "provider", "units").agg(pl.len().alias("rows"))
    for keys in (["code"], ["code", "provider"]):
        expected = collect(rows.group_by(keys).agg(pl.col("units").median().alias("median"), pl.len().alias("n")))
        found = collect(median_by(counted, keys, pl.col("units"), name="median", count="n", weight="rows"))
        assert found.sort(keys, nulls_last=True).equals(expected.sort(keys, nulls_last=True)), keys
