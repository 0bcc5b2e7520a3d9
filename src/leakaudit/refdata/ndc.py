"""National Drug Codes in one form: 11 digits, 5-4-2, no dashes (the HIPAA billing form)."""

from __future__ import annotations

import polars as pl


def ndc11(ndc: pl.Expr) -> pl.Expr:
    """Normalise an NDC written 4-4-2, 5-3-2, 5-4-1 with dashes, or 10/11 plain digits, to 11 digits.

    A dashed NDC is padded segment by segment (``0003-0293-05`` -> ``00003029305``); an 11-digit
    plain NDC is kept; fewer than 10 plain digits are an 11-digit NDC whose leading zeros a spreadsheet
    dropped (``3029305`` -> ``00003029305``, as revenue codes lose theirs); anything else (10 plain
    digits whose segments are unknown, alternate ids) is kept as its digits so it can still match a
    crosswalk written the same way.

    >>> ndcs = ["0003-0293-05", "00003029305", "3029305", "0003029305", "N/A"]
    >>> pl.select(ndc11(pl.lit(pl.Series(ndcs)))).to_series().to_list()
    ['00003029305', '00003029305', '00003029305', '0003029305', '']
    """
    text = ndc.str.strip_chars()
    parts = text.str.extract_groups(r"^(\d{1,5})-(\d{1,4})-(\d{1,2})$")
    dashed = pl.concat_str(
        parts.struct.field("1").str.zfill(5),
        parts.struct.field("2").str.zfill(4),
        parts.struct.field("3").str.zfill(2),
    )
    digits = text.str.replace_all(r"\D", "")
    # NOTE: a 10-digit NDC shorn of its leading zero has 9 digits as well. Padded at the front, a 4-4-2 one
    # is right; a 5-3-2 or 5-4-1 one becomes another NDC, matched only if the crosswalk lists that one
    # under the same billing code (it matched nothing before). Claims carry the 11-digit form.
    zeros_dropped = digits.str.len_bytes().is_between(1, 9)
    return (
        pl.when(parts.struct.field("1").is_not_null())
        .then(dashed)
        .when(zeros_dropped)
        .then(digits.str.zfill(11))
        .otherwise(digits)
    )
