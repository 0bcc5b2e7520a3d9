"""The rule framework: the base class every rule derives from, and the shape of what rules return.

A rule is a class with an ``id`` (kebab-case), a ``title``, a docstring whose sections explain the
billing problem, and a pure ``find(ctx) -> LazyFrame`` that returns *hits* in
:data:`RULE_HIT_SCHEMA`: no I/O, no ``collect()`` of lines, no printing. A frame it reads more than once
it names in ``staged(ctx)``, for the audit to write to a work file first. It may take a second look at
its hits, collected, in ``refine(ctx, found)``. A hit names the line at fault (its ``line_id``), what
is wrong and the price basis that values it; :func:`identify` adds the line's claim, patient, payer and
code (:data:`HIT_SCHEMA`), :mod:`leakaudit.pricing` turns hits into dollar estimates and
:mod:`leakaudit.findings` into findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import polars as pl

from leakaudit.io import encounter_key
from leakaudit.refdata import codeset
from leakaudit.rules.context import AuditContext
from leakaudit.rules.same_service import COPY_COLUMNS, SERVICE_KEY, first_in_order, once_per_service
from leakaudit.schema import MONEY, QUANTITY, conform

#: Kinds of finding. Only ``lost_revenue`` counts towards estimated leakage; ``compliance_exposure``
#: (e.g. units billed above the dose given) is money at risk of recoupment, reported apart.
FINDING_KINDS = ("lost_revenue", "compliance_exposure")
CONFIDENCES = ("high", "medium", "low")

#: What a rule's ``find`` returns: the line at fault, what is wrong with it, and how to value it.
RULE_HIT_SCHEMA = pl.Schema(
    {
        "line_id": pl.UInt64(),
        "rule_id": pl.String(),
        "finding_kind": pl.String(),
        "confidence": pl.String(),
        "message": pl.String(),
        # Which price basis values the loss, the code it is priced on and how many of it were lost; and what
        # else of the line the basis may price it by (the administration's diagnosis), else null.
        "price_basis": pl.String(),
        "price_code": pl.String(),
        "price_context": pl.String(),
        "price_quantity": QUANTITY,
        # The most the finding can be worth, whatever its price: for compliance exposure, what the payer
        # paid for the units at issue (no more can be recouped). Null: no such bound.
        "price_cap": MONEY,
        # What the line at fault was paid already for what the finding values, taken off the estimate: a
        # brace billed as a supply and paid so. Null: nothing to take off.
        "price_paid": MONEY,
    }
)

#: The columns of the line a hit is on that :func:`identify` adds (``encounter_key`` is derived).
IDENTITY_COLUMNS = (
    "claim_id",
    "line_number",
    "patient_id",
    "payer_id",
    "payer_type",
    "rendering_npi",
    "service_date",
    "procedure_code",
)

#: A hit with its line identified: what pricing and findings work on.
HIT_SCHEMA = pl.Schema(
    {
        "rule_id": pl.String(),
        "finding_kind": pl.String(),
        "claim_id": pl.String(),
        "line_number": pl.Int64(),
        "encounter_key": pl.String(),
        "patient_id": pl.String(),
        "payer_id": pl.String(),
        "payer_type": pl.String(),
        "rendering_npi": pl.String(),
        "service_date": pl.Date(),
        "procedure_code": pl.String(),
        "confidence": pl.String(),
        "message": pl.String(),
        "price_basis": pl.String(),
        "price_code": pl.String(),
        "price_context": pl.String(),
        "price_quantity": QUANTITY,
        "price_cap": MONEY,
        "price_paid": MONEY,
    }
)


def hit_lines(rule_hits: pl.DataFrame, lines: pl.LazyFrame) -> pl.LazyFrame:
    """The ``lines`` hit, with what :func:`identify` reads of them (their ``encounter_key`` too).

    NOTE: rules carry only ``line_id``; the identity columns are read here once, for the lines hit,
    instead of through every rule's plan (3x less to read per rule on 10 M lines).
    """
    ids = rule_hits["line_id"].unique()
    read = dict.fromkeys(["line_id", *IDENTITY_COLUMNS, *SERVICE_KEY, *COPY_COLUMNS])
    return lines.filter(pl.col("line_id").is_in(ids.implode())).select(*read, encounter_key())


def identify(rule_hits: pl.DataFrame, identities: pl.LazyFrame) -> pl.LazyFrame:
    """Add to each hit the claim, patient, payer, code and encounter of its line: :data:`HIT_SCHEMA`.

    ``identities`` are :func:`hit_lines`. The hits on copies of one service billed on several claims are one
    finding (:func:`leakaudit.rules.same_service.once_per_service`). NOTE: give them collected: within one
    plan, each use of the hits scanned the work file again (0.65 s on 10 M lines, 0.25 s collected first).
    """
    return conform(once_per_service(identities.join(rule_hits.lazy(), on="line_id", how="inner")), HIT_SCHEMA)


DOC_SECTIONS = ("Why it leaks:", "How the loss is estimated:", "Example:")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")


class Rule:
    """Base class of all rules; a subclass is checked for its id, title and docstring when defined."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: A finding says a code is missing from its visit: a rejected row of the visit may bill it, so a
    #: finding beside one is of low confidence (``findings.with_rejected_rows``).
    finds_a_missing_code: ClassVar[bool] = False
    #: A finding rests on other lines of its visit (patient and date of service) than its own, billed:
    #: the supply line beside an E/M visit, the day's other doses against the MUE. On a crowded visit, many
    #: patients' lines under one id, those may be another patient's: it is of low confidence
    #: (``findings.on_crowded_visits``). A finding of what the visit lacks does not.
    rests_on_other_lines: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        rule_id = getattr(cls, "id", "")
        if not _ID.match(rule_id):
            raise TypeError(f"{cls.__name__}: id {rule_id!r} must be kebab-case, e.g. 'drug-admin-without-drug'")
        if not getattr(cls, "title", ""):
            raise TypeError(f"{cls.__name__}: a rule needs a title")
        doc = cls.__doc__ or ""
        missing = [s for s in DOC_SECTIONS if s not in doc]
        if missing:
            raise TypeError(f"{cls.__name__}: docstring lacks section(s) {', '.join(missing)}")

    @classmethod
    def summary(cls) -> str:
        """The docstring's first line: the one-sentence statement users see."""
        return (cls.__doc__ or "").strip().splitlines()[0]

    @classmethod
    def section(cls, heading: str) -> str:
        """The text of one docstring section (e.g. ``"How the loss is estimated:"``), dedented."""
        doc = (cls.__doc__ or "").expandtabs()
        start = doc.index(heading) + len(heading)
        rest = doc[start:]
        ends = [rest.index(h) for h in DOC_SECTIONS if h in rest]
        body = rest[: min(ends)] if ends else rest
        return " ".join(line.strip() for line in body.strip().splitlines() if line.strip())

    @staticmethod
    def staged(ctx: AuditContext) -> dict[str, pl.LazyFrame]:
        """The frames :meth:`find` (and :meth:`refine`) read more than once, by name (none by default).

        They are read with :meth:`AuditContext.staged`. The audit writes each to a work file before
        ``find`` runs (``findings.find_all``) and removes it after ``refine``; ``find``'s checks each scan
        the file. Called on their own, outside an audit, ``find`` and ``refine`` cache them.

        NOTE: a frame the streaming engine caches is held whole in memory, with every column a check reads:
        jcode-unit-mismatch's converted drug lines took about 0.45 GB per million.
        """
        return {}

    @staticmethod
    def find(ctx: AuditContext) -> pl.LazyFrame:
        """Return this rule's hits in :data:`RULE_HIT_SCHEMA` (and columns of its own for :meth:`refine`)."""
        raise NotImplementedError

    @staticmethod
    def refine(ctx: AuditContext, found: pl.DataFrame) -> pl.LazyFrame:
        """A second look at the hits :meth:`find` returned, collected: by default they stand as found.

        For a check whose first pass can only name what to read again, such as the lines of a day found
        over a limit: joined to ``found``, which is in memory, they are read without holding the first
        pass's input (a join whose build side is an aggregate of the same lines holds its other side
        whole). Pure, like :meth:`find`; the columns beyond :data:`RULE_HIT_SCHEMA` are dropped after.
        """
        return found.lazy()


