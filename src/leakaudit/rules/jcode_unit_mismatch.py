"""Rule ``jcode-unit-mismatch``: drug units billed that do not match the dose, or that CMS will deny."""

from __future__ import annotations

import polars as pl

from leakaudit.engine import mapped, ready
from leakaudit.refdata import ndc10_labels, ndc11
from leakaudit.refdata.releases import in_effect
from leakaudit.rules.base import (
    Rule,
    count_text,
    has_modifier,
    hits,
    is_or_are,
    number_text,
    provided_free,
)
from leakaudit.rules.context import AuditContext
from leakaudit.rules.drug_admin_without_drug import is_drug_product
from leakaudit.rules.same_service import first_in_order, one_copy, services_by
from leakaudit.stats import median_by

#: How each X12 NDC unit of measure relates to a dosage descriptor unit: (kind of quantity, factor to
#: the kind's base unit: mg for mass, IU for units, mL for volume).
NDC_UNIT_MEASURES = {"ME": ("mass", 1.0), "GR": ("mass", 1000.0), "F2": ("units", 1.0), "ML": ("volume", 1.0)}
DOSAGE_UNIT_MEASURES = {
    "MG": ("mass", 1.0),
    "GM": ("mass", 1000.0),
    "G": ("mass", 1000.0),
    "GRAM": ("mass", 1000.0),
    "MCG": ("mass", 0.001),
    "MICROGRAM": ("mass", 0.001),
    "UNITS": ("units", 1.0),
    "UNIT": ("units", 1.0),
    "IU": ("units", 1.0),
    "USP UNIT": ("units", 1.0),
    "ML": ("volume", 1.0),
    "CC": ("volume", 1.0),
}
#: How a message names each X12 NDC unit of measure (``UN``, a count of items, is counted in words).
NDC_UNIT_WORDS = {"ME": "mg", "GR": "g", "F2": "IU", "ML": "mL"}
#: A provider's typical units are used only with at least this many lines of the code.
MIN_TYPICAL_LINES = 5
#: "Far below" typical: at most this share of the provider's median units.
FAR_BELOW = 0.5

UNDER, OVER, ABOVE_MUE, BELOW_TYPICAL, NO_UNITS = "under", "over", "above_mue", "below_typical", "no_units"
#: The column of a converted line saying that its NDC quantity gave a dose above the code's MUE (see
#: :func:`_converted`).
DOSE_ABOVE_MUE = "dose_above_mue"
#: The column of a staged drug line (:data:`CONVERTED`) saying that it bills discarded drug (JW, :func:`_waste`).
DISCARDED = "discarded"
#: The MUE release in effect on a line's date of service (see :func:`_mue_table`).
MUE_RELEASE = "_mue_release"
#: A day's payer as a categorical key (see :func:`_days_over_mue`).
_PAYER = "_payer"
#: The staged frame (:meth:`JcodeUnitMismatch.staged`) of the drug lines checked, converted, and of those
#: billed as discarded (:data:`DISCARDED`).
CONVERTED = "converted"
#: The columns of :data:`CONVERTED`, those the checks read (``modifiers``, ``claim_id`` and ``line_number``:
#: the copies of a service that ``refine`` adds once, and the order of a day's lines). NOTE: the others left
#: out, the file is written in two thirds of the time (3.5 M drug lines: 2.4 s against 3.2 s).
CONVERTED_COLUMNS = (
    *("line_id", "encounter_id", "service_date", "payer_id", "rendering_npi", "procedure_code", "units"),
    *("paid_amount", "ndc", "ndc_quantity", "ndc_unit", "dosage", "billing_units_per_item", "via_crosswalk"),
    *("expected_units", "billed", "mue_code", "mue", "mai", DOSE_ABOVE_MUE, "modifiers", "claim_id"),
    *("line_number", DISCARDED),
)


def _lookup(column: pl.Expr, table: dict[str, tuple[str, float]], part: int) -> pl.Expr:
    mapping = {key: value[part] for key, value in table.items()}
    return mapped(column, mapping, dtype=pl.String() if part == 0 else pl.Float64())


