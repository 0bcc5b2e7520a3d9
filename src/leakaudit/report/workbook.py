"""The work queue: ``findings.xlsx``, a summary sheet and one sheet per rule, ready to hand to billers.

Each rule sheet is sorted by estimated amount (largest first), with frozen headers, filters, currency
and date formats, and the timely-filing deadline so billers work the recoverable claims first. Patient
identifiers are kept: the work queue is for the organisation's own staff.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from leakaudit.findings import rule_totals

QUEUE_COLUMNS = (
    "claim_id",
    "line_number",
    "service_date",
    "filing_deadline",
    "recoverable",
    "patient_id",
    "payer_id",
    "payer_type",
    "rendering_npi",
    "procedure_code",
    "estimated_amount",
    "finding_kind",
    "confidence",
    "message",
    "estimate_method",
)
CURRENCY = "$#,##0.00"
DATE = "yyyy-mm-dd"
WIDTHS = {"message": 90, "estimate_method": 60, "claim_id": 14, "patient_id": 12}
#: A fixed creation time keeps the file identical for the same findings.
CREATED = dt.datetime(2000, 1, 1)
#: Rows per rule sheet: the largest findings. Excel stops at 1,048,576 rows, and a biller's queue is
#: worked from the top; every finding is in findings.csv and findings.parquet.
MAX_ROWS_PER_SHEET = 10_000


def write_workbook(path: Path, findings: pl.DataFrame, rules: Sequence[Any], as_of: dt.date) -> None:
    """Write ``findings.xlsx``: a Summary sheet, then one sheet per rule."""
    queue = findings.with_columns(
        (pl.col("filing_deadline") >= as_of).alias("recoverable"),
        pl.col("estimated_amount").cast(pl.Float64),
    )
    # NOTE: packed in memory (a few MB: at most MAX_ROWS_PER_SHEET rows a rule), then written: xlsxwriter
    # writing the file itself left its zip open when the write failed (a full disk), and the zip's
    # clean-up failed again later with a second traceback. Its cells are held until then too (not
    # ``constant_memory``): a text that repeats (a method, a payer, a kind) is written once, in the shared
    # strings, not escaped again in every cell. For 4 rules of 10,000 rows: 3.0 s instead of 3.5 s, and
    # 75 MB more.
    packed = io.BytesIO()
    # NOTE: text is written as text: xlsxwriter by default makes a value beginning "=" a formula and one
    # like a URL a link, and an export's claim id "=HYPERLINK(...)" became a live formula in the client's
    # workbook (spreadsheet formula injection).
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    book = xlsxwriter.Workbook(packed, {"remove_timezone": True, **options})
    book.set_properties({"title": "leakaudit work queue", "created": CREATED})
    header = book.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1})
    money = book.add_format({"num_format": CURRENCY})
    date = book.add_format({"num_format": DATE})
    _summary_sheet(book, findings, rules, as_of, header, money)
    for rule in rules:
        mine = queue.filter(pl.col("rule_id") == rule.id).sort(
            ["estimated_amount", "claim_id", "line_number"], descending=[True, False, False], nulls_last=True
        )
        sheet = book.add_worksheet(rule.id[:31])
        _table(
            sheet,
            mine.head(MAX_ROWS_PER_SHEET).select(QUEUE_COLUMNS),
            header,
            {"estimated_amount": money, "service_date": date, "filing_deadline": date},
        )
    book.close()
    path.write_bytes(packed.getvalue())


def _table(sheet: Any, frame: pl.DataFrame, header: Any, formats: dict[str, Any]) -> None:
    """Write a frame as a table: header row, typed cells, frozen header, filter."""
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(frame.height, 1), len(frame.columns) - 1)
    for col, name in enumerate(frame.columns):
        sheet.set_column(col, col, WIDTHS.get(name, max(12, len(name) + 2)), formats.get(name))
    sheet.write_row(0, 0, frame.columns, header)
    # Dates as Excel serial numbers, formatted by their column: far faster than per-cell datetimes.
    serial = frame.with_columns(
        (pl.col(pl.Date).cast(pl.Int64) + 25569).cast(pl.Float64),
        pl.col(pl.Boolean).cast(pl.String),
    )
    # NOTE: each cell written by its column's type, not guessed from its value by ``write_row``: 0.15-0.2 s
    # less for 40,000 rows. An empty cell is left unwritten, as ``write_row`` leaves it.
    writers = [sheet.write_number if dtype.is_numeric() else sheet.write_string for dtype in serial.dtypes]
    for r, values in enumerate(serial.iter_rows(), start=1):
        for c, value in enumerate(values):
            if value is not None:
                writers[c](r, c, value)


def _summary_sheet(
    book: Any, findings: pl.DataFrame, rules: Sequence[Any], as_of: dt.date, header: Any, money: Any
) -> None:
    totals = rule_totals(findings, [rule.id for rule in rules], as_of)
    titles = pl.Series("title", [rule.title for rule in rules], dtype=pl.String)
    frame = totals.select(
        "rule_id",
        titles,
        pl.col("count").alias("findings"),
        "claims",
        pl.col("estimated_total").cast(pl.Float64).alias("estimated_lost_revenue"),
        pl.col("recoverable_total").cast(pl.Float64).alias("recoverable"),
        pl.col("exposure_total").cast(pl.Float64).alias("compliance_exposure"),
        "unpriced",
    ).sort("estimated_lost_revenue", "rule_id", descending=[True, False], nulls_last=True)
    sheet = book.add_worksheet("Summary")
    sheet.write(0, 0, f"Recoverable: timely-filing deadline on or after {as_of.isoformat()}", header)
    moneyed = {"estimated_lost_revenue": money, "recoverable": money, "compliance_exposure": money}
    sheet.freeze_panes(2, 0)
    sheet.autofilter(1, 0, 1 + frame.height, len(frame.columns) - 1)
    for col, name in enumerate(frame.columns):
        sheet.set_column(col, col, 42 if name == "title" else 20, moneyed.get(name))
    sheet.write_row(1, 0, frame.columns, header)
    for r, values in enumerate(frame.fill_null(0).iter_rows(), start=2):
        sheet.write_row(r, 0, values)
    sheet.write(
        2 + frame.height,
        0,
        f"Rule sheets hold the {MAX_ROWS_PER_SHEET:,} largest findings of each rule; findings.csv holds every finding.",
    )
