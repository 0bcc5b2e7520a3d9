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
        listed = self.codes()
        if listed is not None:
            # NOTE: a hash lookup in the listed codes is 5x faster than comparing with every range.
            return code.is_in(pl.Series(listed, dtype=pl.String()).implode()).fill_null(False)
        hits = [
            (code.str.len_chars() == len(low)) & code.is_between(pl.lit(low), pl.lit(high)) for low, high in self.ranges
        ]
        return pl.any_horizontal(hits).fill_null(False)

    def codes(self) -> list[str] | None:
        """Every code of the set, when each range is a letter prefix and a number (J0120-J9999); else None.

        >>> CodeSet("x", "x", "x", (("J0120", "J0122"), ("99070", "99070"))).codes()
        ['J0120', 'J0121', 'J0122', '99070']
        """
        return _listed(self.ranges)


@cache
def _listed(ranges: tuple[tuple[str, str], ...]) -> list[str] | None:
    listed: list[str] = []
    for low, high in ranges:
        prefix = low.rstrip("0123456789")
        digits = len(low) - len(prefix)
        if not digits or len(high) != len(low) or not high.startswith(prefix) or not high[len(prefix) :].isdigit():
            return None
        listed += [f"{prefix}{n:0{digits}d}" for n in range(int(low[len(prefix) :]), int(high[len(prefix) :]) + 1)]
    return listed


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


def any_codeset(*names: str) -> CodeSet:
    """One set of every code of the shipped sets called ``names``.

    For filtering first: one look-up per line keeps the lines a rule reads, and the rule tells the sets
    apart on those lines only (on 100 M lines, most of which no rule reads, each look-up costs seconds).

    >>> merged = any_codeset("hydration_admin", "drug_admin")
    >>> codes = pl.DataFrame({"code": ["96360", "96372", "J3301"]})
    >>> codes.select(merged.contains(pl.col("code")))["code"].to_list()
    [True, True, False]
    """
    sets = [codeset(name) for name in names]
    return CodeSet(
        " | ".join(names),
        "; ".join(s.title for s in sets),
        "; ".join(s.source for s in sets),
        tuple(r for s in sets for r in s.ranges),
    )
