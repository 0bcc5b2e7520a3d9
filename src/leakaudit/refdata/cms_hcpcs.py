"""Importer for the CMS HCPCS Level II alpha-numeric file (quarterly, e.g. ``HCPC2025_JAN_ANWEB``).

Reads the fixed-width record file as published (``*_ANWEB_*.txt``: 320-byte records, record
identification 3/7 for a procedure/modifier's first line, 4/8 for continuations), the zip CMS ships
it in, or the xlsx/CSV version of the same file. Keeps, per code: the short description, the first
pricing indicator, the coverage code, the cross-reference codes (the replacement of a discontinued
code), and the add, action-effective and termination dates with the action code.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl

from leakaudit.io import InputError
from leakaudit.refdata.tables import read_cms_table

DATASET = "hcpcs"
SCHEMA = pl.Schema(
    {
        "code": pl.String(),
        "record": pl.String(),
        "short_description": pl.String(),
        "pricing_indicator": pl.String(),
        "coverage": pl.String(),
        "xref": pl.String(),
        "add_date": pl.Date(),
        "action_effective_date": pl.Date(),
        "termination_date": pl.Date(),
        "action_code": pl.String(),
    }
)
RECORD_KIND = {"3": "procedure", "7": "modifier"}
_ANWEB = re.compile(r"anweb.*\.(txt|xlsx|csv)$", re.IGNORECASE)


def parse(path: Path) -> tuple[pl.DataFrame, str]:
    """Read one HCPCS release file into :data:`SCHEMA` (the release comes from the file name)."""
    return _parse(path), ""


def _parse(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if _ANWEB.search(n) and "correction" not in n.lower())
            text_members = [n for n in members if n.lower().endswith(".txt")]
            if not text_members:
                raise InputError(f"{path}: the zip holds no *ANWEB*.txt HCPCS record file")
            return _parse_fixed_width(archive.read(text_members[0]).decode("latin-1"), f"{path}!{text_members[0]}")
    if suffix == ".txt":
        return _parse_fixed_width(path.read_bytes().decode("latin-1"), str(path))
    return _parse_table(path)


def _date(text: str) -> dt.date | None:
    text = text.strip()
    return dt.datetime.strptime(text, "%Y%m%d").date() if text else None


def _parse_fixed_width(text: str, label: str) -> pl.DataFrame:
    rows: list[dict[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line) < 293:
            raise InputError(f"{label}: line {number} is {len(line)} characters; a HCPCS record has 320")
        kind = RECORD_KIND.get(line[10])
        if kind is None:  # 4/8: continuation of the long description
            continue
        try:
            xrefs = [line[i : i + 5].strip() for i in range(204, 229, 5)]
            rows.append(
                {
                    "code": line[0:5].strip(),
                    "record": kind,
                    "short_description": line[91:119].strip() or None,
                    "pricing_indicator": line[119:121].strip() or None,
                    "coverage": line[229].strip() or None,
                    "xref": ",".join(x for x in xrefs if x) or None,
                    "add_date": _date(line[268:276]),
                    "action_effective_date": _date(line[276:284]),
                    "termination_date": _date(line[284:292]),
                    "action_code": line[292].strip() or None,
                }
            )
        except ValueError as err:
            raise InputError(f"{label}: line {number}: {err}") from None
    if not rows:
        raise InputError(f"{label}: no HCPCS records found")
    return pl.DataFrame(rows, schema=SCHEMA)


def _parse_table(path: Path) -> pl.DataFrame:
    columns = {
        "code": r"hcpcs?",
        "recid": r"recid",
        "short_description": r"short description",
        "pricing_indicator": r"price1",
        "coverage": r"cov",
        **{f"xref{i}": rf"xref{i}" for i in range(1, 6)},
        "add_date": r"add dt",
        "action_effective_date": r"act eff dt",
        "termination_date": r"term dt",
        "action_code": r"action cd",
    }
    table, _ = read_cms_table(path, columns)
    return (
        table.select(
            "code",
            pl.col("recid").replace_strict(RECORD_KIND, default=None).alias("record"),
            "short_description",
            "pricing_indicator",
            "coverage",
            pl.concat_str([f"xref{i}" for i in range(1, 6)], separator=",", ignore_nulls=True).alias("xref"),
            *(
                pl.col(c).str.to_date("%Y%m%d", strict=True).alias(c)
                for c in ("add_date", "action_effective_date", "termination_date")
            ),
            "action_code",
        )
        .filter(pl.col("record").is_not_null())
        .with_columns(pl.when(pl.col("xref") == "").then(None).otherwise(pl.col("xref")).alias("xref"))
        .cast(SCHEMA)
    )
