r"""CSV rows with more fields than their header: each is rejected, instead of the whole audit stopping.

A value holding an unquoted comma (``Brace, knee``) splits into two fields and shifts every value after
it, so such a row cannot be audited. Polars refuses the whole scan when it meets one, without saying
where. The audit then finds the rows with Python's CSV reader (quoted fields, doubled quotes and line
breaks inside quotes are read as Polars reads them) and scans again, rejecting just those rows.

Some systems end every data row, but not the header, with a separator: each row then has one empty
field more than the header. When most rows of a file are so, the file is read with that field dropped,
and only rows longer still (or whose extra field holds a value) are rejected.

NOTE: found only after a scan refuses them, not in every audit: the reader is a pass over the files in
Python (about 1 s per million rows), and well-formed exports have no such rows.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "claims.csv"
>>> _ = path.write_text('claim_id,units,description\nC1,1,"Brace, knee"\nC2,1,Brace, knee\n')
>>> find_long_rows([path])[path]  # row 2: four fields under a header of three
[2]
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path

from leakaudit.io.python_csv import read_records
from leakaudit.io.sources import PLAIN_CSV, CsvFormat, file_format

#: What a row rejected whole (a long row, a blank line) names as its column; why a long row is rejected.
WHOLE_ROW_COLUMN = "(whole row)"
LONG_ROW_REASON = "more fields than the header: a value with an unquoted comma?"


def refused_long_rows(err: Exception) -> bool:
    """Whether a scan failed on a CSV row with more fields than the header (Polars' message says so)."""
    return "more fields than" in str(err)


def find_long_rows(paths: Sequence[Path], csv_format: CsvFormat = PLAIN_CSV) -> dict[Path, list[int]]:
    """The 1-based data rows of each CSV file in ``paths`` that have more fields than its header.

    ``csv_format`` says how the files are written (the mapping's ``[options]``). A file whose rows end
    with a separator more than its header is listed with the rows longer still (maybe none): its rows are
    read without the empty last field. Files without long rows, and Parquet files, are left out. Raises
    :class:`InputError` on a file that Python's reader cannot read, naming its line.
    """
    found = {}
    for path in paths:
        if file_format(path) != "csv":
            continue
        long_rows = read_records(path, csv_format, lambda rows: _long_rows(rows, len(next(rows, []))))
        if long_rows is not None:
            found[path] = long_rows
    return found


def _long_rows(rows: Iterable[list[str]], width: int) -> list[int] | None:
    """The rows (1-based) longer than ``width`` fields, or ``width`` + 1 when most rows end with a separator.

    ``None`` for a file with neither.
    """
    # Rows with one field more than the header, that field empty (a separator at the end of the row);
    # NOTE: an array of row numbers, as every row of a file may be one.
    ending_with_separator = array("Q")
    longer = []  # rows longer still, or whose extra field holds a value
    number = 0
    for number, fields in enumerate(rows, start=1):
        if len(fields) <= width:
            continue
        if len(fields) == width + 1 and not fields[-1].strip():
            ending_with_separator.append(number)
        else:
            longer.append(number)
    if 2 * len(ending_with_separator) > number:  # most rows: the file's way of ending its rows
        return longer
    if not ending_with_separator and not longer:
        return None
    return sorted([*ending_with_separator, *longer])
