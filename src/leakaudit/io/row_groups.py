"""Parquet files written in row groups too large to stream are read from a copy in small ones.

Polars reads a Parquet file a row group at a time and holds each whole, decoded: 30 M lines written as one
row group took 9.5 GB to validate. Writers differ: Polars writes row groups of 100-250 k rows, DuckDB of
122,880, pyarrow of 1 Mi rows, but of up to 64 Mi before pyarrow 13 (and pandas wrote through it), so a
script's export of a year of claim lines may be a single row group.

A file with a row group of more than :data:`LARGEST_ROW_GROUP` rows is copied into the audit's work
directory before it is read, in row groups of :data:`COPY_ROW_GROUP` rows (pyarrow decodes a row group a
batch at a time), and read from there: the same rows and values, numbered as in the original and named
by it, as ``io.quotes`` does for CSV files.

NOTE: those 30 M lines in one row group: copied in 15-16 s (decoding them takes 6-7 s) and 0.7 GB, then
validated in 2.0 GB instead of 9.5 GB; the audit 51.5 s and 2.0 GB. The same lines are validated in 1.5
GB as Polars writes them, 3.0 GB in row groups of 1 Mi rows, 3.4 GB of 4 Mi (the most not copied).

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> pq.write_table(pa.table({"claim_id": [f"C{n}" for n in range(10)]}), folder / "a.parquet", row_group_size=10)
>>> large = oversized([folder / "a.parquet"], largest=4)
>>> {index: path.name for index, path in large.items()}
{0: 'a.parquet'}
>>> copies = copy_oversized(large, folder / "work", rows=3)
>>> copy = pq.ParquetFile(copies[folder / "a.parquet"])
>>> copy.metadata.num_row_groups, copy.read().column("claim_id").to_pylist() == [f"C{n}" for n in range(10)]
(4, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from leakaudit.io.errors import InputError
from leakaudit.io.sources import file_format

#: A Parquet file with a row group of more rows than this is read from a copy in smaller ones.
LARGEST_ROW_GROUP = 4 * 1024 * 1024
#: The rows of a row group of such a copy: 2.0 GB to validate those 30 M lines, 3.0 GB in row groups of 1 Mi.
COPY_ROW_GROUP = 128 * 1024


def oversized(paths: Sequence[Path], largest: int | None = None) -> dict[int, Path]:
    """The Parquet files of ``paths`` with a row group of more than ``largest`` rows, by their position in ``paths``.

    Read from their footers. ``largest``: :data:`LARGEST_ROW_GROUP` unless given.
    """
    largest = LARGEST_ROW_GROUP if largest is None else largest
    found = {}
    for index, path in enumerate(paths):
        if file_format(path) != "parquet":
            continue
        metadata = pq.read_metadata(path)
        if any(metadata.row_group(i).num_rows > largest for i in range(metadata.num_row_groups)):
            found[index] = path
    return found


def copy_oversized(files: Mapping[int, Path], work: Path, rows: int | None = None) -> dict[Path, Path]:
    """Copy each of ``files`` (:func:`oversized`) into ``work`` in row groups of ``rows``; original -> copy.

    ``rows``: :data:`COPY_ROW_GROUP` unless given. A copy is named by its file's position among the inputs
    (two may share a name), and holds every column and row of the original, in order.
    """
    rows = COPY_ROW_GROUP if rows is None else rows
    copies = {}
    for index, path in files.items():
        work.mkdir(parents=True, exist_ok=True)
        target = work / f"{index:07d}.parquet"
        source = pq.ParquetFile(path)
        # NOTE: LZ4, neither dictionaries nor statistics: the copy is read once, by the audit, and written
        # in 15-16 s against 18.5 s with them (30 M lines), validated in the same memory.
        with pq.ParquetWriter(
            target, source.schema_arrow, compression="lz4", use_dictionary=False, write_statistics=False
        ) as writer:
            batches = source.iter_batches(batch_size=rows)
            while True:
                try:
                    batch = next(batches, None)
                except (OSError, pa.ArrowException) as err:  # a page that does not decode
                    raise InputError(
                        f"{path}: cannot read its rows to copy them in smaller row groups: {err}"
                    ) from None
                if batch is None:
                    break
                writer.write_batch(batch, row_group_size=rows)  # a full disk is the audit's to report
        copied, expected = pq.read_metadata(target).num_rows, source.metadata.num_rows
        if copied != expected:  # the audit counts the copy's rows as the original's
            raise RuntimeError(f"{path}: copied {copied} of its {expected} rows to {target}")
        copies[path] = target
    return copies
