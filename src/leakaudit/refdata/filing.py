"""Timely-filing limits: how many days after the date of service a payer still accepts a claim.

Read from ``data/timely_filing.toml`` (defaults by payer type, each with its source) and, optionally, a
user's file of the same format that overrides payer types under ``[days]`` or single payers under
``[payers]``. Findings carry the resulting ``filing_deadline``; the report splits leakage into what can
still be rebilled and what is past its deadline.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import polars as pl

from leakaudit.engine import mapped
from leakaudit.io import InputError, read_toml
from leakaudit.schema import PAYER_TYPES


@dataclass(frozen=True)
class FilingLimits:
    """Days allowed by payer type, with overrides by payer id."""

    by_payer_type: dict[str, int]
    by_payer: dict[str, int] = field(default_factory=dict)

    def deadline(self) -> pl.Expr:
        """``service_date`` plus the payer's limit (payer id first, then payer type, then ``other``)."""
        fallback = self.by_payer_type["other"]
        days = mapped(pl.col("payer_type"), self.by_payer_type, default=pl.lit(fallback, pl.Int64), dtype=pl.Int64())
        if self.by_payer:
            days = mapped(pl.col("payer_id"), self.by_payer, default=days, dtype=pl.Int64())
        return pl.col("service_date") + pl.duration(days=days.fill_null(fallback))


def _days(table: object, label: str, allowed: tuple[str, ...] | None) -> dict[str, int]:
    if not isinstance(table, dict) or not all(isinstance(v, int) and v > 0 for v in table.values()):
        raise InputError(f"{label}: limits must be whole numbers of days, e.g. commercial = 90")
    if allowed is not None and (unknown := sorted(set(table) - set(allowed))):
        raise InputError(f"{label}: [days] names unknown payer type(s) {', '.join(unknown)}; use {', '.join(allowed)}")
    return {str(k): int(v) for k, v in table.items()}


def load_filing_limits(extra: Path | None = None) -> FilingLimits:
    """The shipped limits, overridden by ``extra`` when given."""
    text = resources.files("leakaudit.refdata").joinpath("data/timely_filing.toml").read_text(encoding="utf-8")
    base = tomllib.loads(text)
    by_type = _days(base["days"], "timely_filing.toml", PAYER_TYPES)
    by_payer = _days(base.get("payers", {}), "timely_filing.toml", None)
    if extra is not None:
        more = read_toml(extra, "filing limits file", ("days", "payers"))
        by_type |= _days(more.get("days", {}), str(extra), PAYER_TYPES)
        by_payer |= _days(more.get("payers", {}), str(extra), None)
    return FilingLimits(by_type, by_payer)
