"""For the analysis only: leakaudit's rules and pricing run straight on generated Parquet, without validation.

    python bench/no_validation.py CLAIMS_DIR

Not a way to audit: nothing is checked, normalised or rejected, and no work file is written (the generator's
Parquet is already in the canonical schema). It measures what the audit would take if validation were free,
so that bench/RESULTS.md can say how much of the distance to DuckDB validation explains.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from leakaudit.findings import find_all
from leakaudit.io import resolve_sources
from leakaudit.io.reader import encounter_id, line_id
from leakaudit.io.reversals import credited_units, find_reversals, set_aside, with_credits_taken
from leakaudit.refdata import load_refdata
from leakaudit.rules import AuditContext, get_rules


def unvalidated_lines(claims: Path) -> pl.LazyFrame:
    """Every part as it is, with the ``line_id`` and ``encounter_id`` the reader would give its lines, less
    the credit lines and the charges they reverse (as the audit sets them aside, by a filter), and the
    charges partly credited less the units credited. A void written as the units billed at a negative
    charge is a credit line, as the reader reads it."""
    parts = [
        pl.scan_parquet(path).with_row_index("row", offset=1).with_columns(line_id(index, pl.col("row"))).drop("row")
        for index, path in enumerate(resolve_sources([claims]))
    ]
    lines = pl.concat(parts).with_columns(encounter_id(), credited_units())
    reversals = find_reversals(lines)
    return with_credits_taken(lines, reversals).filter(pl.col("line_id").is_in(set_aside(reversals).implode()).not_())


if __name__ == "__main__":
    findings = find_all(get_rules(), AuditContext(lines=unvalidated_lines(Path(sys.argv[1])), refdata=load_refdata()))
    print("findings", findings.height, "estimated", findings["estimated_amount"].sum())
