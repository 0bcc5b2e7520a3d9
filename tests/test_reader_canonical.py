"""Values already as audited skip normalisation (``io.reader._canonical``): the audit reads the same either way."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from conftest import write_claims_csv
from leakaudit.io import ColumnMapping, load_mapping, reader, scan_claim_lines

#: Per column with a canonical test, values as audited and values that need work: case, spaces, separators,
#: padding, blanks, and values no normalisation makes valid.
VALUES = {
    "payer_type": [
        "medicare",
        "Medicare",
        " medicaid",
        "medicare advantage",
        "MEDICARE-ADVANTAGE",
        "other",
        "",
        "  ",
        "bogus",
    ],
    "ndc_unit": ["ME", "mg", " ML", "UN", "IU", "F2 ", "", "XX", "me"],
    "place_of_service": ["11", "1", " 11", "011", "ab", "", "99", "1 1"],
    "revenue_code": ["0250", "250", " 0250", "25O", "", "02500"],
    "procedure_code": ["99213", "j3301", " 99213", "99213-25", "J3301 JW", "9921", "992134", "", "0001F", "l1812"],
    "modifiers": ["25", "rt", "RT,NU", "RT, NU", "RT;NU", ",25", "25,", "", "JW JZ", "RT,,LT", "RTX", "25,25"],
    "diagnosis_codes": ["Z00.00", "z00.00", "Z00.00;I10", "Z00.00, I10", "I10;", ";I10", "", "E11.9 I10", "I10;;E11.9"],
}


def _rows() -> list[dict[str, str]]:
    """One row per value of :data:`VALUES`, the other columns valid."""
    return [
        {"claim_id": f"C{column}{i}", "procedure_code": "99213", "patient_id": "P1", column: value}
        for column, values in VALUES.items()
        for i, value in enumerate(values)
    ]


def _read(path: Path, mapping: ColumnMapping) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every parsed row and the rejects with their values, each in ``line_id`` order."""
    lines = scan_claim_lines([path], mapping)
    return lines.parsed.collect().sort("line_id"), lines.rejects_with_values(mapping).collect().sort("line_id")


@pytest.mark.parametrize("respelt", [False, True])
def test_values_read_the_same_with_and_without_the_canonical_shortcut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, respelt: bool
) -> None:
    path = write_claims_csv(tmp_path / "claims.csv", _rows())
    mapping = ColumnMapping()
    if respelt:
        # An export whose "medicare" means a Medicare Advantage plan: the canonical spelling is respelt.
        toml = tmp_path / "map.toml"
        toml.write_text('[payer_types]\n"medicare" = "medicare_advantage"\n')
        mapping = load_mapping(toml)
    parsed, rejects = _read(path, mapping)
    with monkeypatch.context() as patched:
        patched.setattr(reader, "_canonical", lambda name, source, mapping: None)
        parsed_slowly, rejects_slowly = _read(path, mapping)
    assert parsed.equals(parsed_slowly)
    assert rejects.equals(rejects_slowly)
    # Both ways took every kind of value: some audited as they were, some normalised, some rejected.
    audited = parsed.filter(pl.col("reject_column").is_null())
    assert {"medicaid", "other"} <= set(audited["payer_type"].to_list())
    assert set(rejects["column"]) == {"payer_type", "ndc_unit", "procedure_code"}
    medicare = audited.filter(pl.col("claim_id") == "Cpayer_type0")["payer_type"].item()
    assert medicare == ("medicare_advantage" if respelt else "medicare")


def test_the_shortcut_takes_only_values_the_normalising_would_leave_unchanged() -> None:
    """Each column's canonical test, against normalising the same values: never true where they differ."""
    mapping = ColumnMapping()
    for column, values in VALUES.items():
        text = pl.lit(pl.Series(values, dtype=pl.String))
        test = reader._canonical(column, text, mapping)
        assert test is not None
        frame = pl.DataFrame({column: values}, schema={column: pl.String()})
        spec = next(c for c in reader.LINE_COLUMNS if c.name == column)
        source = pl.col(column)
        value = reader._parse(spec, source, pl.String(), reader._text(source, pl.String()), pl.lit(True), mapping)[0]
        normalised = frame.select(value.alias("normalised"), test.alias("canonical"))
        # A canonical value is one the normalising leaves as it is; at least one value of each list is.
        canonical = normalised.filter("canonical")
        assert canonical.height > 0, column
        assert canonical["normalised"].to_list() == frame.filter(normalised["canonical"])[column].to_list(), column