ANCHOR = "_anchor_key"


def anchor_key(*priority: pl.Expr) -> pl.Expr:
    """A small whole number whose minimum marks the lines a finding may sit on: ``priority`` first.

    Each priority is a condition; a line where it holds comes after lines where it does not (the first
    priority weighs most). Rules that find one problem per encounter take ``min()`` of this key in their
    group-by, and :func:`anchor_lines` picks of the lines that have it the first in
    :func:`~leakaudit.rules.same_service.line_order`, whatever the order of the input.

    NOTE: the priorities alone, not ``line_id`` in the bits below them: the minimum of such a key (one
    integer group-by) was the first line of the input, and the same lines exported in another order then
    anchored another copy of a crossed-over service, priced at the other payer's history.
    """
    key = pl.lit(0, pl.UInt8)
    for weight, condition in enumerate(reversed(priority)):
        key = key + condition.cast(pl.UInt8) * pl.lit(1 << weight, pl.UInt8)
    return key.alias(ANCHOR)


def anchor_lines(lines: pl.LazyFrame, groups: pl.LazyFrame, *keys: str) -> pl.LazyFrame:
    """Each group of ``keys`` (with its ``min()`` of :func:`anchor_key`) joined to its anchor line.

    Of the group's ``lines`` whose key is the group's minimum, the anchor is the first in
    :func:`~leakaudit.rules.same_service.line_order`.
    """
    anchors = groups.filter(pl.col(ANCHOR).is_not_null())
    shared = set(anchors.collect_schema().names()) & set(lines.collect_schema().names()) - {*keys, ANCHOR}
    candidates = lines.join(anchors.drop(shared), on=[*keys, ANCHOR], how="inner")
    return first_in_order(candidates, *keys).drop(ANCHOR)


