"""Claim lines exported more than once (overlapping exports) are audited once.

Monthly exports of "the last 90 days", or a month exported again after its payments were posted, hold
the same claim line in more than one file. Audited as often as it appears, every finding on it would
count again, and the report's dollars with it. A claim line is its ``claim_id`` and ``line_number``:
of the rows that share them, the audit keeps the last one (the latest file in the order the inputs
resolve, which for exports named by date is the newest; within a file, the last row) and rejects the
others, each listed with the row audited in its place (``io.rejects``).

NOTE: found by sorting a 64-bit hash of every line's key, then comparing the lines of the hashes that
repeat (so a collision never drops a line). At 100 M lines: 3.3 s, 1.65 GB. A group-by on the key
took 16.7 s and 8.4 GB, ``is_duplicated`` 25.9 s and 5.8 GB.

Not every repeat is a copy (:data:`REPEAT_KINDS`). One of another patient and another date of service
is **another claim** under the same number: the exports number claims alike (two billing systems, the one
before a migration and the one after, or a system that numbers its claims anew each year). NOTE: both
must differ: a claim line corrected between two exports keeps its patient or its date (its code, units or
amounts may change, or one of the two), and the later row is then the one to audit. And within one file,
which holds each claim line once (or once per payment, alike), a repeat of another patient, date or code
is **another line** under the same key: the export's ``claim_id`` and ``line_number`` do not tell its
lines apart (a claim number mapped from the patient's account, a line number that does not number the
claim's lines). Either is rejected all the same, since one key cannot be audited as two lines, but under
a reason of its own (:data:`REASONS`), so that the run can say which rows the audit left out and why.

NOTE: exports that overlap three times over (every line of "the last 90 days", exported monthly) make
most rows repeats. So the lines of the repeating hashes are compared in passes of at most
:data:`PASS_ROWS` lines, each pass's repeats written to a work file, and they are listed in chunks
(``io.rejects``). 33 M lines exported three times (100 M rows, 67 M repeats) took 3.7 GB and 158 s,
50 s of it writing the repeats as 15 GB of CSV, a row each (now ranges of rows); with the repeats held
in memory, 11.1 GB and 175 s.

>>> import datetime as dt
>>> import tempfile
>>> lines = pl.LazyFrame(
...     {"claim_id": ["C1", "C1", "C2", "C1", "C2"], "line_number": [1, 2, 1, 1, 1],
...      "patient_id": ["P1", "P1", "P2", "P1", "P9"],
...      "service_date": [dt.date(2025, 3, 1)] * 4 + [dt.date(2026, 5, 2)],
...      "procedure_code": ["99213", "J3301", "96372", "99214", "99213"],
...      "line_id": [1, 2, 3, (1 << 36) + 1, (1 << 36) + 2]},
...     schema_overrides={"line_id": pl.UInt64},
... )
>>> with tempfile.TemporaryDirectory() as work:
...     repeated = find_repeated(lines, Path(work))
...     repeated.scan().collect().sort("line_id").rows()  # row 1 of two files; C2 numbered again in the second
[(1, 'C1', 1, 68719476737, 'copy'), (3, 'C2', 1, 68719476738, 'another_claim')]
>>> repeated.count, repeated.of_kind(ANOTHER_CLAIM)
(2, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from leakaudit.engine import ENGINE
from leakaudit.io.reader import ROW_BITS

KEY = ("claim_id", "line_number")

#: How a repeated row is rejected, counted in ``summary.json`` as the rows with a bad value are.
REPEATED_COLUMN = "(whole row)"
REPEATED_REASON = "the same claim_id and line_number as a later row, audited in its place"
#: How a repeat of another patient and date of service is rejected: no copy, a claim number used again.
REUSED_REASON = (
    "the same claim_id and line_number as a later row of another patient and date of service (a claim number "
    "used again), audited in its place"
)
#: How a repeat of another patient, date or code within one file is rejected: no copy, another line.
SHARED_KEY_REASON = (
    "the same claim_id and line_number as a later row of the same file of another patient, date of service or "
    "code (another line under the same key), audited in its place"
)

#: What a repeated row is of the row audited in its place: a copy of the claim line, another claim under
#: the same number, or another line under the same key within one file (see the module's docstring).
COPY, ANOTHER_CLAIM, ANOTHER_LINE = "copy", "another_claim", "another_line"
REPEAT_KINDS = pl.Enum([COPY, ANOTHER_CLAIM, ANOTHER_LINE])
#: Each kind's reason, as ``summary.json`` counts the rows rejected.
REASONS = {COPY: REPEATED_REASON, ANOTHER_CLAIM: REUSED_REASON, ANOTHER_LINE: SHARED_KEY_REASON}

#: Lines compared in one pass, at most (unless one claim line alone repeats more often): about 1.5 GB.
PASS_ROWS = 20_000_000

_REPEATED_SCHEMA = pl.Schema(
    {
        "line_id": pl.UInt64(),
        "claim_id": pl.String(),
        "line_number": pl.Int64(),
        "kept_line_id": pl.UInt64(),
        "kind": REPEAT_KINDS,
    }
)


@dataclass(frozen=True)
class Repeated:
    """The repeated lines, in Parquet files of a work directory.

    Each file is sorted by ``line_id``, so that a range of them is read from its row groups alone.

    Their columns: ``line_id``, ``claim_id``, ``line_number``, ``kept_line_id``, the line audited in
    their place, and ``kind``, what they are of it (:data:`REPEAT_KINDS`). ``count`` counts them all,
    ``by_kind`` those of each kind but copies.
    """

    paths: tuple[Path, ...]
    count: int
    by_kind: tuple[tuple[str, int], ...] = ()

    def of_kind(self, kind: str) -> int:
        """How many repeats are of ``kind``."""
        counted = dict(self.by_kind)
        return self.count - sum(counted.values()) if kind == COPY else counted.get(kind, 0)

    def scan(self) -> pl.LazyFrame:
        """Every repeated line (in no particular order)."""
        if not self.paths:
            return pl.LazyFrame(schema=_REPEATED_SCHEMA)
        return pl.scan_parquet(list(self.paths), glob=False)

    def line_ids(self) -> pl.Series:
        """The ``line_id`` of every repeated line: the lines not to audit."""
        return self.scan().select("line_id").collect(engine=ENGINE)["line_id"]

    def by_reason(self) -> pl.DataFrame:
        """The repeats counted as the rejects are: ``column``, ``reason``, ``count`` (no row without repeats)."""
        counted = {
            "column": [REPEATED_COLUMN] * len(REASONS),
            "reason": list(REASONS.values()),
            "count": [self.of_kind(kind) for kind in REASONS],
        }
        schema = {"column": pl.String(), "reason": pl.String(), "count": pl.Int64()}
        return pl.DataFrame(counted, schema=schema).filter(pl.col("count") > 0)


def key_hash() -> pl.Expr:
    """A 64-bit hash of a line's claim_id and line_number: lines of one hash are then compared exactly."""
    return pl.struct(*KEY).hash(seed=0)


