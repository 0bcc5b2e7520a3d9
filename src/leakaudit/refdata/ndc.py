"""National Drug Codes in one form: 11 digits, 5-4-2, no dashes (the HIPAA billing form)."""

from __future__ import annotations

import polars as pl


def ndc11(ndc: pl.Expr) -> pl.Expr:
    """Normalise an NDC written 4-4-2, 5-3-2, 5-4-1 with dashes, or 10/11 plain digits, to 11 digits.

    A dashed NDC is padded segment by segment (``0003-0293-05`` -> ``00003029305``); an 11-digit
    plain NDC is kept; fewer than 10 plain digits are an 11-digit NDC whose leading zeros a spreadsheet
    dropped (``3029305`` -> ``00003029305``, as revenue codes lose theirs); anything else (10 plain
    digits whose segments are unknown, alternate ids) is kept as its digits: :func:`ndc10_labels` gives
    the 10 digits an 11-digit NDC may be written as, for a list of NDCs to tell which.

    The X12 qualifier an NDC is often written with (``N4``, as in an 837's ``LIN*N4*00003029305``) is
    not part of it: read as digits, its 4 made every such NDC match nothing.

    >>> ndcs = ["0003-0293-05", "00003029305", "3029305", "0003029305", "N/A", "N400003029305", "n4 0003-0293-05"]
    >>> pl.select(ndc11(pl.lit(pl.Series(ndcs)))).to_series().to_list()
    ['00003029305', '00003029305', '00003029305', '0003029305', '', '00003029305', '00003029305']
    """
    text = ndc.str.strip_chars().str.replace(r"^[Nn]4[\s:*]*", "")
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


def ndc10_labels(ndc: pl.Expr) -> pl.Expr:
    """The 10 digits without dashes a package label may give for an 11-digit NDC: one for each zero padded.

    A barcode scanner, or a label copied without its dashes, gives the 10 digits of the package's NDC. The
    11-digit billing form pads its 4-4-2, 5-3-2 or 5-4-1 segments with a zero in the first, second or third
    segment; which one depends on the labeler, and only a list of NDCs can tell. Each place that holds a
    zero gives a label (null where it holds none): ``jcode-unit-mismatch`` reads 10 digits as the NDC of
    the CMS crosswalk, listed for the line's code, that has them as its only such label.

    >>> pl.select(ndc10_labels(pl.lit("63323080620"))).item().to_list()
    [None, '6332380620', None]
    >>> pl.select(ndc10_labels(pl.lit("00003029305"))).item().to_list()  # 0003-0293-05 (4-4-2) is the first
    ['0003029305', '0000329305', '0000302935']
    """
    return pl.concat_list(
        pl.when(ndc.str.slice(0, 1) == "0").then(ndc.str.slice(1)),
        pl.when(ndc.str.slice(5, 1) == "0").then(ndc.str.slice(0, 5) + ndc.str.slice(6)),
        pl.when(ndc.str.slice(9, 1) == "0").then(ndc.str.slice(0, 9) + ndc.str.slice(10)),
    )
