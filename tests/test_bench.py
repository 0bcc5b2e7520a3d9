"""The benchmark's contenders find what the audit finds: else bench/run.py's ratios compare unlike work.

Each runs as bench/run.py runs it, in its own process, on generated lines that hold every planted error
and every decoy (credit lines, JW waste, administrations in the outpatient hospital).
"""

from __future__ import annotations

import doctest
import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

from leakaudit.generate import generate
from leakaudit.pipeline import run_audit
from leakaudit.rules.drug_admin_without_drug import is_drug_product

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as an import would: its dataclasses look their module up.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _script(name: str, *args: Path | str) -> str:
    """What ``bench/<name>.py`` printed, run with ``args``."""
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *map(str, args)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    generate(40_000, seed=11, out=out, workers=1)
    _script("common", out / "reference")
    return out


@pytest.fixture(scope="module")
def audited(data: Path) -> pl.DataFrame:
    return run_audit([data / "claims"], data / "out", findings_only=True).findings


@pytest.mark.parametrize(
    ("contender", "arguments"),
    [
        ("duckdb_rules", ("claims/*.parquet", "reference")),
        ("duckdb_validated", ("claims/*.parquet", "reference", "duckdb-work")),
        ("pandas_rules", ("claims", "reference")),
    ],
)
def test_each_contender_finds_the_audits_hits_per_rule(
    data: Path, audited: pl.DataFrame, contender: str, arguments: tuple[str, ...]
) -> None:
    printed = _script(contender, *(data / a for a in arguments))
    ours = dict(audited.group_by("rule_id").len().iter_rows())
    assert len(ours) == 4 and min(ours.values()) > 50
    assert _bench_run().detection_counts(printed) == ours


def test_duckdb_held_to_a_memory_limit_finds_the_same_hits(data: Path, audited: pl.DataFrame) -> None:
    printed = _script("duckdb_rules", data / "claims/*.parquet", data / "reference", "0.3GB", data / "spill")
    assert _bench_run().detection_counts(printed) == dict(audited.group_by("rule_id").len().iter_rows())


def test_the_analysis_without_validation_prices_what_the_audit_prices(data: Path, audited: pl.DataFrame) -> None:
    words = _script("no_validation", data / "claims").split()
    assert words[:2] == ["findings", str(audited.height)]
    assert Decimal(words[3]) == audited["estimated_amount"].sum()


def test_a_race_of_several_rounds_compares_each_contenders_median() -> None:
    module = _bench_run()
    failures, tried = doctest.testmod(module)
    assert tried >= 3 and failures == 0
    runs = [
        {"contender": "x", "wall_s": wall, "peak_rss_gb": 1.0, "ok": ok, "capped": False, "stdout": ""}
        for wall, ok in [(9.0, True), (30.0, True), (10.0, False), (11.0, True)]
    ]
    row = module.summary(runs)
    assert (row["wall_s"], row["runs_s"], row["ok"]) == (10.5, [9.0, 30.0, 10.0, 11.0], False)


def test_drug_heavy_lines_copy_each_claim_with_a_drug_and_its_findings(
    data: Path, audited: pl.DataFrame, tmp_path: Path
) -> None:
    """bench/drug_heavy.py: each copy of a claim with a drug line is a claim of its own holding the original's
    errors, so the drug lines and jcode-unit-mismatch's findings are three times the original's with two copies."""
    out = tmp_path / "heavy"
    _script("drug_heavy", data / "claims", out, "--copies", "2")
    original, heavy = pl.scan_parquet(data / "claims"), pl.scan_parquet(out)
    drug = is_drug_product(pl.col("procedure_code"))
    claims_with_drug = original.filter(drug).select("claim_id").unique()
    copied = original.join(claims_with_drug, on="claim_id", how="semi").select(pl.len()).collect().item()
    assert heavy.select(pl.len()).collect().item() == original.select(pl.len()).collect().item() + 2 * copied
    assert (
        heavy.filter(drug).select(pl.len()).collect().item()
        == 3 * original.filter(drug).select(pl.len()).collect().item()
    )
    found = run_audit([out], tmp_path / "out", findings_only=True).findings
    jcode = pl.col("rule_id") == "jcode-unit-mismatch"
    assert found.filter(jcode).height == 3 * audited.filter(jcode).height > 0
