"""Every row not audited, in the order the inputs are read, in chunks that bound the memory they take.

Two kinds of row are not audited: rows with a bad value (``io.reader``), each listed in ``rejects.csv``,
and claim lines exported more than once (``io.duplicates``), listed in ``repeats.csv`` as ranges of
consecutive rows that repeat consecutive rows of the row audited in their place. Both come by
``line_id``: the files in the order the inputs resolve (as given; a directory's or a glob's by name),
each file's rows in order. Either kind can be most of the rows: an export whose every date is written
another way than the mapping says, or exports overlapping three times over. So the rows are read and
sorted a range of ``line_id`` at a time.

NOTE: repeats as ranges, not a row each: 33 M claim lines exported three times over (monthly exports of
"the last 90 days") made 67 M repeats, 15 GB of ``rejects.csv`` written in 50 s, most of it naming
the same two files again and again, and burying the rows with a bad value, the ones to act on.

NOTE: in chunks, not one sorted frame: sorting 60 M repeats held 3.3 GB. Polars' streaming
``merge_sorted`` of the sorted parts held 1.5 GB, but 3.8 GB merged with a thousand invalid rows.
67 M repeats written in chunks of 2 M held 1.4 GB, of 5 M 3.1 GB, in about the same time.

>>> invalid = pl.LazyFrame(
...     {"line_id": [3, 1], "source_file": ["a.csv"] * 2, "source_row": [3, 1], "column": ["units"] * 2,
...      "value": ["x", "y"], "reason": ["not a whole number"] * 2},
...     schema=REJECTED_ROW_SCHEMA,
... )
>>> [chunk["source_row"].to_list() for chunk in ordered_rejects(invalid, chunk_rows=1)]
[[1], [3]]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from leakaudit.engine import ENGINE
from leakaudit.io.duplicates import ANOTHER_CLAIM, ANOTHER_LINE, COPY, REPEAT_KINDS, Repeated
from leakaudit.io.reader import REJECTED_ROW_SCHEMA, source_file, source_row

#: Rows in one chunk, at most.
CHUNK_ROWS = 2_000_000

#: ``repeats.csv``: a range of repeated rows of one file (``first_row`` to ``last_row``, ``rows`` of them)
#: and the range of rows audited in their place, row for row (``audited_first_row`` to
#: ``audited_last_row`` of ``audited_file``), with the claim line of the first; ``repeat_kind``: what the
#: rows are of the rows audited (``io.duplicates.REPEAT_KINDS``: copies, another claim, another line).
REPEAT_RANGE_SCHEMA = pl.Schema(
    {
        "source_file": pl.String(),
        "first_row": pl.Int64(),
        "last_row": pl.Int64(),
        "rows": pl.Int64(),
        "audited_file": pl.String(),
        "audited_first_row": pl.Int64(),
        "audited_last_row": pl.Int64(),
        "first_claim_id": pl.String(),
        "first_line_number": pl.Int64(),
        "repeat_kind": pl.String(),
    }
)

#: A range of repeats while they are found: by ``line_id`` (see :func:`_ranges`).
_RANGE_SCHEMA = pl.Schema(
    {
        "first": pl.UInt64(),
        "last": pl.UInt64(),
        "kept_first": pl.UInt64(),
        "kept_last": pl.UInt64(),
        "first_claim_id": pl.String(),
        "first_line_number": pl.Int64(),
        "rows": pl.Int64(),
        "kind": REPEAT_KINDS,
    }
)


def ordered_rejects(invalid: pl.LazyFrame, *, chunk_rows: int | None = None) -> Iterator[pl.DataFrame]:
    """The rows with a bad value, sorted by ``line_id``, in chunks of at most ``chunk_rows`` (:data:`CHUNK_ROWS`).

    ``invalid`` are the rows as :meth:`leakaudit.io.reader.ClaimLines.with_reject_values` gives them, in
    any order. Columns: those of :data:`REJECTED_ROW_SCHEMA`. There is always a chunk, if an empty one.
    """
    ranges = _line_id_ranges(invalid.select("line_id").collect(engine=ENGINE)["line_id"], chunk_rows or CHUNK_ROWS)
    for within in ranges:
        yield invalid.filter(within).collect(engine=ENGINE).cast(REJECTED_ROW_SCHEMA).sort("line_id")


def repeat_ranges(
    repeated: Repeated, files: Sequence[Path], *, chunk_rows: int | None = None
) -> Iterator[pl.DataFrame]:
    """The ``repeated`` lines of ``files`` as ranges (:data:`REPEAT_RANGE_SCHEMA`), in the order of their rows.

    A range is rows one after the other in one file that repeat rows one after the other in one file
    (another, or further down the same): the overlap of two exports sorted alike is one range. The
    repeats are read ``chunk_rows`` (:data:`CHUNK_ROWS`) at a time. There is always a chunk, if an empty one.

    >>> import tempfile
    >>> from leakaudit.io.duplicates import find_repeated
    >>> import datetime as dt
    >>> ids = [1, 2, 3, 5, (1 << 36) + 1, (1 << 36) + 2, (1 << 36) + 3, (1 << 36) + 4]
    >>> lines = pl.LazyFrame(
    ...     {"claim_id": ["C1", "C1", "C2", "C3"] * 2, "line_number": [1, 2, 1, 1] * 2, "patient_id": ["P1"] * 8,
    ...      "service_date": [dt.date(2025, 3, 14)] * 8, "procedure_code": ["99213"] * 8, "line_id": ids},
    ...     schema_overrides={"line_id": pl.UInt64},
    ... )
    >>> with tempfile.TemporaryDirectory() as work:
    ...     repeated = find_repeated(lines, Path(work))
    ...     ranges = pl.concat(repeat_ranges(repeated, [Path("a.csv"), Path("b.csv")], chunk_rows=2))
    >>> ranges.select("source_file", "first_row", "last_row", "audited_first_row", "first_claim_id").rows()
    [('a.csv', 1, 3, 1, 'C1'), ('a.csv', 5, 5, 4, 'C3')]
    """
    pending = pl.DataFrame(schema=_RANGE_SCHEMA)
    for within in _line_id_ranges(repeated.line_ids(), chunk_rows or CHUNK_ROWS):
        rows = repeated.scan().filter(within).collect(engine=ENGINE).sort("line_id")
        ranges = _joined(pending, _ranges(rows))
        # The last range may go on in the next chunk.
        pending = ranges.tail(1)
        if ranges.height > 1:
            yield _described(ranges.head(-1), files)
    yield _described(pending, files)


@dataclass
class RepeatTally:
    """``repeats.csv`` counted as its chunks are written (:meth:`counted`): what ``summary.json`` says of it.

    NOTE: from the ranges as written, not from the repeats: they list the same rows, and counting tens of
    millions of repeats again (by file, within a file) took a pass over them each.
    """

    #: Each chunk's rows, ranges, and rows of another claim or line, by file (``source_file``) and file
    #: audited in their place.
    pairs: list[pl.DataFrame] = field(default_factory=list)
    #: The first range of copies audited from their own file, as ``repeats.csv`` has it.
    first_within: dict[str, Any] | None = None
    #: The first range of each kind of repeat but copies, as ``repeats.csv`` has it.
    first_of: dict[str, dict[str, Any]] = field(default_factory=dict)

    def counted(self, ranges: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        """The chunks of :func:`repeat_ranges` as they come, counted."""
        kind = pl.col("repeat_kind")
        for chunk in ranges:
            self.pairs.append(
                chunk.group_by("source_file", "audited_file").agg(
                    pl.col("rows").sum(),
                    pl.len().alias("ranges"),
                    *(
                        pl.col("rows").filter(kind == other).sum().alias(other)
                        for other in (ANOTHER_CLAIM, ANOTHER_LINE)
                    ),
                )
            )
            within = chunk.filter((pl.col("source_file") == pl.col("audited_file")) & (kind == COPY))
            if self.first_within is None and not within.is_empty():
                self.first_within = within.row(0, named=True)
            for other in (ANOTHER_CLAIM, ANOTHER_LINE):
                of_kind = chunk.filter(kind == other)
                if other not in self.first_of and not of_kind.is_empty():
                    self.first_of[other] = of_kind.row(0, named=True)
            yield chunk

    def by_file_pair(self, files: Sequence[Path]) -> list[dict[str, Any]]:
        """The repeats of each file by the file audited in their place, in input order.

        Each pair counts ``rows``, ``ranges``, and of the rows those of ``another_claim`` and
        ``another_line`` (``io.duplicates.REPEAT_KINDS``). Which exports overlap, and by how much, shows
        here: "the last 90 days" exported monthly makes each file repeat the next two. So does a pair of
        exports of two billing systems that number claims alike: their rows are of another claim.
        """
        if not self.pairs:
            return []
        position = {str(path): number for number, path in enumerate(files)}
        counts = ("rows", "ranges", ANOTHER_CLAIM, ANOTHER_LINE)
        totals = pl.concat(self.pairs).group_by("source_file", "audited_file").agg(pl.col(counts).sum().cast(pl.Int64))
        pairs = totals.rename({"source_file": "file"}).to_dicts()
        return sorted(pairs, key=lambda pair: (position[pair["file"]], position[pair["audited_file"]]))

    def within_a_file(self) -> tuple[int, str | None]:
        """How many copies the file of the rows audited in their place also holds, and the first, described.

        Overlapping exports repeat a line in another file. A file that lists a claim line more than once
        is another matter: a row per payment or adjustment (a transaction export), or rows copied twice.
        Repeats of another claim or line are no copies: see :meth:`of_kind`.
        """
        first = self.first_within
        if first is None:
            return 0, None
        within = pl.concat(self.pairs).filter(pl.col("source_file") == pl.col("audited_file"))
        copies = within.select(pl.col("rows").sum() - pl.col(ANOTHER_CLAIM).sum() - pl.col(ANOTHER_LINE).sum()).item()
        return int(copies), _described_pair(first)

    def of_kind(self, kind: str) -> tuple[int, str | None]:
        """How many repeats are of ``kind`` (another claim, another line), and the first, described."""
        first = self.first_of.get(kind)
        if first is None:
            return 0, None
        return int(pl.concat(self.pairs)[kind].sum()), _described_pair(first)


def _described_pair(first: dict[str, Any]) -> str:
    """The first row of a range of ``repeats.csv`` and the row audited in its place, for a warning."""
    line = f"{first['first_claim_id']} line {first['first_line_number']}"
    if first["source_file"] == first["audited_file"]:
        return f"{line}: rows {first['first_row']} and {first['audited_first_row']} of {first['source_file']}"
    audited = f"row {first['audited_first_row']} of {first['audited_file']}"
    return f"{line}: row {first['first_row']} of {first['source_file']}, and {audited}"


def _ranges(rows: pl.DataFrame) -> pl.DataFrame:
    """Repeated rows (sorted by ``line_id``) as ranges of :data:`_RANGE_SCHEMA`.

    A ``line_id`` one above the last is the next row of the same file (the file's position is in the
    bits above the row's). A range is of one kind of repeat.
    """
    step = (
        (pl.col("line_id").cast(pl.Int64).diff() != 1)
        | (pl.col("kept_line_id").cast(pl.Int64).diff() != 1)
        | (pl.col("kind") != pl.col("kind").shift())
    )
    return (
        rows.group_by(step.fill_null(True).cum_sum().alias("range"), maintain_order=True)
        .agg(
            pl.col("line_id").first().alias("first"),
            pl.col("line_id").last().alias("last"),
            pl.col("kept_line_id").first().alias("kept_first"),
            pl.col("kept_line_id").last().alias("kept_last"),
            pl.col("claim_id").first().alias("first_claim_id"),
            pl.col("line_number").first().alias("first_line_number"),
            pl.len().cast(pl.Int64).alias("rows"),
            pl.col("kind").first(),
        )
        .drop("range")
        .cast(_RANGE_SCHEMA)
    )


def _joined(before: pl.DataFrame, ranges: pl.DataFrame) -> pl.DataFrame:
    """``ranges`` after the range ``before`` (none or one), the first of them joined to it if it goes on."""
    if before.is_empty() or ranges.is_empty():
        return pl.concat([before, ranges])
    last, first = before.row(0, named=True), ranges.row(0, named=True)
    goes_on = first["first"] == last["last"] + 1 and first["kept_first"] == last["kept_last"] + 1
    if not goes_on or first["kind"] != last["kind"]:
        return pl.concat([before, ranges])
    joined = before.with_columns(
        pl.lit(first["last"], pl.UInt64).alias("last"),
        pl.lit(first["kept_last"], pl.UInt64).alias("kept_last"),
        pl.lit(last["rows"] + first["rows"], pl.Int64).alias("rows"),
    )
    return pl.concat([joined, ranges.slice(1)])


def _described(ranges: pl.DataFrame, files: Sequence[Path]) -> pl.DataFrame:
    """Ranges by ``line_id`` as ``repeats.csv`` has them: files and rows."""
    return ranges.select(
        source_file(pl.col("first"), files).alias("source_file"),
        source_row(pl.col("first")).alias("first_row"),
        source_row(pl.col("last")).alias("last_row"),
        "rows",
        source_file(pl.col("kept_first"), files).alias("audited_file"),
        source_row(pl.col("kept_first")).alias("audited_first_row"),
        source_row(pl.col("kept_last")).alias("audited_last_row"),
        "first_claim_id",
        "first_line_number",
        pl.col("kind").cast(pl.String).alias("repeat_kind"),
    ).cast(REPEAT_RANGE_SCHEMA)


def _line_id_ranges(line_ids: pl.Series, chunk_rows: int) -> list[pl.Expr]:
    """Conditions on ``line_id`` that cut the rows of ``line_ids`` into chunks of at most ``chunk_rows``.

    There is always one, if no row meets it. NOTE: a list, not a generator, so that ``line_ids`` (tens of
    millions) is not held while the chunks are read.
    """
    starts = line_ids.sort().gather_every(chunk_rows)[1:].to_list()
    return [
        pl.col("line_id") >= low if high is None else pl.col("line_id").is_between(low, high, "left")
        for low, high in zip([0, *starts], [*starts, None], strict=True)
    ]
