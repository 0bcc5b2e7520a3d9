"""Time leakaudit against DuckDB, pandas and a raw scan on the same generated claim lines.

    python bench/run.py --lines 10000000 [--data DIR] [--memory-cap GB] [--repeat K]
                        [--skip pandas,duckdb,duckdbcapped,duckdbvalidated,csv,report,novalidation,manyfiles,onefile]

Each contender runs in its own process; wall time and peak resident memory (from wait4) are measured
for that process alone. A contender whose resident memory passes ``--memory-cap`` (default: 85% of this
machine's memory) is stopped and reported as such, so that one that cannot fit (pandas at 100 M lines)
is measured instead of taking the machine down. Prints a Markdown table for bench/RESULTS.md, whether
each DuckDB and pandas version found as many hits per rule as leakaudit (else its time is not a fair
comparison), and the accuracy of every rule against the planted truth. The DuckDB and pandas versions
implement the rules' detection only (no pricing, no report), with every check of each rule (the drug
units against the NDC dose, directly or through the CMS crosswalk, the MUE and the provider's typical
units); leakaudit also validates every row, prices every finding and writes its outputs.
``no_validation.py`` (for the analysis only) runs leakaudit's rules and pricing on
the generated Parquet without validating it; ``duckdb_validated.py`` (also for the analysis) gives DuckDB
the same validation and work file as leakaudit before its detections; ``duckdbcapped`` runs the DuckDB
SQL held to the memory the audit took (``memory_limit``, spilling to disk). ``split_files.py`` cuts the
generated lines into 1,000 files, as daily exports arrive, for the "many files" run, whose findings must
be byte-identical to those of the whole; the "one file" run audits them all in a single Parquet file, as
a year's export may come, whose memory must not grow with the file's size. With ``--repeat K``, the
contenders run in K rounds, each in turn within a round, and the table gives each one's median wall time
and every run's: this machine's wall times vary by 10-30% from one run to the next, and by the hour.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
LEAKAUDIT = str(Path(PYTHON).with_name("leakaudit"))


def measure(label: str, command: list[str], memory_cap_gb: float) -> dict[str, object]:
    """Run ``command``; return its wall time (s) and peak RSS (GB), stopping it past ``memory_cap_gb``."""
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out_file, stderr=err_file, env=os.environ | {"CI": "1"}, start_new_session=True
        )
        capped = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if not capped and _resident_gb(process.pid) > memory_cap_gb:
                capped = True
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.02)  # the wall time is known to 20 ms
        wall = time.perf_counter() - start
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read().decode(), err_file.read().decode()
    ok = os.waitstatus_to_exitcode(status) == 0
    if capped:
        print(
            f"{label} stopped: resident memory passed the {memory_cap_gb:g} GB cap after {wall:.0f} s", file=sys.stderr
        )
    elif not ok:
        print(f"{label} FAILED:\n{err[-3000:]}", file=sys.stderr)
    row = {
        "contender": label,
        "wall_s": round(wall, 1),
        "peak_rss_gb": round(usage.ru_maxrss / 1024**2, 2),
        "ok": ok,
        "capped": capped,
        "output": out.strip().splitlines()[-1] if out.strip() else "",
    }
    print(row, flush=True)
    return row | {"stdout": out}


#: The contender every other is compared with.
AUDIT = "leakaudit audit --findings-only"
#: The names the DuckDB and pandas versions print their rules' hit counts under.
DETECTION_NAMES = {
    "drug_admin": "drug-admin-without-drug",
    "brace": "brace-without-lcode",
    "jcode": "jcode-unit-mismatch",
    "expired": "expired-code",
}


def detection_counts(stdout: str) -> dict[str, int]:
    """The hits per rule a DuckDB or pandas version printed ("drug_admin 56176 brace 20236 ...")."""
    words = stdout.split()
    return {DETECTION_NAMES[name]: int(count) for name, count in pairwise(words) if name in DETECTION_NAMES}


def _resident_gb(pid: int) -> float:
    """The resident memory of process ``pid`` now, in GB (0 once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kilobytes = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return kilobytes / 1024**2


def _memory_gb() -> float:
    """This machine's memory in GB."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    return int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal"))) / 1024**2


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({cpu}), {_memory_gb():.0f} GB RAM, Python {platform.python_version()}, Polars {pl.__version__}"


@dataclass
class Contender:
    """A contender of the race: its label in the table and the command it runs."""

    label: str
    #: Built when it runs: the memory-limited DuckDB is held to what the audit took in the first round.
    command: Callable[[], list[str]]
    #: Run after each of its runs (a check of its outputs).
    after: Callable[[], None] | None = None


def summary(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One contender's runs as a row of the table: the median wall time, every run's, and the highest peak RSS.

    A contender failed or stopped at the cap if any run of it did. The median of an even number of runs is
    the mean of the middle two.

    >>> runs = [{"wall_s": w, "peak_rss_gb": m, "ok": True, "capped": False, "stdout": ""} for w, m in
    ...         [(14.2, 1.4), (12.9, 1.5), (16.3, 1.4)]]
    >>> row = summary(runs)
    >>> row["wall_s"], row["runs_s"], row["peak_rss_gb"], row["ok"]
    (14.2, [14.2, 12.9, 16.3], 1.5, True)
    >>> summary(runs[:2])["wall_s"]
    13.6
    """
    walls = [float(r["wall_s"]) for r in runs]
    return runs[-1] | {
        "wall_s": round(statistics.median(walls), 1),
        "runs_s": walls,
        "peak_rss_gb": max(float(r["peak_rss_gb"]) for r in runs),
        "ok": all(r["ok"] for r in runs),
        "capped": any(r["capped"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated: pandas, duckdb, duckdbcapped, duckdbvalidated, csv, report, novalidation, manyfiles, onefile",
    )
    parser.add_argument("--memory-cap", type=float, default=round(0.85 * _memory_gb(), 1), help="GB per contender")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of the race: every contender runs once a round, in turn, and its median is compared",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    data = args.data or ROOT / "bench-data" / f"lines-{args.lines}"
    csv_data = data.with_name(data.name + "-csv")
    claims, reference, out = data / "claims", data / "reference", data / "out"
    generate = [LEAKAUDIT, "generate", "--lines", str(args.lines), "--seed", "1", "--out"]
    runs: dict[str, list[dict[str, Any]]] = {}

    def run(label: str, command: list[str]) -> None:
        runs.setdefault(label, []).append(measure(label, command, args.memory_cap))

    # Generating runs once, before the race.
    if not (data / "truth.parquet").exists():
        run("generate (parquet)", [*generate, str(data)])
    if "csv" not in skip and not (csv_data / "truth.parquet").exists():
        run("generate (csv)", [*generate, str(csv_data), "--format", "csv"])
    subprocess.run([PYTHON, str(HERE / "common.py"), str(reference)], check=True)

    contenders = [
        Contender(
            "raw Polars scan of the needed columns",
            lambda: [PYTHON, str(HERE / "raw_scan.py"), str(claims / "*.parquet")],
        ),
        Contender(AUDIT, lambda: [LEAKAUDIT, "audit", str(claims), "--out", str(out), "--findings-only"]),
    ]

    def same_lines_in(files: int, name: str, label: str, which: str, whose: str) -> Contender:
        """The audit of the bench lines cut into ``files`` files (cut once, in ``claims-<name>``).

        After each run, says whether its findings are byte-identical to those of the lines as generated.
        """
        pieces, pieces_out = data / f"claims-{name}", data / f"out-{name}"
        if not pieces.exists():
            subprocess.run(
                [PYTHON, str(HERE / "split_files.py"), str(claims), str(pieces), "--files", str(files)], check=True
            )

        def same_findings() -> None:
            same = (pieces_out / "findings.parquet").read_bytes() == (out / "findings.parquet").read_bytes()
            print(f"findings of {which} {'are' if same else 'are NOT'} byte-identical to {whose}", flush=True)

        return Contender(
            label,
            lambda: [LEAKAUDIT, "audit", str(pieces), "--out", str(pieces_out), "--findings-only"],
            same_findings,
        )

    if "manyfiles" not in skip:
        contenders.append(
            same_lines_in(
                1000,
                "1000-files",
                "leakaudit audit --findings-only, the same lines in 1,000 files",
                "the 1,000 files",
                "the whole's",
            )
        )
    if "onefile" not in skip:
        # One large export file: the reader's memory must not grow with a file's size.
        contenders.append(
            same_lines_in(
                1,
                "one-file",
                "leakaudit audit --findings-only, the same lines in one file",
                "the one file",
                "the parts'",
            )
        )
    if "report" not in skip:
        contenders.append(
            Contender(
                "leakaudit audit (with report and xlsx)",
                lambda: [LEAKAUDIT, "audit", str(claims), "--out", str(data / "out-report")],
            )
        )
    if "novalidation" not in skip:
        contenders.append(
            Contender(
                "leakaudit rules and pricing, no validation (analysis only)",
                lambda: [PYTHON, str(HERE / "no_validation.py"), str(claims)],
            )
        )
    if "duckdb" not in skip:
        contenders.append(
            Contender(
                "DuckDB SQL (detection only)",
                lambda: [PYTHON, str(HERE / "duckdb_rules.py"), str(claims / "*.parquet"), str(reference)],
            )
        )

    def limit() -> str:
        return f"{max(float(str(runs[AUDIT][0]['peak_rss_gb'])), 0.5):.2f}GB"

    if "duckdbcapped" not in skip:
        # DuckDB given the memory the audit took in the first round (it spills the rest to disk): at 100 M
        # lines its windows over the drug lines took 12.7 GB unlimited, three times the audit's.
        contenders.append(
            Contender(
                "DuckDB SQL (detection only), memory limited to the audit's peak RSS",
                lambda: [
                    PYTHON,
                    str(HERE / "duckdb_rules.py"),
                    str(claims / "*.parquet"),
                    str(reference),
                    limit(),
                    str(data / "duckdb-spill"),
                ],
            )
        )
    if "duckdbvalidated" not in skip:
        contenders.append(
            Contender(
                "DuckDB SQL after leakaudit's validation (detection only)",
                lambda: [
                    PYTHON,
                    str(HERE / "duckdb_validated.py"),
                    str(claims / "*.parquet"),
                    str(reference),
                    str(data / "duckdb-work"),
                ],
            )
        )
    if "pandas" not in skip:
        contenders.append(
            Contender(
                "pandas (detection only)",
                lambda: [PYTHON, str(HERE / "pandas_rules.py"), str(claims), str(reference)],
            )
        )
    if "csv" not in skip:
        contenders.append(
            Contender(
                "leakaudit audit --findings-only, CSV input",
                lambda: [
                    LEAKAUDIT,
                    "audit",
                    str(csv_data / "claims"),
                    "--out",
                    str(csv_data / "out"),
                    "--findings-only",
                ],
            )
        )
    # NOTE: the rounds interleave the contenders, so that a slow hour of the machine slows them all alike
    # rather than whichever ran in it.
    for _round in range(args.repeat):
        for contender in contenders:
            run(contender.label, contender.command())
            if contender.after is not None:
                contender.after()

    results = [summary(label_runs) for label_runs in runs.values()]
    base = next(r for r in results if r["contender"] == AUDIT)
    # The lines audited: with --data, as many as that directory holds, whatever --lines says.
    lines = pl.scan_parquet(claims).select(pl.len()).collect().item()
    rounds = f", the median of {args.repeat} rounds" if args.repeat > 1 else ""
    print(f"\n### {lines:,} lines{rounds}\n\nMachine: {machine()}\n")
    print("| contender | wall (s) | runs (s) | peak RSS (GB) | leakaudit / this |\n|---|---:|---:|---:|---:|")
    for row in results:
        ratio = f"{float(base['wall_s']) / float(row['wall_s']):.2f}" if row["ok"] and row["wall_s"] else "—"
        status = f" (stopped at the {args.memory_cap:g} GB cap)" if row["capped"] else "" if row["ok"] else " (failed)"
        each = ", ".join(f"{w:.1f}" for w in row["runs_s"])
        print(f"| {row['contender']}{status} | {row['wall_s']} | {each} | {row['peak_rss_gb']} | {ratio} |")
    if "duckdbcapped" not in skip:
        print(f"\nThe memory-limited DuckDB was held to {limit()}, the audit's peak RSS in the first round.")

    findings = pl.read_parquet(out / "findings.parquet")
    # NOTE: a ratio only means something if the other versions find what leakaudit finds.
    ours = dict(findings.group_by("rule_id").len().iter_rows())
    print()
    for row in results:
        theirs = detection_counts(str(row["stdout"])) if row["ok"] else {}
        if theirs:
            same = theirs == ours
            print(f"{row['contender']}: {'the same' if same else 'NOT the same'} hits per rule as leakaudit {theirs}")

    from leakaudit.generate import score

    scored = score(findings, pl.read_parquet(data / "truth.parquet"))
    print("\nAccuracy against the planted truth:\n")
    print("| rule | planted | found | precision | recall | estimated $ | true $ |\n|---|---:|---:|---:|---:|---:|---:|")
    for r in scored.iter_rows(named=True):
        print(
            f"| {r['rule_id']} | {r['planted']} | {r['found']} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['estimated']:,.0f} | {r['true_amount']:,.0f} |"
        )


if __name__ == "__main__":
    main()
