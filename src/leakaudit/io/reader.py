"""Read claim-line files lazily into the canonical schema, splitting bad rows into rejects.

Each file is scanned on its own (so that every row keeps its own file and 1-based row number),
mapped onto :data:`leakaudit.schema.LINE_COLUMNS`, parsed, and checked. A row whose value cannot be
parsed, or whose required value is empty, is not audited: it is kept, with the first column at fault
and the reason, in :attr:`ClaimLines.rejects`. Nothing is collected here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from leakaudit.io.errors import InputError
from leakaudit.io.mapping import MODIFIER_COLUMNS, ColumnMapping
from leakaudit.io.sources import file_format, resolve_sources
from leakaudit.schema import LINE_COLUMNS, MONEY, NDC_UNITS, PAYER_TYPES, QUANTITY, REQUIRED_COLUMNS, Column

REJECT_COLUMNS = ("reject_column", "reject_reason", "reject_value")


@dataclass(frozen=True)
class ClaimLines:
    """Every input row, parsed; split into the lines to audit and the rows rejected."""

    files: tuple[Path, ...]
    parsed: pl.LazyFrame

    @property
    def audited(self) -> pl.LazyFrame:
        """Rows with every value valid, in the canonical schema plus provenance columns."""
        return self.parsed.filter(pl.col("reject_column").is_null()).drop(REJECT_COLUMNS)

    @property
    def rejects(self) -> pl.LazyFrame:
        """Rows not audited: source file, row, column, offending value and reason."""
        return self.parsed.filter(pl.col("reject_column").is_not_null()).select(
            "source_file",
            "source_row",
            pl.col("reject_column").alias("column"),
            pl.col("reject_value").alias("value"),
            pl.col("reject_reason").alias("reason"),
        )


def scan_claim_lines(paths: Sequence[str | Path], mapping: ColumnMapping | None = None) -> ClaimLines:
    """Scan every file named by ``paths`` (files, directories, globs) as one claim-line table.

    Raises :class:`InputError` before any work when a file lacks a required column.
    """
    mapping = mapping or ColumnMapping()
    files = tuple(resolve_sources(paths))
    frames = [_scan_one(path, mapping) for path in files]
    return ClaimLines(files=files, parsed=pl.concat(frames, how="vertical"))


def _scan_one(path: Path, mapping: ColumnMapping) -> pl.LazyFrame:
    if file_format(path) == "csv":
        # NOTE: every CSV column is read as text so that a bad value becomes a reject with its reason
        # instead of failing the whole scan; codes such as 0274 or 00003-0293-05 keep their zeros.
        raw = pl.scan_csv(
            path, infer_schema=False, encoding="utf8-lossy", row_index_name="source_row", row_index_offset=1
        )
    else:
        raw = pl.scan_parquet(path).with_row_index("source_row", offset=1)
    try:
        source_schema = raw.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(f"{path}: cannot be read as {file_format(path).upper()}: {err}") from None

    missing = [c for c in REQUIRED_COLUMNS if mapping.source_name(c) not in source_schema]
    if missing:
        named = ", ".join(
            c if mapping.source_name(c) == c else f"{c} (mapped from {mapping.source_name(c)!r})" for c in missing
        )
        raise InputError(f"{path}: missing required column(s): {named}")

    values: list[pl.Expr] = []
    checks: list[tuple[str, pl.Expr, pl.Expr, str]] = []  # (column, is_bad, raw_text, reason)
    for column in LINE_COLUMNS:
        source = mapping.source_name(column.name)
        if column.name == "modifiers" and source not in source_schema:
            values.append(_split_modifiers(source_schema, mapping).alias("modifiers"))
            continue
        if source not in source_schema:
            values.append(pl.lit(None, dtype=column.dtype).alias(column.name))
            continue
        text = _text(pl.col(source), source_schema[source])
        value, is_bad, reason = _parse(column, pl.col(source), source_schema[source], text, mapping.date_format)
        values.append(value.alias(column.name))
        if column.required:
            checks.append((column.name, text.is_null(), text, "missing required value"))
        if is_bad is not None:
            checks.append((column.name, is_bad, text, reason))

    parsed = raw.select(
        *values,
        pl.lit(str(path)).alias("source_file"),
        pl.col("source_row").cast(pl.Int64),
        _first([(pl.lit(name), bad) for name, bad, _, _ in checks]).alias("reject_column"),
        _first([(pl.lit(reason), bad) for _, bad, _, reason in checks]).alias("reject_reason"),
        _first([(text, bad) for _, bad, text, _ in checks]).alias("reject_value"),
    )
    return parsed.with_columns(encounter_key()).select(
        *(c.name for c in LINE_COLUMNS), "source_file", "source_row", "encounter_key", *REJECT_COLUMNS
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


def _text(source: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The source value as stripped text, empty text as null (for messages and string columns)."""
    text = source if dtype == pl.String() else source.cast(pl.String())
    text = text.str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _parse(
    column: Column, source: pl.Expr, dtype: pl.DataType, text: pl.Expr, date_format: str
) -> tuple[pl.Expr, pl.Expr | None, str]:
    """Return (typed value, is-bad condition or None, reason) for one canonical column."""
    target = column.dtype
    if target == pl.Date():
        if dtype == pl.Date():
            return source, None, ""
        if isinstance(dtype, pl.Datetime):
            return source.dt.date(), None, ""
        value = text.str.to_date(date_format, strict=False)
        shown = date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
        return value, text.is_not_null() & value.is_null(), f"not a valid date (expected {shown})"
    if target in (MONEY, QUANTITY, pl.Int64()):
        if dtype.is_numeric():
            value = source.cast(target, strict=False)
        else:
            cleaned = text.str.replace_all(r"[$,\s]", "") if target != pl.Int64() else text
            value = cleaned.cast(target, strict=False)
        reason = "not a whole number" if target == pl.Int64() else "not a number"
        return value, text.is_not_null() & value.is_null(), reason
    return _normalise_text(column.name, text)


