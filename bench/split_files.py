"""Cut generated claim lines into many files, as a practice's daily or weekly exports arrive.

    python bench/split_files.py CLAIMS_DIR OUT_DIR --files 1000 [--format parquet|csv]

The lines keep their order, so an audit of the pieces must give the same findings as an audit of the
whole; ``bench/run.py`` times it as the "many files" contender.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl


def split(claims: Path, out: Path, files: int, file_format: str = "parquet") -> None:
    """Write the lines of ``claims`` (Parquet) to ``files`` files of nearly equal length in ``out``."""
    lines = pl.scan_parquet(claims)
    total = lines.select(pl.len()).collect().item()
    step = -(-total // files)
    out.mkdir(parents=True, exist_ok=True)
    for part in range(files):
        piece = lines.slice(part * step, step)
        if file_format == "csv":
            piece.sink_csv(out / f"part-{part:05d}.csv")
        else:
            piece.sink_parquet(out / f"part-{part:05d}.parquet")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args()
    split(args.claims, args.out, args.files, args.format)
