"""National Drug Codes in one form: 11 digits, 5-4-2, no dashes (the HIPAA billing form)."""

from __future__ import annotations

import polars as pl


def ndc11(ndc: pl.Expr) -> pl.Expr:
    """Normalise an NDC written 4-4-2, 5-3-2, 5-4-1 with dashes, or 10/11 plain digits, to 11 digits.

    A dashed NDC is padded segment by segment (``0003-0293-05`` -> ``00003029305``); an 11-digit
    plain NDC is kept; anything else (alternate ids, 10 plain digits whose segments are unknown) is
    kept as its digits so it can still match a crosswalk written the same way.
    """
    text = ndc.str.strip_chars()
    parts = text.str.extract_groups(r"^(\d{1,5})-(\d{1,4})-(\d{1,2})$")
    dashed = pl.concat_str(
        parts.struct.field("1").str.zfill(5),
        parts.struct.field("2").str.zfill(4),
        parts.struct.field("3").str.zfill(2),
    )
    return pl.when(parts.struct.field("1").is_not_null()).then(dashed).otherwise(text.str.replace_all(r"\D", ""))
