"""Read claim-line files lazily into the canonical schema, splitting bad rows into rejects.

Files of one format and one source schema (a column all null in a file taking the others' type) are
scanned together (see :class:`_FileGroup`); every row keeps its own file and 1-based row number, packed
in ``line_id``. Each row is mapped onto :data:`leakaudit.schema.LINE_COLUMNS`, parsed, and checked. A
row whose value cannot be parsed, or whose required value is empty, is not audited: it is kept, with the
first column at fault and the reason, in :attr:`ClaimLines.rejects`. Nothing but file schemas and, for
files scanned together, row counts is read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from itertools import accumulate
from pathlib import Path

import polars as pl

from leakaudit.engine import mapped
from leakaudit.io.counting import count_rows
from leakaudit.io.errors import InputError
from leakaudit.io.long_rows import LONG_ROW_REASON, WHOLE_ROW_COLUMN
from leakaudit.io.mapping import ISO_DATE, MAPPABLE, MODIFIER_COLUMNS, PAYER_TYPE_SEPARATORS, ColumnMapping
from leakaudit.io.reversals import credited_units
from leakaudit.io.sources import PLAIN_CSV, CsvFormat, file_format, open_input, resolve_sources, scan_source
from leakaudit.schema import (
    LINE_COLUMNS,
    MONEY,
    NDC_UNIT_SPELLINGS,
    NDC_UNITS,
    PAYER_TYPES,
    QUANTITY,
    REQUIRED_COLUMNS,
    Column,
    line_schema,
)

REJECT_COLUMNS = ("reject_column", "reject_reason")
#: What :attr:`ClaimLines.rejects` keeps of a rejected row's own values, each null where it is at fault:
#: its claim line, and the visit (patient, date of service) it belongs to, so that the findings there can
#: say that a row of theirs was not audited (``findings.with_rejected_rows``).
REJECT_KEYS = ("claim_id", "line_number", "patient_id", "service_date")
#: Why a date is rejected that does not parse by the mapping's ``date_format`` (the format follows).
BAD_DATE_REASON = "not a valid date"
#: The dates of service taken as real; a date outside them is rejected (see :data:`IMPLAUSIBLE_DATE_REASON`).
#: NOTE: fixed, not relative to today, so that the same input always gives the same findings. Exports write
#: placeholders (0001-01-01, 9999-12-31) where a date is missing, and a year 0 or below, which Polars parses
#: and Python's ``datetime.date`` cannot hold, failed the audit when it reached the summary.
PLAUSIBLE_DATES = (dt.date(1900, 1, 1), dt.date(2099, 12, 31))
#: Why a date that parses but lies outside :data:`PLAUSIBLE_DATES` is rejected.
IMPLAUSIBLE_DATE_REASON = f"not a plausible date of service (years {PLAUSIBLE_DATES[0]:%Y} to {PLAUSIBLE_DATES[1]:%Y})"
#: Why a number stored as a number (Parquet) is rejected as an amount or quantity: NaN, infinity, or a
#: value beyond the column's digits (:data:`leakaudit.schema.MONEY`: 16 before the point).
TYPED_NUMBER_REASON = "not a finite number within the column's digits"
#: Why a CSV row without a single value (a blank line) is rejected.
BLANK_ROW_REASON = "blank line: no field holds a value"
#: A rejected row, as ``rejects.csv`` has it (there without ``line_id``): see :meth:`ClaimLines.with_reject_values`.
REJECTED_ROW_SCHEMA = pl.Schema(
    {
        "line_id": pl.UInt64(),
        "source_file": pl.String(),
        "source_row": pl.Int64(),
        "column": pl.String(),
        "value": pl.String(),
        "reason": pl.String(),
    }
)
#: The columns of :attr:`ClaimLines.parsed`: the audited lines' and the first column at fault with its reason.
_PARSED_SCHEMA = pl.Schema({**line_schema(), **dict.fromkeys(REJECT_COLUMNS, pl.String())})


@dataclass(frozen=True)
class _FileGroup:
    """Input files of one format and one source schema, read by one scan.

    ``schema`` is the files' columns and types. When ``null_typed``, some file holds a column of it as
    Null-typed (all null), and the scan reads that column as the schema's type. NOTE: only then is the
    scan given the schema: given always, the audit of 10 M lines in 4 files was 12% slower.

    NOTE: the streaming engine ran a concatenation of a thousand one-file scans 5x slower than one scan
    of the same thousand files, so files that can share a scan do. The scan numbers its rows across the
    files; ``row_counts`` (counted for a group of more than one file) tell where each file starts.
    """

    schema: pl.Schema
    paths: tuple[Path, ...]
    #: Each file's position among all the audit's inputs (the file part of ``line_id``).
    indices: tuple[int, ...]
    row_counts: tuple[int, ...] | None = None
    null_typed: bool = False
    #: Whether the CSV rows are read cut to the header's fields: some have more (see ``io.long_rows``).
    truncated: bool = False
    #: ``line_id`` of each CSV row with more fields than the header, rejected.
    long_rows: frozenset[int] = frozenset()
    #: How the CSV files are written (the mapping's options).
    csv_format: CsvFormat = PLAIN_CSV
    #: The files to read, in ``paths`` order, where some were rewritten or copied (see ``io.quotes``,
    #: ``io.row_groups``); else ``paths``.
    rewritten: tuple[Path, ...] | None = None

    @property
    def read_paths(self) -> tuple[Path, ...]:
        """The files the scan reads: ``paths``, or their rewritten copies."""
        return self.rewritten or self.paths

    def subset(self, paths: Sequence[Path]) -> _FileGroup:
        """The group of just ``paths`` (files of this group), in this group's order."""
        wanted = set(paths)
        keep = [i for i, path in enumerate(self.paths) if path in wanted]
        counts = None if self.row_counts is None else tuple(self.row_counts[i] for i in keep)
        paths_kept, indices_kept = tuple(self.paths[i] for i in keep), tuple(self.indices[i] for i in keep)
        rewritten = None if self.rewritten is None else tuple(self.rewritten[i] for i in keep)
        return replace(self, paths=paths_kept, indices=indices_kept, row_counts=counts, rewritten=rewritten)

    def scan(self) -> pl.LazyFrame:
        """The files as they are, one table, with every row's ``line_id`` (and, with ``long_rows``, a flag)."""
        members = list(zip(self.read_paths, self.indices, self.row_counts or [0] * len(self.paths), strict=True))
        if len(members) > 1:
            # A file without rows has none to number (and the files' first rows must differ, below).
            # NOTE: it is still scanned: a CSV file whose lone quote Polars' row count took as opening a
            # value spanning the whole file was counted 0 rows; left out, its rows were silently lost.
            # Scanned, its rows fail the scan (see io.quotes).
            members = [member for member in members if member[2] > 0] or members[:1]
        schema = self.schema if self.null_typed else None
        raw = scan_source(
            self.read_paths,
            row_index_name=_ROW,
            schema=schema,
            truncate_long_rows=self.truncated,
            csv_format=self.csv_format,
        )
        lines = raw.with_columns(self._line_id(members)).drop(_ROW)
        if not self.long_rows:
            return lines
        long_rows = pl.Series(sorted(self.long_rows), dtype=pl.UInt64).implode()
        return lines.with_columns(pl.col("line_id").is_in(long_rows).alias(_LONG_ROW))

    @staticmethod
    def _line_id(members: Sequence[tuple[Path, int, int]]) -> pl.Expr:
        """``line_id`` of the scan's rows, from the scan's row number: see :meth:`scan`."""
        row = pl.col(_ROW).cast(pl.UInt64)
        if len(members) == 1:
            return line_id(members[0][1], row + 1)
        # Each row's file is the bin of the files' first rows it falls in; its line_id is that file's base
        # (file position in the high bits, minus the file's first row in the scan) plus the row. NOTE:
        # binning streams; ``search_sorted`` held the whole input in memory (1 GB -> 3.4 GB at 10 M lines).
        starts = [0, *accumulate(count for _, _, count in members)][:-1]
        bases = [(index << ROW_BITS) + 1 - start for (_, index, _), start in zip(members, starts, strict=True)]
        file = row.bin_intervals(pl.Series(starts[1:], dtype=pl.UInt64), labels=False)
        base = pl.lit(pl.Series(bases, dtype=pl.UInt64)).gather(file)
        return (base + row).alias("line_id")


