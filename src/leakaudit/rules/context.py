"""What every rule and price basis is given: the audited lines, the reference data, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from leakaudit.refdata import RefData, load_refdata


def _shipped_refdata() -> RefData:
    return load_refdata(include_user_store=False)


@dataclass(frozen=True)
class AuditContext:
    """The shared inputs of one audit.

    ``lines`` is the audited claim-line table (:func:`leakaudit.schema.line_schema`); it may be one
    partition of a larger audit, as long as every encounter is whole within it. ``refdata`` defaults
    to the snapshot shipped in the package; ``state`` (two letters) selects DMEPOS fees, else the
    national median is used.

    ``history`` is every line of the audit when ``lines`` is one partition of it: the statistics of the
    organisation's own history (the price bases, a provider's typical units) are computed from it, so
    that a partition's findings and estimates are those of the whole audit. Left out, ``lines`` is the
    whole audit.
    """

    lines: pl.LazyFrame
    refdata: RefData = field(default_factory=_shipped_refdata)
    state: str | None = None
    history: pl.LazyFrame | None = None

    @property
    def all_lines(self) -> pl.LazyFrame:
        """Every line of the audit: ``history`` when given, else ``lines``."""
        return self.lines if self.history is None else self.history
