"""Every rejected row, in the order the inputs are read, in chunks that bound the memory they take.

Two kinds of row are rejected: rows with a bad value (``io.reader``) and claim lines exported more than
once (``io.duplicates``). ``rejects.csv`` lists both, by ``line_id``: the files in the order the inputs
resolve (as given; a directory's or a glob's by name), each file's rows in order. Either kind can be
most of the rows: an export whose every date is written another way than the mapping says, or exports
overlapping three times over. So the rows are read and sorted a range of ``line_id`` at a time.

NOTE: in chunks, not one sorted frame: sorting 60 M repeats held 3.3 GB. Polars' streaming
``merge_sorted`` of the sorted parts held 1.5 GB, but 3.8 GB merged with a thousand invalid rows.
67 M repeats written in chunks of 2 M held 1.4 GB, of 5 M 3.1 GB, in about the same time (that of
writing their 15 GB of CSV).

>>> invalid = pl.LazyFrame(
...     {"line_id": [3, 1], "source_file": ["a.csv"] * 2, "source_row": [3, 1], "column": ["units"] * 2,
...      "value": ["x", "y"], "reason": ["not a whole number"] * 2},
...     schema=REJECTED_ROW_SCHEMA,
... )
>>> [chunk["source_row"].to_list() for chunk in ordered_rejects(invalid, Repeated((), 0), [], chunk_rows=1)]
[[1], [3]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from leakaudit.engine import ENGINE
from leakaudit.io.duplicates import Repeated
from leakaudit.io.reader import REJECTED_ROW_SCHEMA

#: Rejected rows in one chunk, at most.
CHUNK_ROWS = 2_000_000


def ordered_rejects(
    invalid: pl.LazyFrame, repeated: Repeated, files: Sequence[Path], *, chunk_rows: int | None = None
) -> Iterator[pl.DataFrame]:
    """Every rejected row, sorted by ``line_id``, in chunks of at most ``chunk_rows`` (:data:`CHUNK_ROWS`).

    ``invalid`` are the rows with a bad value, as :meth:`leakaudit.io.reader.ClaimLines.with_reject_values`
    gives them, in any order; ``repeated`` the repeated lines of ``files``. Columns: those of
    :data:`REJECTED_ROW_SCHEMA`. There is always a chunk, if an empty one.
    """
    chunk_rows = chunk_rows or CHUNK_ROWS
    line_ids = pl.concat([repeated.line_ids(), invalid.select("line_id").collect(engine=ENGINE)["line_id"]])
    starts = line_ids.sort().gather_every(chunk_rows)[1:].to_list()
    del line_ids
    for low, high in zip([0, *starts], [*starts, None], strict=True):
        within = pl.col("line_id") >= low if high is None else pl.col("line_id").is_between(low, high, "left")
        parts = [repeated.rejects(files, within), invalid.filter(within)]
        yield pl.concat([part.collect(engine=ENGINE).cast(REJECTED_ROW_SCHEMA) for part in parts]).sort("line_id")
