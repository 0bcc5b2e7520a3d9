"""Input layer: files, directories and globs of claim lines -> canonical LazyFrames and rejects."""

from leakaudit.io.amounts import PAID_VS_CHARGE, paid_amounts, paid_doubt, paid_vs_charge, paid_warning
from leakaudit.io.counting import count_rows
from leakaudit.io.crowded import CROWDED_CLAIMS, crowded_patients, find_crowded_visits
from leakaudit.io.duplicates import (
    ANOTHER_CLAIM,
    ANOTHER_LINE,
    REPEATED_REASON,
    REUSED_REASON,
    SHARED_KEY_REASON,
    Repeated,
    find_repeated,
)
from leakaudit.io.duplicates import (
    REASONS as REPEAT_REASONS,
)
from leakaudit.io.errors import InputError
from leakaudit.io.long_rows import find_long_rows, refused_long_rows
from leakaudit.io.mapping import ColumnMapping, load_mapping
from leakaudit.io.quotes import refused_quotes, rewrite_refused
from leakaudit.io.reader import (
    BAD_DATE_REASON,
    LINE_ID_BITS,
    REJECT_COLUMNS,
    REJECT_KEYS,
    REJECTED_ROW_SCHEMA,
    ClaimLines,
    audited_rows,
    encounter_key,
    scan_claim_lines,
)
from leakaudit.io.rejects import REPEAT_RANGE_SCHEMA, RepeatTally, ordered_rejects, repeat_ranges
from leakaudit.io.reversals import (
    CREDIT,
    LINE_NUMBERING,
    REDUCED,
    REVERSAL_SCHEMA,
    REVERSED,
    credited_units,
    find_reversals,
    set_aside,
    with_credits_taken,
)
from leakaudit.io.row_groups import copy_oversized, oversized
from leakaudit.io.sources import resolve_sources
from leakaudit.io.toml_files import check_keys, read_toml

__all__ = [
    "ANOTHER_CLAIM",
    "ANOTHER_LINE",
    "BAD_DATE_REASON",
    "CREDIT",
    "CROWDED_CLAIMS",
    "LINE_ID_BITS",
    "LINE_NUMBERING",
    "PAID_VS_CHARGE",
    "REDUCED",
    "REJECTED_ROW_SCHEMA",
    "REJECT_COLUMNS",
    "REJECT_KEYS",
    "REPEATED_REASON",
    "REPEAT_RANGE_SCHEMA",
    "REPEAT_REASONS",
    "REUSED_REASON",
    "REVERSAL_SCHEMA",
    "REVERSED",
    "SHARED_KEY_REASON",
    "ClaimLines",
    "ColumnMapping",
    "InputError",
    "RepeatTally",
    "Repeated",
    "audited_rows",
    "check_keys",
    "copy_oversized",
    "count_rows",
    "credited_units",
    "crowded_patients",
    "encounter_key",
    "find_crowded_visits",
    "find_long_rows",
    "find_repeated",
    "find_reversals",
    "load_mapping",
    "ordered_rejects",
    "oversized",
    "paid_amounts",
    "paid_doubt",
    "paid_vs_charge",
    "paid_warning",
    "read_toml",
    "refused_long_rows",
    "refused_quotes",
    "repeat_ranges",
    "resolve_sources",
    "rewrite_refused",
    "scan_claim_lines",
    "set_aside",
    "with_credits_taken",
]
