"""The same input gives byte-identical outputs whatever the number of threads that audit it, and the same
findings whatever the order of its rows.

Polars's streaming engine does not keep row order, and the order it gives depends on how the threads
share the work: every output is sorted explicitly. Each audit runs in its own process, since Polars
sizes its thread pool when it is imported (``POLARS_MAX_THREADS``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from leakaudit.generate import generate

OUTPUTS = (
    "findings.parquet",
    "findings.csv",
    "rejects.csv",
    "repeats.csv",
    "summary.json",
    "report.html",
    "findings.xlsx",
)


def _audit(claims: Path, out: Path, threads: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leakaudit", "audit", str(claims), "--out", str(out)],
        env=os.environ | {"POLARS_MAX_THREADS": str(threads), "CI": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_one_thread_and_four_write_the_same_bytes(tmp_path: Path) -> None:
    """Generated lines in CSV, and a second export repeating part of them, some rows with a bad value."""
    generate(40_000, seed=3, out=tmp_path, fmt="csv", workers=1)
    claims = tmp_path / "claims"
    (part,) = claims.glob("part-*.csv")
    overlap = pl.read_csv(part, infer_schema=False).head(3_000)
    bad = pl.int_range(pl.len()) % 500 == 7
    overlap.with_columns(pl.when(bad).then(pl.lit("x")).otherwise(pl.col("units")).alias("units")).write_csv(
        claims / "resent.csv"
    )
    for threads in (1, 4):
        _audit(claims, tmp_path / f"out-{threads}", threads)
    one, four = tmp_path / "out-1", tmp_path / "out-4"
    assert pl.read_csv(one / "rejects.csv").height == 6
    assert pl.read_csv(one / "repeats.csv").height >= 1
    assert pl.read_parquet(one / "findings.parquet").n_unique("rule_id") == 4
    for name in OUTPUTS:
        assert (one / name).read_bytes() == (four / name).read_bytes(), name


def test_the_same_lines_in_another_order_give_the_same_findings(tmp_path: Path) -> None:
    """An export sorted otherwise (by posting date, by payer, not at all) is the same audit.

    The generated lines hold Medicare claims crossed over to Medicaid, credit lines and the charges they
    reverse, and days of two doses above the MUE: wherever a finding could sit on one of several equal
    lines, the same line is chosen, so the findings and their dollars are the same bytes.
    """
    generate(40_000, seed=3, out=tmp_path, workers=1)
    lines = pl.read_parquet(tmp_path / "claims")
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    lines.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(shuffled / "part.parquet")
    for claims in ("claims", "shuffled"):
        _audit(tmp_path / claims, tmp_path / f"out-{claims}", threads=2)
    as_billed, other = tmp_path / "out-claims", tmp_path / "out-shuffled"
    findings = pl.read_parquet(as_billed / "findings.parquet")
    assert findings["message"].str.contains("The same service is also billed on claim").sum() > 0
    assert findings.n_unique("rule_id") == 4
    for name in ("findings.parquet", "findings.csv"):
        assert (as_billed / name).read_bytes() == (other / name).read_bytes(), name
    summaries = [json.loads((out / "summary.json").read_text(encoding="utf-8")) for out in (as_billed, other)]
    assert summaries[0]["reversals"]["credit_lines"] > 0
    for key in ("findings", "estimated_total", "rules", "reversals"):
        assert summaries[0][key] == summaries[1][key], key
