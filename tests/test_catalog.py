"""Every registered rule has its case file, its docstring sections, and schema-conform output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
import yaml

from conftest import SAMPLE_CSV
from leakaudit.io import scan_claim_lines
from leakaudit.rules import CONFIDENCES, FINDING_KINDS, RULE_HIT_SCHEMA, AuditContext, Rule, get_rules
from leakaudit.rules.base import DOC_SECTIONS

CASE_DIR = Path(__file__).parent / "rules"


@pytest.mark.parametrize("rule", get_rules(), ids=lambda r: r.id)
def test_rule_has_cases_with_positive_and_negative(rule: type[Rule]) -> None:
    path = CASE_DIR / f"{rule.id}.yml"
    assert path.exists(), f"{rule.id} needs tests/rules/{rule.id}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["rule"] == rule.id
    cases = data["cases"].values()
    assert any(c.get("findings") for c in cases), "at least one case with findings"
    assert any(not c.get("findings") for c in cases), "at least one case without findings"


@pytest.mark.parametrize("rule", get_rules(), ids=lambda r: r.id)
def test_rule_docstring_has_sections(rule: type[Rule]) -> None:
    assert rule.summary()
    for heading in DOC_SECTIONS:
        assert len(rule.section(heading)) > 40, heading


@pytest.mark.parametrize("rule", get_rules(), ids=lambda r: r.id)
def test_rule_output_conforms_on_sample_data(rule: type[Rule]) -> None:
    """Hits hold the schema's columns first; a rule may add its own, for its ``refine``, dropped after."""
    ctx = AuditContext(lines=scan_claim_lines([SAMPLE_CSV]).audited)
    found = rule.find(ctx).collect()
    hits = rule.refine(ctx, found).collect()
    for frame in (found, hits):
        assert frame.select(RULE_HIT_SCHEMA.names()).schema == RULE_HIT_SCHEMA
        assert frame.columns[: len(RULE_HIT_SCHEMA)] == RULE_HIT_SCHEMA.names()
    assert hits.height > 0, "the sample data plants positive cases of every rule"
    assert set(hits["confidence"]) <= set(CONFIDENCES)
    assert set(hits["finding_kind"]) <= set(FINDING_KINDS)
    assert hits["message"].null_count() == 0


def test_registry_refuses_bad_rules() -> None:
    with pytest.raises(TypeError, match="kebab-case"):
        type("BadId", (Rule,), {"id": "Bad_Id", "title": "t", "__doc__": "x"})
    with pytest.raises(TypeError, match="docstring lacks"):
        type("NoDoc", (Rule,), {"id": "no-doc", "title": "t", "__doc__": "Only a summary."})


def test_rule_ids_are_unique() -> None:
    ids = [r.id for r in get_rules()]
    assert len(ids) == len(set(ids))


def test_find_does_not_collect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rules return lazy plans, and collect none of the lines on the way: they can run partition by partition.

    A plan that reads the lines' file is refused while ``find`` and ``refine`` run (a small table of reference
    data may be computed: ``engine.ready``).
    """
    path = tmp_path / "lines.parquet"
    scan_claim_lines([SAMPLE_CSV]).audited.collect().write_parquet(path)
    lines = pl.scan_parquet(path)
    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def refused(*plans: pl.LazyFrame) -> None:
        if any(str(path) in plan.explain(optimized=False) for plan in plans):
            raise AssertionError("a rule collected the lines")

    def guarded_collect(plan: pl.LazyFrame, *args: object, **kwargs: object) -> pl.DataFrame:
        refused(plan)
        return collect(plan, *args, **kwargs)  # type: ignore[arg-type]

    def guarded_collect_all(plans: list[pl.LazyFrame], *args: object, **kwargs: object) -> list[pl.DataFrame]:
        refused(*plans)
        return collect_all(plans, *args, **kwargs)  # type: ignore[arg-type]

    @contextmanager
    def guarded() -> Iterator[None]:
        with monkeypatch.context() as guard:
            guard.setattr(pl.LazyFrame, "collect", guarded_collect)
            guard.setattr(pl, "collect_all", guarded_collect_all)
            yield

    for rule in get_rules():
        ctx = AuditContext(lines=lines)
        with guarded():
            found = rule.find(ctx)
        assert isinstance(found, pl.LazyFrame)
        hits = found.collect()
        with guarded():
            refined = rule.refine(ctx, hits)
        assert isinstance(refined, pl.LazyFrame)
