"""Runs every rule's YAML case file (tests/rules/<rule-id>.yml).

Each case gives claim lines, written as a real CSV export and read through the real reader, and the
findings expected, with their amounts and methods; where it needs them, also ``cpt_codes`` rows (a user
CPT list), a ``state`` (DMEPOS fees) and ``orthotics`` (TOML extending the orthotics vocabulary). A case
passes when the rule's findings, priced, are exactly the expected ones.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import write_claims_csv
from leakaudit.findings import find_all
from leakaudit.io import scan_claim_lines
from leakaudit.refdata import load_refdata
from leakaudit.rules import AUDITED_COLUMNS, AuditContext, get_rule

CASE_DIR = Path(__file__).parent / "rules"


def load_cases() -> list[Any]:
    params = []
    for path in sorted(CASE_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, case in data["cases"].items():
            params.append(pytest.param(data["rule"], case, id=f"{data['rule']}::{name}"))
    return params


def _matches(finding: dict[str, Any], want: dict[str, Any]) -> bool:
    """A finding matches when every field the case names agrees (amounts compared as cents)."""
    for key, value in want.items():
        if key == "method_contains":
            if value not in finding["estimate_method"]:
                return False
        elif key == "message_contains":
            if value not in finding["message"]:
                return False
        elif key == "estimated_amount":
            got = finding["estimated_amount"]
            if (got is None) != (value is None) or (got is not None and got != Decimal(str(value))):
                return False
        elif key == "line_number":
            if finding["line_number"] != (None if value is None else int(value)):
                return False
        elif str(finding[key]) != str(value):
            return False
    return True


@pytest.mark.parametrize(("rule_id", "case"), load_cases())
def test_rule_case(rule_id: str, case: dict[str, Any], tmp_path: Path) -> None:
    rule = get_rule(rule_id)
    lines = scan_claim_lines([write_claims_csv(tmp_path / "claims.csv", case["lines"])])
    assert lines.rejects.collect().height == 0, "case lines must all be valid"
    cpt = orthotics = None
    if "cpt_codes" in case:
        cpt = write_claims_csv(tmp_path / "cpt.csv", case["cpt_codes"], defaults={})
    if "orthotics" in case:
        orthotics = tmp_path / "orthotics.toml"
        orthotics.write_text(case["orthotics"], encoding="utf-8")
    refdata = load_refdata(cpt_codes=cpt, orthotics=orthotics, include_user_store=False)
    # Only the columns the audit's work file holds: a rule reading another fails here.
    context = AuditContext(lines=lines.audited.select(AUDITED_COLUMNS), refdata=refdata, state=case.get("state"))
    findings = [dict(row) for row in find_all([rule], context).iter_rows(named=True)]
    expected = case.get("findings") or []
    assert len(findings) == len(expected), findings
    unmatched = list(findings)
    for want in expected:
        hit = next((f for f in unmatched if _matches(f, want)), None)
        assert hit is not None, f"no finding matches {want}; got {unmatched}"
        unmatched.remove(hit)
