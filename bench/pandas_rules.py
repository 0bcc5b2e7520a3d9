"""The four rules' detection as typical pandas code (no pricing), for the speed comparison.

Like leakaudit, the credit lines and the charges they reverse are set aside first, and the hits on copies
of one service on several claims (a claim crossed over to a second payer) are counted once.

python bench/pandas_rules.py CLAIMS_DIR REFERENCE_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from leakaudit.rules.jcode_unit_mismatch import DOSAGE_UNIT_MEASURES, NDC_UNIT_MEASURES

COLUMNS = [
    "claim_id",
    "line_number",
    "service_date",
    "procedure_code",
    "units",
    "patient_id",
    "modifiers",
    "ndc",
    "ndc_quantity",
    "ndc_unit",
    "description",
    "revenue_code",
    "place_of_service",
    "rendering_npi",
    "paid_amount",
    "charge_amount",
    "payer_id",
]
#: The places of service where the facility bills the drug (leakaudit's ``facility_places_of_service``).
FACILITY = ["19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"]


#: How each NDC unit and dosage descriptor unit converts (leakaudit's tables): unit, kind and factor.
MEASURES = [
    pd.DataFrame(
        [(unit, kind, factor) for unit, (kind, factor) in table.items()],
        columns=[name, f"{name}_kind", f"{name}_factor"],
    )
    for name, table in (("ndc_unit", NDC_UNIT_MEASURES), ("dosage_unit", DOSAGE_UNIT_MEASURES))
]


def ndc11(ndc: pd.Series) -> pd.Series:
    """The NDCs in their 11-digit form, as leakaudit's ``refdata.ndc11`` writes them (10 plain digits kept: see
    :func:`labels`)."""
    text = ndc.str.strip().str.replace(r"^[Nn]4[\s:*]*", "", regex=True)
    parts = text.str.extract(r"^(\d{1,5})-(\d{1,4})-(\d{1,2})$")
    dashed = parts[0].str.zfill(5) + parts[1].str.zfill(4) + parts[2].str.zfill(2)
    digits = text.str.replace(r"\D", "", regex=True)
    plain = digits.where(~digits.str.len().between(1, 9), digits.str.zfill(11))
    return dashed.where(parts[0].notna(), plain)


def labels(crosswalk: pd.DataFrame) -> pd.Series:
    """The crosswalk's NDC by code and the 10 digits of a package label it may be written as (its padded
    zero dropped), where those name one NDC of the code (leakaudit's ``_listed_ndc``, the other way round)."""
    ndc = crosswalk.loc[crosswalk["ndc"].str.len() == 11, ["procedure_code", "ndc"]]
    forms = pd.concat(
        ndc[ndc["ndc"].str[padded] == "0"].assign(label=ndc["ndc"].str[:padded] + ndc["ndc"].str[padded + 1 :])
        for padded in (0, 5, 9)
    ).drop_duplicates()
    unique = forms.groupby(["procedure_code", "label"])["ndc"].transform("size") == 1
    return forms[unique].set_index(["procedure_code", "label"])["ndc"]


def between(code: pd.Series, low: str, high: str) -> pd.Series:
    return (code.str.len() == len(low)) & (code >= low) & (code <= high)


def once_per_service(hits: pd.DataFrame, *kept_apart: str) -> pd.DataFrame:
    """Of the hits on copies of one service (the same encounter, code, modifiers, units and provider) on several
    claims, those on the claim whose line was paid most, then the first by claim and line number (leakaudit's
    ``rules.same_service``)."""
    key = [*kept_apart, "enc", "procedure_code", "modifiers", "units", "rendering_npi"]
    ranked = hits.assign(paid=hits["paid_amount"].astype(float).fillna(0)).sort_values(
        ["paid", "claim_id", "line_number"], ascending=[False, True, True]
    )
    lead = ranked.groupby(key, dropna=False)["claim_id"].transform("first")
    return ranked[ranked["claim_id"] == lead]


def main(claims: Path, reference: Path) -> None:
    frames = [pd.read_parquet(p, columns=COLUMNS) for p in sorted(claims.glob("*.parquet"))]
    lines = pd.concat(frames, ignore_index=True)
    lines["enc"] = np.where(
        lines["patient_id"].notna(),
        "P:" + lines["patient_id"].astype(str) + "|" + lines["service_date"].astype(str),
        "C:" + lines["claim_id"],
    )
    # Credit lines (negative units, or the units billed at a negative charge) and, for each, the first charge
    # of its encounter, code and units by claim and line number.
    lines["units"] = lines["units"].astype(float)
    by_charge = (lines["units"] > 0) & (lines["charge_amount"].astype(float) < 0)
    lines.loc[by_charge, "units"] = -lines.loc[by_charge, "units"]
    credits = lines[lines["units"] < 0]
    key = ["enc", "procedure_code", "units"]
    wanted = credits.assign(units=-credits["units"]).groupby(key).size().rename("n").reset_index()
    charges = lines[lines["units"] > 0].reset_index().merge(wanted, on=key).sort_values(["claim_id", "line_number"])
    reversed_ = charges.loc[charges.groupby(key).cumcount() < charges["n"], "index"]
    lines = lines.drop(index=credits.index.union(pd.Index(reversed_)))
    code = lines["procedure_code"]
    kind = pd.Series(None, index=lines.index, dtype=object)
    kind[between(code, "96360", "96361")] = "hydration"
    kind[between(code, "96365", "96379") | between(code, "96401", "96549")] = "drug"
    kind[between(code, "90460", "90474") | between(code, "G0008", "G0010")] = "immunization"
    practice_in_facility = lines["place_of_service"].isin(FACILITY) & lines["revenue_code"].isna()
    kind[practice_in_facility] = None
    lines["kind"] = kind
    lines["is_drug"] = (
        between(code, "J0120", "J9999")
        | between(code, "Q0138", "Q0249")
        | between(code, "Q5101", "Q5199")
        | between(code, "C9000", "C9399")
        | between(code, "A9500", "A9700")
        | between(code, "90281", "90399")
    )
    lines["is_vaccine"] = between(code, "90476", "90759") | between(code, "Q2034", "Q2039")
    relevant = lines[lines["kind"].notna() | lines["is_drug"] | lines["is_vaccine"]]
    per_enc = relevant.groupby("enc").agg(has_drug=("is_drug", "any"), has_vaccine=("is_vaccine", "any"))
    admin = relevant[relevant["kind"].notna()].join(per_enc, on="enc")
    lacking = np.where(admin["kind"] == "immunization", ~admin["has_vaccine"], ~admin["has_drug"])
    drug_admin = admin[lacking].groupby("enc").size()

    visit = code.str.match(r"^99(20[2-9]|21[0-5]|2[23]\d|24[2-9]|25[0-5]|28[1-5]|34[1-9]|350|38[1-9]|39[0-7])$")
    lcode = between(code, "L0112", "L4631")
    supplied = (
        code.isin(["99070", "A4570", "A9270", "A9999", "E1399", "L9900"]) | (lines["revenue_code"] == "0274")
    ) & lines["description"].str.contains(
        r"(?i)\b(?:brace|orthosis|orthotic|splint|immobili[sz]er|walking boot|"
        r"sling|collar|support|afo|kafo|lso|tlso)\b",
        na=False,
    )
    management = code.isin(["97760", "97763"])
    evidence = (supplied | management) & ~practice_in_facility
    marks = pd.DataFrame({"enc": lines["enc"], "visit": visit, "lcode": lcode, "evidence": evidence})
    marks = marks[marks["visit"] | marks["lcode"] | marks["evidence"]]
    per = marks.groupby("enc").agg(visit=("visit", "any"), lcode=("lcode", "any"), evidence=("evidence", "any"))
    brace = per[per["visit"] & ~per["lcode"] & per["evidence"]]

    # The units: against the NDC dose (converted directly by the units' kind, else through the CMS
    # crosswalk), the CMS MUE (per line, or per patient's day and payer), and, without an NDC or with one
    # whose dose is above the MUE, the provider's typical units; and a drug line of no units, without a dose.
    # Discarded drug (JW) is no dose, but counts towards the encounter's.
    drug_lines = lines[lines["is_drug"] & (lines["units"] >= 0)]
    is_waste = drug_lines["modifiers"].fillna("").str.contains("JW")
    is_free = drug_lines["modifiers"].fillna("").str.contains("FB")  # given free of cost: not checked
    wasted = drug_lines[is_waste].groupby(["enc", "procedure_code"])["units"].sum().rename("wasted")
    asp = pd.read_parquet(reference / "asp.parquet").rename(columns={"code": "procedure_code"})
    drugs = drug_lines[~is_waste & ~is_free].merge(asp, on="procedure_code", how="left")
    drugs = drugs.merge(MEASURES[0], on="ndc_unit", how="left").merge(MEASURES[1], on="dosage_unit", how="left")
    drugs = drugs.join(wasted, on=["enc", "procedure_code"])
    drugs["wasted"] = drugs["wasted"].fillna(0)
    quantity = drugs["ndc_quantity"].astype(float)
    same_kind = drugs["ndc_unit_kind"] == drugs["dosage_unit_kind"]
    units = (quantity * drugs["ndc_unit_factor"] / (drugs["dosage_amount"] * drugs["dosage_unit_factor"])).where(
        same_kind
    )
    # Only lines the dosage descriptor cannot convert are matched to the crosswalk by their NDC.
    needs = units.isna() & quantity.notna() & drugs["ndc"].notna()
    crosswalk = pd.read_parquet(reference / "crosswalk.parquet").rename(columns={"code": "procedure_code"})
    # 10 digits (a package label's) name the one 11-digit NDC of the code the crosswalk lists in that form.
    written = ndc11(drugs.loc[needs, "ndc"])
    keys = pd.MultiIndex.from_arrays([drugs.loc[needs, "procedure_code"], written])
    resolved = pd.Series(labels(crosswalk).reindex(keys).to_numpy(), index=written.index)
    listed = (
        drugs[needs]
        .assign(ndc=resolved.fillna(written))
        .reset_index()
        .merge(crosswalk, on=["procedure_code", "ndc"], how="left")
        .set_index("index")
    )
    per_item = listed["billing_units_per_item"]
    in_items = listed["ndc_quantity"].astype(float) * per_item
    in_packages = (listed["ndc_quantity"].astype(float) / listed["package_size"] * per_item).where(
        listed["ndc_unit"].isin(["ML", "GR"]) & (listed["package_size"] > 0)
    )
    units[needs] = in_items.where(listed["ndc_unit"] == "UN", in_packages)
    mue = pd.read_parquet(reference / "mue.parquet").rename(columns={"code": "procedure_code"})
    # A dose above the code's MUE is no dose (an NDC quantity written wrong): checked as a line without one.
    expected = np.maximum(1, np.ceil(units - 1e-6)).where(units > 0)
    limit = drugs["procedure_code"].map(mue[mue["mue"] > 0].set_index("procedure_code")["mue"])
    above_mue = expected > limit
    drugs["expected"] = expected.where(~above_mue)
    billed, expected = drugs["units"], drugs["expected"]
    # Units above the dose are exposure, but on a line above the MUE on its own: that line is denied.
    exposure = (billed > expected) & ~(billed > limit)
    dose = drugs[(billed > expected) | (billed + drugs["wasted"] < expected)].assign(exposure=exposure)

    matching = drugs[(billed > 0) & (expected.isna() | (billed == expected))].merge(
        mue[mue["mue"] > 0], on="procedure_code"
    )
    line_mue = matching[(matching["mai"] == 1) & (matching["units"] > matching["mue"])]
    # A payer's day adds each service once: a claim billed again to it repeats its lines.
    # The day's line of the most units, then as copies are ordered (once_per_service's ``paid``).
    day = once_per_service(matching[matching["mai"] != 1], "payer_id").sort_values(
        ["units", "paid", "claim_id", "line_number"], ascending=[False, False, True, True]
    )
    day_key = ["enc", "procedure_code", "payer_id"]
    day_units = day.groupby(day_key, dropna=False)["units"].transform("sum")
    day_mue = day[day_units > day["mue"]].drop_duplicates(day_key)

    services = drugs[drugs["rendering_npi"].notna() & (billed > 0)].drop_duplicates(
        ["enc", "procedure_code", "modifiers", "units", "rendering_npi"]
    )
    typical = services.groupby(["procedure_code", "rendering_npi"])["units"].agg(["median", "size"])
    typical = typical.loc[typical["size"] >= 5, "median"].rename("typical")
    below = drugs[(drugs["ndc_quantity"].isna() | above_mue) & (billed > 0)].join(
        typical, on=["procedure_code", "rendering_npi"], how="inner"
    )
    below = below[(below["typical"] >= 2) & (below["units"] + below["wasted"] <= 0.5 * below["typical"])]
    flagged = pd.concat(
        [
            dose,
            line_mue.assign(exposure=False),
            day_mue.assign(exposure=False),
            below.assign(exposure=False),
            drugs[(billed == 0) & expected.isna()].assign(exposure=False),
        ]
    )
    jcode = once_per_service(flagged, "exposure")

    hcpcs = pd.read_parquet(reference / "hcpcs.parquet")
    joined = lines.merge(hcpcs, left_on="procedure_code", right_on="code", how="left")
    known = joined["code"].notna()
    dates = pd.to_datetime(joined["service_date"])
    outside = known & (
        (dates > pd.to_datetime(joined["termination_date"])) | (dates < pd.to_datetime(joined["effective_from"]))
    )
    unknown = ~known & ~joined["procedure_code"].str.match(r"^(\d{4}[0-9FTUM]|D\d{4})$")
    free = joined["modifiers"].fillna("").str.contains("FB")  # given free of cost: nothing lost
    print(
        "drug_admin",
        len(drug_admin),
        "brace",
        len(brace),
        "jcode",
        len(jcode),
        "expired",
        len(once_per_service(joined[(outside | unknown) & ~free])),
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
