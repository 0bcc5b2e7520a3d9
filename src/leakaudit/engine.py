"""How lazy plans are collected, in one place for every layer that collects."""

from __future__ import annotations

from typing import Final

import polars as pl

#: NOTE: the streaming engine keeps memory bounded on large inputs.
ENGINE: Final = "streaming"
#: NOTE: no automatic common-subplan caching: it would hold every shared subplan whole, with all its
#: columns. A rule caches explicitly (``LazyFrame.cache()``) the few narrow frames it reads more than once
#: (its relevant lines), where reading the work file again would cost more than holding them.
OPTIMIZATIONS: Final = pl.QueryOptFlags(comm_subplan_elim=False)


def collect(plan: pl.LazyFrame) -> pl.DataFrame:
    """Collect ``plan`` with the project's engine and optimizations."""
    return plan.collect(engine=ENGINE, optimizations=OPTIMIZATIONS)
