"""One service billed on more than one claim: its finding is counted once.

A service is often on two claims of the export. After the primary payer pays, the practice (or the
payer, by crossover) bills the same lines to the secondary payer: Medicare and a Medigap plan, or
Medicaid for a dual-eligible patient. And a claim denied outright is billed again as a new claim. Each
copy carries the same error, and a rule that looks at each line flags each copy. But the loss is
one: had the service been billed right, the payers together would have paid its price once, not
once each. Counting every copy overstates the leakage by the number of payers.

Lines are copies of one service when they are of the same encounter (patient and date of service),
code, modifiers, units and rendering provider, on different claims: :data:`SERVICE_KEY`. NOTE:
charges are not compared (the work file leaves them out), nor the payer: a claim billed again to the
same payer is a copy too. Two services of the same code and units given the same day by the same
provider on two claims are counted once as well: the estimate errs low, never high.

Among the copies flagged by one rule with one kind of finding, the finding stays on the claim whose
line comes first in :func:`line_order`: the line paid most (the primary's, or the rebill that was
paid), then the lowest claim number. Its message names the other claims and their payers, which need
the same correction. Rules that find one problem per encounter already flag one copy: nothing changes
for them.

Which line a finding sits on never depends on the order of the input's rows: an export sorted by
claim, by posting date or not at all gives the same findings.

What counts or adds up services does the same: a provider's typical units count each service once
(:func:`services_by`), a day's units held against the MUE add a payer's copies once
(:func:`one_copy`), and the price bases' medians of what a service is paid take it at its copy paid
most (:func:`paid_copy`).

Example: J3301 billed as 1 unit for a 40 mg dose on claim C1 to Medicare (paid $0.68) and on C2 to
Medicaid (paid $0.17), the same line crossed over. ``jcode-unit-mismatch`` flags both lines; one
finding is kept, on C1: "...: 3 units are not billed. The same service is also billed on claim C2
(payer MCD): its loss is counted once, here."
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from leakaudit.io import LINE_NUMBERING

#: What makes two lines on different claims copies of one service.
SERVICE_KEY = ("encounter_id", "procedure_code", "modifiers", "units", "rendering_npi")
#: The line columns :func:`once_per_service` reads besides :data:`SERVICE_KEY`.
COPY_COLUMNS = ("claim_id", "line_number", "payer_id", "paid_amount")
#: The line columns :func:`line_order` reads: the paid amount, then the claim's numbering of its lines.
ORDER_COLUMNS = ("paid_amount", *LINE_NUMBERING)

_LEAD, _OTHERS, _COPIES = "_lead_claim", "_other_claims", "_copies"


def line_order(value: pl.Expr) -> pl.Expr:
    """``value`` sorted by the order of lines that settles which of equals a finding sits on.

    The line paid most first (of a service crossed over, the primary payer's copy; of a claim denied and
    billed again, the rebill paid), unpaid and unknown alike last; then by claim number and line number;
    then by ``line_id``, which tells apart what little is left (two lines of one claim with one number).
    The order of the input's rows does not enter: the same lines exported in any order give the same
    findings.

    >>> lines = pl.DataFrame(
    ...     {
    ...         "line_id": [1, 2, 3, 4],
    ...         "claim_id": ["C9", "C2", "C2", "C1"],
    ...         "line_number": [1, 2, 1, 1],
    ...         "paid_amount": [80.0, 0.0, 0.0, None],
    ...     }
    ... )
    >>> lines.select(line_order(pl.col("line_id"))).to_series().to_list()
    [1, 4, 3, 2]
    """
    return value.sort_by(
        [pl.col("paid_amount").fill_null(0), *map(pl.col, LINE_NUMBERING)],
        descending=[True, False, False, False],
        nulls_last=True,
    )


def _lead_claim() -> pl.Expr:
    """Of a group of copies, the claim of the line first in :func:`line_order`."""
    return line_order(pl.col("claim_id")).first()


def first_in_order(candidates: pl.LazyFrame, *keys: str) -> pl.LazyFrame:
    """Of each group of ``keys``, the one line of ``candidates`` first in :func:`line_order`.

    For a rule that finds one problem per group (an encounter, a patient's day of a code) and has chosen
    the lines it may sit on: a window, so ``candidates`` should be few. NOTE: a window rather than one sort
    of them all and the first of each group, which took longer (0.72 s against 0.62 s for
    drug-admin-without-drug on 10 M lines).

    >>> candidates = pl.LazyFrame(
    ...     {
    ...         "encounter_id": [7, 7, 8],
    ...         "line_id": [1, 2, 3],
    ...         "claim_id": ["C2", "C1", "C3"],
    ...         "line_number": [1, 1, 1],
    ...         "paid_amount": [0.0, 0.0, None],
    ...     }
    ... )
    >>> first_in_order(candidates, "encounter_id").sort("line_id").collect()["claim_id"].to_list()
    ['C1', 'C3']
    """
    return candidates.filter(pl.col("line_id") == line_order(pl.col("line_id")).first().over(keys))


def one_copy(lines: pl.LazyFrame, *within: str) -> pl.LazyFrame:
    """``lines`` but the copies of a service on claims other than the one :func:`once_per_service` keeps.

    With ``within`` (columns), only lines that agree on them are copies: ``one_copy(lines, "payer_id")``
    keeps a claim crossed over to a second payer, dropping only a payer's claims billed again.

    For adding up what was billed, such as a day's units of a drug: a claim billed again after a denial
    is the same service, not a second one, while two lines of one claim with the same key stay two. It
    groups every line by :data:`SERVICE_KEY`: for few lines (see :func:`services_by`).

    Below, C1 bills two doses of 15 units and is denied; C2 bills both again and is paid: the day
    holds 30 units, not 60.

    >>> lines = pl.LazyFrame(
    ...     {
    ...         "line_id": [1, 2, 3, 4],
    ...         "encounter_id": [7] * 4,
    ...         "procedure_code": ["J2791"] * 4,
    ...         "modifiers": [None] * 4,
    ...         "units": [15] * 4,
    ...         "rendering_npi": ["1"] * 4,
    ...         "claim_id": ["C1", "C1", "C2", "C2"],
    ...         "line_number": [1, 2, 1, 2],
    ...         "paid_amount": [0.0, 0.0, 80.0, 80.0],
    ...     }
    ... )
    >>> one_copy(lines).select(pl.col("units").sum(), pl.col("claim_id").unique()).collect().rows()
    [(30, 'C2')]
    """
    return _on_lead_claim(lines, [*SERVICE_KEY, *within])


def services_by(lines: pl.LazyFrame, *by: str, name: str) -> pl.LazyFrame:
    """The number of services of ``lines`` (as ``name``) in each group of ``by``, however many claims bill each.

    ``by`` are columns of :data:`SERVICE_KEY`. For statistics of the organisation's history that count
    services, such as a provider's typical units of a code. Copies agree on every column of the key;
    unlike :func:`one_copy`, two lines of one claim with the same key are one service too. A group's
    services are told apart by a 64-bit hash of the rest of their key (as :func:`paid_copy`'s): two whose
    hashes collide would count once, a chance too small to matter.

    NOTE: one group-by, counting distinct hashes: over 3.5 M drug lines 0.41 GB and 0.44 s, where a
    distinct of the whole key, counted after, took 0.86 GB and 0.75 s; picking a lead claim per service
    (:func:`one_copy`) took 1 GB more at 100 M lines than that distinct.

    >>> lines = pl.LazyFrame(
    ...     {
    ...         "encounter_id": [7, 7, 8],
    ...         "procedure_code": ["J3301"] * 3,
    ...         "modifiers": [None] * 3,
    ...         "units": [4, 4, 4],
    ...         "rendering_npi": ["1"] * 3,
    ...         "claim_id": ["C1", "C2", "C3"],
    ...     }
    ... )
    >>> services_by(lines, "procedure_code", "units", name="services").collect().rows()
    [('J3301', 4, 2)]
    """
    rest = [column for column in SERVICE_KEY if column not in by]
    return lines.group_by(*by).agg(pl.struct(rest).hash().n_unique().alias(name))


def paid_copy(lines: pl.LazyFrame) -> pl.LazyFrame:
    """``lines`` but, of a service on several lines, those paid less than its copy paid most.

    For what the organisation is paid for a service, such as a payer's median paid per unit: the
    copy a crossover claim bills to the secondary payer pays only what the primary payer left. Copies
    paid alike are all kept (they add the same amount), so which stay does not depend on the order of
    the lines. Services are told apart by a 64-bit hash of :data:`SERVICE_KEY`; two services whose
    keys collide would lose the one paid less: a chance too small to matter.

    NOTE: one streaming group-by of a hash, a count and a maximum, and only the services with copies
    joined back: on the paid drug lines of 100 M lines, 3.5 s and 1.7 GB peak. Picking the lead copy
    by a sort inside each group of the key took 4.9 s and 4.2 GB; :func:`one_copy`'s join back of
    every group, twice the time of that at 10 M.

    Below, Medicare paid $80.00 for the service and Medicaid the coinsurance: Medicare's copy is kept.

    >>> lines = pl.LazyFrame(
    ...     {
    ...         "line_id": [1, 2, 3],
    ...         "encounter_id": [7, 7, 8],
    ...         "procedure_code": ["J3301"] * 3,
    ...         "modifiers": [None] * 3,
    ...         "units": [4, 4, 4],
    ...         "rendering_npi": ["1"] * 3,
    ...         "payer_id": ["MCD", "MCR", "MCD"],
    ...         "paid_amount": [20.0, 80.0, 64.0],
    ...     }
    ... )
    >>> paid_copy(lines).sort("encounter_id").select("payer_id", "paid_amount").collect().rows()
    [('MCR', 80.0), ('MCD', 64.0)]
    """
    service, top = "_service", "_paid_most"
    hashed = lines.with_columns(pl.struct(SERVICE_KEY).hash().alias(service))
    copied = (
        hashed.group_by(service)
        .agg(pl.len().alias(_COPIES), pl.col("paid_amount").max().alias(top))
        .filter(pl.col(_COPIES) > 1)
        .drop(_COPIES)
    )
    kept = hashed.join(copied, on=service, how="left").filter(
        pl.col(top).is_null() | (pl.col("paid_amount") == pl.col(top))
    )
    return kept.drop(service, top)


def _on_lead_claim(frame: pl.LazyFrame, keys: Sequence[str], *group_values: pl.Expr) -> pl.LazyFrame:
    """The rows of ``frame`` on the lead claim (:func:`_lead_claim`) of their group of ``keys``.

    Each row gains its group's ``group_values`` (aggregations over the group).
    """
    groups = frame.group_by(keys).agg(_lead_claim().alias(_LEAD), *group_values)
    kept = frame.join(groups, on=keys, how="inner", nulls_equal=True)
    return kept.filter(pl.col("claim_id") == pl.col(_LEAD)).drop(_LEAD)


def once_per_service(hits: pl.LazyFrame) -> pl.LazyFrame:
    """``hits`` but those on other copies of a service; each kept message names the other claims.

    ``hits`` hold ``line_id``, ``rule_id``, ``finding_kind``, ``message``, :data:`SERVICE_KEY` and
    :data:`COPY_COLUMNS`. Below, S0013 billed to Medicaid on C2 and crossed from Medicare's C1, which paid
    more: the finding stays on C1. C3 is another day.

    >>> hits = pl.LazyFrame(
    ...     {
    ...         "line_id": [1, 2, 3],
    ...         "rule_id": ["expired-code"] * 3,
    ...         "finding_kind": ["lost_revenue"] * 3,
    ...         "message": ["S0013 ended."] * 3,
    ...         "encounter_id": [7, 7, 8],
    ...         "procedure_code": ["S0013"] * 3,
    ...         "modifiers": [None] * 3,
    ...         "units": [56, 56, 56],
    ...         "rendering_npi": ["1"] * 3,
    ...         "claim_id": ["C2", "C1", "C3"],
    ...         "line_number": [1, 1, 1],
    ...         "payer_id": ["MCD", "MCR", "MCR"],
    ...         "paid_amount": [0.3, 1.2, 0.0],
    ...     }
    ... )
    >>> kept = once_per_service(hits).collect().sort("line_id")
    >>> kept["claim_id"].to_list()
    ['C1', 'C3']
    >>> kept["message"].to_list()[0]
    'S0013 ended. The same service is also billed on claim C2 (payer MCD): its loss is counted once, here.'
    """
    group = ["rule_id", "finding_kind", *SERVICE_KEY]
    # NOTE: a service hit on one claim, as most are, is kept as it is: picking the lead claim and listing the
    # others for every group took 0.28 s for the 125 k hits of 10 M generated lines, for the copies alone 0.04 s.
    # The hits are read three times below: ``identify`` gives them from memory (see ``rules.identify``).
    counted = hits.with_columns(pl.len().over(group).alias(_COPIES))
    single = counted.filter(pl.col(_COPIES) == 1).drop(_COPIES)
    copies = counted.filter(pl.col(_COPIES) > 1).drop(_COPIES)
    copy = pl.format("claim {} (payer {})", pl.col("claim_id"), pl.col("payer_id").fill_null("unknown"))
    others = copy.filter(pl.col("claim_id") != _lead_claim()).unique().sort().str.join(", ").alias(_OTHERS)
    also = pl.format(
        "{}. The same service is also billed on {}: its loss is counted once, here.",
        pl.col("message").str.strip_chars_end("."),
        pl.col(_OTHERS),
    )
    kept = (
        _on_lead_claim(copies, group, others)
        .with_columns(pl.when(pl.col(_OTHERS) != "").then(also).otherwise(pl.col("message")).alias("message"))
        .drop(_OTHERS)
    )
    return pl.concat([single, kept], how="vertical")