#: Name of the scan's own row number, across the files of a group.
_ROW = "__scan_row"
#: Name of the scan's flag of a CSV row with more fields than the header.
_LONG_ROW = "__long_row"


@dataclass(frozen=True)
class ClaimLines:
    """Every input row, parsed; split into the lines to audit and the rows rejected."""

    files: tuple[Path, ...]
    parsed: pl.LazyFrame
    #: How the files are scanned (see :class:`_FileGroup`).
    groups: tuple[_FileGroup, ...]

    @property
    def audited(self) -> pl.LazyFrame:
        """Rows with every value valid, in the canonical schema plus ``line_id`` and ``encounter_id``."""
        return audited_rows(self.parsed)

    @property
    def rejects(self) -> pl.LazyFrame:
        """Rows not audited: their ``line_id``, source file, row, column and reason, and :data:`REJECT_KEYS`.

        :meth:`with_reject_values` adds the value.
        """
        return self.rejects_in(self.parsed)

    def rejects_in(self, parsed: pl.LazyFrame) -> pl.LazyFrame:
        """The rows of ``parsed`` not audited, as :attr:`rejects` has them.

        ``parsed``: this input's rows as :attr:`parsed` has them, or as a work file holds them, written
        from it with at least the columns :attr:`rejects` reads.
        """
        return self._rejected(parsed, value=False, keys=True)

    def rejects_with_values(self, mapping: ColumnMapping | None = None) -> pl.LazyFrame:
        """Rows not audited, as :meth:`with_reject_values` gives them, from a pass that validates them again.

        NOTE: for many rejects (an export whose every date is written another way): the lookup of
        :meth:`with_reject_values` holds them all in memory (3.5 GB for 10 M). This pass streams, at the
        cost of validating every row again, and of the value: taking it in every pass slowed validation
        by 30%.
        """
        frames = [_parse_group(group, mapping or ColumnMapping(), with_value=True) for group in self.groups]
        if not frames:
            return pl.LazyFrame(schema=REJECTED_ROW_SCHEMA)
        return self._rejected(pl.concat(frames, how="vertical"), value=True)

    def _rejected(self, parsed: pl.LazyFrame, *, value: bool, keys: bool = False) -> pl.LazyFrame:
        """The rows of ``parsed`` not audited; with ``value``, parsed with it (see :func:`_parse_group`).

        With ``keys``, also :data:`REJECT_KEYS`, each null where the row's value is the one at fault (a row
        has one column at fault, the first: a later one may be at fault too and is then taken as valid).
        """
        return parsed.filter(pl.col("reject_column").is_not_null()).select(
            "line_id",
            source_file(pl.col("line_id"), self.files).alias("source_file"),
            source_row(pl.col("line_id")).alias("source_row"),
            pl.col("reject_column").alias("column"),
            *([pl.col(_REJECT_VALUE).alias("value")] if value else []),
            pl.col("reject_reason").alias("reason"),
            *(
                pl.when(pl.col("reject_column") != name).then(pl.col(name)).alias(name)
                for name in (REJECT_KEYS if keys else ())
            ),
        )

    def rows_by_file(self) -> dict[str, int]:
        """Every input file's number of data rows, counted apart from the scan that parses them."""
        counted: dict[Path, int] = {}
        for group in self.groups:
            counts = group.row_counts or tuple(count_rows(path, group.csv_format) for path in group.read_paths)
            counted.update(zip(group.paths, counts, strict=True))
        # A file in no group is empty (not a byte: see scan_claim_lines).
        return {str(path): counted.get(path, 0) for path in self.files}

    def with_long_rows(
        self, long_rows: Mapping[Path, Sequence[int]], mapping: ColumnMapping | None = None
    ) -> ClaimLines:
        """The same files, rejecting the CSV rows with more fields than their header.

        ``long_rows`` are those :func:`leakaudit.io.long_rows.find_long_rows` gives, by file; their files
        are read cut to the header's fields. The groups (schemas, row counts) are kept, not read again.
        """
        return self._regrouped(_with_long_rows(self.groups, self.files, long_rows), mapping)

    def with_rewritten(self, rewritten: Mapping[Path, Path], mapping: ColumnMapping | None = None) -> ClaimLines:
        """The same files, those in ``rewritten`` read from their copies (see ``io.quotes``, ``io.row_groups``).

        Rows are still numbered and named by the original files. A group's row counts are counted again
        for its rewritten files: Polars counted the originals' rows by quotes it could not pair.
        """
        return self._regrouped([_with_rewritten(group, rewritten) for group in self.groups], mapping)

    def _regrouped(self, groups: Sequence[_FileGroup], mapping: ColumnMapping | None) -> ClaimLines:
        """The same files read as ``groups``, parsed again."""
        return _claim_lines(self.files, groups, mapping or ColumnMapping())

    def with_reject_values(self, rejects: pl.DataFrame, mapping: ColumnMapping | None = None) -> pl.DataFrame:
        """Add each rejected row's offending value, read back from its file by ``line_id``.

        ``rejects`` are those :attr:`rejects` gives, collected. The result keeps their ``line_id`` and is
        sorted by it: the inputs in the order they resolve, each file's rows in order.

        NOTE: a second, small pass: rendering every column of every row as text in the main pass, only
        to show the few rejected values, cost more than the rest of validation. One scan per group of
        the files that have rejects, not one per file.
        """
        mapping = mapping or ColumnMapping()
        parts = []
        with_rejects = set(rejects["source_file"].unique().to_list())
        for group in self.groups:
            paths = [path for path in group.paths if str(path) in with_rejects]
            if not paths:
                continue
            rows = rejects.filter(pl.col("source_file").is_in([str(path) for path in paths]))
            schema = group.schema
            picks = [
                pl.when(pl.col("column") == name).then(
                    _text(pl.col(mapping.source_name(name)), schema[mapping.source_name(name)])
                )
                for name in rows["column"].unique().sort().to_list()
                if mapping.source_name(name) in schema
            ]
            read = (
                group.subset(paths)
                .scan()
                .join(rows.lazy(), on="line_id", how="inner")
                .select(
                    "line_id",
                    "source_file",
                    "source_row",
                    "column",
                    (pl.coalesce(picks) if picks else pl.lit(None, pl.String)).alias("value"),
                    "reason",
                )
            )
            parts.append(read.collect())
        if not parts:
            return pl.DataFrame(schema=REJECTED_ROW_SCHEMA)
        return pl.concat(parts).cast(REJECTED_ROW_SCHEMA).sort("line_id")


