"""Cut generated claim lines into many files, as a practice's daily or weekly exports arrive.

    python bench/split_files.py CLAIMS_DIR OUT_DIR --files 1000 [--format parquet|csv] [--null-share P]

The lines keep their order, so an audit of the pieces must give the same findings as an audit of the
whole; ``bench/run.py`` times it as the "many files" contender. ``--null-share P`` (Parquet) writes each
optional column of a piece, with probability P, all null and Null-typed, as an export stores a column
left empty all day: the pieces then have many schemas (and other findings than the whole).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import polars as pl

#: Optional columns a day's export may leave empty.
OPTIONAL = (
    "modifiers",
    "allowed_amount",
    "diagnosis_codes",
    "ndc",
    "ndc_quantity",
    "ndc_unit",
    "description",
    "revenue_code",
    "place_of_service",
)


def split(claims: Path, out: Path, files: int, file_format: str = "parquet", null_share: float = 0.0) -> int:
    """Write the lines of ``claims`` (Parquet) to ``files`` files of nearly equal length in ``out``.

    Returns how many distinct sets of Null-typed columns the files have.
    """
    lines = pl.scan_parquet(claims)
    total = lines.select(pl.len()).collect().item()
    step = -(-total // files)
    out.mkdir(parents=True, exist_ok=True)
    draw = random.Random(1)
    schemas = set()
    for part in range(files):
        empty = tuple(name for name in OPTIONAL if draw.random() < null_share)
        schemas.add(empty)
        piece = lines.slice(part * step, step).with_columns(pl.lit(None).alias(name) for name in empty)
        if file_format == "csv":
            piece.sink_csv(out / f"part-{part:05d}.csv")
        else:
            piece.sink_parquet(out / f"part-{part:05d}.parquet")
    return len(schemas)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("claims", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--null-share", type=float, default=0.0)
    args = parser.parse_args()
    schemas = split(args.claims, args.out, args.files, args.format, args.null_share)
    if args.null_share:
        print(f"{schemas} sets of Null-typed columns in {args.files} files")
