"""The orthotics vocabulary: words that name an orthosis, and how to tell which body region it is for.

Read from ``data/orthotics.toml`` and, optionally, a user's file in the same format that extends it
(``leakaudit audit --orthotics FILE``): keywords are added; regions are merged by name (their terms,
diagnosis prefixes, L-code ranges and typical codes added), new regions come after the shipped ones.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from leakaudit.engine import mapped
from leakaudit.io import InputError, check_keys, read_toml
from leakaudit.refdata.codesets import CodeSet


@dataclass(frozen=True)
class Region:
    """A body region: how descriptions and diagnoses name it, and its L-codes."""

    name: str
    terms: tuple[str, ...]
    diagnosis_prefixes: tuple[str, ...]
    lcode_ranges: tuple[tuple[str, str], ...]
    typical_lcodes: tuple[str, ...]


@dataclass(frozen=True)
class Orthotics:
    """Keywords that name an orthosis, and the regions in the order they are tried."""

    keywords: tuple[str, ...]
    regions: tuple[Region, ...]
    sources: tuple[str, ...]

    def names_orthosis(self, description: pl.Expr) -> pl.Expr:
        """The description names an orthosis (whole-word, case-insensitive)."""
        return description.str.contains(_words(self.keywords)).fill_null(False)

    def region_of_description(self, description: pl.Expr) -> pl.Expr:
        """The first region whose terms the description names, else null."""
        return _first_region([(description.str.contains(_words(r.terms)), r.name) for r in self.regions])

    def region_of_diagnoses(self, diagnosis_codes: pl.Expr) -> pl.Expr:
        """The first region one of whose ICD-10-CM prefixes starts one of the ``;``-separated codes."""
        undotted = pl.concat_str(pl.lit(";"), diagnosis_codes.str.replace_all(".", "", literal=True))
        return _first_region(
            [
                (
                    undotted.str.contains(
                        ";(" + "|".join(re.escape(p.replace(".", "")) for p in r.diagnosis_prefixes) + ")"
                    ),
                    r.name,
                )
                for r in self.regions
            ]
        )

    def region_of_lcode(self, code: pl.Expr) -> pl.Expr:
        """The region an L-code is for, from the regions' L-code ranges, else null."""
        return _first_region(
            [(CodeSet(r.name, r.name, "orthotics.toml", r.lcode_ranges).contains(code), r.name) for r in self.regions]
        )

    def typical_codes(self, region: pl.Expr) -> pl.Expr:
        """The typical L-codes of a region as ``"L1810, L1812, ..."`` text, null for an unknown region."""
        return mapped(
            region, {r.name: ", ".join(r.typical_lcodes) for r in self.regions if r.typical_lcodes}, dtype=pl.String()
        )


def _first_region(cases: list[tuple[pl.Expr, str]]) -> pl.Expr:
    """The name of the first region whose condition holds, else null (regions are tried in order)."""
    chain: Any = pl
    for condition, name in cases:
        chain = chain.when(condition).then(pl.lit(name))
    result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.String())) if cases else pl.lit(None, pl.String())
    return result


def _words(terms: tuple[str, ...]) -> str:
    return r"(?i)\b(" + "|".join(re.escape(t) for t in terms) + r")\b"


def _regions(data: dict[str, Any], label: str) -> list[Region]:
    for entry in data.get("regions", []):
        if isinstance(entry, dict):
            check_keys(entry, _REGION_KEYS, f"{label}: [[regions]] {entry.get('name', '')!r}")
    try:
        return [
            Region(
                name=str(entry["name"]),
                terms=tuple(entry.get("terms", [])),
                diagnosis_prefixes=tuple(entry.get("diagnosis_prefixes", [])),
                lcode_ranges=tuple((lo, hi) for lo, hi in entry.get("lcode_ranges", [])),
                typical_lcodes=tuple(entry.get("typical_lcodes", [])),
            )
            for entry in data.get("regions", [])
        ]
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{label}: each [[regions]] entry needs a name and lists of strings ({err})") from None


def load_orthotics(extra: Path | None = None) -> Orthotics:
    """The shipped vocabulary, extended by ``extra`` when given."""
    shipped = resources.files("leakaudit.refdata").joinpath("data/orthotics.toml").read_text(encoding="utf-8")
    base = tomllib.loads(shipped)
    keywords = list(base["keywords"])
    regions = {r.name: r for r in _regions(base, "orthotics.toml")}
    sources = ["orthotics.toml (shipped)"]
    if extra is not None:
        path = Path(extra)
        more = read_toml(path, "orthotics file", ("keywords", "regions"))
        added = more.get("keywords", [])
        if not isinstance(added, list) or not all(isinstance(k, str) for k in added):
            raise InputError(f'{path}: keywords must be a list of strings, e.g. keywords = ["wrist splint"]')
        keywords += [k for k in added if k not in keywords]
        for region in _regions(more, str(path)):
            old = regions.get(region.name)
            if old is None:
                regions[region.name] = region
                continue
            regions[region.name] = Region(
                name=old.name,
                terms=old.terms + region.terms,
                diagnosis_prefixes=old.diagnosis_prefixes + region.diagnosis_prefixes,
                lcode_ranges=old.lcode_ranges + region.lcode_ranges,
                typical_lcodes=old.typical_lcodes
                + tuple(c for c in region.typical_lcodes if c not in old.typical_lcodes),
            )
        sources.append(str(path))
    return Orthotics(tuple(keywords), tuple(regions.values()), tuple(sources))


#: The keys of a ``[[regions]]`` entry.
_REGION_KEYS = ("name", "terms", "diagnosis_prefixes", "lcode_ranges", "typical_lcodes")
