"""Count the rows of the input files independently of parsing, so the audit can prove it lost none."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.io.sources import PLAIN_CSV, CsvFormat, file_format, scan_source


def count_rows(path: Path, csv_format: CsvFormat = PLAIN_CSV) -> int:
    """The number of data rows in one input file (header and the lines before it excluded).

    ``csv_format`` says how a CSV file is written.
    """
    if file_format(path) == "csv":
        return int(scan_source([path], csv_format=csv_format).select(pl.len()).collect().item())
    # NOTE: the footer's count, read by pyarrow: 0.07 ms a file against 0.5 ms for a Polars query, which
    # took 4.8 s of an audit of 10,000 daily files. Imported here (0.07 s): only Parquet inputs need it.
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)