def find_repeated(lines: pl.LazyFrame, into: Path, *, pass_rows: int | None = None) -> Repeated:
    """Write the lines whose claim_id and line_number a later line repeats into files in ``into``.

    Each row names the last line, audited in its place (``kept_line_id``). Every file holds the repeats of
    whole claim lines, and at most ``pass_rows`` lines (:data:`PASS_ROWS`) were compared to find them.
    """
    pass_rows = pass_rows or PASS_ROWS
    hashed = key_hash()
    hashes = lines.select(hashed.alias("key")).collect(engine=ENGINE)["key"].sort()
    runs = hashes.rle().struct.unnest().filter(pl.col("len") > 1)
    if runs.is_empty():
        return Repeated((), 0)
    # The runs, in order of their hash, cut into passes of at most pass_rows lines (a run is never cut),
    # and how many lines, repeated or not, hold a hash within each pass's range.
    passes = runs.group_by(
        ((pl.col("len").cum_sum() - pl.col("len")) // pass_rows).alias("pass"), maintain_order=True
    ).agg(pl.col("value"), pl.col("len").sum().alias("repeating"))
    low, high = passes["value"].list.first(), passes["value"].list.last()
    in_range = hashes.search_sorted(high, "right") - hashes.search_sorted(low, "left")
    del hashes, runs
    into.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    count = 0
    by_kind: dict[str, int] = {}
    for number, values, repeating, lowest, highest, lines_in_range in zip(
        passes["pass"], passes["value"], passes["repeating"], low, high, in_range, strict=True
    ):
        key = pl.col("key")
        wanted = key.is_between(lowest, highest)
        # NOTE: where other lines are few within the range, the pass keeps them (a line repeated by none is
        # kept in its own place, below): testing every line's hash against the set took 2/3 of a pass.
        if lines_in_range > repeating * 5 // 4:
            wanted &= key.is_in(values.implode())
        candidates = (
            lines.with_columns(hashed.alias("key"))
            .filter(wanted)
            .select(
                *KEY,
                pl.col("line_id").cast(pl.UInt64),
                # NOTE: the patient and the code as 32-bit hashes: compared only, 4 bytes a line each. Two
                # that collide would take another line for a copy: once in 4 billion.
                _short_hash("patient_id").alias("patient"),
                "service_date",
                _short_hash("procedure_code").alias("code"),
            )
            .collect(engine=ENGINE)
        )
        candidates = candidates.with_columns(pl.col("line_id").max().over(KEY).alias("kept_line_id"))
        is_kept = pl.col("line_id") == pl.col("kept_line_id")
        # NOTE: the kept line's patient, date and code joined by its line_id to the repeats' own columns only.
        # 10 M lines exported three times (20 M repeats): this stage took 2.88 GB before they were compared,
        # 3.12 GB so, 3.86 GB with patient and date joined to the repeats whole. Taken in the window above
        # (by the line_id's arg_max), they cost 3x the time and 1.4x the memory of the window alone.
        kept = candidates.filter(is_kept).select(
            pl.col("line_id").alias("kept_line_id"),
            pl.col("patient").alias("kept_patient"),
            pl.col("service_date").alias("kept_date"),
            pl.col("code").alias("kept_code"),
        )
        repeats = candidates.filter(is_kept.not_())
        del candidates
        differs = (
            repeats.select("line_id", "kept_line_id", "patient", "service_date", "code")
            .join(kept, on="kept_line_id", maintain_order="left")
            .select(_kind())
        )
        del kept
        repeated = (
            repeats.select(*KEY, "line_id", "kept_line_id")
            .with_columns(differs["kind"])
            .select(_REPEATED_SCHEMA.names())
            .cast(_REPEATED_SCHEMA)
            .sort("line_id")
        )
        del repeats, differs
        if repeated.is_empty():  # hashes that collide, of different claim lines
            continue
        path = into / f"repeated-{number:05d}.parquet"
        repeated.write_parquet(path, compression="lz4")
        paths.append(path)
        count += repeated.height
        for kind, rows in repeated.filter(pl.col("kind") != COPY)["kind"].value_counts().iter_rows():
            by_kind[kind] = by_kind.get(kind, 0) + rows
    return Repeated(tuple(paths), count, tuple(sorted(by_kind.items())))


def _short_hash(name: str) -> pl.Expr:
    """A 32-bit hash of the column ``name``."""
    return (pl.col(name).hash(seed=0) & 0xFFFFFFFF).cast(pl.UInt32)


def _kind() -> pl.Expr:
    """What a repeat is of the line kept in its place (:data:`REPEAT_KINDS`), from both lines' columns."""
    other_patient, other_date = (
        pl.col("patient") != pl.col("kept_patient"),
        pl.col("service_date") != pl.col("kept_date"),
    )
    same_file = pl.col("line_id") // (1 << ROW_BITS) == pl.col("kept_line_id") // (1 << ROW_BITS)
    other_line = same_file & (other_patient | other_date | (pl.col("code") != pl.col("kept_code")))
    kind = pl.when(other_patient & other_date).then(pl.lit(ANOTHER_CLAIM)).when(other_line).then(pl.lit(ANOTHER_LINE))
    return kind.otherwise(pl.lit(COPY)).cast(REPEAT_KINDS).alias("kind")
