"""The rule catalog: every rule, registered in one place.

``get_rules()`` returns the explicit list; the registry refuses two rules with the same id.
"""

from __future__ import annotations

from leakaudit.rules.base import CONFIDENCES, FINDING_KINDS, HIT_SCHEMA, RULE_HIT_SCHEMA, Rule, hit_lines, identify
from leakaudit.rules.brace_without_lcode import BraceWithoutLcode
from leakaudit.rules.context import AUDITED_COLUMNS, AuditContext
from leakaudit.rules.drug_admin_without_drug import DrugAdminWithoutDrug
from leakaudit.rules.expired_code import ExpiredCode
from leakaudit.rules.jcode_unit_mismatch import JcodeUnitMismatch

_RULES: tuple[type[Rule], ...] = (DrugAdminWithoutDrug, ExpiredCode, BraceWithoutLcode, JcodeUnitMismatch)


def get_rules() -> list[type[Rule]]:
    """Every registered rule, in catalog order; raises if two share an id."""
    seen: set[str] = set()
    for rule in _RULES:
        if rule.id in seen:
            raise ValueError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    return list(_RULES)


def get_rule(rule_id: str) -> type[Rule]:
    """The registered rule with ``rule_id``."""
    for rule in get_rules():
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)


__all__ = [
    "AUDITED_COLUMNS",
    "CONFIDENCES",
    "FINDING_KINDS",
    "HIT_SCHEMA",
    "RULE_HIT_SCHEMA",
    "AuditContext",
    "Rule",
    "get_rule",
    "get_rules",
    "hit_lines",
    "identify",
]
