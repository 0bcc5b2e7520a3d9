"""The report page: documented context, templates in sync with it, numbers matching the summary, escaping."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from pathlib import Path

import jinja2.meta
import polars as pl

from leakaudit.pipeline import run_audit
from leakaudit.report import ReportContext, environment, money, pct
from leakaudit.report.render import default_templates_dir


def test_every_context_field_is_documented() -> None:
    for field in dataclasses.fields(ReportContext):
        assert field.metadata.get("doc"), f"ReportContext.{field.name} needs metadata['doc']"


def test_templates_use_only_context_fields() -> None:
    env = environment()
    names = {f.name for f in dataclasses.fields(ReportContext)}
    for path in sorted(default_templates_dir().glob("*.html")):
        source = path.read_text(encoding="utf-8")
        undeclared = jinja2.meta.find_undeclared_variables(env.parse(source))
        assert undeclared <= names, f"{path.name} uses {undeclared - names}"


def test_money_and_pct_filters() -> None:
    assert money(Decimal("1234567.5")) == "$1,234,567.50"
    assert money(None) == "—"
    assert money(Decimal("-3")) == "-$3.00"
    assert pct(Decimal("25"), Decimal("200")) == "12.5%"
    assert pct(1, 0) == "—"


def test_report_shows_summary_numbers_and_escapes_input(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hostile = "<script>alert(1)</script>"
    path = claims_csv(
        [
            {"claim_id": hostile, "procedure_code": "96372", "patient_id": "P1", "paid_amount": 15},
            {"claim_id": "H1", "procedure_code": "96372", "patient_id": "P2", "paid_amount": 15},
            {"claim_id": "H1", "line_number": 2, "procedure_code": "J3301", "patient_id": "P2", "paid_amount": 1234.5},
            {"claim_id": "BAD", "procedure_code": "99213", "service_date": "yesterday"},
        ]
    )
    result = run_audit([path], tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "$1,234.50" in html  # the estimate, formatted by the money filter
    assert summary["estimated_total"] == 1234.5
    for section in ("summary", "rules", "top-findings", "data-quality", "methodology"):
        assert f'id="{section}"' in html
    rows = {k: int(v) for k, v in re.findall(r"<th>Rows (read|audited|rejected)</th><td class=\"num\">(\d+)<", html)}
    assert rows == {"read": 4, "audited": 3, "rejected": 1}
    assert "not a valid date" in html
    # Self-contained: the chart is inline and nothing is fetched from the network.
    assert "<svg" in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html) and "<link" not in html
    assert not re.search(r"url\((?!#)", html)
    assert result.findings.filter(pl.col("claim_id") == hostile).height == 1


def test_user_templates_override_and_extend_defaults(tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "_summary.html").write_text('<section id="summary"><h2>ACME Consulting</h2></section>')
    env = environment(custom)
    assert "ACME Consulting" in env.get_template("_summary.html").render()
    assert "kpis" in env.get_template("default:_summary.html").render(
        estimated_total=Decimal(0), findings_count=0, claims_affected=0, rows_audited=0, unpriced_count=0
    )
