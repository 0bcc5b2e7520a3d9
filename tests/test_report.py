"""The report page and the work queue: documented context, content matching summary.json, escaping,
patient masking, comparison with a previous run, branding and template overrides, the xlsx workbook."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2.meta
import polars as pl
import pytest

from conftest import SAMPLE_CSV
from leakaudit.cli import ExitCode, main
from leakaudit.pipeline import run_audit
from leakaudit.report import ReportContext, ReportOptions, environment, mask_patient, money, pct
from leakaudit.report.render import default_templates_dir
from leakaudit.rules import get_rules

#: Names partials receive from the page that includes them, beyond the context's fields.
PARTIAL_LOCALS = {"rule", "rows"}
HOSTILE = "<script>alert(1)</script>"
AS_OF = dt.date(2026, 7, 1)


def test_every_context_field_is_documented() -> None:
    for field in dataclasses.fields(ReportContext):
        assert field.metadata.get("doc"), f"ReportContext.{field.name} needs metadata['doc']"


def test_templates_use_only_context_fields() -> None:
    env = environment()
    names = {f.name for f in dataclasses.fields(ReportContext)} | PARTIAL_LOCALS
    for path in sorted(default_templates_dir().glob("*.html")):
        undeclared = jinja2.meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
        assert undeclared <= names, f"{path.name} uses {undeclared - names}"


def test_money_and_pct_filters() -> None:
    assert money(Decimal("1234567.5")) == "$1,234,567.50"
    assert money(None) == "—"
    assert money(Decimal("-3")) == "-$3.00"
    assert pct(Decimal("25"), Decimal("200")) == "12.5%"
    assert pct(1, 0) == "—"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("report") / "out"
    run_audit([SAMPLE_CSV], out, options=ReportOptions(as_of=AS_OF, client="Acme Orthopaedics"))
    return (out / "report.html").read_text(encoding="utf-8"), json.loads((out / "summary.json").read_text()), out


def test_sample_report_has_every_section(sample: tuple[str, dict[str, Any], Path]) -> None:
    html, _, _ = sample
    for section in ("summary", "charts", "rules", "top-findings", "data-quality", "methodology"):
        assert f'<section id="{section}">' in html, section
    for rule in get_rules():
        assert f'id="rule-{rule.id}"' in html
    for chart in ("by-rule", "by-month", "by-payer", "by-provider", "by-code"):
        assert re.search(rf'<figure class="chart" id="chart-{chart}">\s*<svg', html), chart
    assert html.count("<figcaption>") == 5
    assert "Prepared for Acme Orthopaedics" in html
    assert "@media print" in html and "page-break-before" in html
    # The sample's data raise no caution that may move the estimates: the summary points to none.
    assert "Read these estimates with the cautions" not in html


def test_sample_report_numbers_match_the_summary(sample: tuple[str, dict[str, Any], Path]) -> None:
    html, summary, out = sample
    assert summary["as_of"] == AS_OF.isoformat()
    for key, label in [
        ("estimated_total", "estimated lost revenue"),
        ("recoverable_total", "still within timely filing (recoverable)"),
        ("older_total", "past the filing deadline"),
    ]:
        assert f'<div class="value">{money(Decimal(str(summary[key])))}</div><div class="label">{label}' in html
    assert summary["recoverable_total"] + summary["older_total"] == pytest.approx(summary["estimated_total"])
    assert f'<div class="value">{summary["findings"]}</div><div class="label">findings' in html
    assert f'<div class="value">{summary["claims_affected"]}</div><div class="label">claims affected' in html
    # Counts as the money is: with thousands separators (2,916 lines, not 2916).
    assert f'<div class="value">{summary["rows_audited"]:,}</div><div class="label">claim lines audited' in html
    assert f'<tr><th>Rows read</th><td class="num">{summary["rows_read"]:,}</td></tr>' in html
    findings = pl.read_parquet(out / "findings.parquet")
    lost = findings.filter(pl.col("finding_kind") == "lost_revenue")
    recoverable = lost.filter(pl.col("filing_deadline") >= AS_OF)["estimated_amount"].sum()
    assert summary["recoverable_total"] == round(float(recoverable), 2)
    for rule_id, totals in summary["rules"].items():
        assert money(Decimal(str(totals["estimated_total"]))) in html, rule_id
    assert len(re.findall(r"<li><strong>", html)) == 3  # the three largest sources of loss, in words


def test_patient_ids_are_masked_by_default(sample: tuple[str, dict[str, Any], Path], tmp_path: Path) -> None:
    html, _, out = sample
    patients = pl.read_parquet(out / "findings.parquet")["patient_id"].drop_nulls().unique().to_list()
    assert patients, "the findings files keep patient ids for the work queue"
    assert not any(re.search(rf">{re.escape(p)}<", html) for p in patients)
    largest = (
        pl.read_parquet(out / "findings.parquet")
        .filter(pl.col("patient_id").is_not_null())
        .sort("estimated_amount", descending=True, nulls_last=True)["patient_id"][0]
    )
    assert f'<td class="keep">{mask_patient(largest)}</td>' in html
    assert mask_patient("P00001") == mask_patient("P00001") != mask_patient("P00002")
    shown = tmp_path / "shown"
    run_audit([SAMPLE_CSV], shown, options=ReportOptions(as_of=AS_OF, show_patient_ids=True))
    shown_html = (shown / "report.html").read_text(encoding="utf-8")
    assert any(f'<td class="keep">{p}</td>' in shown_html for p in patients)


def test_hostile_description_is_escaped(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = claims_csv(
        [
            {"claim_id": HOSTILE, "procedure_code": "99213", "patient_id": "P1"},
            {
                "claim_id": HOSTILE,
                "line_number": 2,
                "procedure_code": "99070",
                "patient_id": "P1",
                "description": f"Knee brace {HOSTILE}",
            },
        ]
    )
    run_audit([path], tmp_path / "out", options=ReportOptions(as_of=AS_OF))
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert HOSTILE not in html
    assert "Knee brace &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html) and "<link" not in html
    assert not re.search(r"url\((?!#)", html)  # nothing fetched: the page opens offline


def test_a_claim_line_listed_twice_in_a_file_is_flagged_in_the_data_quality_section(
    claims_csv, tmp_path: Path, sample: tuple[str, dict[str, Any], Path]
) -> None:  # type: ignore[no-untyped-def]
    """The client's copy says that only the last row of such a claim line was audited, as the run warns."""
    line = {"claim_id": "C1", "procedure_code": "99213", "patient_id": "P1"}
    path = claims_csv([{**line, "paid_amount": "60.00"}, {**line, "paid_amount": "-60.00"}], name="payments.csv")
    run_audit([path], tmp_path / "out", options=ReportOptions(as_of=AS_OF))
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    flagged = "Rows repeating a claim line of a later row in the same file: 1 (the first: C1 line 1: rows 1 and 2"
    assert f'<p class="caution">{flagged} of {path})' in html
    assert "only the last row of each claim line was audited" in html
    assert "repeats are listed in <code>repeats.csv</code>" in html
    pair = f'<tr><td>{path}</td><td>{path}</td><td class="num">1</td><td class="num">1</td></tr>'
    assert pair in html
    assert "Audited in their place from" not in sample[0]
    assert "Rows repeating a claim line of a later row" not in sample[0]