def scan_claim_lines(
    paths: Sequence[str | Path], mapping: ColumnMapping | None = None, skip: Sequence[Path] = ()
) -> ClaimLines:
    """Scan every file named by ``paths`` (files, directories, globs) as one claim-line table.

    Directories and globs leave out the files under the ``skip`` directories (see ``resolve_sources``).

    Raises :class:`InputError` before any work when a file lacks a required column. A CSV row with more
    fields than its header fails the scan: see :meth:`ClaimLines.with_long_rows`.
    """
    mapping = mapping or ColumnMapping()
    files = tuple(resolve_sources(paths, skip))
    if len(files) > 1 << FILE_BITS:
        raise InputError(f"{len(files):,} input files: at most {1 << FILE_BITS:,} per audit; combine them first")
    # NOTE: a file without a single byte (a day's export with nothing in it) has no rows and no columns to
    # check: it is listed among the inputs, with 0 rows, and not scanned.
    schemas = {index: _source_schema(path, mapping) for index, path in enumerate(files) if path.stat().st_size}
    groups: list[_FileGroup] = []
    for merged, indices in _sharing(files, schemas):
        null_typed = any(schemas[i] != merged for i in indices)
        groups += _groups(files, indices, merged, null_typed=null_typed, mapping=mapping)
    return _claim_lines(files, groups, mapping)


def _claim_lines(files: tuple[Path, ...], groups: Sequence[_FileGroup], mapping: ColumnMapping) -> ClaimLines:
    """The files read as ``groups``: every group's rows parsed and checked, one table (also without groups)."""
    frames = [_parse_group(group, mapping) for group in groups]
    parsed = pl.concat(frames, how="vertical") if frames else pl.LazyFrame(schema=_PARSED_SCHEMA)
    return ClaimLines(files=files, parsed=parsed, groups=tuple(groups))


def _sharing(files: Sequence[Path], schemas: Mapping[int, pl.Schema]) -> list[tuple[pl.Schema, list[int]]]:
    """The files (by position) that can share a scan, with the schema to read them as.

    Files of one format and columns share a scan when their types agree, a column that is all null in a
    file (Null-typed in Parquet) taking the type it has in the others. NOTE: 1,000 daily files of 10 M lines
    with 433 such schemas: 18.0 s with a scan per schema, 12.3 s with one.
    """
    shared: dict[tuple[str, tuple[str, ...]], list[tuple[dict[str, pl.DataType], list[int]]]] = {}
    for index, schema in schemas.items():
        candidates = shared.setdefault((file_format(files[index]), tuple(schema.names())), [])
        for types, indices in candidates:
            if all(a == b or pl.Null() in (a, b) for a, b in zip(types.values(), schema.values(), strict=True)):
                types.update((name, dtype) for name, dtype in schema.items() if dtype != pl.Null())
                indices.append(index)
                break
        else:
            candidates.append((dict(schema), [index]))
    return [(pl.Schema(types), indices) for candidates in shared.values() for types, indices in candidates]


def _with_long_rows(
    groups: Sequence[_FileGroup], files: Sequence[Path], long_rows: Mapping[Path, Sequence[int]]
) -> list[_FileGroup]:
    """The groups, each reading its files' rows cut to the header when one has long rows, and rejecting those."""
    position = {path: index for index, path in enumerate(files)}
    ids = {position[path]: [(position[path] << ROW_BITS) + row for row in rows] for path, rows in long_rows.items()}
    return [
        replace(
            group,
            truncated=any(index in ids for index in group.indices),
            long_rows=frozenset(i for index in group.indices for i in ids.get(index, ())),
        )
        for group in groups
    ]


def _with_rewritten(group: _FileGroup, rewritten: Mapping[Path, Path]) -> _FileGroup:
    """The group reading its files in ``rewritten`` from their copies, with their rows counted there."""
    if not any(path in rewritten for path in group.paths):
        return group
    reads = tuple(rewritten.get(path, read) for path, read in zip(group.paths, group.read_paths, strict=True))
    counts = group.row_counts
    if counts is not None:
        counts = tuple(
            count_rows(read, group.csv_format) if path in rewritten else count
            for path, read, count in zip(group.paths, reads, counts, strict=True)
        )
    return replace(group, rewritten=reads, row_counts=counts)


def _groups(
    files: Sequence[Path], indices: Sequence[int], schema: pl.Schema, *, null_typed: bool, mapping: ColumnMapping
) -> list[_FileGroup]:
    """The files at ``indices`` (one format, one schema) as groups whose rows a scan can number."""
    paths = [files[i] for i in indices]
    csv_format = mapping.csv_format
    if len(paths) == 1:
        return [_FileGroup(schema, (paths[0],), (indices[0],), csv_format=csv_format)]
    counts = [count_rows(path, csv_format) for path in paths]
    # NOTE: a scan numbers its rows in 32 bits: more rows than that are split over several groups.
    chunks: list[list[int]] = [[]]
    rows = 0
    for position, count in enumerate(counts):
        if chunks[-1] and rows + count >= _SCAN_ROWS:
            chunks.append([])
            rows = 0
        chunks[-1].append(position)
        rows += count
    return [
        _FileGroup(
            schema,
            tuple(paths[i] for i in chunk),
            tuple(indices[i] for i in chunk),
            tuple(counts[i] for i in chunk),
            null_typed,
            csv_format=csv_format,
        )
        for chunk in chunks
    ]


#: Rows one scan can number (Polars row numbers are 32-bit).
_SCAN_ROWS = 1 << 32


