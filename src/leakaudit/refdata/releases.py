"""Release labels: every reference file belongs to a release named ``YYYY-MM`` (its first month)."""

from __future__ import annotations

import re

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
