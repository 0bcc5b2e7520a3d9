"""What every rule and price basis is given: the audited lines and the audit's settings."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class AuditContext:
    """The shared inputs of one audit.

    ``lines`` is the audited claim-line table (:func:`leakaudit.schema.line_schema`); it may be one
    partition of a larger audit, as long as every encounter is whole within it.
    """

    lines: pl.LazyFrame