def _source_schema(path: Path, mapping: ColumnMapping) -> pl.Schema:
    """The file's columns and types, after checking that it has every required column."""
    try:
        schema = scan_source([path], csv_format=mapping.csv_format).collect_schema()
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(f"{path}: cannot be read as {file_format(path).upper()}: {err}") from None
    missing = [c for c in REQUIRED_COLUMNS if mapping.source_name(c) not in schema]
    if missing:
        named = ", ".join(
            c if mapping.source_name(c) == c else f"{c} (mapped from {mapping.source_name(c)!r})" for c in missing
        )
        hint = (
            _output_hint(path)
            or _encoding_hint(path)
            or _separator_hint(schema, mapping)
            or _spelling_hint(schema, [mapping.source_name(c) for c in missing])
            or _title_hint(path, schema, everything_missing=len(missing) == len(REQUIRED_COLUMNS))
        )
        raise InputError(f"{path}: missing required column(s): {named}{hint}")
    read = {mapping.source_name(name) for name in MAPPABLE}
    # NOTE: Polars names a CSV column heading a second time ``<name>_duplicated_0``: which of the two holds
    # the values to audit (billed or paid units, say) only the user knows.
    twice = sorted(name for name in read if name in schema and f"{name}_duplicated_0" in schema)
    if twice:
        raise InputError(
            f"{path}: the header names {', '.join(map(repr, twice))} more than once: the audit reads columns "
            "by name and cannot tell which holds the values to audit. Rename the others in the export"
        )
    for name in [*(c.name for c in LINE_COLUMNS), *MODIFIER_COLUMNS]:
        dtype = schema.get(mapping.source_name(name))
        if dtype is None or not dtype.is_nested():
            continue
        # NOTE: a warehouse export may hold a line's modifiers or diagnoses as a list: read as the list's
        # values joined. Any other nested value has no meaning for the audit.
        if name not in _CODE_LISTS or not isinstance(dtype, pl.List | pl.Array) or dtype.inner.is_nested():
            raise InputError(
                f"{path}: column {mapping.source_name(name)!r} ({name}) holds {dtype}: "
                "expected text, a number or a date (lists only for modifiers and diagnosis_codes)"
            )
    return schema


def _separator_hint(schema: pl.Schema, mapping: ColumnMapping) -> str:
    """For a CSV read as one column whose name holds another separator: how to say which separator it uses."""
    names = schema.names()
    if len(names) != 1:
        return ""
    others = [s for s in ("|", "\t", ";", ",") if s != mapping.separator and s in names[0]]
    if not others:
        return ""
    shown = "\\t" if others[0] == "\t" else others[0]
    return (
        f'. Its header is one column holding "{shown}": if that separates its fields, set separator = "{shown}" '
        "under [options] in a --map file (docs/mapping.md)"
    )


def _output_hint(path: Path) -> str:
    """For a file beside a ``summary.json``, as an earlier audit's findings are: how to leave it out."""
    if not (path.parent / "summary.json").is_file():
        return ""
    return (
        ". Beside it is a summary.json: it looks like an earlier audit's output. A directory or glob leaves "
        "out this run's --out and --compare directories only: move other audits' outputs out of the "
        "directories audited, or name the export files"
    )


def _encoding_hint(path: Path) -> str:
    """For a CSV written as UTF-16 (Excel's "Unicode Text"), whose header Polars reads as noise: what to do."""
    if file_format(path) != "csv":
        return ""
    with open_input(path) as handle:
        start = handle.read(2)
    if start not in (b"\xff\xfe", b"\xfe\xff"):
        return ""
    return '. It is UTF-16 text (Excel\'s "Unicode Text"): save it as "CSV UTF-8" and audit that'


def _title_hint(path: Path, schema: pl.Schema, *, everything_missing: bool) -> str:
    """For a CSV whose header is not its first line (a report's title above it): how to skip to it."""
    if file_format(path) != "csv" or not everything_missing:
        return ""
    return (
        f". Its first line begins {schema.names()[0]!r}: if lines of title come before the header, set "
        "skip_lines to their number under [options] in a --map file (docs/mapping.md)"
    )


def _spelling_hint(schema: pl.Schema, wanted: Sequence[str]) -> str:
    """For required columns the header spells otherwise (``Claim ID`` for ``claim_id``): which, and how to map them.

    >>> header = pl.Schema({"Claim ID": pl.String(), " units ": pl.String()})
    >>> _spelling_hint(header, ["claim_id", "units", "dos"]).split(":")[0]
    ". The header has 'Claim ID' for claim_id, ' units ' for units"
    """
    spelt = {_loose(name): name for name in schema.names()}
    found = [f"{spelt[_loose(name)]!r} for {name}" for name in wanted if _loose(name) in spelt]
    if not found:
        return ""
    return (
        f". The header has {', '.join(found)}: names must match exactly; "
        "map them under [columns] in a --map file (docs/mapping.md)"
    )


