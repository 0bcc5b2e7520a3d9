"""Python's CSV reader over an input file, reading it as Polars does: for the passes that repair what a scan refuses.

Python's reader takes a quote inside an unquoted value as a character and counts every row's fields,
where a Polars scan refuses the file (see :mod:`leakaudit.io.long_rows`, :mod:`leakaudit.io.quotes`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from leakaudit.io.errors import InputError
from leakaudit.io.sources import CsvFormat, open_input

T = TypeVar("T")


@contextmanager
def _records(path: Path, csv_format: CsvFormat) -> Iterator[Iterator[list[str]]]:
    # NOTE: as Polars reads the files: UTF-8 with undecodable bytes replaced, a byte-order mark skipped,
    # the lines before the header skipped as lines (quotes not read), and a blank line counted as a row.
    with open_input(path, "rt", newline="", encoding="utf-8-sig", errors="replace") as handle:
        for _ in range(csv_format.skip_lines):
            handle.readline()
        yield csv.reader(handle, delimiter=csv_format.separator)


def read_records(path: Path, csv_format: CsvFormat, read: Callable[[Iterator[list[str]]], T]) -> T:
    """``read`` applied to the file's records (each a list of fields, the header first).

    The lines before the header (``csv_format.skip_lines``) are skipped. Raises :class:`InputError` on a
    file that Python's reader cannot read, naming its line.
    """
    with _records(path, csv_format) as rows:
        try:
            return read(rows)
        except csv.Error as err:  # a field longer than the reader takes (128 KB), say
            line = getattr(rows, "line_num", "?")
            raise InputError(f"{path}: line {line}: cannot be read as CSV: {err}") from None
