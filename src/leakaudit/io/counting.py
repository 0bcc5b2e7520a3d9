"""Count the rows of the input files independently of parsing, so the audit can prove it lost none."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from leakaudit.io.sources import file_format, scan_source


def count_rows(path: Path, separator: str = ",", skip_lines: int = 0) -> int:
    """The number of data rows in one input file (header and the lines before it excluded).

    ``separator`` splits a CSV's fields; ``skip_lines`` lines come before its header.
    """
    if file_format(path) == "csv":
        scan = scan_source([path], separator=separator, skip_lines=skip_lines)
        return int(scan.select(pl.len()).collect().item())
    # NOTE: the footer's count, read by pyarrow: 0.07 ms a file against 0.5 ms for a Polars query, which
    # took 4.8 s of an audit of 10,000 daily files. Imported here (0.07 s): only Parquet inputs need it.
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)
