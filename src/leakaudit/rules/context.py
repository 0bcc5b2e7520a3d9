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
    """

    lines: pl.LazyFrame
    refdata: RefData = field(default_factory=_shipped_refdata)
    state: str | None = None
