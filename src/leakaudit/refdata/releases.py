"""Release labels: every reference file belongs to a release named ``YYYY-MM`` (its first month)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

from leakaudit.io import InputError

RELEASE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_release(label: str, source: str) -> str:
    """Return ``label`` if it is ``YYYY-MM``, else raise naming the file."""
    if not RELEASE.match(label):
        raise InputError(f"{source}: release {label!r} is not of the form YYYY-MM (e.g. 2026-01)")
    return label


def quarter_label(year: int, quarter: int) -> str:
    """The release label of a calendar quarter: (2026, 2) -> ``"2026-04"``."""
    return f"{year}-{3 * (quarter - 1) + 1:02d}"


def release_start(label: str) -> date:
    """The first day a release is in effect: ``"2026-04"`` -> 2026-04-01."""
    year, month = label.split("-")
    return date(int(year), int(month), 1)


def in_effect(labels: Sequence[str], day: pl.Expr) -> pl.Expr:
    """The release of ``labels`` in effect on ``day``: the newest starting on or before it, else the earliest.

    CMS applies the MUE and the ASP payment limit of the quarter of the date of service. A day before
    every loaded release takes the earliest: the nearest known. Null without ``labels``.

    >>> days = pl.Series([date(2025, 9, 30), date(2025, 10, 1), date(2026, 5, 1), date(2024, 1, 1)])
    >>> pl.select(in_effect(["2026-04", "2025-10"], pl.lit(days))).to_series().to_list()
    ['2025-10', '2025-10', '2026-04', '2025-10']
    """
    ordered = sorted(set(labels), reverse=True)
    if not ordered:
        return pl.lit(None, pl.String)
    chosen: pl.Expr = pl.lit(ordered[-1])
    for label in ordered[-2::-1]:
        chosen = pl.when(day >= release_start(label)).then(pl.lit(label)).otherwise(chosen)
    return chosen


#: The datasets of which the release in effect on a date of service applies; of the others, the newest
#: release listing a code.
BY_DATE_OF_SERVICE = ("asp", "dmepos", "mue")


def dates_in_effect(label: str, labels: Sequence[str]) -> str:
    """The dates of service the release ``label`` applies to among its dataset's ``labels``, in words.

    The earliest also applies to the dates before it (see :func:`in_effect`).

    >>> loaded = ["2025-04", "2025-10", "2026-01"]
    >>> [dates_in_effect(label, loaded) for label in loaded]
    ['up to 2025-09-30', '2025-10-01 to 2025-12-31', 'from 2026-01-01']
    >>> dates_in_effect("2026-04", ["2026-04"])
    'every date'
    """
    ordered = sorted(set(labels))
    at = ordered.index(label)
    after = ordered[at + 1] if at + 1 < len(ordered) else None
    last = None if after is None else release_start(after) - timedelta(days=1)
    if at == 0:
        return "every date" if last is None else f"up to {last}"
    return f"from {release_start(label)}" if last is None else f"{release_start(label)} to {last}"


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def release_from_name(name: str) -> str | None:
    """Guess the release from a CMS file name, or None.

    >>> release_from_name("HCPC2025_JAN_ANWEB_12172024.txt"), release_from_name("DMEPOS26_JAN.xlsx")
    ('2025-01', '2026-01')
    >>> release_from_name("practitioner_mue_2026q2.csv"), release_from_name("january-2025-alpha-numeric-hcpcs-file.zip")
    ('2026-04', '2025-01')
    >>> release_from_name("Oct 2025 ASP Pricing File.csv")
    '2025-10'
    """
    lower = name.lower()
    if match := re.search(r"(20\d{2})[_\- ]?q([1-4])", lower):
        return quarter_label(int(match.group(1)), int(match.group(2)))
    if match := re.search(r"hcpc(20\d{2})_([a-z]{3})", lower):
        return _month_release(match.group(1), match.group(2))
    if match := re.search(r"dme(?:pos|pen)?(\d{2})_([a-z]{3})", lower):
        return _month_release("20" + match.group(1), match.group(2))
    if match := re.search(r"([a-z]{3})[a-z]*[\-_ ]+(20\d{2})", lower):
        return _month_release(match.group(2), match.group(1))
    return None


def _month_release(year: str, month: str) -> str | None:
    if month not in _MONTHS:
        return None
    return f"{year}-{_MONTHS.index(month) + 1:02d}"
