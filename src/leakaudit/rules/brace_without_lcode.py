"""Rule ``brace-without-lcode``: an orthosis supplied at a visit, with no L-code billed for it."""

from __future__ import annotations

import polars as pl

from leakaudit.refdata import any_codeset, codeset
from leakaudit.rules.base import ANCHOR, Rule, anchor_key, anchor_lines, hits, practice_line_in_facility
from leakaudit.rules.context import AuditContext

UNKNOWN_REGION = "unknown region"


def is_lcode(code: pl.Expr) -> pl.Expr:
    """The code is an orthotic L-code: the device this rule finds missing, and the lines its price reads."""
    return codeset("orthotic_lcodes").contains(code)


class BraceWithoutLcode(Rule):
    """An orthosis (brace, splint, boot, sling, collar) was supplied at a visit but no L-code was billed.

    Why it leaks:
        A device is paid only under its HCPCS L-code (L0112-L4631). When an E/M visit (99202-99215,
        99221-99239, 99242-99255, 99281-99285, 99341-99350, 99381-99397) supplies a brace that is billed
        as a CPT supply (99070), a generic HCPCS supply or miscellaneous code (A4570, A9270, A9999,
        E1399, L9900) or on revenue code 0274, with a description that names an orthosis, and no L-code
        is on the encounter (same patient and date, across claims), the device is denied or unpaid:
        high confidence. Orthotic management and training (97760, 97763) with no L-code suggests a
        device that was fitted but not billed: medium confidence. A practice's supply or fitting line
        in a facility (place of service 19, 21-24, 31, ...) is no evidence: the facility furnishes and
        bills the device; a facility's own lines (with a revenue code, such as 0274) are. The body
        region comes from the description, else from the diagnosis codes; the keyword list and region
        map are a data file a user can extend (``--orthotics``).

    How the loss is estimated:
        The median paid amount of the organisation's own L-code lines for that body region, from the
        claim's payer where it has at least 5 paid lines, else from every payer; else the CMS DMEPOS
        fee (for ``--state``, else the national median) of the region's most common L-code in the
        organisation's history, or of its typical L-code; else no price basis. The method says which.
        A supply line paid something (a payer that pays 99070) is valued less what it was paid: rebilled
        as the L-code, the device is paid in its place.

    Example:
        A 99214 visit for a knee sprain bills 99070 "Hinged knee brace" and no L-code: one high-
        confidence finding on the 99070 line, region knee, naming L1810, L1812, L1820, L1833 and
        L1851, valued at the median the organisation is paid for its knee L-code lines. If the visit
        also bills L1812, there is no finding.
    """

    id = "brace-without-lcode"
    title = "Brace supplied without an L-code"
    finds_a_missing_code = True
    rests_on_other_lines = True

    @staticmethod
    def find(ctx: AuditContext) -> pl.LazyFrame:
        """One hit per E/M encounter with orthosis evidence and no L-code."""
        orthotics = ctx.refdata.orthotics
        code = pl.col("procedure_code")
        description = pl.col("description")
        supply_code = (pl.col("revenue_code") == "0274").fill_null(False)
        # A practice's supply or fitting in a facility is no device of its own to bill: the facility's.
        own = practice_line_in_facility().not_()
        # NOTE: filter first: one look-up per line keeps the lines of the codes the rule reads.
        read = any_codeset("em_visits", "orthotic_lcodes", "generic_supplies", "orthotic_management").contains(code)
        marked = (
            ctx.lines.filter(read | supply_code)
            .with_columns(
                codeset("em_visits").contains(code).alias("is_visit"),
                is_lcode(code).alias("is_lcode"),
                (
                    (codeset("generic_supplies").contains(code) | supply_code)
                    & orthotics.names_orthosis(description)
                    & own
                ).alias("is_supplied"),
                (codeset("orthotic_management").contains(code) & own).alias("is_management"),
            )
            .filter(pl.col("is_visit") | pl.col("is_lcode") | pl.col("is_supplied") | pl.col("is_management"))
        )
        evidence = pl.col("is_supplied") | pl.col("is_management")
        # NOTE: filter first: only encounters with orthosis evidence are grouped (a few percent of them),
        # not every E/M visit; their lines are cached (grouped, then the anchor line is read from them).
        with_evidence = marked.filter(evidence).select("encounter_id").unique()
        marked = marked.join(with_evidence, on="encounter_id", how="semi").cache()
        # The finding sits on the supply line that should have been the L-code (management lines after), the
        # first in line_order of several.
        marked = marked.with_columns(anchor_key(pl.col("is_management")))
        per_encounter = (
            marked.group_by("encounter_id")
            .agg(
                pl.col("is_visit").any().alias("has_visit"),
                pl.col("is_lcode").any().alias("has_lcode"),
                pl.col(ANCHOR).filter(evidence).min(),
                code.filter(pl.col("is_visit")).sort().first().alias("visit_code"),
                pl.col("diagnosis_codes").drop_nulls().str.join(";").alias("encounter_diagnoses"),
            )
            .filter(pl.col("has_visit") & pl.col("has_lcode").not_())
        )
        flagged = (
            anchor_lines(marked.filter(evidence), per_encounter, "encounter_id")
            .with_columns(
                pl.coalesce(
                    orthotics.region_of_description(description),
                    orthotics.region_of_diagnoses(pl.col("encounter_diagnoses")),
                ).alias("region")
            )
            .with_columns(orthotics.typical_codes(pl.col("region")).alias("typical"))
        )
        what = (
            pl.when(pl.col("region").is_not_null())
            .then(pl.format("An orthosis for the {}", "region"))
            .otherwise(pl.lit("An orthosis"))
        )
        bill = (
            pl.when(pl.col("typical").is_not_null())
            .then(pl.format("Bill its L-code (typical for the {}: {}).", "region", "typical"))
            .otherwise(pl.lit("Bill its L-code."))
        )
        supplied_paid = pl.col("is_supplied") & (pl.col("paid_amount") > 0).fill_null(False)
        message = (
            pl.when(supplied_paid)
            .then(
                pl.format(
                    '{} ("{}") was billed as {} at a {} visit with no L-code, and paid ${} as a supply: the device '
                    "itself is unpaid. {}",
                    what,
                    description.str.slice(0, 60),
                    code,
                    "visit_code",
                    pl.col("paid_amount").cast(pl.String),
                    bill,
                )
            )
            .when(pl.col("is_supplied"))
            .then(
                pl.format(
                    '{} ("{}") was billed as {} at a {} visit with no L-code: the device is denied or unpaid. {}',
                    what,
                    description.str.slice(0, 60),
                    code,
                    "visit_code",
                    bill,
                )
            )
            .otherwise(
                pl.format(
                    "Orthotic management {} was billed at a {} visit with no L-code: a device fitted there is "
                    "unpaid. {}",
                    code,
                    "visit_code",
                    bill,
                )
            )
        )
        return hits(
            flagged,
            rule_id=BraceWithoutLcode.id,
            finding_kind="lost_revenue",
            confidence=pl.when(pl.col("is_supplied")).then(pl.lit("high")).otherwise(pl.lit("medium")),
            message=message,
            price_basis="orthosis_for_region",
            price_code=pl.col("region").fill_null(UNKNOWN_REGION),
            price_quantity=pl.lit(1),
            # A device billed as a supply and paid so: the L-code would pay it, less what the supply was paid.
            price_paid=pl.when(supplied_paid).then(pl.col("paid_amount")),
        )