def test_the_summary_cautions_when_many_rows_were_rejected_for_a_bad_value(claims_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One row in twenty rejected for a bad value, or more, and the summary says so beside its totals: their
    losses are unseen, and a finding may call missing a code one of them bills. Fewer (the sample's 7 of
    3,078) are left to the data-quality section; repeats of a claim line are no bad value."""
    lines = [{"claim_id": f"C{n}", "procedure_code": "99213", "patient_id": f"P{n}"} for n in range(20)]
    caution = "1 of the 20 rows read (5.0%) were rejected for a bad value and not audited"
    for bad, expected in (("x", True), ("2", False)):
        path = claims_csv([*lines[:19], {**lines[19], "units": bad}], name=f"units-{bad}.csv")
        out = tmp_path / f"out-{bad}"
        run_audit([path], out, options=ReportOptions(as_of=AS_OF))
        html = (out / "report.html").read_text(encoding="utf-8")
        assert (caution in html) == expected, bad
    repeated = claims_csv([*lines[:19], lines[0]], name="repeated.csv")
    run_audit([repeated], tmp_path / "repeated", options=ReportOptions(as_of=AS_OF))
    assert "Read these estimates with the cautions" not in (tmp_path / "repeated" / "report.html").read_text()


def test_findings_beside_rejected_rows_are_counted_in_the_data_quality_section(
    sample: tuple[str, dict[str, Any], Path],
) -> None:
    """The sample's J1100 row is rejected for its payer type: its visit's administration is found without a drug."""
    html, summary, out = sample
    beside = summary["findings_with_rejected_rows"]
    findings = pl.read_parquet(out / "findings.parquet").filter(pl.col("message").str.contains(" Rejected: "))
    assert beside["findings"] == findings.height > 0
    assert beside["low_confidence"] == (findings["confidence"] == "low").sum() > 0
    caution = (
        f'<p class="caution">{beside["findings"]} findings on {beside["claims"]} claims '
        f"({money(Decimal(str(beside['estimated_total'])))} of the lost revenue) are on a claim or visit"
    )
    assert beside["findings"] == beside["claims"] == 2 and caution in html
    assert beside["low_confidence"] == 1 and "the one that says a code is missing is of low confidence" in html


def test_compare_with_previous_run(claims_csv, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    before = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "96372", "patient_id": "P1"},  # fixed next month
            {"claim_id": "C2", "procedure_code": "96372", "patient_id": "P2"},  # still open
        ],
        "before.csv",
    )
    after = claims_csv(
        [
            {"claim_id": "C1", "procedure_code": "96372", "patient_id": "P1"},
            {"claim_id": "C1", "line_number": 2, "procedure_code": "J3301", "patient_id": "P1"},
            {"claim_id": "C2", "procedure_code": "96372", "patient_id": "P2"},
            {"claim_id": "C3", "procedure_code": "90471", "patient_id": "P3"},  # new
        ],
        "after.csv",
    )
    assert main(["audit", str(before), "--out", str(tmp_path / "may")]) == ExitCode.OK
    assert main(["audit", str(after), "--out", str(tmp_path / "june"), "--compare", str(tmp_path / "may")]) == 0
    summary = json.loads((tmp_path / "june" / "summary.json").read_text())
    drug = next(r for r in summary["comparison"]["rules"] if r["rule_id"] == "drug-admin-without-drug")
    assert (drug["new"], drug["resolved"], drug["still_open"]) == (1, 1, 1)
    html = (tmp_path / "june" / "report.html").read_text(encoding="utf-8")
    assert '<section id="comparison">' in html
    assert main(["audit", str(after), "--out", str(tmp_path / "x"), "--compare", str(tmp_path / "nothing")]) == 2
    # Regression: a previous findings.parquet damaged, or without a column compared, failed the audit with a
    # traceback after all its work. Refused first, named.
    may = pl.read_parquet(tmp_path / "may" / "findings.parquet")
    for name, write in (
        ("damaged", lambda path: path.write_bytes(b"not parquet")),
        ("older", lambda path: may.drop("estimated_amount").write_parquet(path)),
    ):
        (tmp_path / name).mkdir()
        write(tmp_path / name / "findings.parquet")
        assert main(["audit", str(after), "--out", str(tmp_path / "y"), "--compare", str(tmp_path / name)]) == 2
        assert f"{tmp_path / name / 'findings.parquet'}: " in capsys.readouterr().err
        assert not (tmp_path / "y").exists()


def test_branding_logo_and_template_override(tmp_path: Path) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    templates = tmp_path / "brand"
    templates.mkdir()
    (templates / "_header.html").write_text(
        '{% include "default:_header.html" %}<p class="brand">Audit by Example Consulting</p>'
    )
    out = tmp_path / "out"
    args = [
        "audit",
        str(SAMPLE_CSV),
        "--out",
        str(out),
        "--title",
        "Q2 leakage review",
        "--client",
        "Acme",
        "--logo",
        str(logo),
        "--templates",
        str(templates),
    ]
    assert main(args) == ExitCode.OK
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<title>Q2 leakage review — Acme</title>" in html
    assert 'src="data:image/svg+xml;base64,' in html
    assert "Audit by Example Consulting" in html and "Prepared for Acme" in html
    assert main([*args[:4], "--logo", str(tmp_path / "logo.bmp")]) == ExitCode.INPUT_ERROR


def test_work_queue_workbook(sample: tuple[str, dict[str, Any], Path]) -> None:
    _, summary, out = sample
    book = out / "findings.xlsx"
    sheets = pl.read_excel(book, sheet_id=0)
    assert list(sheets) == ["Summary", *(rule.id for rule in get_rules())]
    for rule in get_rules():
        sheet = sheets[rule.id]
        assert sheet.height == summary["rules"][rule.id]["count"]
        amounts = [a for a in sheet["estimated_amount"].to_list() if a is not None]
        assert amounts == sorted(amounts, reverse=True), "sorted by amount, largest first"
        assert "filing_deadline" in sheet.columns and "patient_id" in sheet.columns
    with zipfile.ZipFile(book) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet2.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    assert 'state="frozen"' in sheet_xml and "<autoFilter" in sheet_xml
    assert "$#,##0.00" in styles


def test_work_queue_writes_text_that_looks_like_a_formula_or_link_as_text(
    sample: tuple[str, dict[str, Any], Path], tmp_path: Path
) -> None:
    """Regression: a claim id beginning "=" (an export's, or an attacker's) became a live formula in the
    workbook a consultant hands on, and one like a URL a link."""
    from leakaudit.report import workbook

    findings = pl.read_parquet(sample[2] / "findings.parquet")
    texts = ['=HYPERLINK("http://example.com/x","open")', "https://example.com/claim/1", "@SUM(1+1)"]
    planted = findings.with_columns(
        pl.when(pl.int_range(pl.len()) < len(texts))
        .then(pl.lit(pl.Series(texts + [None] * (findings.height - len(texts)))))
        .otherwise(pl.col("claim_id"))
        .alias("claim_id")
    )
    workbook.write_workbook(tmp_path / "q.xlsx", planted, get_rules(), AS_OF)
    with zipfile.ZipFile(tmp_path / "q.xlsx") as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
        assert "<f>" not in xml and "<hyperlink" not in xml
        assert not any(n.startswith("xl/worksheets/_rels") for n in archive.namelist())
    sheets = pl.read_excel(tmp_path / "q.xlsx", sheet_id=0)
    written = pl.concat([sheets[rule.id].select("claim_id") for rule in get_rules()])["claim_id"].to_list()
    assert set(texts) <= set(written)


def test_work_queue_cells_keep_their_column_type(sample: tuple[str, dict[str, Any], Path], tmp_path: Path) -> None:
    """Text stays text, however it looks (a claim id of digits keeps its leading zeros); amounts are numbers,
    dates are dates; an empty value is an empty cell."""
    from leakaudit.report import workbook

    findings = pl.read_parquet(sample[2] / "findings.parquet").filter(pl.col("rule_id") == "expired-code")
    ids = ["00123", "4.50", "1e3"]
    planted = findings.head(len(ids)).with_columns(
        pl.Series("claim_id", ids), pl.Series("rendering_npi", [None] * len(ids), dtype=pl.String)
    )
    workbook.write_workbook(tmp_path / "q.xlsx", planted, get_rules(), AS_OF)
    sheet = pl.read_excel(tmp_path / "q.xlsx", sheet_name="expired-code")
    assert sorted(sheet["claim_id"].to_list()) == sorted(ids)
    assert sheet.schema["claim_id"] == pl.String and sheet.schema["procedure_code"] == pl.String
    assert sheet.schema["estimated_amount"] == pl.Float64 and sheet.schema["line_number"] == pl.Int64
    queued = planted.sort(["estimated_amount", "claim_id"], descending=[True, False], nulls_last=True)
    assert sheet.schema["service_date"] == pl.Date
    assert sheet["service_date"].to_list() == queued["service_date"].to_list()
    assert sheet["rendering_npi"].null_count() == len(ids)


def test_work_queue_keeps_the_largest_findings_per_sheet(
    sample: tuple[str, dict[str, Any], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leakaudit.report import workbook

    monkeypatch.setattr(workbook, "MAX_ROWS_PER_SHEET", 3)
    findings = pl.read_parquet(sample[2] / "findings.parquet")
    workbook.write_workbook(tmp_path / "q.xlsx", findings, get_rules(), AS_OF)
    sheet = pl.read_excel(tmp_path / "q.xlsx", sheet_name="drug-admin-without-drug")
    largest = (
        findings.filter(pl.col("rule_id") == "drug-admin-without-drug")
        .sort("estimated_amount", descending=True, nulls_last=True)
        .head(3)
    )
    assert sheet["claim_id"].to_list() == largest["claim_id"].to_list()
