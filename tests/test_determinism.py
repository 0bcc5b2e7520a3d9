"""The same input gives byte-identical outputs whatever the number of threads that audit it.

Polars's streaming engine does not keep row order, and the order it gives depends on how the threads
share the work: every output is sorted explicitly. Each audit runs in its own process, since Polars
sizes its thread pool when it is imported (``POLARS_MAX_THREADS``).
"""

from __future__ import annotations

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
