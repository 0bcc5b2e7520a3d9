"""Rule ``expired-code``: a code billed outside its valid dates, or a code that does not exist."""

from __future__ import annotations

import polars as pl

from leakaudit.engine import ready
from leakaudit.rules.base import Rule, hits, provided_free
from leakaudit.rules.context import AuditContext

#: HCPCS Level II: a letter and four digits. D is left out: D-codes are CDT (ADA dental codes),
#: which are not in the CMS HCPCS file.
LEVEL_II = r"^[A-CE-V]\d{4}$"
#: CPT: five digits (Category I), or four digits and F (Category II), T (Category III), U (PLA) or
#: M (MAAA). NOTE: U and M are CPT code formats too; treating them as CPT avoids calling real
#: laboratory codes "unknown".
CPT_FORMAT = r"^\d{4}[0-9FTUM]$"
CDT_FORMAT = r"^D\d{4}$"

TERMINATED, NOT_YET_EFFECTIVE, UNKNOWN_HCPCS, UNKNOWN_CPT, NOT_A_CODE = (
    "terminated",
    "not_yet_effective",
    "unknown_hcpcs",
    "unknown_cpt",
    "not_a_code",
)


def code_validity(ctx: AuditContext) -> pl.LazyFrame:
    """Every known code with its valid dates: the HCPCS releases, plus the user's CPT list if given.

    A Level II code in no HCPCS release but listed in another CMS file loaded (ASP, NDC crosswalk, MUE,
    DMEPOS fees) is known too, without dates: those files list codes in use at their release, and
    come out between the HCPCS releases. NOTE: the shipped HCPCS file is January 2025's; without this,
    57 drug codes of the October 2025 ASP file (J0163, J1072, ...) and 16 DMEPOS codes of January 2026
    (L1933, ...) were "in no loaded HCPCS release", a high-confidence denial, on every line.
    """
    hcpcs = ctx.refdata.hcpcs.select(
        "code",
        "effective_from",
        "termination_date",
        "replacement",
        pl.format("HCPCS release {}", "release").alias("validity_source"),
    )
    refdata = ctx.refdata
    listed = pl.concat(
        [
            table.select("code", pl.format("the CMS {} file ({} release)", pl.lit(name), "release").alias("source"))
            for name, table in (
                ("ASP", refdata.asp),
                ("NDC-HCPCS crosswalk", refdata.crosswalk),
                ("MUE", refdata.mue),
                ("DMEPOS fee", refdata.dmepos),
            )
        ]
    )
    elsewhere = (
        listed.filter(pl.col("code").str.contains(LEVEL_II))
        .join(hcpcs.select("code"), on="code", how="anti")
        .group_by("code")
        .agg(pl.col("source").min().alias("validity_source"))
        .select(
            "code",
            pl.lit(None, pl.Date()).alias("effective_from"),
            pl.lit(None, pl.Date()).alias("termination_date"),
            pl.lit(None, pl.String()).alias("replacement"),
            "validity_source",
        )
    )
    hcpcs = pl.concat([hcpcs, elsewhere], how="vertical_relaxed")
    if ctx.refdata.cpt is None:
        return hcpcs
    cpt = ctx.refdata.cpt.select(
        "code",
        pl.col("effective_date").alias("effective_from"),
        "termination_date",
        pl.lit(None, dtype=pl.String()).alias("replacement"),
        pl.lit("the CPT code list").alias("validity_source"),
    )
    return pl.concat([hcpcs, cpt], how="vertical_relaxed").unique(subset="code", keep="any")