def _normalise_text(name: str, text: pl.Expr) -> tuple[pl.Expr, pl.Expr | None, str]:
    if name == "procedure_code":
        return text.str.to_uppercase(), None, ""
    if name == "payer_type":
        value = text.str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
        return value, value.is_not_null() & ~value.is_in(PAYER_TYPES), f"not one of {', '.join(PAYER_TYPES)}"
    if name == "ndc_unit":
        value = text.str.to_uppercase()
        return value, value.is_not_null() & ~value.is_in(NDC_UNITS), f"not one of {', '.join(NDC_UNITS)}"
    if name == "revenue_code":
        return _zero_pad(text, 4), None, ""
    if name == "place_of_service":
        return _zero_pad(text, 2), None, ""
    if name == "modifiers":
        return _join_codes(text, ","), None, ""
    if name == "diagnosis_codes":
        return _join_codes(text, ";"), None, ""
    return text, None, ""


def _zero_pad(text: pl.Expr, width: int) -> pl.Expr:
    """Restore leading zeros that spreadsheets drop from numeric codes (274 -> 0274)."""
    return pl.when(text.str.contains(r"^\d+$")).then(text.str.zfill(width)).otherwise(text)


def _join_codes(text: pl.Expr, separator: str) -> pl.Expr:
    """Upper-case a list of codes written with any of comma, semicolon or spaces, joined by one separator."""
    pieces = text.str.to_uppercase().str.replace_all(r"[,;\s]+", separator).str.strip_chars(separator)
    return pl.when(pieces == "").then(None).otherwise(pieces)


def _split_modifiers(source_schema: pl.Schema, mapping: ColumnMapping) -> pl.Expr:
    """Join ``modifier_1``..``modifier_4`` into the canonical comma-separated ``modifiers``."""
    parts = [
        _text(pl.col(mapping.source_name(name)), source_schema[mapping.source_name(name)]).str.to_uppercase()
        for name in MODIFIER_COLUMNS
        if mapping.source_name(name) in source_schema
    ]
    if not parts:
        return pl.lit(None, dtype=pl.String())
    joined = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)
