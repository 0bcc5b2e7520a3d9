"""Column mappings: rename a practice-management export's columns to the canonical names.

A mapping is a small TOML file (see ``docs/mapping.md``)::

    [columns]
    claim_id = "Claim Number"
    service_date = "DOS"

    [options]
    date_format = "%m/%d/%Y"
    separator = "|"
    skip_lines = 3   # lines of title above the header
    patient_placeholders = ["PT-UNK"]   # more ways the export writes an unknown patient
    crowded_claims = 30   # a patient's day of more claims is taken as many patients' (default 20)

    [payer_types]    # the export's financial classes, as payer types
    "Medicare Replacement" = "medicare_advantage"

Columns not named in ``[columns]`` are looked up under their canonical name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from leakaudit.io.errors import InputError
from leakaudit.io.sources import CsvFormat
from leakaudit.io.toml_files import check_keys, read_toml
from leakaudit.schema import LINE_COLUMNS, PAYER_TYPES

#: The split modifier columns an export may carry instead of one ``modifiers`` string.
MODIFIER_COLUMNS = ("modifier_1", "modifier_2", "modifier_3", "modifier_4")
MAPPABLE = frozenset(c.name for c in LINE_COLUMNS) | frozenset(MODIFIER_COLUMNS)
ISO_DATE = "%Y-%m-%d"


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column feeds each canonical column, how dates are written, what separates CSV fields."""

    columns: dict[str, str] = field(default_factory=dict)
    date_format: str = ISO_DATE
    separator: str = ","
    #: Lines before a CSV's header (a report's title, its date range), skipped as they are.
    skip_lines: int = 0
    #: The export's own payer types (financial classes), as :func:`payer_type_key` writes them, each with
    #: the canonical payer type it is (``[payer_types]``).
    payer_types: dict[str, str] = field(default_factory=dict)
    #: The export's own ways of writing an unknown patient, as written, besides those every export's are
    #: (``io.reader.PATIENT_PLACEHOLDERS``): read as no patient.
    patient_placeholders: tuple[str, ...] = ()
    #: A visit of more claims than this is taken as many patients' under one id (``io.crowded``); None for
    #: :data:`~leakaudit.io.crowded.CROWDED_CLAIMS`.
    crowded_claims: int | None = None
    #: The export writes its amounts (charge, paid, allowed) in cents: ``12500`` is read as 125.00.
    amounts_in_cents: bool = False

    @property
    def csv_format(self) -> CsvFormat:
        """How the CSV inputs are written, for every reading of them."""
        return CsvFormat(separator=self.separator, skip_lines=self.skip_lines)

    def source_name(self, canonical: str) -> str:
        """Return the name of the source column that feeds ``canonical``."""
        return self.columns.get(canonical, canonical)


