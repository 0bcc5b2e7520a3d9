"""Named sets of procedure codes, read from ``data/codesets.toml`` (each set names its source).

Codes are compared as text within ranges of equal length, which is exact for five-character CPT
and HCPCS codes: ``"J0120" <= code <= "J9999"``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl


@dataclass(frozen=True)
class CodeSet:
    """A named set of codes given as inclusive ranges."""

    name: str
    title: str
    source: str
    ranges: tuple[tuple[str, str], ...]

    def contains(self, code: pl.Expr) -> pl.Expr:
        """Boolean expression: ``code`` falls in one of the ranges.

        >>> s = CodeSet("x", "x", "x", (("J0120", "J9999"),))
        >>> pl.select(s.contains(pl.lit("J3301"))).item()
        True
        """
        hits = [
            (code.str.len_chars() == len(low)) & code.is_between(pl.lit(low), pl.lit(high)) for low, high in self.ranges
        ]
        return pl.any_horizontal(hits).fill_null(False)


@cache
def codesets() -> dict[str, CodeSet]:
    """Every shipped code set by name."""
    text = resources.files("leakaudit.refdata").joinpath("data/codesets.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {
        name: CodeSet(name, entry["title"], entry["source"], tuple((lo, hi) for lo, hi in entry["ranges"]))
        for name, entry in data.items()
    }


def codeset(name: str) -> CodeSet:
    """The shipped code set called ``name``."""
    return codesets()[name]
