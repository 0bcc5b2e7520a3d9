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

REJECT_COLUMNS = ("reject_column", "reject_reason")


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
        """Rows not audited: source file, row, column and reason (:func:`with_reject_values` adds the value)."""
        return self.parsed.filter(pl.col("reject_column").is_not_null()).select(
            "source_file",
            "source_row",
            pl.col("reject_column").alias("column"),
            pl.col("reject_reason").alias("reason"),
        )

    def with_reject_values(self, rejects: pl.DataFrame, mapping: ColumnMapping | None = None) -> pl.DataFrame:
        """Add each rejected row's offending value, read back from its file by row number.

        NOTE: a second, small pass: rendering every column of every row as text in the main pass, only
        to show the few rejected values, cost more than the rest of validation.
        """
        mapping = mapping or ColumnMapping()
        parts = []
        for (source_file,), rows in rejects.group_by("source_file", maintain_order=True):
            path = Path(str(source_file))
            raw = _raw_scan(path)
            schema = raw.collect_schema()
            picks = [
                pl.when(pl.col("column") == name).then(
                    _text(pl.col(mapping.source_name(name)), schema[mapping.source_name(name)])
                )
                for name in rows["column"].unique().sort().to_list()
                if mapping.source_name(name) in schema
            ]
            read = raw.join(rows.lazy(), on="source_row", how="inner").select(
                "source_file",
                "source_row",
                "column",
                (pl.coalesce(picks) if picks else pl.lit(None, pl.String)).alias("value"),
                "reason",
            )
            parts.append(read.collect())
        columns = pl.Schema(
            {
                "source_file": pl.String(),
                "source_row": pl.Int64(),
                "column": pl.String(),
                "value": pl.String(),
                "reason": pl.String(),
            }
        )
        if not parts:
            return pl.DataFrame(schema=columns)
        return pl.concat(parts).cast(columns).sort("source_file", "source_row")


def scan_claim_lines(paths: Sequence[str | Path], mapping: ColumnMapping | None = None) -> ClaimLines:
    """Scan every file named by ``paths`` (files, directories, globs) as one claim-line table.

    Raises :class:`InputError` before any work when a file lacks a required column.
    """
    mapping = mapping or ColumnMapping()
    files = tuple(resolve_sources(paths))
    frames = [_scan_one(path, mapping) for path in files]
    return ClaimLines(files=files, parsed=pl.concat(frames, how="vertical"))


def _raw_scan(path: Path) -> pl.LazyFrame:
    """A file as it is, with its 1-based data row number in ``source_row``."""
    if file_format(path) == "csv":
        # NOTE: every CSV column is read as text so that a bad value becomes a reject with its reason
        # instead of failing the whole scan; codes such as 0274 or 00003-0293-05 keep their zeros.
        raw = pl.scan_csv(
            path, infer_schema=False, encoding="utf8-lossy", row_index_name="source_row", row_index_offset=1
        )
    else:
        raw = pl.scan_parquet(path).with_row_index("source_row", offset=1)
    return raw.with_columns(pl.col("source_row").cast(pl.Int64), pl.lit(str(path)).alias("source_file"))


def _scan_one(path: Path, mapping: ColumnMapping) -> pl.LazyFrame:
    raw = _raw_scan(path)
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
    checks: list[tuple[str, pl.Expr, str]] = []  # (column, is_bad, reason)
    for column in LINE_COLUMNS:
        source = mapping.source_name(column.name)
        if column.name == "modifiers" and source not in source_schema:
            values.append(_split_modifiers(source_schema, mapping).alias("modifiers"))
            continue
        if source not in source_schema:
            values.append(pl.lit(None, dtype=column.dtype).alias(column.name))
            continue
        dtype = source_schema[source]
        text = _text(pl.col(source), dtype)
        # A typed (Parquet) value is present when it is not null; text only when it is not blank.
        present = text.is_not_null() if dtype == pl.String() else pl.col(source).is_not_null()
        value, is_bad, reason = _parse(column, pl.col(source), dtype, text, present, mapping.date_format)
        values.append(value.alias(column.name))
        if column.required:
            checks.append((column.name, present.not_(), "missing required value"))
        if is_bad is not None:
            checks.append((column.name, is_bad, reason))

    parsed = raw.select(
        *values,
        "source_file",
        "source_row",
        _first([(pl.lit(name), bad) for name, bad, _ in checks]).alias("reject_column"),
        _first([(pl.lit(reason), bad) for _, bad, reason in checks]).alias("reject_reason"),
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
    column: Column, source: pl.Expr, dtype: pl.DataType, text: pl.Expr, present: pl.Expr, date_format: str
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
        return value, present & value.is_null(), f"not a valid date (expected {shown})"
    if target in (MONEY, QUANTITY, pl.Int64()):
        if dtype.is_numeric():
            value = source.cast(target, strict=False)
        else:
            cleaned = text.str.replace_all(r"[$,\s]", "") if target != pl.Int64() else text
            value = cleaned.cast(target, strict=False)
        reason = "not a whole number" if target == pl.Int64() else "not a number"
        return value, present & value.is_null(), reason
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