class ExpiredCode(Rule):
    """A code billed after its termination date, before its effective date, or not a valid code at all.

    Why it leaks:
        HCPCS Level II changes every quarter and CPT every January. A payer rejects a line whose code
        was terminated before the date of service (e.g. S0013, replaced by J0013 from 2026-01-01),
        is not yet effective on it, or does not exist in any release; the service is unpaid until it is
        rebilled with the right code, and timely-filing limits run meanwhile. Validity is decided per
        line by its date of service against every loaded HCPCS release (a code is valid from its
        effective date through its TERM DT, inclusive); a Level II code newer than them but listed in
        another CMS file loaded (ASP, NDC crosswalk, MUE, DMEPOS fees) is valid. CPT codes are
        checked only against a CPT code list the user supplies (licensed users hold one; none is
        shipped); without it a code of CPT format is accepted. Code-like values that are neither CPT
        nor HCPCS (internal charge codes) are medium confidence; the others are high. A line billed
        with modifier FB (an item provided free of cost: a sample) is not flagged: nothing is paid
        for it, whatever its code. A line the payer paid all the same lost nothing: it is compliance
        exposure instead, as the payer may take the payment back on review.

    How the loss is estimated:
        The line's units times: the organisation's own median paid per unit for the replacement code
        the release cross-walks to; else its own median paid per unit for the billed code on lines
        billed while it was valid (each from the claim's payer where it has at least 5 paid lines, else
        from every payer); else the CMS reference price (ASP payment limit or DMEPOS fee, of the
        release in effect on the date of service) of the replacement, else of the code. The method
        says which. A line paid all the same (compliance exposure) is valued so too, at most what the
        payer paid for it: no more can be recouped.

    Example:
        A claim bills S0013 x 56 for 2026-02-10. S0013 was terminated on 2025-12-31 and replaced by
        J0013: one high-confidence finding saying so, valued at 56 times the organisation's median
        paid per unit of J0013. The same line dated 2025-11-10 is valid: no finding.
    """

    id = "expired-code"
    title = "Terminated, not yet effective or unknown code"

    @staticmethod
    def find(ctx: AuditContext) -> pl.LazyFrame:
        """One hit per line whose code is not valid on its date of service."""
        code = pl.col("procedure_code")
        known = pl.col("validity_source").is_not_null()
        cpt_checked = ctx.refdata.cpt is not None
        newest = ctx.refdata.release_of("hcpcs") or "none loaded"
        status = (
            pl.when(known & (pl.col("service_date") > pl.col("termination_date")))
            .then(pl.lit(TERMINATED))
            .when(known & (pl.col("service_date") < pl.col("effective_from")))
            .then(pl.lit(NOT_YET_EFFECTIVE))
            .when(known)
            .then(None)
            .when(code.str.contains(LEVEL_II))
            .then(pl.lit(UNKNOWN_HCPCS))
            .when(code.str.contains(CPT_FORMAT))
            .then(pl.lit(UNKNOWN_CPT) if cpt_checked else None)
            .when(code.str.contains(CDT_FORMAT))
            .then(None)
            .otherwise(pl.lit(NOT_A_CODE))
        )
        lines = ctx.lines
        if not cpt_checked:
            # NOTE: filter first: without a CPT list a code of CPT format is never flagged (no HCPCS
            # release holds one: Level II codes start with a letter), so most lines need no look-up.
            lines = lines.filter(code.str.contains(CPT_FORMAT).not_())
        flagged = (
            lines.join(ready(code_validity(ctx)), left_on="procedure_code", right_on="code", how="left")
            .with_columns(status.alias("status"))
            # An item given free of cost (FB) loses nothing, though its code is wrong.
            .filter(pl.col("status").is_not_null() & provided_free().not_())
        )
        # NOTE: a line paid all the same lost nothing (the payer accepted the code), but the payment may be
        # taken back on review: compliance exposure, at most what was paid. Paid nothing, or not known: the
        # line is denied, or will be.
        paid = pl.col("paid_amount") > 0
        denied = pl.lit(": the line will be denied.")
        invalid = pl.lit(": the line will be denied as an invalid code. Correct the code and rebill.")
        outcome = pl.when(paid).then(
            pl.format(", yet paid ${}: the payer may take it back on review.", pl.col("paid_amount").cast(pl.String))
        )
        rebill = (
            pl.when(pl.col("replacement").is_not_null() & paid)
            .then(pl.format(" Bill {}, the code that replaced it, from now on.", "replacement"))
            .when(pl.col("replacement").is_not_null())
            .then(pl.format(" Rebill as {}, the code that replaced it.", "replacement"))
            .when(paid)
            .then(pl.lit(" Bill the code valid on the date of service from now on."))
            .otherwise(pl.lit(" Rebill with the code valid on that date."))
        )
        message = (
            pl.when(pl.col("status") == TERMINATED)
            .then(
                pl.format(
                    "{} was terminated on {} ({}) and billed for {}{}{}",
                    code,
                    "termination_date",
                    "validity_source",
                    "service_date",
                    outcome.otherwise(denied),
                    rebill,
                )
            )
            .when(pl.col("status") == NOT_YET_EFFECTIVE)
            .then(
                pl.format(
                    "{} is valid only from {} ({}) and was billed for {}{}{}",
                    code,
                    "effective_from",
                    "validity_source",
                    "service_date",
                    outcome.otherwise(denied),
                    rebill,
                )
            )
            .when(pl.col("status") == UNKNOWN_HCPCS)
            .then(
                pl.format(
                    "{} is in no loaded HCPCS release (newest {}){}",
                    code,
                    pl.lit(newest),
                    outcome.otherwise(invalid),
                )
            )
            .when(pl.col("status") == UNKNOWN_CPT)
            .then(
                pl.format(
                    "{} is not in the CPT code list supplied{}",
                    code,
                    outcome.otherwise(invalid),
                )
            )
            .otherwise(
                pl.format(
                    "{} is neither a CPT nor a HCPCS Level II code{}",
                    code,
                    outcome.otherwise(pl.lit(": the line will be denied. Bill the CPT or HCPCS code of the service.")),
                )
            )
        )
        return hits(
            flagged,
            rule_id=ExpiredCode.id,
            finding_kind=pl.when(paid).then(pl.lit("compliance_exposure")).otherwise(pl.lit("lost_revenue")),
            confidence=pl.when(pl.col("status") == NOT_A_CODE).then(pl.lit("medium")).otherwise(pl.lit("high")),
            message=message,
            price_basis="code_payment",
            price_code=pl.col("replacement"),
            price_quantity=pl.col("units"),
            price_cap=pl.when(paid).then(pl.col("paid_amount")),
        )
