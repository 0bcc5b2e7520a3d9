"""Crowded visits: a patient id with more claims on one day than one patient has, likely a placeholder.

A visit is a patient's lines of one date of service, across every claim: the rules look there for the
drug of an administration, the L-code of a brace, and a day's units of a drug held against its MUE. A
system that writes one id for every patient it does not know (``999999``, ``PT-UNK``; the reader knows
the common spellings, ``000000`` or ``UNKNOWN``, see ``io.reader.PATIENT_PLACEHOLDERS``) makes each day
of that id one visit of many patients: one patient's drug "satisfies" another's administration (a loss
not found), and the units of everyone's doses of a day pass the MUE together (a denial that is not). A
patient has a few claims a day (the practice's, a crossover copy, a rebill), not dozens: a visit of
more than :data:`CROWDED_CLAIMS` claims is reported, so that the analyst names the id in the mapping
(``patient_placeholders``) and audits again. Meanwhile its findings that rest on other lines of the visit
say so (``findings.on_crowded_visits``), and its lines are no price history (``findings.find_all``'s
``not_history``: one "visit" would have paid many patients' drugs).

NOTE: one pass over the lines counting each visit's lines (a visit of more claims has more lines), then
the claims of the few visits of more lines than that: 0.4 s per 10 M lines.

>>> import datetime as dt
>>> lines = pl.LazyFrame(
...     {
...         "encounter_id": [1] * 22 + [2] * 25 + [CLAIM_ENCOUNTER + 3] * 21,
...         "patient_id": ["999999"] * 22 + ["P0042"] * 25 + [None] * 21,
...         "service_date": [dt.date(2025, 3, 14)] * 68,
...         "claim_id": [f"C{n}" for n in range(22)] + ["C100"] * 25 + ["C200"] * 21,
...     },
...     schema_overrides={"encounter_id": pl.UInt64},
... )
>>> find_crowded_visits(lines).rows()
[(1, '999999', datetime.date(2025, 3, 14), 22, 22)]

Patient P0042's 25 lines on one claim are one visit (a facility's day, say), as is claim C200 without a
patient; 999999's 22 claims are not.
"""

from __future__ import annotations

import polars as pl

from leakaudit.engine import ENGINE
from leakaudit.io.reader import CLAIM_ENCOUNTER

#: A visit (patient and date of service) of more claims than this is taken as many patients' (see above).
CROWDED_CLAIMS = 20
#: One row per crowded visit: its claims and lines.
CROWDED_SCHEMA = pl.Schema(
    {
        "encounter_id": pl.UInt64(),
        "patient_id": pl.String(),
        "service_date": pl.Date(),
        "claims": pl.UInt32(),
        "lines": pl.UInt32(),
    }
)


def find_crowded_visits(lines: pl.LazyFrame, more_than: int = CROWDED_CLAIMS) -> pl.DataFrame:
    """The visits of ``lines`` with more claims than ``more_than``, by patient and date.

    Lines without a patient are each their claim's own visit, never crowded. A mapping may set another
    threshold (``crowded_claims``), for an export where one patient's day may hold more claims (every
    department of a hospital billing on its own claim).

    NOTE: the first pass reads ``encounter_id`` alone, whose ids of a claim's visit (no patient) are
    :data:`~leakaudit.io.reader.CLAIM_ENCOUNTER` and above: leaving out the lines without a patient by
    their ``patient_id`` read that text of every line too, 0.96 s per 10 M lines against 0.4 s.
    """
    of_a_patient = lines.filter(pl.col("encounter_id") < CLAIM_ENCOUNTER)
    crowded = (
        of_a_patient.group_by("encounter_id")
        .agg(pl.len())
        .filter(pl.col("len") > more_than)
        .collect(engine=ENGINE)["encounter_id"]
    )
    if crowded.is_empty():
        return pl.DataFrame(schema=CROWDED_SCHEMA)
    visits = (
        of_a_patient.filter(pl.col("encounter_id").is_in(crowded.implode()))
        .group_by("encounter_id")
        .agg(
            pl.col("patient_id", "service_date").first(),
            pl.col("claim_id").n_unique().alias("claims"),
            pl.len().alias("lines"),
        )
        .filter(pl.col("claims") > more_than)
        .collect(engine=ENGINE)
    )
    return visits.cast(CROWDED_SCHEMA).select(CROWDED_SCHEMA.names()).sort("patient_id", "service_date")


def crowded_patients(visits: pl.DataFrame, *, most: int = 10) -> list[dict[str, object]]:
    """Per patient id of crowded ``visits``: how many, their lines, and the day of the most claims.

    The ``most`` ids of the most such visits (then of the most lines, then by id), for ``summary.json``
    and the run's warning.

    >>> import datetime as dt
    >>> visits = pl.DataFrame(
    ...     {
    ...         "patient_id": ["999999", "999999", "P7"],
    ...         "service_date": [dt.date(2025, 3, 14), dt.date(2025, 3, 17), dt.date(2025, 3, 14)],
    ...         "claims": [41, 57, 22],
    ...         "lines": [90, 130, 22],
    ...     }
    ... )
    >>> crowded_patients(visits)[0]
    {'patient_id': '999999', 'visits': 2, 'lines': 220, 'most_claims': 57, 'on': '2025-03-17'}
    """
    if visits.is_empty():
        return []
    busiest = pl.col("service_date").sort_by("claims", "service_date", descending=[True, False]).first()
    by_patient = (
        visits.group_by("patient_id")
        .agg(
            pl.len().alias("visits"),
            pl.col("lines").sum().cast(pl.Int64),
            pl.col("claims").max().cast(pl.Int64).alias("most_claims"),
            busiest.alias("on"),
        )
        .sort(["visits", "lines", "patient_id"], descending=[True, True, False])
        .head(most)
    )
    return [row | {"on": row["on"].isoformat()} for row in by_patient.iter_rows(named=True)]
