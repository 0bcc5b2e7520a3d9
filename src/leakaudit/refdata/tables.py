r"""Read CMS tables as published: CSV or xlsx with title blocks above the header, or inside a zip.

CMS files open with titles, effective dates and notes before the header row (the MUE CSV even has a
multi-line quoted copyright notice), and the header names change slightly between releases
(``_2025_CODE``, ``HCPCS/\\nCPT Code``). :func:`read_cms_table` finds the header row by the columns it
must contain, and returns every cell as text with normalised column names.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from leakaudit.io import InputError

Grid = list[list[str]]


def normalise(name: str) -> str:
    """A header cell as a lower-case name with single spaces (``HCPCS/<newline>CPT Code`` -> ``hcpcs/ cpt code``)."""
    return " ".join(str(name).split()).lower()


def read_grid(path: Path, member: Callable[[str], bool] | None = None) -> Grid:
    """Every row of a CSV, xlsx (first sheet) or zip member (chosen by ``member``) as lists of text."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if member is None or member(n)]
            if not names:
                raise InputError(f"{path}: the zip holds no file this import can read")
            chosen = sorted(names)[0]
            data = archive.read(chosen)
        return _grid_from_bytes(data, Path(chosen).suffix.lower(), f"{path}!{chosen}")
    return _grid_from_bytes(path.read_bytes(), suffix, str(path))


def _grid_from_bytes(data: bytes, suffix: str, label: str) -> Grid:
    if suffix in (".xlsx", ".xls"):
        frame = pl.read_excel(io.BytesIO(data), has_header=False, infer_schema_length=0)
        return [["" if cell is None else str(cell) for cell in row] for row in frame.iter_rows()]
    if suffix in (".csv", ".txt"):
        text = data.decode("utf-8-sig") if _is_utf8(data) else data.decode("latin-1")
        return [row for row in csv.reader(io.StringIO(text))]
    raise InputError(f"{label}: expected a .csv, .xlsx or .zip file")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def table_from_grid(grid: Grid, required: dict[str, str], label: str) -> tuple[pl.DataFrame, Grid]:
    """Find the header row and return (table, rows above the header).

    ``required`` maps each output column to a regular expression its normalised header must match;
    only those columns are returned, as text, with empty cells as null and blank rows dropped.
    """
    patterns = {name: re.compile(pattern) for name, pattern in required.items()}
    for index, row in enumerate(grid):
        header = [normalise(cell) for cell in row]
        positions: dict[str, int] = {}
        for name, pattern in patterns.items():
            match = next((i for i, cell in enumerate(header) if pattern.fullmatch(cell)), None)
            if match is not None:
                positions[name] = match
        if len(positions) == len(patterns):
            rows = [r for r in grid[index + 1 :] if any(cell.strip() for cell in r)]
            columns = {
                name: [(r[pos].strip() or None) if pos < len(r) else None for r in rows]
                for name, pos in positions.items()
            }
            return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String())), grid[:index]
    wanted = ", ".join(f"{name} (/{pattern}/)" for name, pattern in required.items())
    raise InputError(f"{label}: no header row with the columns {wanted}; is this the right CMS file?")


def read_cms_table(
    path: Path, required: dict[str, str], member: Callable[[str], bool] | None = None
) -> tuple[pl.DataFrame, Grid]:
    """Read a CMS table from ``path``: see :func:`table_from_grid`."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return table_from_grid(read_grid(path, member), required, str(path))


def title_text(preamble: Grid) -> str:
    """The title block above a header, as one line of text (to find effective dates in)."""
    return " ".join(cell.strip() for row in preamble for cell in row if cell.strip())


MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
MONTH_ABBREVIATIONS = {name[:3]: number for name, number in MONTHS.items()}


def effective_release(text: str) -> str | None:
    """``"Effective October 1, 2025 through ..."`` -> ``"2025-10"``; None when no date is found."""
    match = re.search(r"effective\s+([a-z]+)\s+\d{1,2},\s*(\d{4})", text.lower())
    if match and match.group(1) in MONTHS:
        return f"{match.group(2)}-{MONTHS[match.group(1)]:02d}"
    return None