def expected_units(ctx: AuditContext, drug_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``expected_units`` (billing units for the NDC quantity given) and ``via_crosswalk`` (how).

    ``ME`` (mg), ``GR`` (g) and ``F2`` (IU), and ``ML`` for codes dosed per mL, convert directly against
    the HCPCS dosage descriptor (CMS ASP file): 40 mg of J3301 (per 10 mg) is 4 units. Otherwise ``ML``,
    ``GR`` and ``UN`` use the CMS NDC-HCPCS crosswalk for that NDC (10 digits without dashes in the 11-digit
    form the crosswalk lists: :func:`_listed_ndc`): billing units per item, and the item's package size.
    A partial unit is rounded up, as CMS instructs. :func:`conversion` words it.
    """
    asp = ctx.refdata.asp.select(pl.col("code").alias("procedure_code"), "dosage", "dosage_amount", "dosage_unit")
    crosswalk = ready(billing_units_by_ndc(ctx.refdata.crosswalk).rename({"code": "procedure_code", "ndc": "ndc11"}))
    quantity = pl.col("ndc_quantity").cast(pl.Float64)
    ndc_kind, ndc_factor = (
        _lookup(pl.col("ndc_unit"), NDC_UNIT_MEASURES, 0),
        _lookup(pl.col("ndc_unit"), NDC_UNIT_MEASURES, 1),
    )
    dose_kind, dose_factor = (
        _lookup(pl.col("dosage_unit"), DOSAGE_UNIT_MEASURES, 0),
        _lookup(pl.col("dosage_unit"), DOSAGE_UNIT_MEASURES, 1),
    )
    direct = pl.when(ndc_kind == dose_kind).then(
        quantity * ndc_factor / (pl.col("dosage_amount").cast(pl.Float64) * dose_factor)
    )
    with_direct = drug_lines.join(asp, on="procedure_code", how="left").with_columns(direct.alias("_units"))
    # NOTE: only lines the dosage descriptor cannot convert are matched to the crosswalk by NDC: normalising
    # every drug line's NDC cost more than the rest of the conversion. The others' NDC is null, which costs
    # nothing to normalise, and matches nothing.
    needs_crosswalk = pl.col("_units").is_null() & pl.col("ndc_quantity").is_not_null()
    per_item = pl.col("billing_units_per_item").cast(pl.Float64)
    with_ndc = with_direct.with_columns(ndc11(pl.when(needs_crosswalk).then(pl.col("ndc"))).alias("ndc11"))
    joined = (
        _listed_ndc(with_ndc, crosswalk)
        .join(crosswalk, on=["procedure_code", "ndc11"], how="left")
        .with_columns(
            pl.when(pl.col("_units").is_not_null())
            .then(pl.col("_units"))
            .when(pl.col("ndc_unit") == "UN")
            .then(quantity * per_item)
            .when(pl.col("ndc_unit").is_in(["ML", "GR"]) & (pl.col("package_size") > 0))
            .then(quantity / pl.col("package_size").cast(pl.Float64) * per_item)
            .alias("_units"),
            per_item.alias("billing_units_per_item"),
        )
        .drop("ndc11", "package_size")
    )
    raw = pl.col("_units")
    # NOTE: the small tolerance keeps 4.0000000001 (float division) at 4 units, not 5.
    return joined.with_columns(
        pl.when(raw > 0).then((raw - 1e-6).ceil().clip(lower_bound=1)).alias("expected_units"),
        pl.col("billing_units_per_item").is_not_null().alias("via_crosswalk"),
    ).drop("_units")


def billing_units_by_ndc(crosswalk: pl.LazyFrame) -> pl.LazyFrame:
    """Of the CMS NDC-HCPCS ``crosswalk``: ``code``, ``ndc``, ``package_size``, ``billing_units_per_item``.

    A code and NDC listed twice alike count once; listed with different units, they are left out, not
    one picked at random (which made the same input give different findings). NOTE: in the crosswalk
    shipped, 12 such pairs, all skin substitutes' product ids, which no normalised NDC matches.
    """
    return (
        crosswalk.select("code", "ndc", "package_size", "billing_units_per_item")
        .unique()
        .unique(subset=["code", "ndc"], keep="none")
    )


def _listed_ndc(lines: pl.LazyFrame, crosswalk: pl.LazyFrame) -> pl.LazyFrame:
    """``lines`` with an ``ndc11`` of 10 digits (no dashes) in the 11-digit form the crosswalk lists.

    The ``crosswalk`` must list for the line's code exactly one NDC that a label may give as those 10 digits
    (:func:`ndc10_labels`).

    In the crosswalk shipped, one of 9,683 pairs of a code and a label is ambiguous (J9171 4306600101:
    43066000101 or 43066001001): such an NDC is left as it is, matching nothing, not guessed.

    NOTE: the lines join a table of the crosswalk's labels. Matching each line's 10 digits to the NDCs they
    may be instead grouped the lines by line, which held them in memory.
    """
    ndc = pl.col("ndc11")
    labels = (
        crosswalk.filter(ndc.str.contains(r"^\d{11}$"))
        .select("procedure_code", "ndc11", ndc10_labels(ndc).alias("label"))
        .explode("label")
        .drop_nulls("label")
        .unique()
        .filter(pl.len().over("procedure_code", "label") == 1)
        .select("procedure_code", pl.col("label").alias("ndc11"), pl.col("ndc11").alias("listed"))
    )
    return (
        lines.join(ready(labels), on=["procedure_code", "ndc11"], how="left")
        .with_columns(pl.coalesce("listed", "ndc11").alias("ndc11"))
        .drop("listed")
    )


def conversion() -> pl.Expr:
    """How the expected units were derived, for the message (on the lines flagged only: it is text)."""
    return (
        pl.when(pl.col("via_crosswalk"))
        .then(
            pl.format(
                "{} of NDC {} at {} per item (CMS crosswalk)",
                ndc_amount(),
                "ndc",
                count_text(pl.col("billing_units_per_item"), "billing unit"),
            )
        )
        .otherwise(pl.format("{} at {} per unit", ndc_amount(), "dosage"))
    )


def ndc_amount() -> pl.Expr:
    """The NDC quantity given, in words a reader knows (``40 mg``, not the X12 code's ``40 ME``).

    >>> pl.select(pl.lit(40).alias("ndc_quantity"), pl.lit("ME").alias("ndc_unit")).select(ndc_amount()).item()
    '40 mg'
    """
    quantity, unit = pl.col("ndc_quantity"), pl.col("ndc_unit")
    return (
        pl.when(unit == "UN")
        .then(count_text(quantity, "item"))
        .otherwise(pl.format("{} {}", number_text(quantity), mapped(unit, NDC_UNIT_WORDS, default=unit)))
    )


#: A hit's column that says it is of a day over the MUE (MAI 2 and 3), looked at again by ``refine``.
MUE_DAY = "_mue_day"
#: A hit's column of its code's typical units (the provider's, else the organisation's): see :func:`_mue_flagged`.
TYPICAL_DOSE = "_typical_dose"
#: The columns a hit carries for ``refine``: its line's encounter and payer, :data:`MUE_DAY` and
#: :data:`TYPICAL_DOSE`.
DAY_COLUMNS = ("encounter_id", "payer_id", MUE_DAY, TYPICAL_DOSE)


def _discarded(template: str) -> pl.Expr:
    """Words for the encounter's units of the code billed as discarded (JW), ``wasted``, else nothing.

    ``template`` takes their number.
    """
    wasted = pl.col("wasted")
    return pl.when(wasted > 0).then(pl.format(template, number_text(wasted))).otherwise(pl.lit(""))


def _waste() -> pl.Expr:
    """The line bills drug discarded from a vial (JW), not a dose."""
    return has_modifier("JW")


def _drug() -> pl.Expr:
    """The line bills a drug product: units of it, or none (zero units, which the payer pays $0)."""
    return is_drug_product(pl.col("procedure_code")) & (pl.col("units") >= 0)


def _checked() -> pl.Expr:
    """The line's units are checked: a drug line, but not of discarded drug (JW) nor a free one (FB)."""
    return _drug() & _waste().not_() & provided_free().not_()


def _billable() -> pl.Expr:
    """The line bills a dose of a drug: units of a drug, but not of discarded drug (JW) nor a free one (FB)."""
    return _checked() & (pl.col("units") > 0)


def _converted(ctx: AuditContext, drugs: pl.LazyFrame) -> pl.LazyFrame:
    """``drugs`` with their :func:`expected_units`, their code's MUE and their units as ``billed`` (a float).

    The MUE's columns are :func:`_mue_table`'s, null for a code without one. A dose above the MUE is no
    dose: its ``expected_units`` are null, and :data:`DOSE_ABOVE_MUE` says so. CMS pays no more than the
    MUE a line or a patient's day, and sets it at the most a patient is given: such a dose is far more
    often an NDC quantity written wrong (a code, or a package count, in the quantity field) than a dose
    given: valued by it, one such line of a garbled export (99213 mg of J9035) counted 9,882 units
    missing, $980,000. The line is checked as one without an NDC quantity: against the MUE, the
    provider's typical units, or for no units at all.

    The MUE is that of the release in effect on the line's date of service, of those loaded.

    NOTE: the MUE is joined to every drug line here, once, rather than to the lines the MUE check reads:
    no cost measured (jcode's find at 10 M: 1.38-1.61 s against 1.44-1.48 s; the audit of 100 M lines
    within a run's noise). With one MUE release loaded (the shipped snapshot), the join is on the code alone.
    """
    dose = pl.col("expected_units")
    above = (dose > pl.col("mue")).fill_null(False)
    releases, table = ctx.refdata.releases_of("mue"), ready(_mue_table(ctx))
    converted = expected_units(ctx, drugs)
    if len(releases) > 1:
        release = in_effect(releases, pl.col("service_date")).alias(MUE_RELEASE)
        with_mue = converted.with_columns(release).join(table, on=["procedure_code", MUE_RELEASE], how="left")
        with_mue = with_mue.drop(MUE_RELEASE)
    else:
        with_mue = converted.join(table.drop(MUE_RELEASE), on="procedure_code", how="left")
    return with_mue.with_columns(
        pl.col("units").cast(pl.Float64).alias("billed"),
        pl.when(above.not_()).then(dose).alias("expected_units"),
        above.alias(DOSE_ABOVE_MUE),
    )


def _dose_above_mue(releases: list[str]) -> pl.Expr:
    """Words for a line whose NDC quantity gave a dose above the MUE (:data:`DOSE_ABOVE_MUE`), else nothing.

    ``releases``: the MUE releases loaded (see :func:`_mue_words`).
    """
    mue = count_text(pl.col("mue"), "unit")
    release = _release_in_effect(releases)
    if release is not None:
        mue = pl.format("{} ({} release)", mue, release)
    words = pl.format("; the NDC quantity, {}, is more than the CMS MUE of {} allows", ndc_amount(), mue)
    return pl.when(pl.col(DOSE_ABOVE_MUE)).then(words).otherwise(pl.lit(""))


def _mue_words(releases: list[str]) -> pl.Expr:
    """A line's MUE and its MAI, in words: ``MUE 230 (MAI 3)``.

    With more than one of the MUE ``releases`` loaded, also the release whose MUE it is, that in effect on
    the line's date of service: ``MUE 230 (MAI 3, 2025-10 release)``.

    >>> from datetime import date
    >>> lines = pl.DataFrame({"mue": [230], "mai": [3], "service_date": [date(2025, 11, 3)]})
    >>> lines.select(_mue_words(["2026-04"]), _mue_words(["2025-10", "2026-04"]).alias("dated")).row(0)
    ('MUE 230 (MAI 3)', 'MUE 230 (MAI 3, 2025-10 release)')
    """
    release = _release_in_effect(releases)
    if release is None:
        return pl.format("MUE {} (MAI {})", "mue", "mai")
    return pl.format("MUE {} (MAI {}, {} release)", "mue", "mai", release)


def _release_in_effect(releases: list[str]) -> pl.Expr | None:
    """The MUE release in effect on a line's date of service, for its message; None with one release loaded."""
    return in_effect(releases, pl.col("service_date")) if len(releases) > 1 else None


def _mue_table(ctx: AuditContext) -> pl.LazyFrame:
    """The codes with an MUE by release: ``procedure_code``, :data:`MUE_RELEASE`, ``mue``, ``mai`` and ``mue_code``.

    A code has a row in each release that lists it, and ``mue_code`` a number for each such row. A release
    in effect whose table does not list a code gives the code no MUE then: CMS sets MUEs, and deletes
    them, by quarter.

    NOTE: ``mue_code`` numbers the rows so that the day group-by (tens of millions of groups on 100 M
    lines) has integer keys instead of a text; a patient's day has one date, hence one release. One row a
    code and release: a release listing a code twice would otherwise count each drug line of it twice; of
    two values the smaller counts. (``refdata import`` refuses such a file, but a store written before it
    did, or a ``RefData`` built in code, may hold one.)
    """
    limit = pl.struct("mue", "mai").sort_by("mue", "mai").first()
    return (
        ctx.refdata.mue.filter(pl.col("mue") > 0)
        .group_by(pl.col("code").alias("procedure_code"), pl.col("release").alias(MUE_RELEASE))
        .agg(limit.alias("limit"))
        .unnest("limit")
        .sort("procedure_code", MUE_RELEASE)
        .with_row_index("mue_code")
    )


def _with_mue(converted: pl.LazyFrame) -> pl.LazyFrame:
    """The ``converted`` lines of a code with an MUE billing units that match their dose (or that have none)."""
    return converted.filter(
        pl.col("mue").is_not_null()
        & (pl.col("billed") > 0)
        & (pl.col("expected_units").is_null() | (pl.col("billed") == pl.col("expected_units")))
    )


def _days_over_mue(day_lines: pl.LazyFrame) -> pl.LazyFrame:
    """The anchor line of each patient's day whose units of an MAI 2/3 code for one payer pass its MUE.

    Each gains ``day_units``, the day's units of its code. The anchor is the day's line of the most units,
    the first in ``line_order`` of several: copies of the day on two claims (a crossover, a rebill)
    anchor the same service, so ``same_service`` counts them once.
    NOTE: the payer is a categorical key, its text held once: a text key cost 0.16 GB more on 100 M lines.
    The days and their lines of the most units are found from the few columns that say them, and those
    lines joined whole by ``line_id``: joined whole on the day's key, the lines held for the join took
    1.9 GB more on 100 M drug-heavy lines (5.2 GB against 3.3 GB); so, 3.7 GB.
    """
    keys = ("encounter_id", "mue_code", _PAYER)
    most = "_most_billed"
    payer = pl.col("payer_id").cast(pl.Categorical).alias(_PAYER)
    keyed = day_lines.select("encounter_id", "mue_code", payer, "line_id", "billed", "mue")
    day_totals = (
        keyed.group_by(keys)
        .agg(pl.col("billed").max().alias(most), pl.col("billed").sum().alias("day_units"), pl.col("mue").first())
        .filter(pl.col("day_units") > pl.col("mue"))
        .drop("mue")
    )
    heaviest = (
        keyed.join(day_totals, on=keys, how="inner", nulls_equal=True)
        .filter(pl.col("billed") == pl.col(most))
        .select("line_id", "day_units")
    )
    return first_in_order(day_lines.join(heaviest, on="line_id", how="inner"), "encounter_id", "mue_code", "payer_id")


def _typical_units(counted: pl.LazyFrame, *by: str) -> pl.LazyFrame:
    """The typical units (``typical_units``, the median) of each code and ``by``, over at least 5 services.

    ``counted`` counts the services (``_services``) of each code, ``by`` and units. Of fewer than
    :data:`MIN_TYPICAL_LINES` services, no typical units are given.
    """
    return (
        median_by(
            counted,
            ["procedure_code", *by],
            pl.col("units"),
            name="typical_units",
            count="typical_lines",
            weight="_services",
        )
        .filter(pl.col("typical_lines") >= MIN_TYPICAL_LINES)
        .drop("typical_lines")
    )


#: The columns of a flagged line, whatever its check.
_FLAGGED = [
    "line_id",
    "procedure_code",
    "units",
    "paid_amount",
    "kind",
    "quantity",
    "expected_units",
    "conversion",
    "dosage",
]


def _mue_flagged(over_mue: pl.LazyFrame, releases: list[str]) -> pl.LazyFrame:
    """Lines above the MUE (``day_units`` of ``mue``), flagged: :data:`_FLAGGED` and :data:`DAY_COLUMNS`.

    ``releases``: the MUE releases loaded (:func:`_mue_words`).

    A denial is valued at the units CMS allows, what a rebill within the MUE recovers. But a line without a
    dose whose own units pass the MUE (4,000 units of J9035, MUE 230: 40 written wrong) tells nothing of
    the dose given: it is valued at the code's typical units (:data:`TYPICAL_DOSE`) where they are fewer.
    """
    mue, typical = pl.col("mue").cast(pl.Float64), pl.col(TYPICAL_DOSE)
    by_typical = (pl.col("billed") > mue) & pl.col("expected_units").is_null() & (typical < mue).fill_null(False)
    conversion = pl.concat_str(
        pl.format("{}, {} that day", _mue_words(releases), count_text(pl.col("day_units"), "unit")),
        pl.when(by_typical)
        .then(pl.format("; valued at the typical {} of the code", count_text(typical, "unit")))
        .otherwise(pl.lit("")),
    )
    return over_mue.with_columns(
        pl.lit(ABOVE_MUE).alias("kind"),
        pl.when(by_typical).then(typical).otherwise(mue).alias("quantity"),
        conversion.alias("conversion"),
        (pl.col("mai") != 1).alias(MUE_DAY),
    ).select(*_FLAGGED, *DAY_COLUMNS)


def _with_typical_dose(lines: pl.LazyFrame, provider_typical: pl.LazyFrame, code_typical: pl.LazyFrame) -> pl.LazyFrame:
    """``lines`` with :data:`TYPICAL_DOSE`: the provider's typical units of the code, else the organisation's.

    ``provider_typical`` and ``code_typical`` are :func:`_typical_units` by provider and by code alone (its
    column named ``code_units``).
    """
    return (
        lines.join(provider_typical, on=["procedure_code", "rendering_npi"], how="left")
        .join(code_typical, on="procedure_code", how="left")
        .with_columns(pl.coalesce("typical_units", "code_units").alias(TYPICAL_DOSE))
        .drop("typical_units", "code_units")
    )


def _hits(flagged: pl.LazyFrame) -> pl.LazyFrame:
    """The flagged lines as hits, worded by their ``kind``, with :data:`DAY_COLUMNS` for ``refine``."""
    code = pl.col("procedure_code")
    kind = pl.col("kind")
    units = count_text(pl.col("units"), "unit")
    expected, quantity = count_text(pl.col("expected_units"), "unit"), count_text(pl.col("quantity"), "unit")
    are = is_or_are(pl.col("quantity"))
    dose = pl.format("{} billed {} but the dose given is {} ({}): {}", code, units, expected, "conversion", quantity)
    message = (
        pl.when(kind == UNDER)
        .then(pl.format("{} {} not billed.", dose, are))
        .when(kind == OVER)
        .then(pl.format("{} billed above the dose {} audit exposure.", dose, are))
        .when(kind == NO_UNITS)
        .then(
            pl.format(
                "{} billed with no units: the payer pays the line $0. Rebill it with the units of the dose given "
                "(valued at {}).",
                code,
                "conversion",
            )
        )
        .when(kind == ABOVE_MUE)
        .then(
            pl.format(
                "{} billed {}, above the CMS practitioner MUE ({}): the line will be denied. "
                "Check the dose; rebill within the MUE or appeal with records.",
                code,
                units,
                "conversion",
            )
        )
        .otherwise(
            pl.format(
                "{} billed {}, far below this provider's {}: check the dose given.",
                code,
                units,
                "conversion",
            )
        )
    )
    return hits(
        flagged,
        rule_id=JcodeUnitMismatch.id,
        finding_kind=pl.when(kind == OVER).then(pl.lit("compliance_exposure")).otherwise(pl.lit("lost_revenue")),
        confidence=pl.when(kind == BELOW_TYPICAL)
        .then(pl.lit("low"))
        .when(kind == NO_UNITS)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("high")),
        message=message,
        price_basis="drug_unit_price",
        price_code=code,
        price_quantity=pl.col("quantity").round(3),
        price_cap=pl.when(kind == OVER).then(_paid_for_extra_units()),
        keep=DAY_COLUMNS,
    )


def _paid_for_extra_units() -> pl.Expr:
    """What the payer paid for a line's units above the dose (``quantity`` of its ``units``): its share of the pay.

    The most a payer can recoup of them: 200 units of J9035 billed for a dose of 40 and paid $1,000 put
    $800 at risk, not 160 units at the median paid per unit (about $11,700 at the ASP). Null for a line
    whose payment is unknown.

    >>> lines = pl.DataFrame({"paid_amount": [6.0, 0.0, None], "quantity": [2.0, 2.0, 2.0], "units": [6, 6, 6]})
    >>> lines.select(_paid_for_extra_units()).to_series().to_list()
    [2.0, 0.0, None]
    """
    units = pl.col("units").cast(pl.Float64)
    return pl.col("paid_amount").cast(pl.Float64) * pl.col("quantity") / units


class JcodeUnitMismatch(Rule):
    """Drug units billed do not match the dose given, exceed the CMS MUE, are far below the usual dose, or are none.

    Why it leaks:
        Drug codes are billed in units of the HCPCS dosage descriptor ("per 10 mg", "per 250 mg", "per 1 mL",
        from the CMS ASP file). When the line carries an NDC quantity, the dose given is converted to billing
        units (mg, g and IU directly; mL and each through the CMS NDC-HCPCS crosswalk), a partial unit rounded
        up: fewer units billed is lost revenue, more is compliance exposure (reported apart, not counted as lost
        revenue). Units above the CMS practitioner MUE (per line for MAI 1, per patient and day for MAI 2 and 3,
        on one payer's claims, a claim billed again counted once; the MUE of the release in effect on the date
        of service, of those loaded) are denied (high confidence; a day's finding sits on its dose of the most
        units); so is a line billed above its dose whose own units pass the MUE, which is then lost revenue, not
        exposure (nothing is paid to recoup), valued at the dose up to the MUE. Without an NDC quantity, units
        far below the provider's own typical units for the code (at most half its median over at least 5 lines)
        are flagged at low confidence. An NDC quantity that gives a dose above the code's MUE is taken as
        written wrong (CMS pays no more than the MUE, set at the most a patient is given): the line is checked
        as one without an NDC quantity, and its message asks to check the quantity. A drug line billing no units
        (zero) is paid $0: with an NDC quantity the dose check finds every unit missing; without one that
        converts, the line is flagged at medium confidence (it surely pays nothing; how many units it should
        bill is estimated). Lines with the JW (wasted drug) modifier bill the discarded amount, not the dose:
        they are not checked themselves, and their units count towards the dose of the same code on the
        encounter (a vial's 400 mg on the administered line, billed as 38 units of 10 mg and 2 more JW, is
        billed in full), and towards its typical units. Lines with the FB modifier bill a drug given to the
        practice without cost (a free sample, CMS HCPCS modifier FB): nothing is lost on them, and they are not
        checked, nor counted in a day's units for the MUE or in typical units.

    How the loss is estimated:
        The missing units (or, for exposure, the extra units; for an MUE denial, the units CMS allows,
        but a line without a dose whose own units pass the MUE at the code's typical units where fewer:
        its units tell nothing of the dose) times the price per unit: the organisation's own median paid
        per unit for the code and payer where it has at least 5 paid lines, else the CMS ASP payment
        limit per billing unit. A line of no units and no dose misses the units of a typical dose: the
        provider's median units of the code (over at least 5 services), else the organisation's, else 1
        unit, the least a dose bills (the message says which). Exposure is at most what the payer paid
        for the extra units (their share of the line's payment): no more can be recouped, and a line
        paid nothing risks nothing.

    Example:
        J3301 (triamcinolone, per 10 mg) with NDC quantity 40 ME billed as 1 unit: 4 units were given,
        3 are missing, valued at 3 times the median paid per unit. J1100 (per 1 mg) with 10 ME billed
        as 10 units is correct: no finding. J0696 (per 250 mg) with 1 GR billed as 1 unit: 3 missing.
        J3301 billed with 0 units and no NDC quantity, by a provider who usually bills 4: 4 missing.
        J9035 (per 10 mg, MUE 230) billed as 40 units with NDC quantity 99213 ME (a visit's code typed
        as the quantity): no dose of 9922 units, and no finding where the provider usually bills 40.
    """

    id = "jcode-unit-mismatch"
    title = "Drug units that do not match the dose"
    rests_on_other_lines = True

    @staticmethod
    def staged(ctx: AuditContext) -> dict[str, pl.LazyFrame]:
        """The drug lines billed, :func:`_converted`: the checks of :meth:`find` and :meth:`refine` read them.

        A drug given free of cost (FB) loses nothing, whatever its units: it is not checked. Nor are the
        units billed as discarded (JW): those lines are staged too (:data:`DISCARDED`), as :meth:`find`
        adds their units to the dose of the same code.

        NOTE: the discarded units, and the services the typical units count, were read from the audit's
        lines: each a scan of every line. Read from the staged lines, the rule takes 11.3-13.3 s of the
        audit of 100 M lines against 17.9-18.2 s, 21.6 s against 29.2 s of 100 M drug-heavy lines, with
        the same findings and peak memory.
        """
        drugs = ctx.lines.filter(_checked() | (_drug() & _waste()))
        return {CONVERTED: _converted(ctx, drugs).with_columns(_waste().alias(DISCARDED)).select(CONVERTED_COLUMNS)}

    @staticmethod
    def find(ctx: AuditContext) -> pl.LazyFrame:
        """Hits for units that do not match the NDC dose, exceed the MUE, are far below typical, or are none.

        The days over the MUE add up every line of a payer; :meth:`refine` adds each service once.
        """
        # The units billed as discarded (JW) of each code on the encounter. NOTE: a system that records the
        # vial's NDC quantity on the administered line too (400 mg given as 380 billed, 20 on the JW line)
        # bills the dose in full: those units are not missing.
        staged = ctx.staged(JcodeUnitMismatch)[CONVERTED]
        wasted = (
            staged.filter(pl.col(DISCARDED))
            .group_by("encounter_id", "procedure_code")
            .agg(pl.col("units").sum().cast(pl.Float64).alias("wasted"))
        )
        # The lines checked (_checked()): the staged lines but those of discarded drug.
        converted = staged.filter(pl.col(DISCARDED).not_())
        releases = ctx.refdata.releases_of("mue")
        has_dose = pl.col("expected_units").is_not_null()
        billed, expected = pl.col("billed"), pl.col("expected_units")
        under = converted.filter(has_dose & (billed < expected)).join(
            wasted, on=["encounter_id", "procedure_code"], how="left"
        )
        with_waste = billed + pl.col("wasted").fill_null(0)
        over = converted.filter(has_dose & (billed > expected))
        # Above the dose and, on its own, above the MUE (40 units of J3301 for 40 mg, MUE 16): the payer denies
        # the line and pays nothing to recoup. It is lost revenue, which a rebill of the dose recovers.
        alone_over_mue = (billed > pl.col("mue")).fill_null(False)
        dose_hits = pl.concat(
            [
                under.filter(with_waste < expected).with_columns(
                    pl.lit(UNDER).alias("kind"), (expected - with_waste).alias("quantity")
                ),
                over.filter(alone_over_mue.not_()).with_columns(
                    pl.lit(OVER).alias("kind"), (billed - expected).alias("quantity")
                ),
            ],
            how="diagonal_relaxed",
        )
        dose_over_mue = over.filter(alone_over_mue).with_columns(
            pl.lit(ABOVE_MUE).alias("kind"),
            pl.min_horizontal(expected, pl.col("mue").cast(pl.Float64)).alias("quantity"),
            pl.format(
                "{}; the dose given is {}, {}", _mue_words(releases), count_text(expected, "unit"), conversion()
            ).alias("conversion"),
        )

        # MUE: per line (MAI 1) or per patient and day (MAI 2/3), for lines whose units match their dose or
        # that have none.
        with_mue = _with_mue(converted)
        line_mue = with_mue.filter((pl.col("mai") == 1) & (pl.col("billed") > pl.col("mue"))).with_columns(
            pl.col("billed").alias("day_units")
        )
        # NOTE: the day's units are added up per payer, as each payer applies its edits to its own claims: a
        # claim crossed over to a second payer is not added to the first (15 units of J2791, MUE 15, to
        # Medicare and the same 15 to Medicaid are not 30 that day). The hits on such copies are then one
        # finding (``same_service``). Here every line of the payer's day is added, also a claim billed
        # again after a denial: ``refine`` reads the days found over the MUE again, adding such copies once.
        day_mue = _days_over_mue(with_mue.filter(pl.col("mai") != 1))
        mue_hits = pl.concat([line_mue, day_mue.select(line_mue.collect_schema().names())])

        # Far below the provider's typical units, for lines without an NDC quantity or whose NDC quantity
        # gives a dose above the MUE (no dose: see _converted). The typical units are
        # the provider's over the whole audit (all partitions, when ``lines`` is one), each service once
        # (a claim crossed over to a second payer does not weigh twice).
        # NOTE: the services are counted per code, provider and units once, cached: the provider's typical
        # units and the organisation's (for lines of no units) are medians of the same counts. Counted for
        # each, the rule took 3 s more on 100 M lines (14.3-15.5 s against 12.1-12.8 s). The lines
        # _billable() are those checked with units; of a partition (``history`` given), the whole audit's.
        if ctx.history is None:
            billable = converted.filter(pl.col("units") > 0)
        else:
            billable = ctx.all_lines.filter(_billable())
        counted = services_by(billable, "procedure_code", "rendering_npi", "units", name="_services").cache()
        typical = _typical_units(counted.filter(pl.col("rendering_npi").is_not_null()), "rendering_npi")
        code_typical = _typical_units(counted).rename({"typical_units": "code_units"})
        below = (
            converted.filter((pl.col("ndc_quantity").is_null() | pl.col(DOSE_ABOVE_MUE)) & (billed > 0))
            .join(typical, on=["procedure_code", "rendering_npi"], how="inner")
            .filter((pl.col("typical_units") >= 2) & (pl.col("billed") <= FAR_BELOW * pl.col("typical_units")))
            # NOTE: the units billed as discarded (JW) count, as in the dose check: 2 units given and 13 thrown
            # away of a 15-unit vial are billed in full. The filter above, on the units given alone, keeps
            # this join to the few lines that may be far below.
            .join(wasted, on=["encounter_id", "procedure_code"], how="left")
            .filter(with_waste <= FAR_BELOW * pl.col("typical_units"))
            .with_columns(pl.lit(BELOW_TYPICAL).alias("kind"), (pl.col("typical_units") - with_waste).alias("quantity"))
        )

        # No units billed, and no NDC quantity that gives the dose: the units of a typical dose (the
        # provider's, else the organisation's), else the one unit every dose bills at least.
        unbilled = (
            converted.filter(pl.col("expected_units").is_null() & (billed == 0))
            .join(typical, on=["procedure_code", "rendering_npi"], how="left")
            .join(code_typical, on="procedure_code", how="left")
            .with_columns(
                pl.lit(NO_UNITS).alias("kind"),
                pl.coalesce("typical_units", "code_units", pl.lit(1.0)).alias("quantity"),
                pl.when(pl.col("typical_units").is_not_null())
                .then(pl.format("this provider's typical {} for the code", count_text(pl.col("typical_units"), "unit")))
                .when(pl.col("code_units").is_not_null())
                .then(pl.format("the organisation's typical {} for the code", count_text(pl.col("code_units"), "unit")))
                .otherwise(pl.lit("1 unit, the least a dose bills: no typical units of the code are known"))
                .alias("conversion"),
            )
            .with_columns(pl.concat_str("conversion", _dose_above_mue(releases)).alias("conversion"))
        )

        # The flagged columns, and the DAY_COLUMNS of a hit not of a day over the MUE.
        not_a_day = [
            *_FLAGGED,
            "encounter_id",
            "payer_id",
            pl.lit(False).alias(MUE_DAY),
            pl.lit(None, pl.Float64()).alias(TYPICAL_DOSE),
        ]
        flagged = pl.concat(
            [
                dose_hits.with_columns(
                    pl.concat_str(
                        conversion(),
                        _discarded("; {} more billed as discarded, JW"),
                    ).alias("conversion")
                ).select(not_a_day),
                _mue_flagged(_with_typical_dose(mue_hits, typical, code_typical), releases),
                dose_over_mue.select(not_a_day),
                below.with_columns(
                    pl.concat_str(
                        pl.format("typical {} for the code", count_text(pl.col("typical_units"), "unit")),
                        _discarded(" ({} more billed as discarded, JW)"),
                        _dose_above_mue(releases),
                    ).alias("conversion")
                ).select(not_a_day),
                unbilled.select(not_a_day),
            ],
            how="vertical_relaxed",
        )
        return _hits(flagged)

    @staticmethod
    def refine(ctx: AuditContext, found: pl.DataFrame) -> pl.LazyFrame:
        """The days over the MUE found, their units added again with a payer's copies once.

        A claim denied and billed again to the same payer repeats its lines: the day's units are those of
        one copy (``same_service.one_copy``), and a day that only passed the MUE by adding the copies is no
        finding. NOTE: here, not in :meth:`find`: there the days over the MUE are an aggregate of the
        cached drug lines, and joining them back to their lines held one side whole (6.6 GB peak on 100 M
        lines, 4.9 GB reading the lines again, 4.0 GB without); from ``found``, they are in memory.

        The days' lines are read from the staged drug lines (:data:`CONVERTED`), converted already.
        NOTE: read from the work file instead, the few lines of the days cost a scan of every line (each
        column's pages hold some of them): 3.6 s on 100 M lines, 0.56 s from the staged file, which two
        more columns made 1.3 s longer to write.
        """
        days = found.filter(pl.col(MUE_DAY)).select(
            "encounter_id", pl.col("price_code").alias("procedure_code"), "payer_id", TYPICAL_DOSE
        )
        if days.is_empty():
            return found.lazy()
        # NOTE: the days' encounters first: a look-up of one integer column, which the scan applies before it
        # reads the codes of the lines (6.6 s on 100 M lines, 53 k days, without it, reading the work file).
        encounters = days["encounter_id"].unique().implode()
        # NOTE: cached, the days' lines only: the day's units and its anchor line each read them. The staged
        # lines not discarded are those _checked(); with units above zero, those _billable().
        lines = (
            ctx.staged(JcodeUnitMismatch)[CONVERTED]
            .filter(pl.col("encounter_id").is_in(encounters) & pl.col(DISCARDED).not_())
            .filter(pl.col("units") > 0)
            .join(days.lazy(), on=["encounter_id", "procedure_code", "payer_id"], how="semi", nulls_equal=True)
            .cache()
        )
        day_lines = one_copy(_with_mue(lines), "payer_id").filter(pl.col("mai") != 1)
        # The typical units found for each day (its code's, of the anchor's provider), kept through find.
        typical = days.group_by("encounter_id", "procedure_code", "payer_id").agg(pl.col(TYPICAL_DOSE).min())
        over_mue = _days_over_mue(day_lines).join(
            typical.lazy(), on=["encounter_id", "procedure_code", "payer_id"], how="left", nulls_equal=True
        )
        again = _mue_flagged(over_mue, ctx.refdata.releases_of("mue"))
        return pl.concat([found.lazy().filter(pl.col(MUE_DAY).not_()), _hits(again)], how="vertical_relaxed")
