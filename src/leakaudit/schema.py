"""The canonical claim-line table: one row per claim service line.

Every input (CSV, Parquet, later X12) is mapped onto these columns by :mod:`leakaudit.io`;
rules, pricing and reports only ever see this shape. ``docs/schema.md`` documents the same
table for users, and ``tests/test_schema_docs.py`` keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MONEY = pl.Decimal(18, 2)
QUANTITY = pl.Decimal(18, 3)

#: Payer categories a line may carry in ``payer_type``.
PAYER_TYPES = ("medicare", "medicare_advantage", "medicaid", "commercial", "other")
#: X12 unit-of-measure codes accepted in ``ndc_unit`` (837 CTP04 / 835 svc quantity qualifiers).
NDC_UNITS = ("F2", "GR", "ME", "ML", "UN")
#: How exports write those units otherwise, read as the X12 code: milligrams as ``MG``, grams as ``G``,
#: international units as ``IU``, each as ``EA``. NOTE: ``U`` and ``UNITS`` are left out: they may be
#: international units (F2) or each (UN), and the dose differs.
NDC_UNIT_SPELLINGS = {
    "MG": "ME",
    "MGS": "ME",
    "G": "GR",
    "GM": "GR",
    "GRAM": "GR",
    "GRAMS": "GR",
    "CC": "ML",
    "MLS": "ML",
    "IU": "F2",
    "EA": "UN",
    "EACH": "UN",
}


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, Polars type, whether it is required, and what it means."""

    name: str
    dtype: pl.DataType
    required: bool
    meaning: str
    example: str


LINE_COLUMNS: tuple[Column, ...] = (
    Column("claim_id", pl.String(), True, "Claim identifier from the billing system.", "CLM000123"),
    Column("line_number", pl.Int64(), True, "Service line number within the claim.", "1"),
    Column("service_date", pl.Date(), True, "Date of service, ISO `YYYY-MM-DD`.", "2025-03-14"),
    Column("procedure_code", pl.String(), True, "CPT or HCPCS Level II code billed.", "96372"),
    Column("units", QUANTITY, True, "Units of service billed.", "4"),
    Column("charge_amount", MONEY, True, "Billed charge in dollars.", "125.00"),
    Column("patient_id", pl.String(), False, "Patient identifier (an encounter is patient + date).", "P0042"),
    Column("payer_id", pl.String(), False, "Payer identifier.", "MCR-TX"),
    Column(
        "payer_type",
        pl.String(),
        False,
        "One of `medicare`, `medicare_advantage`, `medicaid`, `commercial`, `other`.",
        "commercial",
    ),
    Column("rendering_npi", pl.String(), False, "NPI of the rendering provider.", "1234567893"),
    Column(
        "modifiers",
        pl.String(),
        False,
        "Modifiers separated by comma, space or semicolon (or columns `modifier_1`..`modifier_4`); "
        "stored comma-separated.",
        "RT,59",
    ),
    Column("paid_amount", MONEY, False, "Amount the payer paid on the line, in dollars.", "48.12"),
    Column("allowed_amount", MONEY, False, "Amount the payer allowed on the line, in dollars.", "60.15"),
    Column(
        "diagnosis_codes",
        pl.String(),
        False,
        "ICD-10-CM codes separated by `;` or `,`; stored `;`-separated.",
        "M17.11;E11.9",
    ),
    Column("ndc", pl.String(), False, "National Drug Code of the drug given on the line.", "00003-0293-05"),
    Column("ndc_quantity", QUANTITY, False, "Quantity of the NDC given, in `ndc_unit`.", "40"),
    Column(
        "ndc_unit",
        pl.String(),
        False,
        "X12 unit: `F2` international unit, `GR` gram, `ME` milligram, `ML` millilitre, `UN` unit "
        "(also read as written elsewhere: `MG`, `G`, `IU`, `CC`, `EA`).",
        "ME",
    ),
    Column("description", pl.String(), False, "Charge description text from the charge master.", "Knee brace"),
    Column("revenue_code", pl.String(), False, "UB-04 revenue code, 4 digits.", "0274"),
    Column("place_of_service", pl.String(), False, "CMS place-of-service code, 2 digits.", "11"),
)

#: Columns the reader adds to every audited line: where it came from (the input file's position in the
#: order the sources resolve, and the row; see ``leakaudit.io.reader``) and which encounter it belongs to.
PROVENANCE_COLUMNS: dict[str, pl.DataType] = {
    "line_id": pl.UInt64(),
    "encounter_id": pl.UInt64(),
}

REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in LINE_COLUMNS if c.required)


def line_schema() -> pl.Schema:
    """Return the schema of an audited claim-line LazyFrame (canonical columns plus provenance)."""
    return pl.Schema({c.name: c.dtype for c in LINE_COLUMNS} | PROVENANCE_COLUMNS)


def conform(frame: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """``frame``'s columns of ``schema``, in its order and cast to its types (raises if one is missing)."""
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())
