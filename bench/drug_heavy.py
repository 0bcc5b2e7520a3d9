"""Make drug-heavy claim lines: generated lines, and copies of every claim that bills a drug.

    python bench/drug_heavy.py CLAIMS_DIR OUT_DIR --copies 3

An infusion or oncology practice bills far more drug lines than the generated mix (about one line in
eleven). Each copy of a claim with a drug line has claim and patient ids of its own (``C1-c2``, ``P1-c2``),
so its encounters are new ones, not repeats of the original's: the copies hold what the original holds,
errors included. ``bench/RESULTS.md`` measures memory on the 10 M bench lines with 3 copies (20.1 M lines,
3.7 M of them drugs): what grows with the drug lines shows there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from leakaudit.rules.drug_admin_without_drug import is_drug_product


def drug_heavy(claims: Path, out: Path, copies: int) -> tuple[int, int]:
    """Write the lines of ``claims`` (Parquet) and ``copies`` copies of each claim with a drug line to ``out``.

    Returns the number of lines written, and of drug lines among them.
    """
    lines = pl.scan_parquet(claims)
    drug = is_drug_product(pl.col("procedure_code"))
    with_drug = lines.join(lines.filter(drug).select("claim_id").unique(), on="claim_id", how="semi")
    out.mkdir(parents=True, exist_ok=True)
    lines.sink_parquet(out / "original.parquet")
    for copy in range(1, copies + 1):
        suffix = f"-c{copy}"
        with_drug.with_columns(pl.col("claim_id") + suffix, pl.col("patient_id") + suffix).sink_parquet(
            out / f"copy-{copy}.parquet"
        )
    written = pl.scan_parquet(out)
    return written.select(pl.len()).collect().item(), written.filter(drug).select(pl.len()).collect().item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=3)
    arguments = parser.parse_args()
    total, drugs = drug_heavy(arguments.claims, arguments.out, arguments.copies)
    print(f"{total:,} lines, {drugs:,} of them drug lines, in {arguments.out}")
