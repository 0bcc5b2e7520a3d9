"""How lazy plans are collected, in one place for every layer that collects."""

from __future__ import annotations

from typing import Final

import polars as pl

#: NOTE: the streaming engine keeps memory bounded on large inputs.
ENGINE: Final = "streaming"
#: NOTE: no common-subplan caching: a rule that uses its marked lines twice (to group, then to find the
#: anchor line) would otherwise hold them all in memory; reading the Parquet work file twice is cheaper.
OPTIMIZATIONS: Final = pl.QueryOptFlags(comm_subplan_elim=False)


def collect(plan: pl.LazyFrame) -> pl.DataFrame:
    """Collect ``plan`` with the project's engine and optimizations."""
    return plan.collect(engine=ENGINE, optimizations=OPTIMIZATIONS)
