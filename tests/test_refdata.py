"""Reference data: importing the official CMS formats (slices of the real files) and the shipped snapshot."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from leakaudit.cli import ExitCode, main
from leakaudit.io import InputError
from leakaudit.refdata import import_file, load_refdata, releases, shipped_store
from leakaudit.refdata.codesets import CodeSet, codesets
from leakaudit.refdata.filing import load_filing_limits
from leakaudit.refdata.orthotics import load_orthotics
from leakaudit.refdata.releases import release_from_name

FIXTURES = Path(__file__).parent / "fixtures" / "refdata"
ASP = FIXTURES / "Oct 2025 ASP Pricing File slice.csv"
CROSSWALK = FIXTURES / "Oct 2025 ASP NDC-HCPCS Crosswalk slice.csv"


def _stored(info) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return pl.read_parquet(info.path)


@pytest.mark.parametrize(
    "name", ["HCPC2025_JAN_ANWEB_slice.txt", "january-2025-hcpcs-slice.zip", "HCPC2025_JAN_ANWEB_slice.csv"]
)
def test_hcpcs_fixed_width_zip_and_csv_import_alike(tmp_path: Path, name: str) -> None:
    info = import_file("hcpcs", FIXTURES / name, tmp_path)
    assert info.release == "2025-01"
    frame = _stored(info)
    assert frame.height == 8  # one row per code: continuation records (RIC 4/8) fold into their code
    by_code = {row["code"]: row for row in frame.iter_rows(named=True)}
    assert by_code["A1"]["record"] == "modifier"
    assert by_code["J0135"]["termination_date"] == dt.date(2024, 12, 31)
    assert by_code["J0135"]["action_code"] == "D"
    assert by_code["K0902"]["xref"] == "L1852"
    assert by_code["S0013"]["add_date"] == dt.date(2021, 1, 1)
    assert by_code["S0013"]["termination_date"] is None
    assert by_code["J3301"]["pricing_indicator"] == "51"
    assert set(frame["source_sha256"]) == {info.source_sha256} and len(info.source_sha256) == 64


def test_asp_payment_limit_and_dosage(tmp_path: Path) -> None:
    info = import_file("asp", ASP, tmp_path)
    assert info.release == "2025-10"  # from "Effective October 1, 2025 through December 31, 2025"
    rows = {r["code"]: r for r in _stored(info).iter_rows(named=True)}
    assert rows["J3301"]["payment_limit"] == Decimal("0.8440")
    assert (rows["J3301"]["dosage_amount"], rows["J3301"]["dosage_unit"]) == (Decimal("10"), "MG")
    assert rows["J0696"]["dosage_unit"] == "MG" and rows["J0696"]["dosage_amount"] == Decimal("250")
    assert rows["A9606"]["payment_limit"] is None  # "N/A" is no limit, never $0
    assert rows["90375"]["dosage"] == "150 IU"


def test_crosswalk_billing_units_per_ndc(tmp_path: Path) -> None:
    info = import_file("crosswalk", CROSSWALK, tmp_path)
    assert info.release == "2025-10"
    frame = _stored(info)
    kenalog = frame.filter(pl.col("ndc") == "00003029305").row(0, named=True)
    assert kenalog["code"] == "J3301"
    assert kenalog["billing_units_per_package"] == Decimal("4")
    assert frame.filter(pl.col("code") == "J7050").height > 10
    assert frame["ndc"].str.len_chars().unique().to_list() == [11]


def test_mue_cms_layout_with_copyright_row(tmp_path: Path) -> None:
    cms = FIXTURES / "MCR_MUE_PractitionerServices_slice.csv"
    with pytest.raises(InputError, match="cannot tell which release"):
        import_file("mue", cms, tmp_path)
    info = import_file("mue", cms, tmp_path, release="2026-04")
    rows = {r["code"]: r for r in _stored(info).iter_rows(named=True)}
    assert (rows["J1885"]["mue"], rows["J1885"]["mai"]) == (8, 3)
    assert rows["L1810"]["mue"] == 0
    plain = import_file("mue", FIXTURES / "practitioner_mue_2026q2_slice.csv", tmp_path / "plain")
    assert plain.release == "2026-04"
    assert _stored(plain).filter(pl.col("code") == "J1885")["mue"].item() == 8


def test_dmepos_xlsx_with_title_block(tmp_path: Path) -> None:
    info = import_file("dmepos", FIXTURES / "DMEPOS26_JAN_slice.xlsx", tmp_path)
    assert info.release == "2026-01"
    frame = _stored(info)
    texas = frame.filter((pl.col("code") == "L1812") & (pl.col("state") == "TX"))
    assert dict(zip(texas["rural"], texas["fee"], strict=True)) == {False: Decimal("70.12"), True: Decimal("104.31")}
    assert frame.filter(pl.col("fee") <= 0).height == 0  # a zero rural fee means "use non-rural": dropped
    assert set(frame.filter(pl.col("code") == "E0114")["modifier"]) == {"NU", "RR", "UE"}


def test_wrong_file_and_bad_release_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"ASP Pricing File slice\.csv: no header row"):
        import_file("mue", ASP, tmp_path)
    with pytest.raises(InputError, match="not of the form YYYY-MM"):
        import_file("asp", ASP, tmp_path, release="Q1 2026")
    with pytest.raises(InputError, match="no such file"):
        import_file("asp", tmp_path / "missing.csv", tmp_path)


def test_release_names() -> None:
    assert release_from_name("HCPC2026_APR_ANWEB_03172026.txt") == "2026-04"
    assert release_from_name("DMEPOS26_JUL.zip") == "2026-07"
    assert release_from_name("medicare-ncci-2026-q2-practitioner-services-mue-table.zip") == "2026-04"
    assert release_from_name("july-2026-alpha-numeric-hcpcs-file.zip") == "2026-07"
    assert release_from_name("fees.csv") is None


def _next_quarter_hcpcs(tmp_path: Path) -> Path:
    """A 2026 Q1 HCPCS file as CMS would publish it: S0013 terminated 2025-12-31, cross-walked to J0013."""
    lines = (FIXTURES / "HCPC2025_JAN_ANWEB_slice.txt").read_text(encoding="latin-1").splitlines(keepends=True)
    edited = []
    for line in lines:
        if line.startswith("S0013") and line[10] == "3":
            line = line[:204] + "J0013" + line[209:284] + "20251231" + "D" + line[293:]
        edited.append(line)
    path = tmp_path / "HCPC2026_JAN_ANWEB_12152025.txt"
    path.write_text("".join(edited), encoding="latin-1", newline="")
    return path


def test_newer_release_decides_validity(tmp_path: Path) -> None:
    store = tmp_path / "store"
    info = import_file("hcpcs", _next_quarter_hcpcs(tmp_path), store)
    assert info.release == "2026-01"
    refdata = load_refdata([store], include_user_store=False)
    s0013 = refdata.hcpcs.filter(pl.col("code") == "S0013").collect().row(0, named=True)
    # The official 2026-01 release now decides S0013, ahead of the shipped supplement.
    assert (s0013["termination_date"], s0013["replacement"], s0013["release"]) == (
        dt.date(2025, 12, 31),
        "J0013",
        "2026-01",
    )
    assert s0013["source_file"] == "HCPC2026_JAN_ANWEB_12152025.txt"
    # Codes the new file does not list keep their validity from the shipped release.
    assert refdata.hcpcs.filter(pl.col("code") == "J9035").collect().height == 1
    assert [r.release for r in releases([shipped_store(), store]) if r.dataset == "hcpcs"] == ["2025-01", "2026-01"]


def test_shipped_snapshot_is_complete() -> None:
    loaded = {r.dataset: r for r in releases([shipped_store()])}
    assert {name: (r.release, r.rows) for name, r in loaded.items()} == {
        "hcpcs": ("2025-01", 8642),
        "asp": ("2025-10", 1012),
        "crosswalk": ("2025-10", 8245),
        "mue": ("2026-04", 15095),
        "dmepos": ("2026-01", 222076),
    }
    assert loaded["hcpcs"].source_sha256.startswith("b18148a90422")  # the CMS zip's published checksum
    refdata = load_refdata(include_user_store=False)
    codes = refdata.hcpcs.filter(pl.col("code").is_in(["S0013", "J0013", "J0135"])).collect()
    validity = {r["code"]: (r["effective_from"], r["termination_date"]) for r in codes.iter_rows(named=True)}
    assert validity == {
        "S0013": (dt.date(2021, 1, 1), dt.date(2025, 12, 31)),  # from the shipped supplement
        "J0013": (dt.date(2026, 1, 1), None),
        "J0135": (dt.date(2005, 1, 1), dt.date(2024, 12, 31)),
    }
    assert refdata.asp.filter(pl.col("code") == "J9035").select("payment_limit").collect().item() == Decimal("73.201")
    assert refdata.mue.filter(pl.col("code") == "96372").select("mue").collect().item() == 4
    assert refdata.dmepos.filter(pl.col("code") == "L1810").select(pl.col("state").n_unique()).collect().item() >= 50


def test_cpt_list_errors_name_file_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "cpt.csv"
    bad.write_text("code,termination_date\n99213,\n99201,12/31/2020\n")
    with pytest.raises(InputError, match=r"cpt\.csv: row 2, column termination_date"):
        load_refdata(cpt_codes=bad, include_user_store=False)
    bad.write_text("cpt\n99213\n")
    with pytest.raises(InputError, match=r"cpt\.csv: missing required column\(s\): code"):
        load_refdata(cpt_codes=bad, include_user_store=False)


def test_cli_import_show_and_audit_with_imported_release(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    claims_csv,  # type: ignore[no-untyped-def]
) -> None:
    store = tmp_path / "store"
    hcpcs = _next_quarter_hcpcs(tmp_path)
    assert main(["refdata", "import", "--hcpcs", str(hcpcs), "--store", str(store)]) == ExitCode.OK
    assert "Imported hcpcs release 2026-01" in capsys.readouterr().out
    assert main(["refdata", "show", "--store", str(store)]) == ExitCode.OK
    shown = capsys.readouterr().out
    assert "HCPC2026_JAN_ANWEB_12152025.txt" in shown and "DMEPOS26_JAN.xlsx" in shown
    assert main(["refdata", "import", "--asp", str(FIXTURES / "missing.csv"), "--store", str(store)]) == 2
    lines = claims_csv([{"claim_id": "C1", "procedure_code": "S0013", "units": 56, "service_date": "2026-02-01"}])
    out = tmp_path / "out"
    assert main(["audit", str(lines), "--out", str(out), "--refdata-dir", str(store), "--state", "TX"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {
        "dataset": "hcpcs",
        "release": "2026-01",
        "source_file": hcpcs.name,
        "sha256": releases([store])[0].source_sha256,
    } in summary["reference_data"]
    assert summary["rules"]["expired-code"]["count"] == 1
    assert summary["dmepos_state"] == "TX"
    assert "HCPC2026_JAN_ANWEB_12152025.txt" in (out / "report.html").read_text()
    assert main(["audit", str(lines), "--out", str(out), "--state", "Texas"]) == ExitCode.INPUT_ERROR
    # Regression: a state the fee schedule does not have left the braces it prices unpriced, silently.
    capsys.readouterr()
    assert main(["audit", str(lines), "--out", str(tmp_path / "zz"), "--state", "zz"]) == ExitCode.INPUT_ERROR
    err = capsys.readouterr().err
    assert "--state 'zz': the DMEPOS fee schedule has no fees for it" in err and "TX" in err
    assert not (tmp_path / "zz").exists()
    # Regression: a --refdata-dir without a release (a typo, CMS's raw files) was read as empty, silently.
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(hcpcs, raw / hcpcs.name)
    for store_dir, said in ((tmp_path / "typo", "no such directory"), (raw, "holds no reference-data release")):
        assert main(["audit", str(lines), "--out", str(tmp_path / "x"), "--refdata-dir", str(store_dir)]) == 2
        assert f"--refdata-dir {store_dir}: {said}" in capsys.readouterr().err


def test_code_sets_listed_and_ranged_agree() -> None:
    """Every shipped set looks codes up in its listed codes; the range comparison must say the same."""
    probes = ["J0119", "J0120", "J3301", "J9999", "J99999", "j3301", "96372", "9637", "99070", "L1812", "L9900"]
    probes += ["90281", "90399", "90476", "G0008", "G0011", "Q2034", "A9700", "A9701", "C9399", "C9600", None]
    frame = pl.DataFrame({"code": probes}, schema={"code": pl.String()})
    for code_set in codesets().values():
        assert code_set.codes() is not None, code_set.name
        ranged = CodeSet(code_set.name, "", "", (*code_set.ranges, ("A", "AZ")))  # mixed lengths: not listed
        assert ranged.codes() is None
        got = frame.select(code_set.contains(pl.col("code")).alias("listed"), ranged.contains(pl.col("code")))
        assert got["listed"].to_list() == got["code"].to_list(), code_set.name


def test_filing_limits_file_overrides_payer_types_and_payers(tmp_path: Path) -> None:
    mine = tmp_path / "limits.toml"
    mine.write_text("[days]\ncommercial = 90\n[payers]\nBCBS-TX = 95\n")
    lines = pl.DataFrame(
        {
            "payer_type": ["commercial", "commercial", "medicare", None],
            "payer_id": ["AETNA", "BCBS-TX", "MCR", None],
            "service_date": [dt.date(2025, 1, 1)] * 4,
        }
    )
    shipped = lines.select(load_filing_limits().deadline())["service_date"].to_list()
    assert shipped == [dt.date(2025, 6, 30), dt.date(2025, 6, 30), dt.date(2026, 1, 1), dt.date(2026, 1, 1)]
    overridden = lines.select(load_filing_limits(mine).deadline())["service_date"].to_list()
    assert overridden == [dt.date(2025, 4, 1), dt.date(2025, 4, 6), dt.date(2026, 1, 1), dt.date(2026, 1, 1)]


@pytest.mark.parametrize(
    ("load", "text", "said"),
    [
        (
            load_filing_limits,
            "[day]\ncommercial = 90\n",
            "filing limits file: unknown key(s) day: the keys are days, payers",
        ),
        (load_filing_limits, "[days]\ncomercial = 90\n", "[days] names unknown payer type(s) comercial"),
        (load_filing_limits, "[days]\ncommercial = -5\n", "limits must be whole numbers of days"),
        (
            load_orthotics,
            'keyword = ["bledsoe"]\n',
            "orthotics file: unknown key(s) keyword: the keys are keywords, regions",
        ),
        (load_orthotics, 'keywords = "bledsoe"\n', "keywords must be a list of strings"),
        (load_orthotics, '[[regions]]\nname = "knee"\nterm = ["bledsoe"]\n', "[[regions]] 'knee': unknown key(s) term"),
    ],
)
def test_a_vocabulary_or_limits_file_that_would_be_ignored_is_refused(
    tmp_path: Path, load: Callable[[Path], object], text: str, said: str
) -> None:
    """Regression: a misspelt key ([day], keyword, term) was ignored, the shipped values applying, and a
    keyword given as a string added each of its letters."""
    mine = tmp_path / "mine.toml"
    mine.write_text(text)
    with pytest.raises(InputError) as refused:
        load(mine)
    assert str(refused.value).startswith(f"{mine}: ") and said in str(refused.value)


def test_a_code_listed_twice_is_stored_once_or_refused(tmp_path: Path) -> None:
    """Rows repeated alike are one; a code listed with two MUEs names the file and the code."""
    header = "hcpcs_cpt_code,practitioner_services_mue_value,mai,mai_description,mue_rationale\n"
    j1885 = "J1885,8,3,3 Date of Service Edit: Clinical,Prescribing Information\n"
    alike = tmp_path / "mue_2026q2_alike.csv"
    alike.write_text(header + j1885 + j1885, encoding="utf-8")
    assert _stored(import_file("mue", alike, tmp_path / "alike"))["code"].to_list() == ["J1885"]
    differing = tmp_path / "mue_2026q2_differing.csv"
    other = "J3301,16,3,3 Date of Service Edit: Clinical,Prescribing Information\n"
    differing.write_text(header + j1885 + other + j1885.replace(",8,", ",10,") + other + other, encoding="utf-8")
    with pytest.raises(
        InputError, match=r"mue_2026q2_differing\.csv: code J1885 is listed 2 times with different values;"
    ):
        import_file("mue", differing, tmp_path / "differing")
    assert not (tmp_path / "differing").exists()


def test_show_says_the_dates_of_service_each_release_applies_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An MUE release imported beside the shipped one: each applies to its quarter on, the earliest to before it."""
    monkeypatch.setenv("LEAKAUDIT_REFDATA", str(tmp_path / "no user store"))
    store = tmp_path / "store"
    earlier = tmp_path / "practitioner_mue_2025q4.csv"
    earlier.write_text((FIXTURES / "practitioner_mue_2026q2_slice.csv").read_text(encoding="utf-8"), "utf-8")
    assert main(["refdata", "import", "--mue", str(earlier), "--store", str(store)]) == ExitCode.OK
    capsys.readouterr()
    assert main(["refdata", "show", "--store", str(store)]) == ExitCode.OK
    rows = {tuple(line.split()[:2]): line for line in capsys.readouterr().out.splitlines()}
    assert "  up to 2026-03-31  " in rows[("mue", "2025-10")]
    assert "  from 2026-04-01  " in rows[("mue", "2026-04")]
    assert "  newest per code  " in rows[("hcpcs", "2025-01")]
    assert "  every date  " in rows[("dmepos", "2026-01")]