def load_mapping(path: str | Path | None) -> ColumnMapping:
    """Read a mapping TOML file; ``None`` gives the identity mapping with ISO dates."""
    if path is None:
        return ColumnMapping()
    path = Path(path)
    data = read_toml(path, "mapping file", ("columns", "options", "payer_types"))
    columns = data.get("columns", {})
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise InputError(f"{path}: options must be a table, [options]")
    # NOTE: a misspelt option (date_fromat) had been ignored, and every date rejected or read otherwise.
    check_keys(options, _OPTIONS, f"{path}: [options]")
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise InputError(f"{path}: [columns] must map canonical names to source column names (strings)")
    unknown = sorted(set(columns) - MAPPABLE)
    if unknown:
        raise InputError(f"{path}: [columns] names unknown canonical column(s): {', '.join(unknown)}")
    date_format = options.get("date_format", ISO_DATE)
    if not isinstance(date_format, str) or not _reads_dates(date_format):
        raise InputError(
            f"{path}: [options] date_format {date_format!r} does not read a date back as written: it must "
            'give the year, month and day in strftime codes, such as "%m/%d/%Y"'
        )
    separator = options.get("separator", ",")
    # NOTE: Polars splits fields on one byte; a quote or a line break cannot separate them.
    if not isinstance(separator, str) or len(separator.encode()) != 1 or separator in '"\r\n':
        raise InputError(f'{path}: [options] separator must be one character, such as "|" or "\\t" (tab)')
    skip_lines = options.get("skip_lines", 0)
    if not _whole(skip_lines, least=0):
        raise InputError(f"{path}: [options] skip_lines must be a whole number of lines (0 or more), such as 3")
    payer_types = _payer_types(data.get("payer_types", {}), path)
    placeholders = options.get("patient_placeholders", [])
    if not isinstance(placeholders, list) or not all(isinstance(p, str) and p.strip() for p in placeholders):
        raise InputError(
            f'{path}: [options] patient_placeholders must be a list of texts, such as ["PT-UNK", "NO PATIENT"]'
        )
    crowded_claims = options.get("crowded_claims")
    if crowded_claims is not None and not _whole(crowded_claims, least=1):
        raise InputError(
            f"{path}: [options] crowded_claims must be a whole number of claims (1 or more), such as 30: a "
            "patient's day of more claims is taken as many patients' under one id"
        )
    amounts_in_cents = options.get("amounts_in_cents", False)
    if not isinstance(amounts_in_cents, bool):
        raise InputError(f"{path}: [options] amounts_in_cents must be true or false")
    return ColumnMapping(
        columns=dict(columns),
        date_format=date_format,
        separator=separator,
        skip_lines=skip_lines,
        payer_types=payer_types,
        # As the reader compares them: stripped.
        patient_placeholders=tuple(p.strip() for p in placeholders),
        crowded_claims=crowded_claims,
        amounts_in_cents=amounts_in_cents,
    )


def _whole(value: object, *, least: int) -> bool:
    """Whether an option's TOML ``value`` is a whole number of ``least`` or more (``true`` is none).

    >>> [_whole(v, least=1) for v in (3, 1, 0, 2.5, "3", True)]
    [True, True, False, False, False, False]
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def payer_type_key(text: str) -> str:
    """A payer type as the audit compares them: lower case, spaces and hyphens as one ``_``.

    >>> payer_type_key(" Medicare  Replacement "), payer_type_key("Self-Pay")
    ('medicare_replacement', 'self_pay')
    """
    return re.sub(PAYER_TYPE_SEPARATORS, "_", text.strip().lower())


#: What separates the words of a payer type, read as ``_`` (``Medicare Advantage`` is ``medicare_advantage``).
PAYER_TYPE_SEPARATORS = r"[\s\-]+"


def _payer_types(table: object, path: Path) -> dict[str, str]:
    """The ``[payer_types]`` table: each export payer type (its key) with the canonical one it is."""
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise InputError(
            f'{path}: [payer_types] must map export payer types to payer types, e.g. "Blue Cross" = "commercial"'
        )
    unknown = sorted(f"{k!r} = {v!r}" for k, v in table.items() if payer_type_key(v) not in PAYER_TYPES)
    if unknown:
        raise InputError(f"{path}: [payer_types] {', '.join(unknown)}: a payer type is one of {', '.join(PAYER_TYPES)}")
    return {payer_type_key(k): payer_type_key(v) for k, v in table.items()}


#: The keys of a mapping's ``[options]``.
_OPTIONS = ("date_format", "separator", "skip_lines", "patient_placeholders", "crowded_claims", "amounts_in_cents")


def _reads_dates(date_format: str) -> bool:
    """Whether a date written in ``date_format`` is read back by it as the same date.

    A format without the year, month or day reads dates in year 1, or not at all; one Polars refuses
    (``%p`` without ``%I``) is no format.

    >>> [_reads_dates(f) for f in ("%m/%d/%Y", "%b %d, %Y", "%y%m%d", "%d", "%Y-%m", "", "%Q")]
    [True, True, True, False, False, False, False]
    """
    written = _PROBE_DATE.strftime(date_format)
    try:
        read = pl.Series([written]).str.to_date(date_format, strict=False).item()
    except pl.exceptions.PolarsError:
        return False
    return bool(read == _PROBE_DATE)


#: The date written and read back: its day and month differ, so a format giving one twice and the other
#: never is not taken.
_PROBE_DATE = dt.date(2025, 3, 14)
