"""What every rule and price basis is given: the audited lines, the reference data, the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from leakaudit.refdata import RefData, load_refdata
from leakaudit.schema import LINE_COLUMNS, PROVENANCE_COLUMNS

if TYPE_CHECKING:
    from leakaudit.rules.base import Rule

#: Canonical columns that no rule, price basis or finding reads. They are still validated (a row with a
#: bad charge is rejected), but the audit's lines need not carry them.
#: NOTE: the work file leaves them out: a quarter smaller, about 10% faster to write at 10 M lines.
#: A rule that comes to read one must take it off this list; the rule cases run on lines without them.
UNREAD_COLUMNS = ("charge_amount", "allowed_amount")

#: The columns of :attr:`AuditContext.lines`: every canonical column read, and the provenance columns.
AUDITED_COLUMNS: tuple[str, ...] = (
    *(c.name for c in LINE_COLUMNS if c.name not in UNREAD_COLUMNS),
    *PROVENANCE_COLUMNS,
)


def _shipped_refdata() -> RefData:
    return load_refdata(include_user_store=False)


@dataclass(frozen=True)
class AuditContext:
    """The shared inputs of one audit.

    ``lines`` is the audited claim-line table (:func:`leakaudit.schema.line_schema`; the rules read
    only its :data:`AUDITED_COLUMNS`); it may be one partition of a larger audit, as long as every
    encounter is whole within it. ``refdata`` defaults to the snapshot shipped in the package;
    ``state`` (two letters) selects DMEPOS fees, else the national median is used.

    ``history`` is every line of the audit when ``lines`` is one partition of it: the statistics of the
    organisation's own history (the price bases, a provider's typical units) are computed from it, so
    that a partition's findings and estimates are those of the whole audit. Left out, ``lines`` is the
    whole audit.

    ``written`` holds the rules' staged frames (:meth:`Rule.staged`) as the audit wrote them to work
    files, by rule id and name (``findings.find_all``).
    """

    lines: pl.LazyFrame
    refdata: RefData = field(default_factory=_shipped_refdata)
    state: str | None = None
    history: pl.LazyFrame | None = None
    written: Mapping[str, Mapping[str, pl.LazyFrame]] = field(default_factory=dict)

    @property
    def all_lines(self) -> pl.LazyFrame:
        """Every line of the audit: ``history`` when given, else ``lines``."""
        return self.lines if self.history is None else self.history

    def staged(self, rule: type[Rule]) -> dict[str, pl.LazyFrame]:
        """``rule``'s staged frames (:meth:`Rule.staged`): scans of the files the audit wrote, else cached."""
        written = self.written.get(rule.id)
        if written is not None:
            return dict(written)
        return {name: plan.cache() for name, plan in rule.staged(self).items()}