def _loose(name: str) -> str:
    """A column name without case, surrounding space, or the difference between space, ``-`` and ``_``."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def _parse_group(group: _FileGroup, mapping: ColumnMapping, *, with_value: bool = False) -> pl.LazyFrame:
    """The group's rows mapped, parsed and checked.

    Columns: the canonical ones, ``line_id``, ``encounter_id``, and the first column at fault with its
    reason (both null for a row to audit); ``with_value``, also its value as text (:data:`_REJECT_VALUE`).
    """
    source_schema = group.schema
    # NOTE: three stages, each a column computed once: the stripped text of every source column, then the
    # typed values, then the checks. Written as one nested expression, every reference to a column's text
    # recomputed it (the engine does not share sub-expressions here), which made validation 3x slower.
    texts: list[pl.Expr] = []
    values: list[pl.Expr] = []
    # (column, is_bad, reason): the first that holds is the row's; a row with more fields than the header first.
    checks: list[tuple[str, pl.Expr, str]] = (
        [(WHOLE_ROW_COLUMN, pl.col(_LONG_ROW), LONG_ROW_REASON)] if group.long_rows else []
    )
    if file_format(group.paths[0]) == "csv":
        # A blank line is a row of empty fields. NOTE: this check reads every column of the files, mapped or
        # not, and must: Polars refuses a row with more fields than the header only when the scan reads
        # every column (pola-rs/polars#28350); reading fewer, it took the row with its values shifted.
        blank = pl.all_horizontal(pl.col(name).is_null() for name in source_schema)
        checks.append((WHOLE_ROW_COLUMN, blank, BLANK_ROW_REASON))
    for column in LINE_COLUMNS:
        source = mapping.source_name(column.name)
        if column.name == "modifiers" and source not in source_schema:
            texts.append(_split_modifiers(source_schema, mapping).alias(_TEXT + "modifiers"))
            values.append(pl.col(_TEXT + "modifiers").alias("modifiers"))
            continue
        if source not in source_schema:
            values.append(pl.lit(None, dtype=column.dtype).alias(column.name))
            continue
        dtype = source_schema[source]
        canonical = _canonical(column.name, pl.col(source), mapping) if dtype == pl.String() else None
        if canonical is None:
            texts.append(_stripped(pl.col(source), dtype).alias(_TEXT + column.name))
        else:
            # Only the values not yet as audited are stripped and normalised; the others' text is null.
            texts.append(canonical.alias(_CANONICAL + column.name))
            texts.append(_stripped(pl.when(canonical.not_()).then(pl.col(source)), dtype).alias(_TEXT + column.name))
        text = _blank_to_null(pl.col(_TEXT + column.name))
        # A typed (Parquet) value is present when it is not null; text only when it is not blank. NOTE: the
        # typed value's presence is taken in stage one, as the next stage replaces a source column of the
        # canonical name by its parsed value (null where it could not be parsed).
        if canonical is not None:
            present = pl.col(_CANONICAL + column.name) | text.is_not_null()
        elif dtype == pl.String():
            present = text.is_not_null()
        else:
            texts.append(pl.col(source).is_not_null().alias(_PRESENT + column.name))
            present = pl.col(_PRESENT + column.name)
        value, is_bad, reason = _parse(column, pl.col(source), dtype, text, present, mapping)
        if canonical is not None:
            value = pl.when(pl.col(_CANONICAL + column.name)).then(pl.col(source)).otherwise(value)
        values.append(value.alias(column.name))
        if column.required:
            checks.append((column.name, present.not_(), "missing required value"))
        if is_bad is not None:
            checks.append((column.name, is_bad, reason))
        if column.dtype == pl.Date():
            # Null (no date, or one that does not parse) is not between: its own check above tells.
            checks.append(
                (column.name, pl.col(column.name).is_between(*PLAUSIBLE_DATES).not_(), IMPLAUSIBLE_DATE_REASON)
            )

    # The procedure code is required: every group's source schema has it (see _source_schema).
    values.append(_written_modifiers(pl.col(_TEXT + "procedure_code")).alias(_WRITTEN))
    reject_value = _first([(_check_value(name), bad) for name, bad, _ in checks]).alias(_REJECT_VALUE)
    parsed = (
        group.scan()
        .with_columns(texts)
        .with_columns(values)
        .select(
            *(_final_value(c.name, mapping.patient_placeholders) for c in LINE_COLUMNS),
            "line_id",
            _first([(pl.lit(name), bad) for name, bad, _ in checks]).alias("reject_column"),
            _first([(pl.lit(reason), bad) for _, bad, reason in checks]).alias("reject_reason"),
            *([reject_value] if with_value else []),
        )
    )
    reject_columns = [*REJECT_COLUMNS, _REJECT_VALUE] if with_value else REJECT_COLUMNS
    return parsed.with_columns(encounter_id()).select(
        *(c.name for c in LINE_COLUMNS), "line_id", "encounter_id", *reject_columns
    )


def _check_value(name: str) -> pl.Expr:
    """The value a check on the canonical column ``name`` found at fault, as text (none for a whole row)."""
    if name == WHOLE_ROW_COLUMN:
        return pl.lit(None, pl.String)
    return _blank_to_null(pl.col(_TEXT + name))


#: ``line_id`` is the input file's position (in the order the sources resolve) times 2**ROW_BITS plus the
#: row; with at most 2**FILE_BITS files every line id is below 2**LINE_ID_BITS (rules keep the bits above).
#: NOTE: a million files (daily exports per provider over years, later one X12 file per batch) and 68
#: billion rows a file, more than a scan numbers (:data:`_SCAN_ROWS`) with Polars' 32-bit row numbers.
ROW_BITS = 36
FILE_BITS = 20
LINE_ID_BITS = ROW_BITS + FILE_BITS


def audited_rows(parsed: pl.LazyFrame) -> pl.LazyFrame:
    """The rows of ``parsed`` (see :attr:`ClaimLines.parsed`) with every value valid, without :data:`REJECT_COLUMNS`."""
    return parsed.filter(pl.col("reject_column").is_null()).drop(*REJECT_COLUMNS)


def line_id(file_index: int, row: pl.Expr) -> pl.Expr:
    """``line_id`` of the lines of the input file at ``file_index``, from their 1-based ``row``."""
    return (pl.lit(file_index << ROW_BITS, pl.UInt64) + row.cast(pl.UInt64)).alias("line_id")


def source_file(line_id: pl.Expr, files: Sequence[Path]) -> pl.Expr:
    """The input file of a line, from its ``line_id``: the path as the sources resolved it (``files``).

    NOTE: taken from the list of paths by position: ``replace_strict`` took 3x as long, which told in
    writing tens of millions of repeated lines (see ``io.duplicates``).
    """
    return pl.lit(pl.Series([str(f) for f in files], dtype=pl.String)).gather(file_index(line_id))


def file_index(line_id: pl.Expr) -> pl.Expr:
    """The position of a line's input file among the inputs (in the order they resolve), from its ``line_id``."""
    return line_id // (1 << ROW_BITS)


def source_row(line_id: pl.Expr) -> pl.Expr:
    """The 1-based data row of a line within its input file, from its ``line_id``."""
    return (line_id % (1 << ROW_BITS)).cast(pl.Int64)


#: The bit of an ``encounter_id`` keyed by claim (a line without a patient): every other id is below it.
CLAIM_ENCOUNTER = 1 << 63


def encounter_id() -> pl.Expr:
    """A whole number naming the encounter of a line, for grouping and joining: see :func:`encounter_key`.

    Exact, not a hash: the patient's number in Polars' categorical dictionary and the day of service,
    packed into 64 bits (the top bit marks an encounter keyed by claim, for lines without a patient).
    NOTE: the numbers are consistent within one query only. They are assigned in whatever order the
    engine meets the values, and Polars frees the dictionary once no data or plan refers to it, so a
    later query may number the same patient differently. The audit computes them once, in the pass that
    writes the work file, and every rule and price tier reads them from there; never join ids computed
    by two separate collects. :func:`encounter_key` is the readable, stable form.
    """
    day = (pl.col("service_date").cast(pl.Int32).cast(pl.Int64) + (1 << 31)).cast(pl.UInt64)
    patient = pl.col("patient_id").cast(pl.Categorical).to_physical().cast(pl.UInt64)
    # NOTE: only claims of lines without a patient enter the dictionary (a null is not entered).
    claim_only = pl.when(pl.col("patient_id").is_null()).then(pl.col("claim_id"))
    claim = claim_only.cast(pl.Categorical).to_physical().cast(pl.UInt64)
    return (
        pl.when(pl.col("patient_id").is_not_null())
        .then(patient * (1 << 32) + day)
        .otherwise(claim + pl.lit(CLAIM_ENCOUNTER, pl.UInt64))
        .alias("encounter_id")
    )


def encounter_key() -> pl.Expr:
    """Key of the encounter a line belongs to: the patient and date of service, else the claim.

    The drug, device or supply of a visit is often billed on a separate claim, so rules that look for
    "what else was billed at this visit" group by this key rather than by claim.
    """
    return (
        pl.when(pl.col("patient_id").is_not_null())
        .then(pl.format("P:{}|{}", pl.col("patient_id"), pl.col("service_date")))
        .otherwise(pl.format("C:{}", pl.col("claim_id")))
        .alias("encounter_key")
    )