def practice_line_in_facility() -> pl.Expr:
    """Whether a practice billed the line for a patient in a facility (a hospital, an ASC, a SNF).

    There the facility furnishes the drugs and devices and bills them on its own claim, which the
    practice's export does not hold. A line with a revenue code is the facility's own (an institutional
    claim), wherever it is; an unknown place of service is taken as the practice's own (an office).
    """
    in_facility = codeset("facility_places_of_service").contains(pl.col("place_of_service")).fill_null(False)
    return in_facility & pl.col("revenue_code").is_null()


def has_modifier(modifier: str) -> pl.Expr:
    """The line's modifiers (a comma-separated list) hold ``modifier``."""
    return pl.col("modifiers").str.contains(rf"(^|,){modifier}(,|$)").fill_null(False)


def provided_free() -> pl.Expr:
    """The line bills an item provided without cost to the practice (FB: a free sample, a replacement).

    Nothing was paid for it, so nothing is lost on the line, whatever its code or units (CMS HCPCS
    modifier FB).
    """
    return has_modifier("FB")


def primary_diagnosis() -> pl.Expr:
    """The line's first diagnosis code (``diagnosis_codes`` is a ``;``-separated list), else null.

    >>> dx = pl.Series(["M17.11;E11.9", "J45.50", None])
    >>> pl.select(diagnosis_codes=dx).select(primary_diagnosis()).to_series().to_list()
    ['M17.11', 'J45.50', None]
    """
    return pl.col("diagnosis_codes").str.split(";").list.first()


def number_text(value: pl.Expr) -> pl.Expr:
    """A quantity for a message: ``4`` rather than ``4.0``, else up to 3 decimals."""
    as_float = value.cast(pl.Float64)
    return (
        pl.when(as_float == as_float.floor())
        .then(as_float.cast(pl.Int64).cast(pl.String))
        .otherwise(as_float.round(3).cast(pl.String))
    )


def count_text(value: pl.Expr, noun: str, plural: str | None = None) -> pl.Expr:
    """A quantity and its noun for a message: ``1 unit``, ``4 units``, ``2.5 units``.

    ``plural`` where the noun's is not the noun and an s: ``1 copy``, ``2 copies``.

    >>> pl.select(q=pl.Series([1.0, 4.0, 2.5])).select(count_text(pl.col("q"), "unit")).to_series().to_list()
    ['1 unit', '4 units', '2.5 units']
    >>> pl.select(q=pl.Series([1, 2])).select(count_text(pl.col("q"), "copy", "copies")).to_series().to_list()
    ['1 copy', '2 copies']
    """
    plural = noun + "s" if plural is None else plural
    return pl.format("{} {}", number_text(value), pl.when(_is_one(value)).then(pl.lit(noun)).otherwise(pl.lit(plural)))


def is_or_are(value: pl.Expr) -> pl.Expr:
    """The verb agreeing with a quantity in a message: ``1 unit is``, ``3 units are``."""
    return pl.when(_is_one(value)).then(pl.lit("is")).otherwise(pl.lit("are"))


def _is_one(value: pl.Expr) -> pl.Expr:
    return value.cast(pl.Float64) == 1


def hits(
    lines: pl.LazyFrame,
    *,
    rule_id: str,
    finding_kind: str | pl.Expr,
    confidence: pl.Expr,
    message: pl.Expr,
    price_basis: str | None,
    price_code: pl.Expr,
    price_quantity: pl.Expr,
    price_context: pl.Expr | None = None,
    price_cap: pl.Expr | None = None,
    price_paid: pl.Expr | None = None,
    keep: Sequence[str] = (),
) -> pl.LazyFrame:
    """Shape the offending lines of a rule into :data:`RULE_HIT_SCHEMA`.

    ``price_context``: what else of the line its price basis may price it by (null when not given).
    ``price_cap``: the most the finding can be worth (null when not given). ``price_paid``: what the line was
    paid already for what the finding values, taken off the estimate (null when not given).
    ``keep``: columns of the lines the hits carry besides, for the rule's :meth:`Rule.refine`.
    """
    return lines.select(
        pl.col("line_id").cast(pl.UInt64),
        pl.lit(rule_id).alias("rule_id"),
        (pl.lit(finding_kind) if isinstance(finding_kind, str) else finding_kind).alias("finding_kind"),
        confidence.alias("confidence"),
        message.alias("message"),
        pl.lit(price_basis, dtype=pl.String()).alias("price_basis"),
        price_code.cast(pl.String()).alias("price_code"),
        (pl.lit(None) if price_context is None else price_context).cast(pl.String()).alias("price_context"),
        price_quantity.cast(QUANTITY).alias("price_quantity"),
        (pl.lit(None) if price_cap is None else price_cap).cast(MONEY).alias("price_cap"),
        (pl.lit(None) if price_paid is None else price_paid).cast(MONEY).alias("price_paid"),
        *keep,
    )
