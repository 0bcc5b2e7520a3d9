r"""CSV values holding a lone quote (``12"`` for inches) are read as written, instead of the audit stopping.

Supply and brace descriptions measure in inches: ``Knee brace 12" long``. Python's CSV reader, like
spreadsheets, takes a quote inside an unquoted value as a character; Polars takes it as opening a
quoted value and refuses the whole file ("CSV malformed"), naming no row. A file Polars refuses so is
rewritten by Python's CSV reader and writer into the audit's work directory, such values quoted, and
read from there: the same rows, fields and values, numbered as in the original and named by it.

NOTE: done only after a scan refuses a file, as for long rows: finding the files is a Polars pass over
the CSV inputs, and the rewrite a pass in Python (about 2.5 s per million rows) over the files refused.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "claims.csv").write_text('claim_id,description\nC1,Knee brace 12" long\n')
>>> rewritten = rewrite_refused([folder / "claims.csv"], folder / "work")
>>> rewritten[folder / "claims.csv"].read_text().splitlines()[1]
'C1,"Knee brace 12"" long"'
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from leakaudit.io.python_csv import read_records
from leakaudit.io.sources import PLAIN_CSV, CsvFormat, file_format, scan_source


def refused_quotes(err: Exception) -> bool:
    """Whether a scan failed on a CSV file whose quotes Polars could not pair (its message says so)."""
    return "CSV malformed" in str(err)


def rewrite_refused(paths: Sequence[Path], work: Path, csv_format: CsvFormat = PLAIN_CSV) -> dict[Path, Path]:
    """Rewrite each CSV file in ``paths`` that Polars refuses for its quotes; return original -> rewritten.

    The rewritten files (plain CSV, whatever the original's compression) are written in ``work``, with
    as many blank lines as ``csv_format`` skips before the header, so that they are read alike.
    """
    rewritten = {}
    for index, path in enumerate(paths):
        if file_format(path) != "csv" or not _refused(path, csv_format):
            continue
        work.mkdir(parents=True, exist_ok=True)
        target = work / f"{index:07d}.csv"  # by the file's position: two inputs may share a name
        with target.open("w", encoding="utf-8", newline="") as out:
            out.write("\r\n" * csv_format.skip_lines)
            # NOTE: a blank line is written as one (Python reads it as a row without fields): Polars reads
            # both as a row of empty values.
            writer = csv.writer(out, delimiter=csv_format.separator, lineterminator="\r\n")
            read_records(path, csv_format, writer.writerows)
        rewritten[path] = target
    return rewritten


def _refused(path: Path, csv_format: CsvFormat) -> bool:
    """Whether Polars refuses to read the file for its quotes.

    NOTE: every column is read: reading the first only, Polars read a file whose lone quotes paired
    across lines (rows merged) without refusing it. Long rows are let through, not to hide the quotes.
    """
    try:
        scan = scan_source([path], truncate_long_rows=True, csv_format=csv_format)
        scan.select(pl.all().is_null().sum()).collect()
    except pl.exceptions.PolarsError as err:  # any other failure is the audit's scan's to report
        return refused_quotes(err)
    return False
