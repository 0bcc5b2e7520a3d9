"""The four rules' detection as DuckDB SQL after the same validation as leakaudit's (still no pricing).

    python bench/duckdb_validated.py CLAIMS_GLOB REFERENCE_DIR WORK_DIR

For the analysis only: what DuckDB takes for the part of leakaudit's work it can be given in SQL. Like
``leakaudit.io.reader`` on typed Parquet, every text column is stripped, blank text becomes null, codes are
upper-cased, payer types lower-cased with separators as ``_``, modifier and diagnosis lists joined by one
separator, revenue and place-of-service codes zero-padded; each row keeps its file and row number and the
first column at fault with the reason (a missing required value, a payer type or NDC unit out of its list).
Every row is written once, with its verdict, to a work Parquet file (LZ4) in WORK_DIR, as leakaudit writes
its work file (without the columns no rule reads, as leakaudit's ``AUDITED_COLUMNS``); the detections of
``duckdb_rules.py`` then read the valid rows from it. Prints the counts of rows audited and rejected, then
of hits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
from duckdb_rules import detect

from leakaudit.schema import NDC_UNIT_SPELLINGS, NDC_UNITS, PAYER_TYPES

# NOTE: DuckDB's one-argument trim removes spaces only; Polars' strip_chars removes any whitespace.
WHITESPACE = "' \t\r\n'"


def _text(column: str) -> str:
    """The column stripped, blank as null."""
    return f"nullif(trim({column}, {WHITESPACE}), '')"


def _code_list(column: str, separator: str) -> str:
    """Upper-cased codes joined by one ``separator`` (as the reader's ``_join_codes``), blank as null."""
    joined = f"regexp_replace(upper({_text(column)}), '[,;\\s]+', '{separator}', 'g')"
    return f"nullif(trim({joined}, '{separator}'), '')"


def _zero_pad(column: str, width: int) -> str:
    """Digits padded with leading zeros to ``width`` (DuckDB's lpad would cut longer codes)."""
    text = _text(column)
    return (
        f"CASE WHEN regexp_full_match({text}, '\\d+') AND length({text}) < {width} "
        f"THEN lpad({text}, {width}, '0') ELSE {text} END"
    )


def _ndc_unit() -> str:
    """The NDC unit upper-cased, as its X12 code where exports spell it otherwise (as the reader's)."""
    unit = f"upper({_text('ndc_unit')})"
    spellings = " ".join(f"WHEN '{spelt}' THEN '{code}'" for spelt, code in NDC_UNIT_SPELLINGS.items())
    return f"CASE {unit} {spellings} ELSE {unit} END"


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


VALIDATE = f"""
COPY (
  WITH parsed AS (
    SELECT filename AS source_file, file_row_number + 1 AS source_row,
      {_text("claim_id")} AS claim_id, line_number, service_date,
      upper({_text("procedure_code")}) AS procedure_code,
      -- A void written as the units billed and a negative charge is a credit line.
      CASE WHEN units > 0 AND charge_amount < 0 THEN -units ELSE units END AS units, charge_amount,
      {_text("patient_id")} AS patient_id, {_text("payer_id")} AS payer_id,
      regexp_replace(lower({_text("payer_type")}), '[\\s\\-]+', '_', 'g') AS payer_type,
      {_text("rendering_npi")} AS rendering_npi,
      {_code_list("modifiers", ",")} AS modifiers,
      paid_amount, allowed_amount,
      {_code_list("diagnosis_codes", ";")} AS diagnosis_codes,
      {_text("ndc")} AS ndc, ndc_quantity, {_ndc_unit()} AS ndc_unit,
      {_text("description")} AS description,
      {_zero_pad("revenue_code", 4)} AS revenue_code,
      {_zero_pad("place_of_service", 2)} AS place_of_service
    FROM read_parquet('{{claims}}', filename = true, file_row_number = true)
  ), checked AS (
    SELECT *, CASE
        WHEN claim_id IS NULL THEN 'claim_id'
        WHEN line_number IS NULL THEN 'line_number'
        WHEN service_date IS NULL THEN 'service_date'
        WHEN procedure_code IS NULL THEN 'procedure_code'
        WHEN units IS NULL THEN 'units'
        WHEN charge_amount IS NULL THEN 'charge_amount'
        WHEN payer_type NOT IN ({_listed(PAYER_TYPES)}) THEN 'payer_type'
        WHEN ndc_unit NOT IN ({_listed(NDC_UNITS)}) THEN 'ndc_unit'
      END AS reject_column
    FROM parsed
  )
  SELECT * EXCLUDE (charge_amount, allowed_amount), CASE
      WHEN reject_column IN ('payer_type', 'ndc_unit') THEN 'not one of the listed values'
      WHEN reject_column IS NOT NULL THEN 'missing required value'
    END AS reject_reason
  FROM checked
) TO '{{work}}' (FORMAT parquet, COMPRESSION lz4);
"""

if __name__ == "__main__":
    claims, reference, work_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    work_dir.mkdir(parents=True, exist_ok=True)
    work = work_dir / "lines.parquet"
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute(VALIDATE.format(claims=claims, work=work))
    audited, rejected = con.execute(
        f"SELECT count(*) FILTER (reject_column IS NULL), count(reject_column) FROM read_parquet('{work}')"
    ).fetchone()
    print("audited", audited, "rejected", rejected)
    valid = f"(SELECT * FROM read_parquet('{work}') WHERE reject_column IS NULL)"
    # The work file's units already read a void written at a negative charge as a credit (and it holds no charges).
    detect(con, valid, reference, units="units")