def _first(cases: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """The value of the first case whose condition holds, else null."""
    if not cases:
        return pl.lit(None, dtype=pl.String())
    return pl.coalesce([pl.when(cond).then(value.cast(pl.String())) for value, cond in cases])


#: Columns holding lists of codes (see :func:`_join_codes`).
_CODE_LISTS = ("modifiers", "diagnosis_codes")
_UNKNOWN_WORDS = ("UNKNOWN", "UNK", "NONE", "NULL", "N/A", "NA", "TBD", "TEMP", "NOT AVAILABLE")
#: What practice-management systems write for a patient they do not know: zeros, or a word (as written,
#: in capitals, in small letters or capitalised). Read as no patient (see :func:`_final_value`).
PATIENT_PLACEHOLDERS = frozenset(
    ["-", "--", "?", *("0" * n for n in range(1, 21))]
    + [spelt for word in _UNKNOWN_WORDS for spelt in (word, word.lower(), word.capitalize())]
)
#: Prefix of the stage-one columns holding each source column's stripped text.
_TEXT = "__text_"
#: Prefix of the stage-one columns saying whether each typed source column holds a value.
_PRESENT = "__present_"
#: Prefix of the stage-one columns saying whether each text source value is already as audited (see
#: :func:`_canonical`).
_CANONICAL = "__canonical_"
#: The stage-two column of the modifiers written after the procedure code (``99213-25``), else null.
_WRITTEN = "__written_modifiers"
#: The column of a rejected row's value, parsed only for :meth:`ClaimLines.rejects_with_values`.
_REJECT_VALUE = "reject_value"


def _stripped(source: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The source value as text with surrounding whitespace removed (empty text stays empty).

    A list (of modifiers or diagnosis codes) is its values joined by commas.
    """
    if isinstance(dtype, pl.List | pl.Array):
        return source.cast(pl.List(pl.String())).list.join(",").str.strip_chars()
    return (source if dtype == pl.String() else source.cast(pl.String())).str.strip_chars()


def _canonical(name: str, source: pl.Expr, mapping: ColumnMapping) -> pl.Expr | None:
    """Whether the text ``source`` of the canonical column ``name`` is already as validation leaves it.

    None for a column without such a test. Where it holds, the value is audited as it is, and neither
    stripped nor normalised: ``_parse`` would return it unchanged (``tests/test_reader_canonical.py``
    checks both ways agree). A value the test cannot vouch for takes the whole way, so the test may be
    narrower than what ``_parse`` leaves unchanged, never wider: a payer type the ``--map`` file
    respells, even one already canonical, is not canonical here.

    NOTE: nearly every value of these columns is already canonical in exports written for the audit,
    and one look-up or anchored pattern costs a fraction of the string operations that normalise it
    (upper-casing, regular-expression replacements, padding, each a new column of every row): at 10 M
    lines, validating ``payer_type`` took 0.5 s, ``ndc_unit`` 0.4 s, ``diagnosis_codes`` 0.5 s.
    String operations skip nulls, so only the other values are normalised.

    >>> values = pl.Series(["medicare", "Medicare", " medicare", "medicaid", None])
    >>> pl.select(_canonical("payer_type", pl.lit(values), ColumnMapping())).to_series().to_list()
    [True, False, False, True, False]
    >>> codes = pl.Series(["Z00.00;I10", "z00.00", "Z00.00, I10", "I10;", ""])
    >>> pl.select(_canonical("diagnosis_codes", pl.lit(codes), ColumnMapping())).to_series().to_list()
    [True, False, False, False, False]
    """
    if name == "payer_type":
        test = source.is_in([t for t in PAYER_TYPES if t not in mapping.payer_types])
    elif name == "ndc_unit":
        test = source.is_in([u for u in NDC_UNITS if u not in NDC_UNIT_SPELLINGS])
    elif name in _PADDED_CODES:
        test = source.is_in(_digit_codes(_PADDED_CODES[name]))
    elif name in _CANONICAL_PATTERNS:
        test = source.str.contains(_CANONICAL_PATTERNS[name])
    else:
        return None
    return test.fill_null(False)


#: The columns of numeric codes padded with zeros (see :func:`_zero_pad`), and their width.
_PADDED_CODES = {"revenue_code": 4, "place_of_service": 2}
#: The text of the other columns :func:`_canonical` tests, matched whole: upper-case codes, those of a list
#: separated by its one separator (see :func:`_join_codes`).
_CANONICAL_PATTERNS = {
    "procedure_code": r"^[A-Z0-9]{5}$",
    "modifiers": r"^[A-Z0-9]{2}(?:,[A-Z0-9]{2})*$",
    "diagnosis_codes": r"^[A-Z0-9.]+(?:;[A-Z0-9.]+)*$",
}


@cache
def _digit_codes(width: int) -> list[str]:
    """Every code of ``width`` digits: ``00`` to ``99`` for 2."""
    return [f"{n:0{width}d}" for n in range(10**width)]


def _text(source: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The source value as stripped text, empty text as null (for messages and string columns)."""
    return _blank_to_null(_stripped(source, dtype))


def _parse(
    column: Column, source: pl.Expr, dtype: pl.DataType, text: pl.Expr, present: pl.Expr, mapping: ColumnMapping
) -> tuple[pl.Expr, pl.Expr | None, str]:
    """Return (typed value, is-bad condition or None, reason) for one canonical column.

    The condition reads the typed value from the column of the canonical name (computed first).
    """
    date_format = mapping.date_format
    target = column.dtype
    parsed = pl.col(column.name)
    if target == pl.Date():
        if dtype == pl.Date():
            return source, None, ""
        if isinstance(dtype, pl.Datetime):
            return source.dt.date(), None, ""
        dated = text if "%H" in date_format else _without_time(text)
        value = dated.str.to_date(date_format, strict=False)
        if date_format == ISO_DATE:
            value = pl.coalesce(value, _spreadsheet_date(dated))
        shown = date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
        return value, present & parsed.is_null(), f"{BAD_DATE_REASON} (expected {shown})"
    if target in (MONEY, QUANTITY, pl.Int64()):
        if dtype.is_numeric():
            if isinstance(target, pl.Decimal) and dtype.is_float():
                # NOTE: Polars raises, even casting not strict, on a float with more whole digits than the
                # decimal holds (1e16 as Decimal(18, 2)): one such value failed the whole audit. It is
                # left null here, so its row is rejected.
                source = pl.when(source.abs() < 10.0 ** (target.precision - target.scale) - 1).then(source)
            value = source.cast(target, strict=False)
            if target == pl.Int64() and (dtype.is_float() or dtype.is_decimal()):
                # A fraction cast to a whole number is dropped: 1.5 would be line 1.
                value = pl.when(source == source.round()).then(value)
            if target != pl.Int64():
                return _in_dollars(value, target, mapping), present & parsed.is_null(), TYPED_NUMBER_REASON
        elif target == pl.Int64():
            value = _whole(text).cast(target, strict=False)
        else:
            value = _cleaned_amount(text).cast(target, strict=False)
            # A parenthesis without its pair is no accounting negative: "(90" is not -90.
            unpaired = text.str.contains("(", literal=True) != text.str.contains(")", literal=True)
            return _in_dollars(value, target, mapping), present & (parsed.is_null() | unpaired), "not a number"
        return value, present & parsed.is_null(), "not a whole number"
    if column.name == "ndc" and dtype.is_integer():
        # An NDC stored as a number lost its leading zeros: the 11 digits of the billing form.
        return text.str.zfill(11), None, ""
    return _normalise_text(column.name, text, parsed, mapping)


def _in_dollars(value: pl.Expr, target: pl.DataType, mapping: ColumnMapping) -> pl.Expr:
    """An amount (``target`` :data:`MONEY`) in dollars where the mapping says the export writes cents.

    NOTE: multiplied by an exact 0.01, then back to cents' two places: a whole number of cents is exact.

    >>> cents = ColumnMapping(amounts_in_cents=True)
    >>> amounts = pl.lit(pl.Series([12500, -2599, None], dtype=MONEY))
    >>> pl.select(_in_dollars(amounts, MONEY, cents)).to_series().cast(pl.String).to_list()
    ['125.00', '-25.99', None]
    """
    if target != MONEY or not mapping.amounts_in_cents:
        return value
    return (value * pl.lit(Decimal("0.01"), pl.Decimal(3, 2))).cast(MONEY)


#: The day before a spreadsheet's day 1, so that its serial numbers count from it: Excel's 45730 is
#: 2025-03-14. NOTE: not 1899-12-31, as Excel counts a 29 February 1900 that never was (and dates of
#: the audit, after it, are counted from this day).
SPREADSHEET_EPOCH = dt.date(1899, 12, 30)


def _spreadsheet_date(text: pl.Expr) -> pl.Expr:
    """A date written as a spreadsheet's serial number (five digits), else null.

    A CSV saved from a spreadsheet whose date cells are formatted as numbers holds them so. Read only
    where the mapping gives no date format: under the ISO default, five digits can be nothing else, and a
    format of the export's own (``%m%d%y``) is taken at its word. NOTE: the length is tested first, and only
    values of five characters are read as numbers (string operations skip nulls): within noise on 10 M CSV
    lines (+0.0 to +1.1 s on 13.5-15.1 s of validation, three alternations).

    >>> written = pl.Series(["45730", "2025-03-14", "4573", "45730.5", None])
    >>> pl.select(_spreadsheet_date(pl.lit(written))).to_series().to_list()
    [datetime.date(2025, 3, 14), None, None, None, None]
    """
    serial = pl.when(text.str.len_bytes() == 5).then(text).str.to_integer(strict=False)
    return pl.lit(SPREADSHEET_EPOCH) + pl.duration(days=serial)


def _without_time(text: pl.Expr) -> pl.Expr:
    """A date written with a time of day, as SQL and spreadsheet exports write dates, without the time.

    >>> dates = ["2025-03-14 00:00:00", "2025-03-14T13:45:00.000Z", "03/14/2025 12:00:00 AM", "2025-03-14"]
    >>> pl.select(_without_time(pl.lit(pl.Series(dates)))).to_series().to_list()
    ['2025-03-14', '2025-03-14', '03/14/2025', '2025-03-14']
    """
    return text.str.replace(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d*)?)?( ?[AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?$", "")


def _whole(text: pl.Expr) -> pl.Expr:
    """A whole number written with a zero fraction (``2.0``, as spreadsheets export counts) without it.

    NOTE: literal string operations, not a regular expression: a third of the time on 10 M values.

    >>> pl.select(_whole(pl.lit(pl.Series(["2.0", "10.00", "10", "1.5", "3."])))).to_series().to_list()
    ['2', '10', '10', '1.5', '3']
    """
    fraction = text.str.contains(".", literal=True)
    return pl.when(fraction).then(text.str.strip_chars_end("0").str.strip_suffix(".")).otherwise(text)


def _cleaned_amount(text: pl.Expr) -> pl.Expr:
    """An amount as a number's text: ``$``, thousands separators, spaces dropped, parentheses as a minus.

    Accounting parentheses mark a refund or recoupment: ``(25.00)`` is -25.00.

    NOTE: one pass of literal replacements, no condition on the parentheses: choosing the value by them
    cost 0.15-0.2 s a money column in the CSV audit of 10 M lines (a value with one parenthesis only is
    rejected by its check instead), and the replacements take 0.11 s where a regular expression removing
    the characters took 0.14.

    A dash alone is zero, as spreadsheets' accounting format shows it (``$ -``): exported as displayed, a
    line paid nothing was rejected as "not a number". NOTE: the dash check reads the cleaned text again, which
    the engine computes twice: 0.13 s more per money column of 10 M CSV lines (a tenth of a second of the
    audit's 15 s, for each of charge, paid and allowed amounts).

    >>> amounts = ["(25.00)", "($1,090.00)", "$(5.00)", " 1,234.5 ", "12O.00", " $ -   ", "-"]
    >>> pl.select(_cleaned_amount(pl.lit(pl.Series(amounts)))).to_series().to_list()
    ['-25.00', '-1090.00', '-5.00', '1234.5', '12O.00', '0', '0']
    """
    cleaned = text.str.replace_many(_AMOUNT_MARKS)
    return pl.when(cleaned == "-").then(pl.lit("0")).otherwise(cleaned)


#: What an amount's text may hold besides the number (the spaces as thousands separators), and what each
#: becomes in the number's text.
_AMOUNT_MARKS = {"$": "", ",": "", " ": "", "\u00a0": "", "\t": "", "(": "-", ")": ""}


def _normalise_text(
    name: str, text: pl.Expr, parsed: pl.Expr, mapping: ColumnMapping
) -> tuple[pl.Expr, pl.Expr | None, str]:
    if name == "procedure_code":
        return _anesthesia_zeros(text.str.to_uppercase()), None, ""
    if name == "payer_type":
        payer_type = text.str.to_lowercase().str.replace_all(PAYER_TYPE_SEPARATORS, "_")
        value = mapped(payer_type, mapping.payer_types, default=payer_type)
        reason = f"not one of {', '.join(PAYER_TYPES)}, nor mapped to one under [payer_types] in a --map file"
        return value, parsed.is_not_null() & ~parsed.is_in(PAYER_TYPES), reason
    if name == "ndc_unit":
        ndc_unit = text.str.to_uppercase()
        value = mapped(ndc_unit, NDC_UNIT_SPELLINGS, default=ndc_unit)
        return value, parsed.is_not_null() & ~parsed.is_in(NDC_UNITS), f"not one of {', '.join(NDC_UNITS)}"
    if name in _PADDED_CODES:
        return _zero_pad(text, _PADDED_CODES[name]), None, ""
    if name == "modifiers":
        return _join_codes(text, ","), None, ""
    if name == "diagnosis_codes":
        return _join_codes(text, ";"), None, ""
    return text, None, ""


#: A procedure code written with its modifiers, as practice-management reports print them: ``99213-25``,
#: ``J3301 JW``, ``L1812-RT-NU``. The code is five characters; each modifier two, after a separator.
#: What separates a code from its modifiers, and them from each other, there.
_MODIFIER_SEPARATORS = r"[\s:,\-]+"
CODE_WITH_MODIFIERS = rf"^[A-Z0-9]{{5}}(?:{_MODIFIER_SEPARATORS}[A-Z0-9]{{2}})+$"


def _written_modifiers(code_text: pl.Expr) -> pl.Expr:
    """The modifiers written after a procedure code (:data:`CODE_WITH_MODIFIERS`), upper-cased, comma-separated.

    Null for a code written alone. NOTE: only codes longer than five characters are upper-cased and read
    against the pattern, the others made null first: string operations skip nulls, and nearly every code
    is five characters (upper-casing every code again cost 0.3 s per 10 M lines).

    >>> codes = pl.Series(["99213-25", "j3301 jw", "L1812-RT-NU", "99213", "J3301X", "CLM-1"])
    >>> pl.select(_written_modifiers(pl.lit(codes))).to_series().to_list()
    ['25', 'JW', 'RT,NU', None, None, None]
    """
    longer = pl.when(code_text.str.len_bytes() > 5).then(code_text).str.to_uppercase()
    suffix = pl.when(longer.str.contains(CODE_WITH_MODIFIERS)).then(longer.str.slice(5))
    return suffix.str.replace_all(_MODIFIER_SEPARATORS, ",").str.strip_chars(",")


def _final_value(name: str, placeholders: tuple[str, ...] = ()) -> pl.Expr:
    """The canonical column ``name`` as audited, from its parsed value (the last stage of validation).

    Lists of codes left empty are null. A procedure code written with its modifiers (``99213-25``, see
    :data:`_WRITTEN`) is the code alone, and ``modifiers`` gains those, after its own, each once. A line of
    units with a negative charge is a void written as some systems write it, the units as billed and the
    charge negated: its units are negated, so that it is a credit line as any other (``io.reversals``).
    A placeholder patient (:data:`PATIENT_PLACEHOLDERS`, and the mapping's own ``placeholders``) is no
    patient: read as one, every line of a day that bears it would be one encounter, many patients' drugs,
    braces and units taken together.

    >>> codes, modifiers = ["99213-25", "J3301", "L1812 RT"], ["25", "JW", ""]
    >>> parsed = pl.DataFrame({"procedure_code": codes, "modifiers": modifiers, _WRITTEN: ["25", None, "RT"]})
    >>> parsed.select(_final_value("procedure_code"), _final_value("modifiers")).rows()
    [('99213', '25'), ('J3301', 'JW'), ('L1812', 'RT')]
    >>> pl.select(patient_id=pl.Series(["P0042", "000000", "Unknown", "0042"])).select(_final_value("patient_id"))[
    ...     "patient_id"
    ... ].to_list()
    ['P0042', None, None, '0042']
    """
    written = pl.col(_WRITTEN)
    if name == "patient_id":
        # NOTE: a look-up of the text as written (already stripped): 0.05 s per 10 M lines, where a pattern
        # matching any case took 0.15 s.
        unknown = pl.col(name).is_in(sorted(PATIENT_PLACEHOLDERS.union(placeholders)))
        return pl.when(unknown).then(None).otherwise(pl.col(name)).alias(name)
    if name == "units":
        return credited_units()
    if name == "procedure_code":
        return pl.when(written.is_not_null()).then(pl.col(name).str.slice(0, 5)).otherwise(pl.col(name)).alias(name)
    if name not in _CODE_LISTS:
        return pl.col(name)
    listed = _blank_to_null(pl.col(name))
    if name != "modifiers":
        return listed
    # Null but where modifiers are written after the code (string operations skip nulls).
    both = pl.concat_str([pl.when(written.is_not_null()).then(listed.fill_null("")), written], separator=",")
    merged = both.str.strip_chars(",").str.split(",").list.unique(maintain_order=True).list.join(",")
    return pl.coalesce(merged, listed).alias(name)


def _anesthesia_zeros(code: pl.Expr) -> pl.Expr:
    """Restore the leading zeros of an anesthesia code (CPT 00100-01999) that a spreadsheet or a number dropped.

    They are the only procedure codes written with leading zeros, and 100-1999 is no other code; other
    numbers shorter than five digits are left as they are, to be reported as no code.

    >>> codes = pl.Series(["100", "1999", "00100", "3301", "99", "99213"])
    >>> pl.select(_anesthesia_zeros(pl.lit(codes))).to_series().to_list()
    ['00100', '01999', '00100', '3301', '99', '99213']
    """
    return pl.when(code.str.contains(r"^(?:[1-9]\d{2}|1\d{3})$")).then(code.str.zfill(5)).otherwise(code)


def _zero_pad(text: pl.Expr, width: int) -> pl.Expr:
    """Restore leading zeros that spreadsheets drop from numeric codes (274 -> 0274).

    NOTE: codes of ``width`` or more need no look at their characters: the length first made padding
    10 M places of service 88 ms instead of 149.

    >>> codes = pl.Series(["274", "0274", "12345", "27A", "1"])
    >>> pl.select(_zero_pad(pl.lit(codes), 4)).to_series().to_list()
    ['0274', '0274', '12345', '27A', '0001']
    """
    short = text.str.len_bytes() < width
    return pl.when(short & text.str.contains(r"^\d+$")).then(text.str.zfill(width)).otherwise(text)


def _join_codes(text: pl.Expr, separator: str) -> pl.Expr:
    """Upper-case a list of codes written with any of comma, semicolon or spaces, joined by one separator.

    Text of separators only becomes empty text; :func:`_blank_to_null` makes it null in the last stage.
    """
    return text.str.to_uppercase().str.replace_all(r"[,;\s]+", separator).str.strip_chars(separator)


def _blank_to_null(value: pl.Expr) -> pl.Expr:
    """Empty text as null (null stays null)."""
    return pl.when(value != "").then(value)


def _split_modifiers(source_schema: pl.Schema, mapping: ColumnMapping) -> pl.Expr:
    """Join ``modifier_1``..``modifier_4`` into the canonical comma-separated ``modifiers``."""
    parts = [
        _text(pl.col(mapping.source_name(name)), source_schema[mapping.source_name(name)]).str.to_uppercase()
        for name in MODIFIER_COLUMNS
        if mapping.source_name(name) in source_schema
    ]
    if not parts:
        return pl.lit(None, dtype=pl.String())
    return _blank_to_null(pl.concat_str(parts, separator=",", ignore_nulls=True))
