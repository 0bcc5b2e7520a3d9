"""Time leakaudit against DuckDB, pandas and a raw scan on the same generated claim lines.

    python bench/run.py --lines 10000000 [--data DIR] [--skip pandas,duckdb,csv,report] [--keep]

Each contender runs in its own process; wall time and peak resident memory (from wait4) are measured
for that process alone. Prints a Markdown table for bench/RESULTS.md, and the accuracy of every rule
against the planted truth. The DuckDB and pandas versions implement the rules' detection only (no
pricing, no report); leakaudit also prices every finding and writes its outputs.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
LEAKAUDIT = str(Path(PYTHON).with_name("leakaudit"))


def measure(label: str, command: list[str]) -> dict[str, object]:
    """Run ``command``; return its wall time (s) and peak RSS (GB)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ | {"CI": "1"})
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok:
        print(f"{label} FAILED:\n{err[-3000:]}", file=sys.stderr)
    row = {
        "contender": label,
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 2),
        "ok": ok,
        "output": out.strip().splitlines()[-1] if out.strip() else "",
    }
    print(row, flush=True)
    return row


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 1024**2
    )
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB RAM, Python {platform.python_version()}, Polars {pl.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--skip", default="", help="comma-separated: pandas, duckdb, csv, report")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    data = args.data or ROOT / "bench-data" / f"lines-{args.lines}"
    results = []
    if not (data / "truth.parquet").exists():
        results.append(
            measure(
                "generate (parquet)",
                [LEAKAUDIT, "generate", "--lines", str(args.lines), "--seed", "1", "--out", str(data)],
            )
        )
    reference = data / "reference"
    subprocess.run([PYTHON, str(HERE / "common.py"), str(reference)], check=True)
    claims = data / "claims"
    results.append(
        measure("raw Polars scan of the needed columns", [PYTHON, str(HERE / "raw_scan.py"), str(claims / "*.parquet")])
    )
    out = data / "out"
    results.append(
        measure(
            "leakaudit audit --findings-only", [LEAKAUDIT, "audit", str(claims), "--out", str(out), "--findings-only"]
        )
    )
    if "report" not in skip:
        results.append(
            measure(
                "leakaudit audit (with report and xlsx)",
                [LEAKAUDIT, "audit", str(claims), "--out", str(data / "out-report")],
            )
        )
    if "duckdb" not in skip:
        results.append(
            measure(
                "DuckDB SQL (detection only)",
                [PYTHON, str(HERE / "duckdb_rules.py"), str(claims / "*.parquet"), str(reference)],
            )
        )
    if "pandas" not in skip:
        results.append(
            measure("pandas (detection only)", [PYTHON, str(HERE / "pandas_rules.py"), str(claims), str(reference)])
        )
    if "csv" not in skip:
        csv_data = data.with_name(data.name + "-csv")
        if not (csv_data / "truth.parquet").exists():
            results.append(
                measure(
                    "generate (csv)",
                    [
                        LEAKAUDIT,
                        "generate",
                        "--lines",
                        str(args.lines),
                        "--seed",
                        "1",
                        "--out",
                        str(csv_data),
                        "--format",
                        "csv",
                    ],
                )
            )
        results.append(
            measure(
                "leakaudit audit --findings-only, CSV input",
                [LEAKAUDIT, "audit", str(csv_data / "claims"), "--out", str(csv_data / "out"), "--findings-only"],
            )
        )

    base = next(r for r in results if r["contender"] == "leakaudit audit --findings-only")
    print(f"\n### {args.lines:,} lines\n\nMachine: {machine()}\n")
    print("| contender | wall (s) | peak RSS (GB) | leakaudit / this |\n|---|---:|---:|---:|")
    for row in results:
        ratio = f"{float(base['wall_s']) / float(row['wall_s']):.2f}" if row["ok"] and row["wall_s"] else "—"
        status = "" if row["ok"] else " (failed)"
        print(f"| {row['contender']}{status} | {row['wall_s']} | {row['peak_rss_gb']} | {ratio} |")

    from leakaudit.generate import score

    scored = score(pl.read_parquet(out / "findings.parquet"), pl.read_parquet(data / "truth.parquet"))
    print("\nAccuracy against the planted truth:\n")
    print("| rule | planted | found | precision | recall | estimated $ | true $ |\n|---|---:|---:|---:|---:|---:|---:|")
    for r in scored.iter_rows(named=True):
        print(
            f"| {r['rule_id']} | {r['planted']} | {r['found']} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['estimated']:,.0f} | {r['true_amount']:,.0f} |"
        )


if __name__ == "__main__":
    main()
